"""Figures of the gradient statistics (``gradient.nc``), under the import path of the workflow.

* :func:`plot_layer_region_map` (:mod:`~brainnet.plots.heatmap`): mean score
  per layer and region, one panel per band and window, with significance
  marks and each region's preferred layer outlined;
* :func:`plot_gradient` (:mod:`~brainnet.plots.gradient`): preferred layer
  against region rank with the alignment statistics (the gradient of Guclu
  and van Gerven 2015 and Kuzovkin et al. 2018);
* :func:`plot_model_comparison` (:mod:`~brainnet.plots.comparison`):
  alignment of several models (or methods);
* :func:`plot_alignment_timecourse` (:mod:`~brainnet.plots.timecourse`):
  alignment over sliding windows;
* :func:`plot_recovery` (:mod:`~brainnet.plots.recovery`): recovered against
  planted layer per region (synthetic data with ground truth);
* :func:`save_figure` and :data:`STYLE` (:mod:`~brainnet.plots.figure`).
"""

from brainnet.plots.comparison import plot_model_comparison
from brainnet.plots.figure import STYLE, save_figure
from brainnet.plots.gradient import plot_gradient
from brainnet.plots.heatmap import plot_layer_region_map
from brainnet.plots.recovery import plot_recovery
from brainnet.plots.timecourse import plot_alignment_timecourse

__all__ = [
    "plot_layer_region_map",
    "plot_gradient",
    "plot_model_comparison",
    "plot_alignment_timecourse",
    "plot_recovery",
    "save_figure",
    "STYLE",
]
