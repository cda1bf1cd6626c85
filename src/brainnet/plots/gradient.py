"""The gradient figure: preferred layer against region rank, one panel per band and window.

The gradient of Guclu and van Gerven (2015) and Kuzovkin et al. (2018): each
visual region's preferred layer with its bootstrap interval, the share of its
channels preferring each layer, a Theil-Sen trend, and the alignment
statistics of the panel.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from brainnet.gradient import describe_gradient
from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _grid, _render
from brainnet.plots.panels import _interval, _interval_entry, _layer_axes, _marker, _note, _title
from brainnet.plots.selection import (
    _PREFERRED,
    _preferred,
    _require,
    _select,
    _statistic_variables,
)


@_fill_doc
def plot_gradient(
    gradient: xr.Dataset,
    path: str | os.PathLike | None = None,
    *,
    band: str | Sequence[str] | None = None,
    window: str | Sequence[str] | None = None,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Preferred layer against region rank, one panel per band and window.

    Each visual region (``region_rank > 0``) with a significant match
    shows its preferred layer with the span of the layers tied to it, grey
    discs whose area is the share of the region's channels (region-level
    RSA: subjects) preferring each layer, and a Theil-Sen line through the
    regions' preferred layers. Each panel states the alignment statistics
    with their permutation p, the test of a gradient: tau (significant
    channel-layer pairs) and rho (channel preferred layers) for channel
    scores, and the region alignment rho (region preferred layers).

    Parameters
    ----------
    %(panels)s

    %(returns)s
    """
    _require(
        gradient,
        (*_PREFERRED, "n_preferring", *_statistic_variables("tau"), *_statistic_variables("rho")),
    )
    gradient = _select(gradient, band=band, window=window)
    visual = gradient.isel(region=np.flatnonzero(gradient["region_rank"].to_numpy() > 0))
    if visual.sizes["region"] == 0:
        raise ValueError(
            f"plots: {describe_gradient(gradient)} has no region with region_rank > 0"
        )
    return _render(path, formats, _draw_gradient, visual)


def _draw_gradient(gradient):
    bands, windows = gradient["band"].values, gradient["window"].values
    ranks = gradient["region_rank"].to_numpy()
    levels = np.unique(ranks)
    names = [
        "\n".join(str(r) for r in gradient["region"].values[ranks == level]) for level in levels
    ]
    layer_index = gradient["layer_index"].to_numpy()
    fig, axes = _grid(len(bands), len(windows), 1.55, WIDTH, extra=1.2)
    for i, j in np.ndindex(len(bands), len(windows)):
        ax = axes[i, j]
        cell = gradient.isel(band=i, window=j)
        counts = cell["n_preferring"].transpose("region", "layer").to_numpy()
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.scatter(
            np.repeat(ranks, len(layer_index)),
            np.tile(layer_index, len(ranks)),
            s=share.ravel() * 150,
            color="0.55",
            alpha=0.45,
            lw=0,
        )
        best, low, high = _preferred(cell)
        ok = np.isfinite(best)
        _interval(ax, ranks[ok], best[ok], low[ok], high[ok], "C0")
        if len(np.unique(ranks[ok])) >= 2:
            slope, intercept, *_ = stats.theilslopes(best[ok], ranks[ok])
            ends = np.array([levels[0], levels[-1]])
            ax.plot(ends, intercept + slope * ends, color="C3", lw=1.2, ls="--", zorder=1.5)
        _note(ax, 0.03, 0.97, _alignment_text(cell), va="top", ha="left")
    _layer_axes(axes, gradient, levels, names)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{ax.get_ylabel()}\npreferred layer")
    for ax in axes[-1]:
        ax.set_xlabel("region (by rank)")
    ci = gradient.attrs.get("ci", 0.95)
    handles = [
        _marker(
            "share of the region's channels (or subjects) preferring the layer",
            ms=6,
            color="0.55",
            alpha=0.45,
        ),
        _interval_entry(f"preferred layer; bar: layers tied to it ({ci:.0%})", "C0"),
        Line2D([], [], color="C3", ls="--", label="Theil-Sen trend over regions"),
        _marker("p: permutation test of a gradient", marker="", color="none"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(_title(gradient, "Preferred layer along the visual hierarchy"))
    return fig


def _alignment_text(cell):
    """The panel's alignment statistics with their permutation p (those that are defined)."""
    lines = []
    for variable, name in (
        ("alignment_tau", "τ"),
        ("alignment_rho", "ρ"),
        ("region_alignment_rho", "region ρ"),
    ):
        if variable in cell and np.isfinite(float(cell[variable])):
            lines.append(
                f"{name} = {float(cell[variable]):.2f}, p = {float(cell[f'{variable}_p']):.2g}"
            )
    return "\n".join(lines) or "no alignment (fewer than 3 matched ranks)"
