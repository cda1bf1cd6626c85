"""One small end-to-end run of the Snakemake workflow on the embedded synthetic dataset."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--cores", "2"]

# The default run, reduced to keep the test quick: fewer images, subjects and resamples.
# Planted from the trained network, analysed by it and its random control (the default
# run adds untrained AlexNet).
TRAINED, CONTROL = "efficientnet_lite0", "efficientnet_lite0_random"
SMALL = {
    "seed": 0,
    "datasets": {
        "synthetic": {
            "stimuli": {"source": "embedded", "n_per_category": 30},
            "recordings": {"format": "synthetic", "reference_model": TRAINED, "n_subjects": 4},
            "analyses": ["encoding", "rsa", "cka"],
        }
    },
    "models": {
        TRAINED: {"arch": "efficientnet_lite0", "weights": "DEFAULT", "control": "random"},
    },
    # 250: the fewest with which the tail fit resolves p below the permutation floor
    "encoding": {"n_permutations": 250},
    "rsa": {"n_permutations": 1000, "stopping": "besag_clifford"},
    "gradient": {"n_bootstrap": 200, "n_permutations": 200},
    # the trained network against its random control at the same depth
    "partition": {"pairs": [[f"{TRAINED}/stage4", f"{CONTROL}/stage4"]], "n_bootstrap": 50},
}


def _snakemake(workdir, *args, check=True):
    result = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="module")
def run(tmp_path_factory, copy_workflow):
    """A copy of the workflow, run once on the reduced config."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    (workdir / "small.yaml").write_text(yaml.safe_dump(SMALL))
    _snakemake(workdir, "--configfile", "small.yaml")
    return workdir


def _planted_band(frame):
    """Rows of the planted band (the simulation drives 30-150 Hz) at 150-350 ms."""
    return frame[(frame["band"] == "high_gamma") & (frame["window"] == "150-350")]


@pytest.mark.slow
def test_planted_gradient_is_recovered(run):
    summary = pd.read_csv(run / "results" / "summary.csv")
    encoding = summary[(summary["model"] == TRAINED) & (summary["method"] == "encoding")]
    row = _planted_band(encoding).iloc[0]
    # the gradient of the reference network in the planted band
    assert row["region_alignment_rho"] >= 0.8
    assert row["region_alignment_rho_low"] > 0
    # every visual region's best layer is its planted generating layer
    assert row["n_recovered"] == row["n_planted"] == 5
    # an unplanted band carries no gradient: its interval includes 0
    alpha = encoding[encoding["band"] == "alpha"]
    assert (alpha["region_alignment_rho_low"].fillna(-1) <= 0).all()


@pytest.mark.slow
def test_random_control_aligns_less_than_the_trained_network(run):
    """The reference study's contrast: the same architecture with random weights does not
    find the planted layers; the paired interval of the difference excludes 0."""
    summary = _planted_band(pd.read_csv(run / "results" / "summary.csv"))
    rho = summary[summary["method"] == "encoding"].set_index("model")["region_alignment_rho"]
    # NaN: the control has too few regions with a significant match for an alignment
    assert np.isnan(rho[CONTROL]) or rho[CONTROL] < rho[TRAINED] - 0.5
    assert rho[TRAINED] >= 0.8
    pairs = _planted_band(pd.read_csv(run / "results" / "comparisons.csv"))
    pair = pairs[
        (pairs["method"] == "encoding")
        & (pairs["model_a"] == TRAINED)
        & (pairs["model_b"] == CONTROL)
    ]
    alignment = pair[pair["statistic"] == "region_alignment_rho"].iloc[0]
    assert alignment["difference"] > 0.5 and alignment["low"] > 0 and alignment["p"] < 0.05
    # The trained features explain every region beyond V1 better than random ones do;
    # in the control regions, which do not respond, neither model is better.
    peaks = pair[pair["statistic"] == "peak_score"].set_index("region")
    visual = ["V2", "V3-V4", "fusiform-IT", "anterior-temporal"]
    assert (peaks.loc[visual, "low"] > 0).all(), peaks.loc[visual]
    controls = peaks.loc[["frontal", "motor"]]
    assert ((controls["low"] <= 0) & (controls["high"] >= 0)).all(), controls
    # the control runs through every stage and is drawn beside the trained network
    figures = run / "results" / "synthetic" / CONTROL / "figures"
    assert (figures / "heatmap_encoding.png").stat().st_size
    assert (run / "results" / "synthetic" / "figures" / "model_comparison.png").stat().st_size


@pytest.mark.slow
def test_cka_recovers_the_planted_gradient(run):
    """CKA, the third method, runs through every stage: its gradient in the planted band,
    its figures, its rows in the summary; no paired comparison or glass brain (region level)."""
    summary = _planted_band(pd.read_csv(run / "results" / "summary.csv"))
    rows = summary[summary["method"] == "cka"].set_index("model")
    assert set(rows.index) == {TRAINED, CONTROL}
    trained = rows.loc[TRAINED]
    assert trained["region_alignment_rho"] > 0.5 and trained["region_alignment_rho_p"] < 0.05
    assert trained["n_covered"] >= 4 and trained["n_planted"] == 5
    figures = run / "results" / "synthetic" / TRAINED / "figures"
    for name in ("heatmap_cka.png", "gradient_cka.png", "recovery_cka.png"):
        assert (figures / name).stat().st_size
    assert not (figures / "glass_brain_cka.png").exists()
    assert not (run / "results" / "synthetic" / "comparisons_cka.nc").exists()


@pytest.mark.slow
def test_control_contacts_are_not_significant(run):
    import xarray as xr

    scores = xr.open_dataset(run / "results" / "synthetic" / TRAINED / "encoding.nc")
    significant = scores["significant"].any("layer")
    control = significant.sel(channel=scores["region_rank"] == 0)
    visual = significant.sel(channel=scores["region_rank"] > 0)
    # Most visual contacts, not all: each subject's contacts carry the drive with
    # gains and noise of their own, and FDR runs over every layer, band and window
    # (62 % significant on the default run, 56 % at this size; controls under 1 %).
    assert float(visual.sel(band="high_gamma", window="150-350").mean()) > 0.5
    assert float(control.mean()) <= 0.05


@pytest.mark.slow
def test_region_level_rsa_reports_ties_ceilings_and_net2brain_columns(run):
    import xarray as xr

    from brainnet.report import REGION_COLUMNS

    results = run / "results" / "synthetic" / TRAINED
    summary = _planted_band(pd.read_csv(run / "results" / "summary.csv"))
    row = summary[(summary["method"] == "rsa_region") & (summary["model"] == TRAINED)].iloc[0]
    # the planted layers are preferred or among the tied ones, and the gradient is detected
    assert row["n_covered"] >= 4 and row["n_planted"] == 5
    assert row["region_alignment_rho"] > 0 and row["region_alignment_rho_p"] < 0.05
    assert row["noise_ceiling_lower_V1"] < row["noise_ceiling_upper_V1"]
    # the region table: brainnet's statistics, both noise ceilings, Net2Brain's columns
    table = pd.read_csv(results / "rsa_region.csv")
    assert list(table.columns[6:]) == list(REGION_COLUMNS)
    scores = xr.open_dataset(results / "rsa_region.nc")
    cell = scores.sel(region="V1", band="high_gamma", window="150-350", layer="stem")
    r2 = float((cell["subject_rho"] ** 2).mean())
    line = table[(table["region"] == "V1") & (table["layer"] == "stem")]
    line = line[(line["band"] == "high_gamma") & (line["window"] == "150-350")].iloc[0]
    assert line["r2"] == pytest.approx(r2)
    assert line["r2_percent"] == pytest.approx(r2 / line["net2brain_noise_ceiling_lower"] * 100)
    for name in ("layer_similarity", "heatmap_rsa_region", "gradient_rsa_region"):
        assert (results / "figures" / f"{name}.png").stat().st_size
    # the layer similarity diagnostic: in the random control neighbouring layers
    # nearly share their RDM (no RSA can tell them apart); training separates them
    adjacent = {
        model: xr.open_dataset(run / "results" / "synthetic" / model / "layer_similarity.nc")[
            "adjacent"
        ]
        for model in (TRAINED, CONTROL)
    }
    assert float(adjacent[CONTROL].max()) > 0.95
    assert float(adjacent[CONTROL].mean()) > float(adjacent[TRAINED].mean()) + 0.1


@pytest.mark.slow
def test_outputs_figures_and_report(run, tmp_path):
    results = run / "results"
    for name in (
        "heatmap_encoding",
        "heatmap_rsa",
        "gradient_encoding",
        "recovery_encoding",
        "glass_brain_encoding",
        "glass_brain_rsa",
    ):
        assert (results / "synthetic" / TRAINED / "figures" / f"{name}.png").stat().st_size
    assert (results / "synthetic" / "figures" / "single_trials.png").stat().st_size
    assert (results / "synthetic" / "figures" / "partition.png").stat().st_size
    partition = xr.open_dataset(results / "synthetic" / "partition.nc")
    assert list(partition["feature_b"].values) == [f"{CONTROL}/stage4"]
    assert np.isfinite(partition["unique_a"]).all()
    assert "<th>region_alignment_rho</th>" in (results / "summary.html").read_text()
    report = tmp_path / "report.html"
    _snakemake(run, "--configfile", "small.yaml", "--report", str(report))
    assert report.stat().st_size > 10_000


@pytest.mark.slow
def test_report_is_readable_on_a_laptop(run, tmp_path):
    """Title, first paragraph and every figure's top in view at 1366 x 768 and 1920 x 1080."""
    import report_browser

    if report_browser.CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    # the workflow profile passes the report stylesheet, as in the project folder
    shutil.copytree(ROOT / "profiles", run / "profiles", dirs_exist_ok=True)
    report = tmp_path / "report.html"
    _snakemake(run, "--configfile", "small.yaml", "--report", str(report))
    for size in report_browser.SIZES:
        measured = report_browser.measure(report, size)
        views = measured["views"]
        assert "results/summary.html" in views  # the summary is a table in the page
        assert f"results/synthetic/{TRAINED}/figures/glass_brain_encoding.png" in views
        assert report_browser.layout_problems(measured) == [], size
    # without the stylesheet, Snakemake's layout cuts off the top of tall figures
    plain = tmp_path / "plain.html"
    _snakemake(
        run, "--configfile", "small.yaml", "--report", str(plain), "--workflow-profile", "none"
    )
    assert report_browser.layout_problems(report_browser.measure(plain, (1366, 768)))


@pytest.mark.slow
def test_rerun_does_nothing_and_a_new_model_adds_only_its_jobs(run):
    assert "Nothing to be done" in _snakemake(run, "--configfile", "small.yaml", "-n").stdout
    config = dict(SMALL, models={**SMALL["models"], "tiny": {"arch": "squeezenet1_0"}})
    (run / "more.yaml").write_text(yaml.safe_dump(config))
    plan = _snakemake(run, "--configfile", "more.yaml", "-n").stdout
    jobs = dict(
        line.split()
        for line in plan.split("Job stats:")[1].splitlines()[3:]
        if len(line.split()) == 2 and line.split()[1].isdigit()
    )
    assert jobs["activations"] == "1" and jobs["encoding"] == "1" and jobs["rsa"] == "1"
    assert jobs["rsa_region"] == "1" and jobs["cka"] == "1" and jobs["layer_similarity"] == "1"
    for rule in ("stimuli", "simulate", "subject_responses", "responses"):
        assert rule not in jobs


def test_misspelt_config_key_stops_the_run_naming_it(tmp_path, copy_workflow):
    copy_workflow(tmp_path)
    bad = dict(SMALL, extraction={"batch_sise": 8})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = _snakemake(tmp_path, "--configfile", "bad.yaml", "-n", check=False)
    assert result.returncode != 0
    assert "'batch_sise' was unexpected" in result.stderr + result.stdout


def test_an_override_file_alone_stops_with_a_short_hint(tmp_path, copy_workflow):
    copy_workflow(tmp_path)
    (tmp_path / "override.yaml").write_text(yaml.safe_dump({"gradient": {"n_bootstrap": 100}}))
    result = _snakemake(tmp_path, "--configfile", "override.yaml", "-n", check=False)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "'datasets' is a required property" in output
    assert "--configfile config/config.yaml override.yaml" in output
    assert len(output.splitlines()) < 20  # not the whole schema
