"""Workflow runs shared by the SLURM and the kill-and-resume tests.

A tiny config, a copy of the workflow to run it in, the jobs a run executed, and
the comparison of two results folders value for value.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parents[1]

# A plant set in the config, reversed along the stream (V1 at fc7, ... anterior
# temporal at conv1), so that every executor test also runs a config plant end to end.
PLANT = {
    "V1": {"rank": 1, "layer": "fc7", "latency": 0.05, "center": [10.0, -92.0, 2.0]},
    "V2": {"rank": 2, "layer": "conv5", "latency": 0.08, "center": [14.0, -90.0, 14.0]},
    "V3-V4": {"rank": 3, "layer": "conv3", "latency": 0.11, "center": [30.0, -82.0, -8.0]},
    "fusiform-IT": {"rank": 4, "layer": "conv2", "latency": 0.14, "center": [38.0, -55.0, -18.0]},
    "anterior-temporal": {
        "rank": 5,
        "layer": "conv1",
        "latency": 0.17,
        "center": [35.0, -10.0, -35.0],
    },
    "frontal": {"rank": 0, "center": [38.0, 30.0, 30.0]},
    "motor": {"rank": 0, "center": [38.0, -18.0, 55.0]},
}
# Much smaller than test_workflow.SMALL: 8 images per category, 2 subjects, few
# resamples. Scores are noisy at this size; these tests compare runs, not science.
TINY = {
    "seed": 0,
    "datasets": {
        "synthetic": {
            "stimuli": {"source": "embedded", "n_per_category": 8, "image_size": 64},
            "recordings": {
                "format": "synthetic",
                "reference_model": "alexnet",
                "n_subjects": 2,
                "regions": PLANT,
            },
        }
    },
    "models": {"alexnet": {"arch": "alexnet", "weights": None}},
    "extraction": {"reduction": {"method": "srp", "n_components": 256}},
    # the family-wise corrections, so that the executor tests cover their determinism
    "encoding": {"n_permutations": 20, "correction": "maxstat"},
    "rsa": {"n_permutations": 100, "criterion": "cluster", "alpha": 0.05},
    "gradient": {"n_bootstrap": 20, "n_permutations": 20},
}
# Every artefact up to the summary table; the figures are left to test_workflow.
TARGET = "results/summary.csv"


def copy_workflow(workdir: Path, config: dict = TINY) -> Path:
    """The workflow with its profiles in ``workdir``, and ``config`` as tiny.yaml."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", workdir)
    for folder in ("config", "workflow", "profiles"):
        shutil.copytree(ROOT / folder, workdir / folder)
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    return workdir


def snakemake_command(*args: str) -> list[str]:
    """A snakemake call on tiny.yaml (profiles/default applies, as for a user)."""
    # the config last: --configfile takes every following word, targets too
    return [sys.executable, "-m", "snakemake", *args, "--configfile", "tiny.yaml"]


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: float = 1800):
    """Run snakemake in ``workdir``; its stdout and stderr together as ``.output``."""
    result = subprocess.run(
        snakemake_command(*args),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=timeout,
    )
    result.output = result.stdout
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.output[-6000:]}")
    return result


def executed_jobs(output: str) -> Counter:
    """How many jobs of each rule a run started (its "[local]rule X:" blocks)."""
    rules = re.findall(r"^(?:local)?rule (\w+):$", output, flags=re.M)
    return Counter(rule for rule in rules if rule != "all")


def finished_jobs(output: str) -> Counter:
    """How many jobs of each rule a run recorded as finished (target rules aside)."""
    rules = re.findall(r"^Finished jobid: \d+ \(Rule: (\w+)\)", output, flags=re.M)
    return Counter(rule for rule in rules if rule != "all")


def reference_run(tmp_path_factory) -> tuple[Path, Counter]:
    """One uninterrupted local run of TINY, shared by the tests of a session.

    Returns its folder and the jobs it executed.
    """
    return _reference_run(tmp_path_factory.getbasetemp())


@functools.cache
def _reference_run(basetemp: Path) -> tuple[Path, Counter]:
    workdir = copy_workflow(basetemp / "reference")
    result = snakemake(workdir, TARGET)
    jobs = executed_jobs(result.output)
    assert jobs["summary"] == 1, f"no summary job in the reference run:\n{result.output[-3000:]}"
    return workdir, jobs


def assert_same_results(results: Path, expected: Path) -> None:
    """Every netCDF artefact and the summary table equal, value for value.

    Attributes included: provenance must not depend on the executor either.
    """
    files = sorted(path.relative_to(expected) for path in expected.rglob("*.nc"))
    assert files, f"no artefacts under {expected}"
    assert sorted(path.relative_to(results) for path in results.rglob("*.nc")) == files
    for name in files:
        with (
            xr.open_dataset(results / name, engine="h5netcdf") as got,
            xr.open_dataset(expected / name, engine="h5netcdf") as want,
        ):
            assert got.load().identical(want.load()), f"{name} differs"
    summaries = [pd.read_csv(folder / "summary.csv") for folder in (results, expected)]
    pd.testing.assert_frame_equal(*summaries, check_exact=True)
