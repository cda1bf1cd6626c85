"""What every brainnet results figure shares: style, size, shared docstrings, rendering, saving.

The figures are sized for a Snakemake report (8 inches, 800 pixels at 100
dpi) and drawn without pyplot, so they hold no global state and need no
display.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from brainnet.io import atomic_path
from brainnet.plots.panels import _untangle_ticks

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
_FORMATS = ("png", "svg")


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
    "statistic": """statistic : ``"tau"`` | ``"rho"`` | ``"region_rho"``
        The pair-level τ (Kendall's tau over significant channel-layer pairs,
        Kuzovkin et al. 2018), the channel-level ρ (Spearman's rho over
        channel preferred layers, Guclu and van Gerven 2015) or the
        region-level ρ (Spearman's rho over region preferred layers, the
        statistic the README recommends).""",
    "alpha": """alpha : float
        Markers are filled where the permutation p is below ``alpha``.""",
    "formats": """formats : iterable of str
        Output formats.""",
    "returns": """Returns
    -------
    fig : matplotlib.figure.Figure
        The figure; it holds no pyplot state, so nothing needs closing.""",
}
# The parameters of every figure with one panel per band and window.
_DOCS["panels"] = "\n    ".join(_DOCS[key] for key in ("gradient", "path", "subset", "formats"))


def _fill_doc(func):
    """Insert the shared parameter descriptions, MNE style (``%(name)s``)."""
    func.__doc__ = func.__doc__ % _DOCS
    return func


def _render(path, formats, draw, *args):
    """Draw the figure in the brainnet style and save it when ``path`` is given."""
    with mpl.rc_context(STYLE):
        fig = draw(*args)
        _untangle_ticks(fig)
    if path is not None:
        save_figure(fig, path, formats)
    return fig


def _grid(n_rows, n_cols, panel_height, width, extra):
    height = max(n_rows * panel_height + extra, 3.2)  # a single row still gets room
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
    return fig, axes
