"""Partial least squares encoding, fitted jointly on all targets (as Brain-Score)."""

from __future__ import annotations

import numpy as np
from sklearn.cross_decomposition import PLSRegression

from brainnet.encoding.pearson import _fold_r
from brainnet.encoding.scaling import _scale_features
from brainnet.log import logger


def _score_pls(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    n_components: int,
) -> np.ndarray:
    """Held-out r ``(n_perms + 1, n_targets)`` of PLS regression.

    PLS fits all targets jointly (its components depend on every target), so
    each permutation is a separate fit on the same scaled features (see
    :mod:`brainnet.encoding.scaling`; ``scale=False``, so that PLS does not
    standardise them per feature again).
    """
    r = np.zeros((perms.shape[1], targets.shape[1]))
    for train, test in splits:
        x_train, x_test = _scale_features(features[train], features[test])
        n_comp = min(n_components, *x_train.shape)
        if n_comp < n_components:
            logger.info(
                "PLS components capped at %d by the layer's shape %s in a training fold",
                n_comp,
                x_train.shape,
            )
        for k in range(perms.shape[1]):
            pls = PLSRegression(n_components=n_comp, scale=False)
            pls.fit(x_train, targets[perms[train, k]])
            r[k] += _fold_r(pls.predict(x_test), targets[perms[test, k]]) / len(splits)
    return r
