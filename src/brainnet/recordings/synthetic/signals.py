"""The recording of a subject: trial schedule, background, responses and faulty contacts.

Signals are in µV, ``(contact, time)``; the signal model is described in
:mod:`brainnet.recordings.synthetic`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import fft

from brainnet.recordings.synthetic.regions import _responding

# Variance fractions of the background: local to the contact, shared along the
# shaft (volume conduction) and shared by all contacts (the common reference).
_LOCAL, _SHAFT, _COMMON = 0.7, 0.2, 0.1
_KNEE_HZ = 1.0  # below the knee the aperiodic spectrum flattens (amplifier high-pass)
_ALPHA_RANGE_HZ = (9.0, 11.0)
_ALPHA_WIDTH_HZ = 1.0
_FLAT_UV = 0.1  # residual noise of a disconnected contact
_NOISY_FACTOR = 10.0  # broadband noise of a faulty contact, times the background
_KERNEL_SPAN = 6.0  # response kernels are cut at this many times time_to_peak


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
    for region, rows in _responding(layout, regions):
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
