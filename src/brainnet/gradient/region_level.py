"""Gradient statistics of region-level RSA: one score per region, resampled over subjects.

Region-level RSA (:func:`brainnet.rsa.rsa_scores` with ``level="region"``)
scores each region by the mean over subjects of the similarity of a layer's
RDM with the subject's region RDM, and tests it with stimulus-label
permutations. Here:

* the region's interval and the tied layers of its preferred layer come from
  a hierarchical bootstrap: its subjects resampled, then each drawn subject's
  contacts (the RSA stage's ``subject_rho_bootstrap``; precomputed RDMs have
  no contacts and resample subjects only). With the three or four subjects
  of a region, resampling subjects alone is too sure of itself: four
  subjects that agree by chance leave it no resample to doubt them. On
  planted data the span of the tied layers covers the planted layer at least
  at the nominal rate (``tests/test_gradient.py``);
* a region has a significant match where some layer is ``significant`` in
  the scores (the permutation test of the RSA stage);
* the region alignment's permutation p shuffles region labels across the
  subjects' region RDMs of the matched visual regions.

CKA scores (:func:`brainnet.cka.cka_scores`) have the same layout, with
``cka`` and ``subject_cka`` for ``rho`` and ``subject_rho``, and are treated
alike.

The channel statistics (``alignment_tau``, ``alignment_rho``) are undefined at
this level and NaN; ``n_pairs`` counts significant region-layer pairs and
``n_preferred`` the visual regions with a preferred layer.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.gradient.alignment import _ALIGNMENT, _region_alignment
from brainnet.gradient.preferred import _preference
from brainnet.gradient.regions import _PREFERRED
from brainnet.gradient.resampling import _quantiles

_DIMS = ("layer", "region", "band", "window")
#: Variables of the region-level scores that the gradient passes on unchanged.
CARRIED = (
    "noise_ceiling_lower",
    "noise_ceiling_upper",
    "net2brain_noise_ceiling_lower",
    "net2brain_noise_ceiling_upper",
)


def _check_region_scores(scores: xr.Dataset, source: str, name: str = "rho") -> None:
    """Region-level scores ``name`` (``rho`` of RSA, ``cka``), with ``subject_<name>``."""
    required = (name, "significant", f"subject_{name}")
    missing = [var for var in required if var not in scores.data_vars]
    if missing:
        raise KeyError(
            f"gradient: {source} lacks {missing}; region-level RSA scores "
            f"(brainnet.rsa.rsa_scores with level='region') and CKA scores "
            f"(brainnet.cka.cka_scores) hold them"
        )
    if set(scores[name].dims) != set(_DIMS):
        raise ValueError(
            f"gradient: {source} variable {name!r} has dims {scores[name].dims}, expected {_DIMS}"
        )
    for coord, dim in (("layer_index", "layer"), ("region_rank", "region")):
        if coord not in scores.coords or scores[coord].dims != (dim,):
            raise ValueError(f"gradient: {source} lacks the coordinate {coord!r} on {dim!r}")


def _region_level_statistics(scores, name, *, n_bootstrap, n_permutations, ci, rng_streams):
    """Region statistics and alignment of region-level scores ``name`` (``rho``, ``cka``).

    Returns the ``(layer, region, band, window)``, ``(region, band, window)``
    and ``(band, window)`` arrays as the channel path does, plus the region
    coordinates.
    """
    region_rng, perm_rng = rng_streams
    rho = scores[name].transpose(*_DIMS).to_numpy().astype(float)
    sig = scores["significant"].transpose(*_DIMS).to_numpy().astype(bool) & np.isfinite(rho)
    subject_rho = (
        scores[f"subject_{name}"]
        .transpose("layer", "region", "subject", "band", "window")
        .to_numpy()
    )
    layer_index = scores["layer_index"].to_numpy()
    ranks = scores["region_rank"].to_numpy()
    n_layer, n_region, n_band, n_window = rho.shape
    shape = rho.shape
    out = {name: np.full(shape, np.nan) for name in ("score_low", "score_high")}
    out.update(score=rho, fraction_significant=sig.astype(float), tied=np.zeros(shape, bool))
    out["n_preferring"] = np.zeros(shape, dtype=int)
    pref = {name: np.full(shape[1:], np.nan) for name in _PREFERRED}
    boot_preferred = np.full((n_bootstrap, *shape[1:]), np.nan)
    has_subject = np.isfinite(subject_rho).any(axis=0)  # (region, subject, band, window)
    contacts = (
        scores[f"subject_{name}_bootstrap"]
        .transpose("bootstrap", "layer", "region", "subject", "band", "window")
        .to_numpy()
        if f"subject_{name}_bootstrap" in scores.data_vars
        else None
    )
    for i in range(n_region):
        inner = None if contacts is None else contacts[:, :, i]
        boot = _subject_bootstrap(subject_rho[:, i], n_bootstrap, region_rng, inner)
        out["score_low"][:, i], out["score_high"][:, i] = _quantiles(boot, ci)
        best = np.where(np.isfinite(subject_rho[:, i]), subject_rho[:, i], -np.inf).argmax(0)
        out["n_preferring"][:, i] = (
            (best[None] == np.arange(n_layer)[:, None, None, None]) & has_subject[i][None]
        ).sum(axis=1)
        found = _preference(
            rho[:, i],
            boot,
            sig[:, i].any(axis=0),
            layer_index,
            ci,
            resampled=has_subject[i].sum(axis=0) >= 2,
        )
        out["tied"][:, i] = found.pop("tied")
        boot_preferred[:, i] = found.pop("bootstrap_preferred")
        for key, value in found.items():
            pref[key][i] = value
    units = np.moveaxis(subject_rho, 0, 2).reshape(-1, n_layer, n_band, n_window)
    alignment = {name: np.full((n_band, n_window), np.nan) for name in _ALIGNMENT}
    visual = ranks > 0
    alignment["n_pairs"] = sig[:, visual].sum(axis=(0, 1))
    alignment["n_preferred"] = np.isfinite(pref["preferred_layer"][visual]).sum(axis=0)
    alignment.update(
        _region_alignment(
            units,
            np.repeat(np.arange(n_region), subject_rho.shape[2]),
            ranks,
            layer_index,
            pref["preferred_layer"],
            boot_preferred,
            n_permutations=n_permutations,
            ci=ci,
            rng=perm_rng,
        )
    )
    carried = {
        name: scores[name].transpose("region", "band", "window").to_numpy()
        for name in CARRIED
        if name in scores.data_vars
    }
    return {"layer_region": out, "region": {**pref, **carried}}, alignment


def _subject_bootstrap(subject_rho, n_bootstrap, rng, contacts=None):
    """Hierarchical bootstrap of the mean over subjects, ``(n_bootstrap, layer, band, window)``.

    ``subject_rho`` is ``(layer, subject, band, window)``; in each band and
    window only the subjects with a score are drawn, with replacement. With
    ``contacts`` ``(n_contact_resamples, layer, subject, band, window)``, each
    drawn subject contributes one of its contact resamples at random (the
    second level of the hierarchy) where it has them, else its score.
    """
    n_layer, n_subject, n_band, n_window = subject_rho.shape
    boot = np.full((n_bootstrap, n_layer, n_band, n_window), np.nan)
    for b, w in np.ndindex(n_band, n_window):
        present = np.flatnonzero(np.isfinite(subject_rho[:, :, b, w]).any(axis=0))
        if not present.size:
            continue
        drawn = present[rng.integers(0, present.size, (n_bootstrap, present.size))]
        values = np.broadcast_to(subject_rho[:, :, b, w].T, (n_bootstrap, n_subject, n_layer))
        if contacts is not None:
            resample = rng.integers(0, len(contacts), (n_bootstrap, n_subject))
            inner = np.moveaxis(contacts[:, :, :, b, w], 1, 2)[resample, np.arange(n_subject)]
            values = np.where(np.isnan(inner), values, inner)  # (bootstrap, subject, layer)
        picked = np.take_along_axis(values, drawn[:, :, None], axis=1)
        boot[:, :, b, w] = picked.mean(axis=1)
    return boot


def _region_coords(scores, name="rho"):
    """``region_rank``, ``n_channels`` and ``n_subjects`` of each region (any band and window)."""
    subject_scores = scores[f"subject_{name}"]
    n_subjects = np.isfinite(subject_scores).any(("layer", "band", "window")).sum("subject")
    coords = {
        "region": scores["region"].to_numpy(),
        "region_rank": ("region", scores["region_rank"].to_numpy()),
        "n_subjects": ("region", n_subjects.to_numpy().astype(int)),
    }
    if "n_channels" in scores.data_vars:
        channels = scores["n_channels"].max(("band", "window")).to_numpy().astype(int)
        coords["n_channels"] = ("region", channels)
    return coords
