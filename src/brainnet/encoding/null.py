"""The permutation null of the encoding scores.

The stimulus labels of the responses are permuted; the same permutations
serve every layer and target, and every permuted target is scored exactly as
the observed one (r per fold, averaged over folds; see
:mod:`brainnet.encoding.pearson`). For ridge, permuted responses are extra
targets for the decomposition of each training fold, which is what makes
1,000 permutations affordable: either each permuted target keeps the penalty
chosen for it on the real data (one hat map per penalty), or penalties are
chosen afresh by leave-one-out in every permutation (``refit_alpha``).

With a fixed penalty a permuted fit is linear in the responses: a block of
permutations of the training responses is gathered once (contiguous row
copies of responses held in C order) and is one matrix product with the
fold's centred hat map (the training mean folded in), and r comes from one
pass of sums over responses centred once (:func:`_r_from_sums`). Scattering
the hat map to the permuted stimuli instead, which needs no gather, was
measured slower on CPU for every number of targets: its product runs over
all stimuli, not the training ones only (docs/benchmarks.md). The same code
runs on torch tensors for the device path
(:mod:`brainnet.encoding.device_ridge`). Blocks of permutations and of
targets keep the working memory within
:data:`brainnet.encoding.memory._BLOCK_BYTES`; the centred responses add one
copy of the targets.
"""

from __future__ import annotations

from collections.abc import Iterator

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
        # r does not see a shift of a target; centred, the one-pass sums are exact
        self.centred = targets - targets.mean(axis=0)
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
        centred hat map (see :func:`_permuted_r`), for blocks of permutations
        and targets at a time.
        """
        predictions, chosen = fold.fit_predict(self.targets[train])
        self.r[0] += self.weight * _fold_r(predictions, self.targets[test])
        for index in np.unique(chosen):
            hat = fold.centred_hat(index)
            columns = np.flatnonzero(chosen == index)
            for cols, blocks in _fixed_alpha_blocks(self.perms.shape, len(train), columns):
                # np.take keeps C order (``centred[:, cols]`` would be Fortran-ordered,
                # and its rows gather several times slower)
                responses = np.take(self.centred, cols, axis=1)
                for block in blocks:
                    self.r[block, cols] += self.weight * _permuted_r(
                        hat, responses, self.perms[train, block], self.perms[test, block]
                    )
        return chosen


def _fixed_alpha_blocks(
    perm_shape: tuple[int, int], n_train: int, columns: np.ndarray
) -> Iterator[tuple[np.ndarray, list[slice]]]:
    """Blocks of target columns, each with its blocks of permutations (never the
    identity, column 0), whose working arrays fit in
    :data:`~brainnet.encoding.memory._BLOCK_BYTES`: per permutation and column the
    gathered training responses, the predictions and the gathered held-out
    responses with the products of the sums."""
    n_stimuli, n_perms = perm_shape
    n_test = n_stimuli - n_train
    n_block, n_cols = _null_blocks(n_perms, 0, 8 * (4 * n_test + n_train), len(columns))
    blocks = [slice(start, min(start + n_block, n_perms)) for start in range(1, n_perms, n_block)]
    for first in range(0, len(columns), n_cols):
        yield columns[first : first + n_cols], blocks


def _permuted_r(hat, targets, train_perms, test_perms):
    """Held-out r of targets fitted at one fixed penalty, for a block of permutations.

    Parameters
    ----------
    hat : array, shape (n_test, n_train)
        The fold's centred hat map (:meth:`_RidgeFold.centred_hat`).
    targets : array, shape (n_stimuli, n_columns)
        Responses centred over all stimuli: r does not see the centring (the
        training mean shifts every prediction of a fold and permutation alike),
        and centred values keep the one-pass sums of :func:`_r_from_sums` exact
        to round-off.
    train_perms, test_perms : array of int, shapes (n_train, n_block), (n_test, n_block)
        The stimulus fed to each training and held-out position, per permutation.

    Returns
    -------
    r : array, shape (n_block, n_columns)

    Notes
    -----
    The permuted training responses of the block are gathered by whole rows,
    then predicted by one matrix product. NumPy and torch arrays alike (the
    device path of :mod:`brainnet.encoding.device_ridge`).
    """
    n_test, n_train = hat.shape
    n_block = train_perms.shape[1]
    gathered = targets[_index(train_perms, hat)].reshape(n_train, -1)
    predicted = (hat @ gathered).reshape(n_test, n_block, -1).swapaxes(0, 1)
    return _r_from_sums(predicted, targets[_index(test_perms.T, hat)])


def _r_from_sums(predicted, observed):
    """Pearson r over axis 1 (held-out stimuli) from one pass of sums, NumPy or torch:
    ``(n_block, n, n_columns)`` in, ``(n_block, n_columns)`` out.

    Against the two-pass form of :func:`~brainnet.encoding.pearson._fold_r` this
    makes no centred copies of the two ``n_block x n_test x n_columns`` arrays;
    with inputs centred over all stimuli it agrees with it to 1e-13 in float64.
    """
    n = predicted.shape[1]
    sum_p, sum_o = predicted.sum(1), observed.sum(1)
    cross, power = _dot1(predicted, observed), _dot1(predicted, predicted)
    cov = cross - sum_p * sum_o / n
    var_p = power - sum_p * sum_p / n
    var_o = _dot1(observed, observed) - sum_o * sum_o / n
    denom = (var_p.clip(min=0) * var_o.clip(min=0)) ** 0.5
    # a prediction constant over the held-out stimuli carries no information: r = 0,
    # as _fold_r gives (its one-pass variance is round-off, not 0)
    zero = (var_p <= 1e-24 * power) | (denom == 0)
    r = cov / (denom + zero)
    r[zero] = 0
    return r


def _dot1(a, b):
    """Sum over axis 1 of ``a * b`` (3-D) without the product array."""
    if isinstance(a, np.ndarray):
        return np.einsum("kic,kic->kc", a, b)
    import torch

    return torch.einsum("kic,kic->kc", a, b)


def _index(index: np.ndarray, like):
    """``index`` as an index of ``like``: itself for NumPy, a tensor on its device."""
    if isinstance(like, np.ndarray):
        return index
    import torch

    return torch.as_tensor(index, device=like.device)
