"""Preferred layers: the best layer of each channel and of each region mean.

A channel's preferred layer is the argmax of its score among its significant
layers (none when no layer is significant); a region's is the argmax of the
region mean over all layers (none when the region has no finite score).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.gradient.inputs import _scores_and_significance


def channel_preferred_layers(
    scores: xr.Dataset, *, method: str, alpha: float = 0.05, ceiled: bool = False
) -> xr.DataArray:
    """The ``layer_index`` of each channel's best significant layer, per band and window.

    The channel-level preference that the gradient statistics count (see
    :func:`~brainnet.gradient.gradient_statistics`, whose arguments these are),
    for figures that show individual channels, e.g. on the brain.

    Parameters
    ----------
    scores : xarray.Dataset
        Channel-level encoding or RSA scores over ``(layer, channel, band, window)``.
    method : ``"encoding"`` | ``"rsa"``
        Which kind of scores ``scores`` holds.
    alpha : float
        Significance level where ``scores`` has no ``significant`` variable.
    ceiled : bool
        Use the noise-ceiled ``r_ceiled`` (encoding only).

    Returns
    -------
    preferred : xarray.DataArray
        ``(channel, band, window)``, NaN where a channel has no significant
        layer; the channel, band and window coordinates of ``scores`` (such
        as ``region``, ``x``, ``y``, ``z``) are kept.
    """
    score, significant, _ = _scores_and_significance(scores, method, alpha, ceiled)
    values = score.to_numpy().astype(float)
    best = _channel_preferred(values, significant.to_numpy() & np.isfinite(values))
    layer_index = score["layer_index"].to_numpy()
    index = np.where(best >= 0, layer_index[np.maximum(best, 0)], np.nan)
    coords = {name: c.variable for name, c in score.coords.items() if "layer" not in c.dims}
    return xr.DataArray(
        index, dims=("channel", "band", "window"), coords=coords, name="preferred_layer"
    )


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
