"""Reading BIDS-iEEG recordings through MNE-BIDS.

One subject is read into a :class:`Recording`: the continuous data
(:func:`mne_bids.read_raw_bids`, not preloaded), the stimulus events with
their ``stimulus_id`` and a table of recording contacts with their status,
position and region. These are the inputs of
:func:`brainnet.preprocessing.compute_responses`.

Regions come from the ``region`` and ``region_rank`` columns of
``electrodes.tsv`` (as the synthetic dataset writes them) or, for datasets
without them, from a mapping file (:func:`read_region_map`), which takes
precedence. A recording contact (type SEEG, ECOG or DBS) with no region is an
error by default, naming the contacts and the files to fix; with
``missing_region="exclude"`` it is marked bad with the reason "no region
assigned", logged, and listed in the exclusions of the responses.

Every check is made before any signal is read (the recording is opened, not
loaded), and nothing is written.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mne
import mne_bids
import numpy as np
import pandas as pd

from brainnet.join import clean_ids
from brainnet.log import logger, set_log_level
from brainnet.tables import read_ranks, read_table

__all__ = ["Recording", "list_subjects", "read_region_map", "read_schedule", "read_subject"]

_DATA_EXTENSIONS = (".vhdr", ".edf", ".EDF", ".bdf", ".set", ".nwb", ".mefd")
_RECORDING_TYPES = ("SEEG", "ECOG", "DBS")
_TO_MM = {"m": 1000.0, "cm": 10.0, "mm": 1.0}
_MISSING_REGION = ("raise", "exclude")


@dataclass(frozen=True)
class Recording:
    """One subject's recording, ready for preprocessing.

    Attributes
    ----------
    subject : str
        Subject label with its prefix, e.g. ``"sub-01"``.
    raw : mne.io.Raw
        The continuous data (not preloaded), bad channels from ``channels.tsv``
        in ``raw.info["bads"]``.
    events : pandas.DataFrame
        The rows of ``events.tsv``; ``stimulus_id`` is a string, missing for
        events that are not stimulus presentations.
    channels : pandas.DataFrame
        Recording contacts indexed by ``name``: ``type``, ``status``,
        ``status_description``, ``region``, ``region_rank`` and ``x``, ``y``,
        ``z`` in mm (NaN when unknown).
    files : dict of str to Path
        The files read (``data``, ``sidecar``, ``events``, ``channels`` and,
        when present, ``electrodes``, ``coordsystem`` and ``regions``).
    """

    subject: str
    raw: mne.io.BaseRaw
    events: pd.DataFrame
    channels: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)


def list_subjects(root: str | os.PathLike) -> list[str]:
    """Subject labels of a BIDS dataset (without the ``sub-`` prefix).

    Parameters
    ----------
    root : path-like
        BIDS root folder.

    Returns
    -------
    subjects : list of str
        Sorted labels, e.g. ``["01", "02"]``; ``derivatives`` and
        ``sourcedata`` are not searched.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS root not found: {root}")
    subjects = sorted(mne_bids.get_entity_vals(root, "subject"))
    if not subjects:
        raise ValueError(f"no sub-* folder in the BIDS root {root}")
    return subjects


def read_region_map(path: str | os.PathLike) -> pd.DataFrame:
    """Read a contact-to-region mapping.

    Parameters
    ----------
    path : path-like
        Tab-separated file with columns ``name`` (contact), ``region`` and
        ``region_rank`` (int, 1 = V1 rising anteriorly, 0 = outside the visual
        hierarchy), and optionally ``subject`` (``01`` or ``sub-01``). Rows
        without a subject apply to every subject; a subject's own row wins.

    Returns
    -------
    regions : pandas.DataFrame
        Columns ``subject`` (label without prefix, ``""`` for every subject),
        ``name``, ``region``, ``region_rank``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"region mapping not found: {path}")
    table = read_table(path, sep="\t", required=("name", "region", "region_rank"))
    if "subject" not in table.columns:
        table["subject"] = ""
    table["subject"] = table["subject"].str.removeprefix("sub-")
    rank = read_ranks(table["region_rank"], table["name"], f"region mapping {path}")
    if (table["region"] == "").any():
        raise ValueError(
            f"region mapping {path}: empty region for contacts "
            f"{table.loc[table['region'] == '', 'name'].tolist()[:10]}"
        )
    table["region_rank"] = rank
    repeated = table[table.duplicated(["subject", "name"], keep=False)]
    if len(repeated):
        pairs = sorted(set(zip(repeated["subject"], repeated["name"], strict=True)))
        raise ValueError(f"region mapping {path} repeats (subject, name) {pairs[:10]}")
    return table[["subject", "name", "region", "region_rank"]]


def read_subject(
    root: str | os.PathLike,
    subject: str,
    *,
    task: str = "images",
    session: str | None = None,
    run: str | None = None,
    acquisition: str | None = None,
    space: str | None = None,
    regions: str | os.PathLike | None = None,
    stimulus_ids: Sequence[str] | None = None,
    missing_region: str = "raise",
    verbose: bool | str | int | None = None,
) -> Recording:
    """Read one subject's iEEG recording, events, contacts and regions.

    Parameters
    ----------
    root : path-like
        BIDS root folder.
    subject : str
        Subject label, with or without the ``sub-`` prefix.
    task, session, run, acquisition : str | None
        BIDS entities selecting the recording; they must select exactly one.
    space : str | None
        ``space`` entity of ``electrodes.tsv`` when a subject has several.
    regions : path-like | None
        Contact-to-region mapping file (see :func:`read_region_map`); None
        uses the ``region`` and ``region_rank`` columns of ``electrodes.tsv``.
    stimulus_ids : sequence of str | None
        The stimulus set; an event with another ``stimulus_id`` is an error.
    missing_region : "raise" | "exclude"
        What to do with a recording contact that has no region: raise an
        error, or mark it bad ("no region assigned") so preprocessing excludes
        it with that reason.
    verbose : bool | str | int | None
        Log level of the ``brainnet`` logger.

    Returns
    -------
    recording : Recording

    Raises
    ------
    FileNotFoundError
        If the recording, its ``events.tsv`` or ``channels.tsv`` is missing.
    ValueError
        If the sampling rate of the sidecar JSON differs from the data, an
        event's ``stimulus_id`` is not in ``stimulus_ids``, a contact has no
        region (``missing_region="raise"``) or a file lacks a required column.
    """
    set_log_level(verbose)
    if missing_region not in _MISSING_REGION:
        raise ValueError(
            f"missing_region must be one of {_MISSING_REGION}, got {missing_region!r}"
        )
    root = Path(root)
    label = str(subject).removeprefix("sub-")
    data_path, files = _recording_files(root, label, task, session, run, acquisition)
    events = _read_events(files["events"], stimulus_ids)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = mne_bids.read_raw_bids(data_path, verbose=False)
    for warning in caught:
        logger.warning("sub-%s: MNE-BIDS: %s", label, warning.message)
    _check_sampling_rate(files["sidecar"], files["data"], raw.info["sfreq"])

    channels = _read_channels(files["channels"])
    electrodes = _find_electrodes(root, label, session, space)
    if electrodes is not None:
        files["electrodes"], files["coordsystem"] = electrodes
        positions = _read_electrodes(*electrodes)
    else:
        logger.warning("sub-%s: no electrodes.tsv: contact positions unknown", label)
        positions = pd.DataFrame(columns=["x", "y", "z"], dtype=float)
    channels = channels.join(positions[["x", "y", "z"]], how="left")
    if regions is not None:
        files["regions"] = Path(regions)
        assigned = _regions_from_map(read_region_map(regions), label, channels.index)
        origin = f"from the region mapping {files['regions']}"
    elif electrodes is not None and {"region", "region_rank"} <= set(positions.columns):
        assigned = positions[["region", "region_rank"]].dropna(subset=["region"])
        origin = f"from the region columns of {files['electrodes']}"
    else:
        assigned = pd.DataFrame(columns=["region", "region_rank"])
        origin = "no region and region_rank columns in electrodes.tsv, no region mapping"
    channels = channels.join(assigned, how="left")
    channels = _apply_missing_regions(channels, label, origin, missing_region)
    logger.info(
        "sub-%s: %d recording contacts (%d bad), %d stimulus events",
        label,
        len(channels),
        int((channels["status"] == "bad").sum()),
        int(events["stimulus_id"].notna().sum()),
    )
    return Recording(
        subject=f"sub-{label}", raw=raw, events=events, channels=channels, files=files
    )


def read_schedule(root: str | os.PathLike, subject: str, **entities) -> tuple[float, np.ndarray]:
    """The sampling rate and stimulus onsets of one subject, from the sidecars alone.

    Cheap (no signal is opened), for checking the preprocessing settings
    before any job: a band above Nyquist, a window past the next stimulus.

    Parameters
    ----------
    root, subject
        The BIDS root and the subject label, as for :func:`read_subject`.
    **entities
        ``task`` (default ``"images"``), ``session``, ``run``,
        ``acquisition``, as for :func:`read_subject`.

    Returns
    -------
    sfreq : float
        ``SamplingFrequency`` of the recording's JSON sidecar.
    onsets : array of float
        Sorted onsets (s) of the events with a ``stimulus_id``.
    """
    entities = {"task": "images"} | {k: v for k, v in entities.items() if v is not None}
    label = str(subject).removeprefix("sub-")
    _, files = _recording_files(
        Path(root), label, *(entities.get(k) for k in ("task", "session", "run", "acquisition"))
    )
    table = _read_events(files["events"], None)
    onsets = np.sort(table.loc[table["stimulus_id"].notna(), "onset"].to_numpy(float))
    return _declared_sfreq(files["sidecar"]), onsets


def _recording_files(root, label, task, session, run, acquisition):
    """The recording's BIDSPath and its data, sidecar, events and channels files."""
    data_path = _find_recording(root, label, task, session, run, acquisition)
    files = {
        "data": data_path.fpath,
        "sidecar": data_path.copy().update(extension=".json").fpath,
        "events": data_path.copy().update(suffix="events", extension=".tsv").fpath,
        "channels": data_path.copy().update(suffix="channels", extension=".tsv").fpath,
    }
    for key in ("sidecar", "events", "channels"):
        if not files[key].is_file():
            raise FileNotFoundError(f"sub-{label}: {key} file not found: {files[key]}")
    return data_path, files


def _find_recording(root, label, task, session, run, acquisition):
    if not root.is_dir():
        raise FileNotFoundError(f"BIDS root not found: {root}")
    matches = mne_bids.find_matching_paths(
        root,
        subjects=label,
        sessions=session,
        tasks=task,
        runs=run,
        acquisitions=acquisition,
        suffixes="ieeg",
        extensions=list(_DATA_EXTENSIONS),
        datatypes="ieeg",
    )
    if not matches:
        raise FileNotFoundError(
            f"no iEEG recording for sub-{label} (task={task}, session={session}, run={run}) "
            f"under {root}"
        )
    if len(matches) > 1:
        raise ValueError(
            f"several iEEG recordings match sub-{label}: {[str(m.fpath) for m in matches]}; "
            "select one with session, run or acquisition"
        )
    return matches[0]


def _read_tsv(path, required):
    return read_table(path, sep="\t", required=required, na_values=("n/a", ""))


def _read_events(path, stimulus_ids):
    events = _read_tsv(path, ("onset", "stimulus_id"))
    events["onset"] = pd.to_numeric(events["onset"], errors="coerce")
    if events["onset"].isna().any():
        rows = events.index[events["onset"].isna()].tolist()
        raise ValueError(f"{path}: onset is not a number in rows {rows[:10]}")
    if events["stimulus_id"].isna().all():
        raise ValueError(f"{path}: no event has a stimulus_id")
    shown = events["stimulus_id"].notna()
    events.loc[shown, "stimulus_id"] = clean_ids(events.loc[shown, "stimulus_id"], str(path))
    if stimulus_ids is not None:
        unknown = sorted(set(events["stimulus_id"].dropna()) - set(map(str, stimulus_ids)))
        if unknown:
            raise ValueError(
                f"{path}: {len(unknown)} stimulus ids are not in the stimulus set: {unknown[:10]}"
            )
    return events


def _declared_sfreq(sidecar):
    try:
        with open(sidecar, encoding="utf-8") as file:
            declared = json.load(file).get("SamplingFrequency")
    except json.JSONDecodeError as err:
        raise ValueError(f"{sidecar} is not valid JSON: {err}") from err
    if not isinstance(declared, int | float) or isinstance(declared, bool) or declared <= 0:
        raise ValueError(
            f"{sidecar}: SamplingFrequency must be a positive number, got {declared!r}"
        )
    return float(declared)


def _check_sampling_rate(sidecar, data, sfreq):
    declared = _declared_sfreq(sidecar)
    if not np.isclose(declared, sfreq, rtol=1e-6):
        raise ValueError(
            f"sampling rate mismatch: {sidecar} says {declared} Hz, {data} holds {sfreq} Hz"
        )


def _read_channels(path):
    table = _read_tsv(path, ("name", "type", "status"))
    if "status_description" not in table.columns:
        table["status_description"] = ""
    table["status_description"] = table["status_description"].fillna("")
    table["status"] = table["status"].fillna("good").str.lower()
    kind = table["type"].fillna("").str.upper()
    other = table[~kind.isin(_RECORDING_TYPES)]
    if len(other):
        logger.info(
            "%s: %d channels of types %s are not recording contacts and are not used",
            path.name,
            len(other),
            sorted(set(other["type"].fillna("n/a"))),
        )
    table = table[kind.isin(_RECORDING_TYPES)].set_index("name")
    if table.empty:
        raise ValueError(f"{path} lists no SEEG, ECOG or DBS channel")
    return table[["type", "status", "status_description"]]


def _find_electrodes(root, label, session, space):
    found = mne_bids.find_matching_paths(
        root,
        subjects=label,
        sessions=session,
        spaces=space,
        suffixes="electrodes",
        extensions=".tsv",
        datatypes="ieeg",
    )
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(
            f"several electrodes.tsv for sub-{label}: {[str(p.fpath) for p in found]}; "
            "choose one with the space setting"
        )
    electrodes = found[0]
    coordsystem = electrodes.copy().update(suffix="coordsystem", extension=".json").fpath
    if not coordsystem.is_file():
        raise FileNotFoundError(
            f"{electrodes.fpath} has no coordsystem.json beside it (expected {coordsystem})"
        )
    return electrodes.fpath, coordsystem


def _read_electrodes(path, coordsystem):
    table = _read_tsv(path, ("name", "x", "y", "z")).set_index("name")
    with open(coordsystem, encoding="utf-8") as file:
        units = json.load(file).get("iEEGCoordinateUnits", "n/a")
    xyz = table[["x", "y", "z"]].apply(pd.to_numeric, errors="coerce")
    if units in _TO_MM:
        xyz *= _TO_MM[units]
    else:
        logger.warning(
            "%s: coordinate units %r are not metric: positions unknown", coordsystem.name, units
        )
        xyz[:] = np.nan
    table[["x", "y", "z"]] = xyz
    if "region_rank" in table.columns:
        # the rank of a contact without a region is not used: only assigned ones are checked
        assigned = table["region"].notna() if "region" in table.columns else table.index == ""
        rank = pd.Series(np.nan, index=table.index)
        rank[assigned] = read_ranks(
            table.loc[assigned, "region_rank"], table.index[assigned], str(path)
        )
        table["region_rank"] = rank
    return table


def _regions_from_map(regions, label, names):
    mine = regions[regions["subject"] == label].set_index("name")
    common = regions[regions["subject"] == ""].set_index("name")
    assigned = pd.concat([mine, common[~common.index.isin(mine.index)]])
    return assigned.loc[assigned.index.isin(names), ["region", "region_rank"]]


def _apply_missing_regions(channels, label, origin, missing_region):
    without = channels.index[channels["region"].isna()].tolist()
    channels["region"] = channels["region"].fillna("")
    channels["region_rank"] = channels["region_rank"].fillna(0).astype(int)
    if not without:
        return channels
    if missing_region == "raise":
        raise ValueError(
            f"sub-{label}: {len(without)} contacts have no region ({origin}): {without[:20]}; "
            "add them (region_rank 0 for contacts outside the visual hierarchy) or set "
            "missing_region='exclude'"
        )
    logger.warning(
        "sub-%s: %d contacts have no region in %s and are excluded: %s",
        label,
        len(without),
        origin,
        without[:20],
    )
    channels.loc[without, "status"] = "bad"
    channels.loc[without, "status_description"] = "no region assigned"
    return channels
