"""Tests of what the encoding scores mean: feature scaling that cannot explode, a null
centred on 0, a penalty grid that fits, honest noise ceilings, p-values below the
permutation floor."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from brainnet.encoding import DEFAULT_ALPHAS, fit_encoding
from brainnet.encoding.inputs import _folds
from brainnet.encoding.null import _permutations, _score_ridge
from encoding_data import activations_dataset, make_activations, make_responses, responses_dataset

ALPHAS = np.logspace(-2, 5, 12)


def sklearn_r(features, targets, alphas, standardise=False, n_folds=5, seed=0):
    """Held-out r per target of plain scikit-learn ``RidgeCV``, per fold averaged.

    ``standardise=False`` is brainnet's feature treatment (centred, one scale per
    layer: the grid times the total variance on the raw features); ``True`` is
    ``StandardScaler`` per training fold.
    """
    r = np.zeros(targets.shape[1])
    for train, test in KFold(n_folds, shuffle=True, random_state=seed).split(features):
        x_train, x_test, grid = features[train], features[test], alphas
        if standardise:
            scaler = StandardScaler().fit(x_train)
            x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        else:
            grid = alphas * x_train.var(axis=0).sum()
        model = RidgeCV(alphas=grid, alpha_per_target=True).fit(x_train, targets[train])
        predicted = model.predict(x_test)
        r += [stats.pearsonr(predicted[:, t], targets[test, t])[0] for t in range(len(r))]
    return r / n_folds


def sparse_relu_problem(seed=0):
    """Dense ReLU features that carry the signal, and many sparse ReLU features
    (each non-zero for about 1% of stimuli, heavy-tailed) that carry none."""
    rng = np.random.default_rng(seed)
    n, n_targets = 200, 30
    dense = np.maximum(rng.standard_normal((n, 40)) + 0.5, 0)
    sparse = np.maximum(rng.standard_normal((n, 400)) - 2.3, 0)
    sparse *= np.exp(rng.standard_normal(sparse.shape))
    signal = stats.zscore(dense @ rng.standard_normal((40, n_targets)), axis=0)
    targets = signal + rng.standard_normal((n, n_targets))
    return dense, np.hstack([dense, sparse]), targets


def fit_array(features, targets, **kwargs):
    activations = activations_dataset({"layer0": features})
    responses = responses_dataset(targets[:, :, None], activations["stimulus_id"].values)
    return fit_encoding(activations, responses, **kwargs)


# 1. Feature scaling that cannot explode ------------------------------------------------


def test_sparse_relu_features_do_not_collapse_the_scores():
    dense, features, targets = sparse_relu_problem()
    ours = fit_array(features, targets, n_permutations=0)["r"].values.ravel()
    alphas = np.asarray(DEFAULT_ALPHAS)
    same = sklearn_r(features, targets, alphas)
    standardised = sklearn_r(features, targets, alphas, standardise=True)
    dense_only = sklearn_r(dense, targets, alphas)
    # brainnet is scikit-learn's ridge on the same treatment: equal per target
    assert abs(np.median(ours) - np.median(same)) < 0.01
    np.testing.assert_allclose(ours, same, atol=1e-8)
    # per-feature standardisation (the old path) collapses on the sparse features;
    # one scale per layer keeps almost all of what the dense features alone give
    assert np.median(standardised) < np.median(ours) - 0.15
    assert np.median(ours) > np.median(dense_only) - 0.05


# 2. A score whose null is centred on 0 -------------------------------------------------


def test_held_out_r_without_signal_is_centred_on_zero():
    activations = make_activations(100, [30, 150], seed=31)
    noise = make_responses(activations, [None] * 200, n_windows=5, seed=32)
    r = fit_encoding(activations, noise, n_permutations=0)["r"]
    for layer in ("layer0", "layer1"):
        assert abs(float(r.sel(layer=layer).mean())) < 0.01, layer
    # the r of the pooled out-of-fold predictions, each fold with its own training
    # mean as intercept, is the biased score this one replaces
    features = activations["layer0"].values
    targets = noise["response"].values.reshape(100, -1)
    pooled = np.empty_like(targets)
    for train, test in KFold(5, shuffle=True, random_state=0).split(features):
        model = RidgeCV(alphas=np.asarray(DEFAULT_ALPHAS) * features[train].var(axis=0).sum())
        pooled[test] = model.fit(features[train], targets[train]).predict(features[test])
    pooled_r = [stats.pearsonr(pooled[:, t], targets[:, t])[0] for t in range(targets.shape[1])]
    assert np.mean(pooled_r) < -0.03


@pytest.mark.parametrize("refit_alpha", [False, True])
def test_permutation_p_values_are_uniform_without_signal(refit_alpha):
    activations = make_activations(60, [20], seed=33)
    noise = make_responses(activations, [None] * 150, seed=34)
    scores = fit_encoding(activations, noise, n_permutations=199, refit_alpha=refit_alpha)
    p = scores["p"].values.ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.05
    assert 0.45 < p.mean() < 0.55


@pytest.mark.parametrize(
    ("grid", "n_targets", "block_bytes"),
    [([10.0], 40, None), (ALPHAS, 6, None), ([10.0], 40, 8 * 8 * 60)],
    ids=["shared-penalty", "few-per-penalty", "tiny-blocks"],
)
def test_permuted_scores_are_the_observed_score_of_permuted_responses(
    grid, n_targets, block_bytes, monkeypatch
):
    """Every permuted score is the held-out r of ridge refitted, at the observed
    data's penalty of its fold, on the permuted responses (scikit-learn)."""
    if block_bytes is not None:
        monkeypatch.setattr("brainnet.encoding.memory._BLOCK_BYTES", block_bytes)
    activations = make_activations(40, [25], seed=35)
    responses = make_responses(activations, ["layer0"] * n_targets, n_windows=1, seed=36)
    features = activations["layer0"].values
    targets = stats.zscore(responses["response"].values.reshape(40, -1), axis=0)
    splits = _folds(activations, responses, 40, 5, None, seed=0)
    perms = _permutations(40, 6, seed=1)
    alphas = np.asarray(grid)
    r_all, chosen, _ = _score_ridge(features, targets, splits, perms, alphas, False)
    expected = np.zeros_like(r_all)
    for f, (train, test) in enumerate(splits):
        s2 = features[train].var(axis=0).sum()
        for k in range(perms.shape[1]):
            y = targets[perms[:, k]]
            for t in range(n_targets):
                model = Ridge(alpha=alphas[chosen[f, t]] * s2).fit(features[train], y[train, t])
                expected[k, t] += stats.pearsonr(model.predict(features[test]), y[test, t])[0] / 5
    np.testing.assert_allclose(r_all, expected, atol=1e-10)


# 3. A penalty grid that fits -----------------------------------------------------------


def grid_warnings(caplog):
    return [rec for rec in caplog.records if "encoding.alphas" in rec.getMessage()]


def test_default_grid_fits_and_a_narrow_grid_warns_once_per_call(caplog):
    activations = make_activations(100, [30, 150, 120], seed=37)
    sources = ["layer0", "layer1", "layer2"] * 2 + [None] * 24
    responses = make_responses(activations, sources, snr=3.0, seed=38)
    with caplog.at_level(logging.WARNING, logger="brainnet"):
        default = fit_encoding(activations, responses, n_permutations=0)
    # the noise channels choose the largest penalty, but there it already saturates
    assert (default["alpha"] == DEFAULT_ALPHAS[-1]).mean() > 0.3
    assert not grid_warnings(caplog)

    for alphas, edge in (([1e3, 1e4], "smallest"), ([1e-3, 1e-2, 1e-1], "largest")):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="brainnet"):
            fit_encoding(activations, responses, alphas=alphas, n_permutations=0)
        (record,) = grid_warnings(caplog)
        message = record.getMessage()
        assert f"the {edge} penalty" in message
        assert all(layer in message for layer in ("layer0", "layer1", "layer2"))


# 4. Noise ceilings that stay honest ----------------------------------------------------


def planted_reliabilities(n_stimuli=300, n_per_group=40, seed=39):
    """Channels whose mean over 4 repetitions has a known reliability (0.9, 0.6, 0.3,
    0): a linear readout of an 8-feature layer plus noise per repetition."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_stimuli, 8))
    reliabilities = np.repeat([0.9, 0.6, 0.3, 0.0], n_per_group)
    reliable = reliabilities > 0
    signal = stats.zscore(features @ rng.standard_normal((8, reliabilities.size)), axis=0)
    signal[:, ~reliable] = 0
    # the mean of 4 repetitions has noise variance (1 - R) / R against signal variance 1
    noise_sd = np.sqrt(4 * (1 - reliabilities) / np.where(reliable, reliabilities, 1.0))
    noise_sd[~reliable] = 1.0
    repeats = signal + noise_sd * rng.standard_normal((4, n_stimuli, reliabilities.size))
    halves = np.stack([repeats[:2].mean(axis=0), repeats[2:].mean(axis=0)])
    activations = activations_dataset({"layer0": features})
    responses = responses_dataset(
        repeats.mean(axis=0)[:, :, None],
        activations["stimulus_id"].values,
        split_half=halves[..., None],
    )
    return activations, responses, reliabilities


def ceiled_standard_error(r, ceiling, n):
    """The documented delta-method standard error of ``r / sqrt(ceiling)``."""
    r_half = ceiling / (2 - ceiling)
    se_ceiling = 2 * (1 - r_half) / ((1 + r_half) * np.sqrt(n))
    return np.sqrt((1 - r**2) ** 2 / (n * ceiling) + r**2 * se_ceiling**2 / (4 * ceiling**3))


def test_noise_ceiling_recovers_a_known_ceiling_and_ceiled_scores_stay_in_range():
    activations, responses, reliabilities = planted_reliabilities()
    scores = fit_encoding(activations, responses, n_permutations=0).isel(layer=0)
    ceiling = scores["noise_ceiling"].values.ravel()
    ceiled = scores["r_ceiled"].values.ravel()
    reliability = scores["reliability"].values.ravel()
    for value in (0.9, 0.6, 0.3):
        group = reliabilities == value
        assert abs(np.median(reliability[group]) - value) < 0.05, value
        # the model reads the noiseless signal almost perfectly: ceiled r near 1
        assert 0.9 < np.nanmedian(ceiled[group]) < 1.03, value
    # no reliability: below the floor (0.1, or significance: 0.174 for 300 stimuli)
    # for all but a few channels, with the reason recorded, and never a ceiled score
    # without a ceiling
    reason = scores["noise_ceiling_reason"].values.ravel()
    none = reliabilities == 0
    assert np.mean(np.isnan(ceiling[none])) >= 0.9
    below = reason[none & np.isnan(ceiling)]
    assert set(below) <= {
        "reliability below min_reliability=0.1",
        "split-half r not significant (one-sided p > 0.05): reliability below 0.174",
    }
    assert np.isnan(ceiled[np.isnan(ceiling)]).all()
    assert (reason[np.isfinite(ceiling)] == "ok").all()
    # within [-1, 1] up to the documented sampling error
    finite = np.isfinite(ceiled)
    se = ceiled_standard_error(scores["r"].values.ravel()[finite], ceiling[finite], 300)
    assert np.all(np.abs(ceiled[finite]) <= 1 + 3 * se)


# 5. p-values fine enough for FDR -------------------------------------------------------


def test_tail_p_values_are_calibrated_on_null_data():
    activations = make_activations(60, [10], seed=40)
    noise = make_responses(activations, [None] * 200, n_windows=5, seed=41)
    scores = fit_encoding(activations, noise, n_permutations=499)
    p, tail = scores["p"].values.ravel(), scores["p_tail"].values.ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.05
    # only p-values with fewer than 10 exceedances come from the tail
    assert tail.any() and np.all(p[tail] < 0.03) and np.all(p[~tail] >= 11 / 500)
    # no excess of small p-values, below the permutation floor of 1/500 included
    for x in (0.0005, 0.002, 0.01):
        assert np.sum(p <= x) <= x * p.size + 3 * np.sqrt(x * p.size) + 1, x


def test_tail_p_values_agree_with_a_long_permutation_run_on_the_large_side():
    activations = make_activations(60, [10], seed=42)
    sources = ["layer0"] * 40
    responses = make_responses(activations, sources, n_windows=1, snr=0.5, seed=43)
    short = fit_encoding(activations, responses, n_permutations=499)
    long = fit_encoding(activations, responses, n_permutations=19999, tail=None)
    p_short, p_long = short["p"].values.ravel(), long["p"].values.ravel()
    # where the long run resolves p (at least 20 exceedances) and the short one used
    # the tail fit: the same order of magnitude, and conservative (not smaller) overall
    compared = short["p_tail"].values.ravel() & (p_long >= 21 / 20000)
    assert compared.sum() >= 5
    ratio = p_short[compared] / p_long[compared]
    assert np.all((ratio > 0.3) & (ratio < 10)), ratio
    assert np.median(ratio) >= 1


def test_tail_lets_fdr_find_effects_the_permutation_floor_hides():
    """The case of the issue, scaled down: with 400 tests and 299 permutations a p at
    the floor 1/300 passes Benjamini-Hochberg only with 27 others; 20 planted
    effects do not, unless their p-values are resolved below the floor."""
    activations = make_activations(100, [20], seed=44)
    sources = ["layer0"] * 10 + [None] * 190
    responses = make_responses(activations, sources, n_windows=2, snr=1.0, seed=45)
    planted = np.repeat(np.array(sources) != None, 2)  # noqa: E711 (an object array)
    plain = fit_encoding(activations, responses, n_permutations=299, tail=None)
    assert (plain["p"].values.ravel()[planted] == 1 / 300).mean() >= 0.9
    assert not plain["significant"].any()
    tailed = fit_encoding(activations, responses, n_permutations=299)
    significant = tailed["significant"].values.ravel()
    assert significant[planted].mean() >= 0.9
    assert significant[~planted].sum() <= 1
