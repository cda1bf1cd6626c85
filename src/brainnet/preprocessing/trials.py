"""Trials: the stimulus events, their window and baseline values, and the dropped trials.

Contacts are processed in chunks of whole shafts and epochs in batches; only
the per-trial averages over each window and the baseline are kept, so memory
stays bounded per subject.
"""

from __future__ import annotations

import logging

import numpy as np
from tqdm.auto import tqdm

from brainnet.log import logger, preview
from brainnet.preprocessing.continuous import _average_signal, _chunk_raw, _chunks
from brainnet.preprocessing.power import (
    _cycles,
    _hilbert_stats,
    _morlet_stats,
    _to_db,
    _wavelet_pad,
)


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


def _trial_values(raw, plan, trials, options, *, chunk_size, n_jobs, subject):
    """Per-trial window and baseline values in dB, chunk by chunk, and MNE's drop log.

    ``options`` are the checked settings (see
    :func:`brainnet.preprocessing.settings._options`).
    """
    bands, windows, baseline = options["bands"], options["windows"], options["baseline"]
    method, decim = options["method"], options["decim"]
    sfreq = raw.info["sfreq"]
    analysed = (
        min(baseline[0], *(w[0] for w in windows.values())),
        max(baseline[1], *(w[1] for w in windows.values())),
    )
    freqs = {name: np.linspace(lo, hi, options["n_freqs"]) for name, (lo, hi) in bands.items()}
    cycles = {name: _cycles(f, options["n_cycles"]) for name, f in freqs.items()}
    pad = (
        max(_wavelet_pad(f, c) for f, c in zip(freqs.values(), cycles.values(), strict=True))
        if method == "morlet"
        else 0.0
    )
    samples = raw.first_samp + np.round(trials["onset"].to_numpy() * sfreq).astype(int)
    event_array = np.column_stack([samples, np.zeros_like(samples), np.ones_like(samples)])
    good = list(dict.fromkeys(s for item in plan for s in item["sources"]))
    average = _average_signal(raw, good, chunk_size) if options["reference"] == "average" else None
    shape = (len(trials), len(plan), len(bands), len(windows))
    trial_window = np.full(shape, np.nan)
    trial_baseline = np.full(shape[:3], np.nan)
    drop_log = None
    chunks = _chunks(plan, chunk_size)
    for chunk in tqdm(
        chunks, desc=f"{subject} chunks", disable=not logger.isEnabledFor(logging.INFO)
    ):
        chunk_raw = _chunk_raw(raw, chunk, average, options["line_freq"], n_jobs)
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
