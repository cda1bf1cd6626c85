"""Raw signals: one single trial and its time-frequency map, early and late in the hierarchy.

The figure shows what the preprocessing starts from: a bipolar sEEG trace in
µV around one image onset and its Morlet time-frequency map as percent change of
power from the pre-stimulus baseline, for a contact in the earliest visual region recorded
(the lowest region rank: V1 where the subject has a V1 contact) and one in the
most anterior region (the highest rank). A visual response appears as a
broadband gamma increase that starts later in the anterior contact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from brainnet.io import atomic_path
from brainnet.preprocessing import bipolar_channels, remove_line_noise

__all__ = ["plot_trial"]


def plot_trial(
    raw: mne.io.BaseRaw,
    events: pd.DataFrame,
    channels: pd.DataFrame,
    *,
    trial: int = 0,
    picks: Sequence[str] | None = None,
    line_freq: float | str | None = "auto",
    fmin: float = 4.0,
    fmax: float = 150.0,
    baseline: Sequence[float] = (-0.5, -0.1),
    tmin: float = -0.5,
    tmax: float = 0.8,
    path: str | os.PathLike | None = None,
) -> Figure:
    """Plot one trial's bipolar trace and time-frequency map for two contacts.

    Parameters
    ----------
    raw : mne.io.Raw
        The continuous recording (volts).
    events : pandas.DataFrame
        ``onset`` (s) and ``stimulus_id`` of each presentation.
    channels : pandas.DataFrame
        Contacts indexed by name with ``region``, ``region_rank`` and
        optionally ``status`` (see :func:`brainnet.recordings.bids.read_subject`).
    trial : int
        Which presentation to show, in onset order.
    picks : sequence of two str | None
        Bipolar pairs to show (``"LA1-LA2"``); None takes the first good pair
        of the lowest visual rank (V1 if recorded) and of the highest rank.
    line_freq : float | "auto" | None
        Mains frequency to notch out; ``"auto"`` takes ``raw.info["line_freq"]``
        (50 Hz when unknown), None skips the notch.
    fmin, fmax : float
        Frequency range of the map (Hz), 40 log-spaced wavelets.
    baseline : (float, float)
        Baseline interval (s); maps show the percent change of power from
        each frequency's mean baseline power over all trials. The single
        trial's map sits beside the mean over all trials, where the response
        stands out of the single-trial fluctuations.
    tmin, tmax : float
        Time range shown (s from onset).
    path : path-like | None
        Where to save the figure as PNG (written atomically).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    table = channels.set_index("name") if "name" in channels.columns else channels
    pairs = _pairs(table, picks)
    onsets, order = _presentations(events, trial)
    signal = _bipolar_signal(raw, pairs, line_freq)
    freqs = np.geomspace(fmin, fmax, 40)
    n_cycles = np.clip(freqs / 2, 3, 7)
    epochs = _epochs(
        signal, raw, onsets, trial, freqs, n_cycles, tmin=min(tmin, baseline[0]), tmax=tmax
    )
    data, times = epochs.get_data(), epochs.times
    shown = (times >= tmin) & (times <= tmax)
    index = list(epochs.selection).index(trial)
    change = _power_change(data, times, shown, raw.info["sfreq"], freqs, n_cycles, baseline)
    maps = {
        f"single trial {trial}": change[index],
        f"mean of {len(change)} trials": change.mean(axis=0),
    }

    fig = Figure(figsize=(15, 6.5), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True, width_ratios=[1, 1.2, 1.2])
    duration = _duration(order, trial)
    for row, (name, pair) in enumerate(pairs.iterrows()):
        _draw_trace(
            axes[row, 0], name, pair, times[shown], data[index, row, shown], baseline, duration
        )
        for image, (label, values) in zip(axes[row, 1:], maps.items(), strict=True):
            _draw_power(fig, image, times[shown], freqs, values[row], label, baseline)
        for ax in axes[row]:
            ax.axvline(0, color="tab:green", lw=1)
    for ax in axes[1]:
        ax.set_xlabel("Time from image onset (s)")
    subject = (raw.info.get("subject_info") or {}).get("his_id") or ""
    stimulus = str(order["stimulus_id"].iloc[trial])
    fig.suptitle(
        f"{subject} trial {trial}: image {stimulus} at {onsets[trial]:.2f} s "
        "(bipolar, notch-filtered; grey/dotted: baseline, green: image on)",
        fontsize=11,
    )
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=150)
    return fig


def _presentations(events, trial):
    """Sorted onsets (s) of the stimulus presentations and their rows in onset order."""
    onsets = np.sort(events.loc[events["stimulus_id"].notna(), "onset"].to_numpy(float))
    if not 0 <= trial < len(onsets):
        raise ValueError(f"trial {trial} is out of range: there are {len(onsets)} trials")
    order = events.loc[events["stimulus_id"].notna()].sort_values("onset", kind="stable")
    return onsets, order


def _bipolar_signal(raw, pairs, line_freq):
    """The bipolar derivations ``pairs`` of ``raw``, notch-filtered at ``line_freq``."""
    contacts = list(dict.fromkeys([*pairs["anode"], *pairs["cathode"]]))
    info = mne.pick_info(raw.info, [raw.ch_names.index(c) for c in contacts])
    info["bads"] = []
    signal = mne.io.RawArray(raw.get_data(picks=contacts), info, verbose=False)
    if line_freq == "auto":
        line_freq = raw.info["line_freq"] or 50.0
    if line_freq is not None:
        remove_line_noise(signal, line_freq)
    names = list(pairs.index)
    mne.set_bipolar_reference(
        signal, list(pairs["anode"]), list(pairs["cathode"]), ch_name=names, copy=False,
        verbose=False,
    )  # fmt: skip
    return signal.pick(names)


def _epochs(signal, raw, onsets, trial, freqs, n_cycles, *, tmin, tmax):
    """Epochs of every presentation from ``tmin`` to ``tmax`` (s), padded for the wavelets."""
    pad = 5 * n_cycles[0] / (2 * np.pi * freqs[0])  # MNE wavelets span 5 sd either side
    samples = np.round(onsets * raw.info["sfreq"]).astype(int) + raw.first_samp
    epochs = mne.Epochs(
        signal,
        np.column_stack([samples, np.zeros_like(samples), np.ones_like(samples)]),
        tmin=tmin - pad,
        tmax=tmax + pad,
        baseline=None,
        preload=True,
        verbose=False,
    )
    if trial not in epochs.selection:
        raise ValueError(f"trial {trial} at {onsets[trial]:.2f} s has no full epoch in the data")
    return epochs


def _power_change(data, times, shown, sfreq, freqs, n_cycles, baseline):
    """Morlet power of every epoch as percent change, ``(epoch, pair, freq, shown time)``."""
    power = mne.time_frequency.tfr_array_morlet(
        data, sfreq, freqs, n_cycles=n_cycles, output="power", verbose=False
    )
    in_baseline = (times >= baseline[0]) & (times <= baseline[1])
    # Percent change against each frequency's mean baseline power over all trials:
    # unlike dB, a single trial's near-zero power samples do not turn into deep holes.
    reference = power[..., in_baseline].mean(axis=(0, -1))
    return 100 * (power[..., shown] / reference[..., None] - 1)


def _draw_trace(ax, name, pair, times, trace, baseline, duration):
    """The bipolar trace of one pair in µV, with the baseline and the image shaded."""
    ax.plot(times, trace * 1e6, color="k", lw=0.7)
    ax.set_ylabel("Voltage (µV)")
    ax.set_title(
        f"{name}  ({pair['region']}, rank {pair['region_rank']})", loc="left", fontsize=10
    )
    ax.axvspan(*baseline, color="0.5", alpha=0.15, lw=0)
    if duration:
        ax.axvspan(0, duration, color="tab:green", alpha=0.1, lw=0)


def _draw_power(fig, ax, times, freqs, values, label, baseline):
    """One time-frequency map of percent power change, on a log frequency axis."""
    top = max(50.0, float(np.percentile(values, 99)))
    mesh = ax.pcolormesh(
        times, freqs, values, cmap="RdBu_r", shading="nearest",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-100.0, vmax=top), rasterized=True,
    )  # fmt: skip
    ax.set_yscale("log")
    ticks = [t for t in (5, 10, 20, 40, 80, 150) if freqs[0] <= t <= freqs[-1]]
    ax.set_yticks(ticks, labels=[str(t) for t in ticks])
    ax.set_ylabel("Frequency (Hz)")
    ax.set_title(f"{label}: power change", loc="left", fontsize=10)
    fig.colorbar(mesh, ax=ax, label="% vs baseline")
    for edge in baseline:
        ax.axvline(edge, color="0.3", lw=0.8, ls=":")


def _pairs(table, picks):
    good = table[table.get("status", pd.Series("good", index=table.index)).ne("bad")]
    good = good[good["region"].fillna("").astype(str) != ""]
    for k in ("x", "y", "z"):
        if k not in good.columns:
            good = good.assign(**{k: np.nan})
    pairs = bipolar_channels(good)
    if picks is not None:
        missing = [p for p in picks if p not in pairs.index]
        if missing:
            raise ValueError(
                f"bipolar pairs {missing} are not among the good pairs {list(pairs.index)}"
            )
        return pairs.loc[list(picks)]
    visual = pairs[pairs["region_rank"] > 0]
    if visual["region_rank"].nunique() < 2:
        raise ValueError("plot_trial needs good bipolar pairs in at least two visual regions")
    # The first pair of the lowest rank (V1 if recorded) and of the highest rank.
    return pd.concat([
        visual[visual["region_rank"] == visual["region_rank"].min()].iloc[:1],
        visual[visual["region_rank"] == visual["region_rank"].max()].iloc[:1],
    ])  # fmt: skip


def _duration(order, trial):
    if "duration" not in order.columns:
        return None
    value = pd.to_numeric(order["duration"], errors="coerce").iloc[trial]
    return float(value) if np.isfinite(value) and value > 0 else None
