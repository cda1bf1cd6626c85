"""Logging in the MNE-Python style: one package logger and a ``verbose`` level,
short previews of the values a message names, and a log file per workflow job."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger("brainnet")

# the logger's name tells brainnet's messages from MNE's and from warnings in a job log
_FORMAT = logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s", "%H:%M:%S")

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
        handler.setFormatter(_FORMAT)
        logger.addHandler(handler)


def log_to_file(path: str | os.PathLike, verbose: bool | str | int | None = "info") -> Path:
    """Also write brainnet's messages, warnings and an uncaught exception to ``path``.

    Every workflow script calls this first with its rule's ``log:`` file, so a
    failed job's log says why it failed: the error is logged with its
    traceback, to the file and to the terminal (or the SLURM job's output).
    MNE's messages and Python warnings go to the file too.

    Parameters
    ----------
    path : path-like
        The log file, created (with its folder) or overwritten.
    verbose : bool | str | int | None
        Logging level, see :func:`set_log_level`.

    Returns
    -------
    path : Path
        The log file.
    """
    set_log_level(verbose)  # first: it adds the terminal handler only to a bare logger
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(_FORMAT)
    logger.addHandler(handler)
    logging.getLogger("mne").addHandler(handler)
    # warnings reach the file, and the terminal as before
    logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.addHandler(handler)
    warnings_logger.addHandler(logging.StreamHandler())
    sys.excepthook = _log_uncaught
    # where the job ran: the first place to look when a cluster job misbehaves
    slurm = os.environ.get("SLURM_JOB_ID")
    logger.info(
        "job log of process %d on %s%s",
        os.getpid(),
        socket.gethostname(),
        f", SLURM job {slurm}" if slurm else "",
    )
    return path


def _log_uncaught(kind, error, traceback) -> None:
    """Log an exception nothing caught, with its traceback, before the process ends."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, traceback)
        return
    logger.error("%s: %s", kind.__name__, error, exc_info=(kind, error, traceback))


def preview(values: Iterable, n: int = 10) -> list:
    """The first ``n`` values as plain Python objects, ``"..."`` marking more.

    For naming the channels, stimuli or onsets at fault in a message without
    flooding it.
    """
    values = list(values)
    head = [v.item() if isinstance(v, np.generic) else v for v in values[:n]]
    return head + ["..."] if len(values) > n else head
