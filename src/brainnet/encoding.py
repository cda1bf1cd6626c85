"""Cross-validated encoding models from network layers to recording sites.

For every layer and every target (one channel, band and window), a linear
model predicts the response to held-out stimuli from the layer's features
(Guclu and van Gerven 2015; Yamins et al. 2014). The score is the Pearson
correlation between out-of-fold predictions and the measured responses; its
significance comes from permuting the stimulus labels of the responses.

Ridge regression is solved once per training fold: the standardised features
are decomposed (eigendecomposition of the Gram matrix when there are fewer
stimuli than features, SVD otherwise), and from that one decomposition the
exact leave-one-out errors of every alpha and every target follow by matrix
products. The penalty is chosen per target inside the training fold, exactly
as :class:`sklearn.linear_model.RidgeCV` with ``alpha_per_target=True`` does,
and the held-out predictions equal :class:`sklearn.linear_model.Ridge` at the
chosen penalty. Permuted responses are extra targets for the same
decompositions, which is what makes 1,000 permutations affordable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import sklearn
import xarray as xr
from scipy import linalg, stats
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from brainnet.join import align_responses, format_ids, layer_names
from brainnet.log import logger, set_log_level
from brainnet.responses import RESPONSE_DIMS

__all__ = ["DEFAULT_ALPHAS", "fit_encoding", "fit_predict_ridge", "noise_ceiling"]

#: Default ridge penalties: 20 values, log-spaced from 1e-2 to 1e8. Features are
#: standardised, so the Gram matrix eigenvalues scale with n_stimuli x n_features;
#: the grid runs from near-interpolation to full shrinkage for typical layer sizes.
DEFAULT_ALPHAS = tuple(np.logspace(-2, 8, 20).tolist())

_ESTIMATORS = ("ridge", "pls")
# Working memory per block of targets; the per-fold decomposition comes on top.
_BLOCK_BYTES = 64 * 2**20
# Memory for the per-fold triangular factors of the leave-one-out errors.
_FACTOR_BYTES = 512 * 2**20
_TARGETS_SHOWN = 5


def fit_encoding(
    activations: xr.Dataset,
    responses: xr.Dataset,
    *,
    estimator: str = "ridge",
    n_folds: int = 5,
    groups: str | None = None,
    alphas: Sequence[float] | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
    fdr_alpha: float = 0.05,
    pls_components: int = 25,
    refit_alpha: bool = False,
    verbose: bool | str | int | None = None,
) -> xr.Dataset:
    """Fit cross-validated encoding models from every layer to every target.

    Parameters
    ----------
    activations : xarray.Dataset
        One variable per layer with dims ``(stimulus, feature_<layer>)`` and the
        coordinate ``stimulus_id``; attribute ``layers`` gives the layer order
        (the data variables in order when absent).
    responses : xarray.Dataset
        ``response (stimulus, channel, band, window)`` with coordinate
        ``stimulus_id``; optional ``split_half (half, stimulus, channel, band,
        window)`` for the noise ceiling and ``responsive (channel, band,
        window)``, which is carried into the result.
    estimator : ``"ridge"`` | ``"pls"``
        Ridge regression with a penalty per target chosen by leave-one-out
        inside each training fold, or partial least squares
        (:class:`sklearn.cross_decomposition.PLSRegression`, fitted jointly on
        all targets, as in Brain-Score).
    n_folds : int
        Number of outer cross-validation folds over stimuli (shuffled with
        ``seed``).
    groups : str | None
        Name of a stimulus coordinate (for example ``"category"``) whose values
        are kept together in one fold, so that the model is tested on unseen
        groups. ``None`` splits stimuli freely.
    alphas : sequence of float | None
        Ridge penalties to choose from; ``None`` uses :data:`DEFAULT_ALPHAS`.
    n_permutations : int
        Number of permutations of the stimulus labels of the responses. The
        same permutations serve every layer and target. ``0`` skips the test
        (``p`` and ``p_fdr`` are then NaN).
    seed : int
        Seed of the fold assignment and of the permutations.
    fdr_alpha : float
        False discovery rate at which ``significant`` is set.
    pls_components : int
        Number of PLS components (capped by the features and training stimuli
        of each layer).
    refit_alpha : bool
        Ridge only. ``False`` (default): each permutation keeps the penalty
        chosen for the target in each fold on the real data, so a permuted fit
        is one precomputed linear map per penalty (about n_test x n_train
        operations per target instead of n_alphas x n_train^2). This null is
        slightly wider than the refitted one (conservative: it costs a little
        power, never adds false positives; see the tests). ``True``:
        penalties are chosen afresh by leave-one-out in every permutation, the
        exact null of the whole procedure including the selection, at about
        the cost of the observed fit per permutation.
    verbose : bool | str | int | None
        Logging level for this call (see :func:`brainnet.log.set_log_level`);
        a progress bar over layers is shown at ``"info"`` and below.

    Returns
    -------
    scores : xarray.Dataset
        Dims ``(layer, channel, band, window)``, with all channel, band and
        window coordinates of ``responses`` and ``layer_index``:

        ``r``
            Pearson correlation between the out-of-fold predictions of all
            stimuli and the responses.
        ``p``
            Permutation p-value, ``(1 + #{r_null >= r}) / (1 + n_permutations)``.
        ``p_fdr``, ``significant``
            Benjamini-Hochberg adjusted p over all layers, channels, bands and
            windows, and ``p_fdr <= fdr_alpha``.
        ``alpha``
            Ridge penalty: geometric median over folds of the per-fold choice
            (a grid value when ``n_folds`` is odd); NaN for PLS.
        ``noise_ceiling`` (channel, band, window)
            Spearman-Brown corrected split-half reliability (see
            :func:`noise_ceiling`); NaN without ``split_half``.
        ``r_ceiled``
            ``r / sqrt(noise_ceiling)``: the correlation corrected for
            attenuation by measurement noise; NaN where the reliability is not
            positive or unknown.
        ``responsive``
            Copied from ``responses`` when present.

    Raises
    ------
    ValueError
        On stimulus ids that do not match, NaN or infinite values, a constant
        layer or response, too few stimuli or groups for ``n_folds``, or bad
        settings; the message names the layer, target or ids at fault.

    Notes
    -----
    ``r`` pools the out-of-fold predictions of all folds (as
    :func:`sklearn.model_selection.cross_val_predict`). Under the null it is
    biased below zero, because each fold's intercept is the training mean,
    which moves away from the held-out responses; the permutation null carries
    the same bias, so ``p`` is exact.

    The correction ``r / sqrt(noise_ceiling)`` is Spearman's correction for
    attenuation: the reliability is the squared correlation between the
    measured mean response and its noiseless value, so ``sqrt(noise_ceiling)``
    is the largest correlation any model can reach. Dividing by the
    reliability itself (as Brain-Score does for its consistency ceiling) would
    mix a correlation with a squared correlation.

    Permutations reuse each fold's decomposition: with ``refit_alpha`` they
    are extra columns of the same leave-one-out products, without it they go
    through the fold's hat map of the chosen penalty (see ``refit_alpha``).
    PLS refits once per permutation and fold. Memory per layer is about
    ``4 (1 + n_permutations) n_targets`` floats for the null sums, plus
    ``len(alphas) n_train^2`` floats for the per-fold factors (capped; see
    ``_FACTOR_BYTES``).
    """
    with _log_level(verbose):
        alphas = _check_settings(
            estimator, n_folds, groups, alphas, n_permutations, fdr_alpha, pls_components
        )
        layers = layer_names(activations)
        aligned = align_responses(activations, responses)
        template, targets = _flat_targets(aligned)
        splits = _folds(activations, aligned, targets.shape[0], n_folds, groups, seed)
        perms = _permutations(targets.shape[0], n_permutations, seed)
        logger.info(
            "encoding: %d layers, %d stimuli, %d targets, %s, %d folds, %d permutations",
            len(layers),
            targets.shape[0],
            targets.shape[1],
            estimator,
            n_folds,
            n_permutations,
        )

        r, p, alpha = np.full((3, len(layers), targets.shape[1]), np.nan)
        show = logger.isEnabledFor(logging.INFO)
        for i, name in enumerate(tqdm(layers, desc="encoding", unit="layer", disable=not show)):
            features = _layer_features(activations, name)
            if estimator == "ridge":
                r_all, chosen = _score_ridge(features, targets, splits, perms, alphas, refit_alpha)
                alpha[i] = _fold_median(alphas[chosen])
                _log_grid_edges(name, chosen, len(alphas))
            else:
                r_all = _score_pls(features, targets, splits, perms, pls_components)
            r[i] = r_all[0]
            if n_permutations:
                # a permutation equal to the identity reproduces r up to round-off
                exceed = (r_all[1:] >= r_all[0] - 1e-12).sum(axis=0)
                p[i] = (1 + exceed) / (1 + n_permutations)
            logger.debug("layer %s: median r = %.3f", name, np.median(r[i]))

        scores = _assemble(template, layers, r=r, p=p, alpha=alpha, fdr_alpha=fdr_alpha)
        scores["noise_ceiling"] = _ceiling(aligned, template)
        positive = scores["noise_ceiling"].where(scores["noise_ceiling"] > 0)
        scores["r_ceiled"] = scores["r"] / np.sqrt(positive)
        if "responsive" in aligned.data_vars:
            scores["responsive"] = aligned["responsive"].transpose(*RESPONSE_DIMS[1:])
        _describe(scores)
        scores.attrs = {
            "estimator": estimator,
            "n_folds": n_folds,
            "groups": groups,
            "alphas": alphas.tolist() if estimator == "ridge" else None,
            "n_permutations": n_permutations,
            "seed": seed,
            "fdr_alpha": fdr_alpha,
            "pls_components": pls_components if estimator == "pls" else None,
            "refit_alpha": refit_alpha,
            "model": activations.attrs.get("model"),
            "sklearn_version": sklearn.__version__,
        }
        return scores


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


def noise_ceiling(split_half: xr.DataArray) -> xr.DataArray:
    """Spearman-Brown corrected split-half reliability of the mean response.

    Parameters
    ----------
    split_half : xarray.DataArray
        Dims ``half`` (size 2) and ``stimulus``: the mean response of each half
        of the repetitions.

    Returns
    -------
    ceiling : xarray.DataArray
        ``2 r / (1 + r)`` with ``r`` the Pearson correlation of the two halves
        over stimuli: the reliability of the mean over all repetitions, that is
        the squared correlation it can reach with the noiseless response. A
        model's correlation is therefore bounded by ``sqrt(ceiling)``.
    """
    if split_half.sizes.get("half") != 2 or "stimulus" not in split_half.dims:
        raise ValueError(
            f"split_half needs dims 'half' (size 2) and 'stimulus', got {dict(split_half.sizes)}"
        )
    r = xr.corr(split_half.isel(half=0), split_half.isel(half=1), dim="stimulus")
    ceiling = 2 * r / (1 + r)
    ceiling.name = "noise_ceiling"
    return ceiling


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
        scaler = StandardScaler().fit(train)
        x_train = scaler.transform(train)
        x_test = scaler.transform(test)
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
        triangular = self.complete and len(alphas) * n_train**2 * 8 <= _FACTOR_BYTES
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


def _score_ridge(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    alphas: np.ndarray,
    refit_alpha: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold r for the observed and every permuted target, ridge.

    Each training fold is decomposed once; the observed and permuted targets
    are then fitted by :func:`_refit_fold` or :func:`_fixed_alpha_fold` (see
    ``refit_alpha`` of :func:`fit_encoding`). Returns r ``(n_perms + 1,
    n_targets)`` (row ``k`` is permutation ``k``, row 0 the identity) and the
    chosen alpha index ``(n_folds, n_targets)`` of the observed targets.
    """
    n_targets = targets.shape[1]
    sums = np.zeros((3, perms.shape[1], n_targets))
    chosen = np.empty((len(splits), n_targets), dtype=np.intp)
    add_fold = _refit_fold if refit_alpha else _fixed_alpha_fold
    for f, (train, test) in enumerate(splits):
        fold = _RidgeFold(features[train], features[test], alphas)
        chosen[f] = add_fold(fold, targets, train, test, perms, sums)
    r = _pearson_from_sums(sums.reshape(3, -1), targets)
    return r.reshape(perms.shape[1], n_targets), chosen


def _refit_fold(
    fold: _RidgeFold,
    targets: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    perms: np.ndarray,
    sums: np.ndarray,
) -> np.ndarray:
    """Add one fold to ``sums`` with every penalty chosen afresh by leave-one-out,
    for the observed and each permuted target alike; return the observed choices.

    Column ``k * n_targets + t`` of the flattened sums is target ``t`` under
    permutation ``k``; the columns are fitted in blocks.
    """
    n_stimuli, n_targets = targets.shape
    flat = sums.reshape(3, -1)  # a view: the blocks add into ``sums``
    chosen = np.empty(n_targets, dtype=np.intp)
    perm_train, perm_test = perms[train], perms[test]
    for cols in _column_blocks(flat.shape[1], n_stimuli, len(fold.alphas)):
        perm, target = np.divmod(np.arange(cols.start, cols.stop), n_targets)
        predictions, best = fold.fit_predict(targets[perm_train[:, perm], target])
        _accumulate(flat[:, cols], predictions, targets[perm_test[:, perm], target])
        observed = perm == 0
        chosen[target[observed]] = best[observed]
    return chosen


def _fixed_alpha_fold(
    fold: _RidgeFold,
    targets: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    perms: np.ndarray,
    sums: np.ndarray,
) -> np.ndarray:
    """Add one fold to ``sums`` with each permuted target fitted at the penalty
    chosen for it on the real data; return those choices.

    A ridge prediction at a fixed penalty is linear in the training targets,
    so the permuted fits of all targets sharing a penalty are one product with
    that penalty's hat map, done for blocks of permutations at a time.
    """
    predictions, chosen = fold.fit_predict(targets[train])
    _accumulate(sums[:, 0], predictions, targets[test])
    for index in np.unique(chosen):
        columns = np.flatnonzero(chosen == index)
        hat, sub = fold.hat_map(index), targets[:, columns]
        for block in _permutation_blocks(perms.shape[1], len(train), len(columns)):
            y_train = sub[perms[train, block]]  # (n_train, n_block, n_columns)
            y_test = sub[perms[test, block]]
            mean = y_train.mean(axis=0)
            predicted = np.tensordot(hat, y_train - mean, axes=1) + mean
            sums[0, block][:, columns] += predicted.sum(axis=0)
            sums[1, block][:, columns] += np.einsum("ikj,ikj->kj", predicted, predicted)
            sums[2, block][:, columns] += np.einsum("ikj,ikj->kj", predicted, y_test)
    return chosen


def _permutation_blocks(n_perms: int, n_train: int, n_columns: int) -> Iterator[slice]:
    """Slices of permutations 1.. whose gathered training targets fit in ``_BLOCK_BYTES``."""
    block = max(1, _BLOCK_BYTES // (8 * 3 * n_train * max(n_columns, 1)))
    for start in range(1, n_perms, block):
        yield slice(start, min(start + block, n_perms))


def _score_pls(
    features: np.ndarray,
    targets: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    perms: np.ndarray,
    n_components: int,
) -> np.ndarray:
    """Out-of-fold r ``(n_perms + 1, n_targets)`` of PLS regression.

    PLS fits all targets jointly (its components depend on every target), so
    each permutation is a separate fit on the same standardised features.
    """
    n_targets = targets.shape[1]
    sums = np.zeros((3, perms.shape[1] * n_targets))
    for train, test in splits:
        scaler = StandardScaler().fit(features[train])
        x_train, x_test = scaler.transform(features[train]), scaler.transform(features[test])
        n_comp = min(n_components, *x_train.shape)
        if n_comp < n_components:
            logger.info(
                "PLS components capped at %d by the layer's shape %s in a training fold",
                n_comp,
                x_train.shape,
            )
        for k in range(perms.shape[1]):
            pls = PLSRegression(n_components=n_comp, scale=True)
            pls.fit(x_train, targets[perms[train, k]])
            cols = slice(k * n_targets, (k + 1) * n_targets)
            _accumulate(sums[:, cols], pls.predict(x_test), targets[perms[test, k]])
    return _pearson_from_sums(sums, targets).reshape(perms.shape[1], n_targets)


def _column_blocks(n_columns: int, n_stimuli: int, n_alphas: int) -> Iterator[slice]:
    """Slices of target columns whose working arrays fit in ``_BLOCK_BYTES``.

    A column needs about four stimulus-length vectors (targets, centred
    targets, projection, errors, plus gather indices) and one score per alpha.
    """
    block = max(1, _BLOCK_BYTES // (8 * (4 * n_stimuli + n_alphas)))
    for start in range(0, n_columns, block):
        yield slice(start, min(start + block, n_columns))


def _accumulate(sums: np.ndarray, predictions: np.ndarray, observed: np.ndarray) -> None:
    """Add a fold's sums of p, p^2 and p*y: r over all folds needs only these."""
    sums[0] += predictions.sum(axis=0)
    sums[1] += np.einsum("ij,ij->j", predictions, predictions)
    sums[2] += np.einsum("ij,ij->j", predictions, observed)


def _pearson_from_sums(sums: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Pearson r per column from the accumulated sums.

    Permuting the stimuli leaves each target's sum and sum of squares
    unchanged, so they come from ``targets`` (column ``c`` is target
    ``c % n_targets``).
    """
    n, n_targets = targets.shape
    reps = sums.shape[1] // n_targets
    sum_y = np.tile(targets.sum(axis=0), reps)
    ss_y = np.tile(np.einsum("ij,ij->j", targets, targets), reps) - sum_y**2 / n
    cov = sums[2] - sums[0] * sum_y / n
    ss_p = sums[1] - sums[0] ** 2 / n
    denom = np.sqrt(np.clip(ss_p, 0.0, None) * ss_y)
    # a constant prediction carries no information about the response: r = 0
    return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 0)


def _flat_targets(aligned: xr.Dataset) -> tuple[xr.DataArray, np.ndarray]:
    """The (channel, band, window) template and the checked, z-scored targets
    ``(n_stimuli, n_targets)`` in the template's flattened order."""
    response = aligned["response"].transpose(*RESPONSE_DIMS)
    template = response.isel(stimulus=0, drop=True)
    targets = response.values.reshape(response.sizes["stimulus"], -1).astype(np.float64)
    _check_targets(targets, template, "response")
    # Ridge and PLS predictions are affine-equivariant per target and r is
    # invariant, so z-scoring changes no result but keeps the one-pass sums of
    # _pearson_from_sums well conditioned for responses far from zero.
    return template, stats.zscore(targets, axis=0)


def _assemble(template: xr.DataArray, layers: list[str], *, r, p, alpha, fdr_alpha) -> xr.Dataset:
    """Scores over (layer, channel, band, window) with FDR over all of them."""
    p_fdr = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        p_fdr[tested] = stats.false_discovery_control(p[tested], method="bh")
    dims = ("layer",) + template.dims
    shape = (len(layers),) + template.shape
    data = {
        "r": r,
        "p": p,
        "p_fdr": p_fdr,
        "significant": p_fdr <= fdr_alpha,
        "alpha": alpha,
    }
    scores = xr.Dataset(
        {name: (dims, values.reshape(shape)) for name, values in data.items()},
        coords=template.coords,
    )
    return scores.assign_coords(layer=list(layers), layer_index=("layer", range(len(layers))))


def _ceiling(aligned: xr.Dataset, template: xr.DataArray) -> xr.DataArray:
    if "split_half" not in aligned:
        return xr.full_like(template, np.nan, dtype=np.float64).reset_coords(drop=True)
    halves = aligned["split_half"].transpose("half", *RESPONSE_DIMS)
    # a constant half has no reliability: its ceiling is NaN, not an error
    _check_targets(
        halves.values.reshape(-1, template.size), template, "split_half", allow_constant=True
    )
    return noise_ceiling(halves).reset_coords(drop=True)


def _fold_median(values: np.ndarray) -> np.ndarray:
    """Median over folds (axis 0): a grid value for an odd number of folds, else the
    geometric mean of the middle two, the midpoint on a log grid."""
    ordered = np.sort(values, axis=0)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return np.sqrt(ordered[middle - 1] * ordered[middle])


def _check_alphas(alphas: Sequence[float] | None) -> np.ndarray:
    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=np.float64)
    if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas) & (alphas > 0)):
        raise ValueError(f"alphas must be a non-empty list of positive numbers, got {alphas}")
    return alphas


def _check_settings(
    estimator, n_folds, groups, alphas, n_permutations, fdr_alpha, pls_components
) -> np.ndarray:
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    for name, value, low in (
        ("n_folds", n_folds, 2),
        ("n_permutations", n_permutations, 0),
        ("pls_components", pls_components, 1),
    ):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if groups is not None and not isinstance(groups, str):
        raise ValueError(f"groups must be None or a stimulus coordinate name, got {groups!r}")
    if not 0 < fdr_alpha < 1:
        raise ValueError(f"fdr_alpha must be in (0, 1), got {fdr_alpha!r}")
    return _check_alphas(alphas)


def _layer_features(activations: xr.Dataset, name: str) -> np.ndarray:
    var = activations[name]
    if var.ndim != 2 or var.dims[0] != "stimulus":
        raise ValueError(
            f"layer {name!r} must have dims (stimulus, feature_{name}), got {var.dims}"
        )
    features = np.asarray(var.values, dtype=np.float64)
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        ids = activations["stimulus_id"].values[bad]
        raise ValueError(
            f"layer {name!r} has NaN or infinite features for {bad.sum()} stimuli "
            f"{format_ids(ids)}"
        )
    if np.ptp(features, axis=0).max(initial=0.0) == 0:
        raise ValueError(f"layer {name!r} is constant over stimuli: it cannot predict anything")
    return features


def _check_targets(
    values: np.ndarray, template: xr.DataArray, what: str, allow_constant: bool = False
) -> None:
    """Refuse NaN, infinite or constant targets, naming them."""
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        raise ValueError(
            f"{what} has NaN or infinite values for {bad.sum()} targets: "
            f"{_target_names(template, bad)}"
        )
    constant = np.ptp(values, axis=0) == 0
    if constant.any() and not allow_constant:
        raise ValueError(
            f"{what} is constant over stimuli for {constant.sum()} targets: "
            f"{_target_names(template, constant)}"
        )


def _target_names(template: xr.DataArray, mask: np.ndarray) -> str:
    index = np.flatnonzero(mask)[:_TARGETS_SHOWN]
    names = []
    for flat in index:
        where = dict(zip(template.dims, np.unravel_index(flat, template.shape), strict=True))
        names.append(", ".join(f"{dim}={template[dim].values[i]!s}" for dim, i in where.items()))
    more = " ..." if mask.sum() > _TARGETS_SHOWN else ""
    return "; ".join(f"({n})" for n in names) + more


def _folds(
    activations: xr.Dataset,
    responses: xr.Dataset,
    n_stimuli: int,
    n_folds: int,
    groups: str | None,
    seed: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    if n_stimuli < n_folds:
        raise ValueError(f"{n_stimuli} stimuli are fewer than n_folds={n_folds}")
    index = np.arange(n_stimuli)
    if groups is None:
        return list(KFold(n_folds, shuffle=True, random_state=seed).split(index))
    source = activations if groups in activations.coords else responses
    if groups not in source.coords or source[groups].dims != ("stimulus",):
        raise ValueError(
            f"groups={groups!r} is not a stimulus coordinate of the activations or the responses"
        )
    labels = source[groups].values
    n_groups = np.unique(labels).size
    if n_groups < n_folds:
        raise ValueError(
            f"groups={groups!r} has {n_groups} distinct values, fewer than n_folds={n_folds}"
        )
    splitter = GroupKFold(n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(index, groups=labels))


def _permutations(n_stimuli: int, n_permutations: int, seed: int) -> np.ndarray:
    """Stimulus index per permutation, ``(n_stimuli, 1 + n_permutations)``; column 0 is
    the identity (the observed data)."""
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.tile(np.arange(n_stimuli), (n_permutations, 1)), axis=1)
    return np.vstack([np.arange(n_stimuli), shuffled]).T


def _log_grid_edges(layer: str, chosen: np.ndarray, n_alphas: int) -> None:
    for edge, label in ((0, "smallest"), (n_alphas - 1, "largest")):
        share = np.mean(chosen == edge)
        if share > 0.1:
            logger.info(
                "layer %s: %.0f%% of fold choices are the %s alpha; consider widening the grid",
                layer,
                100 * share,
                label,
            )


def _describe(scores: xr.Dataset) -> None:
    descriptions = {
        "r": "Pearson r between out-of-fold predictions and responses",
        "p": "permutation p-value, (1 + #{r_null >= r}) / (1 + n_permutations)",
        "p_fdr": "Benjamini-Hochberg adjusted p over layers, channels, bands, windows",
        "significant": "p_fdr <= fdr_alpha",
        "alpha": "ridge penalty, geometric median over folds of the per-fold choice",
        "noise_ceiling": "Spearman-Brown corrected split-half reliability, 2 r_sh / (1 + r_sh)",
        "r_ceiled": "r / sqrt(noise_ceiling), r corrected for attenuation by noise",
    }
    for name, text in descriptions.items():
        scores[name].attrs["long_name"] = text


@contextmanager
def _log_level(verbose: bool | str | int | None) -> Iterator[None]:
    """Apply ``verbose`` for one call and restore the previous level (as MNE does)."""
    previous = logger.level
    set_log_level(verbose)
    try:
        yield
    finally:
        logger.setLevel(previous)
