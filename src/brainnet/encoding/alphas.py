"""The ridge penalty grid: its default, its check, and what the choices say.

Each target's penalty is chosen from the grid inside every training fold
(see :mod:`brainnet.encoding.ridge`); here the per-fold choices become one
reported penalty per target, and choices piled up on an edge of the grid are
reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainnet.log import logger

#: Default ridge penalties: 20 values, log-spaced from 1e-2 to 1e8. Features are
#: standardised, so the Gram matrix eigenvalues scale with n_stimuli x n_features;
#: the grid runs from near-interpolation to full shrinkage for typical layer sizes.
DEFAULT_ALPHAS = tuple(np.logspace(-2, 8, 20).tolist())


def _check_alphas(alphas: Sequence[float] | None) -> np.ndarray:
    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(f"alphas must be a non-empty list of positive numbers, got {alphas}")
    return alphas


def _fold_median(values: np.ndarray) -> np.ndarray:
    """Median over folds (axis 0): a grid value for an odd number of folds, else the
    geometric mean of the middle two, the midpoint on a log grid."""
    ordered = np.sort(values, axis=0)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return np.sqrt(ordered[middle - 1] * ordered[middle])


def _log_grid_edges(layer: str, chosen: np.ndarray, n_alphas: int) -> None:
    for edge, label in ((0, "smallest"), (n_alphas - 1, "largest")):
        share = np.mean(chosen == edge)
        if share > 0.1:
            logger.info(
                "layer %s: %.0f%% of fold choices are the %s alpha; consider widening the grid",
                layer,
                100 * share,
                label,
            )
