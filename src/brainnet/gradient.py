"""Region aggregation, preferred layers and alignment statistics.

This stage turns channel-level similarity scores (encoding or RSA) into the
layer-by-region map and the gradient statistics of the two reference studies:

* Kuzovkin et al. 2018: the *alignment* is Kendall's tau-b between the region
  rank of a channel and the layer index over all significant channel-layer
  pairs (each pair is one ``(region_rank, layer_index)`` observation);
* Guclu and van Gerven 2015: each channel is assigned its *preferred layer*
  (the significant layer with the highest score) and the assigned layer should
  rise with the region rank (Spearman's rho over channels).

Both statistics only depend on a small contingency table of counts (region
rank by layer), so the permutation null distribution and the bootstrap are
computed as batched matrix products of label indicators with the
channel-by-layer indicators instead of calling :func:`scipy.stats.kendalltau`
once per resample (see ``benchmarks/gradient.py`` for the speed-up and
``tests/test_gradient.py`` for the agreement with SciPy).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr
from scipy import stats

from brainnet.log import logger, set_log_level

__all__ = ["gradient_statistics", "planted_layer_index", "describe_gradient", "SCORE_LABELS"]

DIMS = ("layer", "channel", "band", "window")

#: Human-readable name (with unit) of each score variable, used on colour bars.
SCORE_LABELS = {
    "r": "held-out Pearson r",
    "r_ceiled": "noise-ceiled Pearson r",
    "rho": "Spearman rho",
}

# Upper bound on the size of the label-indicator block of one resampling chunk;
# bounds memory to ~64 MB whatever the number of channels.
_CHUNK_ELEMENTS = 8_000_000


def gradient_statistics(
    scores: xr.Dataset,
    *,
    method: str,
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    alpha: float = 0.05,
    ci: float = 0.95,
    ceiled: bool = False,
    seed: int = 0,
    model: str | None = None,
    dataset: str | None = None,
    verbose: bool | str | None = None,
) -> xr.Dataset:
    """Aggregate channel scores by region and measure the layer gradient.

    Parameters
    ----------
    scores : xarray.Dataset
        Channel-level scores with dims ``(layer, channel, band, window)``.
        For ``method="encoding"``: variables ``r`` (held-out Pearson r; or
        ``r_ceiled`` with ``ceiled=True``); for ``method="rsa"``: ``rho``.
        A layer counts as significant for a channel where the boolean
        ``significant`` is true (as written by the scoring stage); without
        it, where ``p_fdr <= alpha`` (encoding) or ``p <= alpha`` (RSA).
        Required coordinates: ``layer_index`` on ``layer``;
        ``subject``, ``region`` and ``region_rank`` on ``channel``
        (``region_rank`` 0 marks channels outside the visual hierarchy: they
        get region means but are left out of the alignment statistics).
        Variables over other dims (e.g. region-level RSA) are ignored.
    method : ``"encoding"`` | ``"rsa"``
        Which kind of scores ``scores`` holds.
    n_bootstrap : int
        Bootstrap resamples for every confidence interval.
    n_permutations : int
        Permutations of the region labels across channels for the p-values
        of the alignment statistics.
    alpha : float
        Significance level applied to ``p_fdr`` (encoding) or ``p`` (RSA)
        when ``scores`` has no ``significant`` variable.
    ci : float
        Coverage of the percentile bootstrap intervals.
    ceiled : bool
        Use the noise-ceiled ``r_ceiled`` instead of ``r`` (encoding only).
    seed : int
        Seed of every random step; equal seeds give identical results.
    model, dataset : str | None
        Names stored in the attributes; default to ``scores.attrs``.
    verbose : bool | str | None
        Logging level (see :func:`brainnet.set_log_level`).

    Returns
    -------
    gradient : xarray.Dataset
        Over ``(layer, region, band, window)``:

        * ``score``, ``score_low``, ``score_high``: mean score of the region's
          channels pooled over subjects, with a hierarchical bootstrap interval
          (subjects resampled, then channels within each drawn subject);
        * ``fraction_significant``: fraction of the region's channels for
          which the layer is significant;
        * ``n_preferring``: number of the region's channels whose preferred
          layer is this layer.

        Over ``(region, band, window)``:

        * ``preferred_layer``: ``layer_index`` of the layer with the highest
          region mean (NaN when the region has no finite score);
          ``preferred_layer_low``/``_high`` its bootstrap interval and
          ``preferred_layer_agreement`` the fraction of bootstrap resamples
          that pick the same layer.

        Over ``(band, window)``:

        * ``alignment_tau`` with ``_low``, ``_high`` (bootstrap over channels)
          and ``_p`` (two-sided permutation p): Kendall's tau-b between
          region rank and layer index over all significant channel-layer
          pairs of visual channels; ``n_pairs`` counts those pairs;
        * ``alignment_rho`` with ``_low``, ``_high``, ``_p``: Spearman's rho
          between region rank and preferred layer over the visual channels
          that have one (a significant layer); ``n_preferred`` counts them.

        Region coordinates: ``region_rank``, ``n_channels``, ``n_subjects``.
        Attributes: ``method``, ``model``, ``dataset``, ``score`` (variable
        used), ``score_label``, and the settings.

    Notes
    -----
    A channel's preferred layer is the argmax of its score among its
    significant layers; a channel with no significant layer has none. The
    permutation null shuffles region labels across the visual channels
    (``region_rank > 0``), keeping each channel's layer profile intact; the
    same permutations serve every band and window, as do the bootstrap draws.
    With many (sliding) windows every statistic is a time course over
    ``window``.
    """
    set_log_level(verbose)
    _check_settings(method, n_bootstrap, n_permutations, alpha, ci)
    score, significant, score_name = _scores_and_significance(scores, method, alpha, ceiled)
    layer_index = score["layer_index"].to_numpy()
    subject = score["subject"].to_numpy().astype(str)
    region = score["region"].to_numpy().astype(str)
    rank = score["region_rank"].to_numpy()
    regions, region_ranks = _region_order(region, rank)

    values = score.to_numpy().astype(float)  # (layer, channel, band, window)
    sig = significant.to_numpy().astype(bool) & np.isfinite(values)
    n_layer, n_channel, n_band, n_window = values.shape
    logger.info(
        "gradient statistics (%s): %d layers, %d channels in %d regions, %d bands x %d windows",
        method,
        n_layer,
        n_channel,
        len(regions),
        n_band,
        n_window,
    )
    region_rng, boot_rng, perm_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )

    preferred_channel = _channel_preferred(values, sig)  # (channel, band, window), -1 = none
    region_stats = _region_statistics(
        values,
        sig,
        preferred_channel,
        subject,
        region,
        regions,
        layer_index,
        n_bootstrap=n_bootstrap,
        ci=ci,
        rng=region_rng,
    )
    alignment = _alignment_statistics(
        sig,
        preferred_channel,
        rank,
        layer_index,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        ci=ci,
        boot_rng=boot_rng,
        perm_rng=perm_rng,
    )

    alignment.update(
        _region_alignment(
            values,
            region,
            regions,
            region_ranks,
            layer_index,
            region_stats["region"]["preferred_layer"],
            region_stats["bootstrap_preferred"],
            n_permutations=n_permutations,
            ci=ci,
            rng=perm_rng,
        )
    )
    layer_coords = {"layer": score["layer"].to_numpy(), "layer_index": ("layer", layer_index)}
    region_coords = {
        "region": regions,
        "region_rank": ("region", region_ranks),
        "n_channels": ("region", [int(np.sum(region == r)) for r in regions]),
        "n_subjects": ("region", [len(np.unique(subject[region == r])) for r in regions]),
    }
    band_window_coords = {
        name: coord.variable
        for name, coord in score.coords.items()
        if set(coord.dims) <= {"band", "window"}
    }
    lrbw = ("layer", "region", "band", "window")
    rbw = ("region", "band", "window")
    bw = ("band", "window")
    data_vars = {name: (lrbw, arr) for name, arr in region_stats["layer_region"].items()}
    data_vars.update({name: (rbw, arr) for name, arr in region_stats["region"].items()})
    data_vars.update({name: (bw, arr) for name, arr in alignment.items()})
    gradient = xr.Dataset(
        data_vars, coords={**layer_coords, **region_coords, **band_window_coords}
    )
    for name, description in _DESCRIPTIONS.items():
        gradient[name].attrs["long_name"] = description
    gradient["score"].attrs["units"] = SCORE_LABELS[score_name]

    gradient.attrs = {
        "method": method,
        "score": score_name,
        "score_label": SCORE_LABELS[score_name],
        "n_bootstrap": n_bootstrap,
        "n_permutations": n_permutations,
        "alpha": alpha,
        "ci": ci,
        "seed": seed,
    }
    for key, value in (("model", model), ("dataset", dataset)):
        value = value if value is not None else scores.attrs.get(key)
        if value is not None:
            gradient.attrs[key] = str(value)
    _log_summary(gradient)
    return gradient


def planted_layer_index(gradient: xr.Dataset, planted: Mapping[str, str]) -> dict[str, int]:
    """Translate a ground truth of layer names per region into ``layer_index``.

    Parameters
    ----------
    gradient : xarray.Dataset
        Output of :func:`gradient_statistics`.
    planted : mapping of str to str
        Region name to the name of the layer planted in it (synthetic data).

    Returns
    -------
    index : dict of str to int
        ``layer_index`` of the planted layer per region, in the gradient's
        region order (comparable with ``preferred_layer``).

    Raises
    ------
    ValueError
        When a region or a layer of ``planted`` is not in ``gradient``.
    """
    name = describe_gradient(gradient)
    regions = [str(r) for r in gradient["region"].values]
    layers = [str(layer) for layer in gradient["layer"].values]
    unknown = sorted(set(planted) - set(regions))
    if unknown:
        raise ValueError(f"planted regions {unknown} are not in {name}; it has {regions}")
    unknown = sorted({str(layer) for layer in planted.values()} - set(layers))
    if unknown:
        raise ValueError(f"planted layers {unknown} are not in {name}; it has {layers}")
    index = dict(zip(layers, gradient["layer_index"].values.tolist(), strict=True))
    return {region: int(index[str(planted[region])]) for region in regions if region in planted}


def describe_gradient(gradient: xr.Dataset) -> str:
    """Short description of a gradient Dataset for messages, from its attributes."""
    attrs = gradient.attrs
    described = ", ".join(
        f"{key}={attrs[key]!r}" for key in ("dataset", "model", "method") if key in attrs
    )
    return f"gradient ({described})" if described else "gradient"


_DESCRIPTIONS = {
    "score": "mean score of the region's channels",
    "score_low": "lower bound of the hierarchical bootstrap interval of score",
    "score_high": "upper bound of the hierarchical bootstrap interval of score",
    "fraction_significant": "fraction of the region's channels significant at this layer",
    "n_preferring": "number of the region's channels whose preferred layer is this layer",
    "preferred_layer": "layer_index of the layer with the highest region mean",
    "preferred_layer_low": "lower bound of the bootstrap interval of preferred_layer",
    "preferred_layer_high": "upper bound of the bootstrap interval of preferred_layer",
    "preferred_layer_agreement": "fraction of bootstrap resamples with the same preferred layer",
    "alignment_tau": "Kendall tau-b of region rank and layer index over significant pairs",
    "alignment_tau_low": "lower bound of the channel bootstrap interval of alignment_tau",
    "alignment_tau_high": "upper bound of the channel bootstrap interval of alignment_tau",
    "alignment_tau_p": "two-sided permutation p of alignment_tau (region labels shuffled)",
    "alignment_rho": "Spearman rho of region rank and channel preferred layer",
    "alignment_rho_low": "lower bound of the channel bootstrap interval of alignment_rho",
    "alignment_rho_high": "upper bound of the channel bootstrap interval of alignment_rho",
    "alignment_rho_p": "two-sided permutation p of alignment_rho (region labels shuffled)",
    "region_alignment_rho": "Spearman rho of region rank and the region's preferred layer",
    "region_alignment_rho_low": "lower bound of the bootstrap interval of region_alignment_rho",
    "region_alignment_rho_high": "upper bound of the bootstrap interval of region_alignment_rho",
    "region_alignment_rho_p": "two-sided permutation p of region_alignment_rho",
    "n_pairs": "number of significant channel-layer pairs of visual channels",
    "n_preferred": "number of visual channels with a preferred layer",
}


def _check_settings(method, n_bootstrap, n_permutations, alpha, ci):
    if method not in ("encoding", "rsa"):
        raise ValueError(f"gradient: method must be 'encoding' or 'rsa', got {method!r}")
    for name, value in (("n_bootstrap", n_bootstrap), ("n_permutations", n_permutations)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"gradient: {name} must be a positive integer, got {value!r}")
    for name, value in (("alpha", alpha), ("ci", ci)):
        if not 0 < value < 1:
            raise ValueError(f"gradient: {name} must lie strictly between 0 and 1, got {value!r}")


def _scores_and_significance(scores, method, alpha, ceiled):
    """Adapter: the score and significance arrays of encoding or RSA results."""
    if not isinstance(scores, xr.Dataset):
        raise TypeError(f"gradient: scores must be an xarray.Dataset, got {type(scores).__name__}")
    source = f"{method} scores" + "".join(
        f" {key}={scores.attrs[key]!r}" for key in ("dataset", "model") if key in scores.attrs
    )
    if ceiled and method != "encoding":
        raise ValueError("gradient: ceiled=True applies to encoding scores only")
    score_name = {"encoding": "r_ceiled" if ceiled else "r", "rsa": "rho"}[method]
    if "significant" in scores.data_vars:
        _require_vars(scores, (score_name,), source)
        significant = scores["significant"].astype(bool)
    else:
        p_name = {"encoding": "p_fdr", "rsa": "p"}[method]
        _require_vars(scores, (score_name, p_name), source)
        logger.info("%s has no 'significant' variable: using %s <= %g", source, p_name, alpha)
        significant = scores[p_name] <= alpha
    score = scores[score_name]
    for name, arr in ((score_name, score), ("significance", significant)):
        if set(arr.dims) != set(DIMS):
            hint = (
                " (region-level scores: gradient statistics need channel-level ones, "
                "e.g. rsa level='channel')"
                if "region" in arr.dims
                else ""
            )
            raise ValueError(
                f"gradient: {source} variable {name!r} has dims {arr.dims}, "
                f"expected {DIMS}; missing {sorted(set(DIMS) - set(arr.dims))}{hint}"
            )
    score = score.transpose(*DIMS)
    significant = significant.transpose(*DIMS)
    if score.sizes["layer"] == 0:
        raise ValueError(f"gradient: {source} has no layers (empty 'layer' dimension)")
    if score.sizes["channel"] == 0:
        raise ValueError(f"gradient: {source} has no channels (empty 'channel' dimension)")
    for coord, dim in (
        ("layer_index", "layer"),
        ("subject", "channel"),
        ("region", "channel"),
        ("region_rank", "channel"),
    ):
        if coord not in score.coords or score[coord].dims != (dim,):
            raise ValueError(
                f"gradient: {source} lacks the coordinate {coord!r} on dimension {dim!r}; "
                f"it has coordinates {sorted(score.coords)}"
            )
    return score, significant, score_name


def _require_vars(scores, names, source):
    missing = [name for name in names if name not in scores.data_vars]
    if missing:
        raise KeyError(
            f"gradient: {source} lacks variable(s) {missing}; it holds {sorted(scores.data_vars)}"
        )


def _region_order(region, rank):
    """Regions ordered by rank (visual hierarchy first), rank-0 regions last by name."""
    ranks = {}
    for name in map(str, np.unique(region)):
        found = np.unique(rank[region == name])
        if len(found) != 1:
            raise ValueError(
                f"gradient: region {name!r} has channels with different region_rank {found}"
            )
        if found[0] < 0:
            raise ValueError(f"gradient: region {name!r} has a negative region_rank {found[0]}")
        ranks[name] = int(found[0])
    regions = sorted(ranks, key=lambda name: (ranks[name] == 0, ranks[name], name))
    return np.array(regions), np.array([ranks[name] for name in regions])


def _channel_preferred(values, sig):
    """Position (along ``layer``) of each channel's best significant layer, -1 when none."""
    masked = np.where(sig, values, -np.inf)
    best = masked.argmax(axis=0)
    return np.where(sig.any(axis=0), best, -1)


def _hierarchical_weights(subject, n_bootstrap, rng):
    """How often each channel is drawn in each resample, shape ``(n_bootstrap, n_channels)``.

    Subjects are drawn with replacement, then for every drawn subject as many
    channels as it has are drawn with replacement from its own channels.
    Drawing ``k * n`` channels at once for a subject drawn ``k`` times is the
    same distribution as ``k`` separate draws of ``n``.
    """
    names, inverse = np.unique(subject, return_inverse=True)
    n_subjects = len(names)
    subject_draws = rng.multinomial(
        n_subjects, np.full(n_subjects, 1 / n_subjects), size=n_bootstrap
    )
    weights = np.zeros((n_bootstrap, len(subject)))
    for s in range(n_subjects):
        members = np.flatnonzero(inverse == s)
        weights[:, members] = rng.multinomial(
            subject_draws[:, s] * len(members), np.full(len(members), 1 / len(members))
        )
    return weights


def _quantiles(samples, ci, method="linear"):
    """Percentile interval over the first axis, ignoring NaN resamples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        return np.nanquantile(samples, [(1 - ci) / 2, (1 + ci) / 2], axis=0, method=method)


def _argmax_layer(means, layer_index):
    """``layer_index`` of the maximum over axis -3 (layer), NaN where all values are NaN."""
    finite = np.isfinite(means)
    best = np.where(finite, means, -np.inf).argmax(axis=-3)
    return np.where(finite.any(axis=-3), layer_index[best].astype(float), np.nan)


def _region_statistics(
    values, sig, preferred, subject, region, regions, layer_index, *, n_bootstrap, ci, rng
):
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


_PREFERRED = (
    "preferred_layer",
    "preferred_layer_low",
    "preferred_layer_high",
    "preferred_layer_agreement",
)


def _alignment_statistics(
    sig, preferred, rank, layer_index, *, n_bootstrap, n_permutations, ci, boot_rng, perm_rng
):
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


def _kendall_tau_b(table):
    """Kendall's tau-b of the row and column orders of a contingency table.

    ``table`` has shape ``(..., rows, columns)`` and holds counts of
    observations; equals :func:`scipy.stats.kendalltau` (variant ``"b"``) on
    the expanded observations, and is NaN when either variable is constant.
    """
    rows, cols = table.shape[-2:]
    # ge[i, j]: observations in rows >= i and columns >= j; le_col: rows >= i, columns <= j.
    ge = np.flip(np.flip(table, (-2, -1)).cumsum(-2).cumsum(-1), (-2, -1))
    le_col = np.flip(np.flip(table, -2).cumsum(-2), -2).cumsum(-1)
    later = np.zeros_like(table)
    later[..., : rows - 1, : cols - 1] = ge[..., 1:, 1:]  # rows > i, columns > j
    earlier = np.zeros_like(table)
    earlier[..., : rows - 1, 1:] = le_col[..., 1:, : cols - 1]  # rows > i, columns < j
    concordant = (table * later).sum((-2, -1))
    discordant = (table * earlier).sum((-2, -1))
    n = table.sum((-2, -1))
    row_ties = _tied_pairs(table.sum(-1))
    col_ties = _tied_pairs(table.sum(-2))
    total = n * (n - 1) / 2
    denominator = np.sqrt(np.maximum(total - row_ties, 0) * np.maximum(total - col_ties, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (concordant - discordant) / denominator, np.nan)


def _tied_pairs(margin):
    return (margin * (margin - 1) / 2).sum(-1)


def _spearman(table):
    """Spearman's rho (average ranks for ties) of a contingency table ``(..., rows, columns)``."""
    n = table.sum((-2, -1))[..., None]
    row_n, col_n = table.sum(-1), table.sum(-2)
    mid = (n + 1) / 2
    row_rank = row_n.cumsum(-1) - row_n + (row_n + 1) / 2 - mid
    col_rank = col_n.cumsum(-1) - col_n + (col_n + 1) / 2 - mid
    covariance = np.einsum("...i,...ij,...j->...", row_rank, table, col_rank)
    variance = (row_n * row_rank**2).sum(-1) * (col_n * col_rank**2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(variance > 0, covariance / np.sqrt(variance), np.nan)


def _permutation_p(observed, null):
    """Two-sided permutation p, ``(1 + #|null| >= |observed|) / (1 + n)``; NaN when undefined."""
    # A relative tolerance keeps permutations that reproduce the observed table exactly
    # (ties in floating point) on the conservative side.
    exceed = np.abs(null) >= np.abs(observed) * (1 - 1e-9)
    p = (1 + exceed.sum(axis=0)) / (1 + null.shape[0])
    return np.where(np.isfinite(observed), p, np.nan)


def _log_summary(gradient):
    tau = gradient["alignment_tau"]
    if tau.isnull().all():
        return
    best = gradient.isel(tau.fillna(-np.inf).argmax(...))
    logger.info(
        "largest alignment tau = %.3f [%.3f, %.3f], p = %.3g (%s, %s; %d significant pairs)",
        best["alignment_tau"],
        best["alignment_tau_low"],
        best["alignment_tau_high"],
        best["alignment_tau_p"],
        best["band"].item(),
        best["window"].item(),
        best["n_pairs"],
    )
