"""Ground-truth recovery: recovered against planted layer per region (synthetic data)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainnet.gradient import planted_layer_index
from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _grid, _render
from brainnet.plots.panels import _interval, _interval_entry, _layer_axes, _marker, _note, _title
from brainnet.plots.selection import _PREFERRED, _preferred, _require, _select


@_fill_doc
def plot_recovery(
    gradient: xr.Dataset,
    planted: Mapping[str, str],
    path: str | os.PathLike | None = None,
    *,
    band: str | Sequence[str] | None = None,
    window: str | Sequence[str] | None = None,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Recovered against planted layer per region, one panel per band and window.

    Parameters
    ----------
    %(gradient)s
        Computed on data with a known answer.
    planted : mapping of str to str
        Region name to the layer whose features were planted in it.
    %(path)s
    %(subset)s
    %(formats)s

    %(returns)s
    """
    _require(gradient, _PREFERRED)
    planted_index = planted_layer_index(gradient, planted)
    gradient = _select(gradient, band=band, window=window)
    return _render(
        path, formats, _draw_recovery, gradient.sel(region=list(planted_index)), planted_index
    )


def _draw_recovery(gradient, planted_index):
    bands, windows = gradient["band"].values, gradient["window"].values
    regions = list(planted_index)
    truth = np.array([planted_index[r] for r in regions], dtype=float)
    x = np.arange(len(regions))
    fig, axes = _grid(len(bands), len(windows), 1.45, WIDTH, extra=1.2)
    for i, j in np.ndindex(len(bands), len(windows)):
        ax = axes[i, j]
        cell = gradient.isel(band=i, window=j)
        best, low, high = _preferred(cell)
        ax.scatter(
            x, truth, marker="s", s=60, facecolors="none", edgecolors="black", lw=1.1, zorder=2
        )
        match = best == truth
        for hit, colour in ((True, "C2"), (False, "C3")):
            keep = (match == hit) & np.isfinite(best)
            _interval(ax, x[keep], best[keep], low[keep], high[keep], colour, zorder=3)
        covered = int(((low <= truth) & (truth <= high)).sum())
        recovered = (
            f"{int(match.sum())}/{len(regions)} recovered, {covered} within the tied layers"
        )
        _note(ax, 0.97, 0.04, recovered, ha="right", va="bottom", zorder=4)
    _layer_axes(axes, gradient, x, regions)
    ci = gradient.attrs.get("ci", 0.95)
    handles = [
        _marker("planted layer", marker="s", ms=7, mfc="none", mec="black"),
        _interval_entry("recovered = planted", "C2"),
        _interval_entry("recovered ≠ planted", "C3"),
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=3,
        frameon=False,
        title=f"recovered: preferred layer of the region mean; bar: layers tied to it ({ci:.0%})",
    )
    fig.suptitle(_title(gradient, "Recovered versus planted layer"))
    return fig
