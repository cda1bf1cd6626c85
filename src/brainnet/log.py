"""Logging in the MNE-Python style: one package logger and a ``verbose`` level,
and short previews of the values a message names."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

logger = logging.getLogger("brainnet")

_LEVELS = {
    True: logging.INFO,
    False: logging.WARNING,
    None: None,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def set_log_level(verbose: bool | str | int | None = "info") -> None:
    """Set how much the brainnet logger reports.

    Parameters
    ----------
    verbose : bool | str | int | None
        ``True`` or ``"info"`` reports each step, ``False`` or ``"warning"``
        only problems, ``"debug"`` everything; an int is a :mod:`logging`
        level. ``None`` leaves the level as it is.
    """
    level = verbose if isinstance(verbose, int) and not isinstance(verbose, bool) else None
    if level is None:
        key = verbose.lower() if isinstance(verbose, str) else verbose
        if key not in _LEVELS:
            raise ValueError(
                f"verbose must be a bool, an int or one of {list(_LEVELS)[3:]}, got {verbose!r}"
            )
        level = _LEVELS[key]
    if level is None:
        return
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s brainnet %(levelname)s: %(message)s", "%H:%M:%S")
        )
        logger.addHandler(handler)


def preview(values: Iterable, n: int = 10) -> list:
    """The first ``n`` values as plain Python objects, ``"..."`` marking more.

    For naming the channels, stimuli or onsets at fault in a message without
    flooding it.
    """
    values = list(values)
    head = [v.item() if isinstance(v, np.generic) else v for v in values[:n]]
    return head + ["..."] if len(values) > n else head
