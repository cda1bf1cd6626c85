"""The permutation null of the encoding scores.

The stimulus labels of the responses are permuted; the same permutations
serve every layer and target, and every permuted target is scored exactly as
the observed one (r per fold, averaged over folds; see
:mod:`brainnet.encoding.pearson`). For ridge, permuted responses are extra
targets for the decomposition of each training fold, which is what makes
1,000 permutations affordable: either each permuted target keeps the penalty
chosen for it on the real data (one hat map per penalty), or penalties are
chosen afresh by leave-one-out in every permutation (``refit_alpha``).

With a fixed penalty a permuted fit is linear in the responses: permuting the
training responses is the same as scattering the columns of the fold's hat
map (the training mean folded in) to the permuted stimuli, so a block of
permutations is one matrix product with the unpermuted responses, and no
``n_train x n_permutations x n_targets`` array of permuted responses is
gathered. This pays where many targets share a penalty; for a few targets
the permuted responses are gathered instead, whichever moves less memory.
Blocks of permutations and of targets keep the working memory within
:data:`brainnet.encoding.memory._BLOCK_BYTES`.
"""

from __future__ import annotations

import numpy as np

from brainnet.encoding.memory import _column_blocks, _null_blocks
from brainnet.encoding.pearson import _fold_r
from brainnet.encoding.ridge import _RidgeFold


def _permutations(n_stimuli: int, n_permutations: int, seed: int) -> np.ndarray:
    """Stimulus index per permutation, ``(n_stimuli, 1 + n_permutations)``; column 0 is
    the identity (the observed data)."""
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.tile(np.arange(n_stimuli), (n_permutations, 1)), axis=1)
    return np.vstack([np.arange(n_stimuli), shuffled]).T


def _p_values(r_all: np.ndarray) -> np.ndarray:
    """Permutation p per target, ``(1 + #{r_null >= r}) / (1 + n_permutations)``, from
    r ``(1 + n_permutations, n_targets)`` with row 0 the observed data."""
    n_permutations = r_all.shape[0] - 1
    # a permutation equal to the identity reproduces r up to round-off
    exceed = (r_all[1:] >= r_all[0] - 1e-12).sum(axis=0)
    return (1 + exceed) / (1 + n_permutations)


def _score_ridge(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    alphas: np.ndarray,
    refit_alpha: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out r for the observed and every permuted target, ridge.

    Each training fold is decomposed once; the observed and permuted targets
    are then fitted by :meth:`_NullScores.add_refit` or
    :meth:`_NullScores.add_fixed_alpha` (see ``refit_alpha`` of
    :func:`~brainnet.encoding.fit_encoding`). Returns r ``(n_perms + 1,
    n_targets)`` (row ``k`` is permutation ``k``, row 0 the identity), the
    chosen alpha index ``(n_folds, n_targets)`` of the observed targets, and
    per fold whether the grid's top penalty saturates
    (:meth:`_RidgeFold.top_saturates`).
    """
    null = _NullScores(targets, perms, len(splits))
    chosen = np.empty((len(splits), targets.shape[1]), dtype=np.intp)
    saturated = np.empty(len(splits), dtype=bool)
    add_fold = null.add_refit if refit_alpha else null.add_fixed_alpha
    n_columns = targets.shape[1] * (perms.shape[1] if refit_alpha else 1)
    for f, (train, test) in enumerate(splits):
        fold = _RidgeFold(features[train], features[test], alphas, n_columns)
        chosen[f] = add_fold(fold, train, test)
        saturated[f] = fold.top_saturates()
    return null.r, chosen, saturated


class _NullScores:
    """Held-out r of the observed and permuted targets, averaged over folds as they
    are added.

    ``r[k, t]`` is the score of target ``t`` under permutation ``k`` (column ``k``
    of ``perms``; 0 is the identity).
    """

    def __init__(self, targets: np.ndarray, perms: np.ndarray, n_folds: int):
        self.targets = targets
        self.perms = perms
        self.weight = 1.0 / n_folds
        self.r = np.zeros((perms.shape[1], targets.shape[1]))

    def add_refit(self, fold: _RidgeFold, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Add one fold with every penalty chosen afresh by leave-one-out, for the
        observed and each permuted target alike; return the observed choices.

        Column ``k * n_targets + t`` of the flattened scores is target ``t`` under
        permutation ``k``; the columns are fitted in blocks.
        """
        targets, perms = self.targets, self.perms
        n_stimuli, n_targets = targets.shape
        flat = self.r.reshape(-1)  # a view: the blocks add into ``r``
        chosen = np.empty(n_targets, dtype=np.intp)
        perm_train, perm_test = perms[train], perms[test]
        for cols in _column_blocks(flat.size, n_stimuli, len(fold.alphas)):
            perm, target = np.divmod(np.arange(cols.start, cols.stop), n_targets)
            predictions, best = fold.fit_predict(targets[perm_train[:, perm], target])
            observed = targets[perm_test[:, perm], target]
            flat[cols] += self.weight * _fold_r(predictions, observed)
            identity = perm == 0
            chosen[target[identity]] = best[identity]
        return chosen

    def add_fixed_alpha(self, fold: _RidgeFold, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Add one fold with each permuted target fitted at the penalty chosen for
        it on the real data; return those choices.

        The permuted fits of all targets sharing a penalty come from that penalty's
        centred hat map (see :func:`_permuted_fits`), for blocks of permutations
        and targets at a time.
        """
        targets, perms = self.targets, self.perms
        predictions, chosen = fold.fit_predict(targets[train])
        self.r[0] += self.weight * _fold_r(predictions, targets[test])
        n_stimuli, n_perms = perms.shape
        for index in np.unique(chosen):
            columns = np.flatnonzero(chosen == index)
            hat = fold.centred_hat(index)
            scatter = len(test) * n_stimuli <= len(train) * len(columns)
            n_block, n_cols = _null_blocks(
                n_perms,
                8 * (len(test) * n_stimuli if scatter else 0),
                8 * (4 * len(test) + (0 if scatter else len(train))),
                len(columns),
            )
            for start in range(1, n_perms, n_block):
                block = slice(start, min(start + n_block, n_perms))
                maps = _permuted_hats(hat, perms[train, block], n_stimuli) if scatter else None
                for first in range(0, len(columns), n_cols):
                    cols = columns[first : first + n_cols]
                    sub = targets[:, cols]
                    if scatter:
                        predicted = (maps @ sub).reshape(len(test), -1, len(cols))
                    else:
                        predicted = np.tensordot(hat, sub[perms[train, block]], axes=1)
                    observed = sub[perms[test, block]]  # (n_test, n_block, n_cols)
                    self.r[block, cols] += self.weight * _fold_r(predicted, observed)
        return chosen


def _permuted_hats(hat: np.ndarray, train_perms: np.ndarray, n_stimuli: int) -> np.ndarray:
    """The hat map of each permutation from the unpermuted responses, stacked:
    ``(n_test * n_block, n_stimuli)``, row ``i * n_block + k`` for held-out stimulus
    ``i`` under permutation ``k``.

    Permutation ``k`` feeds stimulus ``train_perms[j, k]`` to training position
    ``j``, so its map has column ``j`` of ``hat`` at column ``train_perms[j, k]``
    and zeros elsewhere: a gather of ``hat``'s columns (and a zero column) by the
    inverse permutation.
    """
    n_test, n_train = hat.shape
    n_block = train_perms.shape[1]
    position = np.full((n_block, n_stimuli), n_train)  # n_train: the zero column
    np.put_along_axis(position, train_perms.T, np.arange(n_train)[None], axis=1)
    padded = np.hstack([hat, np.zeros((n_test, 1))])
    return padded[:, position].reshape(n_test * n_block, n_stimuli)
