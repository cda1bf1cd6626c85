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
    units,
    unit_region,
    region_ranks,
    layer_index,
    preferred,
    boot_preferred,
    *,
    n_permutations,
    ci,
    rng,
):
    """Spearman's rho between region rank and each visual region's preferred layer.

    The region-level view of Guclu and van Gerven (2015): one preferred layer
    per visual region with a significant match, correlated with the region's
    rank; undefined with fewer than three distinct ranks among those regions.
    The interval is the percentile interval of the rho of the bootstrap draws
    of the preferred layers: it describes how much the estimate varies with
    the sample, not whether there is a gradient (a rank correlation of
    argmaxes can vary little without a gradient). The permutation p answers
    that: region labels are shuffled across the units (channels, or subjects'
    region RDMs) of those regions and the preferred layers recomputed from the
    region means.

    Parameters
    ----------
    units : array, shape (unit, layer, band, window)
        Scores of the units that make up the regions (NaN where missing).
    unit_region : array of int, shape (unit,)
        Position of each unit's region in ``region_ranks``.
    region_ranks : array of int, shape (region,)
    preferred : array, shape (region, band, window)
        ``layer_index`` of each region's preferred layer, NaN where unmatched.
    boot_preferred : array, shape (n_bootstrap, region, band, window)
    """
    shape = preferred.shape[1:]
    out = {name: np.full(shape, np.nan) for name in _REGION_ALIGNMENT}
    for b, w in np.ndindex(*shape):
        regions = np.flatnonzero(np.isfinite(preferred[:, b, w]) & (region_ranks > 0))
        if len(np.unique(region_ranks[regions])) < 3:
            continue  # a rank correlation over fewer than three ranks says nothing
        ranks = region_ranks[regions]
        observed = _spearman_rows(ranks, preferred[regions, b, w][None])[0]
        boot = _spearman_rows(ranks, boot_preferred[:, regions, b, w])
        low, high = _quantiles(boot, ci)
        members = np.flatnonzero(np.isin(unit_region, regions))
        labels = np.searchsorted(regions, unit_region[members])
        null = _permuted_alignment(
            units[members, :, b, w], labels, ranks, layer_index, n_permutations, rng
        )
        for name, value in zip(
            _REGION_ALIGNMENT, (observed, low, high, _permutation_p(observed, null)), strict=True
        ):
            out[name][b, w] = value
    return out


def _permuted_alignment(scores, labels, ranks, layer_index, n_permutations, rng):
    """Rho of region rank and the argmax of region means with unit labels shuffled."""
    finite = np.isfinite(scores)
    values = np.where(finite, scores, 0.0)
    shuffled = rng.permuted(np.broadcast_to(labels, (n_permutations, len(labels))), axis=1)
    onehot = (shuffled[:, :, None] == np.arange(len(ranks))).astype(float)  # (perm, unit, region)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.einsum("kur,ul->krl", onehot, values) / np.einsum("kur,ul->krl", onehot, finite)
    best = np.where(np.isfinite(means), means, -np.inf).argmax(axis=-1)
    best = np.where(np.isfinite(means).any(axis=-1), layer_index[best], np.nan)
    return _spearman_rows(ranks, best)


def _spearman_rows(x, rows):
    """Spearman's rho of ``x`` with every row of ``rows``; NaN for rows that are constant
    or hold NaN."""
    return _rank_correlation(stats.rankdata(x), np.asarray(rows, float)[..., None, None])[
        ..., 0, 0
    ]


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
