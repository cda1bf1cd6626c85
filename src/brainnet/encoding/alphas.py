"""The ridge penalty grid: its default, its check, and what the choices say.

Each target's penalty is chosen from the grid inside every training fold
(see :mod:`brainnet.encoding.ridge`); here the per-fold choices become one
reported penalty per target, and choices piled up on an edge of the grid are
reported, once per call, naming the config key ``encoding.alphas``.

The features are scaled to unit total variance (see
:mod:`brainnet.encoding.scaling`), so a penalty is unit-free: for the
isotropic prior of ridge regression it is the noise to signal variance ratio
of the response. Two edges are not alike:

- the top edge is where targets without signal go (their leave-one-out
  error falls as the penalty grows, towards predicting the mean). Once the
  largest penalty is far above every eigenvalue of the Gram matrix (see
  :meth:`~brainnet.encoding.ridge._RidgeFold.top_saturates`), larger ones
  only scale the predictions down, which no correlation sees: choices there
  do not say the grid is too narrow, and are not counted;
- the bottom edge means a response fitted better the less it is penalised,
  a signal to noise ratio beyond the grid: always counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainnet.log import logger

#: Default ridge penalties: 21 values, log-spaced from 1e-3 to 1e7 (two per decade).
#: On unit-variance features the penalty is the noise to signal variance ratio:
#: the grid runs from a signal to noise ratio of 1000 to past the point (1000 x
#: the largest Gram eigenvalue, which is at most ``n_train``) where every
#: direction is shrunk alike, for up to 10,000 training stimuli.
DEFAULT_ALPHAS = tuple(np.logspace(-3, 7, 21).tolist())

#: Share of fold choices on an edge above which the grid is reported as too narrow.
_EDGE_SHARE = 0.1


def _check_alphas(alphas: Sequence[float] | None) -> np.ndarray:
    """The grid as sorted, distinct, positive float64 values."""
    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(f"alphas must be a non-empty list of positive numbers, got {alphas}")
    return np.unique(alphas)


def _fold_median(values: np.ndarray) -> np.ndarray:
    """Median over folds (axis 0): a grid value for an odd number of folds, else the
    geometric mean of the middle two, the midpoint on a log grid."""
    ordered = np.sort(values, axis=0)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return np.sqrt(ordered[middle - 1] * ordered[middle])


def _edge_shares(chosen: np.ndarray, n_alphas: int, saturated: np.ndarray) -> tuple[float, float]:
    """Shares of fold choices ``(n_folds, n_targets)`` on the smallest penalty and on
    the largest one in folds where it does not saturate (``saturated``, per fold)."""
    bottom = np.mean(chosen == 0)
    top = np.mean((chosen == n_alphas - 1) & ~saturated[:, None])
    return float(bottom), float(top)


def _warn_grid_edges(shares: dict[str, tuple[float, float]]) -> None:
    """One warning for all layers whose choices pile up on an edge of the grid."""
    lines = []
    for index, (label, advice) in enumerate(
        [("smallest", "add smaller values"), ("largest", "add larger values")]
    ):
        layers = {name: pair[index] for name, pair in shares.items() if pair[index] > _EDGE_SHARE}
        if layers:
            listed = ", ".join(f"{name} {100 * share:.0f}%" for name, share in layers.items())
            lines.append(
                f"the {label} penalty is the best for {listed} of fold choices ({advice})"
            )
    if lines:
        logger.warning(
            "encoding.alphas does not fit the data: %s; widen encoding.alphas in the config",
            "; ".join(lines),
        )
