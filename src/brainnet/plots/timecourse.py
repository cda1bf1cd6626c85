"""The alignment time course: alignment over sliding windows, one line per band."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _render
from brainnet.plots.panels import _band_label, _faces, _title
from brainnet.plots.selection import _STATISTICS, _require, _select, _statistic_variables


@_fill_doc
def plot_alignment_timecourse(
    gradient: xr.Dataset,
    path: str | os.PathLike | None = None,
    *,
    statistic: str = "tau",
    band: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Alignment over windows (time course), one line per band.

    The x axis is the window centre in ms when the windows carry ``tmin`` and
    ``tmax`` (seconds), else the window labels in order. Shading is the
    bootstrap interval.

    Parameters
    ----------
    %(gradient)s
    %(path)s
    %(statistic)s
    band : str | sequence of str | None
        Subset of bands.
    %(alpha)s
    %(formats)s

    %(returns)s
    """
    _require(gradient, _statistic_variables(statistic))
    gradient = _select(gradient, band=band)
    return _render(path, formats, _draw_timecourse, gradient, statistic, alpha)


def _draw_timecourse(gradient, statistic, alpha):
    variable, axis_label = _STATISTICS[statistic]
    windows = gradient["window"].values
    if {"tmin", "tmax"} <= set(gradient.coords) and np.isfinite(gradient["tmin"]).all():
        x = ((gradient["tmin"] + gradient["tmax"]) / 2 * 1000).to_numpy()
        x_label, ticks = "window centre (ms)", None
    else:
        x, x_label, ticks = np.arange(len(windows)), "window", [str(w) for w in windows]
    fig = Figure(figsize=(WIDTH, 3.2), layout="constrained")
    ax = fig.subplots()
    for k, band in enumerate(gradient["band"].values):
        cell = gradient.sel(band=band)
        colour = f"C{k % 10}"
        value = cell[variable].to_numpy()
        ax.fill_between(
            x, cell[f"{variable}_low"], cell[f"{variable}_high"], color=colour, alpha=0.15, lw=0
        )
        ax.plot(x, value, color=colour, lw=1.2, label=_band_label(gradient, band))
        significant = cell[f"{variable}_p"].to_numpy() < alpha
        ax.scatter(
            x,
            value,
            s=14,
            zorder=3,
            edgecolors=colour,
            facecolors=_faces(significant, colour),
        )
    ax.axhline(0, color="0.5", lw=0.8)
    if ticks is not None:
        ax.set_xticks(x, ticks, rotation=45, ha="right")
    ax.set_xlabel(x_label)
    ax.set_ylabel(axis_label)
    fig.legend(
        loc="outside right upper",
        frameon=False,
        title=f"filled: p < {alpha:g}\nshading: {gradient.attrs.get('ci', 0.95):.0%} CI",
        alignment="left",
    )
    fig.suptitle(_title(gradient, "Alignment over time"))
    return fig
