"""Family-wise correction over the band x window grid (brainnet.correction)."""

import numpy as np
import pytest
from scipy import ndimage, stats
from scipy.spatial.distance import pdist

from brainnet import rsa
from brainnet.correction import family_p
from brainnet.encoding import DEFAULT_ALPHAS, fit_encoding
from brainnet.encoding.inputs import _flat_targets, _folds, _layer_features
from brainnet.encoding.null import _permutations, _score_ridge
from brainnet.join import align_responses
from encoding_data import make_activations, make_responses
from test_rsa import _activations as rsa_activations
from test_rsa import _responses as rsa_responses


def permuted_scores(x, responses, n_permutations, rng):
    """Pearson r of a stimulus predictor with every target under stimulus permutations:
    ``(1 + n_permutations, channel, band, window)``, row 0 observed, the same
    permutation for every target of a row (as the stages draw them)."""
    n = len(x)
    perms = np.vstack(
        [np.arange(n), rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)]
    )
    xs = stats.zscore(x[perms], axis=1)
    ys = stats.zscore(responses.reshape(n, -1), axis=0)
    return (xs @ ys / n).reshape(1 + n_permutations, *responses.shape[1:])


def smooth_noise(rng, n_stimuli, n_channels, n_bands, n_windows):
    """Noise correlated across neighbouring bands and windows, as band power is."""
    noise = rng.standard_normal((n_stimuli, n_channels, n_bands + 2, n_windows + 2))
    return ndimage.uniform_filter(noise, size=(1, 1, 3, 3))[:, :, 1:-1, 1:-1]


@pytest.mark.parametrize("correction", ["maxstat", "cluster"])
def test_family_wise_error_rate_on_null_data(correction):
    # 200 seeds x 10 channels = 2000 families of a 3 x 4 grid under the null
    n_seeds, n_channels = 200, 10
    any_hit = uncorrected_hit = 0
    for seed in range(n_seeds):
        rng = np.random.default_rng(seed)
        responses = smooth_noise(rng, 30, n_channels, 3, 4)
        scores = permuted_scores(rng.standard_normal(30), responses, 99, rng)
        p = family_p(scores, correction)
        any_hit += int((p <= 0.05).any(axis=(1, 2)).sum())
        p_raw = (1 + (scores[1:] >= scores[0] - 1e-12).sum(axis=0)) / 100
        uncorrected_hit += int((p_raw <= 0.05).any(axis=(1, 2)).sum())
    n_families = n_seeds * n_channels
    fwer = any_hit / n_families
    # binomial tolerance: the 99.9% quantile of the rate when the true FWER is 5%
    bound = stats.binom.ppf(0.999, n_families, 0.05) / n_families
    assert fwer <= bound, f"{correction}: FWER {fwer:.3f} above {bound:.3f}"
    assert uncorrected_hit / n_families > 0.15  # without correction the grid errs often
    assert fwer > 0.01  # and the correction is not vacuous


def test_planted_effect_is_detected():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(60)
    responses = smooth_noise(rng, 60, 2, 3, 5)
    responses[:, 0, 1:3, 1:4] += 0.3 * x[:, None, None]  # a blob in channel 0
    scores = permuted_scores(x, responses, 499, rng)
    for correction in ("maxstat", "cluster"):
        p = family_p(scores, correction)
        assert (p[0, 1:3, 1:4] <= 0.05).all(), correction
    # max-T on a single-cell grid is the plain permutation p
    single = scores[:, :, :1, :1]
    plain = (1 + (single[1:] >= single[0] - 1e-12).sum(axis=0)) / 500
    np.testing.assert_allclose(family_p(single, "maxstat"), plain)
    # and on a grid never below it
    raw = (1 + (scores[1:] >= scores[0] - 1e-12).sum(axis=0)) / 500
    assert (family_p(scores, "maxstat") >= raw - 1e-12).all()


def test_untested_targets_are_left_out_and_bad_settings_refused():
    rng = np.random.default_rng(3)
    scores = permuted_scores(rng.standard_normal(30), smooth_noise(rng, 30, 2, 2, 3), 49, rng)
    scores[:, 1, 0, 0] = np.nan
    p = family_p(scores, "maxstat")
    assert np.isnan(p[1, 0, 0]) and np.isfinite(np.delete(p.reshape(-1), 6)).all()
    with pytest.raises(ValueError, match="correction must be one of"):
        family_p(scores, "bonferroni")
    with pytest.raises(ValueError, match="cluster_threshold"):
        family_p(scores, "cluster", cluster_threshold=1.5)
    with pytest.raises(ValueError, match="at least one permutation"):
        family_p(scores[:1], "maxstat")


@pytest.mark.parametrize("correction", ["maxstat", "cluster"])
def test_encoding_marks_planted_windows_with_the_family_wise_p(correction):
    activations = make_activations(80, [15], seed=11)
    responses = make_responses(activations, ["layer0", None, None], n_windows=4, snr=1.0)
    response = responses["response"].values
    response[:, 0, :, 2:] = response[:, 1, :, 2:]  # channel 0: signal in windows 0-1 only
    scores = fit_encoding(activations, responses, n_permutations=199, correction=correction)
    assert scores.attrs["correction"] == correction
    assert scores["significant"].equals(scores["p_fwer"] <= 0.05)
    assert scores["significant"].sel(channel="ch00").squeeze().values[:2].all()
    if correction == "maxstat":
        assert (scores["p_fwer"] >= scores["p"] - 1e-12).all()
    # the stage's corrected p is the correction of its own permutation null, grid by grid
    aligned = scores.isel(layer=0)
    template, targets = _flat_targets(align_responses(activations, responses))
    splits = _folds(activations, responses, targets.shape[0], 5, None, 0)
    r_all = _score_ridge(
        _layer_features(activations, "layer0"),
        targets,
        splits,
        _permutations(targets.shape[0], 199, 0),
        np.asarray(DEFAULT_ALPHAS),
        False,
    )[0]
    expected = family_p(r_all.reshape(-1, *template.shape), correction)
    np.testing.assert_allclose(aligned["p_fwer"].transpose(*template.dims).values, expected)


def test_encoding_refuses_a_correction_it_cannot_compute():
    activations = make_activations(30, [5])
    responses = make_responses(activations, ["layer0"])
    with pytest.raises(ValueError, match="encoding.correction"):
        fit_encoding(activations, responses, correction="bonferroni")
    with pytest.raises(ValueError, match="needs n_permutations"):
        fit_encoding(activations, responses, correction="maxstat", n_permutations=0)


def rsa_problem(seed=5):
    """24 stimuli, 2 layers; 6 channels in 2 regions x 2 bands x 3 windows, channels
    0-2 (V1) following layer0 in band 0, windows 0-1; channel 4 untested in band 1."""
    rng = np.random.default_rng(seed)
    n, ids = 24, [f"img{i:02d}" for i in range(24)]
    latents = [rng.standard_normal(n) for _ in range(2)]
    values = smooth_noise(rng, n, 6, 2, 3)
    values[:, :3, 0, :2] += 0.6 * latents[0][:, None, None]
    responsive = np.ones((6, 2, 3), dtype=bool)
    responsive[4, 1] = False
    subject = ["P0", "P1", "P2"] * 2
    regions = np.repeat(["V1", "IT"], 3)
    responses = rsa_responses(values, ids, subject, regions, np.repeat([1, 4], 3), responsive)
    return rsa_activations(latents, ids), responses


def test_rsa_family_wise_p_is_the_correction_of_a_naive_null():
    activations, responses = rsa_problem()
    n_perm = 99
    scores = rsa.rsa_scores(
        activations, responses, n_permutations=n_perm, criterion="maxstat", alpha=0.05
    )
    # the uncorrected p is the engine's
    plain = rsa.rsa_scores(activations, responses, n_permutations=n_perm)
    np.testing.assert_array_equal(scores["p"].values, plain["p"].values)
    # the corrected p is max-T over a null computed naively: Spearman rho as the
    # Pearson r of scipy's ranks of every permuted brain RDM
    orders = np.vstack([np.arange(24), rsa.make_permutations(24, n_perm, seed=0)])
    values = responses["response"].values
    models = [pdist(stats.zscore(activations[f"layer{i}"].values, axis=0)) for i in range(2)]
    ranked = stats.zscore(stats.rankdata(models, axis=1), axis=1)
    null = np.full((1 + n_perm, 2, *values.shape[1:]), np.nan)
    for c, b, w in zip(*np.nonzero(responses["responsive"].values), strict=True):
        brains = np.stack([pdist(values[order, c, b, w][:, None]) for order in orders])
        brains = stats.zscore(stats.rankdata(brains, axis=1), axis=1)
        null[:, :, c, b, w] = brains @ ranked.T / ranked.shape[1]
    for i in range(2):
        np.testing.assert_allclose(
            scores["p_fwer"].values[i], family_p(null[:, i], "maxstat"), equal_nan=True
        )
    assert scores["significant"].equals(scores["p_fwer"] <= 0.05)
    assert scores["significant"].sel(layer="layer0", band="band0").values[:3, :2].all()
    assert scores["p_fwer"].sel(channel="c04", band="band1").isnull().all()


def test_rsa_region_level_and_refusals():
    activations, responses = rsa_problem()
    regions = rsa.rsa_scores(
        activations, responses, level="region", n_permutations=199, criterion="cluster", alpha=0.05
    )
    assert regions["significant"].sel(layer="layer0", region="V1", band="band0").values[:2].all()
    assert regions["significant"].equals(regions["p_fwer"] <= 0.05)
    with pytest.raises(ValueError, match="rsa.stopping"):
        rsa.rsa_scores(activations, responses, criterion="maxstat", stopping="besag_clifford")


def test_blocks_of_channels_give_the_same_p(monkeypatch):
    rng = np.random.default_rng(8)
    scores = permuted_scores(rng.standard_normal(30), smooth_noise(rng, 30, 5, 2, 3), 49, rng)
    whole = {c: family_p(scores, c) for c in ("maxstat", "cluster")}
    monkeypatch.setattr("brainnet.correction._BLOCK_BYTES", 8 * 50 * 6 * 2)  # 2 channels
    for correction, expected in whole.items():
        np.testing.assert_array_equal(family_p(scores, correction), expected)
