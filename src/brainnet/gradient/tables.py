"""Kendall's tau-b and Spearman's rho of a contingency table of counts.

Both alignment statistics only depend on a small table of counts (region rank
by layer), so they are computed from the table directly, batched over any
leading axes (resamples, bands, windows), instead of calling SciPy once per
resample; ``tests/test_gradient.py`` checks the agreement with SciPy.
"""

from __future__ import annotations

import numpy as np


def _kendall_tau_b(table):
    """Kendall's tau-b of the row and column orders of a contingency table.

    ``table`` has shape ``(..., rows, columns)`` and holds counts of
    observations; equals :func:`scipy.stats.kendalltau` (variant ``"b"``) on
    the expanded observations, and is NaN when either variable is constant.
    """
    rows, cols = table.shape[-2:]
    # ge[i, j]: observations in rows >= i and columns >= j; le_col: rows >= i, columns <= j.
    ge = np.flip(np.flip(table, (-2, -1)).cumsum(-2).cumsum(-1), (-2, -1))
    le_col = np.flip(np.flip(table, -2).cumsum(-2), -2).cumsum(-1)
    later = np.zeros_like(table)
    later[..., : rows - 1, : cols - 1] = ge[..., 1:, 1:]  # rows > i, columns > j
    earlier = np.zeros_like(table)
    earlier[..., : rows - 1, 1:] = le_col[..., 1:, : cols - 1]  # rows > i, columns < j
    concordant = (table * later).sum((-2, -1))
    discordant = (table * earlier).sum((-2, -1))
    n = table.sum((-2, -1))
    row_ties = _tied_pairs(table.sum(-1))
    col_ties = _tied_pairs(table.sum(-2))
    total = n * (n - 1) / 2
    denominator = np.sqrt(np.maximum(total - row_ties, 0) * np.maximum(total - col_ties, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (concordant - discordant) / denominator, np.nan)


def _tied_pairs(margin):
    return (margin * (margin - 1) / 2).sum(-1)


def _spearman(table):
    """Spearman's rho (average ranks for ties) of a contingency table ``(..., rows, columns)``."""
    n = table.sum((-2, -1))[..., None]
    row_n, col_n = table.sum(-1), table.sum(-2)
    mid = (n + 1) / 2
    row_rank = row_n.cumsum(-1) - row_n + (row_n + 1) / 2 - mid
    col_rank = col_n.cumsum(-1) - col_n + (col_n + 1) / 2 - mid
    covariance = np.einsum("...i,...ij,...j->...", row_rank, table, col_rank)
    variance = (row_n * row_rank**2).sum(-1) * (col_n * col_rank**2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(variance > 0, covariance / np.sqrt(variance), np.nan)
