"""The gradient figure: preferred layer against region rank, one panel per band and window.

The gradient of Guclu and van Gerven (2015) and Kuzovkin et al. (2018): each
visual region's preferred layer with its bootstrap interval, the share of its
channels preferring each layer, a Theil-Sen trend, and the alignment
statistics of the panel (region-level ρ and pair-level τ).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from brainnet.gradient import (
    RECOMMENDED,
    REGION_METHODS,
    STATISTIC_NAMES,
    alignment_undefined,
    describe_gradient,
)
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
    shows its preferred layer with the span of the layers tied to it (the
    layers the data cannot tell apart from it), grey discs whose area is the
    share of the region's channels (region-level RSA: subjects) preferring
    each layer, and a Theil-Sen line through the regions' preferred layers.
    Each panel states the region-level ρ (Spearman's rho between region rank
    and each region's preferred layer, the statistic the README recommends)
    and, for channel scores, the pair-level τ (Kendall's tau over significant
    channel-layer pairs) with their permutation p, the test of a gradient,
    or why they are undefined. A panel whose significant channel-layer pairs
    cannot order layers against ranks (none, or all in one rank or one layer)
    says so and draws its preferred layers faint; no trend is fitted there,
    nor where the region-level ρ is undefined.

    Parameters
    ----------
    %(panels)s

    %(returns)s
    """
    _require(
        gradient,
        (
            *_PREFERRED,
            "n_preferring",
            "n_pairs",
            *_statistic_variables("tau"),
            *_statistic_variables("region_rho"),
        ),
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
    fig, axes = _grid(len(bands), len(windows), 1.75, WIDTH, extra=1.2)
    layers = gradient["layer_index"].to_numpy()
    for i, j in np.ndindex(len(bands), len(windows)):
        _draw_panel(axes[i, j], gradient.isel(band=i, window=j), levels, layers)
    _layer_axes(axes, gradient, levels, names, headroom=_HEADROOM)
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
        _interval_entry("the same, where pair-level τ is undefined (too few pairs)", _FAINT),
        Line2D([], [], color="C3", ls="--", label="Theil-Sen trend over regions"),
        _marker("p: permutation test of a gradient", marker="", color="none"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(_title(gradient, "Preferred layer along the visual hierarchy"))
    return fig


# Fraction of each panel kept free above the top layer for the statistics; faint colour
# of the preferred layers of a panel without any significant channel-layer pair.
_HEADROOM = 0.24
_FAINT = "0.72"


def _draw_panel(ax, cell, levels, layers):
    """One band and window: channel shares, region preferred layers, trend and statistics.

    Without significant channel-layer pairs that span two ranks and two layers
    (a defined pair-level tau) the region preferences are those of noise: they
    are drawn faint and no trend is fitted; nor is one where the region-level
    rho is undefined (see :func:`brainnet.gradient.alignment_undefined`).
    Region-level RSA and CKA have no pairs; their regions prefer a layer only where
    they have a significant match.
    """
    ranks = cell["region_rank"].to_numpy()
    counts = cell["n_preferring"].transpose("region", "layer").to_numpy()
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    ax.scatter(
        np.repeat(ranks, len(layers)),
        np.tile(layers, len(ranks)),
        s=share.ravel() * 150,
        color="0.55",
        alpha=0.45,
        lw=0,
    )
    best, low, high = _preferred(cell)
    ok = np.isfinite(best)
    # significant pairs that order layers against ranks (a defined pair-level tau); at
    # region level, regions with a significant match (the only ones with a preference)
    evidence = (
        bool(ok.any())
        if cell.attrs.get("method") in REGION_METHODS
        else bool(np.isfinite(float(cell["alignment_tau"])))
    )
    _interval(ax, ranks[ok], best[ok], low[ok], high[ok], "C0" if evidence else _FAINT)
    if evidence and alignment_undefined(cell) is None:
        _trend(ax, ranks[ok], best[ok], levels, (layers.min() - 0.5, layers.max() + 0.5))
    _note(ax, 0.03, 0.97, _alignment_text(cell), va="top", ha="left")


def _trend(ax, ranks, best, levels, span):
    """The Theil-Sen line through the regions' preferred layers, ending inside ``span``."""
    slope, intercept, *_ = stats.theilslopes(best, ranks)
    ends = np.array([levels[0], levels[-1]], dtype=float)
    if slope != 0:
        # where the line leaves the layers, so that it ends inside the panel
        inside = np.sort((np.asarray(span) - intercept) / slope)
        ends = np.clip(ends, *inside)
    ax.plot(ends, intercept + slope * ends, color="C3", lw=1.2, ls="--", zorder=1.5)


def _alignment_text(cell):
    """The region-level rho (recommended) and the pair-level tau, or why they are missing.

    Region-level RSA and CKA have no channel pairs: only its rho is stated.
    """
    rho, rho_p = float(cell[RECOMMENDED]), float(cell[f"{RECOMMENDED}_p"])
    lines = [
        alignment_undefined(cell) or f"{STATISTIC_NAMES[RECOMMENDED]} = {rho:.2f}, p = {rho_p:.3g}"
    ]
    tau, tau_p = float(cell["alignment_tau"]), float(cell["alignment_tau_p"])
    if cell.attrs.get("method") in REGION_METHODS:
        pass
    elif int(cell["n_pairs"]) == 0:
        lines.append("no significant pairs")
    elif np.isfinite(tau):
        lines.append(f"{STATISTIC_NAMES['alignment_tau']} = {tau:.2f}, p = {tau_p:.3g}")
    else:
        lines.append(
            f"{STATISTIC_NAMES['alignment_tau']} undefined: its {int(cell['n_pairs'])} "
            "significant pairs share one rank or one layer"
        )
    return "\n".join(textwrap.fill(line, 34, subsequent_indent="  ") for line in lines)
