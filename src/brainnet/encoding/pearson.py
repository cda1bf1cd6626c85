"""The held-out score: Pearson r within each outer fold, averaged over the folds.

Each fold's held-out predictions are correlated with that fold's responses;
the score of a target is the mean of these correlations over the folds (equal
weights, as Brain-Score averages its splits). The observed and every permuted
target are scored alike, so the permutation null is the null of this score.

Why not one r over the pooled out-of-fold predictions (as
:func:`sklearn.model_selection.cross_val_predict` would give): each fold's
predictions carry the training mean of the responses as intercept, and the
training mean moves opposite to the held-out mean (together they make the
grand mean). Pooled over folds, these offsets anti-correlate with the
responses: with no signal the pooled r is biased below zero, about -0.11 with
5 folds of 40 stimuli. Within one fold the intercept is a constant and drops
out of r; and under the null, given the training data, the held-out responses
are exchangeable, so the expected r of every fold, and of their mean, is
exactly 0.
"""

from __future__ import annotations

import numpy as np


def _fold_r(predictions: np.ndarray, observed: np.ndarray, axis: int = 0) -> np.ndarray:
    """Pearson r along ``axis`` (the held-out stimuli of one fold), for arrays of the
    same shape; 0 where a prediction is constant (it carries no information)."""
    predicted = predictions - predictions.mean(axis=axis, keepdims=True)
    measured = observed - observed.mean(axis=axis, keepdims=True)
    cov = (predicted * measured).sum(axis=axis)
    denom = np.sqrt((predicted**2).sum(axis=axis) * (measured**2).sum(axis=axis))
    return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 0)
