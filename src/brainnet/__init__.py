"""brainnet: compare deep convolutional networks with the human ventral visual stream.

The package is split by stage; each module owns one kind of artefact and
exchanges it with the others only through xarray objects on disk (see
``docs/architecture.md``).
"""

from brainnet.log import logger, set_log_level

__version__ = "0.1.0"

__all__ = ["__version__", "logger", "set_log_level"]
