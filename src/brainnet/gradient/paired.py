"""Paired comparison of two models scored on the same channels.

For two models of one dataset (their ``encoding.nc`` or ``rsa.nc``), for each
region, band and window:

* ``peak_score``: the region's mean score at its preferred layer, that is the
  highest region mean over layers (the maximum over ``layer`` of the
  gradient's ``score``). It needs no layer in common, so any two models
  compare, whatever their architectures;
* ``region_alignment_rho`` (over band and window): Spearman's rho between
  region rank and each visual region's preferred layer, as in the gradient.

Each model's value, the difference (model A minus model B), and:

* a paired hierarchical bootstrap interval: one set of resamples (subjects
  drawn with replacement, then channels with replacement within each drawn
  subject, :func:`~brainnet.gradient.resampling._hierarchical_weights`)
  weights the channels of *both* models, and the difference is recomputed,
  preferred layers included, in every resample;
* a two-sided paired permutation p: each permutation exchanges the two
  models' scores (a channel's whole layer profile) on a random half of the
  exchange units (every channel, or every subject: ``exchange``), and the
  difference of the two pseudo-models is recomputed. The same swaps serve
  every region, band, window and statistic, as the same resamples do.

Two architectures rarely share layers, yet a pseudo-model mixes the profiles
of both. The profiles are therefore placed on a common axis of relative depth
(a layer's position in ``layer_index`` order over the number of layers minus
one) and linearly interpolated onto the union of both models' depths. On that
axis each model's own region means at its own layers are unchanged and an
interpolated point never exceeds its neighbours, so the observed values are
those of :func:`~brainnet.gradient.gradient_statistics`; models with the same
layers compare layer by layer, without interpolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr
from scipy import stats

from brainnet.gradient.alignment import _CHUNK_ELEMENTS, _rank_correlation
from brainnet.gradient.inputs import _channel_labels, _scores_and_significance
from brainnet.gradient.preferred import _argmax_layer
from brainnet.gradient.resampling import _hierarchical_weights, _permutation_p, _quantiles
from brainnet.log import logger, set_log_level

__all__ = ["paired_comparison", "EXCHANGE_UNITS"]

#: What a permutation exchanges between the two models: each channel's scores
#: independently, or all channels of a subject together.
EXCHANGE_UNITS = ("channel", "subject")

_STATISTICS = ("peak_score", "region_alignment_rho")


class _Paired(NamedTuple):
    """The two models' scores on a common depth axis, with the channel labels.

    Each model's scores are held as ``(channel, region * grid * band *
    window)`` blocks, zero outside the channel's own region and where the
    score is NaN, with the matching finite mask as floats: the weighted sums
    and counts of every region at once are then one matrix product each.
    """

    a: tuple[np.ndarray, np.ndarray]
    b: tuple[np.ndarray, np.ndarray]
    shape: tuple  # (region, grid, band, window)
    visual: np.ndarray  # bool per region: region_rank > 0
    ranks: np.ndarray  # ranks of the visual regions' region_rank
    depth: np.ndarray  # (grid,) relative depth of the common axis
    labels: object  # brainnet.gradient.inputs._Labels of model A's channels


def paired_comparison(
    scores_a: xr.Dataset,
    scores_b: xr.Dataset,
    *,
    method: str,
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    ci: float = 0.95,
    exchange: str = "channel",
    ceiled: bool = False,
    seed: int = 0,
    stimulus_ids: tuple[Sequence[str], Sequence[str]] | None = None,
    model_a: str | None = None,
    model_b: str | None = None,
    verbose: bool | str | None = None,
) -> xr.Dataset:
    """Differences of region means and of region-level alignment between two models.

    Parameters
    ----------
    scores_a, scores_b : xarray.Dataset
        Channel-level scores of the two models on the same channels, bands
        and windows, as read by :func:`~brainnet.gradient.gradient_statistics`
        (``r`` or ``r_ceiled`` for encoding, ``rho`` for RSA, over ``(layer,
        channel, band, window)``). Their layers may differ.
    method : ``"encoding"`` | ``"rsa"``
        Which kind of scores both hold.
    n_bootstrap : int
        Paired hierarchical bootstrap resamples of every interval.
    n_permutations : int
        Paired permutations (random model-label swaps) of every p-value.
    ci : float
        Coverage of the percentile bootstrap intervals.
    exchange : ``"channel"`` | ``"subject"``
        The unit whose two scores a permutation swaps. ``"channel"`` tests the
        sharp null that the two models are interchangeable on every channel,
        exactly whatever the dependence between channels; ``"subject"``
        swaps all channels of a subject together, which also holds when the
        difference varies from subject to subject, but gives only
        ``2 ** n_subjects`` distinct swaps (with 4 subjects no p falls below
        0.125).
    ceiled : bool
        Compare the noise-ceiled ``r_ceiled`` (encoding only).
    seed : int
        Seed of the resamples and swaps; the same seed gives the same draws
        for every pair of models of a dataset.
    stimulus_ids : (sequence of str, sequence of str) | None
        The ``stimulus_id`` values each model's scores were computed on (for
        example those of its activations); refused when they differ.
    model_a, model_b : str | None
        Names of the models; default to ``scores.attrs["model"]``.
    verbose : bool | str | None
        Logging level (see :func:`brainnet.set_log_level`).

    Returns
    -------
    comparison : xarray.Dataset
        Over ``(region, band, window)``: ``peak_score_a``, ``peak_score_b``,
        ``peak_score_difference`` (A minus B) with ``_low``, ``_high`` and
        ``_p``. Over ``(band, window)``: ``region_alignment_rho_a``, ``_b``,
        ``region_alignment_rho_difference`` with ``_low``, ``_high``, ``_p``
        (NaN with fewer than three visual region ranks). Region coordinates
        ``region_rank``, ``n_channels``, ``n_subjects``; attributes
        ``model_a``, ``model_b``, ``method``, ``score``, ``layer_axis``
        (``"shared layers"`` or ``"relative depth"``) and the settings.

    Raises
    ------
    ValueError
        When the two models' channels (names, subjects, regions or ranks),
        bands, windows or stimuli differ, naming them; or a setting is invalid.

    Notes
    -----
    One bootstrap resample draws subjects over the whole dataset, then
    channels within each drawn subject, and serves every region at once (the
    gradient draws each region's subjects on its own): a region whose
    subjects are all left out of a resample has no value there, and its
    interval comes from the other resamples. Channels are matched by name,
    so their order may differ between the two models.
    """
    set_log_level(verbose)
    _check_paired_settings(n_bootstrap, n_permutations, ci, exchange)
    names = (
        str(model_a or scores_a.attrs.get("model", "A")),
        str(model_b or scores_b.attrs.get("model", "B")),
    )
    if stimulus_ids is not None:
        _check_stimuli(*stimulus_ids, names)
    score_a, score_name = _score(scores_a, method, ceiled)
    score_b, _ = _score(scores_b, method, ceiled)
    score_b = _aligned(score_a, score_b, names)
    paired = _common_axis(score_a, score_b)
    logger.info(
        "paired comparison (%s): %s - %s on %d channels in %d regions, layers on %s",
        method,
        *names,
        score_a.sizes["channel"],
        paired.shape[0],
        _layer_axis(score_a, score_b),
    )
    boot_rng, perm_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    n_channels = score_a.sizes["channel"]
    ones, zeros = np.ones((1, n_channels)), np.zeros((1, n_channels))
    observed = _differences(paired, (ones, zeros), (zeros, ones))
    boot = _hierarchical_weights(paired.labels.subject, n_bootstrap, boot_rng)
    swaps = _swaps(paired.labels.subject, exchange, n_permutations, perm_rng)
    resampled = {
        "bootstrap": _chunked(paired, boot, lambda w: ((w, 0 * w), (0 * w, w))),
        "permutation": _chunked(paired, swaps, lambda s: ((1 - s, s), (s, 1 - s))),
    }
    out = {}
    for stat in _STATISTICS:
        low, high = _quantiles(resampled["bootstrap"][stat], ci)
        out.update(
            {
                f"{stat}_a": observed[f"{stat}_a"][0],
                f"{stat}_b": observed[f"{stat}_b"][0],
                f"{stat}_difference": observed[stat][0],
                f"{stat}_difference_low": low,
                f"{stat}_difference_high": high,
                f"{stat}_difference_p": _permutation_p(
                    observed[stat][0], resampled["permutation"][stat]
                ),
            }
        )
    comparison = _comparison_dataset(score_a, paired.labels, out)
    comparison.attrs = {
        "model_a": names[0],
        "model_b": names[1],
        "method": method,
        "score": score_name,
        "layer_axis": _layer_axis(score_a, score_b),
        "n_bootstrap": n_bootstrap,
        "n_permutations": n_permutations,
        "ci": ci,
        "exchange": exchange,
        "seed": seed,
    }
    return comparison


def _check_paired_settings(n_bootstrap, n_permutations, ci, exchange):
    for name, value in (("n_bootstrap", n_bootstrap), ("n_permutations", n_permutations)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"paired comparison: {name} must be a positive integer, got {value!r}"
            )
    if not 0 < ci < 1:
        raise ValueError(f"paired comparison: ci must lie strictly between 0 and 1, got {ci!r}")
    if exchange not in EXCHANGE_UNITS:
        raise ValueError(
            f"paired comparison: exchange must be one of {list(EXCHANGE_UNITS)}, got {exchange!r}"
        )


def _check_stimuli(ids_a, ids_b, names):
    ids_a, ids_b = set(map(str, ids_a)), set(map(str, ids_b))
    if ids_a != ids_b:
        raise ValueError(
            f"paired comparison: the stimuli of {names[0]!r} and {names[1]!r} differ: "
            f"only {names[0]!r} has {_some(ids_a - ids_b)}, only {names[1]!r} has "
            f"{_some(ids_b - ids_a)}; both models must be scored on the same stimuli"
        )


def _some(names, limit=5):
    """Up to ``limit`` sorted names, and how many more."""
    names = sorted(map(str, names))
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return f"{names[:limit]}{more}"


def _score(scores, method, ceiled):
    """The ``(layer, channel, band, window)`` score of a model, checked as the gradient does."""
    # alpha only matters to the significance, which the paired comparison does not use
    score, _, score_name = _scores_and_significance(scores, method, 0.05, ceiled)
    return score, score_name


def _aligned(score_a, score_b, names):
    """``score_b`` in the channel, band and window order of ``score_a``; refused if they differ."""
    for dim in ("channel", "band", "window"):
        labels_a = [str(v) for v in score_a[dim].values]
        labels_b = [str(v) for v in score_b[dim].values]
        if set(labels_a) != set(labels_b) or len(labels_a) != len(labels_b):
            raise ValueError(
                f"paired comparison: the {dim}s of {names[0]!r} and {names[1]!r} differ: "
                f"only {names[0]!r} has {_some(set(labels_a) - set(labels_b))}, only "
                f"{names[1]!r} has {_some(set(labels_b) - set(labels_a))}"
            )
    score_b = score_b.sel({dim: score_a[dim].to_numpy() for dim in ("channel", "band", "window")})
    for coord in ("subject", "region", "region_rank"):
        differ = score_a[coord].to_numpy().astype(str) != score_b[coord].to_numpy().astype(str)
        if differ.any():
            channels = score_a["channel"].to_numpy()[differ]
            raise ValueError(
                f"paired comparison: {names[0]!r} and {names[1]!r} give channel(s) "
                f"{_some(channels.astype(str))} a different {coord!r}"
            )
    return score_b


def _layer_axis(score_a, score_b):
    same = list(score_a["layer"].values) == list(score_b["layer"].values)
    return "shared layers" if same else "relative depth"


def _relative_depth(layer_index):
    """Each layer's position in ``layer_index`` order over (number of layers - 1)."""
    position = stats.rankdata(layer_index, method="ordinal") - 1.0
    return position / max(len(layer_index) - 1, 1)


def _on_grid(values, depth, grid):
    """Layer profiles ``(layer, ...)`` linearly interpolated from ``depth`` onto ``grid``.

    A grid point next to a NaN layer is NaN.
    """
    order = np.argsort(depth)
    # weights[g, l]: the share of layer l in grid point g (the interpolation of one-hot profiles)
    weights = np.stack(
        [np.interp(grid, depth[order], onehot) for onehot in np.eye(len(depth))], axis=1
    )
    weights[:, order] = weights.copy()
    finite = np.isfinite(values)
    flat = np.where(finite, values, 0.0).reshape(len(depth), -1)
    missing = ((weights > 0) @ ~finite.reshape(len(depth), -1)) > 0
    out = np.where(missing, np.nan, weights @ flat)
    return out.reshape(len(grid), *values.shape[1:])


def _common_axis(score_a, score_b):
    """Both models' scores on the union of their relative depths, with the region labels."""
    labels = _channel_labels(score_a)
    depth_a = _relative_depth(score_a["layer_index"].to_numpy())
    depth_b = _relative_depth(score_b["layer_index"].to_numpy())
    grid = np.union1d(depth_a, depth_b)
    visual = labels.region_ranks > 0
    if len(np.unique(labels.region_ranks[visual])) >= 3:
        ranks = stats.rankdata(labels.region_ranks[visual])
    else:  # a rank correlation over fewer than three ranks says nothing
        ranks = None
    membership = labels.region[:, None] == labels.regions[None, :]  # (channel, region)
    a = _on_grid(score_a.to_numpy().astype(float), depth_a, grid)
    b = _on_grid(score_b.to_numpy().astype(float), depth_b, grid)
    return _Paired(
        a=_blocks(a, membership),
        b=_blocks(b, membership),
        shape=(len(labels.regions), len(grid), *a.shape[2:]),
        visual=visual,
        ranks=ranks,
        depth=grid,
        labels=labels,
    )


def _blocks(values, membership):
    """``(grid, channel, ...)`` scores as ``(channel, region * rest)`` blocks and finite mask."""
    values = np.moveaxis(values, 1, 0).reshape(values.shape[1], 1, -1)
    finite = np.isfinite(values) & membership[:, :, None]
    n_channels = len(membership)
    return (
        np.where(finite, values, 0.0).reshape(n_channels, -1),
        finite.reshape(n_channels, -1).astype(float),
    )


def _swaps(subject, exchange, n_permutations, rng):
    """``(permutation, channel)`` 1 where the two models' scores are exchanged, else 0."""
    if exchange == "channel":
        unit = np.arange(len(subject))
    else:
        _, unit = np.unique(subject, return_inverse=True)
    flips = rng.integers(0, 2, size=(n_permutations, unit.max() + 1))
    return flips[:, unit].astype(float)


def _chunked(paired, draws, pseudo_models):
    """The differences for every row of ``draws``, in memory-bounded chunks.

    ``pseudo_models`` maps a chunk of draws to the channel weights of the two
    pseudo-models, ``((A's weight on A, on B), (B's weight on A, on B))``.
    """
    per_draw = paired.a[0].shape[1]
    chunk = max(1, _CHUNK_ELEMENTS // per_draw)
    parts = [
        _differences(paired, *pseudo_models(draws[start : start + chunk]))
        for start in range(0, len(draws), chunk)
    ]
    return {stat: np.concatenate([part[stat] for part in parts]) for stat in _STATISTICS}


def _differences(paired, weights_a, weights_b):
    """Peak scores and region alignments of two pseudo-models, and their differences.

    Each pseudo-model's region mean is the weighted mean over the region's
    channels of model A's and model B's profiles, ``weights_x = (on A, on B)``
    each ``(draw, channel)``: the observed models, a bootstrap resample of both
    with shared weights, or a permutation that swaps some channels.
    """
    out = {}
    for name, weights in (("a", weights_a), ("b", weights_b)):
        means = _region_means(paired, *weights)  # (draw, region, grid, band, window)
        finite = np.isfinite(means)
        out[f"peak_score_{name}"] = np.where(
            finite.any(axis=2), np.where(finite, means, -np.inf).max(axis=2), np.nan
        )
        if paired.ranks is None:
            out[f"region_alignment_rho_{name}"] = np.full((len(means), *means.shape[-2:]), np.nan)
        else:
            preferred = _argmax_layer(means[:, paired.visual], paired.depth)
            out[f"region_alignment_rho_{name}"] = _rank_correlation(paired.ranks, preferred)
    for stat in _STATISTICS:
        out[stat] = out[f"{stat}_a"] - out[f"{stat}_b"]
    return out


def _region_means(paired, on_a, on_b):
    """Mean over each region's channels of ``on_a``-weighted A and ``on_b``-weighted B scores.

    NaN scores are left out of both the sum and the count, as in the gradient.
    """
    (a, finite_a), (b, finite_b) = paired.a, paired.b
    total = on_a @ a + on_b @ b
    count = on_a @ finite_a + on_b @ finite_b
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, total / count, np.nan)
    return means.reshape(len(on_a), *paired.shape)


def _comparison_dataset(score, labels, out):
    """The paired statistics as one Dataset over region, band and window, with descriptions."""
    region, subject = labels.region, labels.subject
    coords = {
        "region": labels.regions,
        "region_rank": ("region", labels.region_ranks),
        "n_channels": ("region", [int(np.sum(region == r)) for r in labels.regions]),
        "n_subjects": ("region", [len(np.unique(subject[region == r])) for r in labels.regions]),
    }
    coords.update(
        {
            name: coord.variable
            for name, coord in score.coords.items()
            if set(coord.dims) <= {"band", "window"}
        }
    )
    dims = {"peak_score": ("region", "band", "window"), "region_alignment_rho": ("band", "window")}
    data_vars = {
        name: (dims[next(stat for stat in _STATISTICS if name.startswith(stat))], value)
        for name, value in out.items()
    }
    comparison = xr.Dataset(data_vars, coords=coords)
    for name, description in _DESCRIPTIONS.items():
        comparison[name].attrs["long_name"] = description
    return comparison


_MEANING = {
    "peak_score": "region mean score at the region's preferred layer",
    "region_alignment_rho": "Spearman rho of region rank and the region's preferred layer",
}
_DESCRIPTIONS = {}
for _stat, _meaning in _MEANING.items():
    _DESCRIPTIONS.update(
        {
            f"{_stat}_a": f"{_meaning}, model A",
            f"{_stat}_b": f"{_meaning}, model B",
            f"{_stat}_difference": f"{_stat}_a - {_stat}_b",
            f"{_stat}_difference_low": "lower bound of the paired hierarchical bootstrap CI",
            f"{_stat}_difference_high": "upper bound of the paired hierarchical bootstrap CI",
            f"{_stat}_difference_p": "two-sided paired permutation p (model labels swapped)",
        }
    )
