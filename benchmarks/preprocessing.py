"""Benchmark: MNE preprocessing of one synthetic subject, against a per-channel MNE loop.

Writes one subject of the synthetic BIDS-iEEG dataset (the default dataset's
size: 200 images x 4 repetitions, 5 shafts of 8 contacts, 500 Hz), reads it
back with the BIDS loader and times:

* brainnet: :func:`brainnet.preprocessing.compute_responses` with its
  defaults (bipolar, five bands by Morlet wavelets, three windows, Wilcoxon
  and FDR, repetition averaging and split halves);
* baseline: the straightforward MNE loop a lab script would write: the
  recording loaded, notch-filtered and bipolar re-referenced as a whole, then
  for each channel separately ``mne.Epochs`` and ``tfr_array_morlet`` over all
  25 frequencies, and the same window averages.

Both produce the same per-trial window values (checked and printed); the ratio
of wall times and a projection per channel-hour of recording are printed, and
the peak memory of brainnet's run (tracemalloc, numpy buffers included).

Run from the repository root::

    python benchmarks/preprocessing.py                  # default size
    python benchmarks/preprocessing.py --n-stimuli 40   # quick
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import mne
import numpy as np
import xarray as xr

from brainnet.preprocessing import DEFAULT_BANDS, DEFAULT_WINDOWS, bipolar_pairs, compute_responses
from brainnet.recordings.bids import read_subject
from brainnet.recordings.synthetic import simulate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-stimuli", type=int, default=200)
    parser.add_argument("--n-repetitions", type=int, default=4)
    parser.add_argument("--n-contacts", type=int, default=8, help="contacts per shaft")
    parser.add_argument("--sfreq", type=float, default=500.0)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = _write_subject(Path(tmp) / "bids", args)
        recording = read_subject(root, "01")
        raw = recording.raw
        n_contacts = len(recording.channels)
        hours = raw.times[-1] / 3600
        print(
            f"one subject: {n_contacts} contacts, {raw.info['sfreq']:g} Hz, "
            f"{raw.times[-1]:.0f} s, {recording.events['stimulus_id'].notna().sum()} trials"
        )

        start = time.perf_counter()
        ours = compute_responses(
            raw, recording.events, recording.channels, subject="sub-01", n_jobs=args.n_jobs
        )
        t_ours = time.perf_counter() - start
        n_channels = ours.sizes["channel"]

        start = time.perf_counter()
        base = _baseline(raw, recording, ours, args.n_jobs)
        t_base = time.perf_counter() - start

        # Same trial-averaged values (the baseline has no responsiveness test).
        diff = float(np.nanmax(np.abs(base - ours["response"])))

        tracemalloc.start()
        compute_responses(
            raw, recording.events, recording.channels, subject="sub-01", n_jobs=args.n_jobs
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    per_hour = t_ours / (n_channels * hours)
    print(f"brainnet.compute_responses: {t_ours:8.1f} s")
    print(f"per-channel MNE loop:       {t_base:8.1f} s")
    print(f"speed-up: {t_base / t_ours:.1f}x  (max |difference| of responses {diff:.2e} dB)")
    print(
        f"projection: {per_hour:.1f} s per bipolar channel-hour "
        f"({per_hour * 100 / 3600:.2f} h for 100 channels x 1 h on one core)"
    )
    print(f"peak memory of compute_responses (tracemalloc): {peak / 2**20:.0f} MiB")
    print(
        f"max resident set size of the process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB"
    )


def _write_subject(root: Path, args) -> Path:
    """One subject of the synthetic dataset; activations are random (timing only)."""
    rng = np.random.default_rng(args.seed)
    ids = [f"img{k:04d}" for k in range(args.n_stimuli)]
    layers = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
    activations = xr.Dataset(
        {layer: (("stimulus", f"feature_{layer}"), rng.normal(size=(len(ids), 32)))
         for layer in layers},
        coords={"stimulus_id": ("stimulus", ids)},
        attrs={"layers": layers, "model": "random"},
    )  # fmt: skip
    stimuli = xr.Dataset(coords={"stimulus_id": ("stimulus", ids)})
    return simulate_dataset(
        stimuli, activations, root, n_subjects=1, n_contacts=args.n_contacts, sfreq=args.sfreq,
        n_repetitions=args.n_repetitions, seed=args.seed,
    )  # fmt: skip


def _baseline(raw, recording, ours, n_jobs):
    """Per-channel epoching and wavelets, with the same channels, settings and averages."""
    settings = ours.attrs["settings"]
    sfreq, decim = raw.info["sfreq"], settings["decim"]
    raw = raw.copy().load_data()
    raw.notch_filter(np.arange(50, sfreq / 2 - 1, 50), picks="all", verbose=False)
    kept = [c.split(":")[1] for c in ours["channel"].values]
    pairs = [p for p in bipolar_pairs(list(recording.channels.index)) if "-".join(p) in kept]
    mne.set_bipolar_reference(
        raw, [a for a, _ in pairs], [c for _, c in pairs], copy=False, verbose=False
    )
    freqs = np.concatenate(
        [np.linspace(lo, hi, settings["n_freqs"]) for lo, hi in DEFAULT_BANDS.values()]
    )
    n_cycles = np.clip(freqs / 2, 3, 7)
    pad = 5 * n_cycles[0] / (2 * np.pi * freqs[0])
    # Epoch start on the decimation grid through 0, as brainnet samples its windows.
    step = decim / sfreq
    tmin, tmax = -np.ceil((0.5 + pad) / step) * step, np.ceil((0.45 + pad) / step) * step
    trials = recording.events.dropna(subset=["stimulus_id"]).sort_values("onset")
    samples = raw.first_samp + np.round(trials["onset"].to_numpy() * sfreq).astype(int)
    events = np.column_stack([samples, np.zeros_like(samples), np.ones_like(samples)])
    stim_ids = ours["stimulus_id"].values
    codes = np.searchsorted(stim_ids, trials["stimulus_id"].to_numpy())
    out = np.full(ours["response"].shape, np.nan)
    for c, name in enumerate(kept):
        epochs = mne.Epochs(
            raw,
            events,
            tmin=tmin,
            tmax=tmax,
            picks=[name],
            baseline=None,
            preload=True,
            verbose=False,
        )
        power = mne.time_frequency.tfr_array_morlet(
            epochs.get_data(),
            sfreq,
            freqs,
            n_cycles=n_cycles,
            output="power",
            decim=decim,
            n_jobs=n_jobs,
            verbose=False,
        )[:, 0]
        times = epochs.times[::decim]
        log_power = 10 * np.log10(power)

        def mean_in(lo, hi, log_power=log_power, times=times):
            inside = (times >= lo - 1e-6) & (times <= hi + 1e-6)
            return log_power[..., inside].mean(axis=-1)

        reference = mean_in(-0.5, -0.1).mean(axis=0)
        for w, (lo, hi) in enumerate(DEFAULT_WINDOWS):
            db = (mean_in(lo, hi) - reference).reshape(len(power), len(DEFAULT_BANDS), -1)
            per_trial = db.mean(axis=-1)
            for s in range(len(stim_ids)):
                out[s, c, :, w] = per_trial[codes[epochs.selection] == s].mean(axis=0)
    return out


if __name__ == "__main__":
    main()
