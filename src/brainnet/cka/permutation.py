"""The stimulus permutation test of CKA: re-indexed centred Gram matrices, one product each.

A CKA is the inner product of two centred Gram matrices scaled to unit norm
(:mod:`brainnet.cka.score`), and a region's score is the mean of its
subjects' CKAs, hence the inner product of the layer's matrix with the mean
of the subjects' matrices. Relabelling the stimuli of one side permutes the
rows and columns of its centred Gram matrix, so the null distribution of
every layer against every region, band and window is one gather of the
layers' matrices per permutation followed by one matrix product with all
targets at once. The layers' matrices are the ones permuted (fewer than the
targets); over uniformly drawn permutations that is the same null as
relabelling the brain side. Gram matrices are symmetric, so only the upper
triangle and the diagonal are gathered.
"""

from __future__ import annotations

import numpy as np

# Bytes of permuted layer matrices (and their gather indices) held at once.
_MEMORY = 2**27
# A null value counts as reaching the observed one within rounding (|CKA| <= 1).
_TIES = 1e-12


def permutation_counts(
    layers: np.ndarray, targets: np.ndarray, permutations: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Observed inner products and, per pair, the permutations that reach them.

    Parameters
    ----------
    layers : array, shape (n_layers, n, n)
        Symmetric matrices (the layers' unit centred Gram matrices).
    targets : array, shape (n_targets, n, n)
        Symmetric matrices (the regions' mean unit centred Gram matrices).
    permutations : array of int, shape (n_permutations, n)
        Stimulus relabellings (:func:`brainnet.rsa.make_permutations`), applied
        to the layers as ``K[perm][:, perm]``.

    Returns
    -------
    observed : array, shape (n_layers, n_targets)
        ``<layer, target>``.
    exceed : array of int, shape (n_layers, n_targets)
        ``#{perm: <layer[perm][:, perm], target> >= observed}``, ties included.
    """
    n = layers.shape[-1]
    rows, cols = np.triu_indices(n, 1)
    rows, cols = np.concatenate([rows, np.arange(n)]), np.concatenate([cols, np.arange(n)])
    weight = np.where(rows == cols, 1.0, 2.0)  # each off-diagonal entry stands for two
    flat = (targets[:, rows, cols] * weight).T  # (entries, target)
    observed = layers[:, rows, cols] @ flat
    exceed = np.zeros(observed.shape, dtype=np.int64)
    block = max(1, _MEMORY // (8 * (len(layers) + 2) * len(rows)))
    for start in range(0, len(permutations), block):
        perm = permutations[start : start + block]
        shuffled = layers[:, perm[:, rows], perm[:, cols]]  # (layer, block, entries)
        null = shuffled @ flat  # (layer, block, target)
        exceed += (null >= observed[:, None, :] - _TIES).sum(axis=1)
    return observed, exceed
