"""Joining activations and brain data on ``stimulus_id``.

The encoding and RSA stages pair every layer of the activations with brain
data over the same stimuli. Images and recordings are matched only through the
``stimulus_id`` coordinate of the ``stimulus`` dimension: the brain data are
reordered to the activations' stimulus order, and ids that do not line up
raise a ``ValueError`` naming them (see ``docs/architecture.md``).

Ids are compared as written, so every reader passes them through
:func:`clean_ids` first: ``"face01 "`` and ``"face01"`` are one stimulus.
Stimuli that the brain data lack because they were dropped on assembly (never
presented, or without a response in some subject; listed in the attribute
``dropped_stimuli``, see :func:`brainnet.responses.drop_unusable`) are left
out of the activations by :func:`shared_stimuli`, so that encoding and RSA see
only stimuli with a response.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr

from brainnet.log import logger, preview
from brainnet.responses import RESPONSE_DIMS

__all__ = [
    "align_responses",
    "clean_ids",
    "format_ids",
    "layer_names",
    "shared_stimuli",
    "stimulus_ids",
    "stimulus_order",
]

_IDS_SHOWN = 5


def layer_names(activations: xr.Dataset) -> list[str]:
    """The layers of the activations, in network order.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer; the attribute ``layers`` gives their order
        (the data variables in order when it is absent or empty).

    Returns
    -------
    layers : list of str

    Raises
    ------
    ValueError
        No layer at all, or a listed layer that is not a variable.
    """
    layers = list(activations.attrs.get("layers") or activations.data_vars)
    if not layers:
        raise ValueError("activations hold no layer variables")
    missing = [name for name in layers if name not in activations.data_vars]
    if missing:
        raise ValueError(
            f"activations: layers {missing} are listed in the 'layers' attribute "
            f"but are not variables; variables: {list(activations.data_vars)}"
        )
    return layers


def stimulus_ids(
    ds: xr.Dataset, what: str, dim: str = "stimulus", coord: str = "stimulus_id"
) -> np.ndarray:
    """The stimulus ids of ``ds`` as strings, checked to be unique.

    Parameters
    ----------
    ds : xarray.Dataset
        Data with the id coordinate ``coord`` on the dimension ``dim``.
    what : str
        How errors name ``ds`` (e.g. ``"responses"``).
    dim, coord : str
        The stimulus dimension and its id coordinate (``stimulus_other`` and
        ``stimulus_other_id`` for the second axis of an RDM).

    Returns
    -------
    ids : array of str, in the order of ``dim``

    Raises
    ------
    ValueError
        The coordinate is missing or not on ``dim``, or an id repeats.
    """
    if coord not in ds.coords or ds[coord].dims != (dim,):
        raise ValueError(f"{what} lack the coordinate {coord!r} on dim {dim!r}")
    ids = ds[coord].values.astype(str)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"{what} repeat stimulus ids {format_ids(unique[counts > 1])}")
    return ids


def stimulus_order(activations: xr.Dataset, ids: Sequence[str], what: str, one: str) -> np.ndarray:
    """Positions in ``ids`` of the activations' stimuli, in the activations' order.

    Parameters
    ----------
    activations : xarray.Dataset
        Activations with the coordinate ``stimulus_id``.
    ids : sequence of str
        The stimulus ids of the brain data, in their order (from
        :func:`stimulus_ids`).
    what : str
        How errors name the brain data (e.g. ``"brain_rdms"``).
    one : str
        How errors name one stimulus's worth of them (e.g. ``"a brain RDM"``).

    Returns
    -------
    order : array of int
        ``data.isel(stimulus=order)`` puts the brain data in the activations'
        stimulus order.

    Raises
    ------
    ValueError
        The two id sets differ; the message counts and names the ids on each
        side.
    """
    act_ids = stimulus_ids(activations, "activations")
    missing = np.setdiff1d(act_ids, ids)
    extra = np.setdiff1d(ids, act_ids)
    if missing.size or extra.size:
        raise ValueError(
            f"stimulus ids of activations and {what} do not match: "
            f"{missing.size} without {one} {format_ids(missing)}, "
            f"{extra.size} without activations {format_ids(extra)}"
        )
    position = {sid: i for i, sid in enumerate(ids)}
    return np.array([position[sid] for sid in act_ids])


def align_responses(
    activations: xr.Dataset, responses: xr.Dataset, channel_coords: Sequence[str] = ()
) -> xr.Dataset:
    """Check the responses artefact and reorder it to the activations' stimuli.

    Parameters
    ----------
    activations : xarray.Dataset
        Activations with the coordinate ``stimulus_id``.
    responses : xarray.Dataset
        ``response`` with dims :data:`brainnet.responses.RESPONSE_DIMS` (in any order) and the
        coordinate ``stimulus_id``.
    channel_coords : sequence of str
        Channel coordinates the caller needs (e.g. ``("subject", "region")``).

    Returns
    -------
    responses : xarray.Dataset
        The same data over the stimuli of ``activations``, in their order.

    Raises
    ------
    ValueError
        A missing variable, dimension or coordinate, or stimulus ids that do
        not match (see :func:`stimulus_order`).
    """
    if "response" not in responses:
        raise ValueError(f"responses lack the variable 'response'; found {list(responses)}")
    if set(responses["response"].dims) != set(RESPONSE_DIMS):
        raise ValueError(
            f"responses 'response' must have dims {RESPONSE_DIMS}, "
            f"got {responses['response'].dims}"
        )
    for name in channel_coords:
        if name not in responses.coords:
            raise ValueError(f"responses lack the channel coordinate {name!r}")
    ids = stimulus_ids(responses, "responses")
    return responses.isel(stimulus=stimulus_order(activations, ids, "responses", "a response"))


def clean_ids(ids: Iterable, source: str) -> list[str]:
    """Stimulus ids as strings without surrounding whitespace.

    Parameters
    ----------
    ids : iterable
        The ids as read.
    source : str
        The file or table they come from, named in messages.

    Returns
    -------
    ids : list of str
        Stripped ids; those that changed are logged as a warning, so
        ``"face01 "`` in one file and ``"face01"`` in another join.

    Raises
    ------
    ValueError
        An id that is empty (or only whitespace), naming ``source`` and its
        positions.
    """
    raw = [str(i) for i in ids]
    cleaned = [i.strip() for i in raw]
    changed = [repr(r) for r, c in zip(raw, cleaned, strict=True) if r != c]
    if changed:
        logger.warning(
            "%s: removed the spaces around %d stimulus ids: %s",
            source,
            len(changed),
            preview(changed),
        )
    empty = [n for n, i in enumerate(cleaned) if not i]
    if empty:
        raise ValueError(f"{source}: empty stimulus ids at positions {preview(empty)}")
    return cleaned


def shared_stimuli(activations: xr.Dataset, brain: xr.Dataset) -> xr.Dataset:
    """The activations of the stimuli the brain data kept.

    Parameters
    ----------
    activations : xarray.Dataset
        Activations of the whole stimulus set (coordinate ``stimulus_id``).
    brain : xarray.Dataset
        Responses or brain RDMs; the attribute ``dropped_stimuli`` (a list of
        ``{stimulus_id, reason}``) names stimuli dropped on assembly.

    Returns
    -------
    activations : xarray.Dataset
        Without the dropped stimuli (the same object when none was dropped),
        with the drops in its ``dropped_stimuli`` attribute. Other mismatches
        are left for :func:`stimulus_order` to refuse by name.
    """
    dropped = [str(d["stimulus_id"]) for d in brain.attrs.get("dropped_stimuli") or []]
    if not dropped:
        return activations
    ids = stimulus_ids(activations, "activations")
    keep = ~np.isin(ids, dropped)
    logger.warning(
        "leaving out %d stimuli that have no brain data (dropped on assembly): %s",
        int((~keep).sum()),
        preview(ids[~keep]),
    )
    kept = activations.isel(stimulus=np.flatnonzero(keep))
    kept.attrs = {**activations.attrs, "dropped_stimuli": brain.attrs["dropped_stimuli"]}
    return kept


def format_ids(ids: Iterable) -> str:
    """The first few ids as a list for an error message, ``...`` marking more."""
    ids = [str(i) for i in ids]
    return str(ids[:_IDS_SHOWN])[:-1] + (", ...]" if len(ids) > _IDS_SHOWN else "]")
