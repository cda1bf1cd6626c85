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

from brainnet.rsa._engine import _Test
from brainnet.rsa._inputs import _region_table, _target_coords
from brainnet.rsa._scoring import _decide, _describe
from brainnet.rsa.ceiling import noise_ceiling
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


def _region_units(values, tested, response, metric) -> _Units:
    """Per band and window, the RDM of each subject's responsive channels in each region."""
    region = response["region"].values.astype(str)
    subject = response["subject"].values.astype(str)
    regions, ranks = _region_table(response)
    minimum = 1 if metric == "euclidean" else 2
    n_pairs = len(values) * (len(values) - 1) // 2
    units = _Units([], [], [], [], regions, ranks, np.unique(subject))
    for b, w in np.ndindex(*values.shape[2:]):
        found = []
        for r in regions:
            for s in np.unique(subject[region == r]):
                pattern = values[:, (region == r) & (subject == s) & tested[:, b, w], b, w]
                pattern = pattern[:, np.ptp(pattern, axis=0) > 0]
                if pattern.shape[1] >= minimum:
                    z = (pattern - pattern.mean(axis=0)) / pattern.std(axis=0)
                    found.append(
                        (_pdist(z, metric, f"region {r} subject {s}"), r, s, pattern.shape[1])
                    )
        units.vectors.append(np.array([f[0] for f in found]).reshape(len(found), n_pairs))
        units.region.append(np.array([f[1] for f in found], dtype=str))
        units.subject.append(np.array([f[2] for f in found], dtype=str))
        units.n_channels.append(np.array([f[3] for f in found], dtype=int))
    return units


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


def _region_dataset(test: _Test, units: _Units, response, layers, criterion, alpha) -> xr.Dataset:
    """Score, test and describe every region in every band and window."""
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
    out["significant"] = _decide(out["p"], criterion, alpha)
    return _assemble(out, units, response, layers, criterion, alpha)


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
    dims = {name: _REGION_DIMS for name in ("rho", "p", "significant", "n_permutations")}
    dims.update({name: _REGION_DIMS for name in ("r2", "r2_sem", "r2_p", "r2_percent")})
    dims["subject_rho"] = ("layer", "region", "subject", "band", "window")
    ds = xr.Dataset(
        {name: (dims.get(name, region_dims), value) for name, value in out.items()},
        coords=coords,
    )
    _describe(ds, criterion, alpha)
    return ds
