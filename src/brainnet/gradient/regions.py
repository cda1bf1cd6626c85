"""Region aggregation: region means with hierarchical bootstrap intervals and preferences.

For each region the channels of all subjects are pooled: the mean score per
layer, its bootstrap interval (subjects resampled, then channels within each
drawn subject), the fraction of channels significant at each layer, the count
of channels preferring each layer, and, where the region has a significant
match, its preferred layer with the layers tied to it
(:mod:`~brainnet.gradient.preferred`).

A region has a significant match where the mean of some layer is above 0 by
a one-sided bootstrap test at level ``alpha / n_layers`` (Bonferroni over
the layers): at most that share of the resampled means is at or below 0.
"""

from __future__ import annotations

import warnings

import numpy as np

from brainnet.gradient.preferred import _preference
from brainnet.gradient.resampling import _hierarchical_weights, _quantiles

_PREFERRED = (
    "preferred_layer",
    "preferred_layer_low",
    "preferred_layer_high",
    "preferred_layer_agreement",
)


def _region_statistics(
    values, sig, preferred, subject, region, regions, layer_index, *, n_bootstrap, ci, alpha, rng
):
    """Region means and preferred layers with their bootstrap, region by region.

    Returns the ``(layer, region, band, window)`` arrays under
    ``"layer_region"``, the ``(region, band, window)`` ones under ``"region"``
    and the bootstrap draws of the preferred layers, ``(bootstrap, region,
    band, window)``, under ``"bootstrap_preferred"``.
    """
    n_layer, _, n_band, n_window = values.shape
    shape = (n_layer, len(regions), n_band, n_window)
    out = {name: np.full(shape, np.nan) for name in ("score", "score_low", "score_high")}
    out["fraction_significant"] = np.zeros(shape)
    out["n_preferring"] = np.zeros(shape, dtype=int)
    out["tied"] = np.zeros(shape, dtype=bool)
    region_shape = (len(regions), n_band, n_window)
    pref = {name: np.full(region_shape, np.nan) for name in _PREFERRED}
    boot_preferred = np.full((n_bootstrap, *region_shape), np.nan)
    for i, name in enumerate(regions):
        members = np.flatnonzero(region == name)
        x = values[:, members]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # channels all NaN for a cell
            out["score"][:, i] = np.nanmean(x, axis=1)
        out["fraction_significant"][:, i] = sig[:, members].mean(axis=1)
        out["n_preferring"][:, i] = (
            preferred[members][None] == np.arange(n_layer)[:, None, None, None]
        ).sum(axis=1)
        boot = _bootstrap_means(x, subject[members], n_bootstrap, rng)
        out["score_low"][:, i], out["score_high"][:, i] = _quantiles(boot, ci)
        found = _preference(
            out["score"][:, i], boot, _matched(out["score"][:, i], boot, alpha), layer_index, ci
        )
        out["tied"][:, i] = found.pop("tied")
        boot_preferred[:, i] = found.pop("bootstrap_preferred")
        for key, value in found.items():
            pref[key][i] = value
    return {"layer_region": out, "region": pref, "bootstrap_preferred": boot_preferred}


def _bootstrap_means(x, subject, n_bootstrap, rng):
    """Hierarchical bootstrap of the pooled mean of ``x`` ``(layer, channel, band, window)``.

    A resampled pooled mean is the weighted sum over channels divided by the
    weighted count of finite values; returns ``(n_bootstrap, layer, band, window)``.
    """
    n_layer, n_members, n_band, n_window = x.shape
    flat = np.moveaxis(x, 1, 0).reshape(n_members, -1)
    finite = np.isfinite(flat)
    weights = _hierarchical_weights(subject, n_bootstrap, rng)
    totals = weights @ np.where(finite, flat, 0)
    counts = weights @ finite
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.where(counts > 0, totals / counts, np.nan)
    return boot.reshape(n_bootstrap, n_layer, n_band, n_window)


def _matched(score, boot, alpha):
    """Where some layer's mean is above 0 by a one-sided bootstrap test at ``alpha / n_layers``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells without any finite resample
        at_or_below = np.nanmean(np.where(np.isnan(boot), np.nan, boot <= 0), axis=0)
    return ((at_or_below <= alpha / len(score)) & (score > 0)).any(axis=0)
