"""Epochs around stimulus onsets, read on demand in batches of bounded size."""

from __future__ import annotations

import mne
import numpy as np

# Samples (channels x times) of the epochs read at once: 32 MiB of float64.
_BATCH_SAMPLES = 2**22
# Window edges are closed intervals; sample times carry rounding errors.
_TIME_TOLERANCE = 1e-6


def _epochs(raw, events, tmin, tmax):
    """Epochs read on demand; those outside the data or in BAD segments dropped."""
    epochs = mne.Epochs(
        raw,
        events,
        tmin=tmin,
        tmax=tmax,
        baseline=None,
        picks="all",
        preload=False,
        reject_by_annotation=True,
        verbose=False,
    )
    epochs.drop_bad(verbose=False)
    return epochs


def _batches(epochs):
    """Indices of the kept epochs in batches of about ``_BATCH_SAMPLES`` samples."""
    size = max(1, _BATCH_SAMPLES // (len(epochs.ch_names) * len(epochs.times)))
    return [np.arange(i, min(i + size, len(epochs))) for i in range(0, len(epochs), size)]


def _span(times, tmin, tmax, decim):
    """Samples covering [tmin, tmax], a whole number of decimation steps long.

    The span starts on the decimation grid through t = 0, so windows are
    sampled alike whatever the padding; epochs carry ``decim`` samples of
    margin on both sides for the rounding outwards.
    """
    start = int(np.searchsorted(times, tmin - _TIME_TOLERANCE))
    stop = int(np.searchsorted(times, tmax + _TIME_TOLERANCE, side="right"))
    start -= (start - int(np.argmin(np.abs(times)))) % decim
    stop = start + -(-(stop - start) // decim) * decim
    return slice(start, stop)
