"""Partial least squares encoding, fitted jointly on all targets (as Brain-Score)."""

from __future__ import annotations

import numpy as np
from sklearn.cross_decomposition import PLSRegression

from brainnet.encoding.pearson import _accumulate, _pearson_from_sums
from brainnet.encoding.scaling import _standardise
from brainnet.log import logger


def _score_pls(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    n_components: int,
) -> np.ndarray:
    """Out-of-fold r ``(n_perms + 1, n_targets)`` of PLS regression.

    PLS fits all targets jointly (its components depend on every target), so
    each permutation is a separate fit on the same standardised features.
    """
    n_targets = targets.shape[1]
    sums = np.zeros((3, perms.shape[1] * n_targets))
    for train, test in splits:
        x_train, x_test = _standardise(features[train], features[test])
        n_comp = min(n_components, *x_train.shape)
        if n_comp < n_components:
            logger.info(
                "PLS components capped at %d by the layer's shape %s in a training fold",
                n_comp,
                x_train.shape,
            )
        for k in range(perms.shape[1]):
            pls = PLSRegression(n_components=n_comp, scale=True)
            pls.fit(x_train, targets[perms[train, k]])
            cols = slice(k * n_targets, (k + 1) * n_targets)
            _accumulate(sums[:, cols], pls.predict(x_test), targets[perms[test, k]])
    return _pearson_from_sums(sums, targets).reshape(perms.shape[1], n_targets)
