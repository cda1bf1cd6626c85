"""Alignment statistics: how the layer rises with the region rank, with bootstrap and permutation.

* ``alignment_tau`` (Kuzovkin et al. 2018): Kendall's tau-b between region
  rank and layer index over all significant channel-layer pairs;
* ``alignment_rho`` (Guclu and van Gerven 2015): Spearman's rho between region
  rank and each channel's preferred layer;
* ``region_alignment_rho``: Spearman's rho between region rank and each
  visual region's preferred layer.

The channel-level statistics are computed from contingency tables, so the
permutation null and the bootstrap are batched matrix products of label
indicators with the channel-by-layer indicators (see ``benchmarks/gradient.py``
for the speed-up). Permutations shuffle region labels across the visual
channels (``region_rank > 0``), keeping each channel's layer profile intact.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from brainnet.gradient.preferred import _argmax_layer
from brainnet.gradient.resampling import _permutation_p, _quantiles
from brainnet.gradient.tables import _kendall_tau_b, _spearman
from brainnet.log import logger

# Upper bound on the size of the label-indicator block of one resampling chunk;
# bounds memory to ~64 MB whatever the number of channels.
_CHUNK_ELEMENTS = 8_000_000


def _alignment_statistics(
    sig, preferred, rank, layer_index, *, n_bootstrap, n_permutations, ci, boot_rng, perm_rng
):
    """Channel-level alignment tau and rho over ``(band, window)``, with intervals and p-values."""
    n_layer, _, n_band, n_window = sig.shape
    bw_shape = (n_band, n_window)
    visual = rank > 0
    levels, labels = np.unique(rank[visual], return_inverse=True)
    n_visual, n_levels = int(visual.sum()), len(levels)
    out = {
        "n_pairs": sig[:, visual].sum(axis=(0, 1)),
        "n_preferred": (preferred[visual] >= 0).sum(axis=0),
    }
    if n_levels < 2:
        logger.warning(
            "gradient: the visual channels (region_rank > 0) span %d region "
            "rank(s); alignment needs two or more and is left undefined",
            n_levels,
        )
        for name in _ALIGNMENT:
            out[name] = np.full(bw_shape, np.nan)
        return out

    # Per channel, one indicator row over (statistic, layer sorted by index, band, window):
    # significant pairs for tau, the one-hot preferred layer for rho.
    order = np.argsort(layer_index, kind="stable")
    position = np.empty(n_layer, dtype=int)
    position[order] = np.arange(n_layer)
    pairs = sig[order][:, visual].transpose(1, 0, 2, 3)
    pref = preferred[visual]
    pref_sorted = np.where(pref >= 0, position[np.maximum(pref, 0)], -1)
    onehot_pref = pref_sorted[:, None] == np.arange(n_layer)[None, :, None, None]
    indicators = np.stack([pairs, onehot_pref], axis=1).reshape(n_visual, -1).astype(float)
    membership = (labels[:, None] == np.arange(n_levels)).astype(float)  # (channel, level)
    shape = (n_levels, 2, n_layer, n_band, n_window)

    tau, rho = _table_statistics(membership.T @ indicators, shape)
    resampled = {
        kind: _resample(kind, number, labels, membership, indicators, shape, rng)
        for kind, number, rng in (
            ("permutation", n_permutations, perm_rng),
            ("bootstrap", n_bootstrap, boot_rng),
        )
    }
    for stat, observed, index in (("tau", tau, 0), ("rho", rho, 1)):
        low, high = _quantiles(resampled["bootstrap"][index], ci)
        out[f"alignment_{stat}"] = observed
        out[f"alignment_{stat}_low"] = low
        out[f"alignment_{stat}_high"] = high
        out[f"alignment_{stat}_p"] = _permutation_p(observed, resampled["permutation"][index])
    return out


_ALIGNMENT = tuple(
    f"alignment_{stat}{suffix}"
    for stat in ("tau", "rho")
    for suffix in ("", "_low", "_high", "_p")
)


def _table_statistics(tables, shape):
    """Tau-b of the pair tables and rho of the preference tables, each ``(..., band, window)``.

    ``tables`` is ``(..., level, statistic * layer * band * window)``, the
    product of region-rank memberships with the channel indicators.
    """
    tables = tables.reshape(*tables.shape[:-2], *shape)
    tables = np.moveaxis(
        tables, (-5, -3), (-2, -1)
    )  # (..., statistic, band, window, level, layer)
    return _kendall_tau_b(tables[..., 0, :, :, :, :]), _spearman(tables[..., 1, :, :, :, :])


def _resample(kind, n_resamples, labels, membership, indicators, shape, rng):
    """Tau and rho of ``n_resamples`` resampled tables, in memory-bounded chunks.

    A permutation shuffles the region-rank labels across channels; a
    bootstrap resample weights each channel's membership by how often the
    channel is drawn. Either way the resampled table is the product of the
    ``(resample, level, channel)`` weights with the channel indicators.
    """
    n_channels, n_levels = membership.shape
    chunk = max(1, _CHUNK_ELEMENTS // (n_channels * n_levels))
    # Counts below 2**24 are exact in float32, which halves the cost of the product.
    indicators = indicators.astype(np.float32)
    levels = np.arange(n_levels)[:, None]
    taus, rhos = [], []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        if kind == "permutation":
            shuffled = rng.permuted(np.broadcast_to(labels, (size, n_channels)), axis=1)
            weights = shuffled[:, None, :] == levels  # (resample, level, channel)
        else:
            counts = rng.multinomial(n_channels, np.full(n_channels, 1 / n_channels), size=size)
            weights = counts[:, None, :] * membership.T
        # One 2-D product (a single BLAS call) rather than a batched one.
        tables = weights.reshape(size * n_levels, n_channels).astype(np.float32) @ indicators
        tau, rho = _table_statistics(tables.reshape(size, n_levels, -1).astype(float), shape)
        taus.append(tau)
        rhos.append(rho)
    return np.concatenate(taus), np.concatenate(rhos)


def _region_alignment(
    values,
    region,
    regions,
    region_ranks,
    layer_index,
    preferred,
    boot_preferred,
    *,
    n_permutations,
    ci,
    rng,
):
    """Spearman's rho between region rank and each region's preferred layer.

    The region-level view of Guclu and van Gerven (2015): one preferred layer
    per visual region (the argmax of its mean score), correlated with the
    region's rank. The interval comes from the hierarchical bootstrap draws of
    the preferred layers; the permutation null shuffles region labels across
    the visual channels and recomputes region means and preferences.
    """
    shape = values.shape[2:]
    out = {name: np.full(shape, np.nan) for name in _REGION_ALIGNMENT}
    visual = np.asarray(region_ranks) > 0
    if len(np.unique(np.asarray(region_ranks)[visual])) < 3:
        return out  # a rank correlation over fewer than three ranks says nothing
    ranks = stats.rankdata(np.asarray(region_ranks)[visual])
    observed = _rank_correlation(ranks, preferred[visual])
    boot = _rank_correlation(ranks, boot_preferred[:, visual])
    low, high = _quantiles(boot, ci)

    position = {name: i for i, name in enumerate(np.asarray(regions)[visual])}
    channels = np.flatnonzero([name in position for name in region])
    labels = np.array([position[name] for name in region[channels]])
    flat = np.moveaxis(values[:, channels], 1, 0).reshape(len(channels), -1)
    finite = np.isfinite(flat)
    flat = np.where(finite, flat, 0.0)
    null = np.empty((n_permutations, *shape))
    for k in range(n_permutations):
        onehot = (rng.permutation(labels)[:, None] == np.arange(visual.sum())).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (onehot.T @ flat) / (onehot.T @ finite)
        means = means.reshape(visual.sum(), values.shape[0], *shape)  # (region, layer, ...)
        null[k] = _rank_correlation(ranks, _argmax_layer(means, layer_index))
    out.update(
        region_alignment_rho=observed,
        region_alignment_rho_low=low,
        region_alignment_rho_high=high,
        region_alignment_rho_p=_permutation_p(observed, null),
    )
    return out


def _rank_correlation(ranks, preferred):
    """Spearman's rho of ``ranks`` (regions) with ``preferred`` ``(..., region, band, window)``;
    NaN where a region has no preferred layer or all regions prefer the same one."""
    moved = np.moveaxis(preferred, -3, -1)
    y = stats.rankdata(moved, axis=-1)
    y = np.where(np.isnan(moved).any(axis=-1, keepdims=True), np.nan, y)
    x = ranks - ranks.mean()
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (y @ x) / np.sqrt((y**2).sum(-1) * (x**2).sum())


_REGION_ALIGNMENT = tuple(f"region_alignment_rho{s}" for s in ("", "_low", "_high", "_p"))
