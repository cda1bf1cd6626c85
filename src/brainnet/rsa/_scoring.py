"""Channel-level scoring of the RSA stages, and the decisions and descriptions of both levels."""

from __future__ import annotations

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from brainnet.rsa._engine import _show_progress, _State, _Test
from brainnet.rsa._inputs import _target_coords
from brainnet.rsa.permutation import _significant

_SCORE_DIMS = ("layer", "channel", "band", "window")


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
    data = {
        "rho": (_SCORE_DIMS, out["rho"]),
        "p": (_SCORE_DIMS, out["p"]),
        "significant": (_SCORE_DIMS, _decide(out, criterion, alpha)),
        "n_permutations": (_SCORE_DIMS, out["n_permutations"]),
        "responsive": (("channel", "band", "window"), tested),
    }
    if "p_fwer" in out:
        data["p_fwer"] = (_SCORE_DIMS, out["p_fwer"])
    ds = xr.Dataset(data, coords=coords)
    _describe(ds, criterion, alpha)
    return ds


def _decide(scores: dict, criterion: str, alpha: float) -> np.ndarray:
    """Significance: ``p_fwer <= alpha`` where the scores carry the family-wise p, else
    by ``criterion`` with one family per band and window (the last two axes)."""
    if "p_fwer" in scores:
        with np.errstate(invalid="ignore"):
            return scores["p_fwer"] <= alpha
    p = scores["p"]
    out = np.zeros(p.shape, dtype=bool)
    for b, w in np.ndindex(*p.shape[2:]):
        out[:, :, b, w] = _significant(p[:, :, b, w], criterion, alpha)
    return out


def _describe(ds: xr.Dataset, criterion: str, alpha: float) -> None:
    rule = {
        "p": f"p <= {alpha}, one family per band and window",
        "fdr": f"Benjamini-Hochberg FDR <= {alpha}, one family per band and window",
    }.get(criterion, f"p_fwer <= {alpha}")
    descriptions = {
        "rho": "similarity of the layer RDM with the brain RDM (method attribute)",
        "p": "stimulus-label permutation p, (1 + #{null >= rho}) / (1 + n_permutations); "
        "h / n_permutations for pairs stopped early (Besag-Clifford)",
        "significant": rule,
        "p_fwer": f"family-wise corrected p ({criterion}) over the band x window grid",
        "n_permutations": "permutations used for this pair",
        "responsive": "channel tested for this band and window",
        "subject_rho": "similarity of the layer RDM with the subject's region RDM "
        "(mean over the subject's RDMs of the region)",
        "subject_rho_bootstrap": "subject_rho with the subject's contacts resampled "
        "(where the region has a significant match)",
        "noise_ceiling_lower": "leave-one-subject-out noise ceiling (lower bound, rsatoolbox)",
        "noise_ceiling_upper": "noise ceiling with all subjects pooled (upper bound, rsatoolbox)",
        "net2brain_noise_ceiling_lower": "Net2Brain's lower noise ceiling (R², leave one out)",
        "net2brain_noise_ceiling_upper": "Net2Brain's upper noise ceiling (R², all subjects)",
        "r2": "Net2Brain R²: mean over subjects of the squared Spearman rho",
        "r2_sem": "standard error of the mean of the squared rho over subjects",
        "r2_p": "one-sample t-test p of the squared rho against 0 (two-sided, Net2Brain)",
        "r2_percent": "Net2Brain %R²: R² / its lower noise ceiling x 100",
        "n_subjects": "subjects with an RDM for this region",
        "n_channels": "channels behind the region's RDMs",
    }
    for name in ds.data_vars:
        ds[name].attrs["long_name"] = descriptions[name]
    if "region" in ds.dims:
        ds["rho"].attrs["long_name"] = (
            "mean over subjects of the similarity of the layer RDM with the subject's region RDM"
        )
