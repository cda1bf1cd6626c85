"""Tests of brainnet.encoding: planted effects, agreement with scikit-learn, statistics."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from brainnet.encoding import fit_encoding, fit_predict_ridge, noise_ceiling
from brainnet.io import read_dataset, write_netcdf

ALPHAS = np.logspace(-2, 5, 12)


def make_activations(n_stimuli, sizes, seed=0, n_categories=5):
    """Layers of random features, each partly a random mixture of the one before."""
    rng = np.random.default_rng(seed)
    data, previous = {}, None
    for i, size in enumerate(sizes):
        fresh = rng.standard_normal((n_stimuli, size))
        if previous is not None:
            mixed = previous @ rng.standard_normal((previous.shape[1], size))
            fresh = 0.5 * stats.zscore(mixed, axis=0) + fresh
        data[f"layer{i}"] = (("stimulus", f"feature_layer{i}"), fresh)
        previous = fresh
    coords = {
        "stimulus_id": ("stimulus", [f"stim{i:03d}" for i in range(n_stimuli)]),
        "category": ("stimulus", [f"cat{i % n_categories}" for i in range(n_stimuli)]),
    }
    return xr.Dataset(data, coords=coords, attrs={"layers": list(data), "model": "toy"})


def make_responses(activations, sources, n_windows=2, snr=1.0, seed=1):
    """One channel per entry of ``sources``: a linear readout of that layer plus
    noise, or pure noise for ``None``."""
    rng = np.random.default_rng(seed)
    n = activations.sizes["stimulus"]
    response = np.empty((n, len(sources), 1, n_windows))
    for c, source in enumerate(sources):
        for w in range(n_windows):
            noise = rng.standard_normal(n)
            if source is None:
                response[:, c, 0, w] = noise
            else:
                features = activations[source].values
                signal = stats.zscore(features @ rng.standard_normal(features.shape[1]))
                response[:, c, 0, w] = snr * signal + noise
    channels = [f"ch{c:02d}" for c in range(len(sources))]
    return xr.Dataset(
        {"response": (("stimulus", "channel", "band", "window"), 3.0 + 10.0 * response)},
        coords={
            "stimulus_id": ("stimulus", activations["stimulus_id"].values),
            "channel": channels,
            "subject": ("channel", ["sub-01"] * len(sources)),
            "region": ("channel", [str(s) for s in sources]),
            "region_rank": ("channel", np.arange(len(sources))),
            "x": ("channel", np.zeros(len(sources))),
            "y": ("channel", np.zeros(len(sources))),
            "z": ("channel", np.full(len(sources), np.nan)),
            "band": ["low_gamma"],
            "fmin": ("band", [30.0]),
            "fmax": ("band", [70.0]),
            "window": [f"w{w}" for w in range(n_windows)],
            "tmin": ("window", 0.1 * np.arange(n_windows)),
            "tmax": ("window", 0.1 * np.arange(n_windows) + 0.2),
        },
    )


@pytest.fixture(scope="module")
def planted():
    # 80 training stimuli per fold: layers 0-1 have fewer features (SVD path),
    # layers 2-3 more (Gram path).
    activations = make_activations(100, [30, 60, 150, 120])
    sources = [f"layer{i}" for i in range(4) for _ in range(3)] + [None] * 6
    responses = make_responses(activations, sources, snr=2.0)
    scores = fit_encoding(activations, responses, alphas=ALPHAS, n_permutations=499)
    return sources, scores


@pytest.mark.parametrize("refit_alpha", [False, True])
def test_planted_layer_is_significant_under_either_null(refit_alpha):
    activations = make_activations(100, [30, 60, 150, 120])
    sources = [f"layer{i}" for i in range(4) for _ in range(3)] + [None] * 6
    scores = fit_encoding(
        activations,
        make_responses(activations, sources, snr=3.0),
        alphas=ALPHAS,
        n_permutations=199,
        refit_alpha=refit_alpha,
    )
    for c, source in enumerate(sources):
        significant = scores["significant"].isel(channel=c)
        if source is None:
            assert not significant.any(), f"noise channel {c} significant"
        else:
            assert significant.sel(layer=source).all(), f"channel {c} from {source}"


def test_planted_layer_is_best_and_noise_is_not_significant(planted):
    sources, scores = planted
    best = scores["r"].idxmax("layer")
    for c, source in enumerate(sources):
        channel = scores.isel(channel=c)
        if source is None:
            assert not channel["significant"].any(), f"noise channel {c} significant"
        else:
            assert (best.isel(channel=c) == source).all(), f"channel {c} from {source}"


def test_output_layout_and_round_trip(planted, tmp_path):
    _, scores = planted
    assert scores["r"].dims == ("layer", "channel", "band", "window")
    assert list(scores["layer_index"].values) == [0, 1, 2, 3]
    for coord in ("subject", "region", "region_rank", "x", "y", "z", "fmin", "tmax"):
        assert coord in scores.coords
    assert scores.attrs["alphas"] == ALPHAS.tolist()
    assert set(np.unique(scores["alpha"])) <= set(ALPHAS)
    # no split halves: no ceiling
    assert scores["noise_ceiling"].isnull().all() and scores["r_ceiled"].isnull().all()
    back = read_dataset(write_netcdf(scores, tmp_path / "encoding.nc"))
    xr.testing.assert_allclose(back["r"], scores["r"])
    assert back.attrs["groups"] is None


@pytest.mark.parametrize(
    ("n_features", "factor_bytes"),
    [(150, None), (150, 0), (25, None)],
    ids=["n<p-triangular", "n<p-residual", "n>p"],
)
def test_fit_predict_ridge_equals_sklearn(n_features, factor_bytes, monkeypatch):
    if factor_bytes is not None:
        # past the memory budget for triangular factors the residual form is used
        monkeypatch.setattr("brainnet.encoding.memory._FACTOR_BYTES", factor_bytes)
    rng = np.random.default_rng(n_features)
    n_train, n_targets = 60, 40
    scale = rng.uniform(0.5, 3, n_features)
    train = rng.standard_normal((n_train, n_features)) * scale + rng.uniform(-3, 3, n_features)
    test = rng.standard_normal((20, n_features)) * scale
    weights = rng.standard_normal((n_features, n_targets)) * (rng.random(n_targets) < 0.7)
    noise = rng.standard_normal((n_train, n_targets)) * rng.uniform(0.1, 5, n_targets)
    targets = 0.2 * train @ weights + noise + 4.0

    predictions, chosen = fit_predict_ridge(train, targets, test, ALPHAS)

    scaler = StandardScaler().fit(train)
    x_train, x_test = scaler.transform(train), scaler.transform(test)
    ridge_cv = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(x_train, targets)
    np.testing.assert_array_equal(chosen, ridge_cv.alpha_)
    assert np.unique(chosen).size >= 4, "the test problem should spread the choices"
    expected = np.column_stack(
        [Ridge(alpha=a).fit(x_train, targets[:, t]).predict(x_test) for t, a in enumerate(chosen)]
    )
    np.testing.assert_allclose(predictions, expected, rtol=0, atol=1e-6)


def test_fit_encoding_equals_sklearn_cross_validation():
    activations = make_activations(60, [20, 90], seed=3)
    responses = make_responses(activations, ["layer0", "layer1", None], snr=0.7, seed=4)
    scores = fit_encoding(activations, responses, alphas=ALPHAS, n_permutations=0, seed=7)
    targets = responses["response"].values.reshape(60, -1)
    for layer in ("layer0", "layer1"):
        features = activations[layer].values
        predictions = np.empty_like(targets)
        fold_alphas = []
        for train, test in KFold(5, shuffle=True, random_state=7).split(features):
            scaler = StandardScaler().fit(features[train])
            model = RidgeCV(alphas=ALPHAS, alpha_per_target=True)
            model.fit(scaler.transform(features[train]), targets[train])
            predictions[test] = model.predict(scaler.transform(features[test]))
            fold_alphas.append(model.alpha_)
        r = [stats.pearsonr(predictions[:, t], targets[:, t])[0] for t in range(targets.shape[1])]
        np.testing.assert_allclose(scores["r"].sel(layer=layer).values.ravel(), r, atol=1e-10)
        np.testing.assert_allclose(
            scores["alpha"].sel(layer=layer).values.ravel(), np.median(fold_alphas, axis=0)
        )
    assert scores["p"].isnull().all() and not scores["significant"].any()


def test_pls_equals_sklearn_and_finds_strong_effect():
    activations = make_activations(60, [40], seed=5)
    responses = make_responses(activations, ["layer0", None], snr=2.0, seed=6)
    scores = fit_encoding(
        activations, responses, estimator="pls", pls_components=5, n_permutations=49
    )
    targets = responses["response"].values.reshape(60, -1)
    features = activations["layer0"].values
    predictions = np.empty_like(targets)
    for train, test in KFold(5, shuffle=True, random_state=0).split(features):
        scaler = StandardScaler().fit(features[train])
        pls = PLSRegression(n_components=5).fit(scaler.transform(features[train]), targets[train])
        predictions[test] = pls.predict(scaler.transform(features[test]))
    r = [stats.pearsonr(predictions[:, t], targets[:, t])[0] for t in range(targets.shape[1])]
    np.testing.assert_allclose(scores["r"].values.ravel(), r, atol=1e-10)
    assert scores["alpha"].isnull().all()
    assert (scores["p"].sel(channel="ch00") == 1 / 50).all()


def test_permutation_p_uniform_under_null_and_tiny_for_strong_effect():
    activations = make_activations(40, [15], seed=8)
    null = make_responses(activations, [None] * 100, seed=9)
    p = fit_encoding(activations, null, alphas=ALPHAS, n_permutations=99)["p"].values.ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.05
    assert 0.4 < p.mean() < 0.6

    strong = make_responses(activations, ["layer0"] * 5, snr=3.0, seed=10)
    p = fit_encoding(activations, strong, alphas=ALPHAS, n_permutations=99)["p"]
    assert (p == 0.01).all()


def _halves(n_stimuli, reliability, rng):
    """Two exactly centred, orthogonal unit vectors mixed to correlation ``reliability``."""
    a, b = np.linalg.qr(stats.zscore(rng.standard_normal((n_stimuli, 2)), axis=0))[0].T
    return a, reliability * a + np.sqrt(1 - reliability**2) * b


def test_noise_ceiling_reproduces_spearman_brown():
    rng = np.random.default_rng(11)
    activations = make_activations(50, [30], seed=11)
    responses = make_responses(activations, ["layer0", "layer0"], n_windows=1, seed=12)
    split = np.empty((2, 50, 2, 1, 1))
    for c, r_half in enumerate([0.6, -0.2]):
        split[0, :, c, 0, 0], split[1, :, c, 0, 0] = _halves(50, r_half, rng)
    responses["split_half"] = (("half", "stimulus", "channel", "band", "window"), split)
    responses = responses.assign_coords(half=[0, 1])

    ceiling = noise_ceiling(responses["split_half"])
    np.testing.assert_allclose(ceiling.values.ravel(), [2 * 0.6 / 1.6, 2 * -0.2 / 0.8])

    scores = fit_encoding(activations, responses, alphas=ALPHAS, n_permutations=0)
    np.testing.assert_allclose(scores["noise_ceiling"].values.ravel(), [0.75, -0.5])
    ceiled = scores["r_ceiled"].isel(channel=0)
    np.testing.assert_allclose(ceiled, scores["r"].isel(channel=0) / np.sqrt(0.75))
    assert scores["r_ceiled"].isel(channel=1).isnull().all()


def test_grouped_folds_test_generalisation_to_unseen_categories():
    # features and response both carry a random value per category only: seen
    # categories are predictable, unseen ones are not
    rng = np.random.default_rng(13)
    activations = make_activations(60, [30], seed=13, n_categories=6)
    codes = np.unique(activations["category"].values, return_inverse=True)[1]
    activations["layer0"] += 3 * rng.standard_normal((6, 30))[codes]
    responses = make_responses(activations, [None], n_windows=1, seed=14)
    responses["response"] += 20 * rng.standard_normal(6)[codes][:, None, None, None]
    free = fit_encoding(activations, responses, alphas=ALPHAS, n_permutations=0)
    grouped = fit_encoding(
        activations, responses, alphas=ALPHAS, n_permutations=0, groups="category"
    )
    assert free["r"].item() > 0.8
    assert grouped["r"].item() < 0.3


def test_same_seed_same_result_other_seed_differs():
    activations = make_activations(40, [20, 50], seed=15)
    responses = make_responses(activations, ["layer1", None], seed=16)
    kwargs = {"alphas": ALPHAS, "n_permutations": 30}
    first = fit_encoding(activations, responses, seed=3, **kwargs)
    xr.testing.assert_identical(first, fit_encoding(activations, responses, seed=3, **kwargs))
    other = fit_encoding(activations, responses, seed=4, **kwargs)
    assert not np.array_equal(first["p"].values, other["p"].values)


def test_blocks_of_targets_and_permutations_do_not_change_the_result(monkeypatch):
    activations = make_activations(40, [20, 50], seed=21)
    responses = make_responses(activations, ["layer0", "layer1", None], seed=22)
    kwargs = {"alphas": ALPHAS, "n_permutations": 20}
    whole = fit_encoding(activations, responses, **kwargs)
    # 7 columns per block: blocks straddle targets and permutations
    monkeypatch.setattr("brainnet.encoding.memory._BLOCK_BYTES", 8 * (4 * 40 + len(ALPHAS)) * 7)
    blocked = fit_encoding(activations, responses, **kwargs)
    xr.testing.assert_allclose(whole, blocked, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(whole["p"], blocked["p"])


def _with_value(ds, name, index, value):
    ds = ds.copy(deep=True)
    ds[name].values[index] = value
    return ds


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a, r: (_with_value(a, "layer1", (3, 2), np.nan), r), r"layer 'layer1'.*stim003"),
        (lambda a, r: (a.assign(layer0=a["layer0"] * 0 + 1.0), r), "layer 'layer0' is constant"),
        (lambda a, r: (a, _with_value(r, "response", (5, 1, 0, 0), np.inf)), r"channel=ch01"),
        (
            lambda a, r: (a, r.assign(response=r["response"].where(r.channel != "ch02", 2.0))),
            r"constant over stimuli for 2 targets.*channel=ch02",
        ),
        (lambda a, r: (a.isel(stimulus=slice(0, 4)), r.isel(stimulus=slice(0, 4))), "fewer"),
        (
            lambda a, r: (a, r.isel(stimulus=slice(1, None))),
            r"1 without a response \['stim000'\], 0 without activations",
        ),
        (lambda a, r: (a.drop_vars("category"), r), "groups='category' is not"),
        (lambda a, r: (a.assign_attrs(layers=["layer0", "fc9"]), r), "fc9"),
    ],
    ids=[
        "nan-layer",
        "constant-layer",
        "inf-response",
        "constant-response",
        "few-stimuli",
        "ids",
        "no-groups",
        "unknown-layer",
    ],
)
def test_bad_input_is_refused_naming_the_culprit(change, message):
    activations = make_activations(30, [10, 40], seed=17)
    responses = make_responses(activations, ["layer0", "layer1", None], seed=18)
    activations, responses = change(activations, responses)
    with pytest.raises(ValueError, match=message):
        fit_encoding(activations, responses, n_permutations=0, groups="category")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"estimator": "lasso"}, "estimator"),
        ({"n_folds": 1}, "n_folds"),
        ({"alphas": [1.0, -1.0]}, "alphas"),
        ({"n_permutations": 2.5}, "n_permutations"),
        ({"fdr_alpha": 1.5}, "fdr_alpha"),
        ({"groups": "category", "n_folds": 6}, "5 distinct values, fewer than n_folds=6"),
    ],
)
def test_bad_settings_are_refused(setting, message):
    activations = make_activations(30, [10], seed=19)
    responses = make_responses(activations, ["layer0"], seed=20)
    with pytest.raises(ValueError, match=message):
        fit_encoding(activations, responses, **setting)


def test_fixed_alpha_null_is_conservative_against_refitting_the_penalties(planted):
    """Permuted fits at the real data's penalties give the same scores and p-values
    close to, and not below, those of choosing the penalties afresh in every
    permutation."""
    sources, fixed = planted
    activations = make_activations(100, [30, 60, 150, 120])
    responses = make_responses(activations, sources, snr=2.0)
    refit = fit_encoding(
        activations, responses, alphas=ALPHAS, n_permutations=499, refit_alpha=True
    )
    np.testing.assert_allclose(fixed["r"], refit["r"], atol=1e-12)
    np.testing.assert_array_equal(fixed["alpha"], refit["alpha"])
    p_fixed, p_refit = fixed["p"].values.ravel(), refit["p"].values.ravel()
    assert np.corrcoef(p_fixed, p_refit)[0, 1] > 0.8
    # where it matters (small p) the fixed-penalty null is wider, never narrower:
    # conservative, not liberal
    small = p_refit <= 0.2
    assert np.mean(p_fixed[small] - p_refit[small]) > 0
    assert (p_fixed <= 0.05).sum() <= (p_refit <= 0.05).sum()
