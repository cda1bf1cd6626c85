"""Resampling primitives shared by the region and alignment statistics.

The hierarchical bootstrap weights, percentile intervals and two-sided
permutation p-values; the random generators are passed in by the stage so that
every statistic draws from its own reproducible stream.
"""

from __future__ import annotations

import warnings

import numpy as np


def _hierarchical_weights(subject, n_bootstrap, rng):
    """How often each channel is drawn in each resample, shape ``(n_bootstrap, n_channels)``.

    Subjects are drawn with replacement, then for every drawn subject as many
    channels as it has are drawn with replacement from its own channels.
    Drawing ``k * n`` channels at once for a subject drawn ``k`` times is the
    same distribution as ``k`` separate draws of ``n``.
    """
    names, inverse = np.unique(subject, return_inverse=True)
    n_subjects = len(names)
    subject_draws = rng.multinomial(
        n_subjects, np.full(n_subjects, 1 / n_subjects), size=n_bootstrap
    )
    weights = np.zeros((n_bootstrap, len(subject)))
    for s in range(n_subjects):
        members = np.flatnonzero(inverse == s)
        weights[:, members] = rng.multinomial(
            subject_draws[:, s] * len(members), np.full(len(members), 1 / len(members))
        )
    return weights


def _quantiles(samples, ci, method="linear"):
    """Percentile interval over the first axis, ignoring NaN resamples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        return np.nanquantile(samples, [(1 - ci) / 2, (1 + ci) / 2], axis=0, method=method)


def _permutation_p(observed, null):
    """Two-sided permutation p, ``(1 + #|null| >= |observed|) / (1 + n)``; NaN when undefined."""
    # A relative tolerance keeps permutations that reproduce the observed table exactly
    # (ties in floating point) on the conservative side.
    exceed = np.abs(null) >= np.abs(observed) * (1 - 1e-9)
    p = (1 + exceed.sum(axis=0)) / (1 + null.shape[0])
    return np.where(np.isfinite(observed), p, np.nan)
