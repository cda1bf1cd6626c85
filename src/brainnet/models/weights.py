"""Building a network with its weights: seeded initialisation, torchvision, packaged, state dicts.

Whether the weights are there is checked without side effects
(:func:`check_weights_available`: no folder is created, nothing is
downloaded), so that a dry run can check every model before any job starts;
torchvision's weights are downloaded into the torch hub cache when the
network is built for extraction.
"""

from __future__ import annotations

import importlib
import os
import urllib.error
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tv_models

from brainnet.log import logger
from brainnet.models.packaged import PACKAGED, PackageMissingError
from brainnet.models.spec import ModelSpec, torchvision_weights_names

__all__ = [
    "WeightsUnavailableError",
    "build_architecture",
    "build_model",
    "check_weights_available",
    "load_factory",
    "weights_cache_path",
    "weights_source",
]

#: Seconds to wait for the weights server when checking that a download can start.
_REACH_TIMEOUT = 10


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are neither cached, packaged nor downloadable."""


def _torchvision_weights(spec: ModelSpec):
    enum = tv_models.get_model_weights(spec.arch)
    return enum.DEFAULT if spec.weights == "DEFAULT" else enum[spec.weights]


def weights_cache_path(spec: ModelSpec) -> Path:
    """Where torch hub keeps the file of ``spec``'s torchvision weights."""
    url = _torchvision_weights(spec).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def _offline_message(spec: ModelSpec, reason) -> str:
    url, target = _torchvision_weights(spec).url, weights_cache_path(spec)
    return (
        f"model {spec.name!r}: {spec.arch} weights {spec.weights!r} are not in the torch "
        f"hub cache and cannot be downloaded ({reason}). Download {url} on a machine with "
        f"internet access and put it at {target} (set TORCH_HOME to use another cache), "
        "or set 'weights: null' for an untrained network."
    )


def _reachable(url: str) -> str | None:
    """``None`` when ``url`` answers a HEAD request, else the reason it does not."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, method="HEAD"), timeout=_REACH_TIMEOUT
        ):
            return None
    except (urllib.error.URLError, OSError, ValueError) as err:
        return str(err)


def check_weights_available(spec: ModelSpec) -> None:
    """Make sure the weights of ``spec`` can be loaded, without loading or downloading them.

    A state-dict path must exist; a packaged network's weights package must
    be installed; torchvision weights must be in the torch hub cache or their
    server must answer (a HEAD request: nothing is written, no folder is made).

    Raises
    ------
    WeightsUnavailableError
        When packaged weights are not installed, or torchvision weights are not
        cached and their server cannot be reached; the message names the file,
        its URL and the folder to put it in, or the pip package to install.
    FileNotFoundError
        When a state-dict path does not exist.
    """
    kind = spec.weights_kind
    if kind == "state_dict" and not Path(spec.weights).is_file():
        valid = ["DEFAULT"] if spec.arch in PACKAGED else torchvision_weights_names(spec.arch)
        hint = f" (named weights for {spec.arch}: {', '.join(valid)})" if valid else ""
        raise FileNotFoundError(
            f"model {spec.name!r}: weights file not found: {spec.weights}{hint}"
        )
    if kind == "packaged":
        try:
            PACKAGED[spec.arch].weights_file()
        except (PackageMissingError, FileNotFoundError) as err:
            raise WeightsUnavailableError(f"model {spec.name!r}: {err}") from err
    if kind != "torchvision" or weights_cache_path(spec).is_file():
        return
    reason = _reachable(_torchvision_weights(spec).url)
    if reason is not None:
        raise WeightsUnavailableError(_offline_message(spec, reason))
    logger.info("%s: weights not cached; the activations job downloads them", spec.name)


def load_factory(spec: ModelSpec):
    """Import the factory function of ``spec``.

    Raises
    ------
    ValueError
        When the module or function cannot be imported.
    TypeError
        When the named object is not callable.
    """
    module_name, _, func_name = spec.factory.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"model {spec.name!r}: cannot import factory {spec.factory!r}: {err}"
        ) from err
    if not callable(func):
        raise TypeError(
            f"model {spec.name!r}: factory {spec.factory!r} is a {type(func).__name__}, "
            "not a function returning a torch.nn.Module"
        )
    return func


def build_architecture(spec: ModelSpec, device: str | torch.device | None = None) -> nn.Module:
    """The network of ``spec`` initialised under ``torch.manual_seed(spec.seed)``, no weights.

    The same seed gives bitwise identical weights. On the ``"meta"`` device
    nothing is allocated, which makes the layer checks of a dry run cheap.
    """
    with torch.random.fork_rng(devices=[]), torch.device(device or "cpu"):
        torch.manual_seed(spec.seed)
        if spec.arch in PACKAGED:
            model = PACKAGED[spec.arch].build()
        elif spec.arch is not None:
            model = tv_models.get_model(spec.arch, weights=None)
        else:
            model = load_factory(spec)()
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model {spec.name!r}: factory {spec.factory!r} returned {type(model).__name__}, "
            "not a torch.nn.Module"
        )
    return model.eval()


def build_model(spec: ModelSpec) -> nn.Module:
    """Instantiate the network of ``spec`` with its weights, in eval mode.

    An untrained network (and a random-weights control) is initialised under
    ``torch.manual_seed(spec.seed)``; torchvision weights are downloaded into
    the torch hub cache when missing.
    """
    check_weights_available(spec)
    kind = spec.weights_kind
    if kind != "torchvision":
        model = build_architecture(spec)
        if kind == "packaged":
            _load_state_dict(model, spec, PACKAGED[spec.arch].weights_file())
        elif kind == "state_dict":
            _load_state_dict(model, spec, Path(spec.weights))
        return model
    try:
        # torchvision's own path: the builder may adapt the architecture to its weights
        model = tv_models.get_model(spec.arch, weights=_torchvision_weights(spec))
    except (urllib.error.URLError, OSError) as err:
        raise WeightsUnavailableError(_offline_message(spec, err)) from err
    return model.eval()


def _load_state_dict(model: nn.Module, spec: ModelSpec, path: Path) -> None:
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


def weights_source(spec: ModelSpec) -> str:
    """Where the weights come from, for the provenance of an activations file."""
    kind = spec.weights_kind
    if kind == "untrained":
        control = f"random-weights control of {spec.control_of}, " if spec.control_of else ""
        return f"{control}the architecture's own initialisation, seed {spec.seed}"
    if kind == "torchvision":
        return f"torchvision {_torchvision_weights(spec).url}"
    if kind == "packaged":
        package = PACKAGED[spec.arch].weights_package
        try:
            release = version(package)
        except PackageNotFoundError:
            release = "unknown version"
        return f"{package} {release}: {PACKAGED[spec.arch].weights_file().name}"
    return os.fspath(Path(spec.weights).absolute())
