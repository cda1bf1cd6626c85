"""Representational similarity analysis: RDMs, RDM comparison, permutation statistics.

brainnet follows Kuzovkin et al. (2018): for every channel, band and window
the brain RDM holds the absolute differences ``|r_i - r_j|`` of one scalar
response per stimulus; for every layer the model RDM holds the Euclidean
distances between activation patterns; the two are compared by Spearman's
rho, and a channel-layer pair counts when its stimulus-label permutation
p-value is at most 0.001 (10,000 permutations).

Representation
--------------
An RDM is a symmetric ``(n, n)`` matrix with a zero diagonal. Sets of RDMs are
stacks ``(k, n, n)``. The *condensed* form keeps the upper triangle as a vector
of ``n (n - 1) / 2`` dissimilarities in the order of
:func:`scipy.spatial.distance.squareform` (row by row, ``i < j``), which is also
the order of rsatoolbox's ``RDMs.get_vectors()`` and of MATLAB's
``squareform``. :func:`to_vectors` and :func:`to_matrices` convert between the
two; every function of the array API accepts either form. An array whose last
two axes are equal is read as square matrices, anything else as condensed
vectors.

Why the permutation test is fast
--------------------------------
Permuting the stimulus labels of a brain RDM (the same permutation applied to
its rows and columns) only reorders its dissimilarities, so ranks, means and
norms are unchanged: for rank correlations the ranked, centred vectors are
computed once and every permutation is a reordering. Correlating the model
RDM with a permuted brain RDM equals correlating the inversely permuted model
RDM with the brain RDM, so each block of permutations reorders the few model
RDMs (one per layer), and one matrix product (BLAS, float32) scores that block
against thousands of brain RDMs at once. Ranks are stored as the exact
integers ``2 rank - (Q + 1)`` (``Q`` compared dissimilarities); the rare null
values within ``1e-6`` of the observed statistic are recomputed exactly in
float64, so ties count as exceedances exactly as in a float64 loop over
:func:`scipy.stats.spearmanr`. With Besag-Clifford stopping, pairs that are
clearly not significant leave the matrix products after a few dozen
permutations. ``benchmarks/rsa.py`` measures the speed-up over that loop and
over rsatoolbox.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import stats
from scipy.spatial.distance import pdist
from tqdm.auto import tqdm

from brainnet.join import align_responses, layer_names, stimulus_ids, stimulus_order
from brainnet.log import logger, set_log_level
from brainnet.responses import RESPONSE_DIMS

__all__ = [
    "COMPARE_METHODS",
    "METRICS",
    "PERMUTATION_METHODS",
    "PermutationResult",
    "check_rdms",
    "compare_rdms",
    "compute_rdm",
    "make_permutations",
    "noise_ceiling",
    "permutation_test",
    "rsa_precomputed",
    "rsa_scores",
    "scalar_rdm",
    "to_matrices",
    "to_vectors",
]

#: Distance metrics of :func:`compute_rdm` (names of :func:`scipy.spatial.distance.pdist`).
METRICS = ("euclidean", "correlation", "cosine")
#: RDM comparison methods of :func:`compare_rdms`.
COMPARE_METHODS = ("spearman", "pearson", "kendall_tau_a", "spearman_full")
#: Methods with a fast permutation test (:func:`permutation_test` and the stages).
PERMUTATION_METHODS = ("spearman", "pearson", "spearman_full")
_CRITERIA = ("p", "fdr")
_LEVELS = ("channel", "region")
_STOPPING = (None, "besag_clifford")
_RDM_DIMS = ("channel", "stimulus", "stimulus_other")
_SCORE_DIMS = ("layer", "channel", "band", "window")
_REGION_DIMS = ("layer", "region", "band", "window")
# Null values closer than this to the observed statistic are recomputed in
# float64. Float32 products of the ranked vectors of 250 stimuli err by at most
# ~1e-8 in rho (measured), so the margin leaves a factor of 100.
_MARGIN = 1e-6
# Symmetry and zero-diagonal tolerance, relative to the largest dissimilarity
# (files written in float32 or by other toolboxes differ by a few ulp).
_RTOL = 1e-6
# Rows ranked or scored in float64 at once: bounds transient memory.
_ROWS = 256
_FIRST_BLOCK = 32
_IDS_SHOWN = 5


# --------------------------------------------------------------------------- RDMs


def compute_rdm(patterns: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """Compute the RDM of response or activation patterns.

    Parameters
    ----------
    patterns : array, shape (n_stimuli, n_features)
        One pattern per stimulus.
    metric : ``"euclidean"`` | ``"correlation"`` | ``"cosine"``
        Distance between patterns, as :func:`scipy.spatial.distance.pdist`
        defines it (correlation distance is ``1 - Pearson r``).

    Returns
    -------
    rdm : array, shape (n_stimuli, n_stimuli)
        Symmetric, zero diagonal.
    """
    return to_matrices(_pdist(patterns, metric, "patterns"))


def scalar_rdm(responses: np.ndarray) -> np.ndarray:
    """Absolute response differences ``|r_i - r_j|`` for many targets at once.

    Parameters
    ----------
    responses : array, shape (n_stimuli,) or (n_stimuli, n_targets)
        One scalar response per stimulus and target (channel, band, window).

    Returns
    -------
    vectors : array, shape (n_pairs,) or (n_targets, n_pairs)
        Condensed RDMs (see the module notes), ``n_pairs = n (n - 1) / 2``;
        equal to ``pdist(r[:, None], "euclidean")`` for each target.
    """
    r = np.asarray(responses, dtype=np.float64)
    if r.ndim not in (1, 2):
        raise ValueError(
            f"responses must be (n_stimuli,) or (n_stimuli, n_targets), got shape {r.shape}"
        )
    _check_n(r.shape[0], "responses")
    bad = ~np.isfinite(r)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise ValueError(
            f"responses hold {bad.sum()} NaN or infinite values, e.g. at "
            f"(stimulus, target) index {tuple(int(i) for i in where)}"
        )
    rows, cols = np.triu_indices(r.shape[0], 1)
    return np.abs(r[rows] - r[cols]).T


def to_vectors(rdms: np.ndarray, name: str = "rdms") -> np.ndarray:
    """Condense square RDMs ``(..., n, n)`` to upper-triangle vectors ``(..., n (n-1)/2)``.

    The RDMs are validated first (see :func:`check_rdms`).
    """
    rdms = check_rdms(rdms, name)
    rows, cols = np.triu_indices(rdms.shape[-1], 1)
    return rdms[..., rows, cols]


def to_matrices(vectors: np.ndarray) -> np.ndarray:
    """Expand condensed vectors ``(..., n (n-1)/2)`` to square RDMs ``(..., n, n)``."""
    vectors = np.asarray(vectors)
    n = _n_from_pairs(vectors.shape[-1], "vectors")
    rows, cols = np.triu_indices(n, 1)
    out = np.zeros((*vectors.shape[:-1], n, n), dtype=np.result_type(vectors, np.float64))
    out[..., rows, cols] = vectors
    out[..., cols, rows] = vectors
    return out


def check_rdms(rdms: np.ndarray, name: str = "rdms") -> np.ndarray:
    """Validate square RDMs and return them as float64 with an exact zero diagonal.

    Parameters
    ----------
    rdms : array, shape (n, n) or (..., n, n)
        Square RDMs.
    name : str
        How errors name the array (a file or variable name).

    Returns
    -------
    rdms : array
        A float64 copy, made exactly symmetric (the mean of ``d_ij`` and
        ``d_ji``, which may differ by rounding, up to ``1e-6`` of the largest
        dissimilarity); a NaN or near-zero diagonal becomes exactly zero.

    Raises
    ------
    ValueError
        Not square, fewer than 3 stimuli, NaN or infinite off-diagonal values,
        a non-zero diagonal or asymmetry; the message names ``name`` and the
        index of the first offending RDM.
    """
    a = np.array(rdms, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: RDMs must be square (..., n, n), got shape {a.shape}")
    n = a.shape[-1]
    _check_n(n, name)
    stack = a.reshape(-1, n, n)
    off = ~np.eye(n, dtype=bool)
    scale = np.nanmax(np.abs(np.where(off, stack, 0.0)), axis=(1, 2))
    for i, m in enumerate(stack):
        label = name if stack.shape[0] == 1 else f"{name}[{_unravel(i, a.shape[:-2])}]"
        if not np.isfinite(m[off]).all():
            bad = np.argwhere(~np.isfinite(m) & off)[0]
            raise ValueError(
                f"{label}: NaN or infinite dissimilarity at stimuli {tuple(int(j) for j in bad)}"
            )
        tol = _RTOL * scale[i]
        diag = np.diagonal(m)
        if (np.abs(diag[np.isfinite(diag)]) > tol).any() or np.isinf(diag).any():
            raise ValueError(
                f"{label}: the diagonal must be zero (or NaN), found values up "
                f"to {np.nanmax(np.abs(diag)):.3g}"
            )
        asym = np.abs(m - m.T)[off].max()
        if asym > tol:
            raise ValueError(f"{label}: RDM is not symmetric (max |d_ij - d_ji| = {asym:.3g})")
    np.einsum("...ii->...i", a)[...] = 0.0
    return (a + np.swapaxes(a, -1, -2)) / 2.0


# --------------------------------------------------------------------------- comparison


def compare_rdms(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> np.ndarray:
    """Similarity of every RDM in ``a`` with every RDM in ``b``.

    Parameters
    ----------
    a, b : array
        RDM sets over the same stimuli in the same order, square
        ``(k, n, n)``/``(n, n)`` or condensed ``(k, n_pairs)``/``(n_pairs,)``.
    method : str
        * ``"spearman"``: Spearman's rho between the upper triangles (average
          ranks for ties), equal to rsatoolbox's ``"spearman"``.
        * ``"pearson"``: Pearson's r between the upper triangles, equal to
          rsatoolbox's ``"corr"``.
        * ``"kendall_tau_a"``: Kendall's tau-a between the upper triangles,
          ``(concordant - discordant) / (n_pairs (n_pairs - 1) / 2)`` with no
          tie correction in the denominator, equal to rsatoolbox's ``"tau-a"``
          (the right choice for models that predict tied dissimilarities).
        * ``"spearman_full"``: the variant of the reference study's code
          (Kuzovkin et al. 2018, ``RSAScorer.compute_one_correlation_score``):
          each full ``n x n`` matrix is first min-max scaled column by column
          (:class:`sklearn.preprocessing.MinMaxScaler`, which makes it
          asymmetric), then Spearman's rho is taken over all ``n^2`` entries,
          diagonal included and every pair twice.

    Returns
    -------
    similarity : array, shape (k_a, k_b)
        NaN where an RDM is constant (a correlation is undefined); tau-a is 0
        there, as in rsatoolbox.
    """
    _check_choice(method, COMPARE_METHODS, "method")
    va, vb = _as_vectors(a, "a"), _as_vectors(b, "b")
    if va.shape[1] != vb.shape[1]:
        raise ValueError(
            f"a and b hold RDMs of different sizes: {_n_from_pairs(va.shape[1])} "
            f"and {_n_from_pairs(vb.shape[1])} stimuli"
        )
    return _similarity(_method_space(va, method), _method_space(vb, method), method)


def noise_ceiling(
    rdms: np.ndarray, groups: Sequence | None = None, method: str = "spearman"
) -> tuple[float, float]:
    """Lower and upper bound of the noise ceiling of a set of brain RDMs.

    As in Nili et al. (2014) and rsatoolbox's ``boot_noise_ceiling``: the
    upper bound is the mean similarity of each group's RDMs with the pooled
    RDM of all groups; the lower bound is the same with the pooled RDM of the
    other groups (leave one group out). Pooling follows rsatoolbox: the mean of
    the ranked RDMs for rank methods, the mean of the z-scored RDMs for
    ``"pearson"``. A model cannot be expected to exceed the upper bound, and
    one that reaches the lower bound explains the data as well as the other
    subjects do.

    Parameters
    ----------
    rdms : array
        Square ``(k, n, n)`` or condensed ``(k, n_pairs)`` RDMs, ``k >= 2``.
    groups : sequence, optional
        A label per RDM (e.g. the subject), so that all RDMs of a subject are
        left out together; each RDM is its own group by default. The
        similarities of a group's RDMs are averaged before averaging over groups.
    method : str
        A method of :func:`compare_rdms`.

    Returns
    -------
    lower, upper : float
    """
    _check_choice(method, COMPARE_METHODS, "method")
    vectors = _as_vectors(rdms, "rdms")
    labels = np.arange(len(vectors)) if groups is None else np.asarray(groups)
    if labels.shape != (len(vectors),):
        raise ValueError(
            f"groups must hold one label per RDM ({len(vectors)}), got {labels.shape}"
        )
    unique = np.unique(labels)
    if unique.size < 2:
        raise ValueError(
            f"a noise ceiling needs RDMs from at least 2 groups (subjects), got {unique.size}"
        )
    space = _method_space(vectors, method)
    pooled_all = _pool(space, method)
    lower, upper = [], []
    for label in unique:
        test = space[labels == label]
        pooled_rest = _pool(space[labels != label], method)
        lower.append(np.mean(_similarity(pooled_rest[None], test, method)))
        upper.append(np.mean(_similarity(pooled_all[None], test, method)))
    return float(np.mean(lower)), float(np.mean(upper))


# --------------------------------------------------------------------------- permutations


@dataclass(frozen=True)
class PermutationResult:
    """Result of :func:`permutation_test`; every array is ``(n_models, n_brain)``.

    Attributes
    ----------
    statistic : array of float
        The observed similarity (NaN for a constant RDM).
    pvalue : array of float
        ``(1 + #{null >= observed}) / (1 + n_permutations)``; with Besag-Clifford
        stopping, ``h / l`` for a pair stopped after ``l < n_permutations``
        permutations.
    n_permutations : array of int
        Permutations actually used for each pair.
    significant : array of bool
        The decision of the chosen criterion.
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    n_permutations: np.ndarray
    significant: np.ndarray


def make_permutations(n_stimuli: int, n_permutations: int, seed: int = 0) -> np.ndarray:
    """Draw stimulus-label permutations, one per row.

    Row ``perm`` relabels the stimuli of a brain RDM ``B`` as ``B[perm][:, perm]``
    (:func:`numpy.ix_`); the same rows serve every layer and every brain RDM.

    Returns
    -------
    permutations : array of int, shape (n_permutations, n_stimuli)
    """
    _check_n(n_stimuli, "n_stimuli")
    if n_permutations < 0:
        raise ValueError(f"n_permutations must be >= 0, got {n_permutations}")
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(np.arange(n_stimuli), (n_permutations, 1)), axis=1)


def permutation_test(
    model_rdms: np.ndarray,
    brain_rdms: np.ndarray,
    n_permutations: int = 10000,
    method: str = "spearman",
    seed: int = 0,
    *,
    permutations: np.ndarray | None = None,
    stopping: str | None = None,
    h: int | None = None,
    criterion: str = "p",
    alpha: float = 0.001,
    block: int = 256,
    verbose: bool | str | int | None = None,
) -> PermutationResult:
    """Stimulus-label permutation test of every model RDM against every brain RDM.

    Parameters
    ----------
    model_rdms, brain_rdms : array
        Square or condensed RDM sets over the same stimuli in the same order.
    n_permutations : int
        Number of permutations (ignored when ``permutations`` is given).
    method : ``"spearman"`` | ``"pearson"`` | ``"spearman_full"``
        See :func:`compare_rdms`.
    seed : int
        Seed of :func:`make_permutations`.
    permutations : array of int, shape (n_permutations, n_stimuli), optional
        Explicit permutations (e.g. from :func:`make_permutations`), applied to
        the brain RDMs as ``B[perm][:, perm]``.
    stopping : None | ``"besag_clifford"``
        Sequential stopping (Besag and Clifford 1991): a pair stops as soon as
        ``h`` null values reached the observed one, with ``p = h / l`` after
        ``l`` permutations; clearly non-significant pairs stop after a few
        dozen permutations.
    h : int, optional
        Exceedances that stop a pair. The default, ``floor(alpha *
        n_permutations) + 1``, makes every decision (``p <= alpha`` and FDR at
        level ``alpha``) identical to the full run, because a stopped pair has
        ``p > alpha`` either way.
    criterion : ``"p"`` | ``"fdr"``
        ``"p"``: significant when ``p <= alpha`` (the reference study uses
        ``alpha=0.001``). ``"fdr"``: Benjamini-Hochberg
        (:func:`scipy.stats.false_discovery_control`) at level ``alpha`` over
        all pairs of this call.
    alpha : float
        Threshold of the criterion.
    block : int
        Permutations scored per matrix product; memory grows with
        ``block x n_pairs``.
    verbose : bool | str | int | None
        Logging level (see :func:`brainnet.set_log_level`); a progress bar
        shows at ``"info"``.

    Returns
    -------
    result : PermutationResult

    Notes
    -----
    ``p = (1 + #{null >= observed}) / (1 + n_permutations)``, one-sided (a model
    that matches the brain has a large positive statistic). Ties count as
    exceedances; for rank methods ties are detected exactly.
    """
    set_log_level(verbose)
    _check_choice(method, PERMUTATION_METHODS, "method")
    models, brains = _as_vectors(model_rdms, "model_rdms"), _as_vectors(brain_rdms, "brain_rdms")
    if models.shape[1] != brains.shape[1]:
        raise ValueError(
            "model_rdms and brain_rdms hold RDMs of different sizes: "
            f"{_n_from_pairs(models.shape[1])} and "
            f"{_n_from_pairs(brains.shape[1])} stimuli"
        )
    if int(block) != block or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    if permutations is None:
        permutations = make_permutations(_n_from_pairs(models.shape[1]), n_permutations, seed)
    h = _check_test_settings(stopping, h, criterion, alpha, len(permutations))
    test = _Test(models, method, permutations, h, int(block))
    brain32, norm, statistic = test.brain(brains)
    state = test.run(brain32, norm)
    pvalue = test.pvalues(state)
    return PermutationResult(statistic, pvalue, state.used, _significant(pvalue, criterion, alpha))


# --------------------------------------------------------------------------- stages


def rsa_scores(
    activations: xr.Dataset,
    responses: xr.Dataset,
    *,
    level: str = "channel",
    metric: str = "euclidean",
    method: str = "spearman",
    n_permutations: int = 10000,
    stopping: str | None = None,
    h: int | None = None,
    criterion: str = "p",
    alpha: float = 0.001,
    responsive_only: bool = True,
    region_metric: str = "euclidean",
    seed: int = 0,
    chunk: int = 2048,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """RSA between every layer and every channel (or region), band and window.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer, dims ``(stimulus, feature_<layer>)``, coordinate
        ``stimulus_id``; attribute ``layers`` gives the layer order.
    responses : xarray.Dataset
        ``response (stimulus, channel, band, window)`` with coordinate
        ``stimulus_id`` and channel coordinates ``subject``, ``region``,
        ``region_rank``; optional ``responsive (channel, band, window)``.
        Joined to the activations on ``stimulus_id`` (a mismatch raises
        ``ValueError`` naming the ids).
    level : ``"channel"`` | ``"region"``
        ``"channel"``: one scalar brain RDM ``|r_i - r_j|`` per channel, band
        and window (Kuzovkin et al. 2018). ``"region"``: per subject, the RDM
        of the response patterns over the subject's responsive channels in a
        region (each channel z-scored over stimuli, distance
        ``region_metric``); the region score is the mean over subjects of the
        similarity with each subject's RDM, tested with the same permutations,
        with noise ceilings across subjects (:func:`noise_ceiling`).
    metric : ``"euclidean"`` | ``"correlation"`` | ``"cosine"``
        Distance of the model RDMs (the reference study: ``"euclidean"``).
    method : ``"spearman"`` | ``"pearson"`` | ``"spearman_full"``
        RDM comparison (see :func:`compare_rdms`).
    n_permutations : int
        Stimulus-label permutations per test; 0 gives similarities only
        (``p`` NaN).
    stopping, h, criterion, alpha
        See :func:`permutation_test`. The FDR family is every tested pair of
        one band and window.
    responsive_only : bool
        Test only the channels flagged ``responsive`` for a band and window
        (the others get ``rho`` but ``p`` NaN and are never significant) and
        build region RDMs from responsive channels only. Without a
        ``responsive`` variable every channel counts as responsive.
    region_metric : ``"euclidean"`` | ``"correlation"`` | ``"cosine"``
        Distance of the region RDMs (``level="region"``); correlation and
        cosine need at least 2 channels of a subject in the region.
    seed : int
        Seed of the permutations; the same permutations serve every test.
    chunk : int
        Brain RDMs scored together; memory is about ``chunk x n_pairs x 4``
        bytes (255 MB for 2048 RDMs of 250 stimuli).
    verbose : bool | str | int | None
        Logging level (see :func:`brainnet.set_log_level`).

    Returns
    -------
    scores : xarray.Dataset
        ``level="channel"``: over ``(layer, channel, band, window)``: ``rho``,
        ``p``, ``significant`` and ``n_permutations`` (used for each pair;
        fewer with sequential stopping, 0 when untested), and
        ``responsive (channel, band, window)``; the channel, band and window
        coordinates of ``responses`` and ``layer_index`` on ``layer``.
        ``level="region"``: the same four variables over
        ``(layer, region, band, window)``, and over ``(region, band, window)``
        ``noise_ceiling_lower``, ``noise_ceiling_upper`` (NaN with fewer than
        2 subjects), ``n_subjects`` and ``n_channels``; ``region_rank`` on
        ``region``. Attributes hold the settings and the model provenance.
    """
    set_log_level(verbose)
    h = _check_stage_settings(
        level, metric, method, n_permutations, chunk, stopping, h, criterion, alpha
    )
    _check_choice(region_metric, METRICS, "region_metric")
    layers = layer_names(activations)
    responses = align_responses(activations, responses, ("subject", "region"))
    response = responses["response"].transpose(*RESPONSE_DIMS)
    values = np.asarray(response.values, dtype=np.float64)
    _check_finite(values, response)
    tested = _tested_mask(responses, response, responsive_only)
    models = _model_rdms(activations, layers, metric)
    test = _Test(models, method, make_permutations(len(values), n_permutations, seed), h)
    logger.info(
        "rsa (%s level): %d layers, %d channels x %d bands x %d windows (%d tested), "
        "%d stimuli, %d permutations, stopping=%s",
        level,
        len(layers),
        *values.shape[1:],
        int(tested.sum()),
        len(values),
        n_permutations,
        stopping,
    )
    if level == "channel":
        out = _channel_scores(test, values, tested, chunk, scalar=True)
        ds = _channel_dataset(out, response, layers, tested, criterion, alpha)
    else:
        ds = _region_dataset(
            test,
            _region_units(values, tested, response, region_metric),
            response,
            layers,
            criterion,
            alpha,
        )
    ds.attrs.update(
        _provenance(activations),
        level=level,
        metric=metric,
        method=method,
        n_permutations=n_permutations,
        stopping=stopping,
        h=test.h,
        criterion=criterion,
        alpha=alpha,
        responsive_only=responsive_only,
        region_metric=region_metric,
        seed=seed,
    )
    return ds


def rsa_precomputed(
    activations: xr.Dataset,
    brain_rdms: xr.Dataset,
    *,
    level: str = "channel",
    metric: str = "euclidean",
    method: str = "spearman",
    n_permutations: int = 10000,
    stopping: str | None = None,
    h: int | None = None,
    criterion: str = "p",
    alpha: float = 0.001,
    seed: int = 0,
    chunk: int = 2048,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """RSA between every layer and precomputed brain RDMs (fMRI ROIs, neuron populations).

    Parameters
    ----------
    activations : xarray.Dataset
        As for :func:`rsa_scores`.
    brain_rdms : xarray.Dataset
        ``rdm (channel, stimulus, stimulus_other)`` with coordinate
        ``stimulus_id`` (and optionally ``stimulus_other_id``, which must
        repeat it); every ``channel`` is one RDM source (e.g. subject x ROI)
        with coordinates ``subject``, ``region`` and ``region_rank`` (see
        :mod:`brainnet.recordings.rdms`). Joined to the activations on
        ``stimulus_id`` (both axes are reordered to the activations).
    level : ``"channel"`` | ``"region"``
        ``"channel"``: one test per RDM source. ``"region"``: per region, the
        mean over subjects (each subject's RDMs averaged first) of the
        similarity with the model, tested with the same permutations, with
        noise ceilings across subjects (:func:`noise_ceiling`, leave one
        subject out).
    metric, method, n_permutations, stopping, h, criterion, alpha, seed, chunk, verbose
        As for :func:`rsa_scores`.

    Returns
    -------
    scores : xarray.Dataset
        As for :func:`rsa_scores`, with the single band ``"broadband"`` and
        the single window ``"all"``.
    """
    set_log_level(verbose)
    h = _check_stage_settings(
        level, metric, method, n_permutations, chunk, stopping, h, criterion, alpha
    )
    layers = layer_names(activations)
    rdm = _align_brain_rdms(activations, brain_rdms)
    labels = [f"brain_rdms channel {c!s}" for c in _channel_labels(rdm)]
    vectors = np.stack([to_vectors(m, name) for m, name in zip(rdm.values, labels, strict=True)])
    models = _model_rdms(activations, layers, metric)
    test = _Test(models, method, make_permutations(rdm.sizes["stimulus"], n_permutations, seed), h)
    template = _broadband(rdm)
    if level == "channel":
        tested = np.ones(template.shape[1:], dtype=bool)
        out = _channel_scores(test, vectors.T[:, :, None, None], tested, chunk, scalar=False)
        ds = _channel_dataset(out, template, layers, tested, criterion, alpha)
    else:
        regions, ranks = _region_table(rdm)
        units = _Units(
            [vectors],
            [rdm["region"].values.astype(str)],
            [rdm["subject"].values.astype(str)],
            [np.ones(len(vectors), int)],
            regions,
            ranks,
        )
        ds = _region_dataset(test, units, template, layers, criterion, alpha)
    ds.attrs.update(
        _provenance(activations),
        level=level,
        metric=metric,
        method=method,
        n_permutations=n_permutations,
        stopping=stopping,
        h=test.h,
        criterion=criterion,
        alpha=alpha,
        seed=seed,
    )
    return ds


# --------------------------------------------------------------------------- engine


class _Test:
    """Null exceedance counts of a fixed set of model RDMs against batches of brain RDMs.

    The model side is prepared once: centred comparison-space values as
    float32 ``n x n`` matrices, whose rows and columns each permutation of the
    stimuli reorders; the brain side is prepared per batch by :meth:`brain`.
    """

    def __init__(
        self,
        models: np.ndarray,
        method: str,
        permutations: np.ndarray,
        h: int | None,
        block: int = 256,
    ):
        n = _n_from_pairs(models.shape[1])
        self.method, self.h, self.block, self.n = method, h, block, n
        self.inverse = _inverse_permutations(permutations, n)
        self.model_centred, self.model_norm = _centered(models, method)
        if method == "spearman_full":
            self.mask = np.ones((n, n), dtype=bool)
            square = self.model_centred.reshape(len(models), n, n)
        else:
            self.mask = np.triu(np.ones((n, n), dtype=bool), 1)
            square = to_matrices(self.model_centred)
        self.model32 = square.astype(np.float32)  # (L, n, n)
        self.model_q = self.model32[:, self.mask]  # the identity permutation

    @property
    def n_permutations(self) -> int:
        return len(self.inverse)

    def brain(self, data: np.ndarray, scalar: bool = False):
        """Prepare brain RDMs: centred float32 vectors, norms and the similarity
        with every model (float64).

        ``data`` holds condensed RDMs ``(k, n_pairs)``, or with ``scalar``
        responses ``(n_stimuli, k)`` whose RDMs are built here, a few rows at a
        time so that the float64 intermediates stay small.
        """
        k = data.shape[1] if scalar else len(data)
        out = np.empty((k, int(self.mask.sum())), dtype=np.float32)
        norms, similarity = np.empty(k), np.empty((len(self.model32), k))
        for start in range(0, k, _ROWS):
            rows = slice(start, min(start + _ROWS, k))
            vectors = scalar_rdm(data[:, rows]) if scalar else data[rows]
            centred, norms[rows] = _centered(vectors, self.method)
            out[rows] = centred
            with np.errstate(invalid="ignore", divide="ignore"):
                similarity[:, rows] = (self.model_centred @ centred.T) / np.outer(
                    self.model_norm, norms[rows]
                )
        norms[norms == 0] = np.nan
        return out, norms, similarity

    def run(
        self,
        brain32: np.ndarray,
        brain_norm: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        start: int = 0,
        stop: int | None = None,
        state: _State | None = None,
    ) -> _State:
        """Count null exceedances for every model and every unit.

        A unit is one brain RDM, or with ``weights`` ``(k, g)`` a weighted mean
        of the similarities of several. Permutations ``start`` to ``stop`` are
        used (all by default), continuing ``state`` when given.
        """
        n_models = len(self.model32)
        stop = self.n_permutations if stop is None else min(stop, self.n_permutations)
        with np.errstate(divide="ignore", invalid="ignore"):
            # a constant RDM (zero norm) gets a NaN statistic and is not tested
            coef = 1.0 / np.outer(self.model_norm, brain_norm)
            observed = self._observed(brain32, coef, weights)
        state = _State.new(observed) if state is None else state
        active = [np.flatnonzero(row) for row in state.running]
        size = min(_FIRST_BLOCK, self.block) if self.h and not start else self.block
        gathered = np.empty((size, self.model_q.shape[1]), dtype=np.float32)
        done = start
        with tqdm(
            total=stop - start,
            desc="permutations",
            unit="perm",
            leave=False,
            disable=not _show_progress(),
        ) as bar:
            while done < stop and any(units.size for units in active):
                size = min(size, stop - done)
                if len(gathered) < size:
                    gathered = np.empty((size, gathered.shape[1]), dtype=np.float32)
                inverse = self.inverse[done : done + size]
                for i in range(n_models):
                    if active[i].size:
                        self._gather(i, inverse, gathered[:size])
                        exceed = self._exceedances(
                            i, gathered[:size], active[i], brain32, coef, weights, observed
                        )
                        active[i] = self._update(i, exceed, active[i], state)
                done += size
                bar.update(size)
                size = min(2 * size, self.block)
        state.running[:] = False
        for i, units in enumerate(active):
            state.running[i, units] = True
        return state

    def _gather(self, i, inverse, out):
        """Model ``i`` under each inverse permutation, in comparison-space order.

        Row by row (contiguous copies) then column by column (within cache):
        several times faster than one flat fancy index (``benchmarks/rsa.py``).
        """
        model = self.model32[i]
        for row, inv in zip(out, inverse, strict=True):
            row[:] = model[inv][:, inv][self.mask]

    def _observed(self, brain32, coef, weights):
        stat = _exact_dots(self.model_q, brain32) * coef
        if weights is None:
            return stat
        out = np.empty((len(stat), weights.shape[1]))
        for u in range(weights.shape[1]):
            cols = np.flatnonzero(weights[:, u])
            out[:, u] = [np.dot(row[cols], weights[cols, u]) for row in stat]
        return out

    def _exceedances(self, i, gathered, units, brain32, coef, weights, observed):
        """Boolean ``(block, units)``: null statistic >= observed, ties exact."""
        if weights is None:
            cols, w = units, None
        else:
            cols = np.flatnonzero(weights[:, units].any(axis=1))
            w = weights[np.ix_(cols, units)]
        brain = brain32 if cols.size == len(brain32) else brain32[cols]
        null = (gathered @ brain.T).astype(np.float64) * coef[i, cols]
        if w is not None:
            null = null @ w
        diff = null - observed[i, units]
        exceed = diff > _MARGIN
        for p, u in np.argwhere(np.abs(diff) <= _MARGIN):
            exact = self._exact_null(gathered[p], i, units[u], brain32, coef, weights)
            exceed[p, u] = exact >= observed[i, units[u]]
        return exceed

    @staticmethod
    def _exact_null(gathered, i, unit, brain32, coef, weights):
        """One null statistic in float64, computed as :meth:`_observed` does."""
        model = gathered.astype(np.float64)
        if weights is None:
            return np.dot(brain32[unit].astype(np.float64), model) * coef[i, unit]
        cols = np.flatnonzero(weights[:, unit])
        stat = (brain32[cols].astype(np.float64) @ model) * coef[i, cols]
        return np.dot(stat, weights[cols, unit])

    def _update(self, i, exceed, units, state: _State):
        """Add one block of exceedances; return the units still running."""
        if self.h is None:
            state.count[i, units] += exceed.sum(axis=0)
            state.used[i, units] += len(exceed)
            return units
        running = np.cumsum(exceed, axis=0) + state.count[i, units]
        hit = running[-1] >= self.h
        first = np.argmax(running >= self.h, axis=0) + 1
        state.used[i, units] += np.where(hit, first, len(exceed))
        state.count[i, units] = np.where(hit, self.h, running[-1])
        state.stopped[i, units] = hit & (state.used[i, units] < self.n_permutations)
        return units[~hit]

    def pvalues(self, state: _State) -> np.ndarray:
        """``(1 + count) / (1 + n_permutations)``, ``h / used`` for stopped pairs and
        NaN for pairs never tested (a constant RDM)."""
        p = (1.0 + state.count) / (1.0 + self.n_permutations)
        if self.h is not None:
            p = np.where(state.stopped, self.h / np.maximum(state.used, 1), p)
        return np.where(state.used > 0, p, np.nan)


@dataclass
class _State:
    """Per model and unit: exceedances, permutations used, whether the pair stopped
    early (Besag-Clifford) and whether it still runs."""

    count: np.ndarray
    used: np.ndarray
    stopped: np.ndarray
    running: np.ndarray

    @classmethod
    def new(cls, observed: np.ndarray) -> _State:
        zeros = np.zeros(observed.shape, dtype=np.int64)
        return cls(
            zeros, zeros.copy(), np.zeros(observed.shape, dtype=bool), np.isfinite(observed)
        )

    def select(self, units) -> _State:
        return _State(
            self.count[:, units],
            self.used[:, units],
            self.stopped[:, units],
            self.running[:, units],
        )

    @classmethod
    def concat(cls, states: list[_State]) -> _State:
        return cls(
            *(
                np.concatenate(parts, axis=1)
                for parts in zip(
                    *((x.count, x.used, x.stopped, x.running) for x in states), strict=True
                )
            )
        )


def _exact_dots(model_q: np.ndarray, brain32: np.ndarray) -> np.ndarray:
    """Float64 dot products of float32 vectors; exact for the integer-valued ranks."""
    model = model_q.astype(np.float64)
    out = np.empty((len(model), len(brain32)))
    for start in range(0, len(brain32), _ROWS):
        rows = slice(start, start + _ROWS)
        out[:, rows] = model @ brain32[rows].astype(np.float64).T
    return out


def _significant(p: np.ndarray, criterion: str, alpha: float) -> np.ndarray:
    """Decisions for one family of p-values (NaN: untested, never significant)."""
    finite = np.isfinite(p)
    out = np.zeros(p.shape, dtype=bool)
    if criterion == "p":
        out[finite] = p[finite] <= alpha
    elif finite.any():
        out[finite] = stats.false_discovery_control(p[finite], method="bh") <= alpha
    return out


# --------------------------------------------------------------------------- transforms


def _centered(vectors: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Centred comparison-space vectors of condensed RDMs, and their norms."""
    return _centered_space(_method_space(vectors, method), method)


def _centered_space(space: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Centre comparison-space vectors (ranked for rank methods); return them and
    their norms (float64).

    Ranks are stored doubled and centred, ``2 rank - (Q + 1)``: integers, so
    float32 holds them exactly and float64 sums of their products are exact.
    """
    if method == "pearson":
        centred = space - space.mean(axis=1, keepdims=True)
    else:
        centred = 2.0 * _rank_rows(space) - (space.shape[1] + 1)
    return centred, np.sqrt(np.einsum("ij,ij->i", centred, centred))


def _method_space(vectors: np.ndarray, method: str) -> np.ndarray:
    """The vectors a method correlates: the upper triangles, or for
    ``spearman_full`` the column-wise min-max scaled full matrices, flattened.

    The scaling repeats :class:`sklearn.preprocessing.MinMaxScaler`'s
    arithmetic (``x * scale + min``, near-constant columns get scale 1) so
    that rounding, and with it the ties among column maxima, is the same as in
    the reference study's code.
    """
    if method != "spearman_full":
        return vectors
    full = to_matrices(vectors)
    low, high = full.min(axis=-2, keepdims=True), full.max(axis=-2, keepdims=True)
    span = high - low
    span[span < 10 * np.finfo(np.float64).eps] = 1.0
    scale = 1.0 / span
    return (full * scale + (0.0 - low * scale)).reshape(len(vectors), -1)


def _similarity(x: np.ndarray, y: np.ndarray, method: str) -> np.ndarray:
    """Similarity of every row of ``x`` with every row of ``y`` (comparison space);
    NaN for a constant row."""
    if method == "kendall_tau_a":
        return np.array([[_tau_a(a, b) for b in y] for a in x])
    (cx, nx), (cy, ny) = _centered_space(x, method), _centered_space(y, method)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (cx @ cy.T) / np.outer(nx, ny)


def _pool(space: np.ndarray, method: str) -> np.ndarray:
    """Pooled RDM of a group, as rsatoolbox's ``pool_rdm`` does for the method."""
    if method == "pearson":
        centred = space - space.mean(axis=1, keepdims=True)
        return (centred / centred.std(axis=1, keepdims=True)).mean(axis=0)
    return _rank_rows(space).mean(axis=0)


def _rank_rows(x: np.ndarray) -> np.ndarray:
    """Average ranks (from 1) along the last axis, as ``scipy.stats.rankdata``.

    One argsort per row; each run of ties gets its mean position. About 3x
    faster than ``rankdata(x, axis=1)`` on RDM vectors (``benchmarks/rsa.py``).
    """
    x = np.atleast_2d(x)
    k, q = x.shape
    order = np.argsort(x, axis=1)
    ordered = np.take_along_axis(x, order, axis=1)
    new = np.ones((k, q), dtype=bool)
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new[:, 1:])
    if new.all():
        ranked = np.broadcast_to(np.arange(1.0, q + 1.0), (k, q))
    else:
        flat = new.ravel()
        starts = np.flatnonzero(flat)
        ends = np.append(starts[1:], flat.size) - 1
        mean_position = (starts + ends) / 2.0 - (starts // q) * q + 1.0
        ranked = mean_position[np.cumsum(flat) - 1].reshape(k, q)
    ranks = np.empty((k, q))
    np.put_along_axis(ranks, order, ranked, axis=1)
    return ranks


def _tau_a(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-a from SciPy's tau-b: ``tau_b sqrt((n0 - n1)(n0 - n2)) / n0``."""
    n0 = x.size * (x.size - 1) / 2.0
    scale = math.sqrt((n0 - _tied_pairs(x)) * (n0 - _tied_pairs(y)))
    if scale == 0:
        return 0.0
    return float(stats.kendalltau(x, y, variant="b").statistic * scale / n0)


def _tied_pairs(v: np.ndarray) -> float:
    _, counts = np.unique(v, return_counts=True)
    return float((counts * (counts - 1) / 2.0).sum())


# --------------------------------------------------------------------------- stage helpers


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


# --------------------------------------------------------------------------- validation


def _check_choice(value, choices, name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _check_n(n: int, name: str) -> None:
    if n < 3:
        raise ValueError(f"{name}: RSA needs at least 3 stimuli, got {n}")


def _n_from_pairs(n_pairs: int, name: str = "RDM vectors") -> int:
    n = int(round((1 + math.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs:
        raise ValueError(
            f"{name}: length {n_pairs} is not n (n - 1) / 2 for any number of "
            "stimuli n; pass square RDMs or condensed upper triangles"
        )
    _check_n(n, name)
    return n


def _unravel(i: int, shape: tuple) -> str:
    return ", ".join(str(int(j)) for j in np.unravel_index(i, shape)) if shape else str(i)


def _as_vectors(rdms, name: str) -> np.ndarray:
    """Square or condensed RDM set -> validated condensed float64 ``(k, n_pairs)``."""
    a = np.asarray(rdms, dtype=np.float64)
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2]:
        return to_vectors(a, name).reshape(-1, a.shape[-1] * (a.shape[-1] - 1) // 2)
    if a.ndim not in (1, 2):
        raise ValueError(
            f"{name}: expected square RDMs (k, n, n) or condensed vectors "
            f"(k, n_pairs), got shape {a.shape}"
        )
    a = a.reshape(-1, a.shape[-1])
    _n_from_pairs(a.shape[1], name)
    bad = ~np.isfinite(a)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{name}[{i}]: NaN or infinite dissimilarity at condensed index {j}")
    return a


def _pdist(patterns, metric: str, name: str) -> np.ndarray:
    _check_choice(metric, METRICS, "metric")
    x = np.asarray(patterns, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: patterns must be (n_stimuli, n_features), got {x.shape}")
    _check_n(len(x), name)
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(f"{name}: NaN or infinite values for stimuli {rows[:_IDS_SHOWN]}")
    d = pdist(x, metric)
    if not np.isfinite(d).all():
        rows = np.flatnonzero(
            np.ptp(x, axis=1) == 0 if metric == "correlation" else ~x.any(axis=1)
        )
        raise ValueError(
            f"{name}: {metric} distance is undefined for the constant patterns "
            f"of stimuli {rows[:_IDS_SHOWN]}"
        )
    return d


def _inverse_permutations(permutations, n: int) -> np.ndarray:
    perms = np.asarray(permutations)
    if perms.ndim != 2 or perms.shape[1] != n:
        raise ValueError(f"permutations must be (n_permutations, {n}), got {perms.shape}")
    bad = (np.sort(perms, axis=1) != np.arange(n)).any(axis=1)
    if bad.any():
        raise ValueError(
            f"permutations row {int(np.flatnonzero(bad)[0])} is not a permutation of 0..{n - 1}"
        )
    return np.argsort(perms, axis=1)


def _check_test_settings(stopping, h, criterion, alpha, n_permutations) -> int | None:
    """Validate the test settings; return ``h`` (None without stopping)."""
    _check_choice(stopping, _STOPPING, "stopping")
    _check_choice(criterion, _CRITERIA, "criterion")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if stopping is None:
        return None
    if h is None:
        return math.floor(alpha * n_permutations + 1e-9) + 1
    if int(h) != h or h < 1:
        raise ValueError(f"h must be a positive integer, got {h!r}")
    return int(h)


def _check_stage_settings(
    level, metric, method, n_permutations, chunk, stopping, h, criterion, alpha
) -> int | None:
    """Validate the settings of both stages; return ``h`` as :func:`_check_test_settings`."""
    _check_choice(level, _LEVELS, "level")
    _check_choice(metric, METRICS, "metric")
    _check_choice(method, PERMUTATION_METHODS, "method")
    if int(n_permutations) != n_permutations or n_permutations < 0:
        raise ValueError(f"n_permutations must be an integer >= 0, got {n_permutations!r}")
    if int(chunk) != chunk or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    return _check_test_settings(stopping, h, criterion, alpha, n_permutations)


def _show_progress() -> bool:
    return logger.isEnabledFor(logging.INFO)


# --------------------------------------------------------------------------- xarray inputs


def _layer_rdm(activations: xr.Dataset, name: str, metric: str) -> np.ndarray:
    var = activations[name]
    if var.ndim != 2 or var.dims[0] != "stimulus":
        raise ValueError(
            f"activations: layer {name!r} must have dims "
            f"(stimulus, feature_{name}), got {var.dims}"
        )
    return _pdist(var.values, metric, f"activations layer {name!r}")


def _model_rdms(activations: xr.Dataset, layers: list[str], metric: str) -> np.ndarray:
    models = np.stack([_layer_rdm(activations, name, metric) for name in layers])
    constant = [name for name, m in zip(layers, models, strict=True) if np.ptp(m) == 0]
    if constant:
        logger.warning(
            "rsa: layers %s have constant RDMs (identical activations for every "
            "stimulus); their similarities are NaN",
            constant,
        )
    return models


def _align_brain_rdms(activations: xr.Dataset, brain_rdms: xr.Dataset) -> xr.DataArray:
    if "rdm" not in brain_rdms:
        raise ValueError(f"brain_rdms lack the variable 'rdm'; found {list(brain_rdms)}")
    rdm = brain_rdms["rdm"]
    if set(rdm.dims) != set(_RDM_DIMS):
        raise ValueError(f"brain_rdms 'rdm' must have dims {_RDM_DIMS}, got {rdm.dims}")
    for name in ("subject", "region"):
        if name not in rdm.coords:
            raise ValueError(f"brain_rdms lack the channel coordinate {name!r}")
    ids = stimulus_ids(brain_rdms, "brain_rdms")
    if "stimulus_other_id" in brain_rdms.coords:
        other = stimulus_ids(brain_rdms, "brain_rdms", "stimulus_other", "stimulus_other_id")
        if not np.array_equal(ids, other):
            raise ValueError(
                "brain_rdms: 'stimulus_other_id' does not repeat 'stimulus_id' "
                "in the same order; the two RDM axes disagree"
            )
    order = stimulus_order(activations, ids, "brain_rdms", "a brain RDM")
    return rdm.transpose(*_RDM_DIMS).isel(stimulus=order, stimulus_other=order)


def _channel_labels(da: xr.DataArray) -> np.ndarray:
    if "channel" in da.coords:
        return da["channel"].values
    return np.arange(da.sizes["channel"])


def _check_finite(values: np.ndarray, response: xr.DataArray) -> None:
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        c, b, w = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"responses hold NaN or infinite values for {int(bad.sum())} targets, e.g. channel "
            f"{_channel_labels(response)[c]!s}, band {response['band'].values[b]!s}, window "
            f"{response['window'].values[w]!s}"
        )


def _tested_mask(responses, response, responsive_only: bool) -> np.ndarray:
    shape = response.shape[1:]
    if not responsive_only:
        return np.ones(shape, dtype=bool)
    if "responsive" not in responses:
        logger.info("rsa: responses have no 'responsive' flags; every channel is tested")
        return np.ones(shape, dtype=bool)
    flags = responses["responsive"]
    return (
        np.broadcast_to(
            flags.transpose(*[d for d in RESPONSE_DIMS[1:] if d in flags.dims]).values.reshape(
                _flag_shape(flags)
            ),
            shape,
        )
        .astype(bool)
        .copy()
    )


def _flag_shape(flags: xr.DataArray) -> tuple:
    return tuple(flags.sizes[d] if d in flags.dims else 1 for d in RESPONSE_DIMS[1:])


def _region_table(da) -> tuple[np.ndarray, np.ndarray]:
    """Regions ordered posterior to anterior, with their (single) region_rank."""
    region = da["region"].values.astype(str)
    rank = (
        da["region_rank"].values.astype(int)
        if "region_rank" in da.coords
        else np.zeros(len(region), dtype=int)
    )
    names = np.unique(region)
    ranks = []
    for name in names:
        found = np.unique(rank[region == name])
        if found.size != 1:
            raise ValueError(
                f"region {name!r} has channels with different region_rank {found.tolist()}"
            )
        ranks.append(int(found[0]))
    order = np.lexsort((names, ranks))
    return names[order], np.array(ranks)[order]


def _target_coords(da: xr.DataArray, dims: tuple[str, ...]) -> dict:
    """Coordinates of ``da`` that live on ``dims`` only (not the responsive flags)."""
    return {
        name: (c.dims, c.values)
        for name, c in da.coords.items()
        if c.dims and set(c.dims) <= set(dims) and name != "responsive"
    }


def _broadband(rdm: xr.DataArray) -> xr.DataArray:
    """A (stimulus, channel, band, window) template for precomputed RDMs."""
    coords = _target_coords(rdm, ("channel",))
    coords.update(
        band=("band", ["broadband"]),
        fmin=("band", [np.nan]),
        fmax=("band", [np.nan]),
        window=("window", ["all"]),
        tmin=("window", [np.nan]),
        tmax=("window", [np.nan]),
    )
    shape = (rdm.sizes["stimulus"], rdm.sizes["channel"], 1, 1)
    return xr.DataArray(np.zeros(shape), dims=RESPONSE_DIMS, coords=coords)


def _provenance(activations: xr.Dataset) -> dict:
    return {
        key: activations.attrs[key]
        for key in ("model", "arch", "weights", "reduction")
        if key in activations.attrs
    }
