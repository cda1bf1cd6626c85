"""The ready configs of ``config/examples`` on the real public data, end to end.

Each test runs Snakemake on the example config file itself (``--configfile
config/examples/<name>.yaml``) in a temporary working directory, with a
second config file of overrides that only shrink the cost (fewer permutations,
fewer bootstrap samples, one model), then checks the science of what it wrote. The
second half feeds the loaders data that do not belong together (a missing
image, the wrong session's images, a wrong data folder) and checks that the
error names the files and the ids at fault.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr
from sklearn.preprocessing import StandardScaler

from brainnet.datasets import array_responses, brain_rdms, planted_layers
from brainnet.io import read_dataset
from brainnet.rsa import noise_ceiling
from brainnet.stimuli import build_stimuli

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "config" / "examples"
# Bootstrap and permutation counts of the gradient stage: enough for a CI, cheap.
SMALL_GRADIENT = {"gradient": {"n_bootstrap": 200, "n_permutations": 200}}


def run_workflow(configfile, workdir, data, *, overrides=None, targets=()):
    """Run the project's Snakefile on ``configfile`` in ``workdir``.

    ``data`` is the data folder (``BRAINNET_DATA``); results land under
    ``workdir/results``. ``overrides`` (a dict) is written to a second config
    file that Snakemake merges over the first: ``--config`` would pass nested
    values as strings. Returns the completed process (not checked).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    configfiles = [str(configfile)]
    if overrides:
        configfiles.append(str(workdir / "overrides.yaml"))
        (workdir / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--configfile",
        *configfiles,
    ]
    return subprocess.run(
        command,
        env={**os.environ, "BRAINNET_DATA": str(data)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def example(name):
    """The example config file ``config/examples/<name>.yaml``."""
    return EXAMPLES / f"{name}.yaml"


def check_run(process):
    """Fail with the end of Snakemake's log when the run failed."""
    assert process.returncode == 0, process.stderr[-5000:]


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_cowley_v4_middle_layers_beat_pixels(shared_data, tmp_path):
    """Issue 4: on macaque V4, the middle conv layers of untrained AlexNet predict
    held-out responses better than pixels, below the split-half noise ceiling."""
    check_run(
        run_workflow(
            example("cowley_v4"),
            tmp_path,
            shared_data,
            overrides={
                "encoding": {"n_permutations": 20},
                "datasets": {"cowley_210325": {"models": ["alexnet"]}},
                **SMALL_GRADIENT,
            },
        )
    )
    out = tmp_path / "results" / "cowley_v4"
    scores = read_dataset(out / "cowley_210325" / "alexnet" / "encoding.nc")
    assert scores.sizes["channel"] == 50 and set(scores["region"].values) == {"V4"}
    median = scores["r"].squeeze(("band", "window"), drop=True).median("channel")
    middle = median.sel(layer=["conv2", "conv3", "conv4"])
    assert (middle > median.sel(layer="pixels") + 0.05).all(), median.to_series()
    assert median.max() < 0.9  # spike counts are noisy: no layer predicts them perfectly
    # The raw repeats of this session give every unit a split-half reliability,
    # whose square root bounds the correlation a model can reach.
    ceiling = scores["noise_ceiling"].values
    assert np.isfinite(ceiling).all() and 0 < np.median(ceiling) <= 1
    assert float(median.max()) < np.median(np.sqrt(ceiling))
    summary = pd.read_csv(out / "summary.csv")
    assert summary[["dataset", "model", "method"]].values.tolist() == [
        ["cowley_210325", "alexnet", "encoding"]
    ]
    for figure in ("heatmap_encoding.png", "gradient_encoding.png"):
        assert (out / "cowley_210325" / "alexnet" / "figures" / figure).stat().st_size > 0


@pytest.mark.slow
def test_algonauts78_rsa_and_noise_ceilings(shared_data, tmp_path):
    """EVC and IT RDMs of 15 subjects load; RSA rho is the Spearman correlation of
    the layer's Euclidean RDM with each subject's RDM; noise ceilings are sensible."""
    check_run(
        run_workflow(
            example("algonauts78"),
            tmp_path,
            shared_data,
            overrides={
                "rsa": {"n_permutations": 200},
                "datasets": {"algonauts78": {"models": ["alexnet"]}},
                **SMALL_GRADIENT,
            },
        )
    )
    out = tmp_path / "results" / "algonauts78" / "algonauts78"
    rdms = read_dataset(out / "brain_rdms.nc")
    subjects = pd.Series(rdms["subject"].values).groupby(rdms["region"].values).nunique()
    assert subjects.to_dict() == {"EVC": 15, "IT": 15}
    ranks = dict(zip(rdms["region"].values, rdms["region_rank"].values, strict=True))
    assert ranks["EVC"] < ranks["IT"]
    ceilings = {}
    for region in ("EVC", "IT"):
        group = rdms["rdm"].where(rdms["region"] == region, drop=True)
        lower, upper = noise_ceiling(group.values, group["subject"].values)
        assert 0 < lower < upper <= 1, (region, lower, upper)
        ceilings[region] = upper
    scores = read_dataset(out / "alexnet" / "rsa.nc")
    rho = scores["rho"].squeeze(("band", "window"), drop=True)
    assert np.isfinite(rho.values).all()
    assert (scores["n_permutations"] == 200).all()
    # No layer can beat the subjects' agreement with their own group mean.
    for region, upper in ceilings.items():
        assert float(abs(rho.where(rho["region"] == region, drop=True)).max()) < upper
    # The stage's rho against an independent computation: pixels vs subject 01's EVC
    # (every feature standardised first, rsa.feature_scaling's default).
    activations = read_dataset(tmp_path / "results/algonauts78/algonauts78/activations/alexnet.nc")
    pixels = pdist(StandardScaler().fit_transform(activations["pixels"].values), "euclidean")
    brain = rdms["rdm"].sel(channel="01:EVC").values[np.triu_indices(78, 1)]
    expected = spearmanr(pixels, brain).statistic
    assert rho.sel(layer="pixels", channel="01:EVC").item() == pytest.approx(expected, abs=1e-6)
    assert (out / "alexnet" / "figures" / "heatmap_rsa.png").stat().st_size > 0
    # Region level: the workflow writes both noise ceilings and Net2Brain's columns
    table = pd.read_csv(out / "alexnet" / "rsa_region.csv").set_index(["region", "layer"])
    for region in ("EVC", "IT"):
        group = rdms["rdm"].where(rdms["region"] == region, drop=True)
        row = table.loc[(region, "conv1")]
        lower, upper = noise_ceiling(group.values, group["subject"].values)
        assert (row["noise_ceiling_lower"], row["noise_ceiling_upper"]) == pytest.approx(
            (lower, upper)
        )
        # Net2Brain: squared Spearman rho of each subject's raw RDM with the mean of the
        # others' raw RDMs (lower) or of all (upper), averaged over subjects
        vectors = group.values[:, *np.triu_indices(78, 1)]
        by_hand = [
            np.mean(
                [
                    spearmanr(
                        v, np.delete(vectors, i, 0).mean(0) if leave else vectors.mean(0)
                    ).statistic
                    ** 2
                    for i, v in enumerate(vectors)
                ]
            )
            for leave in (True, False)
        ]
        assert (row["net2brain_noise_ceiling_lower"], row["net2brain_noise_ceiling_upper"]) == (
            pytest.approx(by_hand)
        )
        # R²: the mean over subjects of the squared channel-level rho; %R² = R² / LNC x 100
        squared = rho.sel(layer="conv1").where(rho["region"] == region, drop=True).values ** 2
        assert row["r2"] == pytest.approx(squared.mean())
        assert row["r2_sem"] == pytest.approx(squared.std(ddof=1) / np.sqrt(len(squared)))
        assert row["r2_percent"] == pytest.approx(squared.mean() / by_hand[0] * 100)


@pytest.mark.slow
def test_kriegeskorte92_human_and_monkey_it(shared_data, tmp_path):
    """Human IT (4 subjects x 2 sessions) and monkey IT RDMs against every layer:
    finite rho everywhere, and the monkey IT RDM related to the conv layers."""
    n_permutations = 200
    check_run(
        run_workflow(
            example("kriegeskorte92"),
            tmp_path,
            shared_data,
            overrides={
                "rsa": {"n_permutations": n_permutations},
                "datasets": {"kriegeskorte92": {"models": ["alexnet"]}},
                **SMALL_GRADIENT,
            },
        )
    )
    out = tmp_path / "results" / "kriegeskorte92" / "kriegeskorte92"
    stimuli = read_dataset(out / "stimuli.nc")
    assert stimuli.sizes["stimulus"] == 92
    assert {"human face", "nonhuman face"} <= set(stimuli["category"].values)
    scores = read_dataset(out / "alexnet" / "rsa.nc")
    rho = scores["rho"].squeeze(("band", "window"), drop=True)
    human = rho["region"].values == "hIT"
    assert human.sum() == 8 and set(rho["subject"].values[human]) == {"BE", "KO", "SN", "TI"}
    assert list(rho["channel"].values[~human]) == ["monkey:mIT-1"]
    assert np.isfinite(rho.values).all() and (abs(rho) < 1).all()
    monkey = rho.sel(channel="monkey:mIT-1")
    p = scores["p"].squeeze(("band", "window"), drop=True).sel(channel="monkey:mIT-1")
    # Even untrained conv features beat pixels on the 674-neuron IT population RDM.
    assert monkey.sel(layer="conv3") > monkey.sel(layer="pixels") + 0.05
    assert p.sel(layer="conv3") == pytest.approx(1 / (n_permutations + 1))
    rdms = read_dataset(out / "brain_rdms.nc")
    group = rdms["rdm"].where(rdms["region"] == "hIT", drop=True)
    lower, upper = noise_ceiling(group.values, group["subject"].values)
    assert 0 < lower < upper <= 1
    assert float(rho.values[:, human].mean(axis=1).max()) < lower
    summary = pd.read_csv(out.parent / "summary.csv")
    assert {"best_layer_hIT", "best_layer_mIT"} <= set(summary.columns)


SMALL_SYNTHETIC = """\
results_dir: results
seed: 0
datasets:
  synthetic:
    stimuli: {source: embedded, n_per_category: 4, image_size: 64}
    recordings: {format: synthetic, reference_model: alexnet, n_subjects: 2}
models:
  alexnet: {arch: alexnet, weights: null}
"""


@pytest.mark.slow
def test_bids_ieeg_reads_the_synthetic_bids(tmp_path):
    """The BIDS-iEEG example reads a BIDS dataset written by a small default-style
    run as a user's data: regions from electrodes.tsv, visual contacts respond in
    high gamma and the control contacts do not."""
    config = tmp_path / "small.yaml"
    config.write_text(SMALL_SYNTHETIC)
    check_run(run_workflow(config, tmp_path, tmp_path, targets=["results/synthetic/bids"]))
    data = tmp_path / "results" / "synthetic"
    check_run(
        run_workflow(
            example("bids_ieeg"),
            tmp_path,
            data,
            overrides={
                "preprocessing": {
                    "bands": {"low_gamma": [30, 70], "high_gamma": [70, 150]},
                    "windows": [[0.05, 0.25]],
                },
                "encoding": {"n_permutations": 20},
                "rsa": {"n_permutations": 100},
                **SMALL_GRADIENT,
            },
        )
    )
    out = tmp_path / "results" / "bids_ieeg" / "my_ieeg"
    responses = read_dataset(out / "responses.nc")
    assert responses.attrs["subjects"] == ["sub-01", "sub-02"]
    assert responses.sizes["stimulus"] == 20
    assert set(planted_layers(data / "bids")) < set(responses["region"].values)
    responsive = responses["responsive"].sel(band="high_gamma").squeeze("window", drop=True)
    by_rank = responsive.groupby(responsive["region_rank"] > 0).mean()
    visual, control = by_rank.sel(region_rank=True), by_rank.sel(region_rank=False)
    assert visual > 0.8 and control < 0.2, by_rank.to_series()
    for method in ("encoding", "rsa"):
        gradient = read_dataset(out / "alexnet" / f"gradient_{method}.nc")
        assert set(gradient["region"].values) == set(responses["region"].values)
    summary = pd.read_csv(out.parent / "summary.csv")
    assert set(summary["method"]) == {"encoding", "rsa", "rsa_region"}
    assert set(summary["band"]) == {"low_gamma", "high_gamma"}


# --------------------------------------------------------------------------- wrong data


def _algonauts_without(shared_data, root, missing):
    """A copy of the Algonauts folder (by symlinks) whose stimulus folder lacks ``missing``."""
    source = shared_data / "algonauts78"
    (root / "algonauts78" / "stimuli_data").mkdir(parents=True)
    (root / "algonauts78" / "brain_data").symlink_to(source / "brain_data")
    for image in (source / "stimuli_data").iterdir():
        if image.stem != missing:
            (root / "algonauts78" / "stimuli_data" / image.name).symlink_to(image)
    return root / "algonauts78"


def test_algonauts_missing_image_refused(shared_data, tmp_path):
    root = _algonauts_without(shared_data, tmp_path, "image_42")
    stimuli = build_stimuli("folder", tmp_path / "unused", path=root / "stimuli_data")
    with pytest.raises(
        ValueError,
        match=r"fmri_EVC_RDMs.npz has 78 rows but .*stimuli_data holds 77 images "
        r"\(missing \['image_42'\]",
    ):
        brain_rdms(stimuli, {"format": "algonauts", "path": str(root)})
    # Images kept apart from the RDMs: the join on stimulus_id catches it.
    rdms_only = tmp_path / "rdms_only"
    rdms_only.mkdir()
    (rdms_only / "brain_data").symlink_to(shared_data / "algonauts78" / "brain_data")
    with pytest.raises(
        ValueError,
        match=r"brain RDMs from .*rdms_only do not match the stimulus set: 78 RDM stimuli "
        r"against 77 images; only in the RDMs: \['image_42'\]",
    ):
        brain_rdms(stimuli, {"format": "algonauts", "path": str(rdms_only)})


def test_kriegeskorte92_stimulus_count_refused(shared_data, tmp_path):
    images = np.load(shared_data / "kriegeskorte92" / "stimuli_92_uint8.npy")
    np.save(tmp_path / "first_91.npy", images[:91])
    stimuli = build_stimuli("array", tmp_path / "images", path=tmp_path / "first_91.npy")
    with pytest.raises(ValueError, match=r"92 RDM stimuli against 91 images.*\['stim_092'\]"):
        brain_rdms(
            stimuli, {"format": "kriegeskorte92", "path": str(shared_data / "kriegeskorte92")}
        )


@pytest.fixture(scope="module")
def cowley_190923_images(shared_data, tmp_path_factory):
    """The stimulus table of Cowley V4 session 190923 (its zip, extracted)."""
    archive = shared_data / "cowley_v4" / "images" / "images_190923.zip"
    return build_stimuli("zip", tmp_path_factory.mktemp("cowley") / "images", path=archive)


def test_cowley_wrong_session_images_refused(shared_data, cowley_190923_images):
    root = shared_data / "cowley_v4"
    # Another session's count: 1200 images for the 640 of session 210325.
    with pytest.raises(
        ValueError,
        match=r"1200 images\) is not the 640 images of Cowley V4 session 210325 in "
        r".*images_210325.zip: not in the session \['image0641'",
    ):
        array_responses(
            cowley_190923_images, {"format": "cowley", "path": str(root), "session": "210325"}
        )
    # The same count and names (image0001 ... image1200) but other pictures.
    with pytest.raises(
        ValueError,
        match=r"1200 of 1200 stimulus images differ from the images of Cowley V4 session "
        r"210225 in .*images_210225.zip, e.g. \['image0001 \(.*image0001.jpg\)'",
    ):
        array_responses(
            cowley_190923_images, {"format": "cowley", "path": str(root), "session": "210225"}
        )
    # Its own session reads, and column k of the responses is image k + 1.
    responses = array_responses(
        cowley_190923_images, {"format": "cowley", "path": str(root), "session": "190923"}
    )
    averaged = np.load(root / "responses_repeat_averaged" / "responses_190923.npy")
    np.testing.assert_allclose(responses["response"].values[:, :, 0, 0], averaged.T)


def test_cowley_images_missing_refused(shared_data, cowley_190923_images):
    stimuli = cowley_190923_images.isel(stimulus=slice(0, 1199))
    with pytest.raises(ValueError, match=r"missing from the stimulus set \['image1200'\]"):
        array_responses(
            stimuli,
            {"format": "cowley", "path": str(shared_data / "cowley_v4"), "session": "190923"},
        )


def test_example_on_wrong_data_names_files_and_ids(shared_data, tmp_path):
    """Through the workflow: a data folder without the dataset, then a stimulus
    folder missing an image; each run stops and its log names the file and id."""
    empty = tmp_path / "empty"
    empty.mkdir()
    process = run_workflow(example("algonauts78"), tmp_path / "run1", empty)
    assert process.returncode != 0
    assert f"stimulus folder not found: {empty / 'algonauts78' / 'stimuli_data'}" in (
        process.stderr
    )
    data = tmp_path / "data"
    _algonauts_without(shared_data, data, "image_07")
    process = run_workflow(example("algonauts78"), tmp_path / "run2", data)
    assert process.returncode != 0
    assert "stimuli_data holds 77 images (missing ['image_07']" in process.stderr
    assert not (tmp_path / "run2" / "results/algonauts78/algonauts78/brain_rdms.nc").exists()
