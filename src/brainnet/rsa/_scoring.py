"""Channel- and region-level scoring of the RSA stages, and the datasets they return."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from brainnet.rsa._engine import _show_progress, _State, _Test
from brainnet.rsa._inputs import _region_table, _target_coords
from brainnet.rsa.ceiling import noise_ceiling
from brainnet.rsa.permutation import _significant
from brainnet.rsa.rdm import _pdist

_SCORE_DIMS = ("layer", "channel", "band", "window")
_REGION_DIMS = ("layer", "region", "band", "window")


@dataclass
class _Units:
    """Region-level input: per (band, window), subject RDMs with their region and subject."""

    vectors: list  # per (band, window): (k, n_pairs) condensed RDMs
    region: list  # per (band, window): region label of each RDM
    subject: list  # per (band, window): subject label of each RDM
    n_channels: list  # per (band, window): channels behind each RDM
    regions: np.ndarray  # output regions, posterior to anterior
    region_rank: np.ndarray


def _region_units(values, tested, response, metric) -> _Units:
    """Per band and window, the RDM of each subject's responsive channels in each region."""
    region = response["region"].values.astype(str)
    subject = response["subject"].values.astype(str)
    regions, ranks = _region_table(response)
    minimum = 1 if metric == "euclidean" else 2
    n_pairs = len(values) * (len(values) - 1) // 2
    units = _Units([], [], [], [], regions, ranks)
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


def _channel_scores(
    test: _Test, values: np.ndarray, tested: np.ndarray, chunk: int, scalar: bool
) -> dict:
    """Score every target, ``chunk`` at a time.

    ``values`` is ``(stimulus, channel, band, window)`` responses (``scalar``)
    or ``(n_pairs, channel, 1, 1)`` condensed brain RDMs. With sequential
    stopping, each chunk runs the first ``100 h`` permutations, after which
    about 99% of the pairs without an effect have stopped; the targets still
    running are pooled across chunks and finished together, so that the
    model RDMs are reordered for the remaining permutations once per pool
    rather than once per chunk.
    """
    shape = values.shape[1:]
    flat = values.reshape(len(values), -1)
    tested = tested.reshape(-1)
    n_models, n_targets = len(test.model32), flat.shape[1]
    rho = np.full((n_models, n_targets), np.nan)
    p = np.full((n_models, n_targets), np.nan)
    used = np.zeros((n_models, n_targets), dtype=np.int64)
    phase = 100 * test.h if test.h else test.n_permutations
    pool: list[tuple] = []

    def finish(targets, state):
        p[:, targets] = test.pvalues(state)
        used[:, targets] = state.used

    def flush():
        targets, brains, norms, states = zip(*pool, strict=True)
        state = test.run(
            np.concatenate(brains),
            np.concatenate(norms),
            start=phase,
            state=_State.concat(list(states)),
        )
        finish(np.concatenate(targets), state)
        pool.clear()

    starts = range(0, n_targets, chunk)
    for start in tqdm(starts, desc="rsa", unit="chunk", disable=not _show_progress()):
        idx = np.arange(start, min(start + chunk, n_targets))
        data = flat[:, idx] if scalar else flat[:, idx].T
        brain32, norm, rho[:, idx] = test.brain(data, scalar=scalar)
        run = tested[idx] & np.isfinite(norm)
        if not (test.n_permutations and run.any()):
            continue
        state = test.run(brain32[run], norm[run], stop=phase)
        going = state.running.any(axis=0)
        finish(idx[run][~going], state.select(~going))
        if going.any():
            if sum(len(entry[0]) for entry in pool) + going.sum() > chunk:
                flush()
            pool.append(
                (idx[run][going], brain32[run][going], norm[run][going], state.select(going))
            )
    if pool:
        flush()
    return {
        name: a.reshape(n_models, *shape)
        for name, a in (("rho", rho), ("p", p), ("n_permutations", used))
    }


def _channel_dataset(out, response, layers, tested, criterion, alpha) -> xr.Dataset:
    coords = _target_coords(response, ("channel", "band", "window"))
    coords.update(layer=("layer", list(layers)), layer_index=("layer", np.arange(len(layers))))
    ds = xr.Dataset(
        {
            "rho": (_SCORE_DIMS, out["rho"]),
            "p": (_SCORE_DIMS, out["p"]),
            "significant": (_SCORE_DIMS, _decide(out["p"], criterion, alpha)),
            "n_permutations": (_SCORE_DIMS, out["n_permutations"]),
            "responsive": (("channel", "band", "window"), tested),
        },
        coords=coords,
    )
    _describe(ds, criterion, alpha)
    return ds


def _region_dataset(test: _Test, units: _Units, response, layers, criterion, alpha) -> xr.Dataset:
    n_models, n_regions = len(test.model32), len(units.regions)
    n_bands, n_windows = response.sizes["band"], response.sizes["window"]
    shape = (n_models, n_regions, n_bands, n_windows)
    rho, p = np.full(shape, np.nan), np.full(shape, np.nan)
    used = np.zeros(shape, dtype=np.int64)
    lower, upper = np.full(shape[1:], np.nan), np.full(shape[1:], np.nan)
    n_subjects = np.zeros(shape[1:], dtype=np.int64)
    n_channels = np.zeros(shape[1:], dtype=np.int64)
    for k, (b, w) in enumerate(np.ndindex(n_bands, n_windows)):
        brain32, norm, similarity = test.brain(units.vectors[k])
        keep = np.isfinite(norm)  # a constant RDM has no rank correlation
        region, subject = units.region[k][keep], units.subject[k][keep]
        present = [i for i, r in enumerate(units.regions) if (region == r).any()]
        if not present:
            continue
        weights = np.zeros((int(keep.sum()), len(present)))
        for j, i in enumerate(present):
            cols = region == units.regions[i]
            names, inverse, counts = np.unique(
                subject[cols], return_inverse=True, return_counts=True
            )
            weights[cols, j] = 1.0 / (len(names) * counts[inverse])
            n_subjects[i, b, w] = len(names)
            n_channels[i, b, w] = units.n_channels[k][keep][cols].sum()
            if len(names) >= 2:
                lower[i, b, w], upper[i, b, w] = noise_ceiling(
                    units.vectors[k][keep][cols], subject[cols], test.method
                )
        rho[:, present, b, w] = similarity[:, keep] @ weights
        if test.n_permutations:
            state = test.run(brain32[keep], norm[keep], weights=weights)
            p[:, present, b, w] = test.pvalues(state)
            used[:, present, b, w] = state.used
    coords = _target_coords(response, ("band", "window"))
    coords.update(
        layer=("layer", list(layers)),
        layer_index=("layer", np.arange(len(layers))),
        region=("region", units.regions),
        region_rank=("region", units.region_rank),
    )
    region_dims = ("region", "band", "window")
    ds = xr.Dataset(
        {
            "rho": (_REGION_DIMS, rho),
            "p": (_REGION_DIMS, p),
            "significant": (_REGION_DIMS, _decide(p, criterion, alpha)),
            "n_permutations": (_REGION_DIMS, used),
            "noise_ceiling_lower": (region_dims, lower),
            "noise_ceiling_upper": (region_dims, upper),
            "n_subjects": (region_dims, n_subjects),
            "n_channels": (region_dims, n_channels),
        },
        coords=coords,
    )
    _describe(ds, criterion, alpha)
    return ds


def _decide(p: np.ndarray, criterion: str, alpha: float) -> np.ndarray:
    """Significance with one family per band and window (the last two axes)."""
    out = np.zeros(p.shape, dtype=bool)
    for b, w in np.ndindex(*p.shape[2:]):
        out[:, :, b, w] = _significant(p[:, :, b, w], criterion, alpha)
    return out


def _describe(ds: xr.Dataset, criterion: str, alpha: float) -> None:
    rule = f"p <= {alpha}" if criterion == "p" else f"Benjamini-Hochberg FDR <= {alpha}"
    descriptions = {
        "rho": "similarity of the layer RDM with the brain RDM (method attribute)",
        "p": "stimulus-label permutation p, (1 + #{null >= rho}) / (1 + n_permutations); "
        "h / n_permutations for pairs stopped early (Besag-Clifford)",
        "significant": f"{rule}, one family per band and window",
        "n_permutations": "permutations used for this pair",
        "responsive": "channel tested for this band and window",
        "noise_ceiling_lower": "leave-one-subject-out noise ceiling (lower bound)",
        "noise_ceiling_upper": "noise ceiling with all subjects pooled (upper bound)",
        "n_subjects": "subjects with an RDM for this region",
        "n_channels": "channels behind the region's RDMs",
    }
    for name in ds.data_vars:
        ds[name].attrs["long_name"] = descriptions[name]
    if "region" in ds.dims:
        ds["rho"].attrs["long_name"] = (
            "mean over subjects of the similarity of the layer RDM with the subject's region RDM"
        )
