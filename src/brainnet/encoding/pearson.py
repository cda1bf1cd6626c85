"""Out-of-fold Pearson r from one-pass sums over the folds.

Each fold adds the sums of its held-out predictions ``p``, of ``p^2`` and of
``p y``; the correlation over all stimuli (the pooled out-of-fold predictions,
as :func:`sklearn.model_selection.cross_val_predict`) follows from these
without keeping any prediction.
"""

from __future__ import annotations

import numpy as np


def _accumulate(sums: np.ndarray, predictions: np.ndarray, observed: np.ndarray) -> None:
    """Add a fold's sums of p, p^2 and p*y: r over all folds needs only these."""
    sums[0] += predictions.sum(axis=0)
    sums[1] += np.einsum("ij,ij->j", predictions, predictions)
    sums[2] += np.einsum("ij,ij->j", predictions, observed)


def _pearson_from_sums(sums: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Pearson r per column from the accumulated sums.

    Permuting the stimuli leaves each target's sum and sum of squares
    unchanged, so they come from ``targets`` (column ``c`` is target
    ``c % n_targets``).
    """
    n, n_targets = targets.shape
    reps = sums.shape[1] // n_targets
    sum_y = np.tile(targets.sum(axis=0), reps)
    ss_y = np.tile(np.einsum("ij,ij->j", targets, targets), reps) - sum_y**2 / n
    cov = sums[2] - sums[0] * sum_y / n
    ss_p = sums[1] - sums[0] ** 2 / n
    denom = np.sqrt(np.clip(ss_p, 0.0, None) * ss_y)
    # a constant prediction carries no information about the response: r = 0
    return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 0)
