"""One model entry of the config: which network, which weights, which layers."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from torchvision import models as tv_models

from brainnet.models.packaged import PACKAGED

__all__ = ["PIXELS", "ModelSpec", "arch_names", "torchvision_weights_names"]

#: The preprocessed input, always layer 0.
PIXELS = "pixels"

_KEYS = ("arch", "factory", "weights", "layers", "input_size", "seed", "control_of")


def arch_names() -> list[str]:
    """Every ``arch`` a config may name: torchvision's and the packaged trained networks."""
    return sorted({*tv_models.list_models(), *PACKAGED})


def torchvision_weights_names(arch: str) -> list[str]:
    """``DEFAULT`` and the weights enum members of a torchvision arch, each once."""
    if arch in PACKAGED:
        return []
    try:
        members = tv_models.get_model_weights(arch).__members__
    except (ValueError, KeyError):  # architectures without released weights
        return []
    # the enum lists DEFAULT among its members (an alias of the newest weights)
    return list(dict.fromkeys(["DEFAULT", *members]))


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the ``models`` section of the config.

    Parameters
    ----------
    name : str
        The entry's name; used in file names and figures.
    arch : str | None
        A name from :func:`torchvision.models.list_models`, or a packaged
        trained network (:data:`brainnet.models.packaged.PACKAGED`:
        ``efficientnet_lite0``, ``efficientnet_lite1``, ``efficientnet_lite2``).
    factory : str | None
        ``"module:function"``; the function returns an ``nn.Module``. It runs
        arbitrary code: a config names only factories you trust.
    weights : str | None
        ``None`` (untrained, seeded), ``"DEFAULT"`` (torchvision's ImageNet
        weights, or the weights inside a packaged network's pip package),
        another torchvision weights name such as ``"IMAGENET1K_V1"``, or a path
        to a state dict.
    layers : "auto" | list of str
        Layers to extract besides pixels.
    input_size : int | None
        Input side in pixels when the weights carry no transforms.
    seed : int
        Seed of the initialisation of an untrained network.
    control_of : str | None
        For the random-weights control of another entry, that entry's name.
    """

    name: str
    arch: str | None = None
    factory: str | None = None
    weights: str | None = None
    layers: str | tuple[str, ...] = "auto"
    input_size: int | None = None
    seed: int = 0
    control_of: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if (self.arch is None) == (self.factory is None):
            raise ValueError(f"model {self.name!r}: give exactly one of 'arch' or 'factory'")
        if self.arch is not None and self.arch not in arch_names():
            close = difflib.get_close_matches(self.arch, arch_names(), n=3)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise ValueError(
                f"model {self.name!r}: unknown arch {self.arch!r}{hint}; "
                "the names are those of torchvision.models.list_models() and "
                f"the packaged trained networks {', '.join(PACKAGED)}"
            )
        if self.factory is not None and ":" not in self.factory:
            raise ValueError(
                f"model {self.name!r}: factory must be 'module:function', got {self.factory!r}"
            )
        if self.control_of is not None and self.weights is not None:
            raise ValueError(
                f"model {self.name!r}: the random-weights control of {self.control_of!r} "
                f"must have 'weights: null', not {self.weights!r}"
            )
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))

    @classmethod
    def from_config(cls, name: str, entry: dict, *, seed: int = 0) -> ModelSpec:
        """Build a spec from a config entry (unknown keys are kept in ``extra``)."""
        kwargs = {k: v for k, v in entry.items() if k in _KEYS}
        kwargs.setdefault("seed", seed)
        return cls(name=name, extra={k: v for k, v in entry.items() if k not in _KEYS}, **kwargs)

    @property
    def weights_kind(self) -> str:
        """``"untrained"``, ``"torchvision"``, ``"packaged"`` or ``"state_dict"``."""
        if self.weights is None:
            return "untrained"
        if self.arch in PACKAGED and self.weights == "DEFAULT":
            return "packaged"
        if self.arch is not None and self.weights in torchvision_weights_names(self.arch):
            return "torchvision"
        return "state_dict"
