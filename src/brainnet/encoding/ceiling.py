"""Noise ceilings: how well any model could predict each target, and scores ceiled by it.

The reliability is the Spearman-Brown corrected split-half correlation of the
mean response; the ceiled score is Spearman's correction for attenuation,
``r / sqrt(noise_ceiling)``.

A reliability near zero is mostly sampling error, and dividing by its root
blows the ceiled score up (a reliability of 0.001 multiplies r by 30). The
ceiling is therefore NaN, with the reason in ``noise_ceiling_reason`` and no
ceiled score, below a floor that is the larger of

- ``min_reliability`` of :func:`~brainnet.encoding.fit_encoding` (default
  :data:`DEFAULT_MIN_RELIABILITY`, 0.1): the correction multiplies r by at
  most 3.2;
- the reliability whose split-half correlation is significant at one-sided
  p = 0.05 for the number of stimuli ``n`` (Fisher z, ``r_h > tanh(1.645 /
  sqrt(n - 3))``): a ceiling indistinguishable from 0 is no ceiling. This
  floor is 0.28 for 100 stimuli, 0.21 for 200, 0.12 for 640 and 0.09 for 1200.

Sampling error. Above the floor ``r_ceiled`` estimates the correlation of
the model with the noiseless response, which lies in [-1, 1]; its estimate
can leave that range by sampling error. By the delta method, with ``n``
stimuli, reliability ``c`` and split-half correlation ``r_h``, its standard
error is about::

    se = sqrt((1 - r**2)**2 / (n * c) + r**2 * se_c**2 / (4 * c**3)),
    se_c = 2 * (1 - r_h) / ((1 + r_h) * sqrt(n))

the first term from r, the second from the reliability. Under normal
sampling, a ceiled score leaves ``[-1 - 3 se, 1 + 3 se]`` for about 0.1% of
targets (tested on a plant with known ceilings).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from brainnet.encoding.inputs import _check_targets
from brainnet.responses import RESPONSE_DIMS

#: Default reliability floor of the noise ceiling.
DEFAULT_MIN_RELIABILITY = 0.1
#: One-sided level at which the split-half correlation must be positive.
_SIGNIFICANCE = 0.05


def _check_min_reliability(min_reliability: float) -> None:
    if not 0 <= min_reliability < 1:
        raise ValueError(f"min_reliability must be in [0, 1), got {min_reliability!r}")


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
        model's correlation is therefore bounded by ``sqrt(ceiling)``. No
        floor is applied here (see :func:`~brainnet.encoding.fit_encoding`).
    """
    if split_half.sizes.get("half") != 2 or "stimulus" not in split_half.dims:
        raise ValueError(
            f"split_half needs dims 'half' (size 2) and 'stimulus', got {dict(split_half.sizes)}"
        )
    r = xr.corr(split_half.isel(half=0), split_half.isel(half=1), dim="stimulus")
    ceiling = 2 * r / (1 + r)
    ceiling.name = "noise_ceiling"
    return ceiling


def _reliability(aligned: xr.Dataset, template: xr.DataArray) -> xr.DataArray:
    """The Spearman-Brown reliability of every target; NaN without ``split_half``."""
    if "split_half" not in aligned:
        return xr.full_like(template, np.nan, dtype=np.float64).reset_coords(drop=True)
    halves = aligned["split_half"].transpose("half", *RESPONSE_DIMS)
    # a constant half has no reliability: its ceiling is NaN, not an error
    _check_targets(
        halves.values.reshape(-1, template.size), template, "split_half", allow_constant=True
    )
    return noise_ceiling(halves).reset_coords(drop=True)


def _significant_reliability(n_stimuli: int) -> float:
    """The reliability whose split-half r is significant at one-sided
    :data:`_SIGNIFICANCE` for ``n_stimuli`` (Fisher z test of r = 0)."""
    r_half = np.tanh(stats.norm.isf(_SIGNIFICANCE) / np.sqrt(max(n_stimuli - 3, 1)))
    return float(2 * r_half / (1 + r_half))


def _add_ceiling(
    scores: xr.Dataset, aligned: xr.Dataset, template: xr.DataArray, min_reliability: float
) -> None:
    """Add ``reliability``, ``noise_ceiling`` (NaN below the floor),
    ``noise_ceiling_reason`` and ``r_ceiled`` to ``scores``."""
    reliability = _reliability(aligned, template)
    values = reliability.values
    reason = np.full(template.shape, "ok", dtype=object)
    if "split_half" not in aligned:
        reason[:] = "no split_half in the responses"
    else:
        significant = _significant_reliability(aligned.sizes["stimulus"])
        reason[np.isnan(values)] = "a split half is constant over stimuli"
        reason[values < significant] = (
            f"split-half r not significant (one-sided p > {_SIGNIFICANCE:g}): "
            f"reliability below {significant:.3f}"
        )
        reason[values < min_reliability] = f"reliability below min_reliability={min_reliability:g}"
    scores["reliability"] = reliability
    scores["noise_ceiling"] = reliability.where(reason == "ok")
    scores["noise_ceiling_reason"] = (template.dims, reason.astype(str))
    scores["r_ceiled"] = scores["r"] / np.sqrt(scores["noise_ceiling"])
