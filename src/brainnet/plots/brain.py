"""Contacts on a glass brain, coloured by their preferred layer (Kuzovkin et al. 2018, Fig. 3).

Each recording contact sits at its MNI position on nilearn's glass brain
(the template outlines ship with nilearn, nothing is downloaded), coloured by
the network layer it matches best among its significant layers; contacts
without a significant layer are small and grey. One row of views per band
and window of interest: by default those with the strongest significant
region-level alignment. Contacts without coordinates are counted, not drawn;
when no contact has coordinates the figure says so instead of drawing a brain.

nilearn is imported with this module, which is therefore imported on its own
(``from brainnet.plots.brain import plot_glass_brain``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from nilearn import plotting

from brainnet.gradient import RECOMMENDED, STATISTIC_NAMES, describe_gradient, strongest_alignment
from brainnet.plots.figure import _FORMATS, WIDTH, _render
from brainnet.plots.panels import _band_label, _marker, _title, _window_label
from brainnet.plots.selection import _require

_VIEWS = "lyrz"  # left, back, right, top: the ventral stream from every side
_UNKNOWN = "0.6"


def plot_glass_brain(
    preferred: xr.DataArray,
    gradient: xr.Dataset,
    path: str | os.PathLike | None = None,
    *,
    cells: Sequence[tuple[str, str]] | None = None,
    planted_band: Sequence[float] | None = None,
    max_panels: int = 3,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Contacts on a glass brain coloured by preferred layer, one row per band and window.

    Parameters
    ----------
    preferred : xarray.DataArray
        ``(channel, band, window)`` layer index of each channel's preferred
        layer, NaN where none (:func:`brainnet.gradient.channel_preferred_layers`),
        with the channel coordinates ``x``, ``y``, ``z`` (MNI, mm; NaN when
        unknown).
    gradient : xarray.Dataset
        The gradient of the same scores
        (:func:`brainnet.gradient.gradient_statistics`): layer names, and the
        region-level alignment that chooses and titles the rows.
    path : path-like | None
        Where to save (see :func:`brainnet.plots.save_figure`).
    cells : sequence of (band, window) | None
        The rows; by default the strongest significant window of each band,
        strongest first (:func:`brainnet.gradient.strongest_alignment`), at
        most ``max_panels``; when nothing is significant, the band and window
        with the most contacts that have a preferred layer.
    planted_band : (float, float) | None
        Frequency range (Hz) of a planted signal: the default rows are then
        chosen among the bands that overlap it.
    max_panels : int
        Most rows chosen by default.
    formats : iterable of str
        Output formats.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; it holds no pyplot state, so nothing needs closing.
    """
    _require(gradient, ("preferred_layer", RECOMMENDED, f"{RECOMMENDED}_p"))
    missing = [c for c in ("x", "y", "z") if c not in preferred.coords]
    if missing:
        raise KeyError(f"plots: the preferred layers lack the channel coordinates {missing}")
    if cells is None:
        cells = _cells_of_interest(preferred, gradient, planted_band, max_panels)
    for band, window in cells:
        if band not in preferred["band"] or window not in preferred["window"]:
            raise ValueError(
                f"plots: band {band!r}, window {window!r} is not in the preferred layers of "
                f"{describe_gradient(gradient)}"
            )
    return _render(path, formats, _draw_brains, preferred, gradient, list(cells))


def _cells_of_interest(preferred, gradient, planted_band, max_panels):
    """The strongest significant window of each band; else the cell with most preferences."""
    cells, bands = [], set()
    for band, window in strongest_alignment(gradient, planted_band=planted_band):
        if band not in bands:
            bands.add(band)
            cells.append((band, window))
    if cells:
        return cells[:max_panels]
    counts = np.isfinite(preferred).sum("channel")
    best = counts.argmax(...)
    return [
        (str(counts["band"][best["band"]].item()), str(counts["window"][best["window"]].item()))
    ]


def _draw_brains(preferred, gradient, cells):
    xyz = np.stack([preferred[c].to_numpy().astype(float) for c in ("x", "y", "z")], axis=1)
    known = np.isfinite(xyz).all(axis=1)
    if not known.any():
        return _no_coordinates(preferred, gradient)
    layers = [str(name) for name in gradient["layer"].values]
    cmap = mpl.colormaps["viridis"].resampled(len(layers))
    norm = mpl.colors.BoundaryNorm(np.arange(len(layers) + 1) - 0.5, len(layers))
    position = {int(index): k for k, index in enumerate(gradient["layer_index"].to_numpy())}
    # nilearn places its views inside the given axes but outside any layout engine,
    # so the rows are laid out by hand, in inches from the top.
    height = _TOP + _ROW * len(cells) + _BOTTOM
    fig = Figure(figsize=(WIDTH, height))
    for k, (band, window) in enumerate(cells):
        top = 1 - (_TOP + _ROW * k) / height
        ax = fig.add_axes((0.01, top - _ROW / height, 0.98, (_ROW - 0.3) / height))
        cell = preferred.sel(band=band, window=window).to_numpy()[known]
        has = np.isfinite(cell)
        display = plotting.plot_glass_brain(
            None, display_mode=_VIEWS, figure=fig, axes=ax, annotate=False
        )
        if (~has).any():
            display.add_markers(xyz[known][~has], marker_color=_UNKNOWN, marker_size=4)
        if has.any():
            colours = cmap(norm([position[int(i)] for i in cell[has]]))
            display.add_markers(xyz[known][has], marker_color=colours, marker_size=14)
        title = _row_title(gradient, band, window, int(has.sum()), len(cell))
        fig.text(0.5, top - 0.05 / height, title, ha="center", va="top", fontsize=8)
    bar = fig.add_axes((0.2, 0.75 / height, 0.6, 0.14 / height))
    colorbar = fig.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap),
        cax=bar,
        orientation="horizontal",
        ticks=np.arange(len(layers)),
    )
    colorbar.ax.set_xticklabels(layers)
    colorbar.set_label("preferred layer (best significant layer of the contact)")
    handles = [_marker("no significant layer", ms=3, color=_UNKNOWN)]
    if not known.all():
        handles.append(_marker(f"{int((~known).sum())} contacts without coordinates not shown"))
    fig.legend(handles=handles, loc="lower center", frameon=False, ncols=2)
    fig.suptitle(_title(gradient, "Contacts by preferred layer"), y=1 - 0.08 / height)
    return fig


# Heights in inches: the figure title, one row of views with its title, colour bar and legend.
_TOP, _ROW, _BOTTOM = 0.35, 2.35, 1.2


def _row_title(gradient, band, window, n_preferring, n_contacts):
    cell = gradient.sel(band=band, window=window)
    rho, p = float(cell[RECOMMENDED]), float(cell[f"{RECOMMENDED}_p"])
    statistic = (
        f"{STATISTIC_NAMES[RECOMMENDED]} = {rho:.2f}, p = {p:.3g}"
        if np.isfinite(rho)
        else f"{STATISTIC_NAMES[RECOMMENDED]} undefined"
    )
    return (
        f"{_band_label(gradient, band)}, {_window_label(gradient, window)}: {statistic}; "
        f"{n_preferring} of {n_contacts} contacts with a significant layer"
    )


def _no_coordinates(preferred, gradient):
    """A figure that says why there is no brain to show."""
    fig = Figure(figsize=(WIDTH, 1.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        f"contact coordinates unknown: none of the {preferred.sizes['channel']} channels "
        "has x, y, z (MNI), so no contact is placed on the brain",
        ha="center",
        va="center",
        wrap=True,
    )
    fig.suptitle(_title(gradient, "Contacts by preferred layer"))
    return fig
