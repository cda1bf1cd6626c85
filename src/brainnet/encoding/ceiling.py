"""Noise ceilings: how well any model could predict each target, and scores ceiled by it.

The ceiling is the Spearman-Brown corrected split-half reliability of the mean
response; the ceiled score is Spearman's correction for attenuation,
``r / sqrt(noise_ceiling)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brainnet.encoding.inputs import _check_targets
from brainnet.responses import RESPONSE_DIMS


def noise_ceiling(split_half: xr.DataArray) -> xr.DataArray:
    """Spearman-Brown corrected split-half reliability of the mean response.

    Parameters
    ----------
    split_half : xarray.DataArray
        Dims ``half`` (size 2) and ``stimulus``: the mean response of each half
        of the repetitions.

    Returns
    -------
    ceiling : xarray.DataArray
        ``2 r / (1 + r)`` with ``r`` the Pearson correlation of the two halves
        over stimuli: the reliability of the mean over all repetitions, that is
        the squared correlation it can reach with the noiseless response. A
        model's correlation is therefore bounded by ``sqrt(ceiling)``.
    """
    if split_half.sizes.get("half") != 2 or "stimulus" not in split_half.dims:
        raise ValueError(
            f"split_half needs dims 'half' (size 2) and 'stimulus', got {dict(split_half.sizes)}"
        )
    r = xr.corr(split_half.isel(half=0), split_half.isel(half=1), dim="stimulus")
    ceiling = 2 * r / (1 + r)
    ceiling.name = "noise_ceiling"
    return ceiling


def _ceiling(aligned: xr.Dataset, template: xr.DataArray) -> xr.DataArray:
    """The ceiling of every target from ``split_half``; NaN without it."""
    if "split_half" not in aligned:
        return xr.full_like(template, np.nan, dtype=np.float64).reset_coords(drop=True)
    halves = aligned["split_half"].transpose("half", *RESPONSE_DIMS)
    # a constant half has no reliability: its ceiling is NaN, not an error
    _check_targets(
        halves.values.reshape(-1, template.size), template, "split_half", allow_constant=True
    )
    return noise_ceiling(halves).reset_coords(drop=True)


def _add_ceiling(scores: xr.Dataset, aligned: xr.Dataset, template: xr.DataArray) -> None:
    """Add ``noise_ceiling`` and ``r_ceiled`` to ``scores``; NaN where the
    reliability is not positive or unknown."""
    scores["noise_ceiling"] = _ceiling(aligned, template)
    positive = scores["noise_ceiling"].where(scores["noise_ceiling"] > 0)
    scores["r_ceiled"] = scores["r"] / np.sqrt(positive)
