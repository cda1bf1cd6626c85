"""Checks of a model entry that need no computing, run before any job starts."""

from __future__ import annotations

import time

from brainnet.log import logger
from brainnet.models.layers import model_layers
from brainnet.models.packaged import PackageMissingError
from brainnet.models.spec import PIXELS, ModelSpec
from brainnet.models.weights import build_architecture, check_weights_available

__all__ = ["check_layer_reduction", "check_model"]


def check_layer_reduction(spec: ModelSpec, layers, layer_reduction: dict | None) -> None:
    """Refuse per-layer reduction settings for layers that are not extracted."""
    names = [PIXELS, *layers]
    unknown = sorted(set(layer_reduction or {}) - set(names))
    if unknown:
        raise ValueError(
            f"model {spec.name!r}: layer_reduction names unknown layers {unknown}; "
            f"layers are {names}"
        )


def check_model(spec: ModelSpec) -> dict[str, str]:
    """Check a model entry without loading weights or running the network.

    The weights are checked for availability without side effects
    (:func:`~brainnet.models.weights.check_weights_available`), the factory is
    imported and called, the network is built on PyTorch's meta device (no
    memory, no weights; on the CPU if the factory's code cannot run there) and
    traced, and the configured layers and per-layer reductions are looked up
    in its graph.

    Returns
    -------
    layers : dict
        Layer name to graph node, as :func:`~brainnet.models.layers.model_layers`.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError, WeightsUnavailableError
        Naming the model and what is wrong with it (the closest layer names
        for a misspelt layer).
    """
    start = time.perf_counter()
    check_weights_available(spec)
    try:
        model = build_architecture(spec, device="meta")
    except PackageMissingError as err:
        raise ValueError(f"model {spec.name!r}: {err}") from err
    except (NotImplementedError, RuntimeError) as err:
        logger.debug("%s cannot be built on the meta device (%s); using the CPU", spec.name, err)
        model = build_architecture(spec)
    layers = model_layers(model, spec)
    check_layer_reduction(spec, layers, spec.extra.get("layer_reduction"))
    logger.debug("checked %s in %.2f s", spec.name, time.perf_counter() - start)
    return layers
