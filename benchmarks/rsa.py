"""RSA permutation statistics: brainnet against a SciPy loop and rsatoolbox.

Measures, at the reference study's size (250 stimuli, 9 layers), the cost of
one permutation of one layer against one brain RDM:

* brainnet: :func:`brainnet.rsa.rsa_scores` end to end (scalar brain RDMs,
  ranks, every permutation), divided by permutations x layers x brain RDMs;
* (a) the reference study's approach: :func:`scipy.stats.spearmanr` on every
  permuted brain RDM, one call per permutation and layer (upper triangles;
  the study's code correlated the full matrices, about twice as slow);
* (b) rsatoolbox: ``rsatoolbox.rdm.compare(method="spearman")`` of the layer
  RDMs with a batch of permuted brain RDMs;

then a share of the full reference run (11,293 electrodes x 15 band-windows x
9 layers x 10,000 permutations), with and without Besag-Clifford stopping, and
projects the full run on this machine. A fraction of the brain RDMs carries a
planted effect (significant pairs need all 10,000 permutations).

Also times brainnet's average ranks against ``scipy.stats.rankdata`` and its
row-then-column gather of permuted model RDMs against one flat fancy index.

Example (the figures in docs/benchmarks/rsa.md)::

    python benchmarks/rsa.py --scale 0.01
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import xarray as xr
from scipy import stats
from scipy.spatial.distance import pdist
from threadpoolctl import threadpool_limits

from brainnet import rsa

FULL_TARGETS = 11_293 * 15  # electrodes x band-windows of Kuzovkin et al. 2018


def make_problem(n_stimuli, n_layers, n_targets, effect, seed):
    """Activations of ``n_layers`` layers and scalar responses of ``n_targets`` targets.

    A fraction ``effect`` of the targets follows one layer's first feature,
    strongly enough that most of them reach p <= 0.001 for that layer.
    """
    rng = np.random.default_rng(seed)
    ids = [f"img{i:03d}" for i in range(n_stimuli)]
    layers = [f"layer{i}" for i in range(n_layers)]
    activations = xr.Dataset(coords={"stimulus_id": ("stimulus", ids)}, attrs={"layers": layers})
    for name in layers:
        features = rng.standard_normal((n_stimuli, 64))
        activations[name] = (("stimulus", f"feature_{name}"), features)
    values = rng.standard_normal((n_stimuli, n_targets))
    planted = rng.random(n_targets) < effect
    source = rng.integers(0, n_layers, n_targets)
    for t in np.flatnonzero(planted):
        values[:, t] += 3.0 * activations[layers[source[t]]].values[:, 0]
    responses = xr.Dataset(
        {"response": (("stimulus", "channel", "band", "window"), values[:, :, None, None])},
        coords={
            "stimulus_id": ("stimulus", ids),
            "channel": [f"c{t}" for t in range(n_targets)],
            "subject": ("channel", ["s1"] * n_targets),
            "region": ("channel", ["V1"] * n_targets),
            "region_rank": ("channel", [1] * n_targets),
            "band": ["low_gamma"],
            "window": ["50-250"],
        },
    )
    return activations, responses


def model_rdms(activations):
    return np.stack([pdist(activations[name].values) for name in activations.attrs["layers"]])


def time_scipy_loop(models, responses, permutations):
    """Seconds per (permutation x layer x brain RDM) of a spearmanr loop."""
    values = responses["response"].values[:, :2, 0, 0]
    start = time.perf_counter()
    for t in range(values.shape[1]):
        for perm in permutations:
            permuted = rsa.scalar_rdm(values[perm, t])  # the brain RDM with relabelled stimuli
            for model in models:
                stats.spearmanr(model, permuted)
    return (time.perf_counter() - start) / (values.shape[1] * len(permutations) * len(models))


def time_rsatoolbox(models, responses, permutations):
    """Seconds per (permutation x layer x brain RDM) of rsatoolbox's compare."""
    from rsatoolbox.rdm import RDMs, compare

    values = responses["response"].values[:, 0, 0, 0]
    permuted = RDMs(np.stack([rsa.scalar_rdm(values[perm]) for perm in permutations]))
    layers = RDMs(models)
    start = time.perf_counter()
    compare(layers, permuted, method="spearman")
    return (time.perf_counter() - start) / (len(permutations) * len(models))


def time_brainnet(activations, responses, n_permutations, stopping, chunk):
    start = time.perf_counter()
    scores = rsa.rsa_scores(
        activations, responses, n_permutations=n_permutations, stopping=stopping, chunk=chunk
    )
    return time.perf_counter() - start, scores


def time_ranks(n_stimuli, rows=256, seed=0):
    vectors = rsa.scalar_rdm(np.random.default_rng(seed).standard_normal((n_stimuli, rows)))
    start = time.perf_counter()
    ours = rsa._rank_rows(vectors)
    mid = time.perf_counter()
    theirs = stats.rankdata(vectors, axis=1)
    end = time.perf_counter()
    assert np.array_equal(ours, theirs)
    return mid - start, end - mid


def time_gather(models, n_permutations=256, seed=0):
    """Seconds to permute one model RDM ``n_permutations`` times: flat index vs brainnet."""
    n = rsa._n_from_pairs(models.shape[1])
    perms = rsa.make_permutations(n, n_permutations, seed)
    test = rsa._Test(models[:1], "spearman", perms, None, rsa._memory.rsa_sizes(models.shape[1]))
    rows, cols = np.triu_indices(n, 1)
    flat = test.model32[0].ravel()
    start = time.perf_counter()
    reference = np.take(flat, test.inverse[:, rows] * n + test.inverse[:, cols])
    mid = time.perf_counter()
    ours = np.empty_like(reference)
    test._gather(0, test.inverse, ours)
    end = time.perf_counter()
    assert np.array_equal(ours, reference)
    return end - mid, mid - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-stimuli", type=int, default=250)
    parser.add_argument("--n-layers", type=int, default=9)
    parser.add_argument(
        "--scale",
        type=float,
        default=0.01,
        help="share of the reference's 169,395 brain RDMs measured",
    )
    parser.add_argument("--n-permutations", type=int, default=10_000)
    parser.add_argument(
        "--full-permutations",
        type=int,
        default=10_000,
        help="permutations of the run without stopping (cost is linear in it)",
    )
    parser.add_argument("--scipy-permutations", type=int, default=20)
    parser.add_argument("--rsatoolbox-permutations", type=int, default=200)
    parser.add_argument(
        "--effect", type=float, default=0.05, help="fraction of brain RDMs with a planted effect"
    )
    parser.add_argument("--chunk", type=int, default=2048, help="rsa_scores(chunk=...)")
    parser.add_argument(
        "--stopping-only",
        action="store_true",
        help="only the run with Besag-Clifford stopping (for larger --scale)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads (default: the library's own choice)",
    )
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args):
    n, n_layers = args.n_stimuli, args.n_layers
    n_targets = max(1, round(args.scale * FULL_TARGETS))
    print(
        f"{os.cpu_count()} CPUs, BLAS threads: {args.threads or 'default'}, "
        f"load average before: {os.getloadavg()[0]:.1f}"
    )
    activations, responses = make_problem(n, n_layers, n_targets, args.effect, args.seed)
    full_run = None
    if not args.stopping_only:
        full_run = compare_with_baselines(args, activations, responses, n_targets)

    bc_time, scores = time_brainnet(
        activations, responses, args.n_permutations, "besag_clifford", args.chunk
    )
    used = scores["n_permutations"].values
    print(
        f"\n{n_targets} brain RDMs x {n_layers} layers x {args.n_permutations} permutations "
        f"({n_targets / FULL_TARGETS:.2%} of the reference run, chunk {args.chunk}), "
        f"{scores['significant'].values.mean():.1%} of pairs significant:"
    )
    if full_run is not None:
        print(f"  no stopping    : {full_run:8.1f} s")
    print(
        f"  Besag-Clifford : {bc_time:8.1f} s, mean {used.mean():.0f} permutations per pair, "
        f"h = {scores.attrs['h']}"
    )
    factor = FULL_TARGETS / n_targets
    print(f"projected full run ({FULL_TARGETS} brain RDMs) on this machine:")
    if full_run is not None:
        print(f"  no stopping    : {full_run * factor / 3600:6.2f} h")
    print(
        f"  Besag-Clifford : {bc_time * factor / 3600:6.2f} h (linear in the number of brain "
        "RDMs: an upper bound, as the pairs still running after 100 h permutations are pooled "
        "across chunks, so a larger run finishes them in fewer passes)"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def compare_with_baselines(args, activations, responses, n_targets):
    """Print the per-unit costs against SciPy and rsatoolbox; return the time of
    ``args.n_permutations`` permutations without stopping."""
    n, n_layers = args.n_stimuli, args.n_layers
    models = model_rdms(activations)
    perms = rsa.make_permutations(n, max(args.scipy_permutations, args.rsatoolbox_permutations))
    ours_rank, scipy_rank = time_ranks(n)
    print(
        f"ranks of 256 RDM vectors: brainnet {ours_rank:.3f} s, scipy.stats.rankdata "
        f"{scipy_rank:.3f} s ({scipy_rank / ours_rank:.1f}x)"
    )
    ours_gather, flat_gather = time_gather(models)
    print(
        f"permuting a model RDM 256 times: brainnet {ours_gather:.3f} s, flat fancy index "
        f"{flat_gather:.3f} s ({flat_gather / ours_gather:.1f}x)"
    )
    scipy_cost = time_scipy_loop(models, responses, perms[: args.scipy_permutations])
    toolbox_cost = time_rsatoolbox(models, responses, perms[: args.rsatoolbox_permutations])
    full_time, _ = time_brainnet(activations, responses, args.full_permutations, None, args.chunk)
    ours_cost = full_time / (args.full_permutations * n_layers * n_targets)
    print(f"\nper permutation x layer x brain RDM ({n} stimuli, {n_layers} layers):")
    print(f"  scipy.stats.spearmanr loop : {scipy_cost * 1e6:10.2f} us")
    print(f"  rsatoolbox compare (batch) : {toolbox_cost * 1e6:10.2f} us")
    print(
        f"  brainnet (no stopping)     : {ours_cost * 1e6:10.4f} us "
        f"({args.full_permutations} permutations)"
    )
    print(f"  speed-up vs scipy loop     : {scipy_cost / ours_cost:10.0f}x (target >= 1,000x)")
    print(f"  speed-up vs rsatoolbox     : {toolbox_cost / ours_cost:10.0f}x (target >= 50x)")
    return full_time * args.n_permutations / args.full_permutations


if __name__ == "__main__":
    main()
