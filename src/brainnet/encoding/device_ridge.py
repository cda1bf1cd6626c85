"""Ridge and its fixed-penalty permutation null in torch, on a CUDA device (or the CPU).

The same arithmetic as :mod:`brainnet.encoding.ridge` and
:mod:`brainnet.encoding.null`, which stay the reference (``device: cpu`` runs
them): per training fold, one eigendecomposition of the Gram matrix of the
scaled features (an SVD when there are more stimuli than features), the exact
leave-one-out error of every penalty and target, the penalty chosen per
target, and the permutation null at those fixed penalties, one matrix product
per block of permutations through the fold's hat map
(:func:`~brainnet.encoding.null._permuted_r`).

Precision, and why:

- **float64**: the Gram matrix, its decomposition, the leave-one-out errors
  (neighbouring penalties' errors can differ by less than float32 resolves,
  and the choice decides the score), the observed predictions and r, and every
  permuted r within :data:`_MARGIN` of the observed one, recomputed so that
  the exceedance count, hence the p-value, is the float64 one.
- **float32**: the hat maps, the responses and the products of the
  permutation null, which are nearly all the work (their r err by about
  1e-6, far inside the margin).

The feature scaling runs in NumPy (one pass over the features) so that the
device sees the very same scaled features as the reference.
"""

from __future__ import annotations

import numpy as np
import torch

from brainnet.encoding.memory import _column_blocks
from brainnet.encoding.null import _fixed_alpha_blocks, _permuted_r, _r_from_sums
from brainnet.encoding.scaling import _scale_features

# Permuted r this close to the observed r are recomputed in float64: float32
# null r err by ~1e-6 (measured in the tests), so the margin leaves a factor of 100.
_MARGIN = 1e-4


class _DeviceRidgeFold:
    """:class:`~brainnet.encoding.ridge._RidgeFold` in torch: the residual form of the
    leave-one-out errors, every array on ``device`` in float64."""

    def __init__(self, train: np.ndarray, test: np.ndarray, alphas, device: torch.device):
        x_train, x_test = (torch.as_tensor(x, device=device) for x in _scale_features(train, test))
        n_train, n_features = x_train.shape
        self.alphas = torch.as_tensor(alphas, dtype=torch.float64, device=device)
        if n_train <= n_features:
            eigvals, basis = torch.linalg.eigh(x_train @ x_train.T)
            # the Gram matrix is positive semi-definite; round-off is not
            eigvals = eigvals.clamp(min=0.0)
            self.test_proj = (x_test @ x_train.T) @ basis
            shrink = self.alphas[:, None] / (eigvals + self.alphas[:, None])  # (alpha, n)
            ones = (shrink * basis.sum(dim=0)).T
            alpha_d = (basis**2) @ shrink.T - (basis @ ones) / n_train
        else:
            basis, singvals, vt = torch.linalg.svd(x_train, full_matrices=False)
            eigvals = singvals**2
            self.test_proj = x_test @ (vt.T * singvals)
            fit = eigvals / (eigvals + self.alphas[:, None])
            ones = (fit * basis.sum(dim=0)).T
            alpha_d = 1.0 - (basis**2) @ fit.T - (1.0 - basis @ ones) / n_train
        self.basis, self.eigvals = basis, eigvals
        self.fits = eigvals / (eigvals + self.alphas[:, None])  # (alpha, n)
        self.inv_alpha_d = 1.0 / alpha_d  # (n_train, alpha)

    def fit_predict(self, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each target's penalty by leave-one-out, and the held-out predictions less
        the training mean (r does not see it, and without it the one-pass sums of
        :func:`~brainnet.encoding.null._r_from_sums` stay exact where a large penalty
        leaves predictions that barely vary)."""
        mean = targets.mean(dim=0)
        centred = targets - mean
        proj = self.basis.T @ centred
        sq_errors = targets.new_empty((len(self.alphas), targets.shape[1]))
        for i in range(len(self.alphas)):
            # y_c - U (fit z) = alpha G^-1 y_c, the in-sample residual
            errors = (centred - (self.basis * self.fits[i]) @ proj) * self.inv_alpha_d[:, i, None]
            sq_errors[i] = (errors * errors).sum(dim=0)
        best = sq_errors.argmin(dim=0)  # ties go to the first, as NumPy's argmin
        coef = proj / (self.eigvals[:, None] + self.alphas[best])
        return self.test_proj @ coef, best

    def centred_hat(self, index: int) -> torch.Tensor:
        """:meth:`~brainnet.encoding.ridge._RidgeFold.centred_hat`, float64."""
        hat = (self.test_proj / (self.eigvals + self.alphas[index])) @ self.basis.T
        return hat - hat.mean(dim=1, keepdim=True)

    def top_saturates(self) -> bool:
        """:meth:`~brainnet.encoding.ridge._RidgeFold.top_saturates`."""
        return bool(self.alphas[-1] >= 1e3 * self.eigvals.max().clamp(min=0.0))


def _score_ridge_device(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    alphas: np.ndarray,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~brainnet.encoding.null._score_ridge` at fixed penalties, on ``device``.

    Returns the same three arrays, as NumPy: r ``(n_perms + 1, n_targets)``, the
    chosen alpha index ``(n_folds, n_targets)`` and per fold whether the top
    penalty saturates.
    """
    n_stimuli, n_targets = targets.shape
    weight = 1.0 / len(splits)
    # r does not see a shift of a target; centred, the one-pass sums stay exact
    centred = torch.as_tensor(targets - targets.mean(axis=0), device=device)
    centred32 = centred.float()
    r = torch.zeros((perms.shape[1], n_targets), dtype=torch.float64, device=device)
    chosen = np.empty((len(splits), n_targets), dtype=np.intp)
    saturated = np.empty(len(splits), dtype=bool)
    folds = []
    for f, (train, test) in enumerate(splits):
        fold = _DeviceRidgeFold(features[train], features[test], alphas, device)
        train_t, test_t = (torch.as_tensor(i, device=device) for i in (train, test))
        for cols in _column_blocks(n_targets, n_stimuli, len(alphas)):
            predictions, best = fold.fit_predict(centred[train_t, cols])
            observed = centred[test_t, cols]
            r[0, cols] += weight * _r_from_sums(predictions[None], observed[None])[0]
            chosen[f, cols] = best.cpu().numpy()
        for index in np.unique(chosen[f]):
            columns = np.flatnonzero(chosen[f] == index)
            hat = fold.centred_hat(int(index)).float()
            for cols, blocks in _fixed_alpha_blocks(perms.shape, len(train), columns):
                cols_t = torch.as_tensor(cols, device=device)
                responses = centred32[:, cols_t]
                for block in blocks:
                    null = _permuted_r(hat, responses, perms[train, block], perms[test, block])
                    r[block, cols_t] += weight * null.double()
        saturated[f] = fold.top_saturates()
        folds.append(fold)
    _recompute_near(r, folds, splits, chosen, centred, perms)
    return r.cpu().numpy(), chosen, saturated


def _recompute_near(r, folds, splits, chosen, centred, perms) -> None:
    """Recompute in float64, in place, the permuted r within :data:`_MARGIN` of the
    observed r: the exceedances they decide are then those of the reference."""
    near = ((r[1:] - r[0]).abs() <= _MARGIN).nonzero().cpu().numpy()
    if not len(near):
        return
    perm, target = near[:, 0] + 1, near[:, 1]
    exact = torch.zeros(len(near), dtype=torch.float64, device=r.device)
    target_t = torch.as_tensor(target, device=r.device)
    for fold, (train, test), fold_chosen in zip(folds, splits, chosen, strict=True):
        for index in np.unique(fold_chosen[target]):
            pairs = np.flatnonzero(fold_chosen[target] == index)
            rows = torch.as_tensor(perms[:, perm[pairs]], device=r.device)
            columns = target_t[pairs]
            train_t, test_t = (torch.as_tensor(i, device=r.device) for i in (train, test))
            predicted = fold.centred_hat(int(index)) @ centred[rows[train_t], columns]
            observed = centred[rows[test_t], columns]
            exact[pairs] += _r_from_sums(predicted[None], observed[None])[0] / len(splits)
    r[torch.as_tensor(perm, device=r.device), target_t] = exact
