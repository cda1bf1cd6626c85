"""Benchmark: alignment statistics with permutation p and bootstrap intervals.

Two contenders side by side in one process, on the same channel scores:

1. brainnet: :func:`brainnet.gradient.gradient_statistics`, the whole stage
   (region means with a hierarchical bootstrap, preferred layers, and Kendall's
   tau and Spearman's rho with permutations and bootstrap, computed from
   contingency tables as batched matrix products);
2. SciPy loop: only the alignment part, one :func:`scipy.stats.kendalltau`
   (significant pairs) and one :func:`scipy.stats.spearmanr` (preferred
   layers) per resample, band and window, which is how a lab script would do
   it. It runs ``--baseline-resamples`` permutations and as many bootstrap
   resamples, and its time is scaled linearly to ``--permutations`` and
   ``--bootstrap`` (each resample costs the same).

Both give the same observed tau and rho (checked). Run
``python benchmarks/gradient.py --help`` for the sizes.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import scipy
import xarray as xr
from scipy import stats

from brainnet.gradient import gradient_statistics


def make_scores(n_channels, n_layers, n_bands, n_windows, n_subjects, seed):
    """Encoding-like scores with a planted gradient: region k peaks near layer 2k."""
    rng = np.random.default_rng(seed)
    rank = rng.integers(0, 6, n_channels)  # 0 = control channels
    peak = np.minimum(2 * rank, n_layers - 1)
    layers = np.arange(n_layers)[:, None, None, None]
    signal = 0.2 * np.exp(-0.5 * ((layers - peak[None, :, None, None]) / 1.5) ** 2)
    r = signal * (rank > 0)[None, :, None, None] + rng.normal(
        0, 0.06, (n_layers, n_channels, n_bands, n_windows)
    )
    p_fdr = np.minimum(1, 3 * np.exp(-60 * np.maximum(r, 0)))
    dims = ("layer", "channel", "band", "window")
    return xr.Dataset(
        {"r": (dims, r), "p_fdr": (dims, p_fdr)},
        coords={
            "layer": [f"layer{i}" for i in range(n_layers)],
            "layer_index": ("layer", np.arange(n_layers)),
            "subject": ("channel", [f"sub-{i}" for i in rng.integers(0, n_subjects, n_channels)]),
            "region": ("channel", [f"R{k}" for k in rank]),
            "region_rank": ("channel", rank),
            "band": [f"band{i}" for i in range(n_bands)],
            "window": [f"window{i}" for i in range(n_windows)],
        },
    )


def scipy_alignment(scores, n_permutations, n_bootstrap, alpha, seed):
    """Observed tau and rho per band and window, and their resampled values, by loops."""
    rng = np.random.default_rng(seed)
    visual = scores["region_rank"].values > 0
    rank = scores["region_rank"].values[visual]
    r = scores["r"].values[:, visual]
    sig = scores["p_fdr"].values[:, visual] <= alpha
    preferred = np.where(sig.any(0), np.where(sig, r, -np.inf).argmax(0), -1)
    n = len(rank)

    def statistics(labels, weights):
        taus, rhos = [], []
        for b, w in np.ndindex(r.shape[2:]):
            layer, channel = np.nonzero(sig[:, :, b, w])
            repeat = weights[channel]
            taus.append(
                stats.kendalltau(np.repeat(labels[channel], repeat), np.repeat(layer, repeat))[0]
            )
            has = preferred[:, b, w] >= 0
            rhos.append(
                stats.spearmanr(
                    np.repeat(labels[has], weights[has]),
                    np.repeat(preferred[has, b, w], weights[has]),
                )[0]
            )
        return taus, rhos

    ones = np.ones(n, dtype=int)
    observed = statistics(rank, ones)
    for _ in range(n_permutations):
        statistics(rng.permutation(rank), ones)
    for _ in range(n_bootstrap):
        statistics(rank, rng.multinomial(n, np.full(n, 1 / n)))
    return observed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--layers", type=int, default=9)
    parser.add_argument("--bands", type=int, default=5)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--subjects", type=int, default=12)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--baseline-resamples",
        type=int,
        default=50,
        help="permutations and bootstrap resamples actually run by the SciPy "
        "loop; its time is scaled to --permutations and --bootstrap",
    )
    parser.add_argument("--repeats", type=int, default=3, help="brainnet runs (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    scores = make_scores(
        args.channels, args.layers, args.bands, args.windows, args.subjects, args.seed
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, {platform.machine()}"
    )
    print(
        f"{args.channels} channels x {args.layers} layers x {args.bands} bands x "
        f"{args.windows} windows; {args.permutations} permutations, "
        f"{args.bootstrap} bootstrap resamples"
    )

    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        gradient = gradient_statistics(
            scores,
            method="encoding",
            n_bootstrap=args.bootstrap,
            n_permutations=args.permutations,
            seed=args.seed,
        )
        times.append(time.perf_counter() - start)
    ours = min(times)

    k = args.baseline_resamples
    start = time.perf_counter()
    taus, rhos = scipy_alignment(scores, k, k, 0.05, args.seed)
    measured = time.perf_counter() - start
    per_resample = measured / (2 * k + 1)
    baseline = per_resample * (args.permutations + args.bootstrap + 1)

    shape = (args.bands, args.windows)
    np.testing.assert_allclose(gradient["alignment_tau"].values, np.reshape(taus, shape))
    np.testing.assert_allclose(gradient["alignment_rho"].values, np.reshape(rhos, shape))
    print(f"brainnet gradient_statistics (whole stage): {ours:8.2f} s (best of {args.repeats})")
    print(
        f"SciPy loop, alignment only:                 {baseline:8.2f} s "
        f"({measured:.2f} s for {2 * k + 1} resamples, scaled)"
    )
    print(f"speed-up: {baseline / ours:.0f}x; observed tau and rho identical")


if __name__ == "__main__":
    main()
