"""Net2Brain-compatible RSA statistics: R², its SEM and t-test, and %R² of the noise ceiling.

Many users compare their networks with brain RDMs through Net2Brain
(Bersch et al. 2022), whose RSA evaluation
(``net2brain.evaluations.rsa.RSA.evaluate_fmri``) reports per layer and ROI:

* ``R²``: the mean over subjects of the squared Spearman rho between the
  layer's RDM and the subject's RDM;
* its standard error (:func:`scipy.stats.sem`) and the p-value of a one-sample
  t-test against 0 (:func:`scipy.stats.ttest_1samp`, two-sided), both over the
  squared values;
* ``%R²``: ``R² / LNC * 100``, with LNC the lower bound of Net2Brain's own
  noise ceiling (:func:`brainnet.rsa.noise_ceiling` with
  ``definition="net2brain"``).

These are reported beside brainnet's permutation statistics, not instead of
them: squaring discards the sign of rho (an anti-correlated layer gets a
positive R²), and a t-test over a handful of subjects' squared correlations
is neither exact nor one-sided.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def r2_statistics(rho: np.ndarray, lower_ceiling: np.ndarray | float) -> dict[str, np.ndarray]:
    """Net2Brain's R², SEM, t-test p and %R² from per-subject Spearman rho.

    Parameters
    ----------
    rho : array, shape (..., n_subjects)
        Spearman rho of a layer with each subject's RDM (a subject with
        several RDMs: their mean), NaN for a missing subject.
    lower_ceiling : float | array broadcastable to ``rho.shape[:-1]``
        Net2Brain's lower noise ceiling (in R² units).

    Returns
    -------
    statistics : dict of str to array, each ``rho.shape[:-1]``
        ``r2`` (mean of ``rho**2``), ``r2_sem``, ``r2_p`` (NaN with fewer
        than two subjects) and ``r2_percent`` (``r2 / lower_ceiling * 100``).
    """
    squared = np.asarray(rho, dtype=np.float64) ** 2
    n = np.isfinite(squared).sum(axis=-1)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # empty or single-subject cells stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        r2 = np.nanmean(squared, axis=-1)
        sem = stats.sem(squared, axis=-1, nan_policy="omit")
        p = stats.ttest_1samp(squared, 0.0, axis=-1, nan_policy="omit").pvalue
        percent = r2 / np.asarray(lower_ceiling, dtype=np.float64) * 100.0
    few = n < 2
    return {
        "r2": r2,
        "r2_sem": np.where(few, np.nan, sem),
        "r2_p": np.where(few, np.nan, p),
        "r2_percent": percent,
    }
