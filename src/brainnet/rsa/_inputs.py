"""The xarray inputs of the RSA stages: layer RDMs, responses, precomputed brain RDMs."""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.join import stimulus_ids, stimulus_order
from brainnet.log import logger
from brainnet.responses import RESPONSE_DIMS
from brainnet.rsa.rdm import _pdist

_RDM_DIMS = ("channel", "stimulus", "stimulus_other")


def _layer_rdm(activations: xr.Dataset, name: str, metric: str, scaling: str) -> np.ndarray:
    var = activations[name]
    if var.ndim != 2 or var.dims[0] != "stimulus":
        raise ValueError(
            f"activations: layer {name!r} must have dims "
            f"(stimulus, feature_{name}), got {var.dims}"
        )
    return _pdist(var.values, metric, f"activations layer {name!r}", scaling)


def _model_rdms(
    activations: xr.Dataset, layers: list[str], metric: str, scaling: str
) -> np.ndarray:
    """Condensed RDMs of every layer, ``(layer, n_pairs)``."""
    models = np.stack([_layer_rdm(activations, name, metric, scaling) for name in layers])
    constant = [name for name, m in zip(layers, models, strict=True) if np.ptp(m) == 0]
    if constant:
        logger.warning(
            "rsa: layers %s have constant RDMs (identical activations for every "
            "stimulus); their similarities are NaN",
            constant,
        )
    return models


def _align_brain_rdms(activations: xr.Dataset, brain_rdms: xr.Dataset) -> xr.DataArray:
    if "rdm" not in brain_rdms:
        raise ValueError(f"brain_rdms lack the variable 'rdm'; found {list(brain_rdms)}")
    rdm = brain_rdms["rdm"]
    if set(rdm.dims) != set(_RDM_DIMS):
        raise ValueError(f"brain_rdms 'rdm' must have dims {_RDM_DIMS}, got {rdm.dims}")
    for name in ("subject", "region"):
        if name not in rdm.coords:
            raise ValueError(f"brain_rdms lack the channel coordinate {name!r}")
    ids = stimulus_ids(brain_rdms, "brain_rdms")
    if "stimulus_other_id" in brain_rdms.coords:
        other = stimulus_ids(brain_rdms, "brain_rdms", "stimulus_other", "stimulus_other_id")
        if not np.array_equal(ids, other):
            raise ValueError(
                "brain_rdms: 'stimulus_other_id' does not repeat 'stimulus_id' "
                "in the same order; the two RDM axes disagree"
            )
    order = stimulus_order(activations, ids, "brain_rdms", "a brain RDM")
    return rdm.transpose(*_RDM_DIMS).isel(stimulus=order, stimulus_other=order)


def _channel_labels(da: xr.DataArray) -> np.ndarray:
    if "channel" in da.coords:
        return da["channel"].values
    return np.arange(da.sizes["channel"])


def _check_finite(values: np.ndarray, response: xr.DataArray) -> None:
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        c, b, w = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"responses hold NaN or infinite values for {int(bad.sum())} targets, e.g. channel "
            f"{_channel_labels(response)[c]!s}, band {response['band'].values[b]!s}, window "
            f"{response['window'].values[w]!s}"
        )


def _tested_mask(responses, response, responsive_only: bool) -> np.ndarray:
    shape = response.shape[1:]
    if not responsive_only:
        return np.ones(shape, dtype=bool)
    if "responsive" not in responses:
        logger.info("rsa: responses have no 'responsive' flags; every channel is tested")
        return np.ones(shape, dtype=bool)
    flags = responses["responsive"]
    return (
        np.broadcast_to(
            flags.transpose(*[d for d in RESPONSE_DIMS[1:] if d in flags.dims]).values.reshape(
                _flag_shape(flags)
            ),
            shape,
        )
        .astype(bool)
        .copy()
    )


def _flag_shape(flags: xr.DataArray) -> tuple:
    return tuple(flags.sizes[d] if d in flags.dims else 1 for d in RESPONSE_DIMS[1:])


def _region_table(da) -> tuple[np.ndarray, np.ndarray]:
    """Regions ordered posterior to anterior, with their (single) region_rank."""
    region = da["region"].values.astype(str)
    rank = (
        da["region_rank"].values.astype(int)
        if "region_rank" in da.coords
        else np.zeros(len(region), dtype=int)
    )
    names = np.unique(region)
    ranks = []
    for name in names:
        found = np.unique(rank[region == name])
        if found.size != 1:
            raise ValueError(
                f"region {name!r} has channels with different region_rank {found.tolist()}"
            )
        ranks.append(int(found[0]))
    order = np.lexsort((names, ranks))
    return names[order], np.array(ranks)[order]


def _target_coords(da: xr.DataArray, dims: tuple[str, ...]) -> dict:
    """Coordinates of ``da`` that live on ``dims`` only (not the responsive flags)."""
    return {
        name: (c.dims, c.values)
        for name, c in da.coords.items()
        if c.dims and set(c.dims) <= set(dims) and name != "responsive"
    }


def _broadband(rdm: xr.DataArray) -> xr.DataArray:
    """A (stimulus, channel, band, window) template for precomputed RDMs."""
    coords = _target_coords(rdm, ("channel",))
    coords.update(
        band=("band", ["broadband"]),
        fmin=("band", [np.nan]),
        fmax=("band", [np.nan]),
        window=("window", ["all"]),
        tmin=("window", [np.nan]),
        tmax=("window", [np.nan]),
    )
    shape = (rdm.sizes["stimulus"], rdm.sizes["channel"], 1, 1)
    return xr.DataArray(np.zeros(shape), dims=RESPONSE_DIMS, coords=coords)


def _provenance(activations: xr.Dataset) -> dict:
    """The attributes that name the model behind the activations."""
    return {
        key: activations.attrs[key]
        for key in ("model", "arch", "weights", "reduction")
        if key in activations.attrs
    }
