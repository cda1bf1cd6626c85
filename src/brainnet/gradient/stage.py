"""The gradient stage: channel scores in, region means and alignment statistics out.

:func:`gradient_statistics` checks its input (:mod:`~brainnet.gradient.inputs`),
draws three independent random streams from ``seed``, aggregates regions
(:mod:`~brainnet.gradient.regions`), measures the alignment
(:mod:`~brainnet.gradient.alignment`) and assembles one Dataset with a
``long_name`` on every variable.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.gradient.alignment import _alignment_statistics, _region_alignment
from brainnet.gradient.describe import describe_gradient, describe_result
from brainnet.gradient.inputs import (
    REGION_METHODS,
    _channel_labels,
    _check_settings,
    _region_order,
    _scores_and_significance,
    _source,
)
from brainnet.gradient.preferred import _channel_preferred
from brainnet.gradient.region_level import (
    _check_region_scores,
    _region_coords,
    _region_level_statistics,
)
from brainnet.gradient.regions import _region_statistics
from brainnet.log import logger, set_log_level

#: Human-readable name (with unit) of each score variable, used on colour bars.
SCORE_LABELS = {
    "r": "held-out Pearson r",
    "r_ceiled": "noise-ceiled Pearson r",
    "rho": "Spearman rho",
    "cka": "CKA",
}


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
    planted_band: tuple[float, float] | None = None,
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
    method : ``"encoding"`` | ``"rsa"`` | ``"rsa_region"`` | ``"cka"``
        Which kind of scores ``scores`` holds: channel-level encoding or RSA
        scores, or region-level RSA scores (``rho``, ``significant`` and
        ``subject_rho`` over regions, :func:`brainnet.rsa.rsa_scores` with
        ``level="region"``; see :mod:`brainnet.gradient.region_level`) or CKA
        scores (``cka``, ``significant`` and ``subject_cka``,
        :func:`brainnet.cka.cka_scores`), treated alike.
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
    planted_band : (float, float) | None
        Frequency range (Hz) of a signal planted into the data (synthetic
        data, reference model): the logged one-line result is then the
        strongest in the bands that overlap it (see
        :func:`~brainnet.gradient.describe_result`). It changes no statistic.
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
        * ``n_preferring``: number of the region's channels (region level:
          subjects) whose preferred layer is this layer;
        * ``tied``: the layers that cannot be told apart from the region's
          preferred layer (see :mod:`brainnet.gradient.preferred`).

        Over ``(region, band, window)``:

        * ``preferred_layer``: ``layer_index`` of the layer with the highest
          region mean, where the region has a significant match (NaN
          elsewhere); ``preferred_layer_low``/``_high`` the span of its tied
          layers, and ``preferred_layer_agreement`` the fraction of bootstrap
          resamples whose best layer is the same;
        * region level only: the noise ceilings of the scores, passed on.

        Over ``(band, window)``:

        * ``alignment_tau`` with ``_low``, ``_high`` (bootstrap over channels)
          and ``_p`` (two-sided permutation p): Kendall's tau-b between
          region rank and layer index over all significant channel-layer
          pairs of visual channels; ``n_pairs`` counts those pairs;
        * ``alignment_rho`` with ``_low``, ``_high``, ``_p``: Spearman's rho
          between region rank and preferred layer over the visual channels
          that have one (a significant layer); ``n_preferred`` counts them;
        * ``region_alignment_rho`` with ``_low``, ``_high``, ``_p``:
          Spearman's rho between region rank and the preferred layers of the
          visual regions that have one.

        The permutation p of an alignment answers "is there a gradient"; its
        bootstrap interval describes how much the estimate would vary with
        other subjects and channels, and may exclude 0 without a gradient.
        At region level the channel statistics are NaN.

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
    _check_settings(method, n_bootstrap, n_permutations, alpha, ci, ceiled)
    settings = {"n_bootstrap": n_bootstrap, "n_permutations": n_permutations, "ci": ci}
    if method in REGION_METHODS:
        score, score_name, region_coords, region_stats, alignment = _region_path(
            scores, method, seed=seed, **settings
        )
    else:
        score, score_name, region_coords, region_stats, alignment = _channel_path(
            scores, method, ceiled=ceiled, alpha=alpha, seed=seed, **settings
        )
    gradient = _gradient_dataset(score, region_coords, region_stats, alignment, score_name)
    names = {"model": model, "dataset": dataset}
    gradient.attrs = _attributes(
        scores, method=method, score_name=score_name, alpha=alpha, seed=seed, **names, **settings
    )
    logger.info(
        "%s: %s", describe_gradient(gradient), describe_result(gradient, planted_band=planted_band)
    )
    return gradient


def _region_path(scores, method, *, n_bootstrap, n_permutations, ci, seed):
    """Region-level RSA or CKA scores: their score, region coordinates and statistics."""
    name = REGION_METHODS[method]
    _check_region_scores(scores, _source(scores, method), name)
    # the order of every gradient: visual regions by rank, then the controls
    order, _ = _region_order(scores["region"].values.astype(str), scores["region_rank"].values)
    scores = scores.sel(region=order)
    score = scores[name]
    logger.info(
        "gradient statistics (%s): %d layers, %d regions, %d bands x %d windows",
        method,
        *(score.sizes[d] for d in ("layer", "region", "band", "window")),
    )
    region_rng, _, perm_rng = _streams(seed)
    region_stats, alignment = _region_level_statistics(
        scores,
        name,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        ci=ci,
        rng_streams=(region_rng, perm_rng),
    )
    return score, name, _region_coords(scores, name), region_stats, alignment


def _channel_path(scores, method, *, ceiled, alpha, n_bootstrap, n_permutations, ci, seed):
    """Channel-level scores: their score, region coordinates and statistics."""
    score, significant, score_name = _scores_and_significance(scores, method, alpha, ceiled)
    labels = _channel_labels(score)
    values = score.to_numpy().astype(float)  # (layer, channel, band, window)
    sig = significant.to_numpy().astype(bool) & np.isfinite(values)
    logger.info(
        "gradient statistics (%s): %d layers, %d channels in %d regions, %d bands x %d windows",
        method,
        values.shape[0],
        values.shape[1],
        len(labels.regions),
        *values.shape[2:],
    )
    region_stats, alignment = _statistics(
        values,
        sig,
        labels,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        ci=ci,
        alpha=alpha,
        seed=seed,
    )
    return score, score_name, _channel_region_coords(labels), region_stats, alignment


def _statistics(values, sig, labels, *, n_bootstrap, n_permutations, ci, alpha, seed):
    """Region and alignment statistics, each drawing from its own stream of ``seed``.

    The region-level alignment continues the permutation stream of the
    channel-level alignment, so the order of the two calls is part of the result.
    """
    region_rng, boot_rng, perm_rng = _streams(seed)
    preferred_channel = _channel_preferred(values, sig)  # (channel, band, window), -1 = none
    region_stats = _region_statistics(
        values,
        sig,
        preferred_channel,
        labels.subject,
        labels.region,
        labels.regions,
        labels.layer_index,
        n_bootstrap=n_bootstrap,
        ci=ci,
        alpha=alpha,
        rng=region_rng,
    )
    alignment = _alignment_statistics(
        sig,
        preferred_channel,
        labels.rank,
        labels.layer_index,
        n_bootstrap=n_bootstrap,
        n_permutations=n_permutations,
        ci=ci,
        boot_rng=boot_rng,
        perm_rng=perm_rng,
    )
    alignment.update(
        _region_alignment(
            np.moveaxis(values, 1, 0),
            _positions(labels.region, labels.regions),
            labels.region_ranks,
            labels.layer_index,
            region_stats["region"]["preferred_layer"],
            region_stats["bootstrap_preferred"],
            n_permutations=n_permutations,
            ci=ci,
            rng=perm_rng,
        )
    )
    return region_stats, alignment


def _positions(names, order):
    """Position of each of ``names`` in ``order``."""
    position = {name: i for i, name in enumerate(order)}
    return np.array([position[name] for name in names], dtype=int)


def _streams(seed):
    """The region, bootstrap and permutation random streams of ``seed``."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


def _channel_region_coords(labels):
    """``region_rank``, ``n_channels`` and ``n_subjects`` of each region of channel scores."""
    region, subject = labels.region, labels.subject
    return {
        "region": labels.regions,
        "region_rank": ("region", labels.region_ranks),
        "n_channels": ("region", [int(np.sum(region == r)) for r in labels.regions]),
        "n_subjects": ("region", [len(np.unique(subject[region == r])) for r in labels.regions]),
    }


def _gradient_dataset(score, region_coords, region_stats, alignment, score_name):
    """The statistics as one Dataset over layer, region, band and window, with descriptions."""
    layer_coords = {
        "layer": score["layer"].to_numpy(),
        "layer_index": ("layer", score["layer_index"].to_numpy()),
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
        if name in gradient:
            gradient[name].attrs["long_name"] = description
    gradient["score"].attrs["units"] = SCORE_LABELS[score_name]
    return gradient


def _attributes(scores, *, method, score_name, model, dataset, **settings):
    """Attributes of the gradient: method, score, settings, and the names of model and dataset."""
    attrs = {
        "method": method,
        "score": score_name,
        "score_label": SCORE_LABELS[score_name],
        # what the stage's ``significant`` controls (RSA names it its criterion)
        "correction": str(scores.attrs.get("correction", scores.attrs.get("criterion", "fdr"))),
        **settings,
    }
    for key, value in (("model", model), ("dataset", dataset)):
        value = value if value is not None else scores.attrs.get(key)
        if value is not None:
            attrs[key] = str(value)
    return attrs


_DESCRIPTIONS = {
    "score": "mean score of the region's channels",
    "score_low": "lower bound of the hierarchical bootstrap interval of score",
    "score_high": "upper bound of the hierarchical bootstrap interval of score",
    "fraction_significant": "fraction of the region's channels significant at this layer",
    "n_preferring": "number of the region's channels whose preferred layer is this layer",
    "tied": "layer not told apart from the preferred layer (bootstrap of the difference)",
    "preferred_layer": "layer_index of the layer with the highest region mean, where the "
    "region has a significant match",
    "preferred_layer_low": "lowest layer_index of the layers tied to the preferred layer",
    "preferred_layer_high": "highest layer_index of the layers tied to the preferred layer",
    "preferred_layer_agreement": "fraction of bootstrap resamples with the same preferred layer",
    "alignment_tau": (
        "pair-level tau: Kendall tau-b of region rank and layer index over significant pairs"
    ),
    "alignment_tau_low": "lower bound of the channel bootstrap interval of alignment_tau",
    "alignment_tau_high": "upper bound of the channel bootstrap interval of alignment_tau",
    "alignment_tau_p": "two-sided permutation p of alignment_tau (region labels shuffled)",
    "alignment_rho": "channel-level rho: Spearman rho of region rank and channel preferred layer",
    "alignment_rho_low": "lower bound of the channel bootstrap interval of alignment_rho",
    "alignment_rho_high": "upper bound of the channel bootstrap interval of alignment_rho",
    "alignment_rho_p": "two-sided permutation p of alignment_rho (region labels shuffled)",
    "region_alignment_rho": (
        "region-level rho: Spearman rho of region rank and the region's preferred layer"
    ),
    "region_alignment_rho_low": "lower bound of the bootstrap interval of region_alignment_rho "
    "(its sampling variability; not a test)",
    "region_alignment_rho_high": "upper bound of the bootstrap interval of region_alignment_rho "
    "(its sampling variability; not a test)",
    "region_alignment_rho_p": "two-sided permutation p of region_alignment_rho: the test of a "
    "gradient",
    "n_pairs": "number of significant channel-layer pairs of visual channels",
    "n_preferred": "number of visual channels with a preferred layer",
}
