"""Centred kernel alignment (CKA): every layer against every region's response patterns.

Linear CKA (Kornblith et al. 2019) compares two representations of the same
stimuli through their Gram matrices, and is invariant to rotations and
isotropic scalings of either; its unbiased form (the unbiased HSIC estimator
of Song et al. 2012, as in Brain-Score) is centred on 0 when the two do not
match, whatever the numbers of stimuli and features. brainnet scores it at
region level, like region-level RSA: per subject, region, band and window
the pattern of the region's responsive channels (or the Gram matrix of a
precomputed RDM), averaged over subjects and tested by stimulus-label
permutations.

Modules, one concept each:

* :mod:`~brainnet.cka.score`: Gram matrices, their centring for each
  estimator, :func:`cka` of two representations;
* :mod:`~brainnet.cka.permutation`: the permutation test, by re-indexing
  centred Gram matrices computed once;
* :mod:`~brainnet.cka.bootstrap`: contact resamples of a subject's CKA,
  without building a Gram matrix per resample;
* :mod:`~brainnet.cka.stage`: the xarray stage :func:`cka_scores`, on
  responses or precomputed RDMs.
"""

from brainnet.cka.permutation import permutation_counts
from brainnet.cka.score import ESTIMATORS, centre_gram, cka, gram_matrix, hsic, rdm_gram
from brainnet.cka.stage import cka_scores

__all__ = [
    "ESTIMATORS",
    "centre_gram",
    "cka",
    "cka_scores",
    "gram_matrix",
    "hsic",
    "permutation_counts",
    "rdm_gram",
]
