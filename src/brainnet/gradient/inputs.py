"""Validated inputs of the gradient stage: settings, score and significance arrays, regions.

Everything here runs before any resampling, so a wrong input fails with a
message naming the variable, coordinate or region at fault.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

from brainnet.log import logger

DIMS = ("layer", "channel", "band", "window")
#: Kinds of scores with one score per region (not per channel), and their score variable:
#: region-level RSA and CKA.
REGION_METHODS = {"rsa_region": "rho", "cka": "cka"}
#: Kinds of scores: channel-level encoding and RSA, region-level RSA and CKA.
METHODS = ("encoding", "rsa", *REGION_METHODS)


class _Labels(NamedTuple):
    """Layer indices, channel labels and the region order of the scores, as NumPy arrays."""

    layer_index: np.ndarray
    subject: np.ndarray
    region: np.ndarray
    rank: np.ndarray  # region_rank of each channel
    regions: np.ndarray  # region names by rank, rank-0 regions last
    region_ranks: np.ndarray


def _check_settings(method, n_bootstrap, n_permutations, alpha, ci, ceiled=False):
    if method not in METHODS:
        raise ValueError(f"gradient: method must be one of {list(METHODS)}, got {method!r}")
    for name, value in (("n_bootstrap", n_bootstrap), ("n_permutations", n_permutations)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"gradient: {name} must be a positive integer, got {value!r}")
    for name, value in (("alpha", alpha), ("ci", ci)):
        if not 0 < value < 1:
            raise ValueError(f"gradient: {name} must lie strictly between 0 and 1, got {value!r}")
    if ceiled and method != "encoding":
        raise ValueError("gradient: ceiled=True applies to encoding scores only")


def _scores_and_significance(scores, method, alpha, ceiled):
    """Adapter: the score and significance arrays of encoding or RSA results."""
    source = _source(scores, method)
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
                " (region-level RSA scores: use method='rsa_region'; CKA scores: method='cka')"
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


def _source(scores, method):
    """How messages name the scores; refuses anything but a Dataset."""
    if not isinstance(scores, xr.Dataset):
        raise TypeError(f"gradient: scores must be an xarray.Dataset, got {type(scores).__name__}")
    return f"{method} scores" + "".join(
        f" {key}={scores.attrs[key]!r}" for key in ("dataset", "model") if key in scores.attrs
    )


def _require_vars(scores, names, source):
    missing = [name for name in names if name not in scores.data_vars]
    if missing:
        raise KeyError(
            f"gradient: {source} lacks variable(s) {missing}; it holds {sorted(scores.data_vars)}"
        )


def _channel_labels(score):
    """The labels of ``score`` (as returned by :func:`_scores_and_significance`)."""
    layer_index = score["layer_index"].to_numpy()
    subject = score["subject"].to_numpy().astype(str)
    region = score["region"].to_numpy().astype(str)
    rank = score["region_rank"].to_numpy()
    regions, region_ranks = _region_order(region, rank)
    return _Labels(layer_index, subject, region, rank, regions, region_ranks)


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
