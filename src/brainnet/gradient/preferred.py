"""Preferred layers: the best layer of each channel and of each region mean.

A channel's preferred layer is the argmax of its score among its significant
layers (none when no layer is significant); a region's is the argmax of the
region mean over all layers (none when the region has no finite score).
"""

from __future__ import annotations

import numpy as np


def _channel_preferred(values, sig):
    """Position (along ``layer``) of each channel's best significant layer, -1 when none."""
    masked = np.where(sig, values, -np.inf)
    best = masked.argmax(axis=0)
    return np.where(sig.any(axis=0), best, -1)


def _argmax_layer(means, layer_index):
    """``layer_index`` of the maximum over axis -3 (layer), NaN where all values are NaN."""
    finite = np.isfinite(means)
    best = np.where(finite, means, -np.inf).argmax(axis=-3)
    return np.where(finite.any(axis=-3), layer_index[best].astype(float), np.nan)
