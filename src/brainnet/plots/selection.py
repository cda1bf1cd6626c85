"""Checks and selections of gradient Datasets before a figure is drawn.

A figure fails before drawing anything when a variable, band or window it
needs is missing, with a message naming the gradient (its dataset, model and
method) and what it holds.
"""

from __future__ import annotations

import xarray as xr

from brainnet.gradient import STATISTIC_NAMES, describe_gradient

# Each statistic's variable and axis label: its distinct name (pair-, channel- or
# region-level) and what it correlates.
_STATISTICS = {
    "tau": ("alignment_tau", f"{STATISTIC_NAMES['alignment_tau']} (significant pairs)"),
    "rho": ("alignment_rho", f"{STATISTIC_NAMES['alignment_rho']} (channel preferred layers)"),
    "region_rho": (
        "region_alignment_rho",
        f"{STATISTIC_NAMES['region_alignment_rho']} (region preferred layers)",
    ),
}
_PREFERRED = ("preferred_layer", "preferred_layer_low", "preferred_layer_high")


def _preferred(cell):
    """The preferred layer of each region's mean and its bootstrap interval."""
    return tuple(cell[name].to_numpy() for name in _PREFERRED)


def _statistic_variables(statistic):
    if statistic not in _STATISTICS:
        raise ValueError(f"plots: statistic must be one of {list(_STATISTICS)}, got {statistic!r}")
    variable = _STATISTICS[statistic][0]
    return (variable, f"{variable}_low", f"{variable}_high", f"{variable}_p")


def _require(gradient, names):
    if not isinstance(gradient, xr.Dataset):
        raise TypeError(
            f"plots: expected a gradient xarray.Dataset, got {type(gradient).__name__}"
        )
    missing = [name for name in names if name not in gradient.variables]
    if missing:
        raise KeyError(
            f"plots: {describe_gradient(gradient)} lacks {missing}; it holds "
            f"{sorted(gradient.data_vars)}"
        )


def _select(gradient, band=None, window=None):
    for dim, chosen in (("band", band), ("window", window)):
        if chosen is None:
            continue
        names = [chosen] if isinstance(chosen, str) else list(chosen)
        available = [str(v) for v in gradient[dim].values]
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ValueError(
                f"plots: {dim} {unknown} not in {describe_gradient(gradient)}; it has {available}"
            )
        gradient = gradient.sel({dim: names})
    return gradient
