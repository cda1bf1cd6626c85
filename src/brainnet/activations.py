"""Feature extraction: stimuli through a network's layers into ``activations/<model>.nc``.

Images are loaded and transformed in a background thread while the network
runs on the previous batch, and each batch is reduced layer by layer and
written straight into its slice of the netCDF file in a second thread while
the network runs on the next one (at most one batch in flight each way), so
memory does not grow with the number of stimuli. The file is written under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5netcdf
import h5py
import numpy as np
import torch
import torchvision
import xarray as xr
from tqdm.auto import tqdm

from brainnet.device import resolve_device
from brainnet.io import atomic_path, encode_attrs
from brainnet.log import logger, set_log_level
from brainnet.models import (
    PIXELS,
    ModelSpec,
    build_model,
    check_layer_reduction,
    feature_extractor,
    model_layers,
    preprocessing,
    weights_source,
)
from brainnet.reduction import make_reducer
from brainnet.stimuli import load_image

__all__ = ["extract_activations", "layer_reduction_settings"]

DEFAULT_REDUCTION = {"method": "srp", "n_components": 2048, "grid": 4}


def layer_reduction_settings(
    layer: str, reduction: dict | None, layer_reduction: dict | None
) -> dict:
    """The reduction settings of one layer: the per-layer entry over the default."""
    settings = dict(DEFAULT_REDUCTION)
    settings.update(reduction or {})
    settings.update((layer_reduction or {}).get(layer, {}))
    return settings


def extract_activations(
    stimuli: xr.Dataset,
    spec: ModelSpec,
    path: str | os.PathLike,
    *,
    batch_size: int = 16,
    reduction: dict | None = None,
    layer_reduction: dict | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    verbose=None,
) -> Path:
    """Run every stimulus through ``spec``'s network and stream its layers to ``path``.

    Parameters
    ----------
    stimuli : xarray.Dataset
        The stimulus table (``stimulus_id``, ``category``, ``path``).
    spec : ModelSpec
        The network.
    path : path-like
        Output netCDF file.
    batch_size : int
        Images per forward pass.
    reduction : dict | None
        Default reduction for all layers (``method``: none, pool or srp;
        ``grid``; ``n_components``), see :mod:`brainnet.reduction`.
    layer_reduction : dict | None
        Per-layer overrides, keyed by layer name.
    seed : int
        Seed of the random projections.
    device : str | torch.device
        Where the network runs (see :func:`brainnet.device.resolve_device`). On
        CUDA, each batch is loaded into pinned memory by the loader thread and
        copied to the device without blocking; the layers come back to the CPU
        for the reduction, which runs there on every device.
    verbose : bool | str | None
        Logging level; a progress bar is shown when at ``info`` or lower.

    Returns
    -------
    path : Path
        The written file: one variable per layer, dims
        ``(stimulus, feature_<layer>)``, layer order in the ``layers`` attribute.
    """
    set_log_level(verbose)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = resolve_device(device, "extraction.device")
    model = build_model(spec).to(device)
    layers = model_layers(model, spec)
    check_layer_reduction(spec, layers, layer_reduction)
    extractor = feature_extractor(model, layers)
    transform = preprocessing(spec)
    names = [PIXELS, *layers]

    paths = list(stimuli["path"].values)
    batches = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]
    logger.info("extracting %d layers of %s for %d stimuli", len(names), spec.name, len(paths))

    pinned = device.type == "cuda"

    def load(batch_paths):
        images = torch.stack([transform(load_image(p)) for p in batch_paths])
        # page-locked, the copy to the device runs asynchronously
        return images.pin_memory() if pinned else images

    def store(outputs, start, stop):
        with torch.inference_mode():
            for name in names:
                writer.variables[name][start:stop] = reducers[name](outputs[name])

    path = Path(path)
    with (
        atomic_path(path) as tmp,
        ThreadPoolExecutor(max_workers=1) as pool,
        ThreadPoolExecutor(max_workers=1) as sink,
        torch.inference_mode(),
    ):
        pending = pool.submit(load, batches[0])
        writer, reducers, start, stored = None, None, 0, None
        progress = tqdm(
            batches,
            desc=f"{spec.name} activations",
            unit="batch",
            disable=logger.getEffectiveLevel() > 20,
        )
        for i, _ in enumerate(progress):
            images = pending.result()
            if i + 1 < len(batches):
                pending = pool.submit(load, batches[i + 1])
            outputs = {PIXELS: images, **_forward(extractor, images, device)}
            if writer is None:
                reducers = {
                    name: make_reducer(
                        tuple(outputs[name].shape[1:]),
                        layer=name,
                        **_reducer_kwargs(name, reduction, layer_reduction, seed),
                    )
                    for name in names
                }
                writer = _open_writer(tmp, stimuli, names, reducers, batch_size)
            stop = start + images.shape[0]
            if stored is not None:
                stored.result()
            stored = sink.submit(store, outputs, start, stop)
            start = stop
        stored.result()
        writer.attrs.update(encode_attrs(_provenance(spec, layers, reducers, stimuli, seed)))
        writer.close()
    logger.info("wrote %s", path)
    return path


def _forward(extractor, images: torch.Tensor, device: torch.device) -> dict:
    """The layers of one batch, on the CPU; on another device the batch goes there
    without blocking and the layers come back."""
    if device.type == "cpu":
        return extractor(images)
    layers = extractor(images.to(device, non_blocking=True))
    return {name: value.to("cpu") for name, value in layers.items()}


def _reducer_kwargs(layer, reduction, layer_reduction, seed) -> dict:
    settings = layer_reduction_settings(layer, reduction, layer_reduction)
    return {
        "method": settings["method"],
        "grid": int(settings["grid"]),
        "n_components": int(settings["n_components"]),
        "seed": seed,
    }


def _open_writer(path: Path, stimuli: xr.Dataset, names, reducers, batch_size) -> h5netcdf.File:
    """Create the netCDF layout: dims, coordinates and empty layer variables."""
    n = stimuli.sizes["stimulus"]
    f = h5netcdf.File(path, "w")
    f.dimensions["stimulus"] = n
    for coord in ("stimulus_id", "category"):
        var = f.create_variable(coord, ("stimulus",), dtype=h5py.string_dtype())
        var[:] = np.asarray(stimuli[coord].values, dtype=object)
    for name in names:
        dim = f"feature_{name}"
        f.dimensions[dim] = reducers[name].n_features
        var = f.create_variable(
            name,
            ("stimulus", dim),
            dtype="f4",
            chunks=(min(batch_size, n), reducers[name].n_features),
        )
        # tells xarray that these string variables are coordinates of the layer
        var.attrs["coordinates"] = "stimulus_id category"
    return f


def _provenance(spec: ModelSpec, layers, reducers, stimuli, seed) -> dict:
    return {
        "model": spec.name,
        "arch": spec.arch or "",
        "factory": spec.factory or "",
        "weights": spec.weights if spec.weights is not None else "untrained",
        "weights_source": weights_source(spec),
        # a random-weights control names the trained model it controls for
        "control": "random" if spec.control_of else "",
        "control_of": spec.control_of or "",
        "model_seed": spec.seed,
        "projection_seed": seed,
        "layers": [PIXELS, *layers],
        "layer_nodes": {PIXELS: "input", **layers},
        "reduction": {name: r.describe() for name, r in reducers.items()},
        "stimulus_set": stimuli.attrs.get("set_name", ""),
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
    }
