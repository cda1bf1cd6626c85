"""Marks, axes and labels shared by the results figures.

Intervals are drawn from their ends (a percentile bootstrap interval need not
contain its point estimate), bands and windows are labelled by their edges in
Hz and ms when the gradient carries them, and titles name model, dataset and
method.
"""

from __future__ import annotations

import itertools

import matplotlib as mpl
import numpy as np
from matplotlib.lines import Line2D

_TEXT_BOX = {"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1}


def _marker(label, marker="o", **style):
    """A legend entry of a lone marker (no line) in the given ``style``."""
    return Line2D([], [], ls="", marker=marker, label=label, **style)


def _interval_entry(label, colour):
    """A legend entry of the point and bar drawn by :func:`_interval`."""
    return Line2D([], [], marker="o", ms=4, color=colour, label=label)


def _note(ax, x, y, text, **kwargs):
    """Small boxed text at ``(x, y)`` in axes coordinates."""
    return ax.text(x, y, text, transform=ax.transAxes, fontsize=6.5, bbox=_TEXT_BOX, **kwargs)


def _layer_axes(axes, gradient, positions, regions, headroom=0.0):
    """Regions along x at ``positions``, layers along y at their ``layer_index``, grid labels.

    ``axes`` is a grid of shared axes (see :func:`brainnet.plots.figure._grid`);
    ``headroom`` is the fraction of each panel kept free above the top layer,
    for a note that must not cover the data.
    """
    axes[0, 0].set_xticks(positions, _wrapped(regions))
    axes[0, 0].set_xlim(positions[0] - 0.5, positions[-1] + 0.5)
    layer_index = gradient["layer_index"].to_numpy()
    axes[0, 0].set_yticks(layer_index, gradient["layer"].values)
    bottom, top = layer_index.min() - 0.7, layer_index.max() + 0.7
    axes[0, 0].set_ylim(bottom, bottom + (top - bottom) / (1 - headroom))
    _label_grid(axes, gradient)


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


def _untangle_ticks(fig):
    """Turn the x tick labels of an axes upright, unwrapped, where side by side they touch.

    Called once the figure is complete: whether labels touch depends on the
    final layout. Labels that a figure already rotates are left as they are.
    """
    fig.draw_without_rendering()
    for ax in fig.axes:
        labels = ax.get_xticklabels()
        shown = [t for t in labels if t.get_visible() and t.get_text()]
        if not shown or any(t.get_rotation() for t in shown):
            continue
        boxes = sorted((t.get_window_extent() for t in shown), key=lambda box: box.x0)
        if all(left.x1 + 2 < right.x0 for left, right in itertools.pairwise(boxes)):
            continue
        ax.set_xticks(ax.get_xticks(), [t.get_text().replace("-\n", "-") for t in labels])
        ax.tick_params(axis="x", labelrotation=90)
