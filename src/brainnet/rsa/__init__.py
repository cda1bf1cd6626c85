"""Representational similarity analysis: RDMs, RDM comparison, permutation statistics.

brainnet follows Kuzovkin et al. (2018): for every channel, band and window
the brain RDM holds the absolute differences ``|r_i - r_j|`` of one scalar
response per stimulus; for every layer the model RDM holds the Euclidean
distances between activation patterns; the two are compared by Spearman's
rho, and a channel-layer pair counts when its stimulus-label permutation
p-value is at most 0.001 (10,000 permutations).

The package holds one concept per module:

* :mod:`~brainnet.rsa.rdm`: computing, converting and validating RDMs (the
  square and condensed forms are described there);
* :mod:`~brainnet.rsa.compare`: RDM comparison methods;
* :mod:`~brainnet.rsa.ceiling`: the noise ceiling (rsatoolbox's or Net2Brain's);
* :mod:`~brainnet.rsa.net2brain`: Net2Brain's R² statistics;
* :mod:`~brainnet.rsa.layers`: how similar a network's layer RDMs are to
  each other (whether RSA can tell its layers apart);
* :mod:`~brainnet.rsa.permutation`: the stimulus-label permutation test, on
  the engine of :mod:`brainnet.rsa._engine` (which explains why it is fast),
  its working-memory sizes (:mod:`brainnet.rsa._memory`) and its products on a
  torch device (:mod:`brainnet.rsa._device`);
* :mod:`~brainnet.rsa.stage`: the xarray stages :func:`rsa_scores` and
  :func:`rsa_precomputed`.

Everything public is importable from ``brainnet.rsa``.
"""

# Private helpers re-exported for benchmarks/rsa.py and tests/test_rsa.py, which
# time them or check them against SciPy (the names of the former single module).
from brainnet.rsa._checks import _n_from_pairs as _n_from_pairs
from brainnet.rsa._engine import _Test as _Test
from brainnet.rsa._region import region_patterns
from brainnet.rsa.ceiling import noise_ceiling
from brainnet.rsa.compare import COMPARE_METHODS, compare_rdms
from brainnet.rsa.compare import _rank_rows as _rank_rows
from brainnet.rsa.layers import layer_similarity
from brainnet.rsa.net2brain import r2_statistics
from brainnet.rsa.permutation import (
    PERMUTATION_METHODS,
    PermutationResult,
    make_permutations,
    permutation_test,
)
from brainnet.rsa.rdm import (
    FEATURE_SCALINGS,
    METRICS,
    check_rdms,
    compute_rdm,
    scalar_rdm,
    to_matrices,
    to_vectors,
)
from brainnet.rsa.stage import rsa_precomputed, rsa_scores

__all__ = [
    "COMPARE_METHODS",
    "FEATURE_SCALINGS",
    "METRICS",
    "PERMUTATION_METHODS",
    "PermutationResult",
    "check_rdms",
    "compare_rdms",
    "compute_rdm",
    "layer_similarity",
    "make_permutations",
    "noise_ceiling",
    "permutation_test",
    "r2_statistics",
    "region_patterns",
    "rsa_precomputed",
    "rsa_scores",
    "scalar_rdm",
    "to_matrices",
    "to_vectors",
]
