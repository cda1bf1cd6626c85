"""The embedded synthetic sEEG dataset, written as BIDS-iEEG with MNE-BIDS.

The synthetic dataset gives the whole pipeline a known ground truth: every
visual region along the ventral stream responds to the stimuli as one chosen
layer of the reference network does, and the analysis should find that layer
again. It is written like a real recording, so the same loader and MNE
preprocessing read it.

Signal model
------------
Each subject has depth electrodes (shafts) running mediolaterally, with
``n_contacts`` contacts ``spacing`` mm apart, named by hemisphere, shaft letter
and number (``LA1`` is the deepest contact of the left shaft ``A``). A shaft is
aimed at one region's centre (MNI millimetres, right hemisphere; mirrored for
the left) and each contact is labelled with the region whose centre is
nearest, so a shaft may cross from one region into its neighbour. Every
subject has a shaft in all visual regions but one (a different one per
subject) and one shaft in a control region.

For a visual region generating layer ``L``, each contact's *drive* for a
stimulus is ``g * softplus(z + 1) / mean(softplus(z + 1))``, where ``z`` is a
fixed random Gaussian projection (seeded per contact) of the activations of
``L`` with every feature z-scored over stimuli, itself z-scored, and ``g`` a
contact gain drawn from U(0.5, 1.5). The drive raises broadband gamma power
(``band``, 30-150 Hz by default): an independent noise carrier with the
background's spectrum in that band is added with power
``snr * drive * h(t - latency)``, where ``h`` rises from the region's latency
to a peak ``time_to_peak`` later and decays over a few hundred ms. A
stimulus-independent evoked potential of ``erp`` µV starts at the same latency.
Control regions (rank 0) do not respond.

The background is aperiodic noise (power ``1 / (1 + f**exponent)``, ``background``
µV rms) shared partly along each shaft and across the whole implant, plus an
alpha rhythm (9-11 Hz, ``alpha`` µV at the occipital pole, a tenth of that
anteriorly) and line noise at ``line_freq`` and its harmonics. Each subject has
one flat and one very noisy contact; only one of the two is marked ``bad`` in
``channels.tsv``, so automatic detection still has work to do.

Each stimulus is shown ``n_repetitions`` times, each repetition a new random
order, for ``duration`` s with a uniformly jittered inter-stimulus interval
``isi``; ``padding`` s of signal precede the first and follow the last trial.

Layout
------
::

    <bids_root>/dataset_description.json, README, participants.tsv, participants.json
    <bids_root>/sub-01/sub-01_scans.tsv
    <bids_root>/sub-01/ieeg/sub-01_task-images_ieeg.{vhdr,vmrk,eeg,json}
    <bids_root>/sub-01/ieeg/sub-01_task-images_channels.tsv
    <bids_root>/sub-01/ieeg/sub-01_task-images_events.{tsv,json}
    <bids_root>/sub-01/ieeg/sub-01_space-fsaverage_electrodes.{tsv,json}
    <bids_root>/sub-01/ieeg/sub-01_space-fsaverage_coordsystem.json
    <bids_root>/derivatives/simulation/dataset_description.json
    <bids_root>/derivatives/simulation/ground_truth.json

``electrodes.tsv`` holds ``name, x, y, z`` (metres, MNI) and ``size`` (mm²),
plus ``group`` (shaft), ``hemisphere``, ``region`` and ``region_rank``;
``events.tsv`` holds ``onset, duration, trial_type, value, sample,
stimulus_id, repetition``. MNE-BIDS names the MNI frame ``fsaverage`` (its BIDS
name for MNE's ``mni_tal``); :func:`mne_bids.read_raw_bids` reads it back as
``mni_tal``. ``ground_truth.json`` holds ``model``, ``layers``, ``seed``,
``task``, ``band``, ``regions`` (per region: ``rank``, ``layer``, ``model``,
``latency``, ``band``, ``center``), ``settings`` (every keyword of
:func:`simulate_dataset`) and ``subjects`` (per ``sub-XX``: ``n_channels``,
``alpha_freq`` and ``bad_channels``, a list of ``{name, kind, marked,
description}`` with ``kind`` ``flat`` or ``noisy``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from string import ascii_uppercase

import mne
import mne_bids
import numpy as np
import pandas as pd
import xarray as xr
from scipy import fft
from scipy.special import softplus
from tqdm import tqdm

from brainnet import __version__
from brainnet.io import atomic_path
from brainnet.log import logger, set_log_level

__all__ = ["DEFAULT_REGIONS", "TASK", "simulate_dataset"]

TASK = "images"

#: Regions of the default dataset: rank along the ventral stream (0 = control,
#: no response), generating layer of the reference network (AlexNet), response
#: latency in seconds and centre in MNI millimetres (right hemisphere).
DEFAULT_REGIONS: dict[str, dict] = {
    "V1": {"rank": 1, "layer": "conv1", "latency": 0.05, "center": [10.0, -92.0, 2.0]},
    "V2": {"rank": 2, "layer": "conv2", "latency": 0.08, "center": [14.0, -90.0, 14.0]},
    "V3-V4": {"rank": 3, "layer": "conv3", "latency": 0.11, "center": [30.0, -82.0, -8.0]},
    "fusiform-IT": {"rank": 4, "layer": "conv5", "latency": 0.14, "center": [38.0, -55.0, -18.0]},
    "anterior-temporal": {
        "rank": 5,
        "layer": "fc7",
        "latency": 0.17,
        "center": [35.0, -10.0, -35.0],
    },
    "frontal": {"rank": 0, "layer": None, "latency": None, "center": [38.0, 30.0, 30.0]},
    "motor": {"rank": 0, "layer": None, "latency": None, "center": [38.0, -18.0, 55.0]},
}

# Contact surface of a typical sEEG contact (0.8 mm diameter, 2 mm long), mm².
_CONTACT_SIZE = 5.0
# The deepest contact sits this many contacts medial of the region centre, but
# never closer to the midline than _MIN_X mm.
_MEDIAL_CONTACTS = 2
_MIN_X = 3.0
# Shafts are displaced by up to this many mm and tilted by up to this slope.
_JITTER_MM = 3.0
_TILT = 0.15
# Variance fractions of the background: local to the contact, shared along the
# shaft (volume conduction) and shared by all contacts (the common reference).
_LOCAL, _SHAFT, _COMMON = 0.7, 0.2, 0.1
_KNEE_HZ = 1.0  # below the knee the aperiodic spectrum flattens (amplifier high-pass)
_ALPHA_RANGE_HZ = (9.0, 11.0)
_ALPHA_WIDTH_HZ = 1.0
_FLAT_UV = 0.1  # residual noise of a disconnected contact
_NOISY_FACTOR = 10.0  # broadband noise of a faulty contact, times the background
_KERNEL_SPAN = 6.0  # response kernels are cut at this many times time_to_peak
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


@dataclass(frozen=True)
class _Region:
    name: str
    rank: int
    layer: str | None
    latency: float | None
    center: tuple[float, float, float]


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
        which needs neither ``layer`` nor ``latency`` (s). ``center`` is
        ``[x, y, z]`` in MNI mm, right hemisphere. ``None`` uses
        :data:`DEFAULT_REGIONS`.
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
    region_list = _check_regions(DEFAULT_REGIONS if regions is None else regions, activations)
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


# --------------------------------------------------------------------------- validation


def _check_regions(regions, activations: xr.Dataset) -> list[_Region]:
    if isinstance(regions, Mapping):
        items = [(name, spec) for name, spec in regions.items()]
    else:
        items = []
        for spec in regions:
            if "name" not in spec:
                raise ValueError(f"region {dict(spec)} lacks a 'name'")
            items.append((spec["name"], {k: v for k, v in spec.items() if k != "name"}))
    available = _layers(activations)
    out = []
    for name, spec in items:
        unknown = set(spec) - {"rank", "layer", "latency", "center"}
        if unknown:
            raise ValueError(f"region {name!r} has unknown keys {sorted(unknown)}")
        if "rank" not in spec or "center" not in spec:
            raise ValueError(f"region {name!r} needs 'rank' and 'center'")
        rank = int(spec["rank"])
        center = tuple(float(c) for c in spec["center"])
        if len(center) != 3:
            raise ValueError(f"region {name!r}: center must be [x, y, z] in mm, got {center}")
        layer, latency = spec.get("layer"), spec.get("latency")
        if rank < 0:
            raise ValueError(f"region {name!r}: rank must be >= 0, got {rank}")
        if rank > 0:
            if layer is None or latency is None:
                raise ValueError(
                    f"visual region {name!r} (rank {rank}) needs a layer and a latency"
                )
            if layer not in available:
                raise ValueError(
                    f"region {name!r}: generating layer {layer!r} is not among the activations "
                    f"of model {activations.attrs.get('model')!r}; available layers: {available}"
                )
            if not latency >= 0:
                raise ValueError(f"region {name!r}: latency must be >= 0 s, got {latency}")
            latency = float(latency)
        out.append(
            _Region(
                str(name), rank, layer if rank > 0 else None, latency if rank > 0 else None, center
            )
        )
    if len({r.name for r in out}) != len(out):
        raise ValueError(f"region names must be unique, got {[r.name for r in out]}")
    if not any(r.rank > 0 for r in out):
        raise ValueError("at least one region needs rank > 0 (a responding visual region)")
    if not any(r.rank == 0 for r in out):
        raise ValueError("at least one control region (rank 0) is needed")
    return out


def _layers(activations: xr.Dataset) -> list[str]:
    if "layers" not in activations.attrs:
        raise ValueError("activations lack the 'layers' attribute (ordered list of layers)")
    layers = activations.attrs["layers"]
    layers = [layers] if isinstance(layers, str) else [str(layer) for layer in layers]
    missing = [layer for layer in layers if layer not in activations.data_vars]
    if missing:
        raise ValueError(f"activations list layers {missing} that have no variable")
    return layers


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


def _standardised_features(stimuli, activations, regions) -> dict[str, np.ndarray]:
    """Each generating layer's activations, z-scored per feature, in the table's order."""
    for ds, what in [(stimuli, "stimulus table"), (activations, "activations")]:
        if "stimulus_id" not in ds.coords or ds["stimulus_id"].dims != ("stimulus",):
            raise ValueError(f"the {what} lacks the coordinate stimulus_id on dim 'stimulus'")
    table_ids = pd.Index([str(s) for s in stimuli["stimulus_id"].values])
    act_ids = pd.Index([str(s) for s in activations["stimulus_id"].values])
    for ids, what in [(table_ids, "stimulus table"), (act_ids, "activations")]:
        if ids.has_duplicates:
            raise ValueError(
                f"duplicate stimulus_id in the {what}: {_preview(ids[ids.duplicated()].unique())}"
            )
    only_table, only_act = table_ids.difference(act_ids), act_ids.difference(table_ids)
    if len(only_table) or len(only_act):
        raise ValueError(
            "stimulus_id of the stimulus table and the activations do not match: "
            f"{len(only_table)} only in the table {_preview(only_table)}, "
            f"{len(only_act)} only in the activations {_preview(only_act)}"
        )
    order = act_ids.get_indexer(table_ids)
    out = {}
    for layer in {r.layer for r in regions if r.rank > 0}:
        var = activations[layer]
        if var.ndim != 2 or "stimulus" not in var.dims:
            raise ValueError(
                f"activations[{layer!r}] must have dims (stimulus, feature_{layer}), "
                f"got {var.dims}"
            )
        values = var.transpose("stimulus", ...).values[order].astype(np.float64)
        std = values.std(axis=0)
        # Constant features (dead units) carry no stimulus information.
        out[layer] = np.where(
            std > 0, (values - values.mean(axis=0)) / np.where(std > 0, std, 1), 0.0
        )
    return out


def _preview(ids, n: int = 10) -> list[str]:
    ids = [str(i) for i in ids]
    return ids[:n] + ([f"... ({len(ids) - n} more)"] if len(ids) > n else [])


def _rng(seed: int, subject: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, subject, _STREAMS[stream]])


# --------------------------------------------------------------------------- simulation


def _layout(
    index: int, regions: list[_Region], n_contacts: int, spacing: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Shafts of one subject: one per visual region but one, plus one control shaft."""
    visual = sorted((r for r in regions if r.rank > 0), key=lambda r: r.rank)
    control = [r for r in regions if r.rank == 0]
    targets = [r for i, r in enumerate(visual) if len(visual) == 1 or i != index % len(visual)]
    targets.append(control[index % len(control)])
    centers = np.array([r.center for r in regions])
    rows = []
    for letter, target in zip(ascii_uppercase[: len(targets)], targets, strict=True):
        hemisphere = "L" if rng.random() < 0.5 else "R"
        side = -1.0 if hemisphere == "L" else 1.0
        direction = np.array([1.0, *rng.uniform(-_TILT, _TILT, 2)])
        direction /= np.linalg.norm(direction)
        center = np.array(target.center) + rng.uniform(-_JITTER_MM, _JITTER_MM, 3)
        medial = min(_MEDIAL_CONTACTS * spacing, (center[0] - _MIN_X) / direction[0])
        positions = center + (np.arange(n_contacts)[:, None] * spacing - medial) * direction
        nearest = np.argmin(np.linalg.norm(positions[:, None] - centers[None], axis=2), axis=1)
        for k, (pos, region) in enumerate(zip(positions, nearest, strict=True)):
            rows.append(
                {
                    "name": f"{hemisphere}{letter}{k + 1}",
                    "group": f"{hemisphere}{letter}",
                    "hemisphere": hemisphere,
                    "x": round(side * pos[0], 1),
                    "y": round(pos[1], 1),
                    "z": round(pos[2], 1),
                    "region": regions[region].name,
                    "region_rank": regions[region].rank,
                }
            )
    return pd.DataFrame(rows)


def _drive(
    layout: pd.DataFrame,
    regions: list[_Region],
    features: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Stimulus drive of each contact, ``(contact, stimulus)``, mean 1; 0 in controls."""
    n_stimuli = next(iter(features.values())).shape[0]
    drive = np.zeros((len(layout), n_stimuli))
    for region in regions:
        rows = np.flatnonzero(layout["region"].to_numpy() == region.name)
        if region.rank == 0 or not len(rows):
            continue
        x = features[region.layer]
        z = x @ rng.standard_normal((x.shape[1], len(rows)))
        z = (z - z.mean(axis=0)) / np.where(z.std(axis=0) > 0, z.std(axis=0), 1)
        d = softplus(z + 1.0)
        # Contacts differ in how strongly they respond (distance to the generators).
        drive[rows] = (d / d.mean(axis=0) * rng.uniform(0.5, 1.5, len(rows))).T
    return drive


def _schedule(n_stimuli, *, n_repetitions, duration, isi, padding, sfreq, rng):
    """Trial table (sample, stimulus, repetition) and the recording length in samples."""
    order = np.concatenate([rng.permutation(n_stimuli) for _ in range(n_repetitions)])
    repetition = np.repeat(np.arange(n_repetitions), n_stimuli)
    gaps = duration + rng.uniform(isi[0], isi[1], len(order))
    onsets = padding + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    trials = pd.DataFrame(
        {
            "sample": np.round(onsets * sfreq).astype(int),
            "stimulus": order,
            "repetition": repetition,
        }
    )
    n_times = int(np.round((onsets[-1] + duration + isi[1] + padding) * sfreq))
    return trials, n_times


def _signals(
    layout,
    drive,
    trials,
    n_times,
    regions,
    *,
    sfreq,
    snr,
    time_to_peak,
    band,
    background,
    exponent,
    alpha,
    line_noise,
    line_freq,
    erp,
    rng,
) -> tuple[np.ndarray, float]:
    """Continuous signals ``(contact, time)`` in µV, and the subject's alpha frequency."""
    n_channels = len(layout)
    shafts, shaft_of = np.unique(layout["group"].to_numpy(), return_inverse=True)
    # Noise is drawn on a fast FFT length and cut to the recording.
    n_fft = 2 * fft.next_fast_len((n_times + 1) // 2, real=True)  # even, as _noise needs
    freqs = fft.rfftfreq(n_fft, 1 / sfreq)
    aperiodic = 1 / np.sqrt(1 + (freqs / _KNEE_HZ) ** exponent)
    aperiodic[0] = 0.0
    data = background * (
        np.sqrt(_LOCAL) * _noise(rng, n_channels, aperiodic, n_times)
        + np.sqrt(_SHAFT) * _noise(rng, len(shafts), aperiodic, n_times)[shaft_of]
        + np.sqrt(_COMMON) * _noise(rng, 1, aperiodic, n_times)
    )

    alpha_freq = rng.uniform(*_ALPHA_RANGE_HZ)
    alpha_shape = np.exp(-0.5 * ((freqs - alpha_freq) / _ALPHA_WIDTH_HZ) ** 2)
    rhythm = _noise(rng, len(shafts), alpha_shape, n_times)
    # Alpha is strongest at the occipital pole and fades to a tenth towards y = -20 mm.
    posterior = np.clip((-layout["y"].to_numpy() - 20.0) / 70.0, 0.1, 1.0)
    data += (alpha * posterior * rng.uniform(0.7, 1.0, n_channels))[:, None] * rhythm[shaft_of]

    t = np.arange(n_times) / sfreq
    harmonics = np.arange(1, int(np.ceil(sfreq / 2 / line_freq)))
    line = sum(
        line_noise / k * np.sin(2 * np.pi * k * line_freq * t + rng.uniform(0, 2 * np.pi))
        for k in harmonics
    )
    data += rng.uniform(0.5, 1.5, n_channels)[:, None] * line

    envelope, evoked = _responses(layout, drive, trials, n_times, regions, sfreq, time_to_peak)
    in_band = (freqs >= band[0]) & (freqs <= band[1])
    # The carrier has the background's spectrum within the band, so that snr is
    # the relative power increase in the band.
    band_fraction = np.sum((aperiodic * in_band) ** 2) / np.sum(aperiodic**2)
    carrier = (
        background * np.sqrt(band_fraction) * _noise(rng, n_channels, aperiodic * in_band, n_times)
    )
    data += carrier * np.sqrt(snr * envelope)
    polarity = rng.choice([-1.0, 1.0], n_channels) * rng.uniform(0.5, 1.0, n_channels)
    data += erp * polarity[:, None] * evoked
    return data, alpha_freq


def _noise(rng, n_series, amplitude, n_times) -> np.ndarray:
    """Gaussian noise ``(n_series, n_times)`` of unit variance and the amplitude spectrum given.

    ``amplitude`` is sampled at ``scipy.fft.rfftfreq(n_fft)`` for an even ``n_fft >= n_times``.
    """
    n_fft = 2 * (len(amplitude) - 1)
    coefs = rng.standard_normal((n_series, len(amplitude))) + 1j * rng.standard_normal(
        (n_series, len(amplitude))
    )
    # The irfft of unit complex Gaussian coefficients with amplitudes a has variance
    # 4 * sum(a**2) / n**2 (up to the DC and Nyquist terms, which are left out).
    amplitude = amplitude.copy()
    amplitude[[0, -1]] = 0.0
    gain = n_fft / (2 * np.sqrt(np.sum(amplitude**2)))
    return fft.irfft(coefs * amplitude, n=n_fft, axis=-1)[:, :n_times] * gain


def _responses(layout, drive, trials, n_times, regions, sfreq, time_to_peak):
    """Gamma power envelope (scaled by drive) and unit evoked potential per contact."""
    t = np.arange(int(np.ceil(_KERNEL_SPAN * time_to_peak * sfreq))) / sfreq / time_to_peak
    power_kernel = t**2 * np.exp(2 - 2 * t)  # peak 1 at time_to_peak
    evoked_kernel = t * np.exp(1 - t) * np.sin(np.pi * t / 2)  # smooth onset, N1-P2 shape
    evoked_kernel /= np.abs(evoked_kernel).max()
    envelope = np.zeros((len(layout), n_times))
    evoked = np.zeros((len(layout), n_times))
    stimulus = trials["stimulus"].to_numpy()
    for region in regions:
        rows = np.flatnonzero(layout["region"].to_numpy() == region.name)
        if region.rank == 0 or not len(rows):
            continue
        starts = trials["sample"].to_numpy() + int(round(region.latency * sfreq))
        for start, stim in zip(starts, stimulus, strict=True):
            stop = min(start + len(power_kernel), n_times)
            envelope[rows, start:stop] += drive[rows, stim, None] * power_kernel[: stop - start]
            evoked[rows, start:stop] += evoked_kernel[: stop - start]
    return envelope, evoked


def _bad_channels(data, layout, index, background, rng) -> list[dict]:
    """Make one contact flat and one very noisy; mark only one of them as bad."""
    flat, noisy = rng.choice(len(layout), 2, replace=False)
    data[flat] = _FLAT_UV * rng.standard_normal(data.shape[1])
    data[noisy] += _NOISY_FACTOR * background * rng.standard_normal(data.shape[1])
    names = layout["name"].to_numpy()
    # Alternate which fault is marked, so detection is needed for the other one.
    return [
        {
            "name": str(names[flat]),
            "kind": "flat",
            "marked": index % 2 == 0,
            "description": "flat signal (disconnected contact)",
        },
        {
            "name": str(names[noisy]),
            "kind": "noisy",
            "marked": index % 2 == 1,
            "description": "high-amplitude broadband noise",
        },
    ]


# --------------------------------------------------------------------------- writing


def _write_subject(
    root, subject, data, layout, trials, stimulus_ids, bads, *, sfreq, duration, line_freq
) -> None:
    names = layout["name"].tolist()
    info = mne.create_info(names, sfreq, "seeg")
    raw = mne.io.RawArray(data * 1e-6, info, verbose=False)  # µV -> V
    raw.info["line_freq"] = line_freq
    raw.info["bads"] = [b["name"] for b in bads if b["marked"]]
    raw.set_annotations(
        mne.Annotations(
            onset=trials["sample"].to_numpy() / sfreq,
            duration=duration,
            description="stimulus",
            extras=[
                {"stimulus_id": stimulus_ids[s], "repetition": int(r)}
                for s, r in zip(trials["stimulus"], trials["repetition"], strict=True)
            ],
        )
    )
    positions = np.round(layout[["x", "y", "z"]].to_numpy() / 1000.0, 4)  # mm -> m, 0.1 mm
    montage = mne.channels.make_dig_montage(
        ch_pos=dict(zip(names, positions, strict=True)), coord_frame="mni_tal"
    )
    bids_path = mne_bids.BIDSPath(subject=subject, task=TASK, datatype="ieeg", root=root)
    mne_bids.write_raw_bids(
        raw,
        bids_path,
        event_id={"stimulus": 1},
        extra_columns_descriptions={
            "stimulus_id": "Identifier of the image shown (stimulus_id of the stimulus table).",
            "repetition": "Presentation number of this image, counted from 0.",
        },
        format="BrainVision",
        allow_preload=True,
        montage=montage,
        readme=False,
        verbose=False,
    )
    _complete_sidecars(bids_path, layout, bads)


def _complete_sidecars(bids_path, layout, bads) -> None:
    """Add what MNE-BIDS does not write: region labels, fault descriptions, reference."""
    entities = {"subject": bids_path.subject, "datatype": "ieeg", "root": bids_path.root}
    electrodes = mne_bids.BIDSPath(**entities, space="fsaverage", suffix="electrodes")
    table = pd.read_csv(
        electrodes.copy().update(extension=".tsv").fpath,
        sep="\t",
        dtype=str,
        keep_default_na=False,
    )
    extra = layout.set_index("name").loc[table["name"]]
    table["size"] = f"{_CONTACT_SIZE}"
    for column in ["group", "hemisphere", "region", "region_rank"]:
        table[column] = extra[column].astype(str).to_numpy()
    table.to_csv(electrodes.copy().update(extension=".tsv").fpath, sep="\t", index=False)
    mne_bids.update_sidecar_json(
        electrodes.copy().update(extension=".json"),
        {
            "size": {"Description": "Contact surface", "Units": "mm^2"},
            "group": {"Description": "Depth electrode (shaft) the contact belongs to"},
            "hemisphere": {"Description": "Hemisphere", "Levels": {"L": "left", "R": "right"}},
            "region": {"Description": "Simulated brain region of the contact"},
            "region_rank": {
                "Description": "Position of the region along the ventral visual stream "
                "(1 = V1, increasing anteriorly); 0 = outside the visual hierarchy",
            },
        },
        verbose=False,
    )
    mne_bids.update_sidecar_json(
        electrodes.copy().update(suffix="coordsystem", extension=".json"),
        {
            "iEEGCoordinateSystemDescription": "Simulated contact positions in MNI space "
            "(MNE 'mni_tal'; written by MNE-BIDS as fsaverage, i.e. MNI305)."
        },
        verbose=False,
    )
    mne_bids.update_sidecar_json(
        bids_path.copy().update(suffix="ieeg", extension=".json"),
        {
            "iEEGReference": "common reference (simulated)",
            "TaskDescription": "Passive viewing of images; each image is shown several times "
            "in random order.",
            "SoftwareFilters": "n/a",
        },
        verbose=False,
    )
    channels_tsv = bids_path.copy().update(suffix="channels", extension=".tsv").fpath
    channels = pd.read_csv(channels_tsv, sep="\t", dtype=str, keep_default_na=False)
    for bad in bads:
        if bad["marked"]:
            channels.loc[channels["name"] == bad["name"], "status_description"] = bad[
                "description"
            ]
    channels.to_csv(channels_tsv, sep="\t", index=False)


def _write_dataset_files(root, activations, regions, settings, seed, subjects) -> None:
    # the raw dataset and its simulation derivative share authors and provenance
    describe = partial(
        mne_bids.make_dataset_description,
        authors=["brainnet"],
        generated_by=[
            {
                "Name": "brainnet",
                "Version": __version__,
                "Description": "brainnet.recordings.synthetic.simulate_dataset",
            }
        ],
        overwrite=True,
        verbose=False,
    )
    describe(path=root, name="brainnet synthetic sEEG (ventral visual stream)", dataset_type="raw")
    model = activations.attrs.get("model", "")
    visual = [r for r in regions if r.rank > 0]
    (Path(root) / "README").write_text(
        "Synthetic stereo-EEG recordings of the human ventral visual stream, simulated by\n"
        "brainnet for testing the comparison of deep networks with the brain.\n\n"
        f"Each visual region responds to the images as a layer of the model {model!r}:\n"
        + "".join(
            f"  {r.name} (rank {r.rank}): {r.layer}, latency {r.latency * 1000:.0f} ms\n"
            for r in visual
        )
        + "The ground truth and every setting are in derivatives/simulation/ground_truth.json.\n"
    )
    derivatives = Path(root) / "derivatives" / "simulation"
    derivatives.mkdir(parents=True)
    describe(path=derivatives, name="brainnet simulation ground truth", dataset_type="derivative")
    truth = {
        "model": model,
        "layers": _layers(activations),
        "seed": seed,
        "task": TASK,
        "band": settings["band"],
        "regions": {
            r.name: {
                "rank": r.rank,
                "layer": r.layer,
                "model": model if r.rank > 0 else None,
                "latency": r.latency,
                "band": settings["band"] if r.rank > 0 else None,
                "center": list(r.center),
            }
            for r in regions
        },
        "settings": settings,
        "subjects": subjects,
    }
    (derivatives / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
