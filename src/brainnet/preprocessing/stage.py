"""The preprocessing stage: one subject's recording to band-power ``responses``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import mne
import numpy as np
import pandas as pd
import xarray as xr

from brainnet.log import logger, preview, set_log_level
from brainnet.preprocessing.channels import _check_channels, _select_channels
from brainnet.preprocessing.responsiveness import _responsiveness
from brainnet.preprocessing.settings import (
    _options,
    _settings_attr,
    _subject_label,
    check_schedule,
)
from brainnet.preprocessing.trials import _check_events, _dropped_trials, _trial_values
from brainnet.responses import average_repetitions

__all__ = ["compute_responses"]


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
    subject = _subject_label(raw, subject)
    options = _options(
        raw, line_freq=line_freq, bands=bands, windows=windows, baseline=baseline,
        reference=reference, method=method, n_freqs=n_freqs, n_cycles=n_cycles, decim=decim,
        bad_z=bad_z, alpha=alpha,
    )  # fmt: skip
    table = _check_channels(channels, raw)
    trials = _check_events(events, stimulus_ids)
    if len(trials) > 1:
        shortest = float(np.diff(trials["onset"].to_numpy()).min())
        check_schedule(
            options["windows"], options["baseline"], shortest, f"the events of {subject}"
        )

    plan, exclusions = _select_channels(raw, table, reference, bad_z, chunk_size, subject)
    trial_window, trial_baseline, drop_log = _trial_values(
        raw, plan, trials, options, chunk_size=chunk_size, n_jobs=n_jobs, subject=subject
    )
    selection, dropped = _dropped_trials(trials, drop_log, subject)
    _check_finite(trial_window[selection], trial_baseline[selection], plan, subject)

    kept_trials = trials.iloc[selection]
    responses = _response_dataset(
        trial_window[selection], trial_baseline[selection], kept_trials, stimulus_ids, plan,
        subject, options,
    )  # fmt: skip
    responses.attrs = {
        "subjects": [subject],
        "settings": _settings_attr(options),
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


def _response_dataset(trial_window, trial_baseline, trials, stimulus_ids, plan, subject, options):
    """Repetition averages, split halves and responsiveness of the kept trials.

    ``trial_window`` is ``(trial, channel, band, window)`` and
    ``trial_baseline`` ``(trial, channel, band)``, in dB, for the rows of
    ``trials``.
    """
    bands, windows = options["bands"], options["windows"]
    diff = trial_window - trial_baseline[..., None]
    p_fdr = _responsiveness(diff)
    trial_da = xr.DataArray(
        trial_window,
        dims=("trial", "channel", "band", "window"),
        coords={"stimulus_id": ("trial", trials["stimulus_id"].to_numpy())},
    )
    responses = average_repetitions(trial_da, stimulus_ids)
    responses["responsive_p"] = (("channel", "band", "window"), p_fdr)
    responses["responsive"] = responses["responsive_p"] <= options["alpha"]
    return responses.assign_coords(
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


def _check_finite(trial_window, trial_baseline, plan, subject):
    """Band power of a kept trial is finite unless the signal was not: never write it."""
    bad = ~(
        np.isfinite(trial_window).all(axis=(0, 2, 3))
        & np.isfinite(trial_baseline).all(axis=(0, 2))
    )
    if bad.any():
        names = [item["name"] for item, b in zip(plan, bad, strict=True) if b]
        raise ValueError(
            f"{subject}: band power is NaN or infinite for channels {preview(names)}; "
            "their contacts hold non-finite samples the contact checks did not catch"
        )


def _channel_coords(plan, subject):
    return {
        "channel": [f"{subject}:{item['name']}" for item in plan],
        "subject": ("channel", [subject] * len(plan)),
        "region": ("channel", [item["region"] for item in plan]),
        "region_rank": ("channel", np.array([item["region_rank"] for item in plan], int)),
        **{k: ("channel", np.array([item[k] for item in plan], float)) for k in ("x", "y", "z")},
    }
