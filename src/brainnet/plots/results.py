"""Figures of the gradient statistics (``gradient.nc``).

* :func:`plot_layer_region_map`: mean score per layer and region, one panel
  per band and window, with significance marks and each region's preferred
  layer outlined;
* :func:`plot_gradient`: preferred layer against region rank with the
  alignment statistics (the gradient of Guclu and van Gerven 2015 and
  Kuzovkin et al. 2018);
* :func:`plot_model_comparison`: alignment of several models (or methods);
* :func:`plot_alignment_timecourse`: alignment over sliding windows;
* :func:`plot_recovery`: recovered against planted layer per region (synthetic
  data with ground truth).

The figures are sized for a Snakemake report (8 inches, 800 pixels at 100
dpi) and drawn without pyplot, so they hold no global state and need no
display.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from scipy import stats

from brainnet.gradient import describe_gradient, planted_layer_index
from brainnet.io import atomic_path

__all__ = [
    "plot_layer_region_map",
    "plot_gradient",
    "plot_model_comparison",
    "plot_alignment_timecourse",
    "plot_recovery",
    "save_figure",
    "STYLE",
]

#: Matplotlib settings of every brainnet figure (applied with ``rc_context``).
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "svg.fonttype": "none",  # text stays text: searchable and editable
}

WIDTH = 8.0  # inches; 800 px at 100 dpi, the width of a figure in the Snakemake report

_STATISTICS = {
    "tau": ("alignment_tau", "alignment τ (significant pairs)"),
    "rho": ("alignment_rho", "alignment ρ (preferred layers)"),
    "region_rho": ("region_alignment_rho", "alignment ρ (region preferred layers)"),
}
_FORMATS = ("png", "svg")
_PREFERRED = ("preferred_layer", "preferred_layer_low", "preferred_layer_high")
_TEXT_BOX = {"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1}
_SURE_FRAME = {"ec": "black", "lw": 1.4}
_UNSURE_FRAME = {"ec": "0.4", "lw": 1.0, "ls": (0, (2, 1.5))}


def save_figure(
    fig: Figure, path: str | os.PathLike, formats: Iterable[str] = _FORMATS
) -> list[Path]:
    """Write ``fig`` once per format, atomically, beside ``path``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : path-like
        Target; its suffix is replaced by each format's (``map.png`` gives
        ``map.png`` and ``map.svg``).
    formats : iterable of str
        Matplotlib output formats.

    Returns
    -------
    paths : list of Path
        The files written.
    """
    path = Path(path)
    written = []
    with mpl.rc_context(STYLE):
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt)
            written.append(target)
    return written


_DOCS = {
    "gradient": """gradient : xarray.Dataset
        Output of :func:`brainnet.gradient.gradient_statistics`.""",
    "path": """path : path-like | None
        Where to save (see :func:`save_figure`); ``None`` only returns the figure.""",
    "subset": """band, window : str | sequence of str | None
        Subset of bands or windows to draw (all by default).""",
    "statistic": """statistic : ``"tau"`` | ``"rho"``
        Kendall's tau over significant channel-layer pairs (Kuzovkin et al.
        2018) or Spearman's rho over channel preferred layers (Guclu and van
        Gerven 2015).""",
    "alpha": """alpha : float
        Markers are filled where the permutation p is below ``alpha``.""",
    "formats": """formats : iterable of str
        Output formats.""",
    "returns": """Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; it holds no pyplot state, so nothing needs closing.""",
}


def _fill_doc(func):
    """Insert the shared parameter descriptions, MNE style (``%(name)s``)."""
    func.__doc__ = func.__doc__ % _DOCS
    return func


@_fill_doc
def plot_layer_region_map(
    gradient: xr.Dataset,
    path: str | os.PathLike | None = None,
    *,
    band: str | Sequence[str] | None = None,
    window: str | Sequence[str] | None = None,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Layer-by-region map of the mean score, one panel per band and window.

    Rows are bands, columns windows. In each panel layers run along x in
    network order and regions along y by rank (V1 at the bottom; regions
    outside the visual hierarchy above a dashed line). All panels share one
    symmetric colour scale. A dot marks a cell whose bootstrap interval of
    the region mean lies above 0; a frame marks each region's preferred
    layer (the maximum of its mean), dashed where that cell's interval
    includes 0.

    Parameters
    ----------
    %(gradient)s
    %(path)s
    %(subset)s
    %(formats)s

    %(returns)s
    """
    _require(gradient, ("score", "score_low", "preferred_layer"))
    gradient = _select(gradient, band=band, window=window)
    return _render(path, formats, _draw_map, gradient)


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

    Each visual region (``region_rank > 0``) shows the preferred layer of
    its mean score with the bootstrap interval, grey discs whose area is the
    share of the region's channels preferring each layer, and a Theil-Sen
    line through the regions' preferred layers. Each panel states the
    alignment tau (significant channel-layer pairs) and rho (channel
    preferred layers) with their permutation p.

    Parameters
    ----------
    %(gradient)s
    %(path)s
    %(subset)s
    %(formats)s

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


@_fill_doc
def plot_model_comparison(
    gradients: Mapping[str, xr.Dataset] | Sequence[xr.Dataset],
    path: str | os.PathLike | None = None,
    *,
    statistic: str = "tau",
    window: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Alignment of several models per band, one panel per window.

    Parameters
    ----------
    gradients : mapping of str to xarray.Dataset | sequence of xarray.Dataset
        Gradient datasets sharing bands and windows, labelled by the mapping
        keys or else by their ``model`` attribute.
    %(path)s
    %(statistic)s
    window : str | sequence of str | None
        Subset of windows to draw.
    %(alpha)s
    %(formats)s

    %(returns)s
    """
    variables = _statistic_variables(statistic)
    labelled = _labelled(gradients)
    for label, gradient in labelled.items():
        _require(gradient, variables)
        labelled[label] = _select(gradient, window=window)
    first_label, first = next(iter(labelled.items()))
    for label, gradient in labelled.items():
        for dim in ("band", "window"):
            if list(gradient[dim].values) != list(first[dim].values):
                raise ValueError(
                    f"plots: {dim} labels of {label!r} {list(gradient[dim].values)} differ "
                    f"from those of {first_label!r} {list(first[dim].values)}"
                )
    return _render(path, formats, _draw_comparison, labelled, statistic, alpha)


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


# --- drawing ---------------------------------------------------------------------------------


def _draw_map(gradient):
    bands, windows = gradient["band"].values, gradient["window"].values
    layers, regions = list(gradient["layer"].values), list(gradient["region"].values)
    n_visual = int((gradient["region_rank"] > 0).sum())
    width = float(np.clip(1.6 + len(windows) * (0.26 * len(layers) + 0.45), 5.0, WIDTH))
    fig, axes = _grid(len(bands), len(windows), 0.2 * len(regions) + 0.45, width, extra=1.3)
    score = gradient["score"].transpose("band", "window", "region", "layer").to_numpy()
    limit = float(np.nanmax(np.abs(score))) if np.isfinite(score).any() else 1.0
    limit = limit or 1.0
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="0.85")
    column = {int(i): pos for pos, i in enumerate(gradient["layer_index"].values)}
    above = gradient["score_low"].transpose("band", "window", "region", "layer").to_numpy() > 0
    preferred = gradient["preferred_layer"].transpose("band", "window", "region").to_numpy()
    for i, j in np.ndindex(len(bands), len(windows)):
        ax = axes[i, j]
        image = ax.imshow(
            score[i, j],
            cmap=cmap,
            vmin=-limit,
            vmax=limit,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
        )
        rows, cols = np.nonzero(above[i, j])
        ax.plot(cols, rows, ls="", marker="o", ms=2.5, mfc="black", mec="white", mew=0.4)
        for row, best in enumerate(preferred[i, j]):
            if np.isfinite(best):
                col = column[int(best)]
                frame = _SURE_FRAME if above[i, j, row, col] else _UNSURE_FRAME
                ax.add_patch(Rectangle((col - 0.5, row - 0.45), 1, 0.9, fill=False, **frame))
        if 0 < n_visual < len(regions):
            ax.axhline(n_visual - 0.5, color="0.2", lw=0.8, ls="--")
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    axes[0, 0].set_xticks(range(len(layers)), layers)
    axes[0, 0].set_yticks(range(len(regions)), regions)
    for ax in axes[-1]:
        ax.tick_params(axis="x", labelrotation=90)
    _label_grid(axes, gradient)
    fig.colorbar(
        image,
        ax=axes,
        label=gradient.attrs.get("score_label", "score"),
        shrink=min(1.0, 2 / len(bands) + 0.2),
        aspect=30,
    )
    ci = gradient.attrs.get("ci", 0.95)
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=4,
            mfc="black",
            mec="white",
            label=f"{ci:.0%} CI of the region mean above 0",
        ),
        Rectangle((0, 0), 1, 1, fill=False, label="preferred layer of the region", **_SURE_FRAME),
        Rectangle((0, 0), 1, 1, fill=False, label="... whose CI includes 0", **_UNSURE_FRAME),
    ]
    # One legend row needs about 7.5 inches; narrower maps stack the entries.
    fig.legend(
        handles=handles, loc="outside lower center", ncols=3 if width >= 7.5 else 1, frameon=False
    )
    fig.suptitle(_title(gradient, "Mean score per layer and region"))
    return fig


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
        ax.text(
            0.03,
            0.97,
            _alignment_text(cell),
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=6.5,
            bbox=_TEXT_BOX,
        )
    axes[0, 0].set_xticks(levels, _wrapped(names))
    axes[0, 0].set_xlim(levels[0] - 0.5, levels[-1] + 0.5)
    _layer_axis(axes[0, 0], gradient)
    _label_grid(axes, gradient)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{ax.get_ylabel()}\npreferred layer")
    for ax in axes[-1]:
        ax.set_xlabel("region (by rank)")
    ci = gradient.attrs.get("ci", 0.95)
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=6,
            color="0.55",
            alpha=0.45,
            label="share of the region's channels preferring the layer",
        ),
        Line2D(
            [],
            [],
            marker="o",
            ms=4,
            color="C0",
            label=f"preferred layer of the region mean ({ci:.0%} CI)",
        ),
        Line2D([], [], color="C3", ls="--", label="Theil-Sen trend over regions"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(_title(gradient, "Preferred layer along the visual hierarchy"))
    return fig


def _draw_comparison(labelled, statistic, alpha):
    variable, axis_label = _STATISTICS[statistic]
    first = next(iter(labelled.values()))
    bands, windows = first["band"].values, first["window"].values
    n_cols = min(len(windows), 3)
    n_rows = math.ceil(len(windows) / n_cols)
    fig = Figure(figsize=(WIDTH, 2.4 * n_rows + 1.0), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, sharey=True, squeeze=False)
    step = min(0.8 / len(labelled), 0.2)
    offsets = (np.arange(len(labelled)) - (len(labelled) - 1) / 2) * step
    positions = np.arange(len(bands))
    for k, window in enumerate(windows):
        ax = axes.flat[k]
        for m, gradient in enumerate(labelled.values()):
            cell = gradient.sel(window=window)
            value = cell[variable].to_numpy()
            low, high = cell[f"{variable}_low"].to_numpy(), cell[f"{variable}_high"].to_numpy()
            significant = cell[f"{variable}_p"].to_numpy() < alpha
            x = positions + offsets[m]
            colour = f"C{m % 10}"
            _interval(ax, x, None, low, high, colour)
            ax.scatter(
                x,
                value,
                s=22,
                zorder=3,
                edgecolors=colour,
                linewidths=1,
                facecolors=_faces(significant, colour),
            )
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlim(-0.6, len(bands) - 0.4)
        ax.set_xticks(
            positions,
            [_band_label(first, b) for b in bands],
            rotation=35,
            ha="right",
            rotation_mode="anchor",
        )
        ax.set_title(_window_label(first, window))
        ax.grid(axis="y", color="0.9", lw=0.6)
    for ax in axes.flat[len(windows) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(axis_label)
    ci = first.attrs.get("ci", 0.95)
    handles = [
        Line2D([], [], ls="", marker="o", ms=5, color=f"C{m % 10}", label=label)
        for m, label in enumerate(labelled)
    ]
    handles += [
        Line2D([], [], ls="", marker="o", ms=5, color="0.3", label=f"p < {alpha:g}"),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=5,
            mfc="white",
            mec="0.3",
            label=f"p ≥ {alpha:g}; bars: {ci:.0%} CI",
        ),
    ]
    fig.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False
    )
    # name the dataset or method only where every compared gradient shares it
    context = ", ".join(
        str(first.attrs[key])
        for key in ("dataset", "method")
        if key in first.attrs
        and all(g.attrs.get(key) == first.attrs[key] for g in labelled.values())
    )
    fig.suptitle("Alignment by model" + (f" ({context})" if context else ""))
    return fig


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
        ax.text(
            0.97,
            0.04,
            f"{int(match.sum())}/{len(regions)} recovered",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6.5,
            bbox=_TEXT_BOX,
            zorder=4,
        )
    axes[0, 0].set_xticks(x, _wrapped(regions))
    axes[0, 0].set_xlim(-0.5, len(regions) - 0.5)
    _layer_axis(axes[0, 0], gradient)
    _label_grid(axes, gradient)
    ci = gradient.attrs.get("ci", 0.95)
    handles = [
        Line2D([], [], ls="", marker="s", ms=7, mfc="none", mec="black", label="planted layer"),
        Line2D([], [], marker="o", ms=4, color="C2", label="recovered = planted"),
        Line2D([], [], marker="o", ms=4, color="C3", label="recovered ≠ planted"),
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=3,
        frameon=False,
        title=f"recovered: preferred layer of the region mean ({ci:.0%} CI)",
    )
    fig.suptitle(_title(gradient, "Recovered versus planted layer"))
    return fig


# --- helpers ---------------------------------------------------------------------------------


def _render(path, formats, draw, *args):
    """Draw the figure in the brainnet style and save it when ``path`` is given."""
    with mpl.rc_context(STYLE):
        fig = draw(*args)
    if path is not None:
        save_figure(fig, path, formats)
    return fig


def _preferred(cell):
    """The preferred layer of each region's mean and its bootstrap interval."""
    return tuple(cell[name].to_numpy() for name in _PREFERRED)


def _layer_axis(ax, gradient):
    """Layer names on the y axis, at their ``layer_index``."""
    layer_index = gradient["layer_index"].to_numpy()
    ax.set_yticks(layer_index, gradient["layer"].values)
    ax.set_ylim(layer_index.min() - 0.7, layer_index.max() + 0.7)


def _faces(significant, colour):
    """Marker faces: filled with ``colour`` where significant, white elsewhere."""
    return np.where(significant[:, None], mpl.colors.to_rgba(colour), mpl.colors.to_rgba("white"))


def _interval(ax, x, value, low, high, colour, zorder=2):
    """Vertical interval bars with caps, and the point unless ``value`` is None.

    Drawn from the interval ends rather than as errors around the point: a
    percentile bootstrap interval need not contain the point estimate.
    """
    ax.vlines(x, low, high, color=colour, lw=1, zorder=zorder)
    for end in (low, high):
        ax.hlines(
            end, np.asarray(x) - 0.06, np.asarray(x) + 0.06, color=colour, lw=1, zorder=zorder
        )
    if value is not None:
        ax.plot(x, value, ls="", marker="o", ms=4, color=colour, zorder=zorder)


def _grid(n_rows, n_cols, panel_height, width, extra):
    height = max(n_rows * panel_height + extra, 3.2)  # a single row still gets room
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
    return fig, axes


def _label_grid(axes, gradient):
    """Window labels above the columns, band labels left of the rows."""
    for ax, window in zip(axes[0], gradient["window"].values, strict=True):
        ax.set_title(_window_label(gradient, window))
    for ax, band in zip(axes[:, 0], gradient["band"].values, strict=True):
        ax.set_ylabel(_band_label(gradient, band, newline=True), fontweight="bold")


def _band_label(gradient, band, newline=False):
    label = str(band)
    if {"fmin", "fmax"} <= set(gradient.coords):
        fmin, fmax = (float(gradient[c].sel(band=band)) for c in ("fmin", "fmax"))
        if np.isfinite([fmin, fmax]).all():
            label += f"{chr(10) if newline else ' '}{fmin:g}-{fmax:g} Hz"
    return label


def _window_label(gradient, window):
    if {"tmin", "tmax"} <= set(gradient.coords):
        tmin, tmax = (float(gradient[c].sel(window=window)) for c in ("tmin", "tmax"))
        if np.isfinite([tmin, tmax]).all():
            return f"{tmin * 1000:g}-{tmax * 1000:g} ms"
    return str(window)


def _alignment_text(cell):
    tau, tau_p = float(cell["alignment_tau"]), float(cell["alignment_tau_p"])
    rho, rho_p = float(cell["alignment_rho"]), float(cell["alignment_rho_p"])
    return f"τ = {tau:.2f}, p = {tau_p:.2g}\nρ = {rho:.2f}, p = {rho_p:.2g}"


def _title(gradient, what):
    attrs = gradient.attrs
    parts = [str(attrs[key]) for key in ("model", "dataset") if key in attrs]
    context = " on ".join(parts)
    if "method" in attrs:
        context = f"{context}, {attrs['method']}" if context else str(attrs["method"])
    return f"{what}" + (f" ({context})" if context else "")


def _wrapped(names):
    """Region names broken after hyphens, so long names fit under narrow columns."""
    return [str(name).replace("-", "-\n") for name in names]


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


def _labelled(gradients):
    if isinstance(gradients, Mapping):
        labelled = {str(label): gradient for label, gradient in gradients.items()}
    else:
        labelled = {}
        for gradient in gradients:
            if "model" not in gradient.attrs:
                raise ValueError(
                    "plots: pass a mapping of labels to gradients, or gradients "
                    "with a 'model' attribute"
                )
            label = str(gradient.attrs["model"])
            if label in labelled:
                raise ValueError(
                    f"plots: two gradients of model {label!r}; pass a mapping with distinct labels"
                )
            labelled[label] = gradient
    if not labelled:
        raise ValueError("plots: no gradient to compare")
    return labelled
