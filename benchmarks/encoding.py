"""Benchmark: ridge with a penalty per target, chosen inside each training fold.

One problem, three contenders side by side in one process, interleaved fold by
fold so that load from other processes hits them alike:

1. brainnet: :func:`brainnet.encoding.fit_predict_ridge` (one decomposition per
   fold, exact leave-one-out for every alpha and target);
2. himalaya: ``KernelRidgeCV`` (linear kernel) when the training stimuli are
   fewer than the features, else ``himalaya.ridge.RidgeCV``; numpy backend.
   himalaya has no closed-form leave-one-out, so its penalty is chosen by an
   inner K-fold over the training fold (``--himalaya-cv``, its default 5);
3. scikit-learn: ``RidgeCV(alpha_per_target=True)`` (exact leave-one-out, the
   criterion brainnet reproduces). It is run on a subset of targets at two
   sizes and extrapolated linearly to all targets unless
   ``--sklearn-targets`` equals ``--targets``.

Every contender standardises the features on the training fold and fits an
intercept. Run ``python benchmarks/encoding.py --help`` for the sizes.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc

import himalaya
import numpy as np
import sklearn
import torch
from himalaya.backend import set_backend
from himalaya.kernel_ridge import KernelRidgeCV
from himalaya.ridge import RidgeCV as HimalayaRidgeCV
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from brainnet.encoding import fit_predict_ridge
from brainnet.encoding.memory import _null_blocks
from brainnet.encoding.null import (
    _fixed_alpha_blocks,
    _p_values,
    _permutations,
    _permuted_r,
)
from brainnet.encoding.pearson import _fold_r
from brainnet.encoding.ridge import _RidgeFold


def make_problem(n_stimuli, n_features, n_targets, seed):
    """Correlated features and targets with a spread of signal-to-noise ratios,
    so that the chosen penalties spread over the grid."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n_stimuli, 64))
    features = latent @ rng.standard_normal((64, n_features)) + rng.standard_normal(
        (n_stimuli, n_features)
    )
    signal = latent @ rng.standard_normal((64, n_targets))
    signal *= rng.permutation(np.logspace(-1, 0.5, n_targets)) / signal.std(axis=0)
    return features, signal + rng.standard_normal((n_stimuli, n_targets))


class Contender:
    """Accumulates time, peak traced memory and out-of-fold predictions."""

    def __init__(self, name, n_stimuli, n_targets):
        self.name = name
        self.seconds = 0.0
        self.peak = 0
        self.predictions = np.empty((n_stimuli, n_targets))
        self.alphas = []

    def run(self, fit, test, *args):
        tracemalloc.reset_peak()
        start = time.perf_counter()
        predictions, alphas = fit(*args)
        self.seconds += time.perf_counter() - start
        self.peak = max(self.peak, tracemalloc.get_traced_memory()[1])
        self.predictions[test, : predictions.shape[1]] = predictions
        self.alphas.append(np.asarray(alphas))


def himalaya_fold(x_train, y_train, x_test, alphas, inner_cv, batch):
    scaler = StandardScaler().fit(x_train)
    solver_params = {"n_targets_batch": batch, "n_targets_batch_refit": batch}
    if x_train.shape[0] < x_train.shape[1]:
        model = KernelRidgeCV(
            alphas=alphas,
            kernel="linear",
            fit_intercept=True,
            cv=inner_cv,
            solver="eigenvalues",
            solver_params=solver_params,
        )
    else:
        model = HimalayaRidgeCV(
            alphas=alphas,
            fit_intercept=True,
            cv=inner_cv,
            solver="svd",
            solver_params=solver_params,
        )
    model.fit(scaler.transform(x_train), y_train)
    return model.predict(scaler.transform(x_test)), model.best_alphas_


def sklearn_fold(x_train, y_train, x_test, alphas):
    scaler = StandardScaler().fit(x_train)
    model = RidgeCV(alphas=alphas, alpha_per_target=True).fit(scaler.transform(x_train), y_train)
    return model.predict(scaler.transform(x_test)), model.alpha_


def pearson(a, b):
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    return (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=1000)
    parser.add_argument("--features", type=int, default=4096)
    parser.add_argument("--targets", type=int, default=20000)
    parser.add_argument("--alphas", type=int, default=20, help="log grid 1e-2 .. 1e8")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--himalaya-cv", type=int, default=5, help="inner folds of himalaya")
    parser.add_argument(
        "--himalaya-batch", type=int, default=2000, help="himalaya n_targets_batch (memory)"
    )
    parser.add_argument(
        "--sklearn-targets", type=int, default=2000, help="targets given to scikit-learn"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS threads per contender (0: library default)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--null",
        action="store_true",
        help="time the fixed-penalty permutation null instead (issue 16), on every device",
    )
    parser.add_argument("--permutations", type=int, default=100, help="with --null")
    args = parser.parse_args(argv)
    if args.null:
        return null_main(args)

    set_backend("numpy")
    features, targets = make_problem(args.stimuli, args.features, args.targets, args.seed)
    alphas = np.logspace(-2, 8, args.alphas)
    n_sub = min(args.sklearn_targets, args.targets)
    # scikit-learn at two sizes gives its fixed cost and its cost per target
    sub_sizes = [n_sub] if n_sub == args.targets else [n_sub // 2, n_sub]
    contenders = {
        "brainnet": Contender("brainnet", args.stimuli, args.targets),
        "himalaya": Contender("himalaya", args.stimuli, args.targets),
    }
    sk = {size: Contender(f"sklearn[{size}]", args.stimuli, size) for size in sub_sizes}

    print(
        f"problem: {args.stimuli} stimuli, {args.features} features, {args.targets} targets, "
        f"{args.alphas} alphas, {args.folds} outer folds; python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"himalaya {himalaya.__version__}, BLAS threads {args.threads or 'default'}"
    )
    tracemalloc.start()
    folds = KFold(args.folds, shuffle=True, random_state=args.seed).split(features)
    with threadpool_limits(args.threads or None):
        for k, (train, test) in enumerate(folds):
            x_train, x_test, y_train = features[train], features[test], targets[train]
            contenders["brainnet"].run(fit_predict_ridge, test, x_train, y_train, x_test, alphas)
            contenders["himalaya"].run(
                himalaya_fold,
                test,
                x_train,
                y_train,
                x_test,
                alphas,
                args.himalaya_cv,
                args.himalaya_batch,
            )
            for size, contender in sk.items():
                contender.run(sklearn_fold, test, x_train, y_train[:, :size], x_test, alphas)
            print(
                f"fold {k + 1}/{args.folds}: "
                + ", ".join(
                    f"{c.name} {c.seconds:.1f} s" for c in [*contenders.values(), *sk.values()]
                ),
                flush=True,
            )
    tracemalloc.stop()

    if len(sub_sizes) == 2:
        small, large = (sk[s].seconds for s in sub_sizes)
        per_target = (large - small) / (sub_sizes[1] - sub_sizes[0])
        sklearn_seconds = large + per_target * (args.targets - sub_sizes[1])
        sklearn_note = (
            f"extrapolated from {sub_sizes[0]} targets ({small:.1f} s) and {sub_sizes[1]} "
            f"targets ({large:.1f} s)"
        )
    else:
        sklearn_seconds = sk[n_sub].seconds
        sklearn_note = "measured on all targets"
    reference = sk[n_sub]

    brainnet, hima = contenders["brainnet"], contenders["himalaya"]
    same_alpha = np.mean(np.vstack(reference.alphas) == np.vstack(brainnet.alphas)[:, :n_sub])
    max_diff = np.abs(reference.predictions - brainnet.predictions[:, :n_sub]).max()
    same_alpha_hima = np.mean(np.vstack(hima.alphas) == np.vstack(brainnet.alphas))
    print()
    print(f"{'contender':<10} {'seconds':>9} {'peak MiB':>9} {'median r':>9}")
    for c, seconds in ((brainnet, brainnet.seconds), (hima, hima.seconds)):
        r = np.median(pearson(c.predictions, targets))
        print(f"{c.name:<10} {seconds:>9.1f} {c.peak / 2**20:>9.0f} {r:>9.3f}")
    r_sub = np.median(pearson(reference.predictions, targets[:, :n_sub]))
    print(
        f"{'sklearn':<10} {sklearn_seconds:>9.1f} {reference.peak / 2**20:>9.0f} {r_sub:>9.3f}"
        f"   ({sklearn_note}; peak and r for {n_sub} targets)"
    )
    print()
    print(f"brainnet / himalaya = {brainnet.seconds / hima.seconds:.2f}  (target <= 1.0)")
    print(f"sklearn / brainnet  = {sklearn_seconds / brainnet.seconds:.1f}  (target >= 5)")
    print(
        f"agreement with sklearn on {n_sub} targets: alphas identical in {100 * same_alpha:.2f}% "
        f"of fold choices, max |prediction difference| {max_diff:.1e}"
    )
    print(
        f"himalaya (inner {args.himalaya_cv}-fold, not leave-one-out) picks brainnet's alpha in "
        f"{100 * same_alpha_hima:.1f}% of fold choices"
    )
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


# --- the permutation null at fixed penalties (issue 16) ----------------------------


def previous_null_block(hat, targets, perms, train, test, columns):
    """The fixed-penalty null as it was before issue 16, kept as the baseline: the
    same hat-map scatter, permuted responses gathered for small penalty groups,
    and the two-pass r of :func:`brainnet.encoding.pearson._fold_r`."""
    n_stimuli, n_perms = perms.shape
    scatter = len(test) * n_stimuli <= len(train) * len(columns)
    n_block, n_cols = _null_blocks(
        n_perms,
        8 * (len(test) * n_stimuli if scatter else 0),
        8 * (4 * len(test) + (0 if scatter else len(train))),
        len(columns),
    )
    r = np.zeros((n_perms, len(columns)))
    for start in range(1, n_perms, n_block):
        block = slice(start, min(start + n_block, n_perms))
        maps = previous_permuted_hats(hat, perms[train, block], n_stimuli) if scatter else None
        for first in range(0, len(columns), n_cols):
            sub = targets[:, columns[first : first + n_cols]]
            if scatter:
                predicted = (maps @ sub).reshape(len(test), -1, sub.shape[1])
            else:
                predicted = np.tensordot(hat, sub[perms[train, block]], axes=1)
            r[block, first : first + n_cols] = _fold_r(predicted, sub[perms[test, block]])
    return r


def previous_permuted_hats(hat, train_perms, n_stimuli):
    """The hat maps of a block of permutations before issue 16: a gather of
    ``hat``'s columns, ``(n_test * n_block, n_stimuli)``."""
    n_test, n_train = hat.shape
    n_block = train_perms.shape[1]
    position = np.full((n_block, n_stimuli), n_train)  # n_train: the zero column
    np.put_along_axis(position, train_perms.T, np.arange(n_train)[None], axis=1)
    padded = np.hstack([hat, np.zeros((n_test, 1))])
    return padded[:, position].reshape(n_test * n_block, n_stimuli)


def current_null_block(hat, targets, perms, train, test, columns):
    """The fixed-penalty null of :mod:`brainnet.encoding.null` (NumPy or torch)."""
    r = np.zeros((perms.shape[1], len(columns)))
    positions = np.arange(len(columns))
    for cols, blocks in _fixed_alpha_blocks(perms.shape, len(train), positions):
        index = columns[cols]
        if isinstance(targets, np.ndarray):
            responses = np.take(targets, index, axis=1)
        else:
            responses = targets[:, torch.as_tensor(index, device=targets.device)]
        for block in blocks:
            null = _permuted_r(hat, responses, perms[train, block], perms[test, block])
            r[block, cols] = null if isinstance(null, np.ndarray) else null.double().cpu().numpy()
    return r


def floor_products(hat, n_columns, block=8192):
    """The floor of the null: float64 products of the null's size, ``n_test x n_train``
    by ``n_train x n_columns`` (permutations x targets), ``block`` columns at a time."""
    rhs = np.ones((hat.shape[1], min(block, n_columns)))
    for _ in range(-(-n_columns // rhs.shape[1])):
        hat @ rhs


class Timer:
    """Wall and CPU time of one contender, summed over calls."""

    def __init__(self, name):
        self.name, self.wall, self.cpu, self.r = name, 0.0, 0.0, None

    def run(self, fit, *args, sync=None):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fit(*args)
        if sync is not None:
            sync()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return out


def null_main(args):
    """The fixed-penalty permutation null, before and after issue 16, and on every
    torch device present, interleaved fold by fold and penalty by penalty."""
    features, targets = make_problem(args.stimuli, args.features, args.targets, args.seed)
    alphas = np.logspace(-2, 8, args.alphas)
    perms = _permutations(args.stimuli, args.permutations, args.seed)
    folds = list(KFold(args.folds, shuffle=True, random_state=args.seed).split(features))
    centred = targets - targets.mean(axis=0)
    devices = [torch.device("cpu")] + [
        torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())
    ]
    print(
        f"null: {args.stimuli} stimuli, {args.features} features, {args.targets} targets, "
        f"{args.alphas} alphas, {args.folds} folds, {args.permutations} permutations; "
        f"numpy {np.__version__}, torch {torch.__version__}, devices "
        f"{', '.join(map(str, devices))}, BLAS/torch threads {args.threads}",
        flush=True,
    )
    torch.set_num_threads(max(args.threads, 1))
    timers = {"previous": Timer("previous (NumPy)"), "current": Timer("issue 16 (NumPy)")}
    timers |= {f"torch {d}": Timer(f"torch {d} float32") for d in devices}
    floor = Timer("float64 GEMM floor")
    rs = {key: np.zeros((args.permutations + 1, args.targets)) for key in timers}
    with threadpool_limits(args.threads or None):
        for k, (train, test) in enumerate(folds):
            fold = _RidgeFold(features[train], features[test], alphas, 0)
            predictions, chosen = fold.fit_predict(targets[train])
            observed = _fold_r(predictions, targets[test])
            for r in rs.values():
                r[0] += observed
            for index in np.unique(chosen):
                columns = np.flatnonzero(chosen == index)
                hat = fold.centred_hat(index)
                args_np = (perms, train, test, columns)
                rs["previous"][:, columns] += timers["previous"].run(
                    previous_null_block, hat, targets, *args_np
                )
                rs["current"][:, columns] += timers["current"].run(
                    current_null_block, hat, centred, *args_np
                )
                for device in devices:
                    key = f"torch {device}"
                    sync = torch.cuda.synchronize if device.type == "cuda" else None
                    hat_t = torch.as_tensor(hat, device=device).float()
                    y_t = torch.as_tensor(centred, device=device).float()
                    rs[key][:, columns] += timers[key].run(
                        current_null_block, hat_t, y_t, *args_np, sync=sync
                    )
                floor.run(floor_products, hat, len(columns) * args.permutations)
            print(
                f"fold {k + 1}/{args.folds}: "
                + ", ".join(f"{t.name} {t.wall:.1f} s" for t in timers.values())
                + f", floor {floor.wall:.1f} s",
                flush=True,
            )
    report_null(timers, floor, {key: r / len(folds) for key, r in rs.items()})


def report_null(timers, floor, rs):
    """Times, ratios, and agreement with the previous path."""
    reference = timers["previous"]
    print()
    print(f"{'contender':<28} {'wall s':>8} {'CPU s':>8} {'previous / this: wall':>22} {'CPU':>6}")
    for timer in timers.values():
        wall, cpu = reference.wall / timer.wall, reference.cpu / timer.cpu
        print(f"{timer.name:<28} {timer.wall:>8.1f} {timer.cpu:>8.1f} {wall:>22.2f} {cpu:>6.2f}")
    print(f"{floor.name:<28} {floor.wall:>8.1f} {floor.cpu:>8.1f}")
    current = timers["current"]
    print(
        f"issue 16 (NumPy) / floor = {current.wall / floor.wall:.2f} wall, "
        f"{current.cpu / floor.cpu:.2f} CPU (target <= 1.5)"
    )
    p_previous = _p_values(rs["previous"])
    for key, timer in timers.items():
        if key != "previous":
            diff = np.abs(rs[key] - rs["previous"]).max()
            same = np.mean(_p_values(rs[key]) == p_previous)
            print(
                f"{timer.name} vs previous: max |r difference| {diff:.1e}, "
                f"p-values identical for {100 * same:.2f}% of targets"
            )
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


if __name__ == "__main__":
    main()
