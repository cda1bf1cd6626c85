"""The planted-region model: which layer each region follows, and each contact's drive.

Every visual region responds to the stimuli as one layer of the reference
network does; control regions (rank 0) do not respond. A contact's drive is a
fixed random projection of its region's layer activations (see
:mod:`brainnet.recordings.synthetic`).

A region names its generating layer (``layer``), or places it by relative
``depth`` along the reference model's ordered layers (0 = the first, pixels;
1 = the last), so that the default regions suit any reference network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import softplus

from brainnet.log import logger

__all__ = ["DEFAULT_REGIONS", "check_regions"]

#: Regions of the default dataset: rank along the ventral stream (0 = control,
#: no response), relative depth of the generating layer in the reference
#: network's layers, response latency in seconds and centre in MNI millimetres
#: (right hemisphere). The depths give conv1, conv2, conv3, conv5 and fc7 of
#: AlexNet (pixels, conv1-5, fc6-8), and stem, stage2, stage3, stage5 and head
#: of EfficientNet-Lite0 (pixels, stem, stage1-7, head, fc).
DEFAULT_REGIONS: dict[str, dict] = {
    "V1": {"rank": 1, "depth": 1 / 8, "latency": 0.05, "center": [10.0, -92.0, 2.0]},
    "V2": {"rank": 2, "depth": 2 / 8, "latency": 0.08, "center": [14.0, -90.0, 14.0]},
    "V3-V4": {"rank": 3, "depth": 3 / 8, "latency": 0.11, "center": [30.0, -82.0, -8.0]},
    "fusiform-IT": {"rank": 4, "depth": 5 / 8, "latency": 0.14, "center": [38.0, -55.0, -18.0]},
    "anterior-temporal": {
        "rank": 5,
        "depth": 7 / 8,
        "latency": 0.17,
        "center": [35.0, -10.0, -35.0],
    },
    "frontal": {"rank": 0, "latency": None, "center": [38.0, 30.0, 30.0]},
    "motor": {"rank": 0, "latency": None, "center": [38.0, -18.0, 55.0]},
}


@dataclass(frozen=True)
class _Region:
    name: str
    rank: int
    layer: str | None
    latency: float | None
    center: tuple[float, float, float]


def check_regions(regions, layers, model: str | None = None) -> list[_Region]:
    """Validate planted regions against the layers of the reference model.

    Parameters
    ----------
    regions : mapping | sequence of mapping
        ``{name: {rank, layer or depth, latency, center}}`` or a list of such dicts with
        a ``name`` key (see :func:`~brainnet.recordings.synthetic.simulate_dataset`).
    layers : sequence of str
        The reference model's layers, in network order.
    model : str | None
        The reference model's name, for messages.

    Returns
    -------
    regions : list of _Region
        The regions in the given order.

    Raises
    ------
    ValueError
        Naming the region and key at fault: an unknown key, a missing rank or
        centre, a visual region without a latency or without exactly one of
        layer and depth, a generating layer the model does not have, duplicate
        names, or no visual or no control region.
    """
    if isinstance(regions, Mapping):
        items = [(name, spec) for name, spec in regions.items()]
    else:
        items = []
        for spec in regions:
            if "name" not in spec:
                raise ValueError(f"region {dict(spec)} lacks a 'name'")
            items.append((spec["name"], {k: v for k, v in spec.items() if k != "name"}))
    available = [str(layer) for layer in layers]
    out = []
    for name, spec in items:
        unknown = set(spec) - {"rank", "layer", "depth", "latency", "center"}
        if unknown:
            raise ValueError(f"region {name!r} has unknown keys {sorted(unknown)}")
        if "rank" not in spec or "center" not in spec:
            raise ValueError(f"region {name!r} needs 'rank' and 'center'")
        rank = int(spec["rank"])
        center = tuple(float(c) for c in spec["center"])
        if len(center) != 3:
            raise ValueError(f"region {name!r}: center must be [x, y, z] in mm, got {center}")
        if rank < 0:
            raise ValueError(f"region {name!r}: rank must be >= 0, got {rank}")
        layer, latency = None, None
        if rank > 0:
            layer = _generating_layer(name, spec, available, model)
            latency = spec.get("latency")
            if latency is None:
                raise ValueError(f"visual region {name!r} (rank {rank}) needs a latency")
            if not latency >= 0:
                raise ValueError(f"region {name!r}: latency must be >= 0 s, got {latency}")
            latency = float(latency)
        out.append(_Region(str(name), rank, layer, latency, center))
    if len({r.name for r in out}) != len(out):
        raise ValueError(f"region names must be unique, got {[r.name for r in out]}")
    if not any(r.rank > 0 for r in out):
        raise ValueError("at least one region needs rank > 0 (a responding visual region)")
    if not any(r.rank == 0 for r in out):
        raise ValueError("at least one control region (rank 0) is needed")
    shared = pd.Series([r.layer for r in out if r.rank > 0]).value_counts()
    if (shared > 1).any():
        logger.warning(
            "several visual regions follow the same layer of %r (%s): their planted layers "
            "cannot be told apart",
            model,
            ", ".join(shared.index[shared > 1]),
        )
    return out


def _generating_layer(name, spec: Mapping, available: list[str], model) -> str:
    """A visual region's layer: named, or at ``depth`` along the model's ordered layers."""
    layer, depth = spec.get("layer"), spec.get("depth")
    if (layer is None) == (depth is None):
        raise ValueError(
            f"visual region {name!r} needs either a layer or a depth (0 = first layer, "
            f"1 = last), got layer={layer!r}, depth={depth!r}"
        )
    if depth is not None:
        if not 0 <= depth <= 1:
            raise ValueError(f"region {name!r}: depth must lie in [0, 1], got {depth!r}")
        # Round half up, so that a depth of k / (n - 1) is exactly layer k.
        return available[int(np.floor(depth * (len(available) - 1) + 0.5))]
    if layer not in available:
        raise ValueError(
            f"region {name!r}: generating layer {layer!r} is not among the activations "
            f"of model {model!r}; available layers: {available}"
        )
    return str(layer)


def _layers(activations: xr.Dataset) -> list[str]:
    if "layers" not in activations.attrs:
        raise ValueError("activations lack the 'layers' attribute (ordered list of layers)")
    layers = activations.attrs["layers"]
    layers = [layers] if isinstance(layers, str) else [str(layer) for layer in layers]
    missing = [layer for layer in layers if layer not in activations.data_vars]
    if missing:
        raise ValueError(f"activations list layers {missing} that have no variable")
    return layers


def _standardised_features(stimuli, activations, regions) -> dict[str, np.ndarray]:
    """Each generating layer's activations, z-scored per feature, in the table's order."""
    for ds, what in [(stimuli, "stimulus table"), (activations, "activations")]:
        if "stimulus_id" not in ds.coords or ds["stimulus_id"].dims != ("stimulus",):
            raise ValueError(f"the {what} lacks the coordinate stimulus_id on dim 'stimulus'")
    table_ids = pd.Index([str(s) for s in stimuli["stimulus_id"].values])
    act_ids = pd.Index([str(s) for s in activations["stimulus_id"].values])
    for ids, what in [(table_ids, "stimulus table"), (act_ids, "activations")]:
        if ids.has_duplicates:
            raise ValueError(
                f"duplicate stimulus_id in the {what}: {_preview(ids[ids.duplicated()].unique())}"
            )
    only_table, only_act = table_ids.difference(act_ids), act_ids.difference(table_ids)
    if len(only_table) or len(only_act):
        raise ValueError(
            "stimulus_id of the stimulus table and the activations do not match: "
            f"{len(only_table)} only in the table {_preview(only_table)}, "
            f"{len(only_act)} only in the activations {_preview(only_act)}"
        )
    order = act_ids.get_indexer(table_ids)
    out = {}
    for layer in {r.layer for r in regions if r.rank > 0}:
        var = activations[layer]
        if var.ndim != 2 or "stimulus" not in var.dims:
            raise ValueError(
                f"activations[{layer!r}] must have dims (stimulus, feature_{layer}), "
                f"got {var.dims}"
            )
        values = var.transpose("stimulus", ...).values[order].astype(np.float64)
        std = values.std(axis=0)
        # Constant features (dead units) carry no stimulus information.
        out[layer] = np.where(
            std > 0, (values - values.mean(axis=0)) / np.where(std > 0, std, 1), 0.0
        )
    return out


def _preview(ids, n: int = 10) -> list[str]:
    ids = [str(i) for i in ids]
    return ids[:n] + ([f"... ({len(ids) - n} more)"] if len(ids) > n else [])


def _responding(layout: pd.DataFrame, regions: list[_Region]):
    """Yield each visual region that has contacts in ``layout``, with their rows."""
    for region in regions:
        rows = np.flatnonzero(layout["region"].to_numpy() == region.name)
        if region.rank != 0 and len(rows):
            yield region, rows


def _drive(
    layout: pd.DataFrame,
    regions: list[_Region],
    features: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Stimulus drive of each contact, ``(contact, stimulus)``, mean 1; 0 in controls."""
    n_stimuli = next(iter(features.values())).shape[0]
    drive = np.zeros((len(layout), n_stimuli))
    for region, rows in _responding(layout, regions):
        x = features[region.layer]
        z = x @ rng.standard_normal((x.shape[1], len(rows)))
        z = (z - z.mean(axis=0)) / np.where(z.std(axis=0) > 0, z.std(axis=0), 1)
        d = softplus(z + 1.0)
        # Contacts differ in how strongly they respond (distance to the generators).
        drive[rows] = (d / d.mean(axis=0) * rng.uniform(0.5, 1.5, len(rows))).T
    return drive
