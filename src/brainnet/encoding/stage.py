"""The encoding stage: activations and responses in, scores over layers and targets out.

:func:`fit_encoding` reads as its steps: check the settings, align and flatten
the inputs, draw the folds and permutations, score every layer (ridge or PLS,
with the permutation null), then assemble the scores with FDR, noise ceilings
and descriptions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import sklearn
import xarray as xr
from scipy import stats
from tqdm.auto import tqdm

from brainnet.correction import FAMILY_CORRECTIONS, check_correction, family_p
from brainnet.device import accelerator
from brainnet.encoding.alphas import _edge_shares, _fold_median, _warn_grid_edges
from brainnet.encoding.ceiling import (
    DEFAULT_MIN_RELIABILITY,
    _add_ceiling,
    _check_min_reliability,
)
from brainnet.encoding.inputs import _check_settings, _flat_targets, _folds, _layer_features
from brainnet.encoding.null import _p_values, _permutations, _score_ridge
from brainnet.encoding.pls import _score_pls
from brainnet.encoding.tail import _check_tail, _tail_p_values
from brainnet.join import align_responses, layer_names
from brainnet.log import logger, set_log_level
from brainnet.responses import RESPONSE_DIMS


def fit_encoding(
    activations: xr.Dataset,
    responses: xr.Dataset,
    *,
    estimator: str = "ridge",
    n_folds: int = 5,
    groups: str | None = None,
    alphas: Sequence[float] | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
    fdr_alpha: float = 0.05,
    correction: str = "fdr",
    pls_components: int = 25,
    refit_alpha: bool = False,
    tail: str | None = "gpd",
    min_reliability: float = DEFAULT_MIN_RELIABILITY,
    device: str = "cpu",
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Fit cross-validated encoding models from every layer to every target.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer with dims ``(stimulus, feature_<layer>)`` and the
        coordinate ``stimulus_id``; attribute ``layers`` gives the layer order
        (the data variables in order when absent).
    responses : xarray.Dataset
        ``response (stimulus, channel, band, window)`` with coordinate
        ``stimulus_id``; optional ``split_half (half, stimulus, channel, band,
        window)`` for the noise ceiling and ``responsive (channel, band,
        window)``, which is carried into the result.
    estimator : ``"ridge"`` | ``"pls"``
        Ridge regression with a penalty per target chosen by leave-one-out
        inside each training fold, or partial least squares
        (:class:`sklearn.cross_decomposition.PLSRegression`, fitted jointly on
        all targets, as in Brain-Score).
    n_folds : int
        Number of outer cross-validation folds over stimuli (shuffled with
        ``seed``).
    groups : str | None
        Name of a stimulus coordinate (for example ``"category"``) whose values
        are kept together in one fold, so that the model is tested on unseen
        groups. ``None`` splits stimuli freely.
    alphas : sequence of float | None
        Ridge penalties to choose from, on features centred and scaled to unit
        total variance (see :mod:`brainnet.encoding.scaling`): a penalty is
        about the noise to signal variance ratio of the response. ``None``
        uses :data:`~brainnet.encoding.DEFAULT_ALPHAS`. When more than 10% of
        a layer's fold choices sit on an edge of the grid that matters (see
        :mod:`brainnet.encoding.alphas`), one warning naming
        ``encoding.alphas`` lists the layers.
    n_permutations : int
        Number of permutations of the stimulus labels of the responses. The
        same permutations serve every layer and target. ``0`` skips the test
        (``p`` and ``p_fdr`` are then NaN).
    seed : int
        Seed of the fold assignment and of the permutations.
    fdr_alpha : float
        Level of the correction at which ``significant`` is set: the false
        discovery rate, or the family-wise error rate of ``correction``.
    correction : ``"fdr"`` | ``"maxstat"`` | ``"cluster"``
        What ``significant`` controls. ``"fdr"`` (default): Benjamini-Hochberg
        over all layers, channels, bands and windows. ``"maxstat"`` (Westfall-
        Young max-T) or ``"cluster"`` (cluster-based permutation over adjacent
        bands and windows): the family-wise error rate over each channel's
        band x window grid, per layer, from the same permutation null (see
        :mod:`brainnet.correction`); adds ``p_fwer``. Needs permutations.
    pls_components : int
        Number of PLS components (capped by the features and training stimuli
        of each layer).
    refit_alpha : bool
        Ridge only. ``False`` (default): each permutation keeps the penalty
        chosen for the target in each fold on the real data, so a permuted fit
        is one precomputed linear map per penalty (about n_test x n_train
        operations per target instead of n_alphas x n_train^2). This null is
        slightly wider than the refitted one (conservative: it costs a little
        power, never adds false positives; see the tests). ``True``:
        penalties are chosen afresh by leave-one-out in every permutation, the
        exact null of the whole procedure including the selection, at about
        the cost of the observed fit per permutation.
    tail : ``"gpd"`` | None
        ``"gpd"`` (default): where fewer than 10 permuted scores exceed the
        observed one, ``p`` comes from a generalised Pareto fit of the tail of
        the target's permutation null (shape clipped at 0, conservative; see
        :mod:`brainnet.encoding.tail`), so that p-values below the permutation
        floor ``1 / (1 + n_permutations)`` can pass FDR over many tests. Needs
        ``n_permutations >= 250``; with fewer it does nothing. ``None``: plain
        permutation p-values.
    min_reliability : float
        Reliability floor of the noise ceiling: below it, or where the
        split-half correlation is not significantly positive, ``noise_ceiling``
        and ``r_ceiled`` are NaN and ``noise_ceiling_reason`` says why (see
        :mod:`brainnet.encoding.ceiling`).
    device : ``"cpu"`` | ``"cuda"`` | ``"cuda:N"`` | ``"auto"``
        ``"cpu"`` (default): NumPy, the reference. A CUDA device: ridge with
        fixed-penalty permutations runs in torch there
        (:mod:`brainnet.encoding.device_ridge`: float64 decomposition,
        penalty choice and observed scores, float32 permutation products, null
        scores near the observed one recomputed in float64, so that p-values are
        those of the reference); PLS and ``refit_alpha`` stay on NumPy. See
        :func:`brainnet.device.resolve_device`.
    verbose : bool | str | int | None
        Logging level for this call (see :func:`brainnet.log.set_log_level`);
        a progress bar over layers is shown at ``"info"`` and below.

    Returns
    -------
    scores : xarray.Dataset
        Dims ``(layer, channel, band, window)``, with all channel, band and
        window coordinates of ``responses`` and ``layer_index``:

        ``r``
            Held-out Pearson r: the correlation between the predictions and
            the responses of each outer fold's held-out stimuli, averaged
            over folds (see :mod:`brainnet.encoding.pearson`). Its null is
            centred on 0.
        ``p``
            Permutation p-value, ``(1 + #{r_null >= r}) / (1 + n_permutations)``,
            or the tail fit's where ``p_tail``.
        ``p_tail``
            Whether ``p`` comes from the tail fit (see ``tail``).
        ``p_fdr``
            Benjamini-Hochberg adjusted p over all layers, channels, bands and
            windows.
        ``p_fwer``
            Only with ``correction`` ``"maxstat"`` or ``"cluster"``: the
            family-wise corrected p over the channel's band x window grid.
        ``significant``
            ``p_fdr <= fdr_alpha``, or ``p_fwer <= fdr_alpha``.
        ``alpha``
            Ridge penalty: geometric median over folds of the per-fold choice
            (a grid value when ``n_folds`` is odd); NaN for PLS.
        ``reliability`` (channel, band, window)
            Spearman-Brown corrected split-half reliability (see
            :func:`~brainnet.encoding.noise_ceiling`); NaN without ``split_half``.
        ``noise_ceiling`` (channel, band, window)
            ``reliability`` where it passes the floor (``min_reliability``
            and significance), else NaN.
        ``noise_ceiling_reason`` (channel, band, window)
            ``"ok"``, or why ``noise_ceiling`` is NaN.
        ``r_ceiled``
            ``r / sqrt(noise_ceiling)``: the correlation corrected for
            attenuation by measurement noise; NaN where ``noise_ceiling`` is.
        ``responsive``
            Copied from ``responses`` when present.

    Raises
    ------
    ValueError
        On stimulus ids that do not match, NaN or infinite values, a constant
        layer or response, too few stimuli or groups for ``n_folds``, or bad
        settings; the message names the layer, target or ids at fault.

    Notes
    -----
    ``r`` is averaged over folds rather than computed on the pooled
    out-of-fold predictions, whose r is biased below zero under the null
    (each fold's intercept, the training mean, moves opposite to the held-out
    mean; see :mod:`brainnet.encoding.pearson`). The permutation null scores
    every permuted target the same way.

    The correction ``r / sqrt(noise_ceiling)`` is Spearman's correction for
    attenuation: the reliability is the squared correlation between the
    measured mean response and its noiseless value, so ``sqrt(noise_ceiling)``
    is the largest correlation any model can reach. Dividing by the
    reliability itself (as Brain-Score does for its consistency ceiling) would
    mix a correlation with a squared correlation.

    Permutations reuse each fold's decomposition: with ``refit_alpha`` they
    are extra columns of the same leave-one-out products, without it they go
    through the fold's hat map of the chosen penalty, one matrix product per
    block of permutations (see :mod:`brainnet.encoding.null`). PLS refits once
    per permutation and fold. Memory per layer is ``(1 + n_permutations)
    n_targets`` floats for the null scores, plus working blocks of
    :data:`brainnet.encoding.memory._BLOCK_BYTES` and ``len(alphas)
    n_train^2`` floats for the per-fold factors (capped; see
    :mod:`brainnet.encoding.memory`).
    """
    with _log_level(verbose):
        alphas = _check_settings(
            estimator, n_folds, groups, alphas, n_permutations, fdr_alpha, pls_components
        )
        _check_null_settings(tail, correction, n_permutations, min_reliability)
        device = _torch_device(device, estimator, refit_alpha)
        layers = layer_names(activations)
        aligned = align_responses(activations, responses)
        template, targets = _flat_targets(aligned)
        splits = _folds(activations, aligned, targets.shape[0], n_folds, groups, seed)
        perms = _permutations(targets.shape[0], n_permutations, seed)
        logger.info(
            "encoding: %d layers, %d stimuli, %d targets, %s, %d folds, %d permutations",
            *(len(layers), *targets.shape, estimator, n_folds, n_permutations),
        )

        r, p, p_tail, p_fwer, alpha = _score_layers(
            activations,
            layers,
            targets,
            splits,
            perms,
            estimator=estimator,
            alphas=alphas,
            refit_alpha=refit_alpha,
            pls_components=pls_components,
            tail=tail,
            correction=(correction, template.shape),
            device=device,
        )
        scores = _assemble(
            template,
            layers,
            r=r,
            p=p,
            p_tail=p_tail,
            p_fwer=p_fwer if correction in FAMILY_CORRECTIONS else None,
            alpha=alpha,
            fdr_alpha=fdr_alpha,
        )
        _add_ceiling(scores, aligned, template, min_reliability)
        if "responsive" in aligned.data_vars:
            scores["responsive"] = aligned["responsive"].transpose(*RESPONSE_DIMS[1:])
        _describe(scores)
        scores.attrs = {
            "estimator": estimator,
            "n_folds": n_folds,
            "groups": groups,
            "alphas": alphas.tolist() if estimator == "ridge" else None,
            "n_permutations": n_permutations,
            "seed": seed,
            "fdr_alpha": fdr_alpha,
            "correction": correction,
            "pls_components": pls_components if estimator == "pls" else None,
            "refit_alpha": refit_alpha,
            "tail": tail,
            "min_reliability": min_reliability,
            **_provenance(activations, device),
        }
        return scores


def _check_null_settings(tail, correction: str, n_permutations: int, min_reliability) -> None:
    """The settings of the null, its corrections and the noise ceiling."""
    _check_tail(tail)
    check_correction(correction, "encoding.correction")
    if correction in FAMILY_CORRECTIONS and n_permutations == 0:
        raise ValueError(f"encoding.correction {correction!r} needs n_permutations > 0")
    _check_min_reliability(min_reliability)


def _provenance(activations: xr.Dataset, device) -> dict:
    """Where the scores were computed, and from which model."""
    return {
        "device": "cpu" if device is None else str(device),
        "model": activations.attrs.get("model"),
        "sklearn_version": sklearn.__version__,
    }


def _score_layers(
    activations: xr.Dataset,
    layers: list[str],
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    *,
    estimator: str,
    alphas: np.ndarray,
    refit_alpha: bool,
    pls_components: int,
    tail: str | None,
    correction: tuple[str, tuple[int, ...]],
    device,
) -> tuple[np.ndarray, ...]:
    """r, p, whether p is from the tail fit, the family-wise corrected p and the
    reported ridge penalty, each ``(n_layers, n_targets)``; p is NaN without
    permutations, the corrected p NaN unless ``correction`` (its name and the
    ``(channel, band, window)`` shape of the targets) asks for one, the penalty
    NaN for PLS. Penalties on an edge of the grid are reported once, for all
    layers. Each layer's null is reduced to its corrected p before the next
    layer's is computed."""
    r, p, p_fwer, alpha = np.full((4, len(layers), targets.shape[1]), np.nan)
    method, grid = correction
    p_tail = np.zeros(r.shape, dtype=bool)
    edges = {}
    show = logger.isEnabledFor(logging.INFO)
    for i, name in enumerate(tqdm(layers, desc="encoding", unit="layer", disable=not show)):
        features = _layer_features(activations, name)
        if estimator == "ridge":
            r_all, chosen, saturated = _ridge_scores(
                features, targets, splits, perms, alphas, refit_alpha, device
            )
            alpha[i] = _fold_median(alphas[chosen])
            edges[name] = _edge_shares(chosen, len(alphas), saturated)
        else:
            r_all = _score_pls(features, targets, splits, perms, pls_components)
        r[i] = r_all[0]
        if perms.shape[1] > 1:
            p[i] = _p_values(r_all)
            if tail == "gpd":
                p[i], p_tail[i] = _tail_p_values(r_all, p[i])
            if method in FAMILY_CORRECTIONS:
                p_fwer[i] = family_p(r_all.reshape(-1, *grid), method).reshape(-1)
        logger.debug("layer %s: median r = %.3f", name, np.median(r[i]))
    _warn_grid_edges(edges)
    return r, p, p_tail, p_fwer, alpha


def _assemble(
    template: xr.DataArray, layers: list[str], *, r, p, p_tail, p_fwer, alpha, fdr_alpha
) -> xr.Dataset:
    """Scores over (layer, channel, band, window) with FDR over all of them, and the
    family-wise corrected p unless it is None (``significant`` then follows it)."""
    p_fdr = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        p_fdr[tested] = stats.false_discovery_control(p[tested], method="bh")
    dims = ("layer",) + template.dims
    shape = (len(layers),) + template.shape
    data = {
        "r": r,
        "p": p,
        "p_tail": p_tail,
        "p_fdr": p_fdr,
        "significant": p_fdr <= fdr_alpha,
        "alpha": alpha,
    }
    if p_fwer is not None:
        data.update(p_fwer=p_fwer, significant=p_fwer <= fdr_alpha)
    scores = xr.Dataset(
        {name: (dims, values.reshape(shape)) for name, values in data.items()},
        coords=template.coords,
    )
    return scores.assign_coords(layer=list(layers), layer_index=("layer", range(len(layers))))


def _describe(scores: xr.Dataset) -> None:
    descriptions = {
        "r": "held-out Pearson r, per outer fold, averaged over folds",
        "p": "permutation p-value, (1 + #{r_null >= r}) / (1 + n_permutations), or tail fit",
        "p_tail": "p from a generalised Pareto fit of the permutation null's tail",
        "p_fdr": "Benjamini-Hochberg adjusted p over layers, channels, bands, windows",
        "p_fwer": "family-wise corrected p over the channel's band x window grid",
        "significant": "p_fdr <= fdr_alpha",
        "alpha": "ridge penalty, geometric median over folds of the per-fold choice",
        "reliability": "Spearman-Brown corrected split-half reliability, 2 r_sh / (1 + r_sh)",
        "noise_ceiling": "reliability where it passes the floor, else NaN",
        "noise_ceiling_reason": "ok, or why noise_ceiling is NaN",
        "r_ceiled": "r / sqrt(noise_ceiling), r corrected for attenuation by noise",
    }
    if "p_fwer" in scores:
        descriptions["significant"] = "p_fwer <= fdr_alpha"
    for name, text in descriptions.items():
        if name in scores:
            scores[name].attrs["long_name"] = text


def _ridge_scores(features, targets, splits, perms, alphas, refit_alpha, device):
    """r of every permutation, chosen penalties and saturation: NumPy (``device``
    None), or torch on ``device``."""
    if device is None:
        return _score_ridge(features, targets, splits, perms, alphas, refit_alpha)
    from brainnet.encoding.device_ridge import _score_ridge_device

    return _score_ridge_device(features, targets, splits, perms, alphas, device)


def _torch_device(device, estimator: str, refit_alpha: bool):
    """The torch device of ``encoding.device``, None for NumPy: the CPU, PLS and
    ``refit_alpha``."""
    resolved = accelerator(device, "encoding.device")
    if resolved is None:
        return None
    if estimator != "ridge" or refit_alpha:
        what = "pls" if estimator != "ridge" else "refit_alpha"
        logger.info(
            "encoding: %s runs on NumPy (the %s path is ridge, fixed penalties)", what, resolved
        )
        return None
    return resolved


@contextmanager
def _log_level(verbose: bool | str | int | None) -> Iterator[None]:
    """Apply ``verbose`` for one call and restore the previous level (as MNE does)."""
    previous = logger.level
    set_log_level(verbose)
    try:
        yield
    finally:
        logger.setLevel(previous)
