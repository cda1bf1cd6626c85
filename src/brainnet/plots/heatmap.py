"""The layer-by-region map: mean score per layer and region, one panel per band and window."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _grid, _render
from brainnet.plots.panels import _label_grid, _marker, _title
from brainnet.plots.selection import _require, _select

_SURE_FRAME = {"ec": "black", "lw": 1.4}
#: How the legend names the correction behind the channels' significance.
_CORRECTIONS = {
    "fdr": "FDR",
    "maxstat": "max-T FWER over bands x windows",
    "cluster": "cluster FWER over bands x windows",
    "p": "uncorrected p",
}
# a white triangle with a black edge reads on red and blue cells alike
_SIGNIFICANT = {"marker": "^", "ms": 3.4, "mfc": "white", "mec": "black", "mew": 0.6}
_MOST = 0.5  # share of a region's channels that makes a cell 'mostly significant'
_UNSURE_FRAME = {"ec": "0.4", "lw": 1.0, "ls": (0, (2, 1.5))}


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
    layer (the maximum of its mean, drawn only where the region has a
    significant match), dashed where that cell's interval includes 0; a bar
    under a cell marks a layer tied to the preferred one (not told apart
    from it). Region-level RSA adds each region's noise ceiling (lower to
    upper bound) right of its row. Where the gradient has
    ``fraction_significant``, a triangle in a cell's upper right corner marks
    a layer significant, after the scoring stage's correction (the
    gradient's ``correction`` attribute: FDR, or the family-wise max-T or
    cluster correction over each channel's bands and windows), for at least
    half of the region's channels (for region-level RSA: for the region).

    Parameters
    ----------
    %(panels)s

    %(returns)s
    """
    _require(gradient, ("score", "score_low", "preferred_layer"))
    gradient = _select(gradient, band=band, window=window)
    return _render(path, formats, _draw_map, gradient)


def _draw_map(gradient):
    bands, windows = gradient["band"].values, gradient["window"].values
    layers, regions = list(gradient["layer"].values), list(gradient["region"].values)
    ceiling = _ceilings(gradient)
    columns = len(layers) + (1.8 if ceiling is not None else 0.0)
    width = float(np.clip(1.6 + len(windows) * (0.26 * columns + 0.45), 5.0, WIDTH))
    fig, axes = _grid(len(bands), len(windows), 0.2 * len(regions) + 0.45, width, extra=1.3)
    marks = _marks(gradient)
    limit = float(np.nanmax(np.abs(marks["score"]))) if np.isfinite(marks["score"]).any() else 1.0
    n_visual = int((gradient["region_rank"] > 0).sum())
    for i, j in np.ndindex(len(bands), len(windows)):
        cell = {
            name: None if value is None else value[i, j]
            for name, value in marks.items()
            if name != "column"
        }
        image = _draw_panel(axes[i, j], cell, limit or 1.0, marks["column"])
        if ceiling is not None:
            _ceiling_text(axes[i, j], ceiling[:, i, j], len(layers))
        if 0 < n_visual < len(regions):
            axes[i, j].axhline(n_visual - 0.5, color="0.2", lw=0.8, ls="--")
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
    _map_legend(fig, gradient, marks["mostly"] is not None, ceiling is not None, width)
    fig.suptitle(_title(gradient, "Mean score per layer and region"))
    return fig


def _marks(gradient) -> dict:
    """What each panel draws, as ``(band, window, region[, layer])`` arrays."""

    def cells(name):
        return gradient[name].transpose("band", "window", "region", "layer").to_numpy()

    score = cells("score")
    return {
        "score": score,
        "above": cells("score_low") > 0,
        "preferred": gradient["preferred_layer"].transpose("band", "window", "region").to_numpy(),
        "mostly": cells("fraction_significant") >= _MOST
        if "fraction_significant" in gradient
        else None,
        "tied": cells("tied") if "tied" in gradient else np.zeros(score.shape, dtype=bool),
        # a layer's column from its layer_index (preferred layers are indices)
        "column": {int(i): pos for pos, i in enumerate(gradient["layer_index"].values)},
    }


def _draw_panel(ax, cell: dict, limit: float, column: dict):
    """One band-window: scores, CI dots, significance, preferred-layer frames, ties."""
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="0.85")
    image = ax.imshow(
        cell["score"],
        cmap=cmap,
        vmin=-limit,
        vmax=limit,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
    )
    rows, cols = np.nonzero(cell["above"])
    ax.plot(cols, rows, ls="", marker="o", ms=2.5, mfc="black", mec="white", mew=0.4)
    if cell["mostly"] is not None:
        rows, cols = np.nonzero(cell["mostly"])
        ax.plot(cols + 0.3, rows + 0.25, ls="", **_SIGNIFICANT)
    for row, best in enumerate(cell["preferred"]):
        if np.isfinite(best):
            col = column[int(best)]
            frame = _SURE_FRAME if cell["above"][row, col] else _UNSURE_FRAME
            ax.add_patch(Rectangle((col - 0.5, row - 0.45), 1, 0.9, fill=False, **frame))
    for row, col in zip(*np.nonzero(cell["tied"]), strict=True):
        ax.hlines(row - 0.36, col - 0.42, col + 0.42, color="black", lw=1.8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def _map_legend(fig, gradient, significance: bool, ceiling: bool, width: float) -> None:
    ci = gradient.attrs.get("ci", 0.95)
    handles = [
        _marker(f"{ci:.0%} CI of the region mean above 0", ms=4, mfc="black", mec="white"),
        Rectangle((0, 0), 1, 1, fill=False, label="preferred layer of the region", **_SURE_FRAME),
        Rectangle((0, 0), 1, 1, fill=False, label="... whose CI includes 0", **_UNSURE_FRAME),
        Line2D([], [], color="black", lw=1.8, label="layer tied to the preferred one"),
    ]
    if significance:
        name = gradient.attrs.get("correction", "fdr")
        correction = _CORRECTIONS.get(name, name)
        handles.append(
            _marker(f"layer significant for >= half the channels ({correction})", **_SIGNIFICANT)
        )
    if ceiling:
        handles.append(_marker("right: noise ceiling, lower-upper", marker="", color="none"))
    # One legend row needs about 7.5 inches; narrower maps stack the entries.
    fig.legend(
        handles=handles, loc="outside lower center", ncols=2 if width >= 7.5 else 1, frameon=False
    )


def _ceilings(gradient):
    """Lower and upper noise ceiling ``(2, band, window, region)``, or None without them."""
    names = ("noise_ceiling_lower", "noise_ceiling_upper")
    if not all(name in gradient for name in names):
        return None
    return np.stack(
        [gradient[name].transpose("band", "window", "region").to_numpy() for name in names]
    )


def _ceiling_text(ax, ceiling, n_layers):
    """Each region's noise ceiling right of its row (``ceiling`` is ``(2, region)``)."""
    for row, (lower, upper) in enumerate(ceiling.T):
        if np.isfinite([lower, upper]).all():
            ax.text(n_layers - 0.4, row, f"{lower:.2f}-{upper:.2f}", fontsize=5, va="center")
    ax.set_xlim(-0.5, n_layers + 1.3)
