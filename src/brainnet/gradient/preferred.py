"""Preferred layers: the best layer of each channel, and of each region with the layers tied to it.

A channel's preferred layer is the argmax of its score among its significant
layers (none when no layer is significant).

A region's preferred layer is the argmax of its score, defined only where the
region has a significant match: the argmax of scores that carry no
stimulus information is not uniform over the layers but favours the layers
least like the others (pixels and conv1 in AlexNet, whose RDMs are distinct,
against conv3-conv5, whose RDMs correlate above 0.99 and split their wins).

Neighbouring layers may be impossible to tell apart with the data at hand.
The region's *tied layers* are the layers whose score is not below the
preferred layer's by more than the bootstrap says it could be: a layer ``L``
is tied when at least ``(1 - ci) / 2`` of the bootstrap resamples have
``score(preferred) - score(L) <= 0``. The preferred layer's interval,
``preferred_layer_low`` to ``_high``, is the span of its tied layers; on
planted data it covers the planted layer at least at the nominal rate
(``tests/test_gradient.py``), where the argmax of the resampled scores, taken
alone, does not (a bias of the scores moves every resample alike).
"""

from __future__ import annotations

import warnings

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


def _preference(score, boot, matched, layer_index, ci, *, resampled=None):
    """The preferred layer of one region, its tied layers and their span.

    Parameters
    ----------
    score : array, shape (layer, band, window)
        The region's score.
    boot : array, shape (n_bootstrap, layer, band, window)
        Its bootstrap resamples (NaN where a resample has no value).
    matched : array of bool, shape (band, window)
        Where the region has a significant match; elsewhere nothing is preferred.
    layer_index : array of int, shape (layer,)
    ci : float
        Coverage of the interval.
    resampled : array of bool, shape (band, window), optional
        Where the bootstrap can vary at all (e.g. two or more subjects);
        elsewhere the interval is NaN rather than a false certainty.

    Returns
    -------
    preference : dict
        ``preferred_layer``, ``preferred_layer_low``, ``_high`` and
        ``_agreement`` (the fraction of resamples whose argmax is the
        preferred layer), each ``(band, window)``; ``tied`` ``(layer, band,
        window)``; ``bootstrap_preferred`` ``(n_bootstrap, band, window)``,
        the argmax of each resample where the region is matched.
    """
    best = np.where(matched, _argmax_layer(score, layer_index), np.nan)
    boot_best = np.where(matched, _argmax_layer(boot, layer_index), np.nan)
    position = {int(i): k for k, i in enumerate(layer_index)}
    tied = np.zeros(score.shape, dtype=bool)
    low, high = np.full(best.shape, np.nan), np.full(best.shape, np.nan)
    ok = np.isfinite(best) if resampled is None else np.isfinite(best) & resampled
    for b, w in zip(*np.nonzero(np.isfinite(best)), strict=True):
        k = position[int(best[b, w])]
        tied[k, b, w] = True
        if not ok[b, w]:
            continue
        delta = boot[:, [k], b, w] - boot[:, :, b, w]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # layers never resampled
            share = np.nanmean(np.where(np.isnan(delta), np.nan, delta <= 0), axis=0)
        tied[:, b, w] |= share >= (1 - ci) / 2
        members = layer_index[tied[:, b, w]]
        low[b, w], high[b, w] = members.min(), members.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # unmatched cells stay NaN
        agreement = np.where(np.isfinite(best), np.nanmean(boot_best == best, axis=0), np.nan)
    return {
        "preferred_layer": best,
        "preferred_layer_low": low,
        "preferred_layer_high": high,
        "preferred_layer_agreement": agreement,
        "tied": tied,
        "bootstrap_preferred": boot_best,
    }
