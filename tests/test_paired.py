"""The paired comparison of two models: planted differences, null calibration, refusals."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import brainnet.gradient.paired as paired_module
from brainnet.gradient import compare_models, gradient_statistics, model_pairs, paired_comparison
from brainnet.io import read_dataset, write_netcdf
from brainnet.report import COMPARISON_COLUMNS, comparison_table

DIMS = ("layer", "channel", "band", "window")
RANKS = (1, 2, 3, 4, 5)
FAST = {"n_bootstrap": 199, "n_permutations": 199}


def make_scores(values, subject, rank, *, layers=None, model="net"):
    """Encoding scores ``(layer, channel, band, window)``, every layer significant."""
    n_layer, n_channel, n_band, n_window = values.shape
    coords = {
        "layer": layers or [f"l{i}" for i in range(n_layer)],
        "layer_index": ("layer", np.arange(n_layer)),
        "channel": [f"ch{i}" for i in range(n_channel)],
        "subject": ("channel", list(subject)),
        "region": ("channel", [f"R{k}" if k else "ctrl" for k in rank]),
        "region_rank": ("channel", list(rank)),
        "band": [f"b{i}" for i in range(n_band)],
        "window": [f"w{i}" for i in range(n_window)],
    }
    data = {"r": (DIMS, values), "significant": (DIMS, np.ones(values.shape, bool))}
    return xr.Dataset(data, coords=coords, attrs={"model": model})


def model_pair(
    seed=0,
    *,
    n_subjects=4,
    n_per=3,
    layers=(6, 6),
    amplitude_b=0.3,
    reversed_b=False,
    noise=0.05,
    channel_sd=0.1,
    n_band=1,
    n_window=1,
):
    """Scores of models A and B on the same channels.

    Every subject has ``n_per`` channels in each of five visual regions and
    in a control region (rank 0). A channel of region rank k peaks at the
    layer at relative depth (k - 1) / 4 for A, and for B too unless
    ``reversed_b`` (then at (5 - k) / 4). A channel effect common to both
    models and independent noise per model are added: with the same
    amplitude and peaks, the two models' scores are exchangeable on every
    channel (the null).
    """
    rng = np.random.default_rng(seed)
    rank = np.tile(np.repeat((*RANKS, 0), n_per), n_subjects)
    subject = np.repeat([f"s{i}" for i in range(n_subjects)], (len(RANKS) + 1) * n_per)
    shared = rng.normal(0, channel_sd, len(rank))
    depth_a = np.where(rank > 0, (rank - 1) / 4, 0.0)
    depth_b = np.where(rank > 0, (5 - rank) / 4, 0.0) if reversed_b else depth_a

    def scores(n_layer, amplitude, depth, model):
        layer_depth = np.linspace(0, 1, n_layer)[:, None]
        signal = np.where(rank > 0, amplitude, 0.0) - 0.25 * np.abs(layer_depth - depth)
        values = (signal + shared)[:, :, None, None] + rng.normal(
            0, noise, (n_layer, len(rank), n_band, n_window)
        )
        return make_scores(values, subject, rank, model=model)

    return scores(layers[0], 0.3, depth_a, "A"), scores(layers[1], amplitude_b, depth_b, "B")


@pytest.mark.parametrize("exchange, n_subjects", [("channel", 4), ("subject", 8)])
def test_planted_difference_detected(exchange, n_subjects):
    a, b = model_pair(amplitude_b=0.2, reversed_b=True, n_subjects=n_subjects)
    result = paired_comparison(a, b, method="encoding", exchange=exchange, **FAST)
    cell = result.isel(band=0, window=0)
    visual = cell.sel(region=[f"R{k}" for k in RANKS])
    # B is weaker everywhere in the visual regions: every interval above 0, every p small
    assert (visual["peak_score_difference"] > 0.05).all()
    assert (visual["peak_score_difference_low"] > 0).all()
    assert (visual["peak_score_difference_p"] < 0.05).all()
    # A's layers rise along the stream, B's fall: rho 1 against -1
    assert float(cell["region_alignment_rho_a"]) == pytest.approx(1.0)
    assert float(cell["region_alignment_rho_b"]) == pytest.approx(-1.0)
    assert float(cell["region_alignment_rho_difference"]) == pytest.approx(2.0)
    assert float(cell["region_alignment_rho_difference_low"]) > 0
    assert float(cell["region_alignment_rho_difference_p"]) < 0.05
    # the control region carries no signal in either model
    assert float(cell["peak_score_difference_low"].sel(region="ctrl")) < 0
    assert float(cell["peak_score_difference_high"].sel(region="ctrl")) > 0
    assert result.attrs["exchange"] == exchange


def test_null_false_positive_rate_and_uniform_p():
    """Exchangeable scores over 200 seeds: about 5 % of p < 0.05 and of intervals excluding 0."""
    n_replicates = 200
    p_peak, excluded_peak, p_align, excluded_align = [], [], [], []
    for seed in range(n_replicates):
        # noisy enough for the preferred layers, and so the alignment, to vary
        a, b = model_pair(seed=1000 + seed, noise=0.3)
        cell = paired_comparison(a, b, method="encoding", seed=seed, **FAST).isel(band=0, window=0)
        visual = cell.sel(region=[f"R{k}" for k in RANKS])
        p_peak.append(visual["peak_score_difference_p"].to_numpy())
        low, high = visual["peak_score_difference_low"], visual["peak_score_difference_high"]
        excluded_peak.append(((low > 0) | (high < 0)).to_numpy())
        p_align.append(float(cell["region_alignment_rho_difference_p"]))
        low, high = (
            float(cell[f"region_alignment_rho_difference_{end}"]) for end in ("low", "high")
        )
        excluded_align.append(low > 0 or high < 0)
    bound = 0.05 + 2 * np.sqrt(0.05 * 0.95 / n_replicates)  # 5 % + two Monte Carlo SEs
    p_peak = np.concatenate(p_peak)
    assert np.mean(p_peak < 0.05) <= bound
    assert np.mean(np.concatenate(excluded_peak)) <= bound
    assert np.mean(np.asarray(p_align) < 0.05) <= bound
    assert np.mean(excluded_align) <= bound
    # p of the peak difference is uniform: a Kolmogorov-Smirnov test on one region
    first_region = p_peak[:: len(RANKS)]
    assert stats.kstest(first_region, "uniform").pvalue > 0.01
    assert 0.4 < np.mean(p_peak < 0.5) < 0.6


def test_pairing_removes_the_channel_variance_both_models_share():
    # A channel effect 20 times the noise, common to both models, and B 0.03 below A:
    # only resampling the same channels for both models finds so small a difference.
    a, b = model_pair(noise=0.005, channel_sd=0.1)
    b["r"] = a["r"] - 0.03 + np.random.default_rng(1).normal(0, 0.005, a["r"].shape)
    cell = paired_comparison(a, b, method="encoding", **FAST).isel(band=0, window=0)
    visual = cell.sel(region=[f"R{k}" for k in RANKS])
    np.testing.assert_allclose(visual["peak_score_difference"], 0.03, atol=0.01)
    assert (visual["peak_score_difference_low"] > 0.01).all()
    assert (
        visual["peak_score_difference_high"] - visual["peak_score_difference_low"] < 0.02
    ).all()
    assert (visual["peak_score_difference_p"] < 0.05).all()


def test_observed_values_are_the_gradients_even_across_architectures():
    a, b = model_pair(layers=(7, 4), reversed_b=True, n_band=2, n_window=2, noise=0.1)
    result = paired_comparison(a, b, method="encoding", **FAST)
    assert result.attrs["layer_axis"] == "relative depth"
    for scores, name in ((a, "a"), (b, "b")):
        gradient = gradient_statistics(scores, method="encoding", n_bootstrap=2, n_permutations=2)
        np.testing.assert_allclose(
            result[f"peak_score_{name}"],
            gradient["score"].max("layer").transpose("region", "band", "window"),
        )
        np.testing.assert_allclose(
            result[f"region_alignment_rho_{name}"], gradient["region_alignment_rho"]
        )
    np.testing.assert_allclose(
        result["peak_score_difference"], result["peak_score_a"] - result["peak_score_b"]
    )
    same = paired_comparison(a, a.copy(), method="encoding", **FAST)
    assert same.attrs["layer_axis"] == "shared layers"
    # a model against itself: no difference, nothing significant
    np.testing.assert_array_equal(same["peak_score_difference"], 0)
    assert (same["peak_score_difference_p"] == 1).all()


def test_deterministic_for_a_seed_and_independent_of_chunking(monkeypatch):
    a, b = model_pair(n_band=2, n_window=3, noise=0.2)
    first = paired_comparison(a, b, method="encoding", seed=3, **FAST)
    xr.testing.assert_identical(first, paired_comparison(a, b, method="encoding", seed=3, **FAST))
    other = paired_comparison(a, b, method="encoding", seed=4, **FAST)
    assert not np.array_equal(
        first["peak_score_difference_low"], other["peak_score_difference_low"]
    )
    xr.testing.assert_identical(first["peak_score_difference"], other["peak_score_difference"])
    # memory-bounded chunks of a few draws give the same numbers, up to BLAS rounding
    monkeypatch.setattr(paired_module, "_CHUNK_ELEMENTS", 100)
    xr.testing.assert_allclose(
        first, paired_comparison(a, b, method="encoding", seed=3, **FAST), rtol=1e-12
    )


def test_subject_swaps_have_few_distinct_outcomes():
    # 4 subjects give 16 swaps, half of them mirror images: no p below 2/16
    a, b = model_pair(amplitude_b=0.1, reversed_b=True, n_subjects=4)
    by_subject = paired_comparison(a, b, method="encoding", exchange="subject", **FAST)
    by_channel = paired_comparison(a, b, method="encoding", exchange="channel", **FAST)
    assert (by_subject["peak_score_difference_p"].sel(region="R1") > 0.1).all()
    assert (by_channel["peak_score_difference_p"].sel(region="R1") == 1 / 200).all()
    # the bootstrap does not depend on what the permutation swaps
    xr.testing.assert_identical(
        by_subject["peak_score_difference_low"], by_channel["peak_score_difference_low"]
    )


def _drop_channel(scores):
    return scores.isel(channel=slice(1, None))


def _move_channel(scores):
    region = scores["region"].to_numpy().copy()
    region[0] = "R9"
    return scores.assign_coords(region=("channel", region))


@pytest.mark.parametrize(
    "change, match",
    [
        (_drop_channel, r"channels of 'A' and 'B' differ: only 'A' has \['ch0'\]"),
        (_move_channel, r"give channel\(s\) \['ch0'\] a different 'region'"),
        (lambda s: s.assign_coords(band=["b9"]), r"bands of 'A' and 'B' differ.*\['b9'\]"),
        (lambda s: s.drop_vars("r"), r"lacks variable\(s\) \['r'\]"),
    ],
)
def test_mismatched_models_refused_by_name(change, match):
    a, b = model_pair()
    with pytest.raises((ValueError, KeyError), match=match):
        paired_comparison(a, change(b), method="encoding", **FAST)


def test_channels_in_another_order_are_matched_by_name():
    a, b = model_pair(reversed_b=True)
    shuffled = b.isel(channel=np.random.default_rng(0).permutation(b.sizes["channel"]))
    xr.testing.assert_identical(
        paired_comparison(a, b, method="encoding", **FAST),
        paired_comparison(a, shuffled, method="encoding", **FAST),
    )


def test_mismatched_stimuli_and_settings_refused():
    a, b = model_pair()
    with pytest.raises(ValueError, match=r"stimuli of 'A' and 'B' differ: only 'A' has \['s3'\]"):
        paired_comparison(
            a, b, method="encoding", stimulus_ids=(["s1", "s2", "s3"], ["s1", "s2"]), **FAST
        )
    with pytest.raises(ValueError, match="exchange must be one of"):
        paired_comparison(a, b, method="encoding", exchange="trial")
    with pytest.raises(ValueError, match="n_permutations must be a positive integer"):
        paired_comparison(a, b, method="encoding", n_permutations=0)


def test_model_pairs_put_the_trained_model_first():
    models = ["alexnet", "net_random", "net"]
    control_of = {"net_random": "net"}
    assert model_pairs(models, "all", control_of=control_of) == [
        ("alexnet", "net_random"),
        ("alexnet", "net"),
        ("net", "net_random"),
    ]
    assert model_pairs(models, "controls", control_of=control_of) == [("net", "net_random")]
    explicit = [["net", "alexnet"], ["vgg", "net"]]
    assert model_pairs(models, explicit, configured=[*models, "vgg"]) == [("net", "alexnet")]
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['vgg'\]"):
        model_pairs(models, explicit)
    with pytest.raises(ValueError, match="not a pair of two distinct models"):
        model_pairs(models, [["net", "net"]])


def test_compare_models_table_and_artefact(tmp_path):
    a, b = model_pair(amplitude_b=0.2, reversed_b=True, n_band=2, n_window=2)
    _, c = model_pair(seed=5, layers=(6, 4), n_band=2, n_window=2)
    scores = {"A": a, "B": b, "C": c}
    pairs = [("A", "B"), ("A", "C")]
    comparisons = compare_models(scores, pairs, method="encoding", dataset="toy", **FAST)
    assert list(comparisons["pair"].values) == ["A - B", "A - C"]
    assert list(comparisons["layer_axis"].values) == ["shared layers", "relative depth"]
    # every pair is the paired comparison of its own two models, with the same draws
    alone = paired_comparison(a, c, method="encoding", **FAST)
    xr.testing.assert_equal(
        comparisons["peak_score_difference_p"].sel(pair="A - C", drop=True),
        alone["peak_score_difference_p"],
    )
    write_netcdf(comparisons, tmp_path / "comparisons_encoding.nc")
    comparisons = read_dataset(tmp_path / "comparisons_encoding.nc")
    assert comparisons.attrs["method"] == "encoding" and comparisons.attrs["dataset"] == "toy"

    table = comparison_table({("toy", "encoding"): comparisons})
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    # per pair, band and window: six regions, then the alignment
    assert len(table) == 2 * 2 * 2 * 7
    first = table.iloc[:7]
    assert list(first["region"]) == ["R1", "R2", "R3", "R4", "R5", "ctrl", ""]
    assert list(first["statistic"]) == ["peak_score"] * 6 + ["region_alignment_rho"]
    row = table[
        (table["model_b"] == "B") & (table["band"] == "b1") & (table["window"] == "w0")
    ].iloc[-1]
    cell = comparisons.sel(pair="A - B", band="b1", window="w0")
    assert row["difference"] == pytest.approx(float(cell["region_alignment_rho_difference"]))
    assert row["p"] == pytest.approx(float(cell["region_alignment_rho_difference_p"]))
    assert row["value_a"] == pytest.approx(1.0)
    assert pd.isna(row["fmin"])
    with pytest.raises(KeyError, match=r"no scores of model\(s\) \['D'\]"):
        compare_models(scores, [("A", "D")], method="encoding")
    assert comparison_table({}).columns.tolist() == list(COMPARISON_COLUMNS)


def test_comparisons_drawn_in_the_model_comparison_figure(tmp_path):
    from brainnet.plots.results import plot_model_comparison

    a, b = model_pair(amplitude_b=0.2, reversed_b=True, n_band=2, n_window=2)
    comparisons = compare_models({"A": a, "B": b}, [("A", "B")], method="encoding", **FAST)
    gradients = {
        name: gradient_statistics(scores, method="encoding", **FAST)
        for name, scores in (("A", a), ("B", b))
    }
    fig = plot_model_comparison(
        gradients, tmp_path / "models.png", statistic="region_rho", comparisons=comparisons
    )
    assert (tmp_path / "models.png").stat().st_size > 0
    # below the models' alignment, one panel of differences per window
    differences = [ax for ax in fig.axes if ax.figure is fig.subfigs[1]]
    assert [ax.get_title() for ax in differences] == ["w0", "w1"]
    assert "Δ alignment" in differences[0].get_ylabel()
    points = differences[0].collections[-1]
    np.testing.assert_allclose(
        points.get_offsets()[:, 1],
        comparisons["region_alignment_rho_difference"].isel(pair=0, window=0),
    )
    # significant differences are filled, others white
    significant = comparisons["region_alignment_rho_difference_p"].isel(pair=0, window=0) < 0.05
    filled = points.get_facecolors()[:, :3].sum(axis=1) < 3
    np.testing.assert_array_equal(filled, significant)
    maps = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in maps] == ["A − B\n(encoding)"]
    dots = maps[0].collections[-1].get_offsets()
    assert len(dots) == int((comparisons["peak_score_difference_p"] < 0.05).sum())
    with pytest.raises(ValueError, match="band labels of 'the encoding comparisons'"):
        plot_model_comparison(gradients, comparisons=comparisons.isel(band=[0]))
