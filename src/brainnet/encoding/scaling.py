"""Feature scaling inside a training fold: centred features, one scale per layer.

Every estimator sees the features of a layer centred on the training stimuli
of the fold and divided by one number, the square root of their total
variance over those stimuli; the held-out stimuli are transformed by the same
means and the same number, so nothing of the held-out fold leaks into the fit.

Why one scale per layer, not one per feature (as
:class:`sklearn.preprocessing.StandardScaler`):

- *Per-feature scaling can explode.* A ReLU feature that is non-zero for a
  handful of training stimuli has a tiny standard deviation; on a held-out
  stimulus where it fires its z-score reaches 1e3 or more and dominates the
  prediction. On pooled AlexNet features of macaque V4 data this halved the
  held-out r of conv3-conv5 against a plain ridge on the raw features. A
  single scale keeps the features' relative sizes, so a rare feature stays as
  small as it is.
- *The penalty grid becomes unit-free.* After the scaling each stimulus's
  feature vector has unit mean squared norm over the training fold, so the
  Gram matrix has trace ``n_train`` whatever the layer's size or units. For
  the isotropic prior of ridge regression the best penalty is then the noise
  to signal variance ratio of the response, so one default grid serves every
  layer and dataset (see :mod:`brainnet.encoding.alphas`).

Ridge with one scale ``s`` and penalty ``alpha`` equals ridge on the centred
raw features with penalty ``alpha * s**2``: scikit-learn's ``RidgeCV`` with
the grid multiplied by ``s**2`` reproduces it exactly (see the tests and
``benchmarks/encoding_vs_sklearn.py``).
"""

from __future__ import annotations

import numpy as np


def _scale_features(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``train`` and ``test`` centred by the means of ``train`` and divided by the square
    root of ``train``'s total feature variance (by 1 for a layer constant over the
    training stimuli, whose centred features are all 0)."""
    mean = train.mean(axis=0)
    centred = train - mean
    total = np.einsum("ij,ij->", centred, centred) / train.shape[0]
    scale = np.sqrt(total) if total > 0 else 1.0
    return centred / scale, (test - mean) / scale
