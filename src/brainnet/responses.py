"""Building the ``responses`` artefact: averaging repetitions into means and split halves.

Every recording format ends in the same layout (``docs/architecture.md``):
``response (stimulus, channel, band, window)``, the mean over the repeated
presentations of each stimulus, and, where stimuli were repeated,
``split_half (half, stimulus, channel, band, window)``, the means over even
and odd repetitions, from which the encoding stage estimates noise ceilings.
MNE preprocessing (:mod:`brainnet.preprocessing`) and the loaders of
already-reduced arrays (:mod:`brainnet.recordings.arrays`) both build it with
:func:`average_repetitions`, and then leave out with :func:`drop_unusable` what
no analysis can use: a stimulus without a response (never presented, or NaN
in every channel of a subject) and a channel constant over stimuli. Each drop
is logged and recorded in the attributes (``dropped_stimuli``,
``exclusions``), so that the encoding and RSA stages receive only valid
stimuli and targets.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from brainnet.log import logger, preview

__all__ = ["RESPONSE_DIMS", "average_repetitions", "drop_unusable"]

#: Dims of the ``response`` variable.
RESPONSE_DIMS = ("stimulus", "channel", "band", "window")
_EXCLUSION_KEYS = ("subject", "channel", "reason")


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


def drop_unusable(responses: xr.Dataset) -> xr.Dataset:
    """Leave out stimuli without a response and channels constant over stimuli.

    Parameters
    ----------
    responses : xarray.Dataset
        The ``responses`` layout, with a ``subject`` coordinate on ``channel``.

    Returns
    -------
    responses : xarray.Dataset
        Without the stimuli that some subject has no response to (every value
        of all its channels NaN: never presented, every trial dropped, or a
        NaN column), and then without the channels whose response is the same
        for every stimulus in some band and window. The attribute
        ``dropped_stimuli`` lists ``{stimulus_id, reason}`` and
        ``exclusions`` gains ``{subject, channel, reason}``; both are logged
        as warnings. Partly missing values are kept, for the analysis to
        refuse by name.

    Raises
    ------
    ValueError
        When no stimulus or no channel is left.
    """
    response = responses["response"].transpose(*RESPONSE_DIMS)
    values = response.to_numpy()
    subjects = responses["subject"].to_numpy().astype(str)
    ids = responses["stimulus_id"].to_numpy().astype(str)
    absent = ~np.isfinite(values).any(axis=(2, 3))  # (stimulus, channel)
    lacking = {
        s: absent[:, subjects == s].all(axis=1) for s in pd.unique(subjects)
    }  # subject -> (stimulus,)
    dropped = []
    for i, sid in enumerate(ids):
        who = [s for s, missing in lacking.items() if missing[i]]
        if not who:
            continue
        reason = (
            "no response in any channel (never presented, or NaN)"
            if len(who) == len(lacking)
            else f"no response from {', '.join(who)} (never presented to it, or NaN)"
        )
        dropped.append({"stimulus_id": sid, "reason": reason})
    keep = ~np.isin(ids, [d["stimulus_id"] for d in dropped])
    if not keep.any():
        raise ValueError("responses: no stimulus has a response in every subject")
    if dropped:
        logger.warning(
            "leaving out %d stimuli without a response: %s",
            len(dropped),
            preview(f"{d['stimulus_id']} ({d['reason']})" for d in dropped),
        )
    responses = responses.isel(stimulus=np.flatnonzero(keep))
    exclusions = _constant_channels(responses)
    for record in exclusions:
        logger.warning("%s: excluding %s: %s", *(record[k] for k in _EXCLUSION_KEYS))
    constant = [record["channel"] for record in exclusions]
    if len(constant) == responses.sizes["channel"]:
        raise ValueError(f"responses: every channel is constant over stimuli {preview(constant)}")
    responses = responses.sel(channel=~responses["channel"].isin(constant))
    responses.attrs = {
        **responses.attrs,
        "dropped_stimuli": [*(responses.attrs.get("dropped_stimuli") or []), *dropped],
        "exclusions": [*(responses.attrs.get("exclusions") or []), *exclusions],
    }
    return responses


def _constant_channels(responses: xr.Dataset) -> list[dict]:
    """``{subject, channel, reason}`` of channels with one value for every stimulus
    in some band and window (a silent unit, a saturated contact)."""
    response = responses["response"].transpose(*RESPONSE_DIMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are not constant
        spread = np.nanmax(response.to_numpy(), axis=0) - np.nanmin(response.to_numpy(), axis=0)
    records = []
    for c, channel in enumerate(response["channel"].to_numpy().astype(str)):
        flat = np.argwhere(spread[c] == 0)
        if flat.size:
            b, w = flat[0]
            records.append(
                {
                    "subject": str(responses["subject"].values[c]),
                    "channel": channel,
                    "reason": (
                        f"constant over stimuli (band {response['band'].values[b]}, "
                        f"window {response['window'].values[w]})"
                    ),
                }
            )
    return records
