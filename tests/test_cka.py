"""CKA: the estimators against textbook formulas, planted layers, the null, bad input."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from brainnet import cka
from brainnet.cka import score as cka_score
from brainnet.io import read_dataset, write_netcdf
from brainnet.rsa import make_permutations
from test_rsa import _embed, _responses  # the RSA tests' responses and RDM embedding

N_LATENT = 3


def _activations(latents, ids, n_features=20, seed=0):
    """One layer per latent space: random mixtures of its dimensions, plus a little noise."""
    rng = np.random.default_rng(seed)
    ds = xr.Dataset(coords={"stimulus_id": ("stimulus", np.asarray(ids))})
    names = [f"layer{i}" for i in range(len(latents))]
    for name, z in zip(names, latents, strict=True):
        features = z @ rng.standard_normal((z.shape[1], n_features))
        ds[name] = (
            ("stimulus", f"feature_{name}"),
            features + 0.1 * rng.normal(size=features.shape),
        )
    ds.attrs.update(layers=names, model="toy")
    return ds


PLANT = {"V1": 1, "V2": 2, "IT": 3}  # region -> the layer that drives it


@pytest.fixture(scope="module")
def planted():
    """60 stimuli, 4 layers with independent latent spaces; 3 subjects with 4 contacts in
    each region, driven in band0 by the region's layer; band1 is noise."""
    rng = np.random.default_rng(4)
    n = 60
    ids = [f"img{i:02d}" for i in range(n)]
    latents = [rng.standard_normal((n, N_LATENT)) for _ in range(4)]
    region = np.repeat(list(PLANT), 12)
    subject = np.tile(np.repeat(["P0", "P1", "P2"], 4), 3)
    values = rng.standard_normal((n, len(region), 2, 1))
    for name, layer in PLANT.items():
        mine = region == name
        values[:, mine, 0, 0] += latents[layer] @ rng.standard_normal((N_LATENT, mine.sum()))
    order = rng.permutation(n)  # another stimulus order: the join realigns it
    rank = np.repeat([1, 2, 4], 12)
    responses = _responses(values[order], np.asarray(ids)[order], subject, region, rank)
    return _activations(latents, ids), responses


@pytest.mark.parametrize("estimator", cka.ESTIMATORS)
def test_planted_layer_ranks_first_in_every_region(planted, estimator, tmp_path):
    activations, responses = planted
    scores = cka.cka_scores(activations, responses, estimator=estimator, n_permutations=200)
    assert scores["cka"].dims == ("layer", "region", "band", "window")
    signal = scores.sel(band="band0", window="w0")
    for region, layer in PLANT.items():
        assert int(signal["cka"].sel(region=region).argmax("layer")) == layer
        assert bool(signal["significant"].sel(region=region, layer=f"layer{layer}"))
        assert float(signal["p"].sel(region=region, layer=f"layer{layer}")) == 1 / 201
    # the region score is the mean of the subjects' CKAs; every subject has a pattern
    np.testing.assert_allclose(scores["cka"], scores["subject_cka"].mean("subject"))
    assert (scores["n_subjects"] == 3).all() and (scores["n_channels"] == 12).all()
    # noise only: FDR keeps (almost) nothing
    assert int(scores["significant"].sel(band="band1").sum()) <= 1
    back = read_dataset(write_netcdf(scores, tmp_path / "cka.nc"))
    assert back.attrs["estimator"] == estimator and back.attrs["n_permutations"] == 200
    xr.testing.assert_equal(back["p"], scores["p"])


def _reference_hsic(k, l, estimator):  # noqa: E741
    """Textbook HSIC with explicit centring matrices and loops."""
    n = len(k)
    if estimator == "linear":  # Gretton et al. (2005)
        h = np.eye(n) - np.ones((n, n)) / n
        return np.trace(k @ h @ l @ h) / (n - 1) ** 2
    kt, lt = k.copy(), l.copy()  # Song et al. (2012), equation (5)
    for i in range(n):
        kt[i, i] = lt[i, i] = 0.0
    one = np.ones(n)
    trace = sum(kt[i, j] * lt[j, i] for i in range(n) for j in range(n))
    return (
        trace
        + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * (one @ kt @ lt @ one)
    ) / (n * (n - 3))


def _reference_cka(x, y, estimator):
    k, l = x @ x.T, y @ y.T  # noqa: E741
    return _reference_hsic(k, l, estimator) / np.sqrt(
        _reference_hsic(k, k, estimator) * _reference_hsic(l, l, estimator)
    )


@pytest.mark.parametrize("estimator", cka.ESTIMATORS)
def test_cka_equals_a_reference_implementation(estimator):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((15, 7))
    y = x[:, :3] @ rng.standard_normal((3, 4)) + rng.standard_normal((15, 4))
    k, l = x @ x.T, y @ y.T  # noqa: E741
    assert cka.hsic(k, l, estimator) == pytest.approx(_reference_hsic(k, l, estimator), abs=1e-10)
    assert cka.cka(x, y, estimator) == pytest.approx(_reference_cka(x, y, estimator), abs=1e-10)
    # a region's score through the stage: one subject, one band and window, the
    # layer's features as they are
    ids = [f"s{i}" for i in range(15)]
    activations = _activations([x], ids)
    activations["layer0"] = (("stimulus", "feature_layer0"), x)
    responses = _responses(y[:, :, None, None], ids, ["P0"] * 4, ["V1"] * 4, [1] * 4)
    scores = cka.cka_scores(
        activations, responses, estimator=estimator, feature_scaling="none", n_permutations=0
    )
    z = (y - y.mean(axis=0)) / y.std(axis=0)  # each contact z-scored over stimuli
    assert float(scores["cka"].squeeze()) == pytest.approx(
        _reference_cka(x, z, estimator), abs=1e-10
    )
    assert np.isnan(scores["p"]).all() and not scores["significant"].any()


def test_rdm_gram_is_double_centring_and_recovers_the_patterns_gram():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 4))
    d = ((x[:, None] - x[None]) ** 2).sum(axis=-1)  # squared Euclidean distances
    h = np.eye(10) - 1 / 10
    np.testing.assert_allclose(cka.rdm_gram(d), -0.5 * h @ d @ h, atol=1e-12)
    np.testing.assert_allclose(cka.rdm_gram(d), h @ x @ x.T @ h, atol=1e-10)


def test_permutation_counts_equal_explicit_relabelling():
    rng = np.random.default_rng(3)
    layers = cka.centre_gram(
        np.stack([(a := rng.standard_normal((8, 3))) @ a.T for _ in range(2)])
    )
    targets = cka.centre_gram(
        np.stack([(b := rng.standard_normal((8, 2))) @ b.T for _ in range(3)])
    )
    permutations = make_permutations(8, 50, seed=0)
    observed, exceed = cka.permutation_counts(layers, targets, permutations)
    np.testing.assert_allclose(observed, np.einsum("lij,tij->lt", layers, targets))
    null = np.array(
        [[[np.sum(k[p][:, p] * t) for t in targets] for k in layers] for p in permutations]
    )
    np.testing.assert_array_equal(exceed, (null >= observed - 1e-12).sum(axis=0))


def test_null_p_values_are_uniform():
    """Responses independent of every layer: across 40 regions the permutation p is uniform."""
    rng = np.random.default_rng(5)
    n, n_regions = 30, 40
    ids = [f"img{i:02d}" for i in range(n)]
    activations = _activations([rng.standard_normal((n, N_LATENT)) for _ in range(2)], ids)
    region = np.repeat([f"R{i:02d}" for i in range(n_regions)], 3)
    responses = _responses(
        rng.standard_normal((n, len(region), 1, 1)), ids, ["P0"] * len(region), region,
        np.repeat(np.arange(1, n_regions + 1), 3),
    )  # fmt: skip
    scores = cka.cka_scores(activations, responses, n_permutations=199, seed=1)
    p = scores["p"].values.ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 <= np.mean(p <= 0.1) <= 0.2
    # unbiased CKA is centred on 0 without a match
    assert abs(float(scores["cka"].mean())) < 0.02


def test_precomputed_rdms_become_gram_matrices(planted):
    activations, responses = planted
    aligned = responses.set_coords("stimulus_id").swap_dims(stimulus="stimulus_id")
    ids = activations["stimulus_id"].values
    rdms, regions = [], []
    for name in PLANT:
        for s in ("P0", "P1"):
            mine = (aligned["region"] == name) & (aligned["subject"] == s)
            y = aligned["response"].sel(stimulus_id=ids, band="band0", window="w0").values[:, mine]
            z = (y - y.mean(axis=0)) / y.std(axis=0)
            rdms.append(((z[:, None] - z[None]) ** 2).sum(axis=-1))
            regions.append(name)
    brain = xr.Dataset(
        {"rdm": (("channel", "stimulus", "stimulus_other"), np.stack(rdms))},
        coords={
            "stimulus_id": ("stimulus", ids),
            "subject": ("channel", ["P0", "P1"] * 3),
            "region": ("channel", regions),
            "region_rank": ("channel", np.repeat([1, 2, 4], 2)),
        },
    )
    scores = cka.cka_scores(activations, brain, n_permutations=100)
    assert list(scores["band"].values) == ["broadband"] and list(scores["window"].values) == [
        "all"
    ]
    # the Gram matrix of a squared-distance RDM is that of its patterns: the same CKAs
    patterns = cka.cka_scores(activations, responses, n_permutations=0)
    np.testing.assert_allclose(
        scores["subject_cka"].sel(subject=["P0", "P1"]).squeeze(("band", "window")),
        patterns["subject_cka"].sel(subject=["P0", "P1"], band="band0", window="w0"),
        atol=1e-10,
    )
    for region, layer in PLANT.items():
        assert int(scores["cka"].sel(region=region).squeeze().argmax("layer")) == layer


def test_bad_input_is_refused(planted):
    activations, responses = planted
    few = activations.isel(stimulus=slice(0, 3))
    kept = np.isin(responses["stimulus_id"], few["stimulus_id"])
    with pytest.raises(ValueError, match="unbiased CKA estimator needs at least 4 stimuli, got 3"):
        cka.cka_scores(few, responses.isel(stimulus=np.flatnonzero(kept)))
    renamed = np.where(responses["stimulus_id"] == "img05", "other", responses["stimulus_id"])
    with pytest.raises(ValueError, match="img05"):
        cka.cka_scores(activations, responses.assign_coords(stimulus_id=("stimulus", renamed)))
    with pytest.raises(ValueError, match="estimator must be one of"):
        cka.cka_scores(activations, responses, estimator="rbf")
    with pytest.raises(ValueError, match="n_permutations must be an integer >= 0, got -1"):
        cka.cka_scores(activations, responses, n_permutations=-1)
    with pytest.raises(ValueError, match="neither 'response' .* nor 'rdm'"):
        cka.cka_scores(activations, responses.rename(response="power"))
    with pytest.raises(ValueError, match="x and y hold different numbers of stimuli"):
        cka.cka(np.ones((5, 2)), np.ones((6, 2)))


def test_gradient_of_cka_scores_prefers_the_planted_layers(planted):
    from brainnet.gradient import gradient_statistics

    scores = cka.cka_scores(*planted, n_permutations=200)
    gradient = gradient_statistics(scores, method="cka", n_bootstrap=50, n_permutations=50)
    assert gradient.attrs["score"] == "cka" and gradient.attrs["score_label"] == "CKA"
    preferred = gradient["preferred_layer"].sel(band="band0", window="w0")
    assert preferred.sel(region=list(PLANT)).values.tolist() == list(PLANT.values())
    assert float(gradient["region_alignment_rho"].sel(band="band0", window="w0")) == 1.0
    assert gradient["preferred_layer"].sel(band="band1").isnull().all()


@pytest.mark.parametrize("estimator", cka.ESTIMATORS)
def test_contact_resamples_rebuild_the_resampled_pattern(estimator):
    from brainnet.cka.bootstrap import contact_resamples

    rng = np.random.default_rng(6)
    x, z = rng.standard_normal((12, 5)), rng.standard_normal((12, 4))
    layer, _ = cka_score.unit_grams(cka.gram_matrix(x)[None], estimator)
    draws = np.random.default_rng(0).integers(0, 4, (5, 4))
    got = contact_resamples(layer, z, estimator, 5, np.random.default_rng(0))
    want = [_reference_cka(x, z[:, d], estimator) for d in draws]
    np.testing.assert_allclose(got[:, 0], want, atol=1e-10)


def test_contact_bootstrap_only_where_a_region_matches(planted):
    scores = cka.cka_scores(*planted, n_permutations=200, n_bootstrap=20)
    boot = scores["subject_cka_bootstrap"]
    assert boot.sizes["bootstrap"] == 20
    assert boot.sel(band="band0").notnull().all() and boot.sel(band="band1").isnull().all()
    # resamples scatter around the subject's CKA
    spread = boot.sel(band="band0").std("bootstrap")
    assert float(spread.min()) > 0
    offset = np.abs(boot.mean("bootstrap") - scores["subject_cka"]).sel(band="band0")
    assert float(offset.max()) < 0.2


def test_cka_is_a_method_where_a_dataset_asks_for_it():
    from brainnet.config import analyses, targets

    seeg = {"recordings": {"format": "synthetic"}, "analyses": ["encoding", "rsa", "cka"]}
    assert analyses(seeg, "both") == ("encoding", "rsa", "rsa_region", "cka")
    assert "cka" not in analyses({"recordings": {"format": "synthetic"}})  # not by default
    rdms = {"recordings": {"format": "algonauts"}, "analyses": ["encoding", "rsa", "cka"]}
    assert analyses(rdms) == ("rsa", "cka")
    config = {"results_dir": "r", "rsa": {"level": "region"}, "models": {"m": {}}}
    config["datasets"] = {"d": {"recordings": {"format": "bids"}, "analyses": ["cka"]}}
    out = targets(config)
    assert "r/d/m/figures/heatmap_cka.png" in out and "r/d/m/figures/gradient_cka.png" in out
    assert not any("glass_brain" in path for path in out)  # one score per region


def test_real_rdms_kriegeskorte92(shared_data):
    """A layer embedding the monkey IT RDM matches monkey IT, and human IT less; noise does not."""
    from brainnet.recordings.rdms import load_kriegeskorte92

    brain = load_kriegeskorte92(shared_data / "kriegeskorte92")
    monkey = brain["rdm"].sel(channel="monkey:mIT-1").values
    noise = np.random.default_rng(10).standard_normal((92, 5))
    activations = xr.Dataset(
        {"copy": (("stimulus", "feature_copy"), _embed(monkey)),
         "noise": (("stimulus", "feature_noise"), noise)},
        coords={"stimulus_id": ("stimulus", brain["stimulus_id"].values)},
        attrs={"layers": ["copy", "noise"]},
    )  # fmt: skip
    scores = cka.cka_scores(activations, brain, n_permutations=200, feature_scaling="none")
    value = scores["cka"].squeeze(("band", "window"))
    assert float(value.sel(layer="copy", region="mIT")) > 0.95
    assert 0.1 < float(value.sel(layer="copy", region="hIT")) < 0.9
    assert scores["significant"].sel(layer="copy").all()
    assert not scores["significant"].sel(layer="noise").any()
    assert int(scores["n_subjects"].sel(region="hIT").squeeze()) == 4
