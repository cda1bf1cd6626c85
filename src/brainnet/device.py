"""The compute device of a stage: the ``device`` config key, resolved once.

``device`` is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, at the top level of
the config and overridable in the ``extraction``, ``encoding`` and ``rsa``
sections. ``cpu`` keeps every stage on its NumPy (encoding, RSA) or CPU torch
(extraction) path, the reference; a CUDA device runs the torch paths of
:mod:`brainnet.encoding.device_ridge` and :mod:`brainnet.rsa._device`, and
extraction there. ``auto`` is the first CUDA device when
:func:`torch.cuda.is_available`, else the CPU. The default is ``cpu``, so that
results do not depend on the machine a job lands on; ``device: cuda`` at the
top level moves every stage. Asking for CUDA where there is none fails before
any work, naming the key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: The stages whose config section may override the top-level ``device``.
DEVICE_STAGES = ("extraction", "encoding", "rsa")
_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(value: str | torch.device | None, key: str = "device") -> torch.device:
    """The torch device that ``value`` names.

    Parameters
    ----------
    value : str | torch.device | None
        ``"auto"`` (or None), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    key : str
        The config key ``value`` came from, named in errors.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        On a value that is none of these, or CUDA asked for where it is not
        available (or the index is out of range).
    """
    import torch  # here: a NumPy-only job never imports it (half a gigabyte)

    if isinstance(value, torch.device):
        value = str(value)
    value = "auto" if value is None else value
    if not isinstance(value, str) or not _PATTERN.match(value):
        raise ValueError(f"{key} must be auto, cpu, cuda or cuda:N, got {value!r}")
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(value)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{key}: {value} asked for, but torch sees no CUDA device "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); "
                f"set {key}: cpu or auto"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{key}: {value} asked for, but torch sees {torch.cuda.device_count()} "
                "CUDA device(s)"
            )
    return device


def accelerator(value, key: str = "device") -> torch.device | None:
    """The device ``value`` resolves to (:func:`resolve_device`), or None for the CPU:
    the stages' NumPy path, for which ``"cpu"`` does not even import torch."""
    if value == "cpu":
        return None
    device = resolve_device(value, key)
    return None if device.type == "cpu" else device


def stage_device(config: dict, stage: str) -> str:
    """The device setting of ``stage``: its section's ``device``, else the top level's.

    Returned unresolved (``"auto"`` stays ``"auto"``), so that a job resolves it on
    the machine it runs on.
    """
    if stage not in DEVICE_STAGES:
        raise ValueError(f"stage must be one of {DEVICE_STAGES}, got {stage!r}")
    section = config.get(stage) or {}
    return section.get("device") or config.get("device", "cpu")
