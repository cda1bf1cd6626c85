"""Stimulus-label permutation test of model RDMs against brain RDMs.

The engine that makes it fast (one float32 matrix product per block of
permutations, exact ties, Besag-Clifford stopping) is :mod:`brainnet.rsa._engine`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from brainnet.log import set_log_level
from brainnet.rsa._checks import _check_choice, _check_n, _n_from_pairs
from brainnet.rsa._engine import _Test
from brainnet.rsa._memory import rsa_sizes
from brainnet.rsa.rdm import _as_vectors

#: Methods with a fast permutation test (:func:`permutation_test` and the stages).
PERMUTATION_METHODS = ("spearman", "pearson", "spearman_full")
_CRITERIA = ("p", "fdr")
_STOPPING = (None, "besag_clifford")


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
    block: int | str = "auto",
    memory_gb: float | None = None,
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
    block : int | ``"auto"``
        Permutations scored per matrix product; memory grows with
        ``block x n_pairs x 4`` bytes. ``"auto"``: as many as fit, up to 256
        (see :mod:`brainnet.rsa._memory`). Results do not depend on it.
    memory_gb : float | None
        The budget of the ``"auto"`` sizes; None: half the available memory.
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
    if permutations is None:
        permutations = make_permutations(_n_from_pairs(models.shape[1]), n_permutations, seed)
    h = _check_test_settings(stopping, h, criterion, alpha, len(permutations))
    test = _Test(
        models, method, permutations, h, rsa_sizes(models.shape[1], block, "auto", memory_gb)
    )
    brain32, norm, statistic = test.brain(brains)
    state = test.run(brain32, norm)
    pvalue = test.pvalues(state)
    return PermutationResult(statistic, pvalue, state.used, _significant(pvalue, criterion, alpha))


def _significant(p: np.ndarray, criterion: str, alpha: float) -> np.ndarray:
    """Decisions for one family of p-values (NaN: untested, never significant)."""
    finite = np.isfinite(p)
    out = np.zeros(p.shape, dtype=bool)
    if criterion == "p":
        out[finite] = p[finite] <= alpha
    elif finite.any():
        out[finite] = stats.false_discovery_control(p[finite], method="bh") <= alpha
    return out


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
