"""Benchmark: streamed feature extraction against a plain forward pass.

Three measurements, each printed with its target:

1. Throughput. The same stimuli, model, transform and batch size go through
   (a) a plain forward pass, ``model(batch)`` under ``torch.inference_mode()``
   with nothing kept, and (b) the extraction stage,
   :func:`brainnet.activations.extract_activations`, which also returns every
   layer, reduces it and writes it to netCDF. Both build their model and load
   their images in the timed region with the same one-batch-ahead
   background loader, so the ratio isolates what the stage adds (feature
   extractor, reducer set-up, reduction, writing). Runs are interleaved
   (forward, srp, pool, none, then the same order rotated by one, ...) and
   the median of the per-repeat ratios is reported, because other processes
   share the machine. The stage's reducer set-up time is reported apart.
2. Applying the sparse random projection: scikit-learn's
   ``SparseRandomProjection.transform`` against brainnet's reducer (a product
   with the pre-transposed CSR matrix), on AlexNet conv1-sized input, with the
   same matrix, checked to give the same result.
3. Peak memory of the stage (default reduction) for a small and a large
   stimulus set, each in a fresh subprocess, with the same model.

The stimuli are a pool of the embedded procedural set, repeated under
distinct ids for larger sets (decoding and extraction cost per image is the
same). Run ``python benchmarks/extraction.py --help`` for the sizes.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
import torch
import torchvision
from sklearn.random_projection import SparseRandomProjection

from brainnet import activations
from brainnet.io import read_dataset, write_netcdf
from brainnet.models import ModelSpec, build_model, preprocessing
from brainnet.reduction import make_reducer
from brainnet.stimuli import build_stimuli, load_image, stimulus_table

REDUCTIONS = ("srp", "pool", "none")
RATIO_TARGET = 0.85
MEMORY_TARGET = 0.15


def draw_pool(out_dir: Path, pool_size: int, image_size: int, seed: int):
    """The embedded set, ``ceil(pool_size / 5)`` images in each of its five categories."""
    return build_stimuli(
        "embedded",
        out_dir,
        n_per_category=math.ceil(pool_size / 5),
        image_size=image_size,
        seed=seed,
    )


def repeat_stimuli(base, n_stimuli: int):
    """A stimulus table of ``n_stimuli`` entries cycling through ``base``'s images.

    Repeated images get distinct ids, as in a CSV manifest listing a file
    more than once; decoding and extracting them costs the same.
    """
    index = np.arange(n_stimuli) % base.sizes["stimulus"]
    ids = [f"{base['stimulus_id'].values[i]}_{k:05d}" for k, i in enumerate(index)]
    return stimulus_table(
        ids,
        base["path"].values[index],
        base["category"].values[index],
        set_name=f"embedded_x{n_stimuli}",
    )


def plain_forward(stimuli, spec: ModelSpec, batch_size: int) -> None:
    """What a lab script does: build the model, load batches, run them, keep nothing.

    Images are loaded one batch ahead in a background thread exactly as in
    :func:`brainnet.activations.extract_activations`, so that loading costs
    both sides the same.
    """
    model = build_model(spec)
    transform = preprocessing(spec)
    paths = list(stimuli["path"].values)
    batches = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]

    def load(batch_paths):
        return torch.stack([transform(load_image(p)) for p in batch_paths])

    with ThreadPoolExecutor(max_workers=1) as pool, torch.inference_mode():
        pending = pool.submit(load, batches[0])
        for i in range(len(batches)):
            images = pending.result()
            if i + 1 < len(batches):
                pending = pool.submit(load, batches[i + 1])
            model(images)


@contextmanager
def time_reducer_setup():
    """Accumulate the seconds the stage spends building its reducers.

    Wraps the ``make_reducer`` the stage calls, so that the fixed set-up cost
    can be told apart from the per-batch cost without a second run.
    """
    original = activations.make_reducer
    spent = [0.0]

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    activations.make_reducer = timed
    try:
        yield spent
    finally:
        activations.make_reducer = original


@contextmanager
def stopwatch():
    """Wall and CPU seconds (all threads of this process) spent in the block.

    CPU time is less sensitive than wall time to other processes on the
    machine, so its ratio is reported beside the throughput ratio.
    """
    times = {}
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield times
    finally:
        times["seconds"] = time.perf_counter() - wall
        times["cpu"] = time.process_time() - cpu


def run_forward(stimuli, spec, batch_size: int) -> dict:
    with stopwatch() as times:
        plain_forward(stimuli, spec, batch_size)
    return times


def run_stage(stimuli, spec, out: Path, batch_size: int, method: str) -> dict:
    with time_reducer_setup() as setup, stopwatch() as times:
        activations.extract_activations(
            stimuli,
            spec,
            out,
            batch_size=batch_size,
            reduction={"method": method},
            verbose=False,
        )
    size = out.stat().st_size
    out.unlink()
    return {**times, "setup": setup[0], "bytes": size}


def throughput(args, base, workdir: Path) -> list[dict]:
    """Interleaved forward and stage runs; one row per model and reduction."""
    stimuli = repeat_stimuli(base, args.n_stimuli)
    rows = []
    for arch in args.models:
        spec = ModelSpec(name=arch, arch=arch, weights=None)
        names = ["forward", *args.reductions]
        runs = {name: [] for name in names}
        for repeat in range(args.repeats):
            # rotate the order so that no contender always follows the large writes of
            # "none" or always runs first
            shift = repeat % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                if name == "forward":
                    runs[name].append(run_forward(stimuli, spec, args.batch_size))
                else:
                    out = workdir / f"{arch}.nc"
                    runs[name].append(run_stage(stimuli, spec, out, args.batch_size, name))
            print(
                f"{arch} repeat {repeat + 1}/{args.repeats}: "
                + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in runs.items()),
                flush=True,
            )
        forward = np.array([r["seconds"] for r in runs["forward"]])
        forward_cpu = np.array([r["cpu"] for r in runs["forward"]])
        for method in args.reductions:
            stage = np.array([r["seconds"] for r in runs[method]])
            stage_cpu = np.array([r["cpu"] for r in runs[method]])
            setup = np.array([r["setup"] for r in runs[method]])
            rows.append(
                {
                    "model": arch,
                    "reduction": method,
                    "forward_ips": np.median(args.n_stimuli / forward),
                    "stage_ips": np.median(args.n_stimuli / stage),
                    "ratio": np.median(forward / stage),
                    "setup": np.median(setup),
                    "ratio_no_setup": np.median(forward / (stage - setup)),
                    "cpu_ratio": np.median(forward_cpu / stage_cpu),
                    "megabytes": runs[method][0]["bytes"] / 2**20,
                }
            )
    return rows


def projection_costs(batch: int, shape: tuple[int, ...], n_components: int, repeats: int):
    """Building and applying a sparse random projection, scikit-learn against brainnet.

    Building: ``SparseRandomProjection.fit`` against the reducer's own
    construction, for the same shape (different draws of one distribution).
    Applying: ``SparseRandomProjection.transform`` against the reducer, both
    with the reducer's matrix, checked to agree.
    """
    n_features = int(np.prod(shape))
    srp = SparseRandomProjection(n_components=n_components, random_state=0)
    with stopwatch() as sklearn_build:
        srp.fit(sp.csr_matrix((1, n_features), dtype=np.float32))
    with stopwatch() as brainnet_build:
        reducer = make_reducer(shape, "srp", n_components=n_components, seed=0, layer="conv1")
    nonzeros = {"sklearn": srp.components_.nnz, "brainnet": reducer.projection.nnz}
    # both sides apply the reducer's matrix, in scikit-learn's (components, features) layout
    srp.components_ = reducer.projection.T.tocsr()
    x = torch.from_numpy(
        np.random.default_rng(0).standard_normal((batch, *shape), dtype=np.float32)
    )
    flat = x.reshape(batch, -1).numpy()
    np.testing.assert_allclose(reducer(x), srp.transform(flat), rtol=1e-4, atol=1e-4)
    times = {"sklearn": [], "brainnet": []}
    for _ in range(repeats):
        for name, apply in (
            ("sklearn", lambda: srp.transform(flat)),
            ("brainnet", lambda: reducer(x)),
        ):
            start = time.perf_counter()
            apply()
            times[name].append(time.perf_counter() - start)
    return {
        "build": {"sklearn": sklearn_build["seconds"], "brainnet": brainnet_build["seconds"]},
        "nonzeros": nonzeros,
        "expected_nonzeros": n_components * np.sqrt(n_features),
        "apply": {name: float(np.median(t)) for name, t in times.items()},
    }


def memory_status() -> dict[str, int]:
    """Current (``VmRSS``) and peak (``VmHWM``) resident memory of this process, in KiB.

    Read from ``/proc/self/status`` rather than ``getrusage``: after fork and
    exec, Linux carries the parent's peak into the child's ``ru_maxrss``,
    which would report the benchmark's own memory rather than the stage's.
    """
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def memory_child(stimuli_path: str, arch: str, out: str, batch_size: int, threads: int):
    """Run the stage once in this fresh process and print its memory as JSON."""
    if threads:
        torch.set_num_threads(threads)
    stimuli = read_dataset(stimuli_path)
    before = memory_status()["VmRSS"]
    activations.extract_activations(
        stimuli,
        ModelSpec(name=arch, arch=arch, weights=None),
        out,
        batch_size=batch_size,
        verbose=False,
    )
    peak = memory_status()["VmHWM"]
    Path(out).unlink()
    print(json.dumps({"before_kib": before, "peak_kib": peak}))


def peak_memory(args, base, workdir: Path) -> dict[int, dict]:
    arch = args.models[0]
    result = {}
    for n in args.memory_sizes:
        path = write_netcdf(repeat_stimuli(base, n), workdir / f"stimuli_{n}.nc")
        start = time.perf_counter()
        child = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--memory-child",
                str(path),
                arch,
                str(workdir / f"memory_{n}.nc"),
                "--batch-size",
                str(args.batch_size),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
        )
        if child.returncode:
            raise RuntimeError(
                f"memory run with {n} stimuli failed (exit {child.returncode}):\n"
                f"{child.stderr[-2000:]}"
            )
        result[n] = json.loads(child.stdout.strip().splitlines()[-1])
        result[n]["seconds"] = time.perf_counter() - start
        print(
            f"memory {arch} {n} stimuli: {result[n]['peak_kib'] / 2**10:.0f} MiB peak "
            f"({result[n]['seconds']:.0f} s)",
            flush=True,
        )
    return result


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["alexnet", "resnet18"],
        help="torchvision archs, untrained; the first is used for memory",
    )
    parser.add_argument("--n-stimuli", type=int, default=200, help="stimuli per timed run")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed repeats")
    parser.add_argument(
        "--reductions",
        nargs="+",
        default=list(REDUCTIONS),
        choices=REDUCTIONS,
        help="stage reductions to time (srp is default)",
    )
    parser.add_argument(
        "--memory-sizes",
        nargs=2,
        type=int,
        default=[200, 2000],
        help="small and large stimulus sets of the memory runs",
    )
    parser.add_argument(
        "--skip-memory", action="store_true", help="skip the memory runs (they read Linux /proc)"
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=200,
        help="distinct embedded images; larger sets repeat them",
    )
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (0: torch default)"
    )
    parser.add_argument("--projection-repeats", type=int, default=7)
    parser.add_argument(
        "--memory-child", nargs=3, help=argparse.SUPPRESS, metavar=("STIMULI", "ARCH", "OUT")
    )
    args = parser.parse_args(argv)
    for name in ("n_stimuli", "batch_size", "repeats", "pool_size", "projection_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if min(args.memory_sizes) < 1:
        parser.error(f"--memory-sizes must be >= 1, got {args.memory_sizes}")

    if args.memory_child:
        memory_child(*args.memory_child, args.batch_size, args.threads)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, torchvision "
        f"{torchvision.__version__}, scikit-learn {sklearn.__version__}, numpy "
        f"{np.__version__}; {platform.machine()} {torch.get_num_threads()} torch threads; "
        f"{args.n_stimuli} stimuli of {args.image_size} px, batch {args.batch_size}, "
        f"{args.repeats} repeats",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="brainnet-extraction-") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        base = draw_pool(workdir / "images", args.pool_size, args.image_size, seed=0)
        print(
            f"drew {base.sizes['stimulus']} embedded images in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
        rows = throughput(args, base, workdir)
        projection = projection_costs(args.batch_size, (64, 55, 55), 2048, args.projection_repeats)
        memory = None if args.skip_memory else peak_memory(args, base, workdir)

    print()
    print(
        f"{'model':<10} {'reduction':<9} {'forward img/s':>13} {'stage img/s':>11} "
        f"{'ratio':>6} {'CPU ratio':>9} {'setup s':>8} {'ratio excl. setup':>17} "
        f"{'MiB written':>11}"
    )
    for r in rows:
        print(
            f"{r['model']:<10} {r['reduction']:<9} {r['forward_ips']:>13.1f} "
            f"{r['stage_ips']:>11.1f} {r['ratio']:>6.2f} {r['cpu_ratio']:>9.2f} "
            f"{r['setup']:>8.1f} {r['ratio_no_setup']:>17.2f} {r['megabytes']:>11.1f}"
        )
    print()
    for r in rows:
        if r["reduction"] == "srp":
            print(
                f"{r['model']} default reduction (srp 2048): throughput ratio "
                f"{r['ratio']:.2f} (target >= {RATIO_TARGET}) "
                f"{verdict(r['ratio'] >= RATIO_TARGET)}"
            )
    build, apply, nnz = projection["build"], projection["apply"], projection["nonzeros"]
    print(
        f"srp 64x55x55 -> 2048, building the matrix: sklearn fit {build['sklearn']:.2f} s, "
        f"brainnet {build['brainnet']:.2f} s, ratio {build['sklearn'] / build['brainnet']:.0f}x "
        f"(non-zeros {nnz['sklearn']} and {nnz['brainnet']}, "
        f"expected {projection['expected_nonzeros']:.0f})"
    )
    print(
        f"srp applied to {args.batch_size}x64x55x55: sklearn transform "
        f"{1e3 * apply['sklearn']:.1f} ms, brainnet CSR product {1e3 * apply['brainnet']:.1f} ms, "
        f"ratio {apply['sklearn'] / apply['brainnet']:.1f}x"
    )
    if memory is not None:
        small, large = args.memory_sizes
        peak_small, peak_large = (memory[n]["peak_kib"] for n in (small, large))
        grow_small, grow_large = (
            memory[n]["peak_kib"] - memory[n]["before_kib"] for n in (small, large)
        )
        diff = abs(peak_large - peak_small) / peak_small
        print(
            f"peak memory {args.models[0]}: {small} stimuli {peak_small / 2**10:.0f} MiB, "
            f"{large} stimuli {peak_large / 2**10:.0f} MiB, difference {100 * diff:.1f}% "
            f"(target < {100 * MEMORY_TARGET:.0f}%) {verdict(diff < MEMORY_TARGET)}"
        )
        print(
            f"  of which the stage itself (peak minus RSS before the call): "
            f"{grow_small / 2**10:.0f} MiB and {grow_large / 2**10:.0f} MiB"
        )


if __name__ == "__main__":
    main()
