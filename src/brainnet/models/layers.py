"""Which layers of a network are extracted: named lists, automatic stages, graph nodes."""

from __future__ import annotations

import difflib
import warnings

import torch
from torch import nn
from torchvision.models.feature_extraction import (
    create_feature_extractor,
    get_graph_node_names,
)

from brainnet.models.packaged import PACKAGED
from brainnet.models.spec import PIXELS, ModelSpec
from brainnet.models.transforms import input_size_of

__all__ = ["feature_extractor", "graph_nodes", "model_layers"]

# Named layer lists for families whose conventional names differ from their
# graph nodes: AlexNet as in Kuzovkin et al. 2018 (each convolution after its
# ReLU, then the fully connected layers), ResNets by residual stage.
_ALEXNET_LAYERS = {
    "conv1": "features.1",
    "conv2": "features.4",
    "conv3": "features.7",
    "conv4": "features.9",
    "conv5": "features.11",
    "fc6": "classifier.2",
    "fc7": "classifier.5",
    "fc8": "classifier.6",
}
_RESNET_LAYERS = {
    "conv1": "relu",
    "layer1": "layer1",
    "layer2": "layer2",
    "layer3": "layer3",
    "layer4": "layer4",
    "fc": "fc",
}
_NAMED_LAYERS = {"alexnet": _ALEXNET_LAYERS}
_NAMED_FAMILIES = {("resnet", "resnext", "wide_resnet"): _RESNET_LAYERS}

# Networks with stochastic depth (EfficientNet's drop connect) trace extra
# nodes in train mode; extraction runs in eval mode, so the note is moot.
_TRAIN_EVAL_NOTE = "NOTE: The nodes obtained by tracing the model in eval mode"


def graph_nodes(model: nn.Module) -> list[str]:
    """The eval-mode graph nodes of ``model`` in order, without the input placeholder."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_TRAIN_EVAL_NOTE)
        return get_graph_node_names(model)[1][1:]


def feature_extractor(model: nn.Module, layers: dict[str, str]) -> nn.Module:
    """A torchvision FX feature extractor returning ``layers`` under their names."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_TRAIN_EVAL_NOTE)
        return create_feature_extractor(model, return_nodes={n: k for k, n in layers.items()})


def _named_layers(spec: ModelSpec, model: nn.Module) -> dict[str, str] | None:
    if spec.arch is None:
        return None
    if spec.arch in PACKAGED:
        return PACKAGED[spec.arch].named_layers(model)
    if spec.arch in _NAMED_LAYERS:
        return dict(_NAMED_LAYERS[spec.arch])
    for prefixes, layers in _NAMED_FAMILIES.items():
        if spec.arch.startswith(prefixes):
            return dict(layers)
    return None


def _auto_layers(model: nn.Module, input_size: int) -> dict[str, str]:
    """Stage outputs by resolution, and fully connected layers, for any network.

    A convolutional stage is the run of graph nodes at one spatial resolution;
    its output is the last node before the resolution drops. A fully connected
    layer's output is taken after its activation where one follows. Only
    shapes are used, so a network on the meta device works as well.
    """
    nodes = graph_nodes(model)
    device = next(model.parameters(), torch.empty(0)).device
    with torch.inference_mode():
        outputs = feature_extractor(model, {n: n for n in nodes})(
            torch.zeros(1, 3, input_size, input_size, device=device)
        )
    modules = dict(model.named_modules())
    layers: dict[str, str] = {}
    stage_end, resolution = None, None
    for i, node in enumerate(nodes):
        shape = outputs[node].shape if isinstance(outputs[node], torch.Tensor) else None
        if shape is not None and len(shape) == 4 and shape[-1] > 1:
            if resolution is not None and shape[-1] < resolution:
                layers[f"stage{len(layers) + 1}"] = stage_end
            stage_end, resolution = node, shape[-1]
        elif isinstance(modules.get(node), nn.Linear):
            if stage_end is not None:
                layers[f"stage{len(layers) + 1}"] = stage_end
                stage_end = None
            following = nodes[i + 1] if i + 1 < len(nodes) else None
            activation = following is not None and isinstance(
                modules.get(following), nn.ReLU | nn.GELU | nn.SiLU | nn.Hardswish
            )
            n_fc = sum(name.startswith("fc") for name in layers)
            layers[f"fc{n_fc + 1}"] = following if activation else node
    if stage_end is not None:
        layers[f"stage{len(layers) + 1}"] = stage_end
    return layers


def model_layers(model: nn.Module, spec: ModelSpec) -> dict[str, str]:
    """Ordered mapping from layer name to graph node, pixels excluded.

    ``layers: auto`` gives the named list of the architecture family where one
    exists (AlexNet: conv1-5, fc6-8; ResNets: conv1, layer1-4, fc;
    EfficientNet-Lite: stem, stage1-7, head, fc) and the stage outputs and
    fully connected layers otherwise. An explicit list may mix those names and
    graph nodes.

    Raises
    ------
    ValueError
        For an unknown layer name, with the closest valid names.
    """
    named = _named_layers(spec, model) or _auto_layers(model, input_size_of(spec))
    if spec.layers == "auto":
        return named
    nodes = graph_nodes(model)
    valid = {*nodes, *(n for n, _ in model.named_modules() if n)}
    layers = {}
    for name in spec.layers:
        if name == PIXELS:
            continue
        if name in named:
            layers[name] = named[name]
        elif name in valid:
            layers[name] = name
        else:
            raise ValueError(_unknown_layer_message(spec, name, named, nodes))
    return layers


def _unknown_layer_message(spec: ModelSpec, name: str, named: dict, nodes: list[str]) -> str:
    close = difflib.get_close_matches(name, [*named, *nodes], n=3)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return (
        f"model {spec.name!r}: unknown layer {name!r} in models.{spec.name}.layers{hint}. "
        f"Named layers: {PIXELS}, {', '.join(named)}; any of the {len(nodes)} graph nodes "
        "of torchvision.models.feature_extraction.get_graph_node_names(model) works too"
    )
