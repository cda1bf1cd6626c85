"""Feature scaling inside a training fold.

Every estimator sees its features standardised on the training stimuli of the
fold (as :class:`sklearn.preprocessing.StandardScaler`), with the held-out
stimuli transformed by the same means and standard deviations, so nothing of
the held-out fold leaks into the fit.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import StandardScaler


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``train`` and ``test`` standardised by the mean and SD of ``train``."""
    scaler = StandardScaler().fit(train)
    return scaler.transform(train), scaler.transform(test)
