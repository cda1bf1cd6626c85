"""Benchmark: simulating the synthetic sEEG dataset against only writing it.

The budget of the default dataset (4 subjects, 200 stimuli, 4 repetitions) is
well under 60 s on one core and a few hundred MB on disk. Two contenders run
side by side in one process, alternating, so that load from other processes
hits them alike:

1. brainnet: :func:`brainnet.recordings.synthetic.simulate_dataset`, which
   simulates every subject and writes the BIDS-iEEG dataset with MNE-BIDS;
2. the baseline: :func:`mne_bids.write_raw_bids` alone, writing random data of
   the same shape (channels, duration, events) for every subject, i.e. the
   cost of the file format that no simulator can avoid.

The ratio (1) / (2) says how much the simulation adds to the writing. The
activations are random, with AlexNet's layer sizes after ``pool`` reduction
(grid 2). Run ``python benchmarks/synthetic.py --help`` for the sizes.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import mne
import mne_bids
import numpy as np
import pandas as pd
import xarray as xr

from brainnet.recordings.synthetic import TASK, simulate_dataset

LAYER_SIZES = {
    "pixels": 12,
    "conv1": 256,
    "conv2": 768,
    "conv3": 1536,
    "conv4": 1024,
    "conv5": 1024,
    "fc6": 4096,
    "fc7": 4096,
    "fc8": 1000,
}


def make_inputs(n_stimuli: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = [f"img{k:04d}" for k in range(n_stimuli)]
    stimuli = xr.Dataset(coords={"stimulus_id": ("stimulus", ids)})
    activations = xr.Dataset(
        {
            layer: (("stimulus", f"feature_{layer}"), rng.random((n_stimuli, size)))
            for layer, size in LAYER_SIZES.items()
        },
        coords={"stimulus_id": ("stimulus", ids)},
        attrs={"layers": list(LAYER_SIZES), "model": "alexnet"},
    )
    return stimuli, activations


def write_only(reference: Path, out: Path) -> None:
    """Write random data shaped like each subject of ``reference`` with MNE-BIDS."""
    rng = np.random.default_rng(0)
    for subject in mne_bids.get_entity_vals(reference, "subject"):
        path = mne_bids.BIDSPath(subject=subject, task=TASK, datatype="ieeg", root=reference)
        header = mne.io.read_raw_brainvision(
            path.copy().update(suffix="ieeg", extension=".vhdr").fpath, verbose=False
        )
        events = pd.read_csv(path.copy().update(suffix="events", extension=".tsv").fpath, sep="\t")
        raw = mne.io.RawArray(
            rng.standard_normal((len(header.ch_names), header.n_times)) * 30e-6,
            mne.create_info(header.ch_names, header.info["sfreq"], "seeg"),
            verbose=False,
        )
        raw.set_annotations(mne.Annotations(events["onset"], events["duration"], "stimulus"))
        mne_bids.write_raw_bids(
            raw,
            path.copy().update(root=out),
            event_id={"stimulus": 1},
            format="BrainVision",
            allow_preload=True,
            verbose=False,
        )


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-stimuli", type=int, default=200)
    parser.add_argument("--n-subjects", type=int, default=4)
    parser.add_argument("--n-repetitions", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each contender")
    args = parser.parse_args()
    stimuli, activations = make_inputs(args.n_stimuli)
    settings = {"n_subjects": args.n_subjects, "n_repetitions": args.n_repetitions}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulated, written = [], []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            simulate_dataset(stimuli, activations, tmp / "sim", overwrite=True, **settings)
            simulated.append(time.perf_counter() - start)
            shutil.rmtree(tmp / "write", ignore_errors=True)
            start = time.perf_counter()
            write_only(tmp / "sim", tmp / "write")
            written.append(time.perf_counter() - start)
            print(
                f"repeat {repeat}: simulate_dataset {simulated[-1]:.1f} s, "
                f"write_raw_bids only {written[-1]:.1f} s"
            )
        mb = size_mb(tmp / "sim")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numpy {np.__version__}, mne {mne.__version__}, mne-bids {mne_bids.__version__}"
    )
    print(
        f"dataset: {args.n_subjects} subjects, {args.n_stimuli} stimuli, "
        f"{args.n_repetitions} repetitions: {mb:.0f} MB on disk"
    )
    best_sim, best_write = min(simulated), min(written)
    print(
        f"simulate_dataset (best of {args.repeats}): {best_sim:.1f} s "
        f"({best_sim / args.n_subjects:.1f} s per subject); budget 60 s"
    )
    print(f"write_raw_bids only (best of {args.repeats}): {best_write:.1f} s")
    print(f"ratio simulate / write only: {best_sim / best_write:.2f}")
    print(f"peak resident memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
