"""Noise ceiling of a set of brain RDMs (Nili et al. 2014), as rsatoolbox computes it."""

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


def _pool(space: np.ndarray, method: str) -> np.ndarray:
    """Pooled RDM of a group, as rsatoolbox's ``pool_rdm`` does for the method."""
    if method == "pearson":
        centred = space - space.mean(axis=1, keepdims=True)
        return (centred / centred.std(axis=1, keepdims=True)).mean(axis=0)
    return _rank_rows(space).mean(axis=0)
