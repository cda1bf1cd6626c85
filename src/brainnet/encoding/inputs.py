"""From the xarray inputs to checked arrays: settings, targets, layer features, folds.

Every check names the layer, target or ids at fault, and runs before any fit.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats
from sklearn.model_selection import GroupKFold, KFold

from brainnet.encoding.alphas import _check_alphas
from brainnet.join import format_ids
from brainnet.responses import RESPONSE_DIMS

_ESTIMATORS = ("ridge", "pls")
_TARGETS_SHOWN = 5


def _check_settings(
    estimator, n_folds, groups, alphas, n_permutations, fdr_alpha, pls_components
) -> np.ndarray:
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    for name, value, low in (
        ("n_folds", n_folds, 2),
        ("n_permutations", n_permutations, 0),
        ("pls_components", pls_components, 1),
    ):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if groups is not None and not isinstance(groups, str):
        raise ValueError(f"groups must be None or a stimulus coordinate name, got {groups!r}")
    if not 0 < fdr_alpha < 1:
        raise ValueError(f"fdr_alpha must be in (0, 1), got {fdr_alpha!r}")
    return _check_alphas(alphas)


def _flat_targets(aligned: xr.Dataset) -> tuple[xr.DataArray, np.ndarray]:
    """The (channel, band, window) template and the checked, z-scored targets
    ``(n_stimuli, n_targets)`` in the template's flattened order."""
    response = aligned["response"].transpose(*RESPONSE_DIMS)
    template = response.isel(stimulus=0, drop=True)
    targets = response.values.reshape(response.sizes["stimulus"], -1).astype(np.float64)
    _check_targets(targets, template, "response")
    # Ridge and PLS predictions are affine-equivariant per target and r is
    # invariant, so z-scoring changes no result but keeps the one-pass sums of
    # _pearson_from_sums well conditioned for responses far from zero.
    return template, stats.zscore(targets, axis=0)


def _layer_features(activations: xr.Dataset, name: str) -> np.ndarray:
    var = activations[name]
    if var.ndim != 2 or var.dims[0] != "stimulus":
        raise ValueError(
            f"layer {name!r} must have dims (stimulus, feature_{name}), got {var.dims}"
        )
    features = np.asarray(var.values, dtype=np.float64)
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        ids = activations["stimulus_id"].values[bad]
        raise ValueError(
            f"layer {name!r} has NaN or infinite features for {bad.sum()} stimuli "
            f"{format_ids(ids)}"
        )
    if np.ptp(features, axis=0).max(initial=0.0) == 0:
        raise ValueError(f"layer {name!r} is constant over stimuli: it cannot predict anything")
    return features


def _check_targets(
    values: np.ndarray, template: xr.DataArray, what: str, allow_constant: bool = False
) -> None:
    """Refuse NaN, infinite or constant targets, naming them."""
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        raise ValueError(
            f"{what} has NaN or infinite values for {bad.sum()} targets: "
            f"{_target_names(template, bad)}"
        )
    constant = np.ptp(values, axis=0) == 0
    if constant.any() and not allow_constant:
        raise ValueError(
            f"{what} is constant over stimuli for {constant.sum()} targets: "
            f"{_target_names(template, constant)}"
        )


def _target_names(template: xr.DataArray, mask: np.ndarray) -> str:
    index = np.flatnonzero(mask)[:_TARGETS_SHOWN]
    names = []
    for flat in index:
        where = dict(zip(template.dims, np.unravel_index(flat, template.shape), strict=True))
        names.append(", ".join(f"{dim}={template[dim].values[i]!s}" for dim, i in where.items()))
    more = " ..." if mask.sum() > _TARGETS_SHOWN else ""
    return "; ".join(f"({n})" for n in names) + more


def _folds(
    activations: xr.Dataset,
    responses: xr.Dataset,
    n_stimuli: int,
    n_folds: int,
    groups: str | None,
    seed: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    if n_stimuli < n_folds:
        raise ValueError(f"{n_stimuli} stimuli are fewer than n_folds={n_folds}")
    index = np.arange(n_stimuli)
    if groups is None:
        return list(KFold(n_folds, shuffle=True, random_state=seed).split(index))
    source = activations if groups in activations.coords else responses
    if groups not in source.coords or source[groups].dims != ("stimulus",):
        raise ValueError(
            f"groups={groups!r} is not a stimulus coordinate of the activations or the responses"
        )
    labels = source[groups].values
    n_groups = np.unique(labels).size
    if n_groups < n_folds:
        raise ValueError(
            f"groups={groups!r} has {n_groups} distinct values, fewer than n_folds={n_folds}"
        )
    splitter = GroupKFold(n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(index, groups=labels))
