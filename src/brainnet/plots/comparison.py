"""Model comparison: the alignment of several models (or methods) per band, a panel per window.

With paired comparisons (:func:`brainnet.gradient.compare_models`) the figure
adds the differences between pairs of models: of region-level alignment per
band and window, and of peak region means as one map per pair and method.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from brainnet.gradient import RECOMMENDED, alignment_undefined
from brainnet.plots.figure import _FORMATS, WIDTH, _fill_doc, _render
from brainnet.plots.panels import _band_label, _faces, _interval, _marker, _note, _window_label
from brainnet.plots.selection import _STATISTICS, _require, _select, _statistic_variables


@_fill_doc
def plot_model_comparison(
    gradients: Mapping[str, xr.Dataset] | Sequence[xr.Dataset],
    path: str | os.PathLike | None = None,
    *,
    statistic: str = "tau",
    window: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    comparisons: xr.Dataset | Sequence[xr.Dataset] | None = None,
    formats: Iterable[str] = _FORMATS,
) -> Figure:
    """Alignment of several models per band, one panel per window, and their paired differences.

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
    comparisons : xarray.Dataset | sequence of xarray.Dataset | None
        Paired tests between models (:func:`brainnet.gradient.compare_models`,
        one per method) on the same bands and windows. Adds, for each pair and method, the
        difference of region-level alignment per band (one panel per window)
        and a map of the differences of peak region means (region by band and
        window); differences with a paired permutation p below ``alpha`` are
        filled (alignment) or dotted (map).
    %(formats)s

    %(returns)s
    """
    variables = _statistic_variables(statistic)
    labelled = _labelled(gradients)
    for label, gradient in labelled.items():
        _require(gradient, variables)
        labelled[label] = _select(gradient, window=window)
    first_label, first = next(iter(labelled.items()))
    others = [(label, gradient) for label, gradient in labelled.items()]
    if comparisons is not None:
        comparisons = _checked_comparisons(comparisons, window)
        others += [(f"the {c.attrs.get('method', '')} comparisons", c) for c in comparisons]
    for label, other in others:
        for dim in ("band", "window"):
            if list(other[dim].values) != list(first[dim].values):
                raise ValueError(
                    f"plots: {dim} labels of {label!r} {list(other[dim].values)} differ "
                    f"from those of {first_label!r} {list(first[dim].values)}"
                )
    return _render(path, formats, _draw_comparison, labelled, statistic, alpha, comparisons)


def _draw_comparison(labelled, statistic, alpha, comparisons):
    variable, axis_label = _STATISTICS[statistic]
    first = next(iter(labelled.values()))
    n_rows = math.ceil(first.sizes["window"] / 3)
    models = {label: _series(gradient, variable) for label, gradient in labelled.items()}
    if comparisons is None:
        fig = Figure(figsize=(WIDTH, 2.4 * n_rows + 1.0), layout="constrained")
        _window_panels(fig, first, models, axis_label, alpha)
    else:
        n_maps = sum(c.sizes["pair"] for c in comparisons)
        heights = [2.4 * n_rows + 1.0] * 2 + [2.0 * math.ceil(n_maps / 3) + 0.6]
        fig = Figure(figsize=(WIDTH, sum(heights)), layout="constrained")
        top, middle, bottom = fig.subfigures(3, 1, height_ratios=heights)
        _window_panels(top, first, models, axis_label, alpha)
        pairs = {
            label: _series(cell, "region_alignment_rho_difference")
            for label, cell in _pairs(comparisons)
        }
        _window_panels(
            middle, first, pairs, "Δ alignment ρ (region preferred layers)", alpha, marker="D",
            first_colour=len(models),
        )  # fmt: skip
        middle.suptitle("Paired differences, model A − model B", fontsize=8)
        _peak_maps(bottom, comparisons, alpha)
    # name the dataset or method only where every compared gradient shares it
    context = ", ".join(
        str(first.attrs[key])
        for key in ("dataset", "method")
        if key in first.attrs
        and all(g.attrs.get(key) == first.attrs[key] for g in labelled.values())
    )
    fig.suptitle("Alignment by model" + (f" ({context})" if context else ""))
    return fig


def _series(data, value):
    """``value`` and its ``_low``, ``_high`` and ``_p`` as a ``(band, window)`` Dataset to draw."""
    names = {value: "value", **{f"{value}_{key}": key for key in ("low", "high", "p")}}
    return data[list(names)].rename(names)


def _pairs(comparisons):
    """``("<model_a> − <model_b> (<method>)", cell)`` of every pair of every comparison."""
    for comparison in comparisons:
        method = comparison.attrs.get("method")
        for pair in comparison["pair"].values:
            cell = comparison.sel(pair=pair)
            label = f"{cell['model_a'].item()} − {cell['model_b'].item()}"
            yield label + (f" ({method})" if method else ""), cell


def _window_panels(container, reference, series, axis_label, alpha, marker="o", first_colour=0):
    """One panel per window: each series' value per band with its interval, filled if p < alpha."""
    bands, windows = reference["band"].values, reference["window"].values
    n_cols = min(len(windows), 3)
    axes = container.subplots(math.ceil(len(windows) / n_cols), n_cols, sharey=True, squeeze=False)
    step = min(0.8 / len(series), 0.2)
    offsets = (np.arange(len(series)) - (len(series) - 1) / 2) * step
    positions = np.arange(len(bands))
    colours = [f"C{(first_colour + m) % 10}" for m in range(len(series))]
    for k, window in enumerate(windows):
        ax = axes.flat[k]
        for m, data in enumerate(series.values()):
            cell = data.sel(window=window)
            x = positions + offsets[m]
            _interval(ax, x, None, cell["low"].to_numpy(), cell["high"].to_numpy(), colours[m])
            ax.scatter(
                x, cell["value"].to_numpy(), s=22, zorder=3, marker=marker, edgecolors=colours[m],
                linewidths=1, facecolors=_faces(cell["p"].to_numpy() < alpha, colours[m]),
            )  # fmt: skip
        if all(np.isnan(data["value"].sel(window=window)).all() for data in series.values()):
            why = _why_undefined(reference.sel(window=window))
            _note(ax, 0.5, 0.5, why, ha="center", va="center")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xlim(-0.6, len(bands) - 0.4)
        ax.set_xticks(
            positions,
            [_band_label(reference, b) for b in bands],
            rotation=35,
            ha="right",
            rotation_mode="anchor",
        )
        ax.set_title(_window_label(reference, window))
        ax.grid(axis="y", color="0.9", lw=0.6)
    for ax in axes.flat[len(windows) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(axis_label)
    ci = reference.attrs.get("ci", 0.95)
    handles = [
        _marker(label, marker, ms=5, color=colour)
        for label, colour in zip(series, colours, strict=True)
    ]
    handles += [
        _marker(f"p < {alpha:g}", marker, ms=5, color="0.3"),
        _marker(f"p ≥ {alpha:g}; bars: {ci:.0%} CI", marker, ms=5, mfc="white", mec="0.3"),
    ]
    # long legends wrap in three columns so that no entry runs off the figure
    n_cols = len(handles) if len(handles) <= 4 else 3
    container.legend(handles=handles, loc="outside lower center", ncols=n_cols, frameon=False)


def _peak_maps(container, comparisons, alpha):
    """Per pair and method, the difference of peak region means: region by window and band."""
    cells = list(_pairs(comparisons))
    n_cols = min(len(cells), 3)
    axes = container.subplots(math.ceil(len(cells) / n_cols), n_cols, squeeze=False)
    bands, windows = comparisons[0]["band"].values, comparisons[0]["window"].values
    for ax, (label, cell) in zip(axes.flat, cells, strict=False):
        # columns: the bands of the first window, then those of the next
        values = cell["peak_score_difference"].transpose("region", "window", "band")
        values = values.to_numpy().reshape(cell.sizes["region"], -1)
        p = cell["peak_score_difference_p"].transpose("region", "window", "band").to_numpy()
        limit = np.nanmax(np.abs(values), initial=0) or 1.0
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        rows, cols = np.nonzero(p.reshape(values.shape) < alpha)
        ax.scatter(cols, rows, s=4, c="k", marker="o", linewidths=0)
        for k in range(1, len(windows)):
            ax.axvline(k * len(bands) - 0.5, color="white", lw=2)
        ax.set_xticks(np.arange(values.shape[1]), [str(b) for b in bands] * len(windows),
                      rotation=90, fontsize=5.5)  # fmt: skip
        ax.set_yticks(np.arange(cell.sizes["region"]), cell["region"].values, fontsize=6)
        top = ax.secondary_xaxis("top")
        # a window's label spans only its few band columns: two lines keep it narrow
        top.set_xticks(
            (np.arange(len(windows)) + 0.5) * len(bands) - 0.5,
            [_window_label(comparisons[0], w).replace(" ", "\n", 1) for w in windows],
            fontsize=5.5,
        )
        top.tick_params(length=0)
        # long model names: the pair on one line, the method on the next
        ax.set_title(label.replace(" (", "\n(", 1), fontsize=7)
        container.colorbar(image, ax=ax, shrink=0.9, label=f"Δ peak {cell.attrs.get('score', '')}")
    for ax in axes.flat[len(cells) :]:
        ax.set_visible(False)
    container.suptitle(
        f"Paired differences of peak region means (A − B); dots: p < {alpha:g}", fontsize=8
    )


def _checked_comparisons(comparisons, window):
    """The comparisons as a list, restricted to ``window``, once checked to hold what is drawn."""
    comparisons = [comparisons] if isinstance(comparisons, xr.Dataset) else list(comparisons)
    needed = [
        f"{stat}{suffix}"
        for stat in ("peak_score", "region_alignment_rho")
        for suffix in ("_difference", "_difference_low", "_difference_high", "_difference_p")
    ] + ["model_a", "model_b"]
    checked = []
    for comparison in comparisons:
        _require(comparison, needed)
        checked.append(_select(comparison, window=window))
    if not checked:
        raise ValueError("plots: comparisons is empty; pass None to draw no differences")
    return checked


def _why_undefined(column):
    """Why nothing is drawn in a panel: the reason of its first band, in a few lines."""
    reason = alignment_undefined(column.isel(band=0)) if RECOMMENDED in column else None
    return textwrap.fill(reason or "alignment undefined", 28)


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
