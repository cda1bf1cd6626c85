"""Simulating the whole dataset: settings, random streams, one subject after another."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm import tqdm

from brainnet.io import atomic_path
from brainnet.log import logger, set_log_level
from brainnet.recordings.synthetic.layout import _layout
from brainnet.recordings.synthetic.regions import (
    DEFAULT_REGIONS,
    _drive,
    _layers,
    _standardised_features,
    check_regions,
)
from brainnet.recordings.synthetic.signals import _bad_channels, _schedule, _signals
from brainnet.recordings.synthetic.writer import _write_dataset_files, _write_subject

__all__ = ["simulate_dataset"]

_SIGNAL_SETTINGS = (
    "sfreq",
    "snr",
    "time_to_peak",
    "band",
    "background",
    "exponent",
    "alpha",
    "line_noise",
    "line_freq",
    "erp",
)

# Independent random streams, so that changing one setting (say the number of
# repetitions) leaves the electrode layout and the tuning of every contact as they were.
_STREAMS = {"layout": 0, "tuning": 1, "schedule": 2, "noise": 3, "bads": 4}


def simulate_dataset(
    stimuli: xr.Dataset,
    activations: xr.Dataset,
    bids_root: str | os.PathLike,
    *,
    n_subjects: int = 4,
    regions: Mapping[str, Mapping] | Sequence[Mapping] | None = None,
    n_contacts: int = 8,
    spacing: float = 3.5,
    sfreq: float = 500.0,
    n_repetitions: int = 4,
    duration: float = 0.3,
    isi: Sequence[float] = (0.6, 0.9),
    padding: float = 2.0,
    snr: float = 1.0,
    time_to_peak: float = 0.08,
    band: Sequence[float] = (30.0, 150.0),
    background: float = 25.0,
    exponent: float = 2.0,
    alpha: float = 10.0,
    line_noise: float = 10.0,
    line_freq: float = 50.0,
    erp: float = 20.0,
    seed: int = 0,
    overwrite: bool = False,
    verbose: bool | str | int | None = None,
) -> Path:
    """Simulate sEEG responses to a stimulus set and write them as BIDS-iEEG.

    Parameters
    ----------
    stimuli : xarray.Dataset
        Stimulus table, dim ``stimulus`` with coordinate ``stimulus_id``.
    activations : xarray.Dataset
        Activations of the reference model: one variable per layer with dims
        ``(stimulus, feature_<layer>)``, coordinate ``stimulus_id`` and attrs
        ``layers`` and ``model``. Its ``stimulus_id`` must match the table's.
    bids_root : path-like
        Folder to create; it is built beside the target and renamed into place.
    n_subjects : int
        Number of subjects (``sub-01``, ...).
    regions : mapping | sequence of mapping | None
        Regions as ``{name: {rank, layer, latency, center}}`` (or a list of
        such dicts with a ``name`` key); ``rank`` 0 marks a control region,
        which needs neither ``layer`` nor ``latency`` (s). Instead of
        ``layer``, a visual region may give ``depth`` in [0, 1]: the layer at
        ``round(depth * (n_layers - 1))`` of the activations' ordered
        ``layers`` (0 = pixels). ``center`` is ``[x, y, z]`` in MNI mm, right
        hemisphere. ``None`` uses :data:`DEFAULT_REGIONS`, placed by depth.
    n_contacts : int
        Contacts per shaft.
    spacing : float
        Distance between neighbouring contacts (mm).
    sfreq : float
        Sampling frequency (Hz).
    n_repetitions : int
        Presentations of each stimulus.
    duration : float
        Image duration (s).
    isi : pair of float
        Range of the uniformly jittered inter-stimulus interval (s).
    padding : float
        Signal before the first and after the last trial (s), at least 1.
    snr : float
        Gamma-band power increase at the response peak for a stimulus of mean
        drive, relative to the background power in the band.
    time_to_peak : float
        Time from response onset (the region's latency) to its peak (s).
    band : pair of float
        Frequency band of the stimulus-driven power increase (Hz).
    background : float
        Root mean square of the aperiodic background (µV).
    exponent : float
        Exponent of the aperiodic spectrum ``1 / (1 + f**exponent)``.
    alpha : float
        Root mean square of the alpha rhythm at the occipital pole (µV).
    line_noise : float
        Amplitude of the line-noise fundamental (µV); harmonic k has 1/k of it.
    line_freq : float
        Power line frequency (Hz).
    erp : float
        Peak amplitude of the evoked potential in visual contacts (µV).
    seed : int
        Seed of every random step; the files are identical for the same seed
        and settings.
    overwrite : bool
        Replace an existing ``bids_root``.
    verbose : bool | str | int | None
        Logging level, see :func:`brainnet.set_log_level`.

    Returns
    -------
    bids_root : Path
        The written dataset.

    Raises
    ------
    ValueError
        If a region's generating layer is not among the activations, if the
        stimulus ids of the table and the activations differ, or if a setting
        is out of range.
    FileExistsError
        If ``bids_root`` exists and ``overwrite`` is False.
    """
    set_log_level(verbose)
    bids_root = Path(bids_root)
    region_list = check_regions(
        DEFAULT_REGIONS if regions is None else regions,
        _layers(activations),
        activations.attrs.get("model"),
    )
    settings = {
        "n_subjects": n_subjects,
        "n_contacts": n_contacts,
        "spacing": spacing,
        "sfreq": sfreq,
        "n_repetitions": n_repetitions,
        "duration": duration,
        "isi": _pair(isi, "isi"),
        "padding": padding,
        "snr": snr,
        "time_to_peak": time_to_peak,
        "band": _pair(band, "band"),
        "background": background,
        "exponent": exponent,
        "alpha": alpha,
        "line_noise": line_noise,
        "line_freq": line_freq,
        "erp": erp,
    }
    _check_settings(settings, seed)
    features = _standardised_features(stimuli, activations, region_list)
    if bids_root.exists() and not overwrite:
        raise FileExistsError(f"{bids_root} exists; pass overwrite=True to replace it")
    stimulus_ids = [str(s) for s in stimuli["stimulus_id"].values]
    subjects = {}
    with atomic_path(bids_root) as tmp:
        progress = tqdm(
            range(n_subjects),
            desc="synthetic subjects",
            disable=not logger.isEnabledFor(logging.INFO),
        )
        for index in progress:
            subject = f"{index + 1:0{max(2, len(str(n_subjects)))}d}"
            subjects[f"sub-{subject}"] = _simulate_subject(
                tmp, index, subject, region_list, features, stimulus_ids, settings, seed
            )
        _write_dataset_files(tmp, activations, region_list, settings, seed, subjects)
        if bids_root.exists():
            shutil.rmtree(bids_root)
    logger.info("wrote synthetic BIDS-iEEG dataset to %s", bids_root)
    return bids_root


def _simulate_subject(root, index, subject, regions, features, stimulus_ids, settings, seed):
    """Simulate and write one subject; return its ground truth."""
    layout = _layout(
        index, regions, settings["n_contacts"], settings["spacing"], _rng(seed, index, "layout")
    )
    drive = _drive(layout, regions, features, _rng(seed, index, "tuning"))
    trials, n_times = _schedule(
        len(stimulus_ids),
        **{k: settings[k] for k in ("n_repetitions", "duration", "isi", "padding", "sfreq")},
        rng=_rng(seed, index, "schedule"),
    )
    data, alpha_freq = _signals(
        layout,
        drive,
        trials,
        n_times,
        regions,
        **{k: settings[k] for k in _SIGNAL_SETTINGS},
        rng=_rng(seed, index, "noise"),
    )
    bads = _bad_channels(data, layout, index, settings["background"], _rng(seed, index, "bads"))
    _write_subject(
        root,
        subject,
        data,
        layout,
        trials,
        stimulus_ids,
        bads,
        **{k: settings[k] for k in ("sfreq", "duration", "line_freq")},
    )
    logger.info(
        "sub-%s: %d contacts, %d trials, %.0f s",
        subject,
        len(layout),
        len(trials),
        n_times / settings["sfreq"],
    )
    return {"n_channels": len(layout), "alpha_freq": float(alpha_freq), "bad_channels": bads}


def _pair(value, name: str) -> list[float]:
    low, high = (float(v) for v in value)
    if not 0 <= low <= high:
        raise ValueError(f"{name} must be [low, high] with 0 <= low <= high, got {list(value)}")
    return [low, high]


def _check_settings(settings: dict, seed) -> None:
    for name in ("n_subjects", "n_contacts", "n_repetitions"):
        value = settings[name]
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if settings["n_contacts"] < 2:
        raise ValueError(
            f"n_contacts must be at least 2 for bipolar pairs, got {settings['n_contacts']}"
        )
    for name in ("spacing", "sfreq", "duration", "time_to_peak"):
        if not settings[name] > 0:
            raise ValueError(f"{name} must be positive, got {settings[name]!r}")
    for name in ("snr", "background", "exponent", "alpha", "line_noise", "erp"):
        if not settings[name] >= 0:
            raise ValueError(f"{name} must be >= 0, got {settings[name]!r}")
    if settings["padding"] < 1:
        raise ValueError(f"padding must be at least 1 s, got {settings['padding']}")
    if settings["isi"][1] <= 0:
        raise ValueError(f"isi must be positive, got {settings['isi']}")
    nyquist = settings["sfreq"] / 2
    if not settings["band"][1] < nyquist:
        raise ValueError(
            f"band {settings['band']} must lie below the Nyquist frequency {nyquist} Hz"
        )
    if not 0 < settings["line_freq"] < nyquist:
        raise ValueError(
            f"line_freq {settings['line_freq']} must lie below the Nyquist frequency {nyquist} Hz"
        )
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _rng(seed: int, subject: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, subject, _STREAMS[stream]])
