"""Family-wise correction over each channel's band x window grid, from permutation nulls.

The encoding and RSA stages test every layer against every channel, band and
window with the same stimulus-label permutations. That shared null is what a
family-wise correction needs: for each permutation, the whole band x window
map of a channel is scored at once, so the dependence between neighbouring
bands and windows is kept. Two corrections are offered:

``"maxstat"``
    Westfall and Young's (1993) single-step max-T. Each target's score is
    standardised by the mean and standard deviation of its own permutation
    null (so that targets with wider nulls do not dominate the maximum, as
    they would for RSA, whose null spread depends on the RDM), and a target's
    corrected p is the share of permutations whose largest standardised
    score over the channel's grid reaches the target's:
    ``(1 + #{max_k >= t}) / (1 + n_permutations)``. It controls the
    family-wise error rate in the strong sense.
``"cluster"``
    Maris and Oostenveld's (2007) cluster-based permutation test. A score is
    supra-threshold where it exceeds the ``1 - cluster_threshold`` quantile of
    its own null; supra-threshold cells that share a band (adjacent windows)
    or a window (adjacent bands) form a cluster, whose mass is the sum of its
    standardised scores. Each observed cluster's p is the share of
    permutations whose largest cluster mass in the channel's grid reaches its
    own; every cell of the cluster carries that p, cells outside any
    cluster get 1. It controls the family-wise error rate of the map (weak
    sense): a significant cluster says the grid holds an effect, not that
    each of its cells does.

The family is one channel's band x window grid for one layer. Layers are the
hypotheses a user compares (each is read on its own in the heatmaps and the
gradient), and folding them into the family would make a layer's significance
depend on how many layers were extracted (``layers: auto`` differs by model).
Across channels and layers there is no further correction. Adjacency follows
the order of the ``band`` and ``window`` dimensions (frequency and time order
as :mod:`brainnet.preprocessing` writes them).

The GPD tail fit of the encoding (:mod:`brainnet.encoding.tail`) is not used
here: the family is a few dozen tests per channel at level 0.05, far above the
permutation floor ``1 / (1 + n_permutations)``.

References
----------
Westfall PH, Young SS (1993) Resampling-based multiple testing. Wiley.
Maris E, Oostenveld R (2007) Nonparametric statistical testing of EEG- and
MEG-data. J Neurosci Methods 164:177-190.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: The accepted corrections; ``"fdr"`` (Benjamini-Hochberg, in the stages) needs no null.
CORRECTIONS = ("fdr", "maxstat", "cluster")
#: Corrections computed here, from the permutation null.
FAMILY_CORRECTIONS = ("maxstat", "cluster")
#: Default cluster-forming threshold, an uncorrected p per cell.
CLUSTER_THRESHOLD = 0.05
# Bytes of the scores standardised at once (the working copies are a few times this).
_BLOCK_BYTES = 64 * 2**20
# Null scores within this of the observed one count as reaching it (ties, and
# a permutation equal to the identity, reproduce the score up to round-off).
_TOLERANCE = 1e-9


def check_correction(correction: str, name: str = "correction") -> str:
    """Return ``correction`` if it is one of :data:`CORRECTIONS`, else raise naming ``name``."""
    if correction not in CORRECTIONS:
        raise ValueError(f"{name} must be one of {CORRECTIONS}, got {correction!r}")
    return correction


def family_p(
    scores: np.ndarray, correction: str, *, cluster_threshold: float = CLUSTER_THRESHOLD
) -> np.ndarray:
    """Family-wise corrected p over each channel's band x window grid.

    Parameters
    ----------
    scores : array, shape (1 + n_permutations, n_channels, n_bands, n_windows)
        Row 0 the observed scores, row ``k`` the scores under permutation ``k``;
        the same permutation in a row for every band and window of a channel.
        A target whose null is NaN or constant (untested) is left out of its
        family and gets NaN.
    correction : ``"maxstat"`` | ``"cluster"``
        See the module description.
    cluster_threshold : float
        Cluster-forming threshold (``"cluster"``), an uncorrected p in (0, 1).

    Returns
    -------
    p : array, shape (n_channels, n_bands, n_windows)

    Notes
    -----
    Only ``scores`` is held in full; its standardised copy, the cluster labels
    and the per-permutation maxima are made for blocks of channels of about
    :data:`_BLOCK_BYTES`. A stage thus needs no more than the null it already
    computes for its p-values (one layer's for the encoding, one chunk of
    channels' for RSA).
    """
    if correction not in FAMILY_CORRECTIONS:
        raise ValueError(f"correction must be one of {FAMILY_CORRECTIONS}, got {correction!r}")
    if not 0 < cluster_threshold < 1:
        raise ValueError(f"cluster_threshold must be in (0, 1), got {cluster_threshold!r}")
    if scores.ndim != 4 or scores.shape[0] < 2:
        raise ValueError(
            "scores must be (1 + n_permutations, channel, band, window) with at least one "
            f"permutation, got shape {scores.shape}"
        )
    # channels are independent families: a few at a time bound the working copies
    per_block = max(1, _BLOCK_BYTES // (8 * scores[:, :1].size))
    p = np.empty(scores.shape[1:])
    for start in range(0, scores.shape[1], per_block):
        block = scores[:, start : start + per_block]
        t, valid = _standardised(block)
        found = _maxstat(t) if correction == "maxstat" else _cluster(t, block, cluster_threshold)
        p[start : start + per_block] = np.where(valid, found, np.nan)
    return p


def _standardised(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores standardised by their own null's mean and sd (NaN where untested), with
    the observed row lowered by the tie tolerance; and which targets are tested.

    Mean and sd are taken over all rows, the observed one included: a function
    of the rows that does not depend on their order keeps the observed row
    exchangeable with the permuted ones under the null, which the exact level
    of the test rests on (without it the level was 6.6% instead of 5% in the
    tests' null data).
    """
    with np.errstate(invalid="ignore"):
        mean, sd = scores.mean(axis=0), scores.std(axis=0)
    valid = np.isfinite(scores).all(axis=0) & (sd > 0)
    sd = np.where(valid, sd, np.nan)
    t = (scores - mean) / sd
    t[0] -= _TOLERANCE / sd
    return t, valid


def _maxstat(t: np.ndarray) -> np.ndarray:
    """Single-step max-T p of every target, ``(channel, band, window)``."""
    flat = t.reshape(t.shape[0], t.shape[1], -1)
    with np.errstate(invalid="ignore"):
        # a channel with no tested target has an all-NaN grid
        top = np.fmax.reduce(flat[1:], axis=2)  # (n_permutations, channel)
    exceed = (top[:, :, None] >= flat[0][None]).sum(axis=0)
    return ((1 + exceed) / t.shape[0]).reshape(t.shape[1:])


def _cluster(t: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster p of every target (1 outside any observed cluster), ``(channel, band, window)``."""
    n_rows, n_channels = t.shape[:2]
    with np.errstate(invalid="ignore"):
        cut = np.quantile(scores, 1 - threshold, axis=0)
        supra = (scores > cut) & np.isfinite(t)
    # clusters connect along band and window only: never across permutations or channels
    structure = np.zeros((3, 3, 3, 3), dtype=bool)
    structure[1, 1] = ndimage.generate_binary_structure(2, 1)
    labels, n_clusters = ndimage.label(supra, structure=structure)
    if not n_clusters:
        return np.ones(t.shape[1:])
    mass = ndimage.sum_labels(np.nan_to_num(t), labels, index=np.arange(1, n_clusters + 1))
    found, first = np.unique(labels.reshape(-1), return_index=True)
    first = first[found > 0]  # the first cell of each cluster, in label order
    row, channel = np.unravel_index(first, labels.shape)[:2]
    top = np.zeros((n_rows, n_channels))
    np.maximum.at(top, (row, channel), mass)
    observed = row == 0
    exceed = (top[1:, channel[observed]] >= mass[observed] - _TOLERANCE).sum(axis=0)
    cluster_p = np.ones(n_clusters + 1)
    cluster_p[1:][observed] = (1 + exceed) / n_rows
    return cluster_p[labels[0]]
