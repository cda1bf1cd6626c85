"""Figures of brainnet, drawn with matplotlib's object API (no pyplot state).

Each module holds the figures of one kind of artefact; every plotting
function takes xarray objects (and an optional output path), writes PNG and
SVG atomically when given a path, and returns the :class:`matplotlib.figure.Figure`.

* :mod:`brainnet.plots.results`: layer-by-region maps, gradients, model
  comparisons, time courses and ground-truth recovery from ``gradient.nc``.
"""
