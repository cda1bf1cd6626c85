"""Noise ceiling of a set of brain RDMs: rsatoolbox's (Nili et al. 2014) or Net2Brain's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brainnet.rsa._checks import _check_choice
from brainnet.rsa.compare import (
    COMPARE_METHODS,
    _method_space,
    _rank_rows,
    _similarity,
)
from brainnet.rsa.rdm import _as_vectors


def noise_ceiling(
    rdms: np.ndarray,
    groups: Sequence | None = None,
    method: str = "spearman",
    definition: str = "rsatoolbox",
) -> tuple[float, float]:
    """Lower and upper bound of the noise ceiling of a set of brain RDMs.

    Parameters
    ----------
    rdms : array
        Square ``(k, n, n)`` or condensed ``(k, n_pairs)`` RDMs, ``k >= 2``.
    groups : sequence, optional
        A label per RDM (e.g. the subject), so that all RDMs of a subject are
        left out together; each RDM is its own group by default. The
        similarities of a group's RDMs are averaged before averaging over groups.
    method : str
        A method of :func:`compare_rdms` (``definition="rsatoolbox"``);
        Net2Brain's ceiling is always Spearman's.
    definition : ``"rsatoolbox"`` | ``"net2brain"``
        * ``"rsatoolbox"``: as in Nili et al. (2014) and rsatoolbox's
          ``boot_noise_ceiling``, in units of the similarity: the upper bound
          is the mean similarity of each group's RDMs with the pooled RDM of
          all groups, the lower bound the same with the pooled RDM of the
          other groups (leave one group out). Pooling follows rsatoolbox: the
          mean of the ranked RDMs for rank methods, the mean of the z-scored
          RDMs for ``"pearson"``.
        * ``"net2brain"``: as Net2Brain's ``NoiseCeiling`` computes it, in
          units of R² (squared Spearman rho): the pooled RDM is the mean of
          the raw (not ranked) RDMs, and the bounds are the mean over groups
          of the squared Spearman rho of each RDM with it (averaged within a
          group first). ``R² / lower * 100`` is Net2Brain's ``%R²``.

        A model cannot be expected to exceed the upper bound, and one that
        reaches the lower bound explains the data as well as the other
        subjects do.

    Returns
    -------
    lower, upper : float
    """
    _check_choice(method, COMPARE_METHODS, "method")
    _check_choice(definition, _DEFINITIONS, "definition")
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
    if definition == "net2brain":
        method, space, pool, power = "spearman", vectors, _mean, 2
    else:
        space, pool, power = _method_space(vectors, method), _pooler(method), 1
    pooled_all = pool(space)
    lower, upper = [], []
    for label in unique:
        test = space[labels == label]
        pooled_rest = pool(space[labels != label])
        lower.append(np.mean(_similarity(pooled_rest[None], test, method) ** power))
        upper.append(np.mean(_similarity(pooled_all[None], test, method) ** power))
    return float(np.mean(lower)), float(np.mean(upper))


_DEFINITIONS = ("rsatoolbox", "net2brain")


def _pooler(method: str):
    """rsatoolbox's ``pool_rdm`` for the method: mean of z-scored RDMs (Pearson) or ranks."""

    def pool(space: np.ndarray) -> np.ndarray:
        if method == "pearson":
            centred = space - space.mean(axis=1, keepdims=True)
            return (centred / centred.std(axis=1, keepdims=True)).mean(axis=0)
        return _rank_rows(space).mean(axis=0)

    return pool


def _mean(space: np.ndarray) -> np.ndarray:
    """Net2Brain's pooling: the mean of the raw RDMs."""
    return space.mean(axis=0)
