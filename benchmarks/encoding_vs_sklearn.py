"""Side-by-side check: brainnet's encoding against plain scikit-learn on real V4 data.

On one session of the Cowley et al. (2023) macaque V4 recordings (shared
data, ``cowley_v4/``), untrained AlexNet features of every layer predict the
units' repeat-averaged spike counts. For each layer the median held-out r
over units is printed from:

1. brainnet: :func:`brainnet.encoding.fit_encoding` (no permutations);
2. scikit-learn, the same treatment: per outer fold, ``RidgeCV(alphas * s**2,
   alpha_per_target=True)`` on the raw features, ``s**2`` the total feature
   variance of the training fold. Ridge on features divided by ``s`` with
   penalty ``alpha`` is ridge on the raw features with ``alpha * s**2``, and
   ``RidgeCV`` centres the features itself, so this is brainnet's feature
   treatment in plain scikit-learn;
3. scikit-learn with ``StandardScaler`` per training fold, brainnet's old
   treatment, for reference (it collapses on sparse pooled features).

Same alphas (:data:`brainnet.encoding.DEFAULT_ALPHAS`), same folds
(``KFold(n_folds, shuffle=True, random_state=seed)``), same score (Pearson r
per fold on the held-out stimuli, averaged over folds). Activations are
extracted once per reduction into ``--cache`` and reused.

Usage::

    BRAINNET_SHARED_DATA=/work/shared/data python benchmarks/encoding_vs_sklearn.py
    python benchmarks/encoding_vs_sklearn.py --reductions pool4 --layers conv3 conv5

Exit status 1 when a layer differs from scikit-learn's same treatment by more
than ``--tolerance`` (0.02).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from brainnet.activations import extract_activations
from brainnet.datasets import array_responses
from brainnet.encoding import DEFAULT_ALPHAS, fit_encoding
from brainnet.io import read_dataset, write_netcdf
from brainnet.models import ModelSpec
from brainnet.stimuli import build_stimuli

REDUCTIONS = {
    "srp": {"method": "srp", "n_components": 2048},
    "pool4": {"method": "pool", "grid": 4},
}


def cowley_inputs(
    data: Path, cache: Path, session: str, reduction: str
) -> tuple[xr.Dataset, xr.Dataset]:
    """Untrained AlexNet activations (extracted once into ``cache``) and the
    repeat-averaged responses of one Cowley V4 session."""
    cache.mkdir(parents=True, exist_ok=True)
    stimuli_path = cache / f"stimuli_{session}.nc"
    if not stimuli_path.exists():
        archive = data / "cowley_v4" / "images" / f"images_{session}.zip"
        write_netcdf(build_stimuli("zip", cache / f"images_{session}", path=archive), stimuli_path)
    stimuli = read_dataset(stimuli_path)
    path = cache / f"alexnet_{reduction}_{session}.nc"
    if not path.exists():
        spec = ModelSpec.from_config("alexnet", {"arch": "alexnet", "weights": None}, seed=0)
        extract_activations(
            stimuli, spec, path, batch_size=32, reduction=REDUCTIONS[reduction], seed=0
        )
    recordings = {"format": "cowley", "path": str(data / "cowley_v4"), "session": session}
    return read_dataset(path), array_responses(stimuli, recordings)


def sklearn_r(features, responses, n_folds, seed, standardise):
    """Held-out r per unit of plain ``RidgeCV``, per fold averaged over folds."""
    r = np.zeros(responses.shape[1])
    alphas = np.asarray(DEFAULT_ALPHAS)
    for train, test in KFold(n_folds, shuffle=True, random_state=seed).split(features):
        x_train, x_test = features[train], features[test]
        if standardise:
            scaler = StandardScaler().fit(x_train)
            x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
            grid = alphas
        else:
            grid = alphas * x_train.var(axis=0).sum()
        model = RidgeCV(alphas=grid, alpha_per_target=True).fit(x_train, responses[train])
        predicted, observed = model.predict(x_test), responses[test]
        for unit in range(responses.shape[1]):
            r[unit] += np.corrcoef(predicted[:, unit], observed[:, unit])[0, 1] / n_folds
    return r


def compare(activations, responses, layers, n_folds, seed):
    """Median held-out r per layer: brainnet, scikit-learn same treatment, standardised."""
    subset = activations[layers].assign_attrs(layers=layers)
    scores = fit_encoding(subset, responses, n_folds=n_folds, n_permutations=0, seed=seed)
    order = {sid: i for i, sid in enumerate(responses["stimulus_id"].values)}
    index = [order[sid] for sid in activations["stimulus_id"].values]
    units = responses["response"].transpose("stimulus", ...).values.reshape(len(order), -1)[index]
    rows = []
    for layer in layers:
        features = activations[layer].values.astype(np.float64)
        ours = np.median(scores["r"].sel(layer=layer).values)
        same = np.median(sklearn_r(features, units, n_folds, seed, standardise=False))
        standardised = np.median(sklearn_r(features, units, n_folds, seed, standardise=True))
        rows.append((layer, features.shape[1], ours, same, standardised))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = os.environ.get("BRAINNET_SHARED_DATA", "../shared/data")
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--cache", type=Path, default=Path("results/benchmarks/cowley_v4"))
    parser.add_argument("--session", default="190923")
    parser.add_argument("--reductions", nargs="+", default=list(REDUCTIONS), choices=REDUCTIONS)
    parser.add_argument("--layers", nargs="+", default=None, help="default: all")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.02)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    worst = 0.0
    for reduction in args.reductions:
        activations, responses = cowley_inputs(args.data, args.cache, args.session, reduction)
        layers = args.layers or list(activations.attrs["layers"])
        print(f"\nCowley V4 session {args.session}, untrained AlexNet, reduction {reduction}")
        print(
            f"{'layer':8} {'features':>8} {'brainnet':>9} {'sklearn':>9} {'|diff|':>7} "
            f"{'standardised':>13}"
        )
        for layer, n_features, ours, same, standardised in compare(
            activations, responses, layers, args.folds, args.seed
        ):
            worst = max(worst, abs(ours - same))
            print(
                f"{layer:8} {n_features:8d} {ours:9.3f} {same:9.3f} {abs(ours - same):7.4f} "
                f"{standardised:13.3f}",
                flush=True,
            )
    print(f"\nlargest |brainnet - sklearn| = {worst:.4f} (tolerance {args.tolerance})")
    return int(worst > args.tolerance)


if __name__ == "__main__":
    sys.exit(main())
