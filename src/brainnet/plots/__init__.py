"""Figures of brainnet, drawn with matplotlib's object API (no pyplot state).

Each module holds one figure; every plotting function takes xarray objects
(and an optional output path), writes PNG and SVG atomically when given a
path, and returns the :class:`matplotlib.figure.Figure`.

Figures of the gradient statistics (``gradient.nc``), re-exported here and
from :mod:`brainnet.plots.results`:

* :mod:`~brainnet.plots.heatmap`: the layer-by-region map;
* :mod:`~brainnet.plots.gradient`: preferred layer against region rank;
* :mod:`~brainnet.plots.comparison`: alignment of several models;
* :mod:`~brainnet.plots.timecourse`: alignment over sliding windows;
* :mod:`~brainnet.plots.recovery`: recovered against planted layers.

:mod:`~brainnet.plots.layers` draws the layer-by-layer RDM similarity of a
model (``layer_similarity.nc``): which of its layers RSA can tell apart;
:mod:`~brainnet.plots.partition` the unique and shared variance of pairs of
feature sets per region (``partition.nc``).

Their shared parts: :mod:`~brainnet.plots.figure` (style, size, rendering and
saving), :mod:`~brainnet.plots.panels` (marks, axes, labels) and
:mod:`~brainnet.plots.selection` (checks and band or window subsets).

:mod:`brainnet.plots.signals` draws a raw single trial; it needs MNE and is
imported on its own.
"""

from brainnet.plots import results
from brainnet.plots.layers import plot_layer_similarity
from brainnet.plots.partition import plot_partition
from brainnet.plots.results import *  # noqa: F403 (the figures of gradient.nc)

__all__ = [*results.__all__, "plot_layer_similarity", "plot_partition"]
