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
* :mod:`~brainnet.gradient.preferred`: preferred layers of channels and regions
  (:func:`channel_preferred_layers` for figures of individual channels);
* :mod:`~brainnet.gradient.regions`: region means with hierarchical bootstrap
  intervals;
* :mod:`~brainnet.gradient.alignment`: the alignment statistics with their
  bootstrap intervals and permutation p-values;
* :mod:`~brainnet.gradient.tables`: tau-b and rho of contingency tables;
* :mod:`~brainnet.gradient.resampling`: bootstrap weights, percentile
  intervals and permutation p-values;
* :mod:`~brainnet.gradient.describe`: reading a finished gradient Dataset:
  its description, its one-line result (the strongest significant
  region-level rho) and the names of the statistics;
* :mod:`~brainnet.gradient.paired`: :func:`paired_comparison`, the paired
  test of two models on the same channels (differences of peak region means
  and of region-level alignment, with a paired bootstrap and permutation);
* :mod:`~brainnet.gradient.pairs`: which pairs of models to compare
  (:func:`model_pairs`) and all of a dataset's comparisons (:func:`compare_models`).
"""

from brainnet.gradient.describe import (
    RECOMMENDED,
    STATISTIC_NAMES,
    alignment_undefined,
    describe_gradient,
    describe_result,
    planted_layer_index,
    strongest_alignment,
)
from brainnet.gradient.inputs import REGION_METHODS
from brainnet.gradient.paired import paired_comparison
from brainnet.gradient.pairs import compare_models, model_pairs
from brainnet.gradient.preferred import channel_preferred_layers
from brainnet.gradient.stage import SCORE_LABELS, gradient_statistics

__all__ = [
    "gradient_statistics",
    "paired_comparison",
    "compare_models",
    "model_pairs",
    "channel_preferred_layers",
    "planted_layer_index",
    "describe_gradient",
    "describe_result",
    "alignment_undefined",
    "strongest_alignment",
    "RECOMMENDED",
    "STATISTIC_NAMES",
    "SCORE_LABELS",
    "REGION_METHODS",
]
