"""Already-reduced responses: BrainIO assemblies, NumPy matrices, Cowley V4.

Each loader returns the ``responses`` layout of
:func:`brainnet.preprocessing.compute_responses`, with a single band
``"broadband"`` (``fmin``/``fmax`` NaN) and a single window ``"all"``
(``tmin``/``tmax`` NaN) unless the source has time bins. Repeated
presentations of a stimulus are averaged, and the means over even and odd
repetitions are kept as ``split_half`` for noise ceilings.

Stimuli without a response (an image never shown, a NaN column) and units
constant over stimuli (a silent unit) are left out with a logged reason and
recorded in the attributes (:func:`brainnet.responses.drop_unusable`).

These data carry no baseline to test against (a spike count or a mean
response per image), so every channel is ``responsive``; selecting
visually driven units is the data provider's job and is documented with each
dataset.

Regions without a ``region_rank`` get it from ``region_ranks``, by default
:data:`DEFAULT_REGION_RANKS`: V1 = 1, V2 = 2, V3 and V4 = 3 (the V3/V4 stage
of the ventral stream, Brodmann area 19 in Kuzovkin et al. 2018), IT = 4.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brainnet.join import clean_ids
from brainnet.log import logger, set_log_level
from brainnet.responses import average_repetitions, drop_unusable
from brainnet.tables import read_ranks, read_stimulus_list, read_table

__all__ = ["DEFAULT_REGION_RANKS", "load_array", "load_assembly", "load_cowley"]

#: Rank along the ventral stream of common region names (1 = V1).
DEFAULT_REGION_RANKS = {"V1": 1, "V2": 2, "V3": 3, "V4": 3, "IT": 4}

_COWLEY_RANK = DEFAULT_REGION_RANKS["V4"]


def load_assembly(
    path: str | os.PathLike,
    *,
    subject: str | None = None,
    region: str | None = None,
    region_ranks: Mapping[str, int] | None = None,
    stimulus_ids: Sequence[str] | None = None,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Read a BrainIO (Brain-Score) neural assembly from netCDF.

    Parameters
    ----------
    path : path-like
        netCDF file holding one data variable with dims ``presentation`` and
        ``neuroid`` (and optionally ``time_bin``), as written by BrainIO after
        ``reset_index``. ``presentation`` needs a ``stimulus_id`` coordinate
        (older assemblies: ``image_id``) and may have ``repetition``;
        ``neuroid`` may have ``neuroid_id``, ``region``, ``region_rank`` and
        ``subject`` (or ``animal``); ``time_bin`` has ``time_bin_start`` and
        ``time_bin_end`` in ms.
    subject : str | None
        Subject of every neuroid when the assembly has no ``subject`` or
        ``animal`` coordinate; None uses the file stem.
    region : str | None
        Region of every neuroid when the assembly has no ``region`` coordinate.
    region_ranks : dict of str to int | None
        Rank of each region name when the assembly has no ``region_rank``;
        None uses :data:`DEFAULT_REGION_RANKS`.
    stimulus_ids : sequence of str | None
        The stimulus set, in order; see
        :func:`brainnet.responses.average_repetitions`.
    verbose : bool | str | int | None
        Log level of the ``brainnet`` logger.

    Returns
    -------
    responses : xarray.Dataset
    """
    set_log_level(verbose)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"assembly not found: {path}")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    variables = [name for name, var in ds.data_vars.items() if "presentation" in var.dims]
    if len(variables) != 1:
        raise ValueError(
            f"assembly {path} must hold one data variable over 'presentation', found {variables}"
        )
    data = ds[variables[0]]
    extra = set(data.dims) - {"presentation", "neuroid", "time_bin"}
    if "neuroid" not in data.dims or extra:
        raise ValueError(
            f"assembly {path} has dims {data.dims}; expected presentation, neuroid[, time_bin]"
        )
    id_coord = next((c for c in ("stimulus_id", "image_id") if c in data.coords), None)
    if id_coord is None:
        raise ValueError(f"assembly {path} has no stimulus_id (or image_id) on presentation")
    if id_coord == "image_id":
        logger.info("%s: using image_id as stimulus_id", path.name)
    if "repetition" in data.coords:
        order = np.argsort(data["repetition"].to_numpy(), kind="stable")
        data = data.isel(presentation=order)
    n = data.sizes["neuroid"]
    coord = _coord_reader(data, "neuroid")
    subjects = coord("subject", coord("animal", [subject or path.stem] * n))
    regions = coord("region", None if region is None else [region] * n)
    if regions is None:
        raise ValueError(f"assembly {path} has no region on neuroid; pass region=")
    names = coord("neuroid_id", [f"n{i:04d}" for i in range(n)])
    channels = pd.DataFrame({"name": names, "subject": subjects, "region": regions})
    ranks = coord("region_rank", None)
    channels["region_rank"] = (
        _region_ranks(channels["region"], region_ranks, path) if ranks is None else ranks
    )
    if "time_bin" in data.dims:
        start = data["time_bin_start"].to_numpy().astype(float)
        end = data["time_bin_end"].to_numpy().astype(float)
        windows = {f"{s:g}-{e:g}": (s / 1000, e / 1000) for s, e in zip(start, end, strict=True)}
    else:
        windows = {"all": (np.nan, np.nan)}
    values = data.transpose("presentation", "neuroid", ...).to_numpy()
    values = values.reshape(values.shape[0], n, len(windows))
    ids = clean_ids(data[id_coord].to_numpy(), f"assembly {path}")
    source = {"format": "assembly", "path": str(path)}
    return drop_unusable(_responses(values, ids, channels, windows, stimulus_ids, source))


def load_array(
    values: str | os.PathLike,
    channels: str | os.PathLike,
    stimuli: str | os.PathLike,
    *,
    subject: str | None = None,
    region_ranks: Mapping[str, int] | None = None,
    window: Sequence[float] | None = None,
    stimulus_ids: Sequence[str] | None = None,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Read responses stored as a NumPy matrix with a channel table and a stimulus list.

    Parameters
    ----------
    values : path-like
        ``.npy`` array, either ``(presentation, channel)`` (a stimulus shown
        several times has several rows) or ``(stimulus, channel, repetition)``
        with NaN for missing repetitions.
    channels : path-like
        Tab-separated table, one row per channel in array order: ``name``,
        ``region``, optional ``region_rank``, ``subject``, ``x``, ``y``, ``z`` (mm).
    stimuli : path-like
        The stimulus of each row: a text file with one ``stimulus_id`` a
        line, or a ``.csv``/``.tsv`` table with a ``stimulus_id`` column.
    subject : str | None
        Subject of channels without a ``subject`` column; None uses the stem
        of ``values``.
    region_ranks : dict of str to int | None
        Rank of each region for a table without ``region_rank``.
    window : (float, float) | None
        The time window the values summarise (s from onset); None gives the
        window ``"all"``.
    stimulus_ids : sequence of str | None
        The stimulus set, in order.
    verbose : bool | str | int | None
        Log level of the ``brainnet`` logger.

    Returns
    -------
    responses : xarray.Dataset
    """
    set_log_level(verbose)
    values, channels, stimuli = Path(values), Path(channels), Path(stimuli)
    for file in (values, channels, stimuli):
        if not file.is_file():
            raise FileNotFoundError(f"array input not found: {file}")
    array = np.load(values)
    if array.ndim not in (2, 3):
        raise ValueError(f"{values} has shape {array.shape}; expected 2 or 3 dims")
    ids = read_stimulus_list(stimuli)
    if len(ids) != array.shape[0]:
        raise ValueError(
            f"{stimuli} lists {len(ids)} stimuli but {values} has {array.shape[0]} rows"
        )
    table = read_table(channels, sep="\t", required=("name", "region"), na_values=("n/a", ""))
    if len(table) != array.shape[1]:
        raise ValueError(
            f"{channels} lists {len(table)} channels but {values} has {array.shape[1]} columns"
        )
    if "subject" not in table.columns:
        table["subject"] = subject or values.stem
    if "region_rank" in table.columns:
        table["region_rank"] = read_ranks(table["region_rank"], table["name"], str(channels))
    else:
        table["region_rank"] = _region_ranks(table["region"], region_ranks, channels)
    if array.ndim == 3:
        if len(set(ids)) != len(ids):
            raise ValueError(f"{stimuli} repeats stimulus ids, but {values} has a repetition axis")
        array, ids = _flatten_repetitions(array, ids)
    if window is None:
        windows = {"all": (np.nan, np.nan)}
    else:
        lo, hi = (float(v) for v in window)
        windows = {f"{round(lo * 1000)}-{round(hi * 1000)}": (lo, hi)}
    source = {
        "format": "array",
        "values": str(values),
        "channels": str(channels),
        "stimuli": str(stimuli),
    }
    return drop_unusable(_responses(array[..., None], ids, table, windows, stimulus_ids, source))


def load_cowley(
    root: str | os.PathLike,
    session: str,
    *,
    stimulus_ids: Sequence[str] | None = None,
    stimulus_files: Mapping[str, str | os.PathLike] | None = None,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Read one session of the Cowley et al. (2023) macaque V4 responses.

    Spike counts in 100 ms bins of single and multi-units on Utah arrays in
    V4 (``region_rank`` 3, the V3/V4 stage), one window ``"all"``.

    Parameters
    ----------
    root : path-like
        The release folder with ``responses_repeat_averaged/``,
        ``responses_raw/`` and ``images/``.
    session : str
        Session id, e.g. ``"210325"``.
    stimulus_ids : sequence of str | None
        The stimulus set, in order; None keeps the session's image order.
        It must hold exactly the images of the session's zip.
    stimulus_files : dict of str to path-like | None
        The image file of each stimulus id. Every session names its images
        ``image0001.jpg`` ..., so ids alone cannot tell the images of another
        session apart: when given, each file must be byte-identical to the
        image of the same name in ``images/images_<session>.zip`` (as
        extracted by the ``zip`` stimulus source).
    verbose : bool | str | int | None
        Log level of the ``brainnet`` logger.

    Returns
    -------
    responses : xarray.Dataset
        ``stimulus_id`` is the image's file stem in ``images/images_<session>.zip``
        (``image0001`` is column 0). Channels are ``monkey-<session>:unitNN``
        with ``subject`` ``monkey-<session>``. ``split_half`` comes from
        ``responses_raw/responses_<session>.npy`` where it exists (the even and
        odd repeats of each image); ``response`` is the repeat-averaged file,
        checked against the raw repeats.
    """
    set_log_level(verbose)
    root = Path(root)
    session = str(session)
    averaged_file = root / "responses_repeat_averaged" / f"responses_{session}.npy"
    raw_file = root / "responses_raw" / f"responses_{session}.npy"
    zip_file = root / "images" / f"images_{session}.zip"
    for file in (averaged_file, zip_file):
        if not file.is_file():
            raise FileNotFoundError(f"Cowley V4 session {session}: {file} not found")
    averaged = np.load(averaged_file)
    with zipfile.ZipFile(zip_file) as archive:
        checksums = {
            Path(info.filename).stem: info.CRC
            for info in archive.infolist()
            if info.filename.lower().endswith(".jpg")
        }
    stems = sorted(checksums)
    if averaged.ndim != 2 or averaged.shape[1] != len(stems):
        raise ValueError(
            f"{averaged_file} has shape {averaged.shape} (neurons, images) but {zip_file} "
            f"holds {len(stems)} images"
        )
    if stimulus_ids is not None:
        _check_cowley_ids(stimulus_ids, stems, session, zip_file)
    if stimulus_files is not None:
        _check_cowley_files(stimulus_files, checksums, session, zip_file)
    n_units = averaged.shape[0]
    subject = f"monkey-{session}"
    channels = pd.DataFrame(
        {
            "name": [f"unit{i + 1:02d}" for i in range(n_units)],
            "subject": subject,
            "region": "V4",
            "region_rank": _COWLEY_RANK,
        }
    )
    if raw_file.is_file():
        repeats = np.load(raw_file)
        if repeats.shape[:2] != averaged.shape:
            raise ValueError(
                f"{raw_file} has shape {repeats.shape} (neurons, images, repeats) but "
                f"{averaged_file} has {averaged.shape}"
            )
        values, ids = _flatten_repetitions(repeats.transpose(1, 0, 2), stems)
        source_files = [str(averaged_file), str(raw_file), str(zip_file)]
    else:
        values, ids = averaged.T, stems
        source_files = [str(averaged_file), str(zip_file)]
    source = {"format": "cowley", "session": session, "files": source_files}
    responses = _responses(
        values[..., None], ids, channels, {"all": (np.nan, np.nan)}, stimulus_ids, source
    )
    expected = _by_id(averaged.T, stems, responses["stimulus_id"].to_numpy().astype(str))
    got = responses["response"].isel(band=0, window=0).to_numpy()
    if not np.allclose(got, expected, equal_nan=True):
        raise ValueError(f"the mean of the repeats in {raw_file} differs from {averaged_file}")
    return drop_unusable(responses)


def _check_cowley_ids(stimulus_ids, stems, session, zip_file):
    """The stimulus set must be the session's images: no image more, none fewer."""
    extra = sorted(set(stimulus_ids) - set(stems))
    missing = sorted(set(stems) - set(stimulus_ids))
    if extra or missing:
        raise ValueError(
            f"the stimulus set ({len(stimulus_ids)} images) is not the {len(stems)} images of "
            f"Cowley V4 session {session} in {zip_file}: not in the session {extra[:5]}, "
            f"missing from the stimulus set {missing[:5]}. Pair the session with "
            f"stimuli {{source: zip, path: {zip_file}}}"
        )


def _check_cowley_files(stimulus_files, checksums, session, zip_file):
    """Each stimulus file must be the zip's image of the same name (CRC-32 of its bytes)."""
    differ = []
    for sid, crc in checksums.items():
        path = Path(stimulus_files[sid]) if sid in stimulus_files else None
        if path is None or zlib.crc32(path.read_bytes()) != crc:
            differ.append(f"{sid} ({path})")
    if differ:
        raise ValueError(
            f"{len(differ)} of {len(checksums)} stimulus images differ from the images of "
            f"Cowley V4 session {session} in {zip_file}, e.g. {differ[:3]}: the stimuli "
            f"come from another session or were re-encoded. Pair the session with "
            f"stimuli {{source: zip, path: {zip_file}}}"
        )


def _coord_reader(data, dim):
    def read(name, default):
        if name in data.coords and data[name].dims == (dim,):
            return data[name].to_numpy().tolist()
        return default

    return read


def _region_ranks(regions, region_ranks, source):
    ranks = dict(DEFAULT_REGION_RANKS if region_ranks is None else region_ranks)
    unknown = sorted(set(regions) - set(ranks))
    if unknown:
        raise ValueError(
            f"{source}: no region_rank for regions {unknown}; known: {ranks}. "
            "Give region_ranks (0 = outside the visual hierarchy)"
        )
    return [int(ranks[r]) for r in regions]


def _flatten_repetitions(array, ids):
    """(stimulus, channel, repetition) to presentations in repetition order."""
    present = ~np.isnan(array).all(axis=1)  # (stimulus, repetition)
    stim, rep = np.nonzero(present)
    return array[stim, :, rep], [ids[s] for s in stim]


def _by_id(values, ids, order):
    index = pd.Index(ids).get_indexer(order)
    out = np.full((len(order), values.shape[1]), np.nan)
    out[index >= 0] = values[index[index >= 0]]
    return out


def _responses(values, ids, channels, windows, stimulus_ids, source):
    """Build the responses layout from presentations (presentation, channel, window)."""
    names = [f"{s}:{n}" for s, n in zip(channels["subject"], channels["name"], strict=True)]
    repeated = pd.Index(names)[pd.Index(names).duplicated()].tolist()
    if repeated:
        raise ValueError(f"{source}: channel names repeat: {repeated[:10]}")
    trials = xr.DataArray(
        values[:, :, None, :],
        dims=("trial", "channel", "band", "window"),
        coords={"stimulus_id": ("trial", np.asarray(ids, dtype=str))},
    )
    responses = average_repetitions(trials, stimulus_ids)
    responses = responses.assign_coords(
        channel=names,
        subject=("channel", np.asarray(channels["subject"], dtype=str)),
        region=("channel", np.asarray(channels["region"], dtype=str)),
        region_rank=(
            "channel",
            read_ranks(channels["region_rank"], names, source.get("path", source["format"])),
        ),
        **{
            k: (
                "channel",
                channels[k].astype(float).to_numpy()
                if k in channels
                else np.full(len(names), np.nan),
            )
            for k in ("x", "y", "z")
        },
        band=["broadband"],
        fmin=("band", [np.nan]),
        fmax=("band", [np.nan]),
        window=list(windows),
        tmin=("window", [w[0] for w in windows.values()]),
        tmax=("window", [w[1] for w in windows.values()]),
    )
    responses["responsive"] = xr.DataArray(
        np.ones((len(names), 1, len(windows)), bool), dims=("channel", "band", "window")
    )
    responses.attrs = {
        "subjects": sorted(set(channels["subject"].astype(str))),
        "settings": {"format": source["format"]},
        "source": source,
        "exclusions": [],
        "dropped_trials": [],
    }
    logger.info(
        "%s: %d channels, %d stimuli, up to %d repetitions",
        source["format"],
        len(names),
        responses.sizes["stimulus"],
        int(pd.Series(ids).value_counts().max()),
    )
    return responses
