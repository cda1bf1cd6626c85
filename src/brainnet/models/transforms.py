"""The image transform of a network: its training resolution, crop and normalisation."""

from __future__ import annotations

from collections.abc import Callable

from torchvision import models as tv_models
from torchvision import transforms as T

from brainnet.models.packaged import PACKAGED
from brainnet.models.spec import ModelSpec, torchvision_weights_names

__all__ = ["input_size_of", "preprocessing"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _weights_transform(spec: ModelSpec):
    """The transforms that ship with a torchvision arch's weights, when there are any.

    They are part of torchvision's code, not of the weight files, so they are
    available offline and for untrained networks of the same architecture.
    """
    names = torchvision_weights_names(spec.arch) if spec.arch is not None else []
    if not names:
        return None
    enum = tv_models.get_model_weights(spec.arch)
    name = spec.weights if spec.weights_kind == "torchvision" else "DEFAULT"
    return (enum.DEFAULT if name == "DEFAULT" else enum[name]).transforms()


def input_size_of(spec: ModelSpec) -> int:
    """The side of the network input in pixels."""
    if spec.input_size is not None:
        return int(spec.input_size)
    if spec.arch in PACKAGED:
        return PACKAGED[spec.arch].input_size
    transform = _weights_transform(spec)
    return int(transform.crop_size[0]) if transform is not None else 224


def preprocessing(spec: ModelSpec) -> Callable:
    """The image transform of ``spec``: PIL RGB image to a normalised tensor.

    A packaged network's own convention (bicubic resize, centre crop of its
    training code, inception-style normalisation: see
    :mod:`brainnet.models.packaged`); a torchvision arch's weights transforms
    (resize, centre crop, ImageNet normalisation), for its untrained version
    too. An ``input_size`` override resizes the shorter side to the input size
    and crops the centre, with the network's normalisation (ImageNet's for
    torchvision archs and factories).
    """
    size = input_size_of(spec)
    if spec.arch in PACKAGED:
        net = PACKAGED[spec.arch]
        resize = net.resize_size if spec.input_size is None else size
        return _resize_crop_normalise(resize, size, net.mean, net.std, T.InterpolationMode.BICUBIC)
    transform = _weights_transform(spec)
    if transform is not None and spec.input_size is None:
        return transform
    return _resize_crop_normalise(
        size, size, _IMAGENET_MEAN, _IMAGENET_STD, T.InterpolationMode.BILINEAR
    )


def _resize_crop_normalise(resize: int, size: int, mean, std, interpolation) -> T.Compose:
    return T.Compose(
        [
            T.Resize(resize, interpolation=interpolation, antialias=True),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )
