"""Region aggregation, preferred layers and alignment statistics.

This stage turns channel-level similarity scores (encoding or RSA) into the
layer-by-region map and the gradient statistics of the two reference studies:

* Kuzovkin et al. 2018: the *alignment* is Kendall's tau-b between the region
  rank of a channel and the layer index over all significant channel-layer
  pairs (each pair is one ``(region_rank, layer_index)`` observation);
* Guclu and van Gerven 2015: each channel is assigned its *preferred layer*
  (the significant layer with the highest score) and the assigned layer should
  rise with the region rank (Spearman's rho over channels).

Both statistics only depend on a small contingency table of counts (region
rank by layer), so the permutation null distribution and the bootstrap are
computed as batched matrix products of label indicators with the
channel-by-layer indicators instead of calling :func:`scipy.stats.kendalltau`
once per resample (see ``benchmarks/gradient.py`` for the speed-up and
``tests/test_gradient.py`` for the agreement with SciPy).

Modules, in the order the stage uses them:

* :mod:`~brainnet.gradient.stage`: :func:`gradient_statistics`, the stage
  itself, and the assembly of its Dataset;
* :mod:`~brainnet.gradient.inputs`: checks of the settings and of the scores;
* :mod:`~brainnet.gradient.preferred`: preferred layers of channels and regions;
* :mod:`~brainnet.gradient.regions`: region means with hierarchical bootstrap
  intervals;
* :mod:`~brainnet.gradient.alignment`: the alignment statistics with their
  bootstrap intervals and permutation p-values;
* :mod:`~brainnet.gradient.tables`: tau-b and rho of contingency tables;
* :mod:`~brainnet.gradient.resampling`: bootstrap weights, percentile
  intervals and permutation p-values;
* :mod:`~brainnet.gradient.describe`: reading a finished gradient Dataset.
"""

from brainnet.gradient.describe import describe_gradient, planted_layer_index
from brainnet.gradient.stage import SCORE_LABELS, gradient_statistics

__all__ = ["gradient_statistics", "planted_layer_index", "describe_gradient", "SCORE_LABELS"]
