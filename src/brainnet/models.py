"""Model registry: a network, its weights, its layers and its preprocessing from config.

A model entry names a torchvision architecture (``arch``) or a factory
(``factory: "module:function"`` returning an :class:`torch.nn.Module`), its
weights (``null`` for an untrained network seeded by ``seed``, ``DEFAULT`` or
another torchvision weights name, or a path to a state dict) and its layers
(``auto`` or a list of graph nodes). Pixels, the preprocessed input, are
always layer 0.
"""

from __future__ import annotations

import difflib
import importlib
import os
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tv_models
from torchvision import transforms as T
from torchvision.models.feature_extraction import get_graph_node_names

from brainnet.log import logger

__all__ = [
    "PIXELS",
    "ModelSpec",
    "WeightsUnavailableError",
    "build_model",
    "check_weights_available",
    "model_layers",
    "preprocessing",
]

PIXELS = "pixels"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

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


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the ``models`` section of the config.

    Parameters
    ----------
    name : str
        The entry's name; used in file names and figures.
    arch : str | None
        A name from :func:`torchvision.models.list_models`.
    factory : str | None
        ``"module:function"``; the function returns an ``nn.Module``.
    weights : str | None
        ``None`` (untrained, seeded), a torchvision weights name such as
        ``"DEFAULT"`` or ``"IMAGENET1K_V1"``, or a path to a state dict.
    layers : "auto" | list of str
        Layers to extract besides pixels.
    input_size : int | None
        Input side in pixels when the weights carry no transforms.
    seed : int
        Seed of the initialisation of an untrained network.
    """

    name: str
    arch: str | None = None
    factory: str | None = None
    weights: str | None = None
    layers: str | tuple[str, ...] = "auto"
    input_size: int | None = None
    seed: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if (self.arch is None) == (self.factory is None):
            raise ValueError(f"model {self.name!r}: give exactly one of 'arch' or 'factory'")
        if self.arch is not None and self.arch not in tv_models.list_models():
            close = difflib.get_close_matches(self.arch, tv_models.list_models(), n=3)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise ValueError(
                f"model {self.name!r}: unknown torchvision arch {self.arch!r}{hint}; "
                "the names are those of torchvision.models.list_models()"
            )
        if self.factory is not None and ":" not in self.factory:
            raise ValueError(
                f"model {self.name!r}: factory must be 'module:function', got {self.factory!r}"
            )
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))

    @classmethod
    def from_config(cls, name: str, entry: dict, *, seed: int = 0) -> ModelSpec:
        """Build a spec from a config entry (unknown keys are kept in ``extra``)."""
        known = {"arch", "factory", "weights", "layers", "input_size", "seed"}
        kwargs = {k: v for k, v in entry.items() if k in known}
        kwargs.setdefault("seed", seed)
        return cls(name=name, extra={k: v for k, v in entry.items() if k not in known}, **kwargs)

    @property
    def weights_kind(self) -> str:
        """``"untrained"``, ``"torchvision"`` or ``"state_dict"``."""
        if self.weights is None:
            return "untrained"
        if self.arch is not None and self.weights in _weights_names(self.arch):
            return "torchvision"
        return "state_dict"


def _weights_names(arch: str) -> list[str]:
    try:
        return ["DEFAULT", *tv_models.get_model_weights(arch).__members__]
    except (ValueError, KeyError):  # architectures without released weights
        return []


def _torchvision_weights(spec: ModelSpec):
    enum = tv_models.get_model_weights(spec.arch)
    return enum.DEFAULT if spec.weights == "DEFAULT" else enum[spec.weights]


def weights_cache_path(spec: ModelSpec) -> Path:
    """Where torch hub keeps the file of ``spec``'s torchvision weights."""
    url = _torchvision_weights(spec).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def check_weights_available(spec: ModelSpec) -> None:
    """Make sure the weights of ``spec`` can be loaded, before any other work.

    Torchvision weights are looked up in the torch hub cache and downloaded
    there when missing. A state-dict path must exist.

    Raises
    ------
    WeightsUnavailableError
        When torchvision weights are not cached and the download fails; the
        message names the file, its URL and the folder to put it in.
    FileNotFoundError
        When a state-dict path does not exist.
    """
    kind = spec.weights_kind
    if kind == "state_dict" and not Path(spec.weights).is_file():
        valid = _weights_names(spec.arch) if spec.arch else []
        hint = f" (torchvision weights for {spec.arch}: {', '.join(valid)})" if valid else ""
        raise FileNotFoundError(
            f"model {spec.name!r}: weights file not found: {spec.weights}{hint}"
        )
    if kind != "torchvision":
        return
    target = weights_cache_path(spec)
    if target.is_file():
        return
    url = _torchvision_weights(spec).url
    logger.info("downloading %s weights to %s", spec.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, os.fspath(target), progress=False)
    except (urllib.error.URLError, OSError, RuntimeError) as err:
        raise WeightsUnavailableError(
            f"model {spec.name!r}: {spec.arch} weights {spec.weights!r} are not in the torch "
            f"hub cache and cannot be downloaded ({err}). Download {url} on a machine with "
            f"internet access and put it at {target} (set TORCH_HOME to use another cache), "
            "or set 'weights: null' for an untrained network."
        ) from err


def build_model(spec: ModelSpec) -> nn.Module:
    """Instantiate the network of ``spec`` with its weights, in eval mode.

    An untrained network is initialised under ``torch.manual_seed(spec.seed)``
    so that the same seed gives bitwise identical weights.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        if spec.arch is not None:
            weights = _torchvision_weights(spec) if spec.weights_kind == "torchvision" else None
            if weights is not None:
                check_weights_available(spec)
            model = tv_models.get_model(spec.arch, weights=weights)
        else:
            model = _call_factory(spec)
    if spec.weights_kind == "state_dict":
        _load_state_dict(model, spec)
    return model.eval()


def _call_factory(spec: ModelSpec) -> nn.Module:
    module_name, _, func_name = spec.factory.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"model {spec.name!r}: cannot import factory {spec.factory!r}: {err}"
        ) from err
    model = func()
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model {spec.name!r}: factory {spec.factory!r} returned {type(model).__name__}, "
            "not a torch.nn.Module"
        )
    return model


def _load_state_dict(model: nn.Module, spec: ModelSpec) -> None:
    path = Path(spec.weights)
    if not path.is_file():
        raise FileNotFoundError(f"model {spec.name!r}: weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for damaged files
        raise ValueError(f"model {spec.name!r}: cannot read state dict {path}: {err}") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a common checkpoint layout
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"model {spec.name!r}: state dict {path} does not fit: {err}") from err


def _named_layers(spec: ModelSpec) -> dict[str, str] | None:
    if spec.arch is None:
        return None
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
    layer's output is taken after its activation where one follows.
    """
    from torchvision.models.feature_extraction import create_feature_extractor

    nodes = [n for n in get_graph_node_names(model)[1] if n != "x"]
    extractor = create_feature_extractor(model, return_nodes=nodes)
    with torch.inference_mode():
        outputs = extractor(torch.zeros(1, 3, input_size, input_size))
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
    exists (AlexNet: conv1-5, fc6-8; ResNets: conv1, layer1-4, fc) and the
    stage outputs and fully connected layers otherwise. An explicit list may
    mix those names and graph nodes; an unknown name raises an error listing
    the valid ones.
    """
    named = _named_layers(spec) or _auto_layers(model, input_size_of(spec))
    if spec.layers == "auto":
        return named
    graph_nodes = [n for n in get_graph_node_names(model)[1] if n != "x"]
    module_names = {n for n, _ in model.named_modules() if n}
    layers = {}
    for name in spec.layers:
        if name == PIXELS:
            continue
        if name in named:
            layers[name] = named[name]
        elif name in graph_nodes or name in module_names:
            layers[name] = name
        else:
            raise ValueError(
                f"model {spec.name!r}: unknown layer {name!r}. Valid layers: "
                f"{PIXELS}, {', '.join(named)}, or graph nodes: {', '.join(graph_nodes)}"
            )
    return layers


def input_size_of(spec: ModelSpec) -> int:
    """The side of the network input in pixels."""
    if spec.input_size is not None:
        return int(spec.input_size)
    transform = _weights_transform(spec)
    return int(transform.crop_size[0]) if transform is not None else 224


def _weights_transform(spec: ModelSpec):
    """The transforms that ship with the arch's weights, when there are any.

    They are part of torchvision's code, not of the weight files, so they are
    available offline and for untrained networks of the same architecture.
    """
    if spec.arch is None or not _weights_names(spec.arch):
        return None
    enum_name = spec.weights if spec.weights_kind == "torchvision" else "DEFAULT"
    return _torchvision_weights(
        ModelSpec(name=spec.name, arch=spec.arch, weights=enum_name)
    ).transforms()


def preprocessing(spec: ModelSpec) -> Callable:
    """The image transform of ``spec``: PIL RGB image to a normalised tensor.

    The weights' own transforms where they exist (resize, centre crop,
    ImageNet normalisation); otherwise standard ImageNet normalisation at the
    model's input size.
    """
    transform = _weights_transform(spec)
    if transform is not None and spec.input_size is None:
        return transform
    size = input_size_of(spec)
    return T.Compose(
        [
            T.Resize(size, antialias=True),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(_IMAGENET_MEAN, _IMAGENET_STD),
        ]
    )
