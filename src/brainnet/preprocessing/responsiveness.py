"""Responsiveness: does a channel's power in a window differ from its baseline?

A Wilcoxon signed-rank test across trials of window versus baseline power
(both in dB against the same reference), with Benjamini-Hochberg FDR over all
channels, bands and windows of the subject.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def _responsiveness(diff):
    """FDR-adjusted Wilcoxon p-values of window minus baseline across trials."""
    with warnings.catch_warnings():
        # A channel whose differences are all zero has no defined statistic: p is NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.wilcoxon(diff, axis=0, nan_policy="omit").pvalue
    p = np.asarray(p, float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        adjusted[finite] = stats.false_discovery_control(p[finite], method="bh")
    return adjusted
