"""Model mistakes are found before any job starts: in check_model and in `snakemake -n`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from brainnet.models import ModelSpec, check_model

ROOT = Path(__file__).resolve().parents[1]


def test_check_builds_on_the_meta_device_and_loads_no_weights(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the check loaded weights")

    monkeypatch.setattr(torch, "load", refuse)
    spec = ModelSpec(name="lite", arch="efficientnet_lite0", weights="DEFAULT", layers=["stage4"])
    assert check_model(spec) == {"stage4": "_blocks.7"}


def test_layer_typo_suggests_the_closest_names():
    spec = ModelSpec(name="lite", arch="efficientnet_lite0", layers=["stem", "stgae4"])
    with pytest.raises(ValueError, match=r"'lite': unknown layer 'stgae4'.*did you mean stage4"):
        check_model(spec)


def test_factory_is_imported_and_must_be_callable():
    with pytest.raises(ValueError, match=r"model 'mine': cannot import factory 'factories:nope'"):
        check_model(ModelSpec(name="mine", factory="factories:nope"))
    with pytest.raises(TypeError, match=r"'mine': factory 'factories:TINY_NET_NAME' is a str"):
        check_model(ModelSpec(name="mine", factory="factories:TINY_NET_NAME"))


def test_layer_reduction_of_a_layer_that_is_not_extracted_is_refused():
    spec = ModelSpec.from_config(
        "alex", {"arch": "alexnet", "layer_reduction": {"conv6": {"method": "none"}}}
    )
    with pytest.raises(ValueError, match=r"model 'alex': layer_reduction names unknown .*conv6"):
        check_model(spec)


# `snakemake -n` on a copy of the workflow, one dry run per case; they are started
# together because each spends its few seconds importing torch and Snakemake.
BASE = {
    "datasets": {
        "synthetic": {
            "stimuli": {"source": "embedded", "n_per_category": 2},
            "recordings": {"format": "synthetic", "reference_model": "lite"},
        }
    },
}
LITE = {"arch": "efficientnet_lite0", "weights": "DEFAULT"}
CASES = {
    "layer typo": {"lite": {**LITE, "layers": ["stgae4"]}},
    "missing factory": {"lite": {"factory": "factories:nope"}},
    "factory not callable": {"lite": {"factory": "factories:TINY_NET_NAME"}},
    "torchvision weights not cached": {"lite": {"arch": "alexnet", "weights": "DEFAULT"}},
    "trained and control": {"lite": {**LITE, "control": "random"}},
}


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory, copy_workflow):
    """The result of `snakemake -n` for each case, and the TORCH_HOME it ran with."""
    workdir = copy_workflow(tmp_path_factory.mktemp("dry_run"))
    paths = [str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]
    running = {}
    for i, (case, models) in enumerate(CASES.items()):
        (workdir / f"case{i}.yaml").write_text(yaml.safe_dump({**BASE, "models": models}))
        torch_home = workdir / f"torch{i}"  # a fresh, empty cache per case
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TORCH_HOME": str(torch_home)}
        command = [sys.executable, "-m", "snakemake", "-n", "--cores", "1"]
        process = subprocess.Popen(
            [*command, "--configfile", f"case{i}.yaml", "--directory", str(workdir)],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        running[case] = (process, torch_home)
    results = {}
    for case, (process, torch_home) in running.items():
        stdout, stderr = process.communicate()
        results[case] = (process.returncode, stdout + stderr, torch_home)
    return results


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("layer typo", r"unknown layer 'stgae4' in models\.lite\.layers \(did you mean stage4"),
        ("missing factory", r"model 'lite': cannot import factory 'factories:nope'"),
        ("factory not callable", r"model 'lite': factory 'factories:TINY_NET_NAME' is a str"),
    ],
)
def test_dry_run_stops_on_a_model_mistake(dry_runs, case, message):
    returncode, output, _ = dry_runs[case]
    assert returncode != 0
    assert re.search(message, output), output[-2000:]
    # stopped while reading the workflow, before any job was planned
    assert "Job stats" not in output


def test_dry_run_neither_downloads_nor_creates_the_hub_cache(dry_runs):
    returncode, output, torch_home = dry_runs["torchvision weights not cached"]
    assert not torch_home.exists()
    # without internet the run stops with the offline message; with it, it plans
    assert returncode == 0 or "cannot be downloaded" in output, output[-2000:]


def test_dry_run_plans_the_trained_network_and_its_control(dry_runs):
    returncode, output, torch_home = dry_runs["trained and control"]
    assert returncode == 0, output[-2000:]
    assert not torch_home.exists()
    for model in ("lite", "lite_random"):
        assert f"results/synthetic/activations/{model}.nc" in output
