"""The permutation null of the encoding scores.

The stimulus labels of the responses are permuted; the same permutations
serve every layer and target. For ridge, permuted responses are extra targets
for the decomposition of each training fold, which is what makes 1,000
permutations affordable: either each permuted target keeps the penalty chosen
for it on the real data (one precomputed hat map per penalty), or penalties
are chosen afresh by leave-one-out in every permutation (``refit_alpha``).
"""

from __future__ import annotations

import numpy as np

from brainnet.encoding.memory import _column_blocks, _permutation_blocks
from brainnet.encoding.pearson import _accumulate, _pearson_from_sums
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
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold r for the observed and every permuted target, ridge.

    Each training fold is decomposed once; the observed and permuted targets
    are then fitted by :meth:`_NullSums.add_refit` or
    :meth:`_NullSums.add_fixed_alpha` (see ``refit_alpha`` of
    :func:`~brainnet.encoding.fit_encoding`). Returns r ``(n_perms + 1,
    n_targets)`` (row ``k`` is permutation ``k``, row 0 the identity) and the
    chosen alpha index ``(n_folds, n_targets)`` of the observed targets.
    """
    null = _NullSums(targets, perms)
    chosen = np.empty((len(splits), targets.shape[1]), dtype=np.intp)
    add_fold = null.add_refit if refit_alpha else null.add_fixed_alpha
    for f, (train, test) in enumerate(splits):
        fold = _RidgeFold(features[train], features[test], alphas)
        chosen[f] = add_fold(fold, train, test)
    return null.pearson(), chosen


class _NullSums:
    """Out-of-fold sums of ridge predictions for the observed and permuted targets.

    ``sums[:, k, t]`` holds the sums of p, p^2 and p*y (see
    :mod:`brainnet.encoding.pearson`) of target ``t`` under permutation ``k``
    (column ``k`` of ``perms``; 0 is the identity), added fold by fold.
    """

    def __init__(self, targets: np.ndarray, perms: np.ndarray):
        self.targets = targets
        self.perms = perms
        self.sums = np.zeros((3, perms.shape[1], targets.shape[1]))

    def pearson(self) -> np.ndarray:
        """r ``(n_perms + 1, n_targets)`` over all folds added so far."""
        r = _pearson_from_sums(self.sums.reshape(3, -1), self.targets)
        return r.reshape(self.perms.shape[1], self.targets.shape[1])

    def add_refit(self, fold: _RidgeFold, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Add one fold with every penalty chosen afresh by leave-one-out, for the
        observed and each permuted target alike; return the observed choices.

        Column ``k * n_targets + t`` of the flattened sums is target ``t`` under
        permutation ``k``; the columns are fitted in blocks.
        """
        targets, perms, sums = self.targets, self.perms, self.sums
        n_stimuli, n_targets = targets.shape
        flat = sums.reshape(3, -1)  # a view: the blocks add into ``sums``
        chosen = np.empty(n_targets, dtype=np.intp)
        perm_train, perm_test = perms[train], perms[test]
        for cols in _column_blocks(flat.shape[1], n_stimuli, len(fold.alphas)):
            perm, target = np.divmod(np.arange(cols.start, cols.stop), n_targets)
            predictions, best = fold.fit_predict(targets[perm_train[:, perm], target])
            _accumulate(flat[:, cols], predictions, targets[perm_test[:, perm], target])
            observed = perm == 0
            chosen[target[observed]] = best[observed]
        return chosen

    def add_fixed_alpha(self, fold: _RidgeFold, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        """Add one fold with each permuted target fitted at the penalty chosen for
        it on the real data; return those choices.

        A ridge prediction at a fixed penalty is linear in the training targets,
        so the permuted fits of all targets sharing a penalty are one product with
        that penalty's hat map, done for blocks of permutations at a time.
        """
        targets, perms, sums = self.targets, self.perms, self.sums
        predictions, chosen = fold.fit_predict(targets[train])
        _accumulate(sums[:, 0], predictions, targets[test])
        for index in np.unique(chosen):
            columns = np.flatnonzero(chosen == index)
            hat, sub = fold.hat_map(index), targets[:, columns]
            for block in _permutation_blocks(perms.shape[1], len(train), len(columns)):
                y_train = sub[perms[train, block]]  # (n_train, n_block, n_columns)
                y_test = sub[perms[test, block]]
                mean = y_train.mean(axis=0)
                predicted = np.tensordot(hat, y_train - mean, axes=1) + mean
                sums[0, block][:, columns] += predicted.sum(axis=0)
                sums[1, block][:, columns] += np.einsum("ikj,ikj->kj", predicted, predicted)
                sums[2, block][:, columns] += np.einsum("ikj,ikj->kj", predicted, y_test)
        return chosen
