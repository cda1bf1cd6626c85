"""Variance partitioning: the unique and shared variance of two feature sets, by banded ridge.

Two feature sets ``A`` and ``B`` (two layers of one network, or the same layer
of two networks, e.g. a trained network and its random-weights control)
predict each channel, band and window three times: ``A`` alone, ``B`` alone
and both together, with the same outer folds as :func:`fit_encoding` (the
same ``n_folds``, ``groups`` and ``seed``). Each set is scaled inside the
training fold as the encoding scales a layer (centred, unit total variance;
:mod:`brainnet.encoding.scaling`) and enters as a linear kernel. The single
sets are fitted by :class:`himalaya.kernel_ridge.KernelRidgeCV`, the joint
model by :class:`himalaya.kernel_ridge.MultipleKernelRidgeCV`: banded ridge,
one penalty per set, chosen per target by an inner cross-validation over a
fixed grid of kernel weights times the penalty grid (no random search, so the
result depends on the seed only through the folds).

With held-out ``R²`` of the pooled out-of-fold predictions,

``unique_a = R²(A+B) - R²(B)``, ``unique_b = R²(A+B) - R²(A)``,
``shared = R²(A) + R²(B) - R²(A+B)``

(de Heer et al. 2017; Lescroart et al. 2015). Their intervals resample the
stimuli with replacement (the out-of-fold predictions are kept, only the
stimuli entering ``R²`` are drawn), the same draws for every target and
quantity, seeded by ``seed``.

References
----------
de Heer WA, Huth AG, Griffiths TL, Gallant JL, Theunissen FE (2017) The
hierarchical cortical organization of human speech processing. J Neurosci
37:6539-6557.
Dupré la Tour T, Eickenberg M, Nunez-Elizalde AO, Gallant JL (2022)
Feature-space selection with banded ridge regression. NeuroImage 264:119728.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from himalaya.kernel_ridge import KernelRidgeCV, MultipleKernelRidgeCV
from sklearn.model_selection import KFold

from brainnet.encoding.alphas import DEFAULT_ALPHAS
from brainnet.encoding.inputs import _flat_targets, _folds, _layer_features
from brainnet.encoding.scaling import _scale_features
from brainnet.join import align_responses, stimulus_ids, stimulus_order
from brainnet.log import logger, set_log_level

#: Weights of set A in the joint model's kernel grid (B gets one minus it).
_WEIGHTS = np.linspace(0.0, 1.0, 11)
#: The quantities of a partition, each with ``_low`` and ``_high``.
PARTITION_NAMES = ("r2_a", "r2_b", "r2_joint", "unique_a", "unique_b", "shared")


def partition_variance(
    activations_a: xr.Dataset,
    layer_a: str,
    activations_b: xr.Dataset,
    layer_b: str,
    responses: xr.Dataset,
    *,
    n_folds: int = 5,
    groups: str | None = None,
    alphas: Sequence[float] | None = None,
    n_bootstrap: int = 200,
    ci: float = 0.95,
    seed: int = 0,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Unique and shared held-out variance of two feature sets, per channel, band and window.

    Parameters
    ----------
    activations_a, activations_b : xarray.Dataset
        Activations (as for :func:`fit_encoding`) holding ``layer_a`` and
        ``layer_b``; the same Dataset for two layers of one network. B is
        joined to A on ``stimulus_id``.
    layer_a, layer_b : str
        The two feature sets.
    responses : xarray.Dataset
        ``response (stimulus, channel, band, window)`` with ``stimulus_id``;
        joined to the activations on it.
    n_folds, groups, seed
        The outer folds, as for :func:`fit_encoding` (the same values give
        the same folds). ``seed`` also seeds the inner folds and the bootstrap.
    alphas : sequence of float | None
        Penalty grid (:data:`~brainnet.encoding.DEFAULT_ALPHAS` by default).
    n_bootstrap : int
        Stimulus resamples for the intervals (0: none, the bounds are NaN).
    ci : float
        Coverage of the percentile intervals.
    verbose : bool | str | int | None
        Logging level (see :func:`brainnet.set_log_level`).

    Returns
    -------
    partition : xarray.Dataset
        Over ``(channel, band, window)`` with the responses' coordinates:
        ``r2_a``, ``r2_b``, ``r2_joint`` (held-out R² of A, B and both),
        ``unique_a``, ``unique_b``, ``shared``, each with ``_low`` and
        ``_high``. Attributes: ``feature_a`` and ``feature_b`` (``model/layer``)
        and the settings.

    Raises
    ------
    ValueError
        A missing layer, stimuli that differ between the two sets or the
        responses (naming the ids), NaN features, or bad settings.
    """
    set_log_level(verbose)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    names = [
        f"{ds.attrs.get('model', '?')}/{layer}"
        for ds, layer in ((activations_a, layer_a), (activations_b, layer_b))
    ]
    for ds, layer, name in zip(
        (activations_a, activations_b), (layer_a, layer_b), names, strict=True
    ):
        if layer not in ds.data_vars:
            raise ValueError(f"partition: {name}: no layer {layer!r}; found {list(ds.data_vars)}")
    order = stimulus_order(
        activations_a, stimulus_ids(activations_b, names[1]), names[1], "a stimulus"
    )
    sets = [
        _layer_features(activations_a, layer_a),
        _layer_features(activations_b.isel(stimulus=order), layer_b),
    ]
    aligned = align_responses(activations_a, responses)
    template, targets = _flat_targets(aligned)
    splits = _folds(activations_a, aligned, targets.shape[0], n_folds, groups, seed)
    grid = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64)
    logger.info(
        "partition %s against %s: %d stimuli, %d targets, %d folds",
        *names,
        *targets.shape,
        n_folds,
    )
    predicted = _out_of_fold(sets, targets, splits, grid, seed)
    bounds = _bootstrap(predicted, targets, n_bootstrap, ci, np.random.default_rng([seed, 2]))
    data = {}
    for k, (name, value) in enumerate(
        zip(PARTITION_NAMES, _partition(predicted, targets), strict=True)
    ):
        data[name] = value
        data[f"{name}_low"], data[f"{name}_high"] = bounds[:, k]
    ds = xr.Dataset(
        {name: (template.dims, v.reshape(template.shape)) for name, v in data.items()},
        coords=template.coords,
    )
    ds.attrs = {
        "feature_a": names[0],
        "feature_b": names[1],
        "n_folds": n_folds,
        "groups": groups,
        "alphas": grid.tolist(),
        "n_bootstrap": n_bootstrap,
        "ci": ci,
        "seed": seed,
    }
    return ds


def _out_of_fold(sets, targets, splits, alphas, seed) -> np.ndarray:
    """Out-of-fold predictions ``(3, n_stimuli, n_targets)`` of A, B and A+B."""
    predicted = np.empty((3, *targets.shape))
    gammas = np.column_stack([_WEIGHTS, 1 - _WEIGHTS])
    for f, (train, test) in enumerate(splits):
        inner = KFold(5, shuffle=True, random_state=seed + f)
        mean, sd = targets[train].mean(axis=0), targets[train].std(axis=0)
        sd[sd == 0] = 1.0
        y = (targets[train] - mean) / sd
        kernels, tests = [], []
        for features in sets:
            x_train, x_test = _scale_features(features[train], features[test])
            kernels.append(x_train @ x_train.T)
            tests.append(x_test @ x_train.T)
        for k in range(2):
            single = KernelRidgeCV(alphas=alphas, kernel="precomputed", cv=inner, warn=False)
            predicted[k, test] = single.fit(kernels[k], y).predict(tests[k]) * sd + mean
        joint = MultipleKernelRidgeCV(
            kernels="precomputed",
            solver="random_search",
            solver_params={"n_iter": gammas, "alphas": alphas, "progress_bar": False},
            cv=inner,
        )
        with np.errstate(divide="ignore"):  # a kernel weight of 0 has log weight -inf
            joint.fit(np.stack(kernels), y)
        predicted[2, test] = joint.predict(np.stack(tests)) * sd + mean
    return predicted


def _r2(predicted: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None):
    """Held-out R² per model and target; ``weights`` (stimulus counts) resample stimuli."""
    w = np.ones(len(targets)) if weights is None else weights
    mean = (w @ targets) / w.sum()
    total = w @ (targets - mean) ** 2
    error = np.einsum("s,msi->mi", w, (predicted - targets) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - error / total


def _partition(predicted, targets, weights=None) -> np.ndarray:
    """``(6, n_targets)``: R² of A, B, A+B, unique A, unique B, shared."""
    a, b, ab = _r2(predicted, targets, weights)
    return np.stack([a, b, ab, ab - b, ab - a, a + b - ab])


def _bootstrap(predicted, targets, n_bootstrap, ci, rng) -> np.ndarray:
    """Percentile bounds ``(2, 6, n_targets)`` over stimulus resamples (NaN without)."""
    if not n_bootstrap:
        return np.full((2, len(PARTITION_NAMES), targets.shape[1]), np.nan)
    n = len(targets)
    draws = np.stack(
        [
            _partition(predicted, targets, np.bincount(rng.integers(0, n, n), minlength=n))
            for _ in range(n_bootstrap)
        ]
    )
    tail = 100 * (1 - ci) / 2
    return np.percentile(draws, [tail, 100 - tail], axis=0)


def partition_pairs(
    activations: Mapping[str, xr.Dataset],
    pairs: Sequence[Sequence[str]],
    responses: xr.Dataset,
    **settings,
) -> xr.Dataset:
    """:func:`partition_variance` of every pair of feature sets, along a ``pair`` dimension.

    Parameters
    ----------
    activations : mapping of str to xarray.Dataset
        Each model's activations, by model name.
    pairs : sequence of (str, str)
        ``["model_a/layer_a", "model_b/layer_b"]`` pairs (config ``partition.pairs``).
    responses : xarray.Dataset
        As for :func:`partition_variance`.
    **settings
        Passed to :func:`partition_variance`.

    Returns
    -------
    partition : xarray.Dataset
        :func:`partition_variance`'s variables over ``(pair, channel, band,
        window)``; ``pair`` coordinates ``feature_a`` and ``feature_b``.
    """
    parts = []
    for pair in pairs:
        (model_a, layer_a), (model_b, layer_b) = (_feature_set(name, activations) for name in pair)
        part = partition_variance(
            activations[model_a], layer_a, activations[model_b], layer_b, responses, **settings
        )
        part.attrs.pop("feature_a")
        part.attrs.pop("feature_b")
        parts.append(part)
    out = xr.concat(parts, dim="pair")
    return out.assign_coords(
        pair=[f"{a} vs {b}" for a, b in pairs],
        feature_a=("pair", [a for a, _ in pairs]),
        feature_b=("pair", [b for _, b in pairs]),
    )


def _feature_set(name: str, activations: Mapping[str, xr.Dataset]) -> tuple[str, str]:
    """``(model, layer)`` of ``"model/layer"``, checked against the activations."""
    model, sep, layer = str(name).partition("/")
    if not sep or not layer or model not in activations:
        raise ValueError(
            f"partition.pairs: {name!r} must be 'model/layer' with a model among "
            f"{sorted(activations)}"
        )
    return model, layer
