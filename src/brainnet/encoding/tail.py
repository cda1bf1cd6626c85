"""p-values below the permutation floor, from a generalised Pareto fit of the null's tail.

With ``N`` permutations the smallest permutation p is ``1 / (N + 1)``; with
thousands of tests that floor can keep the Benjamini-Hochberg procedure from
declaring anything significant, however strong the effect. Following
Knijnenburg et al. (2009), as FSL PALM does (Winkler et al. 2016), a target
whose observed score is exceeded by fewer than :data:`_MAX_EXCEEDANCES` of
its permuted scores gets its p from a generalised Pareto distribution (GPD)
fitted to the top :data:`_TAIL_SHARE` of its own permutation null:

``p = (N_tail / N) * S(z - t)``

with ``t`` the threshold between the ``N_tail``-th and ``N_tail + 1``-th
largest null scores and ``S`` the fitted GPD survival function. Scores are
fitted as Fisher ``z = arctanh(r)``, whose null is close to normal and
unbounded, where ``r`` itself is bounded by 1.

The shape is estimated by probability-weighted moments (Hosking and Wallis
1987), vectorised over targets. A negative shape (a bounded, lighter than
exponential tail, which is what a normal null gives at this threshold) would
put an end point to the tail, beyond which p is 0: a strong effect would get
p = 0, and the fit underestimates moderate tails (see the tests). The shape
is therefore clipped at 0, the exponential tail (``S(y) = exp(-y / mean
excess)``), which is heavier than a normal one: the p-values are then
conservative (too large, never too small) for a light-tailed null, and the
GPD with its fitted shape is kept for a heavy-tailed one.

References
----------
Hosking JRM, Wallis JR (1987) Parameter and quantile estimation for the
generalized Pareto distribution. Technometrics 29:339-349.
Knijnenburg TA, Wessels LFA, Reinders MJT, Shmulevich I (2009) Fewer
permutations, more accurate P-values. Bioinformatics 25:i161-i168.
Winkler AM, Ridgway GR, Douaud G, Nichols TE, Smith SM (2016) Faster
permutation inference in brain imaging. NeuroImage 141:502-516.
"""

from __future__ import annotations

import numpy as np

#: Below this many exceedances the tail fit replaces the permutation p (Knijnenburg et al.).
_MAX_EXCEEDANCES = 10
#: Share of the permutation null that forms the fitted tail.
_TAIL_SHARE = 0.1
#: Fewest null scores in the tail for a fit: 250 permutations at the share above.
_MIN_TAIL = 25
#: The accepted values of ``tail``.
_TAILS = ("gpd", None)


def _check_tail(tail: str | None) -> None:
    if tail not in _TAILS:
        raise ValueError(f"tail must be one of {_TAILS}, got {tail!r}")


def _tail_p_values(r_all: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Permutation ``p`` with the tail fit where few permuted scores exceed the observed.

    Parameters
    ----------
    r_all : array, shape (1 + n_permutations, n_targets)
        Scores, row 0 the observed data.
    p : array, shape (n_targets,)
        Permutation p-values of ``r_all`` (see :func:`~brainnet.encoding.null._p_values`).

    Returns
    -------
    p : array, shape (n_targets,)
        The p-values, from the tail fit where ``from_tail``.
    from_tail : array of bool, shape (n_targets,)
    """
    n_perms = r_all.shape[0] - 1
    n_tail = int(n_perms * _TAIL_SHARE)
    exceed = np.rint(p * (n_perms + 1)) - 1
    from_tail = exceed < _MAX_EXCEEDANCES
    if n_tail < _MIN_TAIL or not from_tail.any():
        return p, np.zeros_like(from_tail)
    z = np.arctanh(np.clip(r_all[:, from_tail], -1 + 1e-15, 1 - 1e-15))
    top = -np.sort(-z[1:], axis=0)[: n_tail + 1]  # largest first
    threshold = 0.5 * (top[n_tail - 1] + top[n_tail])
    shape, scale = _fit_tail(top[:n_tail][::-1] - threshold)
    excess = (z[0] - threshold) / np.where(scale > 0, scale, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.where(shape > 0, (1 + shape * excess) ** (-1 / shape), np.exp(-excess))
    fitted = scale > 0  # a degenerate null (all permuted scores equal) keeps its p
    p = p.copy()
    p[np.flatnonzero(from_tail)[fitted]] = (n_tail / n_perms) * survival[fitted]
    from_tail[np.flatnonzero(from_tail)[~fitted]] = False
    return p, from_tail


def _fit_tail(excess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GPD shape (clipped at 0) and scale per column of ``excess`` (sorted ascending,
    ``(n_tail, n_targets)``), by probability-weighted moments."""
    n = excess.shape[0]
    plotting = (np.arange(1, n + 1) - 0.35) / n
    a0 = excess.mean(axis=0)
    a1 = ((1 - plotting)[:, None] * excess).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Hosking and Wallis's k is minus the shape
        shape = 2 - a0 / (a0 - 2 * a1)
        gpd_scale = 2 * a0 * a1 / (a0 - 2 * a1)
    heavy = np.isfinite(shape) & (shape > 0) & (gpd_scale > 0)
    return np.where(heavy, shape, 0.0), np.where(heavy, gpd_scale, a0)
