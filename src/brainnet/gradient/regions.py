"""Region aggregation: region means with hierarchical bootstrap intervals and preferences.

For each region the channels of all subjects are pooled: the mean score per
layer, its bootstrap interval (subjects resampled, then channels within each
drawn subject), the fraction of channels significant at each layer, the count
of channels preferring each layer, and the region's preferred layer with its
bootstrap interval and agreement.
"""

from __future__ import annotations

import warnings

import numpy as np

from brainnet.gradient.preferred import _argmax_layer
from brainnet.gradient.resampling import _hierarchical_weights, _quantiles

_PREFERRED = (
    "preferred_layer",
    "preferred_layer_low",
    "preferred_layer_high",
    "preferred_layer_agreement",
)


def _region_statistics(
    values, sig, preferred, subject, region, regions, layer_index, *, n_bootstrap, ci, rng
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
        # Resampled pooled mean = weighted sum over channels / weighted count of finite values.
        flat = np.moveaxis(x, 1, 0).reshape(len(members), -1)
        finite = np.isfinite(flat)
        weights = _hierarchical_weights(subject[members], n_bootstrap, rng)
        totals = weights @ np.where(finite, flat, 0)
        counts = weights @ finite
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = np.where(counts > 0, totals / counts, np.nan)
        boot = boot.reshape(n_bootstrap, n_layer, n_band, n_window)
        out["score_low"][:, i], out["score_high"][:, i] = _quantiles(boot, ci)

        best = _argmax_layer(out["score"][:, i], layer_index)
        boot_best = _argmax_layer(boot, layer_index)
        low, high = _quantiles(boot_best, ci, method="inverted_cdf")
        pref["preferred_layer"][i] = best
        boot_preferred[:, i] = boot_best
        pref["preferred_layer_low"][i] = low
        pref["preferred_layer_high"][i] = high
        pref["preferred_layer_agreement"][i] = np.where(
            np.isfinite(best), np.mean(boot_best == best, axis=0), np.nan
        )
    return {"layer_region": out, "region": pref, "bootstrap_preferred": boot_preferred}
