"""Band power of epochs, averaged in the windows and the baseline, in dB.

Power comes from Morlet wavelets (:func:`mne.time_frequency.tfr_array_morlet`,
a few frequencies per band) or from a band-pass filter and the Hilbert
envelope (:meth:`mne.io.Raw.filter`, :meth:`mne.io.Raw.apply_hilbert`). Log
power is averaged in each window and normalised by each frequency's baseline
log power averaged over trials (see :mod:`brainnet.preprocessing`).
"""

from __future__ import annotations

import mne
import numpy as np

from brainnet.preprocessing.epochs import _TIME_TOLERANCE, _batches, _epochs, _span

# MNE's Morlet wavelets extend 5 standard deviations either side of their centre.
_WAVELET_HALF_WIDTH = 5.0
# Samples per FFT when epochs are transformed in groups (fast sizes stay in cache).
_FFT_LENGTH = 8192


def _cycles(freqs, n_cycles):
    return np.clip(freqs / 2, 3, 7) if n_cycles is None else np.full(freqs.shape, float(n_cycles))


def _wavelet_pad(freqs, cycles):
    """Half-length (s) of the longest wavelet of a band: its lowest frequency's."""
    return _WAVELET_HALF_WIDTH * cycles[0] / (2 * np.pi * freqs[0])


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
        band_pad = _wavelet_pad(band_freqs, cycles[name])
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
