"""Model comparison: the alignment of several models (or methods) per band, a panel per window."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _render
from brainnet.plots.panels import _band_label, _faces, _interval, _marker, _window_label
from brainnet.plots.selection import _STATISTICS, _require, _select, _statistic_variables


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
    handles = [_marker(label, ms=5, color=f"C{m % 10}") for m, label in enumerate(labelled)]
    handles += [
        _marker(f"p < {alpha:g}", ms=5, color="0.3"),
        _marker(f"p ≥ {alpha:g}; bars: {ci:.0%} CI", ms=5, mfc="white", mec="0.3"),
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
