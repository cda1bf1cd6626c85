"""RDMs: computing, converting and validating representational dissimilarity matrices.

An RDM is a symmetric ``(n, n)`` matrix with a zero diagonal. Sets of RDMs are
stacks ``(k, n, n)``. The *condensed* form keeps the upper triangle as a vector
of ``n (n - 1) / 2`` dissimilarities in the order of
:func:`scipy.spatial.distance.squareform` (row by row, ``i < j``), which is also
the order of rsatoolbox's ``RDMs.get_vectors()`` and of MATLAB's
``squareform``. :func:`to_vectors` and :func:`to_matrices` convert between the
two; every function of the array API accepts either form. An array whose last
two axes are equal is read as square matrices, anything else as condensed
vectors.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from brainnet.rsa._checks import _check_choice, _check_n, _n_from_pairs, _unravel

#: Distance metrics of :func:`compute_rdm` (names of :func:`scipy.spatial.distance.pdist`).
METRICS = ("euclidean", "correlation", "cosine")
#: Feature scalings of :func:`compute_rdm`: z-scored over stimuli, or as they are.
FEATURE_SCALINGS = ("standard", "none")
# Symmetry and zero-diagonal tolerance, relative to the largest dissimilarity
# (files written in float32 or by other toolboxes differ by a few ulp).
_RTOL = 1e-6
_IDS_SHOWN = 5


def compute_rdm(
    patterns: np.ndarray, metric: str = "euclidean", feature_scaling: str = "none"
) -> np.ndarray:
    """Compute the RDM of response or activation patterns.

    Parameters
    ----------
    patterns : array, shape (n_stimuli, n_features)
        One pattern per stimulus.
    metric : ``"euclidean"`` | ``"correlation"`` | ``"cosine"``
        Distance between patterns, as :func:`scipy.spatial.distance.pdist`
        defines it (correlation distance is ``1 - Pearson r``).
    feature_scaling : ``"none"`` | ``"standard"``
        ``"standard"`` z-scores every feature over the stimuli first (as
        :class:`sklearn.preprocessing.StandardScaler`; a constant feature
        becomes 0), so that every feature weighs the same in the distance, as
        in an encoding model fitted to standardised features (see
        :func:`brainnet.rsa.rsa_scores`).

    Returns
    -------
    rdm : array, shape (n_stimuli, n_stimuli)
        Symmetric, zero diagonal.
    """
    return to_matrices(_pdist(patterns, metric, "patterns", feature_scaling))


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


def _pdist(patterns, metric: str, name: str, feature_scaling: str = "none") -> np.ndarray:
    _check_choice(metric, METRICS, "metric")
    _check_choice(feature_scaling, FEATURE_SCALINGS, "feature_scaling")
    x = np.asarray(patterns, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: patterns must be (n_stimuli, n_features), got {x.shape}")
    _check_n(len(x), name)
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(f"{name}: NaN or infinite values for stimuli {rows[:_IDS_SHOWN]}")
    if feature_scaling == "standard":
        x = _standardised(x)
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


def _standardised(x: np.ndarray) -> np.ndarray:
    """Every column z-scored (population SD, as StandardScaler); constant columns become 0."""
    sd = x.std(axis=0)
    return np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
