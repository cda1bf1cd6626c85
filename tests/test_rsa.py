"""RSA: RDMs, comparison against rsatoolbox, permutation p-values, stages."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.spatial.distance import pdist, squareform
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from brainnet import rsa
from brainnet.io import read_dataset, write_netcdf


def _activations(latents, ids, n_features=6, seed=0):
    """One layer per latent variable: features are that latent times random loadings."""
    rng = np.random.default_rng(seed)
    ds = xr.Dataset(coords={"stimulus_id": ("stimulus", np.asarray(ids))})
    names = [f"layer{i}" for i in range(len(latents))]
    for name, z in zip(names, latents, strict=True):
        features = z[:, None] * rng.standard_normal(n_features)
        ds[name] = (
            ("stimulus", f"feature_{name}"),
            features + 0.05 * rng.normal(size=features.shape),
        )
    ds.attrs.update(layers=names, model="toy")
    return ds


def _responses(values, ids, subject, region, region_rank, responsive=None):
    n_channels, n_bands, n_windows = values.shape[1:]
    ds = xr.Dataset(
        {"response": (("stimulus", "channel", "band", "window"), values)},
        coords={
            "stimulus_id": ("stimulus", np.asarray(ids)),
            "channel": [f"c{i:02d}" for i in range(n_channels)],
            "subject": ("channel", np.asarray(subject)),
            "region": ("channel", np.asarray(region)),
            "region_rank": ("channel", np.asarray(region_rank)),
            "band": [f"band{b}" for b in range(n_bands)],
            "fmin": ("band", np.arange(n_bands) * 10.0 + 5),
            "fmax": ("band", np.arange(n_bands) * 10.0 + 15),
            "window": [f"w{w}" for w in range(n_windows)],
            "tmin": ("window", np.arange(n_windows) * 0.1),
            "tmax": ("window", np.arange(n_windows) * 0.1 + 0.2),
        },
    )
    if responsive is not None:
        ds["responsive"] = (("channel", "band", "window"), responsive)
    return ds


def _naive_pvalues(models, brains, permutations, method="spearman"):
    """The reference study's approach: scipy on every permuted brain RDM."""

    def similarity(a, b):
        if method == "spearman_full":
            scale = MinMaxScaler()
            return stats.spearmanr(
                np.ravel(scale.fit_transform(a)), np.ravel(scale.fit_transform(b))
            ).statistic
        test = stats.spearmanr if method == "spearman" else stats.pearsonr
        return test(squareform(a), squareform(b, checks=False)).statistic

    p = np.empty((len(models), len(brains)))
    exceed = np.empty((len(models), len(brains), len(permutations)), dtype=bool)
    tied = np.zeros((len(models), len(brains)), dtype=bool)
    for i, model in enumerate(models):
        for j, brain in enumerate(brains):
            observed = similarity(model, brain)
            null = np.array([similarity(model, brain[np.ix_(q, q)]) for q in permutations])
            # scipy's float64 sums may split exact ties by an ulp; 1e-12 is far
            # below the gap between distinct rank correlations of 12 stimuli
            exceed[i, j] = null >= observed - 1e-12
            tied[i, j] = (np.abs(null - observed) <= 1e-12).any()
            p[i, j] = (1 + exceed[i, j].sum()) / (1 + len(permutations))
    return p, exceed, tied


@pytest.fixture(scope="module")
def small_problem():
    """3 model RDMs and 4 brain RDMs over 12 stimuli; brain 0 follows model 0, and
    quantised responses make tied dissimilarities (and tied null values)."""
    rng = np.random.default_rng(1)
    n = 12
    latent = rng.standard_normal(n)
    features = [latent[:, None] * rng.standard_normal(4) + 0.1 * rng.standard_normal((n, 4))]
    features += [rng.standard_normal((n, 4)) for _ in range(2)]
    models = np.stack([rsa.compute_rdm(f) for f in features])
    responses = np.round(rng.standard_normal((n, 4)) * 2) / 2
    responses[:, 0] = latent
    responses[:, 3] = np.repeat([0.0, 1.0], [10, 2])  # a category: many exact null ties
    brains = rsa.to_matrices(rsa.scalar_rdm(responses))
    return models, brains, rsa.make_permutations(n, 200, seed=3)


@pytest.fixture(scope="module")
def naive_spearman(small_problem):
    return _naive_pvalues(*small_problem)


# --------------------------------------------------------------------------- RDMs


def test_rdms_match_scipy_and_round_trip():
    rng = np.random.default_rng(0)
    patterns = rng.standard_normal((7, 4))
    for metric in rsa.METRICS:
        assert np.allclose(rsa.compute_rdm(patterns, metric), squareform(pdist(patterns, metric)))
    responses = rng.standard_normal((7, 3))
    vectors = rsa.scalar_rdm(responses)
    for t in range(3):
        assert np.allclose(vectors[t], pdist(responses[:, [t]]))
        assert np.allclose(rsa.to_matrices(vectors[t]), squareform(vectors[t]))
    assert np.array_equal(rsa.to_vectors(rsa.to_matrices(vectors)), vectors)


def test_average_ranks_match_scipy():
    x = np.round(np.random.default_rng(2).random((5, 300)) * 20)  # many ties
    assert np.array_equal(rsa._rank_rows(x), stats.rankdata(x, axis=1))


@pytest.mark.parametrize(
    ("rdm", "message"),
    [
        (np.zeros((2, 2)), "at least 3 stimuli"),
        (np.ones((3, 4)), "square"),
        (np.array([[0, 1, 2], [1, 0, 3], [2, 5, 0.0]]), "not symmetric"),
        (np.array([[0, 1, np.nan], [1, 0, 3], [np.nan, 3, 0.0]]), "NaN"),
        (np.array([[1, 1, 2], [1, 0, 3], [2, 3, 0.0]]), "diagonal"),
    ],
)
def test_bad_rdms_are_refused_by_name(rdm, message):
    with pytest.raises(ValueError, match=f"my_rdm.*{message}|{message}"):
        rsa.check_rdms(rdm, "my_rdm")
    with pytest.raises(ValueError, match=message):
        rsa.compare_rdms(rdm, rdm)


def test_nan_diagonal_is_zeroed_and_index_named():
    rdm = np.array([[np.nan, 1, 2], [1, np.nan, 3], [2, 3, np.nan]])
    assert np.array_equal(np.diagonal(rsa.check_rdms(rdm)), np.zeros(3))
    stack = np.stack([rsa.check_rdms(rdm)] * 3)
    stack[2, 0, 1] = 9.0
    with pytest.raises(ValueError, match=r"brains\[2\].*not symmetric"):
        rsa.check_rdms(stack, "brains")
    with pytest.raises(ValueError, match="length 4 is not"):
        rsa.compare_rdms(np.ones(4), np.ones(4))


def test_standard_scaling_weighs_every_feature_the_same():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((20, 5)) * [1.0, 2.0, 3.0, 40.0, 0.5] + 7.0
    x[:, 2] = 3.0  # a constant (dead) feature carries no information
    standard = rsa.compute_rdm(x, feature_scaling="standard")
    kept = x[:, [0, 1, 3, 4]]
    expected = squareform(pdist((kept - kept.mean(0)) / kept.std(0)))
    assert np.allclose(standard, expected)
    # rescaling a unit (a function-preserving reparametrisation of a ReLU network)
    # leaves the standardised RDM as it was and changes the raw one
    rescaled = x * [1.0, 1.0, 1.0, 0.01, 100.0]
    assert np.allclose(rsa.compute_rdm(rescaled, feature_scaling="standard"), standard)
    raw = rsa.to_vectors(rsa.compute_rdm(x))
    raw_rescaled = rsa.to_vectors(rsa.compute_rdm(rescaled))
    assert stats.spearmanr(raw, raw_rescaled).statistic < 0.9
    with pytest.raises(ValueError, match="feature_scaling must be one of"):
        rsa.compute_rdm(x, feature_scaling="minmax")


# --------------------------------------------------------------------------- comparison


def test_compare_equals_rsatoolbox_on_kriegeskorte92(shared_data):
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.rdm import RDMs, compare

    from brainnet.recordings.rdms import load_kriegeskorte92

    rdms = load_kriegeskorte92(shared_data / "kriegeskorte92")["rdm"].values
    for ours, theirs in (
        ("spearman", "spearman"),
        ("pearson", "corr"),
        ("kendall_tau_a", "tau-a"),
    ):
        expected = compare(RDMs(rdms), RDMs(rdms[::-1]), method=theirs)
        got = rsa.compare_rdms(rdms, rdms[::-1], ours)
        assert np.abs(got - expected).max() < 1e-10, ours
    # condensed input gives the same
    vectors = rsa.to_vectors(rdms)
    assert np.allclose(rsa.compare_rdms(vectors, rdms), rsa.compare_rdms(rdms, rdms))


def test_spearman_full_is_the_reference_studys_formula():
    rng = np.random.default_rng(4)
    rdms = np.stack([rsa.compute_rdm(rng.standard_normal((15, 3))) for _ in range(3)])
    scale = MinMaxScaler()
    expected = [
        [
            stats.spearmanr(np.ravel(scale.fit_transform(a)), np.ravel(scale.fit_transform(b)))[0]
            for b in rdms
        ]
        for a in rdms
    ]
    assert np.abs(rsa.compare_rdms(rdms, rdms, "spearman_full") - expected).max() < 1e-12
    # and it is not the upper-triangle rho
    assert not np.allclose(
        rsa.compare_rdms(rdms, rdms, "spearman_full"), rsa.compare_rdms(rdms, rdms)
    )


# --------------------------------------------------------------------------- noise ceiling


def test_noise_ceiling_known_values():
    # two subjects whose z-scored RDMs correlate r: lower = r, upper = sqrt((1 + r) / 2)
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 45))
    a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    b = b - a * (a @ b) / (a @ a)
    b = b / b.std()
    r = 0.6
    subject2 = r * a + np.sqrt(1 - r**2) * b + 5.0  # positive dissimilarities
    rdms = np.stack([a + 5.0, subject2])
    lower, upper = rsa.noise_ceiling(rdms, method="pearson")
    assert lower == pytest.approx(r, abs=1e-12)
    assert upper == pytest.approx(np.sqrt((1 + r) / 2), abs=1e-12)
    # identical subjects: both bounds are 1
    same = np.stack([a + 5.0] * 3)
    assert rsa.noise_ceiling(same) == pytest.approx((1.0, 1.0))
    with pytest.raises(ValueError, match="at least 2 groups"):
        rsa.noise_ceiling(rdms, groups=["s1", "s1"])


def test_noise_ceiling_equals_rsatoolbox(shared_data):
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.inference import boot_noise_ceiling
    from rsatoolbox.rdm import RDMs

    from brainnet.recordings.rdms import load_kriegeskorte92

    ds = load_kriegeskorte92(shared_data / "kriegeskorte92").sel(channel=slice(None, "TI:hIT-2"))
    subjects = ds["subject"].values
    for ours, theirs in (("spearman", "spearman"), ("pearson", "corr")):
        expected = boot_noise_ceiling(
            RDMs(ds["rdm"].values, rdm_descriptors={"subject": list(subjects)}),
            method=theirs,
            rdm_descriptor="subject",
        )
        got = rsa.noise_ceiling(ds["rdm"].values, subjects, ours)
        assert np.allclose(got, expected, atol=1e-10), ours


def test_net2brain_noise_ceiling_and_r2_equal_their_formulas():
    # Net2Brain's NoiseCeiling: squared Spearman rho of each subject's RDM with the
    # mean of the raw RDMs of all subjects (upper) or of the others (lower)
    rng = np.random.default_rng(8)
    shared = rng.random(45)
    rdms = np.stack([np.exp(3 * shared + rng.normal(0, s, 45)) for s in (0.5, 1.0, 1.5, 2.0)])

    def squared(a, b):
        return stats.spearmanr(a, b).statistic ** 2

    upper = np.mean([squared(r, rdms.mean(0)) for r in rdms])
    lower = np.mean([squared(r, np.delete(rdms, i, 0).mean(0)) for i, r in enumerate(rdms)])
    got = rsa.noise_ceiling(rdms, definition="net2brain")
    assert got == pytest.approx((lower, upper), abs=1e-12)
    # raw RDMs are pooled, not ranked ones: the rsatoolbox bounds differ (and are not squared)
    assert rsa.noise_ceiling(rdms)[0] != pytest.approx(np.sqrt(lower), abs=1e-3)
    # R² (Net2Brain's evaluate_fmri): mean, SEM and t-test of the squared rho
    model = shared + rng.normal(0, 0.3, 45)
    rho = np.array([stats.spearmanr(model, r).statistic for r in rdms])
    out = rsa.r2_statistics(rho, lower)
    assert out["r2"] == pytest.approx(np.mean(rho**2))
    assert out["r2_sem"] == pytest.approx(np.std(rho**2, ddof=1) / 2)
    t = np.mean(rho**2) / (np.std(rho**2, ddof=1) / 2)
    assert out["r2_p"] == pytest.approx(2 * stats.t.sf(t, df=3))
    assert out["r2_percent"] == pytest.approx(np.mean(rho**2) / lower * 100)
    with pytest.raises(ValueError, match="definition must be one of"):
        rsa.noise_ceiling(rdms, definition="nili")


# --------------------------------------------------------------------------- permutations


@pytest.mark.parametrize("method", rsa.PERMUTATION_METHODS)
def test_pvalues_equal_a_naive_scipy_loop(small_problem, naive_spearman, method):
    models, brains, permutations = small_problem
    if method != "spearman":
        permutations = permutations[:80]  # the naive loops are slow
    expected, _, tied = (
        naive_spearman
        if method == "spearman"
        else _naive_pvalues(models, brains, permutations, method)
    )
    assert tied.any()  # exact ties between null and observed values are exercised
    result = rsa.permutation_test(models, brains, method=method, permutations=permutations)
    assert np.array_equal(result.pvalue, expected)
    assert np.allclose(result.statistic, rsa.compare_rdms(models, brains, method))
    assert (result.n_permutations == len(permutations)).all()


def test_besag_clifford_stops_at_the_h_th_exceedance(small_problem, naive_spearman):
    models, brains, permutations = small_problem
    _, exceed, _ = naive_spearman
    h = 5
    result = rsa.permutation_test(
        models, brains, permutations=permutations, stopping="besag_clifford", h=h, block=7
    )
    running = np.cumsum(exceed, axis=2)
    reached = running[..., -1] >= h
    stop = np.where(reached, np.argmax(running >= h, axis=2) + 1, len(permutations))
    assert np.array_equal(result.n_permutations, stop)
    early = stop < len(permutations)
    assert early.any() and (~early).any()
    expected = np.where(early, h / stop, (1 + running[..., -1]) / (1 + len(permutations)))
    assert np.allclose(result.pvalue, expected)


def test_default_h_keeps_the_decisions_of_the_full_run():
    rng = np.random.default_rng(6)
    n = 20
    latent = rng.standard_normal(n)
    models = np.stack([rsa.scalar_rdm(latent), rsa.scalar_rdm(rng.standard_normal(n))])
    responses = rng.standard_normal((n, 30))
    responses[:, :10] += 3 * latent[:, None]
    brains = rsa.scalar_rdm(responses)
    for criterion, alpha in (("p", 0.01), ("fdr", 0.05)):
        full = rsa.permutation_test(models, brains, 499, criterion=criterion, alpha=alpha)
        fast = rsa.permutation_test(
            models, brains, 499, criterion=criterion, alpha=alpha, stopping="besag_clifford"
        )
        assert np.array_equal(full.significant, fast.significant)
        assert full.significant[0, :10].all()
        assert fast.n_permutations.sum() < full.n_permutations.sum() / 2


def test_pvalues_are_uniform_under_the_null():
    rng = np.random.default_rng(7)
    n = 15
    models = rsa.scalar_rdm(rng.standard_normal(n))
    brains = rsa.scalar_rdm(rng.standard_normal((n, 300)))
    p = rsa.permutation_test(models, brains, 199, seed=8).pvalue.ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.01
    # a biased test (no permutation: the null is the observed value) is caught
    assert stats.kstest(np.full(p.size, 1.0), "uniform").pvalue < 1e-6


def test_permutations_are_validated_and_deterministic():
    assert np.array_equal(rsa.make_permutations(10, 5, seed=1), rsa.make_permutations(10, 5, 1))
    assert not np.array_equal(rsa.make_permutations(10, 5, 1), rsa.make_permutations(10, 5, 2))
    rdm = rsa.scalar_rdm(np.arange(5.0))
    with pytest.raises(ValueError, match="row 1 is not a permutation"):
        rsa.permutation_test(rdm, rdm, permutations=np.array([[0, 1, 2, 3, 4], [0, 0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="method must be one of"):
        rsa.permutation_test(rdm, rdm, 10, method="kendall_tau_a")


# --------------------------------------------------------------------------- stages


@pytest.fixture(scope="module")
def planted():
    """40 stimuli, 4 layers; V1 channels follow layer1, IT channels layer3."""
    rng = np.random.default_rng(9)
    n, n_channels = 40, 30
    ids = [f"img{i:02d}" for i in range(n)]
    latents = [rng.standard_normal(n) for _ in range(4)]
    activations = _activations(latents, ids)
    values = rng.standard_normal((n, n_channels, 2, 1))
    values[:, :10, 0] += 2 * latents[1][:, None, None]
    values[:, 20:, 0] += 2 * latents[3][:, None, None]
    region = np.repeat(["V1", "V2", "IT"], 10)
    rank = np.repeat([1, 2, 4], 10)
    subject = np.array([f"P{c % 3}" for c in range(n_channels)])
    responsive = np.ones((n_channels, 2, 1), dtype=bool)
    responsive[5, 0, 0] = False
    # responses arrive in another stimulus order: the join must realign them
    order = rng.permutation(n)
    responses = _responses(
        values[order], np.asarray(ids)[order], subject, region, rank, responsive
    )
    return activations, responses


def test_planted_effect_concentrates_on_its_layer(planted, tmp_path):
    activations, responses = planted
    scores = rsa.rsa_scores(activations, responses, n_permutations=1000, stopping="besag_clifford")
    assert scores["rho"].dims == ("layer", "channel", "band", "window")
    significant = scores["significant"].sel(band="band0", window="w0")
    by_layer = significant.sum("channel").values
    assert by_layer[1] >= 8 and by_layer[3] >= 9  # V1 -> layer1, IT -> layer3
    assert by_layer[0] + by_layer[2] <= 1
    v1 = significant.isel(channel=slice(0, 10))
    assert v1.sel(layer="layer1").sum() >= 8 and v1.sel(layer="layer3").sum() == 0
    # the unresponsive channel is scored but not tested
    assert np.isfinite(scores["rho"].sel(channel="c05", band="band0")).all()
    assert scores["p"].sel(channel="c05", band="band0").isnull().all()
    assert not scores["significant"].sel(channel="c05").any()
    assert (scores["n_permutations"].sel(channel="c05", band="band0") == 0).all()
    # band1 holds noise only
    assert scores["significant"].sel(band="band1").sum() <= 2
    assert scores["responsive"].dtype == bool
    path = write_netcdf(scores, tmp_path / "rsa.nc")
    back = read_dataset(path)
    assert back.attrs["stopping"] == "besag_clifford" and back.attrs["h"] == 2
    xr.testing.assert_equal(back["p"], scores["p"])


@pytest.mark.parametrize("stopping", [None, "besag_clifford"])
def test_channel_scores_equal_the_array_api(planted, stopping):
    # chunks of 7 targets: with stopping, the targets still running after the
    # first 100 h permutations are pooled across chunks; results must not change
    activations, responses = planted
    settings = dict(n_permutations=300, seed=3, stopping=stopping)
    scores = rsa.rsa_scores(activations, responses, chunk=7, **settings)
    aligned = responses.set_coords("stimulus_id").swap_dims(stimulus="stimulus_id")
    ids = activations["stimulus_id"].values
    values = aligned["response"].sel(stimulus_id=ids, window="w0").values
    # the stage standardises every feature by default, as StandardScaler does
    models = np.stack(
        [pdist(StandardScaler().fit_transform(activations[f"layer{i}"].values)) for i in range(4)]
    )
    for b, band in enumerate(["band0", "band1"]):
        result = rsa.permutation_test(models, rsa.scalar_rdm(values[:, :, b]), **settings)
        got = scores.sel(band=band, window="w0")
        tested = got["responsive"].values
        assert np.allclose(got["rho"].values, result.statistic)
        assert np.array_equal(got["p"].values[:, tested], result.pvalue[:, tested])
        assert np.array_equal(
            got["n_permutations"].values[:, tested], result.n_permutations[:, tested]
        )
    if stopping:
        assert scores.attrs["h"] == 1  # so the first 100 permutations run per chunk
        used = scores["n_permutations"].values
        assert (used == 300).any() and ((used > 0) & (used < 100)).any()


def test_region_level_scores_and_ceilings(planted):
    activations, responses = planted
    regions = rsa.rsa_scores(activations, responses, level="region", n_permutations=500)
    assert regions["rho"].dims == ("layer", "region", "band", "window")
    assert list(regions["region"].values) == ["V1", "V2", "IT"]
    assert list(regions["region_rank"].values) == [1, 2, 4]
    rho = regions["rho"].sel(band="band0", window="w0")
    assert rho.sel(region="V1").argmax("layer").item() == 1
    assert rho.sel(region="IT").argmax("layer").item() == 3
    assert regions["p"].sel(band="band0", window="w0", region="IT", layer="layer3") < 0.01
    assert (regions["n_subjects"] == 3).all()
    assert regions["n_channels"].sel(region="V1", band="band0").item() == 9  # c05 unresponsive
    lower = regions["noise_ceiling_lower"].sel(band="band0", window="w0")
    upper = regions["noise_ceiling_upper"].sel(band="band0", window="w0")
    assert (lower <= upper).all()
    assert lower.sel(region="IT") > 0.5 and abs(lower.sel(region="V2")) < 0.2


def test_stage_refuses_mismatched_stimuli(planted):
    activations, responses = planted
    renamed = responses.assign_coords(
        stimulus_id=("stimulus", [f"x{i}" for i in range(responses.sizes["stimulus"])])
    )
    with pytest.raises(ValueError, match=r"do not match.*img"):
        rsa.rsa_scores(activations, renamed, n_permutations=10)
    bad = responses.copy(deep=True)
    bad["response"][0, 3, 0, 0] = np.nan
    with pytest.raises(ValueError, match="channel c03, band band0"):
        rsa.rsa_scores(activations, bad, n_permutations=10)
    with pytest.raises(ValueError, match="method must be one of"):
        rsa.rsa_scores(activations, responses, method="kendall_tau_a")


def test_precomputed_rdms_channel_and_region(shared_data):
    from brainnet.recordings.rdms import load_kriegeskorte92

    brain = load_kriegeskorte92(shared_data / "kriegeskorte92")
    ids = brain["stimulus_id"].values
    rng = np.random.default_rng(10)
    # a "layer" whose RDM is the monkey IT RDM itself, and a random one
    monkey = brain["rdm"].sel(channel="monkey:mIT-1").values
    activations = xr.Dataset(
        {
            "copy": (("stimulus", "feature_copy"), _embed(monkey)),
            "noise": (("stimulus", "feature_noise"), rng.standard_normal((92, 5))),
        },
        coords={"stimulus_id": ("stimulus", ids)},
        attrs={"layers": ["copy", "noise"]},
    )
    shuffled = brain.isel(stimulus=slice(None, None, -1), stimulus_other=slice(None, None, -1))
    # the embedding's coordinates carry the RDM only at their own scales: no standardising
    settings = {"n_permutations": 200, "feature_scaling": "none"}
    scores = rsa.rsa_precomputed(activations, shuffled, **settings)
    assert scores["rho"].dims == ("layer", "channel", "band", "window")
    assert scores["band"].values.tolist() == ["broadband"]
    copy = scores["rho"].sel(layer="copy", channel="monkey:mIT-1").item()
    assert copy > 0.95  # classical MDS of a non-Euclidean RDM is close, not exact
    assert scores["p"].sel(layer="copy").max() < 0.01  # human IT resembles monkey IT
    regions = rsa.rsa_precomputed(activations, brain, level="region", **settings)
    hit = regions.sel(region="hIT", band="broadband", window="all")
    expected = rsa.noise_ceiling(brain["rdm"].values[:8], brain["subject"].values[:8], "spearman")
    assert (hit["noise_ceiling_lower"].item(), hit["noise_ceiling_upper"].item()) == (
        pytest.approx(expected)
    )
    assert hit["rho"].sel(layer="copy").item() == pytest.approx(
        scores["rho"].sel(layer="copy").values.ravel()[:8].mean()
    )
    assert np.isnan(regions["noise_ceiling_lower"].sel(region="mIT")).all()
    mismatched = brain.assign_coords(stimulus_other_id=("stimulus_other", ids[::-1]))
    with pytest.raises(ValueError, match="stimulus_other_id"):
        rsa.rsa_precomputed(activations, mismatched, **settings)


def _embed(rdm):
    """Points whose Euclidean distances reproduce ``rdm`` (classical MDS, all dimensions)."""
    n = len(rdm)
    centring = np.eye(n) - 1.0 / n
    gram = -0.5 * centring @ (rdm**2) @ centring
    values, vectors = np.linalg.eigh(gram)
    keep = values > 1e-9
    return vectors[:, keep] * np.sqrt(values[keep])


def test_constant_layer_is_nan_not_significant(planted, caplog):
    activations, responses = planted
    dead = activations.copy()
    dead["layer0"] = xr.zeros_like(dead["layer0"])  # e.g. a dead ReLU layer
    with caplog.at_level("WARNING", logger="brainnet"):
        scores = rsa.rsa_scores(dead, responses, n_permutations=20)
    assert "layer0" in caplog.text
    assert scores["rho"].sel(layer="layer0").isnull().all()
    assert scores["p"].sel(layer="layer0").isnull().all()
    assert not scores["significant"].sel(layer="layer0").any()
    assert scores["p"].sel(layer="layer1", band="band0").notnull().sum() == 29


def _brain_rdm_dataset(rdms, ids, subject, region, rank):
    return xr.Dataset(
        {"rdm": (("channel", "stimulus", "stimulus_other"), rdms)},
        coords={
            "stimulus_id": ("stimulus", np.asarray(ids)),
            "channel": [f"{s}:{r}" for s, r in zip(subject, region, strict=True)],
            "subject": ("channel", np.asarray(subject)),
            "region": ("channel", np.asarray(region)),
            "region_rank": ("channel", np.asarray(rank)),
        },
    )


def test_region_level_keeps_subject_similarities_and_net2brain_columns():
    rng = np.random.default_rng(12)
    n = 30
    ids = [f"img{i:02d}" for i in range(n)]
    latents = [rng.standard_normal(n) for _ in range(2)]
    activations = _activations(latents, ids)
    subjects = ["s1", "s2", "s3", "s4"]
    rdms, subject, region = [], [], []
    for s, noise in zip(subjects, (0.5, 1.0, 1.5, 2.0), strict=True):
        for name, latent in (("EVC", latents[0]), ("IT", latents[1])):
            pattern = latent[:, None] * rng.standard_normal(3) + noise * rng.normal(size=(n, 3))
            rdms.append(rsa.compute_rdm(pattern))
            subject.append(s)
            region.append(name)
    brain = _brain_rdm_dataset(
        np.stack(rdms), ids, subject, region, [1 if r == "EVC" else 2 for r in region]
    )
    scores = rsa.rsa_precomputed(activations, brain, level="region", n_permutations=100)
    cell = scores.sel(band="broadband", window="all")
    assert cell["subject_rho"].dims == ("layer", "region", "subject")
    models = [
        rsa.to_vectors(
            rsa.compute_rdm(activations[f"layer{i}"].values, feature_scaling="standard")
        )
        for i in range(2)
    ]
    for name in ("EVC", "IT"):
        mine = [i for i, g in enumerate(region) if g == name]
        by_hand = np.array(
            [[stats.spearmanr(m, rsa.to_vectors(rdms[i])).statistic for i in mine] for m in models]
        )
        assert np.allclose(cell["subject_rho"].sel(region=name).values, by_hand)
        assert np.allclose(cell["rho"].sel(region=name).values, by_hand.mean(1))
        lower, upper = rsa.noise_ceiling(np.stack([rdms[i] for i in mine]), definition="net2brain")
        assert cell["net2brain_noise_ceiling_lower"].sel(region=name).item() == pytest.approx(
            lower
        )
        assert cell["net2brain_noise_ceiling_upper"].sel(region=name).item() == pytest.approx(
            upper
        )
        squared = by_hand**2
        assert np.allclose(cell["r2"].sel(region=name).values, squared.mean(1))
        assert np.allclose(cell["r2_sem"].sel(region=name).values, stats.sem(squared, axis=1))
        assert np.allclose(
            cell["r2_p"].sel(region=name).values, stats.ttest_1samp(squared, 0, axis=1).pvalue
        )
        assert np.allclose(
            cell["r2_percent"].sel(region=name).values, squared.mean(1) / lower * 100
        )
    # each region matches its own latent best
    assert cell["rho"].sel(region="EVC").argmax("layer").item() == 0
    assert cell["rho"].sel(region="IT").argmax("layer").item() == 1


def test_layer_similarity_tells_duplicated_layers_apart_from_distinct_ones():
    rng = np.random.default_rng(2)
    ids = [f"img{i:02d}" for i in range(25)]
    latents = [rng.standard_normal(25) for _ in range(3)]
    activations = _activations(latents, ids)
    # layer3 repeats layer1 with its units rescaled: the same geometry after standardising
    activations["layer3"] = activations["layer1"].rename(
        feature_layer1="feature_layer3"
    ) * np.array([0.1, 1, 10, 100, 1, 1])
    activations.attrs["layers"] = ["layer0", "layer1", "layer2", "layer3"]
    similarity = rsa.layer_similarity(activations)
    matrix = similarity["similarity"].values
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1)
    assert matrix[1, 3] == pytest.approx(1.0)
    assert abs(matrix[0, 2]) < 0.3
    assert np.allclose(similarity["adjacent"].values[:3], np.diag(matrix, 1))
    assert np.isnan(similarity["adjacent"].values[3])
    assert similarity.attrs["feature_scaling"] == "standard"


def test_contact_resamples_of_region_rdms():
    from brainnet.rsa._region import _resampled_rdms

    rng = np.random.default_rng(3)
    pattern = rng.standard_normal((15, 5))
    fast = _resampled_rdms(pattern, "euclidean", 20, np.random.default_rng(1))
    draws = np.random.default_rng(1).integers(0, 5, (20, 5))
    assert np.allclose(fast, [pdist(pattern[:, d]) for d in draws])
    slow = _resampled_rdms(pattern, "correlation", 20, np.random.default_rng(1))
    assert np.allclose(slow, [pdist(pattern[:, d], "correlation") for d in draws])


def test_region_level_contact_bootstrap_only_where_a_region_matches(planted):
    activations, responses = planted
    scores = rsa.rsa_scores(
        activations, responses, level="region", n_permutations=200, n_bootstrap=30, alpha=0.01
    )
    boot = scores["subject_rho_bootstrap"]
    assert boot.dims == ("bootstrap", "layer", "region", "subject", "band", "window")
    assert boot.sizes["bootstrap"] == 30
    matched = scores["significant"].any("layer")
    computed = boot.notnull().any(("bootstrap", "layer", "subject"))
    xr.testing.assert_equal(computed, matched)
    it = boot.sel(region="IT", band="band0", window="w0")
    # resampled contacts vary around the observed similarity of each subject
    observed = scores["subject_rho"].sel(region="IT", band="band0", window="w0")
    assert float(it.std("bootstrap").mean()) > 0
    assert float(abs(it.mean("bootstrap") - observed).max()) < 0.2
    without = rsa.rsa_scores(
        activations, responses, level="region", n_permutations=200, n_bootstrap=0
    )
    assert "subject_rho_bootstrap" not in without
