"""The CKA stage: every layer against every region's patterns, or precomputed RDMs.

:func:`cka_scores` compares each layer with each subject's multi-contact
response pattern in each region, per band and window (the patterns of
region-level RSA, :func:`brainnet.rsa.region_patterns`), or with the Gram
matrix of each precomputed brain RDM. A region's score is the
mean over its subjects of their CKAs (a subject's several RDMs of one region
averaged first), tested by relabelling the stimuli
(:mod:`brainnet.cka.permutation`); the Dataset has the layout of
region-level RSA, so that the gradient, figures and summary treat it alike.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.cka.bootstrap import contact_resamples
from brainnet.cka.permutation import permutation_counts
from brainnet.cka.score import ESTIMATORS, check_estimator, gram_matrix, rdm_gram, unit_grams
from brainnet.join import align_responses, layer_names
from brainnet.log import logger, set_log_level
from brainnet.responses import RESPONSE_DIMS
from brainnet.rsa import FEATURE_SCALINGS, make_permutations, region_patterns

# The brain side is region-level RSA's: the same alignment, flags and region order.
from brainnet.rsa._inputs import (
    _align_brain_rdms,
    _broadband,
    _check_finite,
    _provenance,
    _region_table,
    _target_coords,
    _tested_mask,
)
from brainnet.rsa.permutation import _check_test_settings, _significant
from brainnet.rsa.rdm import _standardised

_DIMS = ("layer", "region", "band", "window")
_DESCRIPTIONS = {
    "cka": "mean over subjects of the CKA of the layer with the subject's region pattern",
    "p": "stimulus-label permutation p, (1 + #{null >= cka}) / (1 + n_permutations)",
    "n_permutations": "permutations used for this pair",
    "subject_cka": "CKA of the layer with the subject's region pattern (mean over its RDMs)",
    "subject_cka_bootstrap": "subject_cka with the subject's contacts resampled "
    "(where the region has a significant match)",
    "n_subjects": "subjects with a pattern for this region",
    "n_channels": "channels behind the region's patterns",
}


def cka_scores(
    activations: xr.Dataset,
    brain: xr.Dataset,
    *,
    estimator: str = "unbiased",
    feature_scaling: str = "standard",
    n_permutations: int = 1000,
    criterion: str = "fdr",
    alpha: float = 0.05,
    responsive_only: bool = True,
    n_bootstrap: int = 100,
    seed: int = 0,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Linear CKA between every layer and every region's response patterns or RDMs.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer, dims ``(stimulus, feature_<layer>)``,
        coordinate ``stimulus_id``; attribute ``layers`` gives the order.
    brain : xarray.Dataset
        Responses or precomputed brain RDMs, joined to the activations on
        ``stimulus_id`` (a mismatch raises ``ValueError`` naming the ids):

        * ``response (stimulus, channel, band, window)`` with the channel
          coordinates ``subject``, ``region``, ``region_rank`` and optional
          ``responsive (channel, band, window)``. Per subject, region, band
          and window the pattern is the subject's responsive channels of the
          region, each z-scored over stimuli
          (:func:`brainnet.rsa.region_patterns`): an sEEG subject's contacts,
          or the channels of an array (Cowley V4);
        * ``rdm (channel, stimulus, stimulus_other)`` as
          :func:`brainnet.rsa.rsa_precomputed` reads it, every channel one
          RDM with ``subject``, ``region`` and ``region_rank``. Each RDM ``D``
          becomes the Gram matrix ``-1/2 H D H`` (double centring,
          :func:`brainnet.cka.score.rdm_gram`): its dissimilarities are read
          as squared distances, exact for correlation distances ``1 - r``.
          The result has the single band ``"broadband"`` and window
          ``"all"``; ``n_channels`` counts RDMs.
    estimator : ``"unbiased"`` | ``"linear"``
        The HSIC estimator (:mod:`brainnet.cka.score`): unbiased CKA (Song
        et al. 2012; Kornblith et al. 2019), centred on 0 without a match, or
        the biased linear CKA.
    feature_scaling : ``"standard"`` | ``"none"``
        ``"standard"`` z-scores every feature of a layer over stimuli before
        its Gram matrix, as RSA does (see :func:`brainnet.rsa.rsa_scores`);
        ``"none"`` keeps the activations as they are (Kornblith et al. 2019).
    n_permutations : int
        Stimulus-label permutations (seeded by ``seed``, the same for every
        test); 0 gives scores only (``p`` NaN).
    criterion : ``"p"`` | ``"fdr"``
        ``"fdr"``: Benjamini-Hochberg at level ``alpha`` over the layers and
        regions of one band and window; ``"p"``: ``p <= alpha``.
    alpha : float
        Threshold of the criterion.
    responsive_only : bool
        Build patterns from the channels flagged ``responsive`` only.
    n_bootstrap : int
        Contact resamples of each subject's pattern where the region has a
        significant match (``subject_cka_bootstrap``,
        :mod:`brainnet.cka.bootstrap`): the inner level of the gradient's
        hierarchical bootstrap, as for region-level RSA. 0 skips it; RDMs
        have no contacts to resample.
    seed : int
        Seed of the permutations and of the contact resamples.
    verbose : bool | str | int | None
        Logging level (see :func:`brainnet.set_log_level`).

    Returns
    -------
    scores : xarray.Dataset
        Over ``(layer, region, band, window)``: ``cka``, ``p``,
        ``significant``, ``n_permutations``; ``subject_cka (layer, region,
        subject, band, window)`` (NaN where a subject has no pattern);
        ``n_subjects`` and ``n_channels`` over ``(region, band, window)``;
        ``subject_cka_bootstrap (bootstrap, layer, region, subject, band,
        window)`` with ``n_bootstrap`` and patterns; ``layer_index`` on
        ``layer``, ``region_rank`` on ``region``. Attributes hold the
        settings and the model provenance.
    """
    set_log_level(verbose)
    settings = _check_settings(locals())
    layers = layer_names(activations)
    if "rdm" in brain.data_vars:
        units, template = _rdm_units(activations, brain, estimator)
    elif "response" in brain.data_vars:
        units, template = _response_units(activations, brain, estimator, responsive_only)
        settings["responsive_only"] = responsive_only
    else:
        raise ValueError(
            f"cka: the brain data hold neither 'response' (responses) nor 'rdm' (brain RDMs); "
            f"found {sorted(brain.data_vars)}"
        )
    logger.info(
        "cka (%s): %d layers, %d regions x %d bands x %d windows, %d stimuli, %d permutations",
        estimator,
        len(layers),
        len(_region_table(template)[0]),
        template.sizes["band"],
        template.sizes["window"],
        template.sizes["stimulus"],
        n_permutations,
    )
    return _score(activations, layers, units, template, settings, seed)


def _response_units(activations, responses, estimator, responsive_only):
    """Each subject's region patterns with their Gram matrices, and the aligned responses."""
    responses = align_responses(activations, responses, ("subject", "region"))
    response = responses["response"].transpose(*RESPONSE_DIMS)
    values = np.asarray(response.values, dtype=np.float64)
    check_estimator(estimator, len(values), "cka_scores")
    _check_finite(values, response)
    tested = _tested_mask(responses, response, responsive_only)
    units = [
        [(r, s, z.shape[1], gram_matrix(z, f"region {r} subject {s}"), z) for r, s, z in found]
        for found in region_patterns(values, tested, response)
    ]
    return units, response


def _rdm_units(activations, brain_rdms, estimator):
    """The Gram matrix of every brain RDM, and a broadband template of the RDMs."""
    rdm = _align_brain_rdms(activations, brain_rdms)
    check_estimator(estimator, rdm.sizes["stimulus"], "cka_scores")
    labels = zip(rdm["region"].values.astype(str), rdm["subject"].values.astype(str), strict=True)
    units = [
        (r, s, 1, rdm_gram(m, f"brain_rdms channel {c!s}"), None)
        for (r, s), m, c in zip(labels, rdm.values, rdm["channel"].values, strict=True)
    ]
    return [units], _broadband(rdm)


def _check_settings(arguments: dict) -> dict:
    """The settings, validated, as the attributes record them."""
    settings = {
        key: arguments[key]
        for key in (
            "estimator",
            "feature_scaling",
            "n_permutations",
            "criterion",
            "alpha",
            "n_bootstrap",
        )
    }
    for key, choices in (("estimator", ESTIMATORS), ("feature_scaling", FEATURE_SCALINGS)):
        if settings[key] not in choices:
            raise ValueError(f"cka: {key} must be one of {list(choices)}, got {settings[key]!r}")
    for key in ("n_permutations", "n_bootstrap"):
        n = settings[key]
        if isinstance(n, bool) or int(n) != n or n < 0:
            raise ValueError(f"cka: {key} must be an integer >= 0, got {n!r}")
    _check_test_settings(None, None, settings["criterion"], settings["alpha"], 0)  # no stopping
    return settings


def _layer_grams(activations, layers, settings) -> tuple[np.ndarray, np.ndarray]:
    """Every layer's unit centred Gram matrix ``(layer, stimulus, stimulus)``, and which
    layers vary over stimuli."""
    grams = []
    for name in layers:
        var = activations[name]
        if var.ndim != 2 or var.dims[0] != "stimulus":
            raise ValueError(
                f"activations: layer {name!r} must have dims (stimulus, feature_{name}), "
                f"got {var.dims}"
            )
        x = np.asarray(var.values, dtype=np.float64)
        if settings["feature_scaling"] == "standard":
            x = _standardised(x)
        grams.append(gram_matrix(x, f"activations layer {name!r}"))
    unit, valid = unit_grams(np.stack(grams), settings["estimator"])
    if not valid.all():
        logger.warning(
            "cka: layers %s are constant over stimuli; their CKAs are NaN",
            [name for name, ok in zip(layers, valid, strict=True) if not ok],
        )
    return unit, valid


def _score(activations, layers, units, response, settings, seed) -> xr.Dataset:
    """Subject and region CKAs of every band and window, their permutation p, one Dataset."""
    regions, ranks = _region_table(response)
    subjects = np.unique(response["subject"].values.astype(str))
    layer_grams, valid = _layer_grams(activations, layers, settings)
    bw = (response.sizes["band"], response.sizes["window"])
    out = _subject_scores(layer_grams, units, regions, subjects, settings["estimator"])
    targets, cells = out.pop("targets"), out.pop("cells")
    out["subject_cka"][~valid] = np.nan
    out["cka"] = np.full((len(layers), len(regions), len(units)), np.nan)
    out["p"] = np.full(out["cka"].shape, np.nan)
    if targets:
        permutations = make_permutations(len(layer_grams[0]), settings["n_permutations"], seed)
        observed, exceed = permutation_counts(layer_grams, np.stack(targets), permutations)
        for t, (i, k) in enumerate(cells):
            out["cka"][:, i, k] = np.where(valid, observed[:, t], np.nan)
            if settings["n_permutations"]:
                p = (1 + exceed[:, t]) / (1 + settings["n_permutations"])
                out["p"][:, i, k] = np.where(valid, p, np.nan)
    out = {name: a.reshape(*a.shape[:-1], *bw) for name, a in out.items()}
    out["significant"] = np.zeros(out["p"].shape, dtype=bool)
    for b, w in np.ndindex(*bw):  # one family per band and window, as for RSA
        out["significant"][..., b, w] = _significant(
            out["p"][..., b, w], settings["criterion"], settings["alpha"]
        )
    if settings["n_bootstrap"]:
        rng = np.random.default_rng([seed, 1])
        boot = _contact_bootstrap(layer_grams, units, regions, subjects, out, settings, rng)
        out["subject_cka_bootstrap"] = np.where(valid[:, None, None, None, None], boot, np.nan)
    ds = _assemble(out, response, layers, (regions, ranks, subjects), settings)
    ds.attrs.update(_provenance(activations), **settings, seed=seed)
    return ds


def _subject_scores(layer_grams, units, regions, subjects, estimator) -> dict:
    """Per region, band and window: each subject's CKAs and the region's mean Gram matrix.

    Returns ``subject_cka (layer, region, subject, cell)``, ``n_channels
    (region, cell)``, ``n_subjects (region, cell)``, and the ``targets`` of the
    permutation test with their ``cells`` ``(region, cell)``.
    """
    n_cells = len(units)
    subject_cka = np.full((len(layer_grams), len(regions), len(subjects), n_cells), np.nan)
    n_channels = np.zeros((len(regions), n_cells), dtype=np.int64)
    targets, cells = [], []
    for k, found in enumerate(units):
        for i, region in enumerate(regions):
            mine = [(s, c, g) for r, s, c, g, _ in found if r == region]
            if not mine:
                continue
            grams, ok = unit_grams(np.stack([g for *_, g in mine]), estimator)
            names = np.array([s for s, _, _ in mine])[ok]
            # each subject weighs the same, however many patterns or RDMs it has
            per_subject = [grams[ok][names == s].mean(axis=0) for s in np.unique(names)]
            if not per_subject:
                continue
            for s, gram in zip(np.unique(names), per_subject, strict=True):
                j = int(np.searchsorted(subjects, s))
                subject_cka[:, i, j, k] = np.einsum("lab,ab->l", layer_grams, gram)
            n_channels[i, k] = sum(c for (_, c, _), o in zip(mine, ok, strict=True) if o)
            targets.append(np.mean(per_subject, axis=0))
            cells.append((i, k))
    return {
        "subject_cka": subject_cka,
        "n_channels": n_channels,
        "n_subjects": np.isfinite(subject_cka).any(axis=0).sum(axis=1),
        "targets": targets,
        "cells": cells,
    }


def _contact_bootstrap(layer_grams, units, regions, subjects, out, settings, rng) -> np.ndarray:
    """Each subject's CKAs with its contacts resampled, where the region has a match.

    As region-level RSA's contact bootstrap (:func:`brainnet.rsa.rsa_scores`
    with ``n_bootstrap``): with the subjects resampled by the gradient stage,
    the hierarchical bootstrap of the region score; NaN elsewhere.

    Returns
    -------
    bootstrap : array, shape (n_bootstrap, layer, region, subject, band, window)
    """
    significant = out["significant"]
    n_bootstrap = settings["n_bootstrap"]
    boot = np.full((n_bootstrap, *out["subject_cka"].shape), np.nan)
    for k, (b, w) in enumerate(np.ndindex(*significant.shape[2:])):
        for i, region in enumerate(regions):
            if not significant[:, i, b, w].any():
                continue
            for r, s, _, _, pattern in units[k]:
                if r == region and pattern is not None:
                    j = int(np.searchsorted(subjects, s))
                    boot[:, :, i, j, b, w] = contact_resamples(
                        layer_grams, pattern, settings["estimator"], n_bootstrap, rng
                    )
    return boot


def _assemble(out, response, layers, labels, settings) -> xr.Dataset:
    """The arrays of :func:`_score` as a Dataset, with a ``long_name`` on every variable."""
    regions, ranks, subjects = labels
    arrays = dict(out)
    arrays["n_permutations"] = np.where(
        np.isfinite(arrays["p"]), settings["n_permutations"], 0
    ).astype(np.int64)
    dims = {"subject_cka": ("layer", "region", "subject", "band", "window")}
    dims["subject_cka_bootstrap"] = ("bootstrap", *dims["subject_cka"])
    dims.update({name: ("region", "band", "window") for name in ("n_channels", "n_subjects")})
    coords = _target_coords(response, ("band", "window"))
    coords.update(
        layer=("layer", list(layers)),
        layer_index=("layer", np.arange(len(layers))),
        region=("region", regions),
        region_rank=("region", ranks),
        subject=("subject", subjects),
    )
    ds = xr.Dataset(
        {name: (dims.get(name, _DIMS), a) for name, a in arrays.items()}, coords=coords
    )
    rule = (
        f"p <= {settings['alpha']}"
        if settings["criterion"] == "p"
        else f"Benjamini-Hochberg FDR <= {settings['alpha']}"
    )
    for name in ds.data_vars:
        ds[name].attrs["long_name"] = _DESCRIPTIONS.get(
            name, f"{rule}, one family per band and window"
        )
    return ds
