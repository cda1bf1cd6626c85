"""Small networks for tests: built by a `factory: "factories:NAME"` model entry."""

from torch import nn


def tiny_net() -> nn.Module:
    """Two convolutional stages and a classifier, fast on 32-pixel inputs."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def not_a_module():
    return "a string"


#: Not a factory: a config naming it is refused before any job starts.
TINY_NET_NAME = "tiny"
