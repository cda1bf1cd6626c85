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
from himalaya.backend import set_backend
from himalaya.kernel_ridge import KernelRidgeCV
from himalaya.ridge import RidgeCV as HimalayaRidgeCV
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from brainnet.encoding import fit_predict_ridge


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
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    main()
