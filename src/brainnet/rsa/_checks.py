"""Validation shared by the RSA modules: choices, stimulus counts, condensed lengths."""

from __future__ import annotations

import math

import numpy as np


def _check_choice(value, choices, name: str) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _check_n(n: int, name: str) -> None:
    if n < 3:
        raise ValueError(f"{name}: RSA needs at least 3 stimuli, got {n}")


def _n_from_pairs(n_pairs: int, name: str = "RDM vectors") -> int:
    n = int(round((1 + math.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs:
        raise ValueError(
            f"{name}: length {n_pairs} is not n (n - 1) / 2 for any number of "
            "stimuli n; pass square RDMs or condensed upper triangles"
        )
    _check_n(n, name)
    return n


def _unravel(i: int, shape: tuple) -> str:
    return ", ".join(str(int(j)) for j in np.unravel_index(i, shape)) if shape else str(i)
