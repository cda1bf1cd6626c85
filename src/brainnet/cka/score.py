"""Centred kernel alignment: Gram matrices, their centring, and the CKA of two of them.

Linear CKA (Kornblith et al. 2019) compares two representations of the same
``n`` stimuli through their linear Gram matrices ``K = X X^T`` and ``L = Y
Y^T``::

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))

Two estimators of the Hilbert-Schmidt independence criterion are offered:

* ``"linear"``: the biased estimator ``tr(K H L H) / (n - 1)^2`` with the
  centring matrix ``H = I - 11^T / n`` (Gretton et al. 2005). With few
  stimuli and many features it is biased upwards: two independent random
  representations score well above 0.
* ``"unbiased"``: the unbiased estimator of Song et al. (2012), used for
  unbiased CKA by Kornblith et al. (2019) and Brain-Score (2026)::

      HSIC_1 = [tr(K~ L~) + 1^T K~ 1 1^T L~ 1 / ((n-1)(n-2))
                - 2 / (n-2) 1^T K~ L~ 1] / (n (n-3))

  with ``K~`` and ``L~`` the Gram matrices with their diagonals set to 0; it
  needs at least 4 stimuli, and its CKA is centred on 0 for independent
  representations.

Both estimators are an inner product ``<C(K), C(L)> / c`` of *centred* Gram
matrices: ``C(K) = H K H`` (linear), or the U-centring of ``K~`` (unbiased,
Szekely and Rizzo 2014: ``C(K)_ij = k_ij - k_i. / (n-2) - k_.j / (n-2) + k_.. /
((n-1)(n-2))`` off the diagonal, 0 on it), which reproduces Song et al.'s
formula exactly. The constant ``c`` cancels in CKA, so a CKA is the cosine of
two centred Gram matrices, and a stimulus permutation of one side is a
re-indexing of its centred Gram matrix (centring commutes with
permutations): :mod:`brainnet.cka.stage` centres each Gram matrix once.
"""

from __future__ import annotations

import numpy as np

from brainnet.rsa import check_rdms

#: HSIC estimators of :func:`cka` and the CKA stages.
ESTIMATORS = ("unbiased", "linear")
_MIN_STIMULI = {"unbiased": 4, "linear": 3}


def check_estimator(estimator: str, n_stimuli: int, what: str = "cka") -> None:
    """Refuse an unknown estimator, or too few stimuli for it, naming both."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"{what}: estimator must be one of {list(ESTIMATORS)}, got {estimator!r}")
    needed = _MIN_STIMULI[estimator]
    if n_stimuli < needed:
        raise ValueError(
            f"{what}: the {estimator} CKA estimator needs at least {needed} stimuli, "
            f"got {n_stimuli}"
        )


def gram_matrix(patterns: np.ndarray, name: str = "patterns") -> np.ndarray:
    """Linear Gram matrix ``X X^T`` of patterns ``(n_stimuli, n_features)``."""
    x = np.asarray(patterns, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: patterns must be (n_stimuli, n_features), got {x.shape}")
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(f"{name}: NaN or infinite values for stimuli {rows[:5].tolist()}")
    return x @ x.T


def rdm_gram(rdm: np.ndarray, name: str = "rdm") -> np.ndarray:
    """The Gram matrix ``-1/2 H D H`` of an RDM (classical multidimensional scaling).

    The dissimilarities are read as squared Euclidean distances between
    centred patterns, as in classical MDS (Torgerson 1952): exact for a
    correlation distance ``1 - r``, which is ``|z_i - z_j|^2 / 2`` for patterns
    z-scored and scaled to unit length, so that the Gram matrix is that of the
    (centred) normalised patterns. An RDM of plain Euclidean distances gives
    the Gram matrix of its squared-distance geometry instead.

    Parameters
    ----------
    rdm : array, shape (n, n)
        A square RDM (validated by :func:`brainnet.rsa.check_rdms`).
    name : str
        How errors name the RDM.

    Returns
    -------
    gram : array, shape (n, n)
        Symmetric and double centred (rows and columns sum to 0).
    """
    d = check_rdms(rdm, name)
    if d.ndim != 2:
        raise ValueError(f"{name}: one square RDM expected, got shape {d.shape}")
    return -0.5 * _double_centred(d)


def centre_gram(gram: np.ndarray, estimator: str = "unbiased") -> np.ndarray:
    """The centred Gram matrix ``C(K)`` of an estimator (module notes).

    Parameters
    ----------
    gram : array, shape (..., n, n)
        Symmetric Gram matrices.
    estimator : ``"unbiased"`` | ``"linear"``
        ``"linear"``: ``H K H``; ``"unbiased"``: the U-centred ``K`` with a
        zero diagonal.

    Returns
    -------
    centred : array, shape (..., n, n)
        ``<C(K), C(L)>`` is ``(n - 1)^2`` times the biased HSIC, or ``n (n - 3)``
        times the unbiased HSIC of Song et al. (2012).
    """
    k = np.asarray(gram, dtype=np.float64)
    if k.ndim < 2 or k.shape[-1] != k.shape[-2]:
        raise ValueError(f"cka: Gram matrices must be square (..., n, n), got shape {k.shape}")
    n = k.shape[-1]
    check_estimator(estimator, n)
    if estimator == "linear":
        return _double_centred(k)
    k = k.copy()
    np.einsum("...ii->...i", k)[...] = 0.0
    rows = k.sum(axis=-1, keepdims=True)
    total = rows.sum(axis=-2, keepdims=True)
    out = k - rows / (n - 2) - np.swapaxes(rows, -1, -2) / (n - 2) + total / ((n - 1) * (n - 2))
    np.einsum("...ii->...i", out)[...] = 0.0
    return out


def hsic(k: np.ndarray, l: np.ndarray, estimator: str = "unbiased") -> float:  # noqa: E741
    """HSIC of two Gram matrices: the biased (``"linear"``) or the unbiased estimator."""
    k, l = np.asarray(k, dtype=np.float64), np.asarray(l, dtype=np.float64)  # noqa: E741
    if k.shape != l.shape:
        raise ValueError(f"cka: Gram matrices of different shapes {k.shape} and {l.shape}")
    n = k.shape[-1]
    scale = (n - 1) ** 2 if estimator == "linear" else n * (n - 3)
    return float(np.sum(centre_gram(k, estimator) * centre_gram(l, estimator)) / scale)


def cka(x: np.ndarray, y: np.ndarray, estimator: str = "unbiased") -> float:
    """Linear CKA of two representations of the same stimuli, in the same order.

    Parameters
    ----------
    x, y : array, shape (n_stimuli, n_features_x) and (n_stimuli, n_features_y)
        The two representations (e.g. a layer's activations and a region's
        multi-contact responses).
    estimator : ``"unbiased"`` | ``"linear"``
        The HSIC estimator (module notes).

    Returns
    -------
    cka : float
        In [0, 1] for ``"linear"``; about 0 for independent representations
        with ``"unbiased"``, which may be negative. NaN when one side is
        constant over stimuli.
    """
    kx, ky = gram_matrix(x, "x"), gram_matrix(y, "y")
    if kx.shape != ky.shape:
        raise ValueError(
            f"cka: x and y hold different numbers of stimuli, {len(kx)} and {len(ky)}"
        )
    return float(cosine(centre_gram(kx, estimator), centre_gram(ky, estimator)))


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``<a, b> / (|a| |b|)`` of centred Gram matrices over their last two axes (NaN for 0)."""
    dot = np.einsum("...ij,...ij->...", a, b)
    norms = np.sqrt(np.einsum("...ij,...ij->...", a, a) * np.einsum("...ij,...ij->...", b, b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dot / np.where(norms > 0, norms, 1.0), np.nan)


def unit_grams(grams: np.ndarray, estimator: str) -> tuple[np.ndarray, np.ndarray]:
    """Centred Gram matrices scaled to unit Frobenius norm, and whether each had a norm.

    A CKA is then the inner product of two of them; a constant
    representation (norm 0) stays 0 and is flagged, so its CKA becomes NaN.

    Returns
    -------
    unit : array, shape (k, n, n)
    valid : array of bool, shape (k,)
    """
    centred = centre_gram(grams, estimator)
    norm = np.sqrt(np.einsum("kij,kij->k", centred, centred))
    # what centring leaves of a constant representation is rounding error of its Gram matrix
    valid = norm > 1e-10 * np.sqrt(np.einsum("kij,kij->k", grams, grams))
    centred[valid] /= norm[valid, None, None]
    centred[~valid] = 0.0
    return centred, valid


def _double_centred(k: np.ndarray) -> np.ndarray:
    """``H K H``: rows and columns centred."""
    k = k - k.mean(axis=-1, keepdims=True)
    return k - k.mean(axis=-2, keepdims=True)
