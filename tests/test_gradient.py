"""Gradient statistics on hand-made scores with known answers."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from brainnet.gradient import describe_result, gradient_statistics, strongest_alignment
from brainnet.io import read_dataset, write_netcdf

LAYERS = ["pixels", "conv1", "conv2", "conv3", "conv4"]
DIMS = ("layer", "channel", "band", "window")


def make_scores(values, significant, rank, subject, *, method="encoding", region=None):
    """Score Dataset from arrays ``(layer, channel, band, window)`` and channel labels."""
    n_layer, n_channel, n_band, n_window = values.shape
    rank = np.asarray(rank)
    coords = {
        "layer": LAYERS[:n_layer],
        "layer_index": ("layer", np.arange(n_layer)),
        "channel": [f"ch{i}" for i in range(n_channel)],
        "subject": ("channel", list(subject)),
        "region": ("channel", region if region is not None else [f"R{k}" for k in rank]),
        "region_rank": ("channel", rank),
        "band": [f"band{i}" for i in range(n_band)],
        "fmin": ("band", np.arange(n_band) * 10.0 + 5),
        "fmax": ("band", np.arange(n_band) * 10.0 + 15),
        "window": [f"win{i}" for i in range(n_window)],
        "tmin": ("window", np.arange(n_window) * 0.1),
        "tmax": ("window", np.arange(n_window) * 0.1 + 0.2),
    }
    p = np.where(significant, 1e-4, 0.5)
    if method == "encoding":
        data = {"r": (DIMS, values), "p": (DIMS, p), "p_fdr": (DIMS, p)}
    else:
        data = {"rho": (DIMS, values), "p": (DIMS, p), "significant": (DIMS, significant)}
    return xr.Dataset(data, coords=coords, attrs={"dataset": "toy", "model": "net"})


def planted_scores(
    best_layer, *, n_per_region=6, n_subjects=3, n_band=1, n_window=1, seed=0, **kwargs
):
    """Channels of region rank k peak at layer ``best_layer[k]`` and are significant only there."""
    rng = np.random.default_rng(seed)
    rank = np.repeat(np.arange(1, len(best_layer) + 1), n_per_region)
    subject = [f"s{i % n_subjects}" for i in range(len(rank))]
    peak = np.array([best_layer[k - 1] for k in rank])
    layers = np.arange(len(LAYERS))[:, None]
    values = (
        0.5 - 0.1 * np.abs(layers - peak[None]) + rng.normal(0, 0.01, (len(LAYERS), len(rank)))
    )
    values = np.repeat(values[:, :, None, None], n_band, 2).repeat(n_window, 3)
    significant = np.broadcast_to((layers == peak[None])[:, :, None, None], values.shape)
    return make_scores(values, significant, rank, subject, **kwargs)


FAST = {"n_bootstrap": 200, "n_permutations": 200}


def test_perfect_alignment_recovered():
    scores = planted_scores([1, 2, 3, 4])
    gradient = gradient_statistics(scores, method="encoding", **FAST)
    cell = gradient.isel(band=0, window=0)
    assert float(cell["alignment_tau"]) == pytest.approx(1.0)
    assert float(cell["alignment_rho"]) == pytest.approx(1.0)
    # 24 channels in 4 regions: no permutation reaches tau = 1, so p is the minimum.
    assert float(cell["alignment_tau_p"]) == pytest.approx(1 / 201)
    assert float(cell["alignment_rho_p"]) == pytest.approx(1 / 201)
    assert float(cell["alignment_tau_low"]) > 0.5
    assert float(cell["alignment_rho_low"]) > 0.5
    assert int(cell["n_pairs"]) == 24
    np.testing.assert_array_equal(cell["preferred_layer"], [1, 2, 3, 4])
    np.testing.assert_array_equal(cell["preferred_layer_agreement"], 1.0)
    np.testing.assert_array_equal(cell["preferred_layer_low"], cell["preferred_layer_high"])
    assert list(gradient["region"].values) == ["R1", "R2", "R3", "R4"]
    assert gradient.attrs["method"] == "encoding"
    assert gradient.attrs["dataset"] == "toy"
    assert gradient.attrs["score_label"] == "held-out Pearson r"


def test_reversed_alignment():
    gradient = gradient_statistics(planted_scores([4, 3, 2, 1]), method="encoding", **FAST)
    cell = gradient.isel(band=0, window=0)
    assert float(cell["alignment_tau"]) == pytest.approx(-1.0)
    assert float(cell["alignment_rho"]) == pytest.approx(-1.0)
    assert float(cell["alignment_tau_high"]) < 0
    assert float(cell["alignment_tau_p"]) < 0.01
    assert float(cell["region_alignment_rho"]) == pytest.approx(-1.0)
    assert float(cell["region_alignment_rho_high"]) < 0


def test_region_alignment_follows_region_preferences():
    """Region view: one preferred layer per region against its rank (Guclu & van Gerven)."""
    gradient = gradient_statistics(planted_scores([1, 2, 3, 4]), method="encoding", **FAST)
    cell = gradient.isel(band=0, window=0)
    assert float(cell["region_alignment_rho"]) == pytest.approx(1.0)
    assert float(cell["region_alignment_rho_low"]) == pytest.approx(1.0)
    assert float(cell["region_alignment_rho_p"]) < 0.05
    # a plateau (two regions sharing a layer) is a tie, scored with average ranks
    tied = gradient_statistics(planted_scores([1, 2, 2, 4]), method="encoding", **FAST)
    expected = stats.spearmanr([1, 2, 3, 4], [1, 2, 2, 4]).statistic
    assert float(tied["region_alignment_rho"].isel(band=0, window=0)) == pytest.approx(expected)
    # fewer than three visual ranks: undefined, not a spurious +/-1
    two = gradient_statistics(planted_scores([1, 3]), method="encoding", **FAST)
    assert np.isnan(two["region_alignment_rho"].isel(band=0, window=0))


def test_no_alignment_gives_uniform_p_and_intervals_around_zero():
    # 60 independent windows of random scores: a time course without any gradient.
    rng = np.random.default_rng(1)
    n_channel, n_window = 40, 60
    shape = (len(LAYERS), n_channel, 1, n_window)
    values = rng.normal(size=shape)
    significant = rng.random(shape) < 0.3
    rank = rng.integers(1, 5, n_channel)
    subject = [f"s{i % 4}" for i in range(n_channel)]
    gradient = gradient_statistics(
        make_scores(values, significant, rank, subject), method="encoding", **FAST
    )
    for stat in ("tau", "rho"):
        p = gradient[f"alignment_{stat}_p"].values.ravel()
        assert stats.kstest(p, "uniform").pvalue > 0.01
        covers = (gradient[f"alignment_{stat}_low"] < 0) & (gradient[f"alignment_{stat}_high"] > 0)
        assert covers.mean() >= 0.85
    assert gradient["alignment_tau"].dims == ("band", "window")
    assert gradient.sizes["window"] == n_window


def test_alignment_equals_scipy_on_expanded_observations():
    rng = np.random.default_rng(2)
    shape = (len(LAYERS), 50, 2, 2)
    values = rng.normal(size=shape)
    significant = rng.random(shape) < 0.4
    rank = rng.integers(0, 5, 50)  # includes control channels (rank 0)
    subject = [f"s{i % 5}" for i in range(50)]
    scores = make_scores(values, significant, rank, subject)
    gradient = gradient_statistics(scores, method="encoding", n_bootstrap=20, n_permutations=20)
    for b in range(2):
        for w in range(2):
            sig = significant[:, :, b, w]
            layer, channel = np.nonzero(sig)
            keep = rank[channel] > 0
            expected_tau = stats.kendalltau(rank[channel][keep], layer[keep]).statistic
            best = np.where(sig, values[:, :, b, w], -np.inf).argmax(0)
            has = sig.any(0) & (rank > 0)
            expected_rho = stats.spearmanr(rank[has], best[has]).statistic
            cell = gradient.isel(band=b, window=w)
            assert float(cell["alignment_tau"]) == pytest.approx(expected_tau, abs=1e-12)
            assert float(cell["alignment_rho"]) == pytest.approx(expected_rho, abs=1e-12)
            assert int(cell["n_pairs"]) == keep.sum()
            assert int(cell["n_preferred"]) == has.sum()


def test_noisy_preferred_layers_and_channels_without_preference():
    rng = np.random.default_rng(3)
    scores = planted_scores([0, 2, 3, 4], n_per_region=8, n_subjects=4)
    values = scores["r"].values + rng.normal(0, 0.03, scores["r"].shape)
    significant = scores["p_fdr"].values < 0.05
    significant[:, :3] = False  # three R1 channels have no significant layer
    scores = make_scores(
        values, significant, scores["region_rank"].values, scores["subject"].values
    )
    gradient = gradient_statistics(scores, method="encoding", **FAST)
    cell = gradient.isel(band=0, window=0)
    np.testing.assert_array_equal(cell["preferred_layer"], [0, 2, 3, 4])
    # The channels without a significant layer prefer none and are not counted.
    assert int(cell["n_preferred"]) == 32 - 3
    np.testing.assert_array_equal(cell["n_preferring"].sum("layer"), [5, 8, 8, 8])
    assert int(cell["n_preferring"].sel(region="R1", layer="pixels")) == 5
    # ... but their scores still enter the region mean.
    np.testing.assert_allclose(
        cell["score"].sel(region="R1"), values[:, :8, 0, 0].mean(axis=1), atol=1e-12
    )
    np.testing.assert_allclose(
        cell["fraction_significant"].sel(region="R1", layer="pixels"), 5 / 8
    )


def test_region_mean_pooled_and_hierarchical_interval():
    # R1: subject a has three channels at 1.0, subject b one at 0.0. The pooled mean
    # is 0.75; resampling subjects first makes the interval span the two subjects.
    values = np.zeros((2, 6, 1, 1))
    values[:, :3] = 1.0
    values[:, 4] = 0.2
    values[:, 5] = 0.4
    rank = [1, 1, 1, 1, 2, 2]
    subject = ["a", "a", "a", "b", "a", "b"]
    scores = make_scores(values, np.ones(values.shape, bool), rank, subject)
    gradient = gradient_statistics(scores, method="encoding", **FAST)
    r1 = gradient.sel(region="R1").isel(band=0, window=0)
    np.testing.assert_allclose(r1["score"], 0.75)
    np.testing.assert_allclose(r1["score_low"], 0.0)
    np.testing.assert_allclose(r1["score_high"], 1.0)
    assert int(r1["n_subjects"]) == 2
    assert int(r1["n_channels"]) == 4


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(4)
    shape = (len(LAYERS), 30, 1, 2)
    scores = make_scores(
        rng.normal(size=shape),
        rng.random(shape) < 0.5,
        rng.integers(1, 4, 30),
        [f"s{i % 3}" for i in range(30)],
    )
    first = gradient_statistics(scores, method="encoding", seed=7, **FAST)
    again = gradient_statistics(scores, method="encoding", seed=7, **FAST)
    other = gradient_statistics(scores, method="encoding", seed=8, **FAST)
    xr.testing.assert_identical(first, again)
    assert not np.array_equal(first["alignment_tau_low"], other["alignment_tau_low"])
    np.testing.assert_array_equal(first["alignment_tau"], other["alignment_tau"])


def test_control_channels_excluded_from_alignment():
    scores = planted_scores([1, 2, 3, 4])
    rng = np.random.default_rng(5)
    n = 10
    shape = (len(LAYERS), n, 1, 1)
    controls = make_scores(
        rng.normal(size=shape),
        np.ones(shape, bool),
        np.zeros(n, int),
        [f"s{i % 3}" for i in range(n)],
        region=["hippocampus"] * n,
    ).assign_coords(channel=[f"ctl{i}" for i in range(n)])
    both = xr.concat([scores, controls], dim="channel")
    alone = gradient_statistics(scores, method="encoding", **FAST)
    mixed = gradient_statistics(both, method="encoding", **FAST)
    for name in [v for v in alone.data_vars if alone[v].dims == ("band", "window")]:
        xr.testing.assert_identical(alone[name], mixed[name])
    assert list(mixed["region"].values) == ["R1", "R2", "R3", "R4", "hippocampus"]
    assert int(mixed["region_rank"].sel(region="hippocampus")) == 0
    np.testing.assert_allclose(
        mixed["score"].sel(region="hippocampus").squeeze(), controls["r"].mean("channel").squeeze()
    )


def test_encoding_and_rsa_inputs_give_the_same_statistics():
    encoding = planted_scores([1, 1, 3, 4], seed=6)
    rsa = planted_scores([1, 1, 3, 4], seed=6, method="rsa")
    from_encoding = gradient_statistics(encoding, method="encoding", **FAST)
    from_rsa = gradient_statistics(rsa, method="rsa", **FAST)
    for name in from_encoding.data_vars:
        xr.testing.assert_equal(from_encoding[name], from_rsa[name])
    assert from_rsa.attrs["score_label"] == "Spearman rho"
    # Without the boolean 'significant', RSA significance falls back to p <= alpha.
    from_p = gradient_statistics(rsa.drop_vars("significant"), method="rsa", **FAST)
    xr.testing.assert_identical(from_p["alignment_tau"], from_rsa["alignment_tau"])


def test_significant_variable_takes_precedence_over_p():
    scores = planted_scores([1, 2, 3, 4])
    nothing = scores.assign(significant=xr.zeros_like(scores["r"], dtype=bool))
    gradient = gradient_statistics(nothing, method="encoding", **FAST)
    assert int(gradient["n_pairs"].sum()) == 0
    assert int(gradient["n_preferring"].sum()) == 0
    assert np.isnan(gradient["alignment_tau"]).all()
    # The region means and their preferred layer do not depend on significance.
    np.testing.assert_array_equal(gradient["preferred_layer"].squeeze(), [1, 2, 3, 4])


def test_region_level_rsa_variables_are_ignored():
    rsa = planted_scores([1, 2, 3, 4], method="rsa")
    extra = rsa.assign(rho_pooled=(("layer", "band", "window"), np.zeros((len(LAYERS), 1, 1))))
    xr.testing.assert_identical(
        gradient_statistics(rsa, method="rsa", **FAST),
        gradient_statistics(extra, method="rsa", **FAST),
    )


def test_noise_ceiled_scores_used_on_request():
    scores = planted_scores([1, 2, 3, 4])
    ceiled = scores.assign(r_ceiled=scores["r"] * 2)
    gradient = gradient_statistics(ceiled, method="encoding", ceiled=True, **FAST)
    plain = gradient_statistics(scores, method="encoding", **FAST)
    np.testing.assert_allclose(gradient["score"], plain["score"] * 2)
    assert gradient.attrs["score"] == "r_ceiled"
    with pytest.raises(KeyError, match="r_ceiled"):
        gradient_statistics(scores, method="encoding", ceiled=True, **FAST)
    with pytest.raises(ValueError, match="encoding scores only"):
        gradient_statistics(planted_scores([1, 2], method="rsa"), method="rsa", ceiled=True)


def test_single_region_rank_leaves_alignment_undefined():
    gradient = gradient_statistics(planted_scores([2]), method="encoding", **FAST)
    assert np.isnan(gradient["alignment_tau"]).all()
    assert np.isnan(gradient["alignment_rho_p"]).all()
    assert int(gradient["preferred_layer"].squeeze()) == 2


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda s: s.drop_vars("region_rank"), ValueError, "region_rank"),
        (lambda s: s.drop_vars("subject"), ValueError, "subject"),
        (lambda s: s.isel(layer=slice(0, 0)), ValueError, "no layers"),
        (lambda s: s.drop_vars("p_fdr"), KeyError, r"encoding scores dataset='toy' .*p_fdr"),
        (lambda s: s.isel(window=0), ValueError, "window"),
        (
            lambda s: s.groupby("region").mean(),
            ValueError,
            "region-level RSA scores: use method=.rsa_region.",
        ),
        (
            lambda s: s.assign_coords(region=("channel", ["V1"] * s.sizes["channel"])),
            ValueError,
            "region 'V1' has channels with different region_rank",
        ),
    ],
)
def test_bad_input_refused(change, error, match):
    with pytest.raises(error, match=match):
        gradient_statistics(change(planted_scores([1, 2])), method="encoding", **FAST)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"method": "glm"}, "method"),
        ({"method": "encoding", "n_bootstrap": 0}, "n_bootstrap"),
        ({"method": "encoding", "n_permutations": 1.5}, "n_permutations"),
        ({"method": "encoding", "alpha": 1.0}, "alpha"),
    ],
)
def test_bad_settings_refused(settings, match):
    with pytest.raises(ValueError, match=match):
        gradient_statistics(planted_scores([1, 2]), **settings)


def test_gradient_artefact_round_trip(tmp_path):
    scores = planted_scores([1, 2, 3], n_band=2, n_window=2)
    scores = scores.assign_coords(
        region=("channel", [f"V{k}/x" for k in scores["region_rank"].values])
    )
    gradient = gradient_statistics(scores, method="encoding", **FAST)
    back = read_dataset(write_netcdf(gradient, tmp_path / "gradient.nc"))
    xr.testing.assert_identical(back, gradient)


def test_one_line_result_is_the_strongest_significant_cell(caplog):
    # band0: a perfect gradient; band1: two regions share a layer, a weaker one;
    # window1 of both: flat scores, every region prefers the same layer (undefined).
    scores = planted_scores([1, 2, 3, 4], n_band=2, n_window=2)
    weaker = planted_scores([1, 2, 2, 4])
    values = scores["r"].values.copy()
    values[:, :, 1, 0] = weaker["r"].values[:, :, 0, 0]
    values[:, :, :, 1] = 0.5
    scores["r"] = (DIMS, values)
    with caplog.at_level("INFO", logger="brainnet"):
        gradient = gradient_statistics(scores, method="encoding", **FAST)
    assert np.isnan(gradient["region_alignment_rho"].sel(window="win1")).all()
    assert strongest_alignment(gradient) == [("band0", "win0"), ("band1", "win0")]
    line = describe_result(gradient)
    p = float(gradient["region_alignment_rho_p"].sel(band="band0", window="win0"))
    assert line == (
        f"region-level rho = 1.00 [1.00, 1.00], p = {p:.3g} in band0, win0 "
        "(the strongest of 2 of 4 band-windows with p < 0.05)"
    )
    assert line in caplog.text
    # with a planted band (synthetic data), the planted band's result
    planted = describe_result(gradient, planted_band=(20.0, 30.0))  # band1 is 15-25 Hz
    assert planted.startswith("planted band 20-30 Hz: region-level rho = 0.95")
    assert "in band1, win0 (the strongest of 1 of 2 band-windows" in planted
    # nothing significant: said so, not the largest of non-significant values
    flat = describe_result(gradient.sel(window=["win1"]))
    assert flat == (
        "no significant alignment (region-level rho, p < 0.05) in any of 2 band-windows; "
        "alignment undefined: every region prefers the same layer"
    )
    assert describe_result(gradient, alpha=0.001).startswith("no significant alignment")
    one_rank = gradient.copy(deep=True).assign_coords(region_rank=("region", [3, 3, 3, 3]))
    one_rank["region_alignment_rho"][:] = np.nan
    assert describe_result(one_rank).endswith(
        "in any of 4 band-windows; alignment undefined: all regions share one rank"
    )
    # of two perfect alignments with equal p, the one with the tighter interval
    tie = gradient.copy(deep=True)
    cells = {"band": "band1", "window": "win0"}
    tie["region_alignment_rho"].loc[cells] = 1.0
    tie["region_alignment_rho_p"].loc[cells] = float(tie["region_alignment_rho_p"][0, 0])
    tie["region_alignment_rho_low"].loc[cells] = 0.5
    assert strongest_alignment(tie)[0] == ("band0", "win0")
    tie["region_alignment_rho_low"].loc[{"band": "band0", "window": "win0"}] = 0.2
    assert strongest_alignment(tie)[0] == ("band1", "win0")


# --------------------------------------------------------------------------- region-level RSA

CHAIN = ["pixels", *(f"l{k}" for k in range(1, 8))]
NON_MONOTONE = {
    "V1": "l2",
    "V2": "l6",
    "V3-V4": "l1",
    "fusiform-IT": "l7",
    "anterior-temporal": "l4",
}


def chain_network(n_stimuli=60, width=2.0, seed=0):
    """Activations of a network-like chain of layers: each layer mixes latent blocks with
    Gaussian weights centred on its depth, so neighbouring layers' RDMs correlate ~0.7
    (as in a trained network) and distant ones little."""
    rng = np.random.default_rng(seed)
    blocks = rng.standard_normal((len(CHAIN), n_stimuli, 32))
    ds = xr.Dataset(coords={"stimulus_id": ("stimulus", [f"im{i:03d}" for i in range(n_stimuli)])})
    for depth, name in enumerate(CHAIN):
        mixing = np.exp(-0.5 * ((np.arange(len(CHAIN)) - depth) / width) ** 2)
        features = np.tensordot(mixing, blocks, axes=1) @ rng.standard_normal((32, 200))
        ds[name] = (("stimulus", f"feature_{name}"), np.maximum(features, 0))
    return ds.assign_attrs(layers=CHAIN, model="chain")


def planted_responses(activations, planted, seed, n_subjects=4, noise=0.9, signal=True):
    """Responses of the synthetic dataset's contacts (its layout and drive), plus noise.

    The generator's own electrode layout and contact drive
    (:mod:`brainnet.recordings.synthetic`), without the MNE round trip: each
    contact's response is its drive plus Gaussian noise of ``noise`` times
    the drive's SD (split-half reliability about 0.55, as in the default
    dataset). ``signal=False`` keeps the layout and drops the drive.
    """
    from brainnet.recordings.synthetic.layout import _layout
    from brainnet.recordings.synthetic.regions import (
        DEFAULT_REGIONS,
        _drive,
        _standardised_features,
        check_regions,
    )

    spec = {name: dict(region) for name, region in DEFAULT_REGIONS.items()}
    for name, layer in planted.items():
        spec[name].pop("depth", None)
        spec[name]["layer"] = layer
    regions = check_regions(spec, list(activations.attrs["layers"]))
    stimuli = xr.Dataset(coords={"stimulus_id": activations["stimulus_id"]})
    features = _standardised_features(stimuli, activations, regions)
    columns, labels = [], {"channel": [], "subject": [], "region": [], "region_rank": []}
    for index in range(n_subjects):
        rng = np.random.default_rng([seed, index])
        layout = _layout(index, regions, 8, 3.5, rng)
        drive = _drive(layout, regions, features, rng)
        scale = np.where(drive.std(axis=1) > 0, drive.std(axis=1), 1.0)[:, None]
        columns.append((drive * signal + noise * scale * rng.standard_normal(drive.shape)).T)
        labels["channel"] += [f"s{index}:{name}" for name in layout["name"]]
        labels["subject"] += [f"s{index}"] * len(layout)
        labels["region"] += list(layout["region"])
        labels["region_rank"] += list(layout["region_rank"])
    values = np.concatenate(columns, axis=1)[:, :, None, None]
    coords = {name: ("channel", value) for name, value in labels.items() if name != "channel"}
    coords.update(
        stimulus_id=activations["stimulus_id"],
        channel=labels["channel"],
        band=["gamma"],
        window=["w"],
    )
    return xr.Dataset({"response": (("stimulus", "channel", "band", "window"), values)}, coords)


def _region_gradient(activations, responses, seed=0):
    from brainnet import rsa

    scores = rsa.rsa_scores(
        activations, responses, level="region", n_permutations=200, alpha=0.01, n_bootstrap=50
    )
    gradient = gradient_statistics(scores, method="rsa_region", seed=seed, **FAST)
    return scores, gradient.isel(band=0, window=0)


@pytest.fixture(scope="module")
def chain():
    return chain_network()


def test_region_level_rsa_recovers_a_non_monotone_plant(chain):
    _, cell = _region_gradient(chain, planted_responses(chain, NON_MONOTONE, seed=1))
    # regions in the order of every gradient: visual ones by rank, then the controls
    assert list(cell["region"].values) == [*NON_MONOTONE, "frontal", "motor"]
    index = {name: k for k, name in enumerate(CHAIN)}
    preferred = cell["preferred_layer"].sel(region=list(NON_MONOTONE)).values
    truth = np.array([index[layer] for layer in NON_MONOTONE.values()])
    assert (preferred == truth).sum() >= 4
    # the region alignment has the sign of the plant and no monotone gradient is claimed
    planted_rho = stats.spearmanr(np.arange(5), truth).statistic
    assert planted_rho == pytest.approx(0.3)
    assert float(cell["region_alignment_rho"]) > 0
    assert float(cell["region_alignment_rho_p"]) > 0.05
    # the channel statistics are undefined at region level; the region counts are kept
    assert np.isnan(cell["alignment_tau"]) and np.isnan(cell["alignment_rho"])
    assert int(cell["n_preferred"]) == 5
    assert cell["noise_ceiling_lower"].sel(region="V1") < cell["noise_ceiling_upper"].sel(
        region="V1"
    )


@pytest.mark.parametrize("planted", [CHAIN[1:6], CHAIN[5:0:-1]], ids=["along", "reversed"])
def test_region_level_rsa_detects_a_monotone_plant(chain, planted):
    plant = dict(zip(NON_MONOTONE, planted, strict=True))
    _, cell = _region_gradient(chain, planted_responses(chain, plant, seed=2))
    preferred = cell["preferred_layer"].sel(region=list(plant)).values
    assert (preferred == [CHAIN.index(layer) for layer in planted]).sum() >= 4
    sign = 1 if planted[0] < planted[-1] else -1
    assert sign * float(cell["region_alignment_rho"]) > 0.8
    assert float(cell["region_alignment_rho_p"]) < 0.05


def test_preferred_layer_interval_covers_the_planted_layer_at_its_nominal_rate(chain):
    # 12 datasets x 5 regions planted along the chain; the 95% interval (the span of
    # the layers tied to the preferred one) must hold the planted layer in >= 95% of
    # the cases up to binomial noise, without spanning most of the network
    plant = dict(zip(NON_MONOTONE, CHAIN[1:6], strict=True))
    covered, width = [], []
    for seed in range(12):
        _, cell = _region_gradient(chain, planted_responses(chain, plant, seed=100 + seed), seed)
        for region, layer in plant.items():
            low, high = (
                float(cell[f"preferred_layer_{e}"].sel(region=region)) for e in ("low", "high")
            )
            covered.append(low <= CHAIN.index(layer) <= high)
            width.append(int(cell["tied"].sel(region=region).sum()))
    assert np.mean(covered) >= 0.9
    assert np.mean(width) < len(CHAIN) / 2


def test_no_preferred_layer_without_a_significant_match(chain):
    # noise only: the argmax of noise favours the layers least like the others, so a
    # region without a significant match gets no preferred layer at all
    responses = planted_responses(
        chain, dict(zip(NON_MONOTONE, CHAIN[1:6], strict=True)), 3, signal=False
    )
    scores, cell = _region_gradient(chain, responses)
    matched = np.isfinite(cell["preferred_layer"].values)
    assert matched.sum() <= 1
    np.testing.assert_array_equal(
        matched, scores["significant"].isel(band=0, window=0).any("layer")
    )
    assert np.isnan(cell["preferred_layer_low"].values[~matched]).all()
    assert not cell["tied"].values[:, ~matched].any()


def test_tied_layers_are_the_ones_the_subjects_cannot_order():
    # region-level scores by hand: in R1 layers 1 and 2 trade places across subjects,
    # in R2 every subject puts layer 3 first
    rng = np.random.default_rng(6)
    subject_rho = np.full((len(LAYERS), 2, 6), 0.1) + rng.normal(0, 0.005, (len(LAYERS), 2, 6))
    subject_rho[1, 0] += np.array([0.3, 0.1, 0.3, 0.1, 0.3, 0.1])
    subject_rho[2, 0] += np.array([0.1, 0.3, 0.1, 0.3, 0.1, 0.32])
    subject_rho[3, 1] += 0.3
    scores = xr.Dataset(
        {
            "rho": (("layer", "region"), subject_rho.mean(-1)),
            "significant": (("layer", "region"), subject_rho.mean(-1) > 0.2),
            "subject_rho": (("layer", "region", "subject"), subject_rho),
        },
        coords={
            "layer": LAYERS,
            "layer_index": ("layer", np.arange(len(LAYERS))),
            "region": ["R1", "R2"],
            "region_rank": ("region", [1, 2]),
            "subject": [f"s{i}" for i in range(6)],
        },
    ).expand_dims(band=["b"], window=["w"])
    gradient = gradient_statistics(scores, method="rsa_region", **FAST).isel(band=0, window=0)
    assert gradient["tied"].sel(region="R1").values.tolist() == [False, True, True, False, False]
    assert gradient["tied"].sel(region="R2").values.tolist() == [False, False, False, True, False]
    assert gradient["preferred_layer_low"].values.tolist() == [1, 3]
    assert gradient["preferred_layer_high"].values.tolist() == [2, 3]
    assert gradient["n_preferring"].sel(region="R1").values.tolist() == [0, 3, 3, 0, 0]
    # fewer than three regions: no alignment, and a region of one subject has no interval
    assert np.isnan(gradient["region_alignment_rho"])
    one = scores.assign(subject_rho=scores["subject_rho"].where(scores["subject"] == "s0"))
    single = gradient_statistics(one, method="rsa_region", **FAST).isel(band=0, window=0)
    assert np.isfinite(single["preferred_layer"]).all()
    assert np.isnan(single["preferred_layer_low"]).all()
