"""Ridge regression with a penalty per target, solved once per training fold.

The standardised features of a training fold are decomposed once
(eigendecomposition of the Gram matrix when there are fewer stimuli than
features, SVD otherwise), and from that one decomposition the exact
leave-one-out errors of every alpha and every target follow by matrix
products. The penalty is chosen per target inside the training fold, exactly
as :class:`sklearn.linear_model.RidgeCV` with ``alpha_per_target=True`` does,
and the held-out predictions equal :class:`sklearn.linear_model.Ridge` at the
chosen penalty.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import linalg

from brainnet.encoding import memory
from brainnet.encoding.alphas import _check_alphas
from brainnet.encoding.memory import _column_blocks
from brainnet.encoding.scaling import _standardise


def fit_predict_ridge(
    train: np.ndarray, targets: np.ndarray, test: np.ndarray, alphas: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ridge on one training set with a penalty per target; predict a test set.

    The features are standardised on ``train`` (as
    :class:`sklearn.preprocessing.StandardScaler`), an intercept is fitted, and
    each target's penalty minimises its exact leave-one-out squared error over
    ``train``, the criterion of :class:`sklearn.linear_model.RidgeCV` with
    ``alpha_per_target=True``.

    Parameters
    ----------
    train : array, shape (n_train, n_features)
    targets : array, shape (n_train, n_targets)
    test : array, shape (n_test, n_features)
    alphas : sequence of float
        Candidate penalties; ties go to the first.

    Returns
    -------
    predictions : array, shape (n_test, n_targets)
    chosen : array, shape (n_targets,)
        The penalty chosen for each target.
    """
    train, targets, test = (np.asarray(a, dtype=np.float64) for a in (train, targets, test))
    if train.ndim != 2 or targets.ndim != 2 or test.ndim != 2:
        raise ValueError("train, targets and test must be 2-D arrays")
    if train.shape[0] != targets.shape[0] or train.shape[1] != test.shape[1]:
        raise ValueError(
            f"shapes do not line up: train {train.shape}, targets {targets.shape}, "
            f"test {test.shape}"
        )
    alphas = _check_alphas(alphas)
    fold = _RidgeFold(train, test, alphas)
    predictions = np.empty((test.shape[0], targets.shape[1]))
    best = np.empty(targets.shape[1], dtype=np.intp)
    for cols in _column_blocks(targets.shape[1], train.shape[0] + test.shape[0], len(alphas)):
        predictions[:, cols], best[cols] = fold.fit_predict(targets[:, cols])
    return predictions, alphas[best]


class _RidgeFold:
    """Ridge regression on one training fold, for any number of targets.

    The training features are standardised and decomposed once; the
    leave-one-out errors of every alpha and the held-out predictions then cost
    only matrix products with the targets.

    With ``K = U diag(lam) U'`` the Gram matrix of the centred features and
    ``G = K + alpha I``, the LOO error of ridge with an intercept is
    ``e = alpha G^-1 y_c / (alpha diag(G^-1) - (alpha G^-1 1) / n)``, the
    intercept-corrected formula of sklearn's ``_RidgeGCV``.
    """

    def __init__(self, train: np.ndarray, test: np.ndarray, alphas: np.ndarray):
        x_train, x_test = _standardise(train, test)
        n_train, n_features = x_train.shape
        self.alphas = alphas
        # With n_train <= n_features the eigenvectors of the Gram matrix span all
        # of R^n_train, so alpha G^-1 = U diag(alpha / (lam + alpha)) U'.
        self.complete = n_train <= n_features
        if self.complete:
            eigvals, basis = linalg.eigh(x_train @ x_train.T)
            # the Gram matrix is positive semi-definite; round-off is not
            eigvals = np.clip(eigvals, 0.0, None)
            self.test_proj = (x_test @ x_train.T) @ basis
        else:
            basis, singvals, vt = linalg.svd(x_train, full_matrices=False)
            eigvals = singvals**2
            self.test_proj = x_test @ (vt.T * singvals)
        self.basis = basis
        self.eigvals = eigvals
        ones_proj = basis.sum(axis=0)
        # The triangular factors hold n_alphas x n_train^2 floats; past the budget
        # the residual form (twice the flops, nothing cached) takes over.
        triangular = self.complete and len(alphas) * n_train**2 * 8 <= memory._FACTOR_BYTES
        self.fits, self.inv_alpha_d, self.factors = [], [], []
        for alpha in alphas:
            shrink = alpha / (eigvals + alpha)
            fit = 1.0 - shrink
            if self.complete:
                alpha_d = (basis**2) @ shrink - basis @ (shrink * ones_proj) / n_train
            else:
                alpha_d = 1.0 - (basis**2) @ fit - (1.0 - basis @ (fit * ones_proj)) / n_train
            self.fits.append(fit)
            self.inv_alpha_d.append(1.0 / alpha_d)
            if triangular:
                # sum_i (U (shrink z))_i^2 / alpha_d_i^2 = ||R (shrink z)||^2 with
                # R'R = U' diag(1 / alpha_d^2) U: a triangular product per alpha
                # instead of a full one, and no n_train x n_targets residual.
                weighted = (basis.T / alpha_d**2) @ basis
                factor = linalg.cholesky(weighted, lower=False) * shrink
                self.factors.append(np.asfortranarray(factor))

    def hat_map(self, index: int) -> np.ndarray:
        """The ``(n_test, n_train)`` map from centred training targets to held-out
        predictions (less the training mean) at penalty ``alphas[index]``."""
        return (self.test_proj / (self.eigvals + self.alphas[index])) @ self.basis.T

    def fit_predict(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Choose each target's alpha by LOO and predict the held-out stimuli.

        Returns the predictions ``(n_test, n_targets)`` and the index of the
        chosen alpha per target.
        """
        mean = targets.mean(axis=0)
        centred = targets - mean
        # Fortran order lets trmm work on the projection without copying it first
        proj = (centred.T @ self.basis).T
        sq_errors = np.empty((len(self.alphas), targets.shape[1]))
        for i in range(len(self.alphas)):
            if self.factors:
                errors = linalg.blas.dtrmm(1.0, self.factors[i], proj)
            else:
                # y_c - U (fit z) = alpha G^-1 y_c, the in-sample residual
                errors = centred - (self.basis * self.fits[i]) @ proj
                errors *= self.inv_alpha_d[i][:, None]
            sq_errors[i] = np.einsum("ij,ij->j", errors, errors)
        best = sq_errors.argmin(axis=0)
        coef = proj / (self.eigvals[:, None] + self.alphas[best])
        return self.test_proj @ coef + mean, best
