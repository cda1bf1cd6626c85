"""Building the ``responses`` artefact: averaging repetitions into means and split halves.

Every recording format ends in the same layout (``docs/architecture.md``):
``response (stimulus, channel, band, window)``, the mean over the repeated
presentations of each stimulus, and, where stimuli were repeated,
``split_half (half, stimulus, channel, band, window)``, the means over even
and odd repetitions, from which the encoding stage estimates noise ceilings.
MNE preprocessing (:mod:`brainnet.preprocessing`) and the loaders of
already-reduced arrays (:mod:`brainnet.recordings.arrays`) both build it with
:func:`average_repetitions`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from brainnet.log import logger, preview

__all__ = ["RESPONSE_DIMS", "average_repetitions"]

#: Dims of the ``response`` variable.
RESPONSE_DIMS = ("stimulus", "channel", "band", "window")


def average_repetitions(
    trials: xr.DataArray, stimulus_ids: Sequence[str] | None = None
) -> xr.Dataset:
    """Average repeated presentations of each stimulus, keeping split halves.

    Parameters
    ----------
    trials : xarray.DataArray
        Dims ``("trial", ...)`` in presentation order, with the coordinate
        ``stimulus_id`` on ``trial``. NaN values (a missing repeat) are
        ignored.
    stimulus_ids : sequence of str | None
        Order of the ``stimulus`` dimension. An id among the trials but not
        here is an error; an id here but never presented gets NaN. None takes
        the sorted ids of the trials.

    Returns
    -------
    responses : xarray.Dataset
        ``response (stimulus, ...)`` the mean over repetitions; when some
        stimulus was presented at least twice, ``split_half (half, stimulus,
        ...)`` the means over even (``half=0``: first, third, ...) and odd
        (``half=1``) repetitions in presentation order.
    """
    if "trial" not in trials.dims or "stimulus_id" not in trials.coords:
        raise ValueError(
            f"trials need a 'trial' dim with a 'stimulus_id' coord, got dims {trials.dims} "
            f"and coords {list(trials.coords)}"
        )
    trials = trials.transpose("trial", ...)
    ids = trials["stimulus_id"].to_numpy().astype(str)
    order = np.array(sorted(set(ids)) if stimulus_ids is None else list(stimulus_ids), dtype=str)
    index = pd.Index(order)
    if index.has_duplicates:
        raise ValueError(f"duplicate stimulus ids: {preview(index[index.duplicated()])}")
    codes = index.get_indexer(ids)
    unknown = sorted(set(ids[codes < 0]))
    if unknown:
        raise ValueError(
            f"{len(unknown)} stimulus ids are not in the stimulus set: {preview(unknown)}"
        )
    never = sorted(set(order) - set(ids))
    if never:
        logger.warning(
            "%d stimuli were never presented (NaN responses): %s", len(never), preview(never)
        )
    repetition = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    rest = trials.shape[1:]
    stacked = np.full((len(order), repetition.max() + 1, *rest), np.nan)
    stacked[codes, repetition] = trials.to_numpy()
    dims = ("stimulus", *trials.dims[1:])
    other = {name: coord for name, coord in trials.coords.items() if "trial" not in coord.dims}
    with warnings.catch_warnings():
        # Stimuli without trials (or without odd repetitions) are NaN by design.
        warnings.simplefilter("ignore", RuntimeWarning)
        data = {"response": (dims, np.nanmean(stacked, axis=1))}
        if stacked.shape[1] > 1:
            halves = [np.nanmean(stacked[:, h::2], axis=1) for h in (0, 1)]
            data["split_half"] = (("half", *dims), np.stack(halves))
    coords = {"stimulus_id": ("stimulus", order)} | other
    if "split_half" in data:
        coords["half"] = [0, 1]
    return xr.Dataset(data, coords=coords)
