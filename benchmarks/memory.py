"""Peak memory of the encoding null at 20,000 targets and of RSA at 5,000 stimuli (issue 16).

Each measurement runs in its own child process, which reports its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: inputs,
interpreter and libraries included), so one measurement cannot inflate the
next. Target: both below 8 GB.

* encoding: the ridge permutation null at fixed penalties
  (:func:`brainnet.encoding.null._score_ridge`) with ``--stimuli`` x
  ``--features`` x ``--targets``, the first ``--folds-run`` of 5 outer folds
  and ``--permutations`` permutations. The working arrays are cut in blocks of
  permutations and targets whatever their number, so the peak reached in the
  first fold is the peak of all; the scores of the null grow by 8 bytes per
  permutation and target, which the script adds to project the peak at
  ``--project`` permutations. ``--previous SRC`` measures another source tree
  (e.g. an export of main) the same way.
* RSA: :func:`brainnet.rsa.rsa_scores` at ``--rsa-stimuli`` with 9 layers and
  ``--rsa-targets`` channels, ``--rsa-permutations`` permutations, block and
  chunk ``auto`` (see :mod:`brainnet.rsa._memory`).

Example (the figures in docs/benchmarks.md)::

    nice python benchmarks/memory.py
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def encoding_child(args):
    import numpy as np
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    from brainnet.encoding.null import _permutations, _score_ridge

    # a spread of signal to noise, so that the chosen penalties spread over the grid
    rng = np.random.default_rng(0)
    features = rng.standard_normal((args.stimuli, args.features))
    signal = features[:, :64] @ rng.standard_normal((64, args.targets)) / 8
    targets = signal * np.logspace(-1, 0.5, args.targets) + rng.standard_normal(signal.shape)
    del signal
    splits = list(KFold(5, shuffle=True, random_state=0).split(features))[: args.folds_run]
    perms = _permutations(args.stimuli, args.permutations, 0)
    with threadpool_limits(1):
        _score_ridge(features, targets, splits, perms, np.logspace(-2, 8, 20), False)


def rsa_child(args):
    sys.path.insert(0, str(HERE))
    from rsa import make_problem
    from threadpoolctl import threadpool_limits

    from brainnet.rsa import rsa_scores

    activations, responses = make_problem(args.rsa_stimuli, 9, args.rsa_targets, 0.1, 0)
    with threadpool_limits(1):
        rsa_scores(activations, responses, n_permutations=args.rsa_permutations)


def measure(stage, args, source):
    """Peak RSS (bytes) and wall seconds of one child process."""
    env = dict(os.environ, PYTHONPATH=str(source))
    argv = [sys.executable, __file__, "--child", stage, *sys.argv[1:]]
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return int(out.split()[-1]) * 1024, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=1000)
    parser.add_argument("--features", type=int, default=4096)
    parser.add_argument("--targets", type=int, default=20000)
    parser.add_argument("--permutations", type=int, default=20)
    parser.add_argument("--folds-run", type=int, default=1)
    parser.add_argument("--project", type=int, default=1000)
    parser.add_argument("--rsa-stimuli", type=int, default=5000)
    parser.add_argument("--rsa-targets", type=int, default=20)
    parser.add_argument("--rsa-permutations", type=int, default=10)
    parser.add_argument("--previous", type=Path, help="another src tree for the encoding run")
    parser.add_argument("--skip", choices=["encoding", "rsa"], action="append", default=[])
    parser.add_argument("--child", choices=["encoding", "rsa"], help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    if args.child:
        (encoding_child if args.child == "encoding" else rsa_child)(args)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB, read by measure
        return

    source = HERE.parent / "src"
    runs = []
    if "encoding" not in args.skip:
        for name, tree in [("issue 16", source), ("previous", args.previous)]:
            if tree is None:
                continue
            peak, seconds = measure("encoding", args, tree)
            growth = 8 * (args.project - args.permutations) * args.targets
            runs.append((f"encoding null, {name}", peak, seconds, peak + growth))
    if "rsa" not in args.skip:
        peak, seconds = measure("rsa", args, source)
        runs.append(("rsa_scores", peak, seconds, None))
    print(
        f"encoding: {args.stimuli} stimuli x {args.features} features x {args.targets} targets, "
        f"{args.permutations} permutations, {args.folds_run} of 5 folds; rsa: "
        f"{args.rsa_stimuli} stimuli, 9 layers, {args.rsa_targets} channels, "
        f"{args.rsa_permutations} permutations"
    )
    print(f"{'run':<28} {'peak GB':>8} {'seconds':>8} {'projected GB':>13}")
    for name, peak, seconds, projected in runs:
        extra = f"{projected / 1e9:>13.2f}" if projected is not None else ""
        print(f"{name:<28} {peak / 1e9:>8.2f} {seconds:>8.1f} {extra}")
    print(f"(projected: at {args.project} permutations; target < 8 GB)")


if __name__ == "__main__":
    main()
