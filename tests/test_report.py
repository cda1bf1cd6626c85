"""Run summary table and report captions."""

import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from docutils.core import publish_parts

from brainnet.report import SUMMARY_COLUMNS, summary_table, write_summary, write_summary_page

REPORT = Path(__file__).resolve().parents[1] / "workflow" / "report"
LAYERS = ["pixels", "conv1", "conv2"]


def toy_gradient(regions, preferred, tau):
    """Gradient over one band and two windows; ``preferred`` is (region, window) layer index."""
    bw = ("band", "window")
    data = {"n_pairs": (bw, [[12, 30]]), "n_preferred": (bw, [[5, 9]])}
    for stat, values in (
        ("alignment_tau", tau),
        ("alignment_rho", [v / 2 for v in tau]),
        ("region_alignment_rho", [v / 4 for v in tau]),
    ):
        data[stat] = (bw, [values])
        data[f"{stat}_low"] = (bw, [[v - 0.1 for v in values]])
        data[f"{stat}_high"] = (bw, [[v + 0.1 for v in values]])
        data[f"{stat}_p"] = (bw, [[0.001, 0.2]])
    data["preferred_layer"] = (
        ("region", "band", "window"),
        np.array(preferred, float)[:, None, :],
    )
    # each preferred layer is tied only to itself
    tied = np.arange(len(LAYERS))[:, None, None] == np.array(preferred)[None]
    data["tied"] = (("layer", "region", "band", "window"), tied[:, :, None, :])
    return xr.Dataset(
        data,
        coords={
            "layer": LAYERS,
            "layer_index": ("layer", [0, 1, 2]),
            "region": list(regions),
            "region_rank": ("region", list(regions.values())),
            "band": ["low_gamma"],
            "fmin": ("band", [30.0]),
            "fmax": ("band", [70.0]),
            "window": ["50-250", "150-350"],
            "tmin": ("window", [0.05, 0.15]),
            "tmax": ("window", [0.25, 0.35]),
        },
    )


@pytest.fixture
def gradients():
    synthetic = toy_gradient({"V1": 1, "IT": 2}, [[1, 0], [2, np.nan]], tau=[0.5, -0.25])
    sparse = toy_gradient(
        {"V1": 1, "V4": 2, "hippocampus": 0}, [[0, 0], [1, 2], [2, 2]], tau=[0.1, 0.2]
    )
    return {
        ("synthetic", "alexnet", "encoding"): synthetic,
        ("sparse", "alexnet", "rsa"): sparse,
    }


def test_summary_columns_and_values(gradients):
    summary = summary_table(gradients)
    names = ["V1", "IT", "V4", "hippocampus"]
    regions = [f"{kind}_{r}" for kind in ("best_layer", "tied_layers") for r in names]
    assert list(summary.columns) == [*SUMMARY_COLUMNS, *regions]
    assert len(summary) == 4
    first = summary.iloc[0]
    assert (first["dataset"], first["model"], first["method"]) == (
        "synthetic",
        "alexnet",
        "encoding",
    )
    assert (first["band"], first["window"]) == ("low_gamma", "50-250")
    assert (first["fmin"], first["fmax"], first["tmin"], first["tmax"]) == (30, 70, 0.05, 0.25)
    assert first["alignment_tau"] == 0.5
    assert first["alignment_tau_low"] == pytest.approx(0.4)
    assert first["alignment_tau_high"] == pytest.approx(0.6)
    assert first["alignment_tau_p"] == 0.001
    assert first["alignment_rho"] == 0.25
    assert first["n_pairs"] == 12 and first["n_preferred"] == 5
    assert (first["best_layer_V1"], first["best_layer_IT"]) == ("conv1", "conv2")
    # A region the gradient lacks, and a region without a finite score, stay empty.
    assert pd.isna(first["best_layer_V4"])
    second = summary.iloc[1]
    assert second["window"] == "150-350"
    assert second["best_layer_V1"] == "pixels" and pd.isna(second["best_layer_IT"])
    last = summary.iloc[3]
    assert (last["method"], last["best_layer_V4"], last["best_layer_hippocampus"]) == (
        "rsa",
        "conv2",
        "conv2",
    )
    assert "n_recovered" not in summary


def test_summary_counts_recovered_regions(gradients):
    planted = {("synthetic", "alexnet"): {"V1": "conv1", "IT": "conv2"}}
    summary = summary_table(gradients, planted=planted)
    assert list(summary["n_recovered"][:2]) == [2, 0]  # window 2: V1 is pixels, IT has none
    assert list(summary["n_covered"][:2]) == [2, 0]
    assert list(summary["n_planted"][:2]) == [2, 2]
    # in window 2 the data cannot tell V1's pixels from conv1: the plant is covered
    tied = gradients[("synthetic", "alexnet", "encoding")].copy(deep=True)
    tied["tied"].loc[{"layer": "conv1", "region": "V1", "window": "150-350"}] = True
    summary = summary_table({("synthetic", "alexnet", "encoding"): tied}, planted=planted)
    assert summary["tied_layers_V1"].tolist() == ["conv1", "pixels conv1"]
    assert pd.isna(summary["tied_layers_IT"][1])  # no significant match, no tie
    assert list(summary["n_recovered"]) == [2, 0] and list(summary["n_covered"]) == [2, 1]
    assert summary["n_recovered"][2:].isna().all()  # no ground truth for 'sparse'
    with pytest.raises(ValueError, match=r"planted layers \['fc9'\]"):
        summary_table(gradients, planted={("synthetic", "alexnet"): {"V1": "fc9"}})


def test_write_summary_round_trip(gradients, tmp_path):
    summary = summary_table(gradients, planted={("synthetic", "alexnet"): {"V1": "conv1"}})
    path = write_summary(summary, tmp_path / "results" / "summary.csv")
    assert path == tmp_path / "results" / "summary.csv"
    assert [p.name for p in path.parent.iterdir()] == ["summary.csv"]  # no temporary left
    back = pd.read_csv(path)
    assert list(back.columns) == list(summary.columns)
    np.testing.assert_allclose(back["alignment_tau"], summary["alignment_tau"])
    assert list(back["n_recovered"].fillna(-1)) == [1, 0, -1, -1]
    assert list(back["best_layer_V1"]) == list(summary["best_layer_V1"])


def test_summary_page_is_the_table_with_named_statistics(gradients, tmp_path):
    summary = summary_table(gradients)
    path = write_summary_page(summary, tmp_path / "summary.html")
    assert [p.name for p in tmp_path.iterdir()] == ["summary.html"]
    page = path.read_text()
    header = re.findall(r"<th>(.*?)</th>", page)
    assert sorted(header) == sorted(summary.columns)
    # the recommended statistic right after what the row is about
    assert header[:6] == ["dataset", "model", "method", "correction", "band", "window"]
    assert header[6:10] == [f"region_alignment_rho{s}" for s in ("", "_low", "_high", "_p")]
    assert page.count("<tr") == len(summary) + 1
    assert "<code>region_alignment_rho</code>: region-level ρ (recommended)" in page
    assert "<code>alignment_rho</code>: channel-level ρ" in page
    assert "<code>alignment_tau</code>: pair-level τ" in page
    assert f"<td>{summary['alignment_tau'].iloc[0]:.3g}</td>" in page


def test_summary_refuses_bad_input(gradients):
    gradient = next(iter(gradients.values()))
    with pytest.raises(ValueError, match="dataset, model, method"):
        summary_table({("synthetic", "alexnet"): gradient})
    with pytest.raises(KeyError, match=r"\('synthetic', 'alexnet', 'encoding'\) lacks"):
        summary_table({("synthetic", "alexnet", "encoding"): gradient.drop_vars("n_pairs")})


@pytest.mark.parametrize("caption", sorted(p.name for p in REPORT.glob("*.rst")))
def test_report_captions_render(caption):
    # Render as Snakemake does: jinja2 with these options, then docutils to HTML;
    # any reStructuredText warning fails.
    snakemake = SimpleNamespace(
        wildcards=SimpleNamespace(dataset="synthetic", model="alexnet", method="rsa"),
        config={
            "seed": 3,
            "datasets": {"synthetic": {}, "kuzovkin": {}},
            "models": {"alexnet": {}},
            "gradient": {"n_bootstrap": 1000, "n_permutations": 500, "ci": 0.9},
        },
    )
    env = jinja2.Environment(
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined
    )
    text = env.from_string((REPORT / caption).read_text()).render(snakemake=snakemake)
    html = publish_parts(
        text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2}
    )["body"]
    assert len(html) > 200
    if caption == "workflow.rst":
        assert "synthetic, kuzovkin" in html and "500 permutations" in html and "90 %" in html
    elif caption != "summary.rst":
        assert "synthetic" in html


def test_summary_carries_region_level_noise_ceilings(gradients):
    region = gradients[("synthetic", "alexnet", "encoding")].assign(
        noise_ceiling_lower=(("region", "band", "window"), [[[0.1, 0.2]], [[0.3, np.nan]]]),
        noise_ceiling_upper=(("region", "band", "window"), [[[0.4, 0.5]], [[0.6, np.nan]]]),
    )
    summary = summary_table({**gradients, ("synthetic", "alexnet", "rsa_region"): region})
    rows = summary[summary["method"] == "rsa_region"]
    assert rows["noise_ceiling_lower_V1"].tolist() == [0.1, 0.2]
    assert rows["noise_ceiling_upper_IT"].iloc[0] == 0.6 and pd.isna(
        rows["noise_ceiling_upper_IT"].iloc[1]
    )
    assert summary.loc[summary["method"] == "encoding", "noise_ceiling_lower_V1"].isna().all()


def test_region_table_has_one_row_per_region_layer_band_and_window():
    from brainnet import rsa
    from brainnet.report import REGION_COLUMNS, region_table

    rng = np.random.default_rng(0)
    ids = [f"img{i}" for i in range(12)]
    activations = xr.Dataset(
        {name: (("stimulus", f"feature_{name}"), rng.normal(size=(12, 4))) for name in LAYERS},
        coords={"stimulus_id": ("stimulus", ids)},
        attrs={"layers": LAYERS},
    )
    rdms = np.stack([rsa.compute_rdm(rng.normal(size=(12, 3))) for _ in range(6)])
    brain = xr.Dataset(
        {"rdm": (("channel", "stimulus", "stimulus_other"), rdms)},
        coords={
            "stimulus_id": ("stimulus", ids),
            "channel": [f"c{i}" for i in range(6)],
            "subject": ("channel", ["s1", "s2", "s3"] * 2),
            "region": ("channel", ["EVC"] * 3 + ["IT"] * 3),
            "region_rank": ("channel", [1] * 3 + [2] * 3),
        },
    )
    scores = rsa.rsa_precomputed(activations, brain, level="region", n_permutations=20)
    table = region_table(scores)
    assert len(table) == 2 * len(LAYERS)
    assert list(table.columns[:6]) == [
        "region",
        "region_rank",
        "layer",
        "layer_index",
        "band",
        "window",
    ]
    assert list(table.columns[6:]) == list(REGION_COLUMNS)
    row = table[(table["region"] == "IT") & (table["layer"] == "conv1")].iloc[0]
    cell = scores.sel(region="IT", layer="conv1", band="broadband", window="all")
    for name in (
        "rho",
        "r2",
        "r2_percent",
        "noise_ceiling_lower",
        "net2brain_noise_ceiling_upper",
    ):
        assert row[name] == pytest.approx(float(cell[name]))
    assert row["r2"] == pytest.approx(np.mean(cell["subject_rho"].values ** 2))
    with pytest.raises(KeyError, match="region-level RSA scores"):
        region_table(scores.drop_vars("r2"))


def test_summary_names_the_correction_behind_the_significance(gradients):
    key = next(iter(gradients))
    gradients[key].attrs["correction"] = "maxstat"
    summary = summary_table(gradients)
    rows = (summary["dataset"] == key[0]) & (summary["model"] == key[1])
    assert (summary.loc[rows, "correction"] == "maxstat").all()
    assert (summary.loc[~rows, "correction"] == "fdr").all()  # files without the attribute
