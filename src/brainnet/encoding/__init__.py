"""Cross-validated encoding models from network layers to recording sites.

For every layer and every target (one channel, band and window), a linear
model predicts the response to held-out stimuli from the layer's features
(Guclu and van Gerven 2015; Yamins et al. 2014). The score is the Pearson
correlation between held-out predictions and the measured responses within
each outer fold, averaged over folds, so that it is centred on 0 without
signal; its significance comes from permuting the stimulus labels of the
responses, with a fitted tail for p-values below the permutation floor.

Ridge regression is solved once per training fold: the features, centred and
scaled by one number per layer (never per feature), are decomposed, and from
that one decomposition the exact leave-one-out errors of every alpha and
every target follow by matrix products (see
:mod:`brainnet.encoding.ridge`). Permuted responses are extra targets for the
same decompositions, which is what makes 1,000 permutations affordable (see
:mod:`brainnet.encoding.null`).

Modules, one concept each:

- :mod:`~brainnet.encoding.stage`: :func:`fit_encoding`, the xarray stage;
- :mod:`~brainnet.encoding.inputs`: checked arrays, settings and folds from the inputs;
- :mod:`~brainnet.encoding.scaling`: feature scaling inside a training fold, and why;
- :mod:`~brainnet.encoding.alphas`: the penalty grid and its summaries;
- :mod:`~brainnet.encoding.ridge`: the per-fold ridge solver, :func:`fit_predict_ridge`;
- :mod:`~brainnet.encoding.null`: permutations, the permutation null and p-values;
- :mod:`~brainnet.encoding.tail`: p-values below the permutation floor (GPD tail);
- :mod:`~brainnet.encoding.pls`: partial least squares;
- :mod:`~brainnet.encoding.pearson`: the held-out score, r per fold averaged, and why;
- :mod:`~brainnet.encoding.ceiling`: noise ceilings above a reliability floor;
- :mod:`~brainnet.encoding.memory`: working-memory budgets and blocks;
- :mod:`~brainnet.encoding.partition`: unique and shared variance of two feature
  sets by banded ridge (himalaya), :func:`partition_variance`.
- :mod:`~brainnet.encoding.device_ridge`: ridge and its fixed-penalty null in torch,
  on a CUDA device (``device``).
"""

from __future__ import annotations

from brainnet.encoding.alphas import DEFAULT_ALPHAS
from brainnet.encoding.ceiling import noise_ceiling
from brainnet.encoding.partition import PARTITION_NAMES, partition_pairs, partition_variance
from brainnet.encoding.ridge import fit_predict_ridge
from brainnet.encoding.stage import fit_encoding

__all__ = [
    "DEFAULT_ALPHAS",
    "PARTITION_NAMES",
    "fit_encoding",
    "fit_predict_ridge",
    "noise_ceiling",
    "partition_pairs",
    "partition_variance",
]
