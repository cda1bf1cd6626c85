"""Every stage on every device present, against the NumPy CPU path in the same run (issue 16).

For each torch device (the CPU always, every CUDA device torch sees):

* RSA: the exact permutation test (no sequential stopping) of ``--layers``
  model RDMs of ``--stimuli`` stimuli against ``--rdms`` brain RDMs,
  ``--permutations`` permutations: :class:`brainnet.rsa._engine._Test` on
  NumPy (the reference) and with the device; p-values compared;
* encoding: ridge with the fixed-penalty permutation null,
  :func:`brainnet.encoding.null._score_ridge` (NumPy) against
  :func:`brainnet.encoding.device_ridge._score_ridge_device`; penalties, r
  and p-values compared;
* extraction: :func:`brainnet.activations.extract_activations` of an untrained
  AlexNet on ``--images`` embedded images, images per second.

Contenders alternate round by round (``--rounds``) so that load from other
processes hits them alike; wall and CPU seconds are summed. Torch on the CPU
is not what ``device: cpu`` runs (that is NumPy); it is here because it is
the test bed of the device code where no GPU exists.

Example (the figures in docs/benchmarks.md)::

    nice python benchmarks/devices.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.distance import pdist
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from brainnet.activations import extract_activations
from brainnet.encoding.device_ridge import _score_ridge_device
from brainnet.encoding.null import _p_values, _permutations, _score_ridge
from brainnet.models import ModelSpec
from brainnet.rsa._engine import _Test
from brainnet.rsa._memory import rsa_sizes
from brainnet.rsa.permutation import make_permutations
from brainnet.stimuli import build_stimuli

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encoding import make_problem  # noqa: E402


def timed(fit, *args, sync=False):
    """(result, wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fit(*args)
    if sync:
        torch.cuda.synchronize()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def rsa_run(models, brains, perms, device):
    test = _Test(models, "spearman", perms, None, rsa_sizes(models.shape[1]), device=device)
    brain32, norm, _ = test.brain(brains)
    return test.pvalues(test.run(brain32, norm))


def encoding_run(problem, device):
    features, targets, splits, perms, alphas = problem
    if device is None:
        return _score_ridge(features, targets, splits, perms, alphas, False)
    return _score_ridge_device(features, targets, splits, perms, alphas, device)


def extraction_run(stimuli, out, device):
    spec = ModelSpec.from_config("alexnet", {"arch": "alexnet", "weights": None}, seed=0)
    extract_activations(stimuli, spec, out, batch_size=16, device=device)


def compare(name, runs, devices, check, rounds):
    """Alternate NumPy and each device ``rounds`` times; print times and ratios."""
    contenders = [("NumPy cpu", None)] + [(f"torch {d}", d) for d in devices]
    totals = {label: [0.0, 0.0] for label, _ in contenders}
    results = {}
    for _ in range(rounds):
        for label, device in contenders:
            sync = device is not None and device.type == "cuda"
            results[label], wall, cpu = timed(runs, device, sync=sync)
            totals[label][0] += wall
            totals[label][1] += cpu
    reference = totals["NumPy cpu"]
    print(f"\n{name}")
    print(f"  {'contender':<16} {'wall s':>8} {'CPU s':>8} {'NumPy / this (wall)':>20}")
    for label, (wall, cpu) in totals.items():
        print(f"  {label:<16} {wall:>8.2f} {cpu:>8.2f} {reference[0] / wall:>20.2f}")
        if label != "NumPy cpu":
            print(f"    {check(results['NumPy cpu'], results[label])}")
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=250)
    parser.add_argument("--layers", type=int, default=9)
    parser.add_argument("--rdms", type=int, default=2000)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--enc-stimuli", type=int, default=500)
    parser.add_argument("--enc-features", type=int, default=1024)
    parser.add_argument("--enc-targets", type=int, default=2000)
    parser.add_argument("--enc-permutations", type=int, default=100)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + [
        torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())
    ]
    names = [torch.cuda.get_device_name(d) if d.type == "cuda" else "CPU" for d in devices]
    print(f"devices: {', '.join(f'{d} ({n})' for d, n in zip(devices, names, strict=True))}")
    print(f"torch {torch.__version__}, numpy {np.__version__}, threads {args.threads}")

    rng = np.random.default_rng(0)
    models = np.stack([pdist(rng.standard_normal((args.stimuli, 32))) for _ in range(args.layers)])
    brains = np.abs(pdist(rng.standard_normal((args.stimuli, 1))))[None] * rng.random(
        (args.rdms, 1)
    )
    brains = brains + rng.random(brains.shape)
    perms = make_permutations(args.stimuli, args.permutations, 1)

    features, targets = make_problem(args.enc_stimuli, args.enc_features, args.enc_targets, 0)
    splits = list(KFold(5, shuffle=True, random_state=0).split(features))
    problem = (
        features,
        targets,
        splits,
        _permutations(args.enc_stimuli, args.enc_permutations, 0),
        np.logspace(-2, 8, 20),
    )

    with threadpool_limits(args.threads), tempfile.TemporaryDirectory() as tmp:
        compare(
            f"RSA, exact: {args.stimuli} stimuli, {args.layers} layers, {args.rdms} brain RDMs, "
            f"{args.permutations} permutations",
            lambda d: rsa_run(models, brains, perms, d),
            devices,
            lambda a, b: f"p-values identical: {np.array_equal(a, b, equal_nan=True)}",
            args.rounds,
        )
        compare(
            f"encoding: {args.enc_stimuli} stimuli, {args.enc_features} features, "
            f"{args.enc_targets} targets, 20 alphas, 5 folds, {args.enc_permutations} "
            "permutations",
            lambda d: encoding_run(problem, d),
            devices,
            lambda a, b: (
                f"penalties identical {np.array_equal(a[1], b[1])}, max |r difference| "
                f"{np.abs(a[0] - b[0]).max():.1e}, p-values identical "
                f"{np.array_equal(_p_values(a[0]), _p_values(b[0]))}"
            ),
            args.rounds,
        )
        per_category = max(1, args.images // 5)
        stimuli = build_stimuli("embedded", Path(tmp) / "images", n_per_category=per_category)
        n = stimuli.sizes["stimulus"]
        totals = compare(
            f"extraction: untrained AlexNet, {n} images of 224 px, batch 16 "
            "(NumPy cpu: the CPU path, device cpu)",
            lambda d: extraction_run(stimuli, Path(tmp) / "act.nc", d or "cpu"),
            devices,
            lambda a, b: "",
            args.rounds,
        )
        for label, (wall, _) in totals.items():
            print(f"  {label}: {args.rounds * n / wall:.1f} images/s")


if __name__ == "__main__":
    main()
