"""Contact resamples of a subject's CKA: the inner level of the hierarchical bootstrap.

A subject's region pattern ``Z`` (stimulus x contact) has the Gram matrix
``Z Z^T = sum_c z_c z_c^T``; drawing its contacts with replacement ``m_c``
times gives ``sum_c m_c z_c z_c^T``. Centring is linear, so with
``a_lc = <C(K_l), z_c z_c^T>`` (the layer's centred Gram matrix against one
contact) and ``M_cd = <C(z_c z_c^T), z_d z_d^T>`` every resample's CKA is::

    CKA_l(m) = m . a_l / (|C(K_l)| sqrt(m^T M m))

(centring is a symmetric projection, so one side of each inner product need
not be centred). ``M`` has a closed form for rank-one Gram matrices, so no
resample builds a Gram matrix: all of them cost two small matrix products.
"""

from __future__ import annotations

import numpy as np


def contact_resamples(
    layers: np.ndarray, pattern: np.ndarray, estimator: str, n_bootstrap: int, rng
) -> np.ndarray:
    """CKAs of every layer with ``pattern`` rebuilt from contacts drawn with replacement.

    Parameters
    ----------
    layers : array, shape (n_layers, n, n)
        The layers' centred Gram matrices scaled to unit norm.
    pattern : array, shape (n, n_contacts)
        The subject's region pattern.
    estimator : ``"unbiased"`` | ``"linear"``
        The estimator ``layers`` were centred for.
    n_bootstrap : int
        Resamples.
    rng : numpy.random.Generator
        Draws the contacts.

    Returns
    -------
    cka : array, shape (n_bootstrap, n_layers)
    """
    n, n_contacts = pattern.shape
    draws = rng.integers(0, n_contacts, (n_bootstrap, n_contacts))
    counts = np.stack([np.bincount(d, minlength=n_contacts) for d in draws]).astype(float)
    a = np.einsum("lij,ic,jc->lc", layers, pattern, pattern)
    m = _contact_products(pattern, estimator)
    norm = np.sqrt(np.einsum("bc,cd,bd->b", counts, m, counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts @ a.T) / norm[:, None]


def _contact_products(z: np.ndarray, estimator: str) -> np.ndarray:
    """``M_cd = <C(z_c z_c^T), C(z_d z_d^T)>`` for every pair of contacts ``(c, d)``."""
    n = len(z)
    if estimator == "linear":
        centred = z - z.mean(axis=0)
        return (centred.T @ centred) ** 2
    # Song et al.'s unbiased HSIC of two rank-one Gram matrices, times n (n - 3)
    total, squares = z.sum(axis=0), (z**2).sum(axis=0)
    off = (z.T @ z) ** 2 - (z**2).T @ (z**2)  # tr(K~ L~)
    sums = total**2 - squares  # 1^T K~ 1
    rows = z * total - z**2  # K~ 1
    return off + np.outer(sums, sums) / ((n - 1) * (n - 2)) - 2 / (n - 2) * rows.T @ rows
