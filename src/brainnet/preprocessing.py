"""MNE preprocessing from raw sEEG to band-power ``responses``.

The pipeline follows Kuzovkin et al. (2018), Communications Biology:

1. **Channel selection.** Contacts marked bad in ``channels.tsv`` (or
   ``raw.info["bads"]``), contacts without a region, contacts with NaN samples
   and contacts whose signal is flat or very noisy are excluded. Automatic
   detection uses a robust z-score of the log standard deviation across the
   subject's contacts (median and scaled median absolute deviation), so one
   broken contact cannot hide another. Every exclusion is logged with its
   reason and kept in the ``exclusions`` attribute of the result.
2. **Line noise.** Notch filters at the line frequency and its harmonics
   below Nyquist (:meth:`mne.io.Raw.notch_filter`).
3. **Reference.** Bipolar along each shaft (:func:`mne.set_bipolar_reference`;
   neighbouring contacts ``LO1-LO2``, ``LO2-LO3``; a pair's position is the
   midpoint of its contacts), common average, or none.
4. **Epochs** around stimulus onsets (:class:`mne.Epochs`), padded by the
   half-length of the longest wavelet so that no analysed sample sees the
   epoch edge.
5. **Band power** by Morlet wavelets (:func:`mne.time_frequency.tfr_array_morlet`,
   a few frequencies per band) or by band-pass filter and Hilbert envelope
   (:meth:`mne.io.Raw.filter`, :meth:`mne.io.Raw.apply_hilbert`).
6. **Baseline normalisation** as a log ratio in dB: log power averaged in
   each window minus each frequency's baseline log power averaged over all
   trials. The log ratio treats increases and decreases symmetrically and is
   close to normal across trials (percent change is bounded below by -100 %
   and heavy-tailed above), which suits the linear encoding models and rank
   statistics downstream; normalising each frequency before averaging within
   a band removes the 1/f slope, so every frequency of a band weighs the
   same. Averaging log power (rather than taking the log of averaged power)
   keeps windows of different lengths comparable: with no response, a 200 ms
   window and the 400 ms baseline have the same expected value, so the test
   below is unbiased. The baseline is pooled over trials because a single
   trial's baseline is too noisy to divide by.
7. **Responsiveness**: Wilcoxon signed-rank test across trials of window
   versus baseline power (both in dB against the same reference),
   Benjamini-Hochberg FDR over all channels, bands and windows of the subject.
8. **Repetitions** of a stimulus are averaged; the means over even and odd
   repetitions are kept as split halves for noise ceilings.

Memory stays bounded per subject: contacts are read from the raw file and
processed in chunks of whole shafts (``chunk_size`` contacts at most), epochs
are transformed in batches, and only per-trial window averages are kept.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence

import mne
import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats
from tqdm.auto import tqdm

from brainnet.log import logger, preview, set_log_level
from brainnet.responses import average_repetitions

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_WINDOWS",
    "bipolar_channels",
    "bipolar_pairs",
    "compute_responses",
    "find_bad_channels",
    "merge_responses",
    "remove_line_noise",
    "sliding_windows",
]

#: Frequency bands of Kuzovkin et al. (2018), Hz.
DEFAULT_BANDS = {
    "theta": (5.0, 8.0),
    "alpha": (9.0, 14.0),
    "beta": (15.0, 30.0),
    "low_gamma": (30.0, 70.0),
    "high_gamma": (70.0, 150.0),
}
#: The three response windows of Kuzovkin et al. (2018), seconds after onset.
DEFAULT_WINDOWS = ((0.05, 0.25), (0.15, 0.35), (0.25, 0.45))

_METHODS = ("morlet", "hilbert")
_REFERENCES = ("bipolar", "average", None)
# MNE's Morlet wavelets extend 5 standard deviations either side of their centre.
_WAVELET_HALF_WIDTH = 5.0
# Floor of the robust spread of log standard deviations: with bad_z = 5 a contact
# must differ from the median by a factor e**0.5 = 1.65 at least to be flagged.
_MIN_LOG_SPREAD = 0.1
# Samples (channels x times) of the epochs read at once: 32 MiB of float64.
_BATCH_SAMPLES = 2**22
# Samples per FFT when epochs are transformed in groups (fast sizes stay in cache).
_FFT_LENGTH = 8192
# Window edges are closed intervals; sample times carry rounding errors.
_TIME_TOLERANCE = 1e-6
_CONTACT = re.compile(r"^(?P<shaft>.*?)(?P<number>\d+)$")


def sliding_windows(tmin: float, tmax: float, length: float, step: float) -> list[list[float]]:
    """Windows of fixed length sliding from ``tmin`` to ``tmax``.

    Parameters
    ----------
    tmin, tmax : float
        First window start and last window end (s, relative to onset).
    length : float
        Window length (s).
    step : float
        Distance between window starts (s).

    Returns
    -------
    windows : list of [tmin, tmax]
        Usable as the ``windows`` setting of :func:`compute_responses`.
    """
    if length <= 0 or step <= 0:
        raise ValueError(
            f"sliding_windows: length and step must be positive, got {length}, {step}"
        )
    if tmax - tmin < length:
        raise ValueError(
            f"sliding_windows: [{tmin}, {tmax}] is shorter than one window ({length})"
        )
    # Integer microseconds avoid floating-point drift in the window edges.
    start, stop, size, hop = (round(v * 1e6) for v in (tmin, tmax, length, step))
    return [[s / 1e6, (s + size) / 1e6] for s in range(start, stop - size + 1, hop)]


def bipolar_pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    """Neighbouring contacts on each shaft, as (anode, cathode) pairs.

    Contacts are named by shaft letters followed by a number (``LO1``,
    ``LO2``, ...). Only contacts whose numbers differ by one are paired, so a
    missing or excluded contact breaks the shaft rather than pairing contacts
    twice as far apart as the others.

    Parameters
    ----------
    names : sequence of str
        Contact names.

    Returns
    -------
    pairs : list of (str, str)
        ``(anode, cathode)``: the bipolar signal is anode minus cathode,
        named ``"anode-cathode"``. Shafts keep their order of first appearance.
    """
    shafts: dict[str, dict[int, str]] = {}
    for name in names:
        match = _CONTACT.match(name)
        if match:
            shafts.setdefault(match["shaft"], {})[int(match["number"])] = name
    pairs = []
    for contacts in shafts.values():
        pairs += [(contacts[n], contacts[n + 1]) for n in sorted(contacts) if n + 1 in contacts]
    return pairs


def bipolar_channels(channels: pd.DataFrame) -> pd.DataFrame:
    """Bipolar pairs of neighbouring contacts with their region and position.

    Parameters
    ----------
    channels : pandas.DataFrame
        Contacts to pair, indexed by name, with ``region``, ``region_rank``
        and ``x``, ``y``, ``z`` (mm).

    Returns
    -------
    pairs : pandas.DataFrame
        Indexed by ``"anode-cathode"`` (see :func:`bipolar_pairs`), with
        ``anode``, ``cathode``, ``region``, ``region_rank`` and the midpoint
        ``x``, ``y``, ``z``. A pair spanning two regions carries the signal of
        both; it takes the region higher in the hierarchy (the anode's on a
        tie), so that a visual contact paired with one outside the hierarchy
        counts as visual.
    """
    rows = []
    for anode, cathode in bipolar_pairs(list(channels.index)):
        a, c = channels.loc[anode], channels.loc[cathode]
        top = c if c["region_rank"] > a["region_rank"] else a
        rows.append(
            {
                "name": f"{anode}-{cathode}",
                "anode": anode,
                "cathode": cathode,
                "region": top["region"],
                "region_rank": int(top["region_rank"]),
                **{k: (float(a[k]) + float(c[k])) / 2 for k in ("x", "y", "z")},
            }
        )
    columns = ["name", "anode", "cathode", "region", "region_rank", "x", "y", "z"]
    return pd.DataFrame(rows, columns=columns).set_index("name")


def remove_line_noise(
    raw: mne.io.BaseRaw, line_freq: float = 50.0, *, n_jobs: int = 1
) -> mne.io.BaseRaw:
    """Notch-filter the line frequency and its harmonics, in place.

    Parameters
    ----------
    raw : mne.io.Raw
        Preloaded recording.
    line_freq : float
        Mains frequency (Hz): 50 in Europe and most of Asia, 60 in the Americas.
    n_jobs : int
        Parallel jobs for the filter.

    Returns
    -------
    raw : mne.io.Raw
        The same object, filtered.
    """
    nyquist = raw.info["sfreq"] / 2
    # MNE's FIR notch needs its 1 Hz transition band to end below Nyquist.
    freqs = np.arange(line_freq, nyquist - 1.0, line_freq)
    if freqs.size:
        raw.notch_filter(freqs, picks="all", n_jobs=n_jobs, verbose=False)
        logger.info("notch filter at %s Hz", ", ".join(f"{f:g}" for f in freqs))
    return raw


def find_bad_channels(
    raw: mne.io.BaseRaw,
    picks: Sequence[str] | None = None,
    *,
    bad_z: float | None = 5.0,
    chunk_size: int = 16,
) -> dict[str, str]:
    """Contacts with NaN samples, a flat signal or an outlying variance.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording (need not be preloaded; contacts are read in chunks).
    picks : sequence of str | None
        Contacts to check; all sEEG/ECoG channels when None.
    bad_z : float | None
        Threshold on the robust z-score of the log standard deviation across
        the checked contacts (median and 1.4826 times the median absolute
        deviation, the latter floored at 0.1): above ``bad_z`` a contact is
        noisy, below ``-bad_z`` it is flat. None checks only NaN samples and
        zero variance.
    chunk_size : int
        Contacts read at once.

    Returns
    -------
    bad : dict of str to str
        Contact name to the reason it is bad, in the order of ``picks``.
    """
    if picks is None:
        picks = [raw.ch_names[i] for i in mne.pick_types(raw.info, seeg=True, ecog=True, dbs=True)]
    picks = list(picks)
    n_nan = np.zeros(len(picks), int)
    std = np.zeros(len(picks))
    for start in range(0, len(picks), chunk_size):
        data = raw.get_data(picks=picks[start : start + chunk_size])
        n_nan[start : start + chunk_size] = np.isnan(data).sum(axis=1)
        std[start : start + chunk_size] = data.std(axis=1)
    bad = {}
    n_times = raw.n_times
    for name, count in zip(picks, n_nan, strict=True):
        if count:
            bad[name] = (
                "all samples are NaN"
                if count == n_times
                else f"{count} of {n_times} samples are NaN"
            )
    for name, value in zip(picks, std, strict=True):
        if name not in bad and value == 0:
            bad[name] = "flat signal (zero variance)"
    checked = [i for i, name in enumerate(picks) if name not in bad]
    if bad_z is not None and len(checked) >= 3:
        log_std = np.log(std[checked])
        median = np.median(log_std)
        # The spread is floored so that contacts of a homogeneous set (as in
        # simulations) are not outliers for differing by a few percent.
        mad = max(1.4826 * np.median(np.abs(log_std - median)), _MIN_LOG_SPREAD)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (log_std - median) / mad
        for i, value in zip(checked, z, strict=True):
            if value > bad_z:
                bad[picks[i]] = f"noisy (robust z of log std {value:.1f} > {bad_z:g})"
            elif value < -bad_z:
                bad[picks[i]] = f"flat (robust z of log std {value:.1f} < {-bad_z:g})"
    return {name: bad[name] for name in picks if name in bad}


def compute_responses(
    raw: mne.io.BaseRaw,
    events: pd.DataFrame,
    channels: pd.DataFrame,
    stimulus_ids: Sequence[str] | None = None,
    *,
    subject: str | None = None,
    line_freq: float | str | None = "auto",
    bands: Mapping[str, Sequence[float]] | None = None,
    windows: Sequence[Sequence[float]] | Mapping[str, Sequence[float]] | None = None,
    baseline: Sequence[float] = (-0.5, -0.1),
    reference: str | None = "bipolar",
    method: str = "morlet",
    n_freqs: int = 5,
    n_cycles: float | None = None,
    decim: int | None = None,
    bad_z: float | None = 5.0,
    alpha: float = 0.05,
    chunk_size: int = 16,
    n_jobs: int = 1,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Band-power responses of one subject's contacts to each stimulus.

    Parameters
    ----------
    raw : mne.io.Raw
        The continuous recording, in volts (need not be preloaded).
    events : pandas.DataFrame
        One row per stimulus presentation: ``onset`` (s from the first sample
        of ``raw``) and ``stimulus_id``. Rows whose ``stimulus_id`` is missing
        (other events) are ignored.
    channels : pandas.DataFrame
        One row per recording contact, indexed by name (or with a ``name``
        column): ``region`` (str), ``region_rank`` (int, 1 = V1, 0 = outside
        the visual hierarchy), optional ``x``, ``y``, ``z`` (mm), ``status``
        (``good``/``bad``) and ``status_description``. Contacts with no region
        are excluded with a logged reason.
    stimulus_ids : sequence of str | None
        The stimulus set, in the order of the result's ``stimulus`` dimension;
        an event whose id is not in it is an error, a stimulus never shown
        gets NaN responses. None takes the sorted ids of the events.
    subject : str | None
        Subject label, e.g. ``"sub-01"``; from ``raw.info["subject_info"]``
        when None. Channels are named ``"<subject>:<contact>"``.
    line_freq : float | "auto" | None
        Mains frequency for the notch filters (Hz). ``"auto"`` takes
        ``raw.info["line_freq"]`` (set from the BIDS sidecar) and falls back to
        50 Hz with a warning; None skips the notch.
    bands : dict of str to (fmin, fmax) | None
        Frequency bands (Hz); None uses :data:`DEFAULT_BANDS`.
    windows : list of (tmin, tmax) | dict of str to (tmin, tmax) | None
        Response windows (s from onset), labelled ``"50-250"`` (ms) unless a
        dict gives labels; see :func:`sliding_windows`. None uses
        :data:`DEFAULT_WINDOWS`.
    baseline : (float, float)
        Baseline interval (s from onset).
    reference : "bipolar" | "average" | None
        Re-referencing: neighbouring contacts along each shaft, the common
        average of the good contacts, or none (data already referenced).
    method : "morlet" | "hilbert"
        Band power by Morlet wavelets or by band-pass filter and Hilbert
        envelope.
    n_freqs : int
        Morlet: wavelet frequencies per band, evenly spaced from fmin to fmax.
    n_cycles : float | None
        Morlet: cycles per wavelet. None uses ``clip(freq / 2, 3, 7)``: about
        100 ms of temporal resolution at theta and 50-80 ms above 14 Hz.
    decim : int | None
        Decimation of the power time course; None keeps at least 200 Hz.
    bad_z : float | None
        Robust z-score threshold for flat and noisy contacts (see
        :func:`find_bad_channels`); None disables the variance check.
    alpha : float
        False discovery rate for the responsiveness test.
    chunk_size : int
        Contacts processed at once (whole shafts are kept together). Memory
        is about three copies of a chunk's continuous signal (``chunk_size *
        n_samples * 8`` bytes each) plus a few hundred MiB for epochs, which
        are read in batches whatever the number of trials.
    n_jobs : int
        Parallel jobs for filtering and wavelets.
    verbose : bool | str | int | None
        Log level of the ``brainnet`` logger (see :func:`brainnet.set_log_level`).

    Returns
    -------
    responses : xarray.Dataset
        ``response (stimulus, channel, band, window)`` in dB against the
        baseline, averaged over repetitions; ``split_half (half, stimulus,
        channel, band, window)`` over even and odd repetitions (when a stimulus
        was shown at least twice); ``responsive (channel, band, window)`` and
        its FDR-adjusted p-value ``responsive_p``. Coordinates as in
        ``docs/architecture.md``; attrs ``subjects``, ``settings``,
        ``exclusions`` (list of ``{subject, channel, reason}``),
        ``dropped_trials`` (list of ``{subject, onset, stimulus_id, reason}``)
        and ``n_trials``.
    """
    set_log_level(verbose)
    sfreq = raw.info["sfreq"]
    subject = _subject_label(raw, subject)
    bands = _check_bands(DEFAULT_BANDS if bands is None else bands, sfreq)
    windows = _check_windows(DEFAULT_WINDOWS if windows is None else windows)
    baseline = _check_interval(baseline, "baseline")
    if reference not in _REFERENCES:
        raise ValueError(f"reference must be one of {_REFERENCES}, got {reference!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if int(n_freqs) != n_freqs or n_freqs < 1:
        raise ValueError(f"n_freqs must be a positive integer, got {n_freqs!r}")
    line_freq = _line_freq(raw, line_freq)
    decim = max(1, int(sfreq // 200)) if decim is None else int(decim)
    table = _check_channels(channels, raw)
    trials = _check_events(events, stimulus_ids)
    settings = {
        "line_freq": line_freq,
        "bands": {name: list(edges) for name, edges in bands.items()},
        "windows": {label: list(edges) for label, edges in windows.items()},
        "baseline": list(baseline),
        "reference": reference,
        "method": method,
        "n_freqs": n_freqs,
        "n_cycles": n_cycles,
        "decim": decim,
        "bad_z": bad_z,
        "alpha": alpha,
    }

    plan, exclusions = _select_channels(raw, table, reference, bad_z, chunk_size, subject)
    trial_window, trial_baseline, drop_log = _trial_values(
        raw, plan, trials, bands=bands, windows=windows, baseline=baseline, reference=reference,
        method=method, line_freq=line_freq, n_freqs=n_freqs, n_cycles=n_cycles, decim=decim,
        chunk_size=chunk_size, n_jobs=n_jobs, subject=subject,
    )  # fmt: skip
    selection, dropped = _dropped_trials(trials, drop_log, subject)

    kept_trials = trials.iloc[selection]
    diff = trial_window[selection] - trial_baseline[selection][..., None]
    p_fdr = _responsiveness(diff)
    trial_da = xr.DataArray(
        trial_window[selection],
        dims=("trial", "channel", "band", "window"),
        coords={"stimulus_id": ("trial", kept_trials["stimulus_id"].to_numpy())},
    )
    responses = average_repetitions(trial_da, stimulus_ids)
    responses["responsive_p"] = (("channel", "band", "window"), p_fdr)
    responses["responsive"] = responses["responsive_p"] <= alpha
    responses = responses.assign_coords(
        _channel_coords(plan, subject)
        | {
            "band": list(bands),
            "fmin": ("band", [lo for lo, _ in bands.values()]),
            "fmax": ("band", [hi for _, hi in bands.values()]),
            "window": list(windows),
            "tmin": ("window", [w[0] for w in windows.values()]),
            "tmax": ("window", [w[1] for w in windows.values()]),
        }
    )
    responses.attrs = {
        "subjects": [subject],
        "settings": settings,
        "exclusions": [
            {"subject": subject, "channel": name, "reason": reason}
            for name, reason in exclusions.items()
        ],
        "dropped_trials": dropped,
        "n_trials": len(kept_trials),
    }
    n_resp = int(responses["responsive"].any(("band", "window")).sum())
    logger.info(
        "%s: %d of %d channels responsive in some band and window", subject, n_resp, len(plan)
    )
    return responses


def merge_responses(datasets: Sequence[xr.Dataset]) -> xr.Dataset:
    """Concatenate the responses of several subjects along ``channel``.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        Outputs of :func:`compute_responses` (or of the array loaders), with
        the same stimulus ids, bands, windows and settings.

    Returns
    -------
    responses : xarray.Dataset
        Channels of all inputs, in order; ``split_half`` and ``responsive_p``
        are NaN for inputs that lack them. ``exclusions`` and
        ``dropped_trials`` are concatenated, ``subjects`` lists the subjects.
    """
    if not datasets:
        raise ValueError("merge_responses needs at least one dataset")
    first = datasets[0]
    ids = first["stimulus_id"].to_numpy().astype(str)
    for i, ds in enumerate(datasets[1:], start=1):
        other = ds["stimulus_id"].to_numpy().astype(str)
        if set(other) != set(ids):
            raise ValueError(
                f"{_label(ds, i)} has other stimulus ids than {_label(first, 0)}: "
                f"missing {preview(sorted(set(ids) - set(other)))}, "
                f"extra {preview(sorted(set(other) - set(ids)))}"
            )
        for dim, coords in (("band", ("fmin", "fmax")), ("window", ("tmin", "tmax"))):
            for name in (dim, *coords):
                if not np.array_equal(
                    ds[name].to_numpy(), first[name].to_numpy(), equal_nan=name != dim
                ):
                    raise ValueError(
                        f"{_label(ds, i)} has {name} "
                        f"{ds[name].to_numpy().tolist()}, {_label(first, 0)} has "
                        f"{first[name].to_numpy().tolist()}"
                    )
        if ds.attrs.get("settings") != first.attrs.get("settings"):
            raise ValueError(
                f"{_label(ds, i)} was made with other settings: "
                f"{ds.attrs.get('settings')} != {first.attrs.get('settings')}"
            )
    names = np.concatenate([ds["channel"].to_numpy().astype(str) for ds in datasets])
    duplicated = pd.Index(names)[pd.Index(names).duplicated()]
    if len(duplicated):
        raise ValueError(
            f"channel names repeat across datasets: {preview(sorted(set(duplicated)))}"
        )
    aligned = [_with_optional_vars(_by_stimulus(ds, ids), datasets) for ds in datasets]
    merged = xr.concat(
        aligned,
        dim="channel",
        data_vars="all",
        coords="different",
        compat="equals",
        join="exact",
        combine_attrs="drop",
    )
    merged.attrs = {
        "subjects": [str(s) for s in pd.unique(merged["subject"].to_numpy())],
        "settings": first.attrs.get("settings"),
        "exclusions": [e for ds in datasets for e in ds.attrs.get("exclusions", [])],
        "dropped_trials": [t for ds in datasets for t in ds.attrs.get("dropped_trials", [])],
    }
    return merged


def _label(ds, i):
    subjects = pd.unique(ds["subject"].to_numpy().astype(str)) if "subject" in ds.coords else []
    return f"dataset {i} ({', '.join(subjects) or 'no subject'})"


def _by_stimulus(ds, ids):
    order = pd.Index(ds["stimulus_id"].to_numpy().astype(str)).get_indexer(ids)
    return ds.isel(stimulus=order)


def _with_optional_vars(ds, datasets):
    # Array loaders give no p-values, and single-presentation data no split halves.
    ds = ds.copy()
    for name in ("split_half", "responsive_p"):
        template = next((d[name] for d in datasets if name in d), None)
        if template is not None and name not in ds:
            sizes = {
                dim: (ds.sizes[dim] if dim in ds.dims else template.sizes[dim])
                for dim in template.dims
            }
            ds[name] = xr.DataArray(np.full(tuple(sizes.values()), np.nan), dims=tuple(sizes))
            if "half" in sizes:
                ds = ds.assign_coords(half=[0, 1])
    return ds


def _subject_label(raw, subject):
    if subject is None:
        subject = (raw.info.get("subject_info") or {}).get("his_id")
    if not subject:
        raise ValueError("subject is not given and raw.info['subject_info'] has no 'his_id'")
    subject = str(subject)
    return subject if subject.startswith("sub-") else f"sub-{subject}"


def _line_freq(raw, line_freq):
    if line_freq == "auto":
        line_freq = raw.info.get("line_freq")
        if line_freq is None:
            logger.warning("line frequency unknown (no PowerLineFrequency): assuming 50 Hz")
            line_freq = 50.0
    if line_freq is not None and line_freq <= 0:
        raise ValueError(f"line_freq must be positive, 'auto' or None, got {line_freq}")
    return None if line_freq is None else float(line_freq)


def _check_interval(edges, what):
    edges = tuple(float(v) for v in edges)
    if len(edges) != 2 or not edges[0] < edges[1]:
        raise ValueError(f"{what} must be [start, stop] with start < stop, got {list(edges)}")
    return edges


def _check_bands(bands, sfreq):
    checked = {}
    for name, edges in bands.items():
        lo, hi = _check_interval(edges, f"band {name!r}")
        if lo <= 0 or hi >= sfreq / 2:
            raise ValueError(
                f"band {name!r} ({lo}-{hi} Hz) must lie between 0 and Nyquist ({sfreq / 2} Hz)"
            )
        checked[str(name)] = (lo, hi)
    if not checked:
        raise ValueError("bands is empty")
    return checked


def _check_windows(windows):
    items = windows.items() if isinstance(windows, Mapping) else ((None, w) for w in windows)
    checked = {}
    for label, edges in items:
        lo, hi = _check_interval(edges, f"window {label or list(edges)}")
        label = str(label) if label is not None else f"{round(lo * 1000)}-{round(hi * 1000)}"
        if label in checked:
            raise ValueError(f"window {label!r} appears twice")
        checked[label] = (lo, hi)
    if not checked:
        raise ValueError("windows is empty")
    return checked


def _check_channels(channels, raw):
    table = channels.copy()
    if "name" in table.columns:
        table = table.set_index("name")
    table.index = table.index.astype(str)
    missing = [c for c in ("region", "region_rank") if c not in table.columns]
    if missing:
        raise ValueError(f"channel table lacks columns {missing}; it has {list(table.columns)}")
    if table.index.has_duplicates:
        repeated = sorted(set(table.index[table.index.duplicated()]))
        raise ValueError(f"channel table repeats {repeated}")
    absent = [name for name in table.index if name not in raw.ch_names]
    if absent:
        raise ValueError(
            f"channels {preview(absent)} of the channel table are not in the recording"
        )
    for column, default in (
        ("x", np.nan),
        ("y", np.nan),
        ("z", np.nan),
        ("status", "good"),
        ("status_description", ""),
    ):
        if column not in table.columns:
            table[column] = default
    table["region"] = table["region"].fillna("").astype(str)
    table["status"] = table["status"].fillna("good").astype(str).str.lower()
    table["status_description"] = table["status_description"].fillna("").astype(str)
    assigned = table["region"] != ""
    if table.loc[assigned, "region_rank"].isna().any():
        names = list(table.index[assigned & table["region_rank"].isna()])
        raise ValueError(f"channels {preview(names)} have a region but no region_rank")
    table["region_rank"] = table["region_rank"].fillna(0).astype(int)
    return table


def _check_events(events, stimulus_ids):
    missing = [c for c in ("onset", "stimulus_id") if c not in events.columns]
    if missing:
        raise ValueError(f"events lack columns {missing}; they have {list(events.columns)}")
    trials = events.loc[events["stimulus_id"].notna(), ["onset", "stimulus_id"]].copy()
    trials["stimulus_id"] = trials["stimulus_id"].astype(str)
    trials["onset"] = trials["onset"].astype(float)
    if trials.empty:
        raise ValueError("events hold no stimulus presentation (no stimulus_id)")
    if stimulus_ids is not None:
        unknown = sorted(set(trials["stimulus_id"]) - set(map(str, stimulus_ids)))
        if unknown:
            raise ValueError(
                f"{len(unknown)} stimulus ids of the events are not in the stimulus set: "
                f"{preview(unknown)}"
            )
    trials = trials.sort_values("onset", kind="stable").reset_index(drop=True)
    repeated = trials["onset"][trials["onset"].duplicated()]
    if len(repeated):
        raise ValueError(f"several stimuli share the onsets {preview(repeated)} s")
    return trials


def _select_channels(raw, table, reference, bad_z, chunk_size, subject):
    """Output channels (after exclusions and re-referencing) and the excluded contacts."""
    exclusions: dict[str, str] = {}
    for name, row in table.iterrows():
        if row["status"] == "bad" or name in raw.info["bads"]:
            exclusions[name] = "marked bad: " + (row["status_description"] or "channels.tsv")
        elif not row["region"]:
            exclusions[name] = "no region assigned"
    candidates = [name for name in table.index if name not in exclusions]
    exclusions.update(find_bad_channels(raw, candidates, bad_z=bad_z, chunk_size=chunk_size))
    good = [name for name in table.index if name not in exclusions]
    plan, unpaired = _reference_plan(table.loc[good], reference)
    exclusions.update(unpaired)
    for name, reason in exclusions.items():
        logger.warning("%s: excluding %s: %s", subject, name, reason)
    if not plan:
        raise ValueError(f"{subject}: no channel left after exclusions {exclusions}")
    logger.info(
        "%s: %d of %d contacts kept, %d %s channels",
        subject,
        len(good),
        len(table),
        len(plan),
        reference or "monopolar",
    )
    return plan, exclusions


def _trial_values(
    raw, plan, trials, *, bands, windows, baseline, reference, method, line_freq, n_freqs,
    n_cycles, decim, chunk_size, n_jobs, subject,
):  # fmt: skip
    """Per-trial window and baseline values in dB, chunk by chunk, and MNE's drop log."""
    sfreq = raw.info["sfreq"]
    analysed = (
        min(baseline[0], *(w[0] for w in windows.values())),
        max(baseline[1], *(w[1] for w in windows.values())),
    )
    freqs = {name: np.linspace(lo, hi, n_freqs) for name, (lo, hi) in bands.items()}
    cycles = {name: _cycles(f, n_cycles) for name, f in freqs.items()}
    pad = (
        max(
            _WAVELET_HALF_WIDTH * c[0] / (2 * np.pi * f[0])
            for f, c in zip(freqs.values(), cycles.values(), strict=True)
        )
        if method == "morlet"
        else 0.0
    )
    samples = raw.first_samp + np.round(trials["onset"].to_numpy() * sfreq).astype(int)
    event_array = np.column_stack([samples, np.zeros_like(samples), np.ones_like(samples)])
    good = list(dict.fromkeys(s for item in plan for s in item["sources"]))
    average = _average_signal(raw, good, chunk_size) if reference == "average" else None
    shape = (len(trials), len(plan), len(bands), len(windows))
    trial_window = np.full(shape, np.nan)
    trial_baseline = np.full(shape[:3], np.nan)
    drop_log = None
    chunks = _chunks(plan, chunk_size)
    for chunk in tqdm(
        chunks, desc=f"{subject} chunks", disable=not logger.isEnabledFor(logging.INFO)
    ):
        chunk_raw = _chunk_raw(raw, chunk, average, line_freq, n_jobs)
        stats = (
            _morlet_stats(
                chunk_raw, event_array, analysed, pad, freqs, cycles, decim, windows, baseline,
                n_jobs,
            )
            if method == "morlet"
            else _hilbert_stats(
                chunk_raw, event_array, analysed, bands, decim, windows, baseline, n_jobs
            )
        )  # fmt: skip
        columns = [item["column"] for item in chunk]
        for b, (log, log_win, log_base) in enumerate(stats):
            # Epochs are dropped by timing and annotations only, the same in every chunk.
            drop_log = log
            kept = [i for i, reasons in enumerate(log) if not reasons]
            win, base = _to_db(log_win, log_base)
            trial_window[np.ix_(kept, columns, [b])] = win[:, :, None, :]
            trial_baseline[np.ix_(kept, columns, [b])] = base[:, :, None]
    return trial_window, trial_baseline, drop_log


def _reference_plan(table, reference):
    """Output channels with their source contacts and coordinates."""
    unpaired = {}
    if reference == "bipolar":
        pairs = bipolar_channels(table)
        used = set(pairs["anode"]) | set(pairs["cathode"])
        for name in table.index:
            if name not in used:
                unpaired[name] = "no good neighbouring contact on its shaft for a bipolar pair"
        rows = pairs.assign(sources=list(zip(pairs["anode"], pairs["cathode"], strict=True)))
    else:
        rows = table.assign(sources=[(name,) for name in table.index])
    plan = [
        {
            "column": i,
            "name": name,
            "sources": row["sources"],
            "region": row["region"],
            "region_rank": int(row["region_rank"]),
            **{k: float(row[k]) for k in ("x", "y", "z")},
        }
        for i, (name, row) in enumerate(rows.iterrows())
    ]
    return plan, unpaired


def _chunks(plan, chunk_size):
    """Group output channels so that a chunk holds whole shafts where possible."""
    groups: dict[str, list] = {}
    for item in plan:
        match = _CONTACT.match(item["sources"][0])
        groups.setdefault(match["shaft"] if match else item["name"], []).append(item)
    chunks, current, n_contacts = [], [], 0
    for group in groups.values():
        size = len({s for item in group for s in item["sources"]})
        if current and n_contacts + size > chunk_size:
            chunks.append(current)
            current, n_contacts = [], 0
        current += group
        n_contacts += size
    if current:
        chunks.append(current)
    return chunks


def _average_signal(raw, names, chunk_size):
    total = np.zeros(raw.n_times)
    for start in range(0, len(names), chunk_size):
        total += raw.get_data(picks=names[start : start + chunk_size]).sum(axis=0)
    return total / len(names)


def _chunk_raw(raw, chunk, average, line_freq, n_jobs):
    """Read, re-reference and notch-filter the contacts of one chunk."""
    contacts = list(dict.fromkeys(s for item in chunk for s in item["sources"]))
    data = raw.get_data(picks=contacts)
    if average is not None:
        data -= average
    info = mne.pick_info(raw.info, [raw.ch_names.index(c) for c in contacts])
    info["bads"] = []
    chunk_raw = mne.io.RawArray(data, info, first_samp=raw.first_samp, verbose=False)
    chunk_raw.set_annotations(raw.annotations)
    if line_freq is not None:
        remove_line_noise(chunk_raw, line_freq, n_jobs=n_jobs)
    pairs = [item for item in chunk if len(item["sources"]) == 2]
    if pairs:
        mne.set_bipolar_reference(
            chunk_raw,
            [item["sources"][0] for item in pairs],
            [item["sources"][1] for item in pairs],
            ch_name=[item["name"] for item in pairs],
            drop_refs=False,
            copy=False,
            verbose=False,
        )
    return chunk_raw.pick([item["name"] for item in chunk])


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


def _cycles(freqs, n_cycles):
    return np.clip(freqs / 2, 3, 7) if n_cycles is None else np.full(freqs.shape, float(n_cycles))


def _morlet_stats(raw, events, analysed, pad, freqs, cycles, decim, windows, baseline, n_jobs):
    """Yield (drop log, window log power, baseline log power) per band, by Morlet wavelets.

    Log powers are ``(trial, channel, freq, window)`` and ``(trial, channel,
    freq)`` in dB, for the kept trials; epochs are read in batches so memory
    does not grow with the number of trials.
    """
    sfreq = raw.info["sfreq"]
    margin = decim / sfreq  # room to put each epoch's span on the decimation grid
    epochs = _epochs(raw, events, analysed[0] - pad - margin, analysed[1] + pad + margin)
    times = epochs.times
    spans = {}
    for name, band_freqs in freqs.items():
        # Each band needs only its own wavelets' padding, so high bands use shorter spans.
        band_pad = _WAVELET_HALF_WIDTH * cycles[name][0] / (2 * np.pi * band_freqs[0])
        spans[name] = _span(times, analysed[0] - band_pad, analysed[1] + band_pad, decim)
    wins = {name: [] for name in freqs}
    bases = {name: [] for name in freqs}
    for batch in _batches(epochs):
        data = epochs.get_data(item=batch, verbose=False)
        for name, band_freqs in freqs.items():
            span = spans[name]
            power = _grouped_morlet(
                data[:, :, span], sfreq, band_freqs, cycles[name], decim, n_jobs
            )
            win, base = _log_means(power, times[span][::decim], windows, baseline)
            wins[name].append(win)
            bases[name].append(base)
    n_channels = len(epochs.ch_names)
    for name, band_freqs in freqs.items():
        empty = (0, n_channels, len(band_freqs))
        yield (
            epochs.drop_log,
            np.concatenate(wins[name]) if wins[name] else np.empty((*empty, len(windows))),
            np.concatenate(bases[name]) if bases[name] else np.empty(empty),
        )


def _grouped_morlet(data, sfreq, freqs, n_cycles, decim, n_jobs):
    """Morlet power of padded epochs ``(trial, channel, time)``, decimated.

    Epochs are laid end to end in groups of about ``_FFT_LENGTH`` samples and
    each group is transformed as one signal: the padding keeps every analysed
    sample's wavelet inside its own epoch, so the result equals the per-epoch
    transform, while MNE makes one FFT per group instead of one per epoch (its
    per-call overhead dominates short epochs, and very long FFTs run slower per
    sample once they leave the CPU cache).
    """
    n_epochs, n_channels, length = data.shape
    per_group = max(1, _FFT_LENGTH // length)
    n_groups = -(-n_epochs // per_group)
    # Empty epochs fill the last group; the padding isolates them like the others.
    grouped = np.zeros((n_groups * per_group, n_channels, length))
    grouped[:n_epochs] = data
    grouped = grouped.reshape(n_groups, per_group, n_channels, length).transpose(0, 2, 1, 3)
    power = mne.time_frequency.tfr_array_morlet(
        grouped.reshape(n_groups, n_channels, per_group * length),
        sfreq,
        freqs,
        n_cycles=n_cycles,
        output="power",
        decim=decim,
        n_jobs=n_jobs,
        verbose=False,
    )
    shape = (n_groups, n_channels, len(freqs), per_group, length // decim)
    power = power.reshape(shape).transpose(0, 3, 1, 2, 4).reshape(-1, *shape[1:3], shape[4])
    return power[:n_epochs]


def _hilbert_stats(raw, events, analysed, bands, decim, windows, baseline, n_jobs):
    """Yield (drop log, window log power, baseline log power) per band, by filter-Hilbert."""
    margin = decim / raw.info["sfreq"]
    for lo, hi in bands.values():
        band_raw = raw.copy().filter(lo, hi, picks="all", n_jobs=n_jobs, verbose=False)
        band_raw.apply_hilbert(picks="all", envelope=True, n_jobs=n_jobs, verbose=False)
        epochs = _epochs(band_raw, events, analysed[0] - margin, analysed[1] + margin)
        span = _span(epochs.times, *analysed, decim)
        times = epochs.times[span][::decim]
        wins, bases = [], []
        for batch in _batches(epochs):
            power = epochs.get_data(item=batch, verbose=False)[:, :, None, span][..., ::decim] ** 2
            win, base = _log_means(power, times, windows, baseline)
            wins.append(win)
            bases.append(base)
        n_channels = len(epochs.ch_names)
        yield (
            epochs.drop_log,
            np.concatenate(wins) if wins else np.empty((0, n_channels, 1, len(windows))),
            np.concatenate(bases) if bases else np.empty((0, n_channels, 1)),
        )


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


def _log_means(power, times, windows, baseline):
    """Log power (dB) averaged in each window and in the baseline, per frequency.

    Log power is averaged over time (not power then log): a mean of log power
    has the same expectation over windows of any length when nothing happens,
    so a 200 ms window is not biased against a 400 ms baseline.
    """
    intervals = {"baseline": baseline} | {f"window {k}": v for k, v in windows.items()}
    spans = {}
    for label, (lo, hi) in intervals.items():
        start = int(np.searchsorted(times, lo - _TIME_TOLERANCE))
        stop = int(np.searchsorted(times, hi + _TIME_TOLERANCE, side="right"))
        if stop <= start:
            raise ValueError(f"{label} [{lo}, {hi}] s holds no sample at the decimated rate")
        spans[label] = (start, stop)
    # The log is taken only where some window or the baseline looks (not in the padding).
    first = min(start for start, _ in spans.values())
    with np.errstate(divide="ignore"):
        log_power = 10 * np.log10(power[..., first : max(stop for _, stop in spans.values())])

    def mean_in(label):
        start, stop = spans[label]
        return log_power[..., start - first : stop - first].mean(axis=-1)

    return np.stack([mean_in(f"window {label}") for label in windows], axis=-1), mean_in(
        "baseline"
    )


def _to_db(log_win, log_base):
    """Band-averaged dB against each frequency's baseline log power averaged over trials.

    The per-trial baseline values thus average to 0 dB.
    """
    reference = log_base.mean(axis=0)
    win_db = (log_win - reference[None, :, :, None]).mean(axis=2)
    return win_db, (log_base - reference).mean(axis=2)


def _responsiveness(diff):
    """FDR-adjusted Wilcoxon p-values of window minus baseline across trials."""
    with warnings.catch_warnings():
        # A channel whose differences are all zero has no defined statistic: p is NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.wilcoxon(diff, axis=0, nan_policy="omit").pvalue
    p = np.asarray(p, float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        adjusted[finite] = stats.false_discovery_control(p[finite], method="bh")
    return adjusted


def _dropped_trials(trials, drop_log, subject):
    """Kept trial indices and a record of each dropped trial with MNE's reason."""
    selection = np.array([i for i, reasons in enumerate(drop_log) if not reasons], int)
    records = [
        {
            "subject": subject,
            "onset": float(trials["onset"].iloc[i]),
            "stimulus_id": trials["stimulus_id"].iloc[i],
            "reason": ", ".join(reasons),
        }
        for i, reasons in enumerate(drop_log)
        if reasons
    ]
    for record in records:
        logger.warning(
            "%s: dropping the trial at %.3f s (%s): %s",
            subject,
            record["onset"],
            record["stimulus_id"],
            record["reason"],
        )
    if not selection.size:
        raise ValueError(f"{subject}: every trial was dropped ({records[0]['reason']}, ...)")
    return selection, records


def _channel_coords(plan, subject):
    return {
        "channel": [f"{subject}:{item['name']}" for item in plan],
        "subject": ("channel", [subject] * len(plan)),
        "region": ("channel", [item["region"] for item in plan]),
        "region_rank": ("channel", np.array([item["region_rank"] for item in plan], int)),
        **{k: ("channel", np.array([item[k] for item in plan], float)) for k in ("x", "y", "z")},
    }
