"""Region-level scoring: one RDM per subject and region, combined across subjects.

A region's RDM in one subject is the RDM of its multi-contact response
patterns (each channel z-scored over stimuli), or a precomputed RDM. Its
score for a layer is the mean over subjects of the similarity with each
subject's RDM (a subject's several RDMs of one region are averaged first), as
rsatoolbox evaluates a model on a group; every region is tested with the same
stimulus permutations as the channels. Beside the score the Dataset keeps the
per-subject similarities (for subject bootstraps and region-label
permutations downstream), rsatoolbox's and Net2Brain's noise ceilings and
Net2Brain's R² columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from brainnet.correction import FAMILY_CORRECTIONS, family_p
from brainnet.rsa._engine import _Test
from brainnet.rsa._family import _null
from brainnet.rsa._inputs import _region_table, _target_coords
from brainnet.rsa._scoring import _decide, _describe
from brainnet.rsa.ceiling import noise_ceiling
from brainnet.rsa.compare import _centered
from brainnet.rsa.net2brain import r2_statistics
from brainnet.rsa.rdm import _pdist

_REGION_DIMS = ("layer", "region", "band", "window")
_CEILINGS = {
    "noise_ceiling": "rsatoolbox",
    "net2brain_noise_ceiling": "net2brain",
}


@dataclass
class _Units:
    """Region-level input: per (band, window), subject RDMs with their region and subject."""

    vectors: list  # per (band, window): (k, n_pairs) condensed RDMs
    region: list  # per (band, window): region label of each RDM
    subject: list  # per (band, window): subject label of each RDM
    n_channels: list  # per (band, window): channels behind each RDM
    regions: np.ndarray  # output regions, posterior to anterior
    region_rank: np.ndarray
    subjects: np.ndarray  # every subject, sorted
    patterns: list | None = None  # per (band, window): each RDM's z-scored pattern
    metric: str = "euclidean"  # distance of the patterns


def _region_units(values, tested, response, metric) -> _Units:
    """Per band and window, the RDM of each subject's responsive channels in each region."""
    regions, ranks = _region_table(response)
    minimum = 1 if metric == "euclidean" else 2
    n_pairs = len(values) * (len(values) - 1) // 2
    subjects = np.unique(response["subject"].values.astype(str))
    units = _Units([], [], [], [], regions, ranks, subjects, [], metric)
    for found in region_patterns(values, tested, response, minimum):
        units.vectors.append(
            np.array([_pdist(z, metric, f"region {r} subject {s}") for r, s, z in found]).reshape(
                len(found), n_pairs
            )
        )
        units.patterns.append([z for *_, z in found])
        units.region.append(np.array([r for r, _, _ in found], dtype=str))
        units.subject.append(np.array([s for _, s, _ in found], dtype=str))
        units.n_channels.append(np.array([z.shape[1] for *_, z in found], dtype=int))
    return units


def region_patterns(values, tested, response, minimum: int = 1) -> list[list[tuple]]:
    """Each subject's multi-contact response pattern in each region, per band and window.

    The pattern holds the subject's ``tested`` (responsive) channels of the
    region that vary over stimuli, each z-scored over stimuli; it is the
    brain side of region-level RSA and of CKA (:mod:`brainnet.cka`).

    Parameters
    ----------
    values : array, shape (stimulus, channel, band, window)
        The responses.
    tested : array of bool, shape (channel, band, window)
        Channels that may enter a pattern.
    response : xarray.DataArray
        The responses with the channel coordinates ``region`` and ``subject``
        (and ``region_rank``, which orders the regions).
    minimum : int
        Fewest channels of a pattern; smaller ones are left out.

    Returns
    -------
    patterns : list over (band, window) in C order of lists of (region, subject, pattern)
        ``pattern`` is ``(stimulus, channel)``; regions posterior to anterior.
    """
    region = response["region"].values.astype(str)
    subject = response["subject"].values.astype(str)
    regions, _ = _region_table(response)
    out = []
    for b, w in np.ndindex(*values.shape[2:]):
        found = []
        for r in regions:
            for s in np.unique(subject[region == r]):
                pattern = values[:, (region == r) & (subject == s) & tested[:, b, w], b, w]
                pattern = pattern[:, np.ptp(pattern, axis=0) > 0]
                if pattern.shape[1] >= minimum:
                    found.append((r, s, (pattern - pattern.mean(axis=0)) / pattern.std(axis=0)))
        out.append(found)
    return out


def _precomputed_units(vectors, rdm) -> _Units:
    """Precomputed RDMs as region-level input: one (band, window), each RDM one unit."""
    regions, ranks = _region_table(rdm)
    subject = rdm["subject"].values.astype(str)
    return _Units(
        [vectors],
        [rdm["region"].values.astype(str)],
        [subject],
        [np.ones(len(vectors), int)],
        regions,
        ranks,
        np.unique(subject),
    )


def _region_dataset(
    test: _Test, units: _Units, response, layers, criterion, alpha, n_bootstrap=0, seed=0
) -> xr.Dataset:
    """Score, test and describe every region in every band and window.

    With patterns and ``n_bootstrap``, each subject's similarities are also
    resampled over its contacts where the region has a significant match
    (:func:`_contact_bootstrap`). With a family-wise ``criterion`` the regions'
    null statistics of every cell are kept, ``(1 + n_permutations) x layer x region
    x band x window`` floats, for ``p_fwer`` over each region's band x window grid.
    """
    n_bands, n_windows = response.sizes["band"], response.sizes["window"]
    shape = (len(test.model32), len(units.regions), n_bands, n_windows)
    out = {
        "rho": np.full(shape, np.nan),
        "p": np.full(shape, np.nan),
        "n_permutations": np.zeros(shape, dtype=np.int64),
        "subject_rho": np.full((*shape[:2], len(units.subjects), *shape[2:]), np.nan),
        "n_subjects": np.zeros(shape[1:], dtype=np.int64),
        "n_channels": np.zeros(shape[1:], dtype=np.int64),
    }
    if criterion in FAMILY_CORRECTIONS and test.n_permutations:
        out["null"] = np.full((1 + test.n_permutations, *shape), np.nan)
    for name in _CEILINGS:
        out[f"{name}_lower"] = np.full(shape[1:], np.nan)
        out[f"{name}_upper"] = np.full(shape[1:], np.nan)
    for k, (b, w) in enumerate(np.ndindex(n_bands, n_windows)):
        _score_cell(test, units, k, (b, w), out)
    out.update(
        r2_statistics(
            np.moveaxis(out["subject_rho"], 2, -1),
            out["net2brain_noise_ceiling_lower"][None],
        )
    )
    if "null" in out:
        null = out.pop("null")
        out["p_fwer"] = np.stack([family_p(null[:, i], criterion) for i in range(shape[0])])
    out["significant"] = _decide(out, criterion, alpha)
    if units.patterns and n_bootstrap:
        out["subject_rho_bootstrap"] = _contact_bootstrap(
            test, units, out["significant"], n_bootstrap, np.random.default_rng([seed, 1])
        )
    return _assemble(out, units, response, layers, criterion, alpha)


def _contact_bootstrap(test: _Test, units: _Units, significant, n_bootstrap, rng) -> np.ndarray:
    """Each subject's similarities with its region RDM rebuilt from resampled contacts.

    For every subject of a region with a significant match in a band and
    window, ``n_bootstrap`` times: the subject's contacts drawn with
    replacement, the RDM of that pattern, its similarity with every layer.
    With the resampling of subjects downstream this is the hierarchical
    bootstrap (subjects, then contacts) of the region score; cells without a
    match stay NaN (nothing is preferred there).

    Returns
    -------
    bootstrap : array, shape (n_bootstrap, layer, region, subject, band, window)
    """
    n_models, n_regions, n_bands, n_windows = significant.shape
    shape = (n_bootstrap, n_models, n_regions, len(units.subjects), n_bands, n_windows)
    out = np.full(shape, np.nan)
    for k, (b, w) in enumerate(np.ndindex(n_bands, n_windows)):
        for i, region in enumerate(units.regions):
            if not significant[:, i, b, w].any():
                continue
            for u in np.flatnonzero(units.region[k] == region):
                vectors = _resampled_rdms(units.patterns[k][u], units.metric, n_bootstrap, rng)
                centred, norms = _centered(vectors, test.method)
                with np.errstate(invalid="ignore", divide="ignore"):
                    similarity = centred @ test.model_centred.T / np.outer(norms, test.model_norm)
                s = int(np.searchsorted(units.subjects, units.subject[k][u]))
                out[:, :, i, s, b, w] = similarity
    return out


def _resampled_rdms(pattern, metric, n_bootstrap, rng) -> np.ndarray:
    """Condensed RDMs of ``pattern`` ``(stimulus, contact)`` with its contacts drawn with
    replacement, ``(n_bootstrap, n_pairs)``.

    A Euclidean RDM is the square root of a sum over contacts of squared
    differences, so all resamples are one product of the draw counts with the
    per-contact squared differences; other metrics are computed one by one.
    """
    n_contacts = pattern.shape[1]
    draws = rng.integers(0, n_contacts, (n_bootstrap, n_contacts))
    if metric != "euclidean":
        return np.stack([_pdist(pattern[:, d], metric, "contact resample") for d in draws])
    rows, cols = np.triu_indices(len(pattern), 1)
    counts = np.stack([np.bincount(d, minlength=n_contacts) for d in draws]).astype(float)
    return np.sqrt(counts @ ((pattern[rows] - pattern[cols]) ** 2).T)


def _score_cell(test: _Test, units: _Units, k: int, cell: tuple[int, int], out: dict) -> None:
    """One band and window: per-subject similarities, region means, permutations, ceilings."""
    b, w = cell
    brain32, norm, similarity = test.brain(units.vectors[k])
    keep = np.isfinite(norm)  # a constant RDM has no rank correlation
    region, subject = units.region[k][keep], units.subject[k][keep]
    vectors, n_channels = units.vectors[k][keep], units.n_channels[k][keep]
    present = [i for i, r in enumerate(units.regions) if (region == r).any()]
    if not present:
        return
    weights = np.zeros((int(keep.sum()), len(present)))
    for j, i in enumerate(present):
        cols = region == units.regions[i]
        names, inverse, counts = np.unique(subject[cols], return_inverse=True, return_counts=True)
        # each subject weighs the same, however many RDMs it has in the region
        weights[cols, j] = 1.0 / (len(names) * counts[inverse])
        for name in names:
            mine = cols & (subject == name)
            s = int(np.searchsorted(units.subjects, name))
            out["subject_rho"][:, i, s, b, w] = similarity[:, keep][:, mine].mean(axis=1)
        out["n_subjects"][i, b, w] = len(names)
        out["n_channels"][i, b, w] = n_channels[cols].sum()
        if len(names) >= 2:
            for name, definition in _CEILINGS.items():
                out[f"{name}_lower"][i, b, w], out[f"{name}_upper"][i, b, w] = noise_ceiling(
                    vectors[cols], subject[cols], test.method, definition
                )
    out["rho"][:, present, b, w] = similarity[:, keep] @ weights
    if test.n_permutations:
        state = test.run(brain32[keep], norm[keep], weights=weights)
        out["p"][:, present, b, w] = test.pvalues(state)
        out["n_permutations"][:, present, b, w] = state.used
    if "null" in out:
        brain = brain32[keep].astype(np.float64)
        out["null"][0, :, :, b, w][:, present] = out["rho"][:, present, b, w]
        for i in range(len(test.model32)):
            out["null"][1:, i, :, b, w][:, present] = _null(test, i, brain, norm[keep]) @ weights


def _assemble(out, units, response, layers, criterion, alpha) -> xr.Dataset:
    coords = _target_coords(response, ("band", "window"))
    coords.update(
        layer=("layer", list(layers)),
        layer_index=("layer", np.arange(len(layers))),
        region=("region", units.regions),
        region_rank=("region", units.region_rank),
        subject=("subject", units.subjects),
    )
    region_dims = ("region", "band", "window")
    dims = {name: _REGION_DIMS for name in ("rho", "p", "p_fwer", "significant", "n_permutations")}
    dims.update({name: _REGION_DIMS for name in ("r2", "r2_sem", "r2_p", "r2_percent")})
    dims["subject_rho"] = ("layer", "region", "subject", "band", "window")
    dims["subject_rho_bootstrap"] = ("bootstrap", *dims["subject_rho"])
    ds = xr.Dataset(
        {name: (dims.get(name, region_dims), value) for name, value in out.items()},
        coords=coords,
    )
    _describe(ds, criterion, alpha)
    return ds
