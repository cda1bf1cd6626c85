"""The workflow on a real SLURM cluster through profiles/slurm, and a log file per job.

tools/slurm/start-cluster.sh brings up a one-node cluster (.ci/run calls it before
the tests; here it is started when installed and the tests run as root). Where
SLURM cannot start, the SLURM tests are skipped with the reason; on CI they fail.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from workflow_runs import (
    ROOT,
    TARGET,
    TINY,
    assert_same_results,
    copy_workflow,
    executed_jobs,
    reference_run,
    snakemake,
)

START_CLUSTER = ROOT / "tools" / "slurm" / "start-cluster.sh"
# The profile, with a first status check after 2 s instead of the plugin's 40 s (the
# jobs of a test take seconds), and SLURM's own log of every job kept, not only of
# failed ones.
SLURM = (
    "--profile",
    "profiles/slurm",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-keep-successful-logs",
)
SUBMITTED = re.compile(
    r"^Job \d+ has been submitted with SLURM jobid (\d+) \(log: (.+)\)\.$", re.M
)


def _cluster_problem() -> str | None:
    """Why no SLURM cluster takes jobs here, or None when one does."""
    if os.geteuid() == 0:
        started = subprocess.run(
            [START_CLUSTER, "--no-install"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=180,
        )
        if started.returncode != 0:
            return f"SLURM cannot start: {(started.stderr or started.stdout).strip()[-500:]}"
        return None
    if shutil.which("sinfo") is None:
        return "SLURM is not installed (tools/slurm/start-cluster.sh installs it, as root)"
    state = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True)
    if not re.match(r"(idle|mixed|allocated)", state.stdout):
        return f"no SLURM node is up: sinfo says {(state.stdout or state.stderr).strip()!r}"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node SLURM cluster that takes jobs."""
    problem = _cluster_problem()
    if problem and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the SLURM test must run on CI: {problem}")
    if problem:
        pytest.skip(problem)


@pytest.mark.slow
def test_every_job_runs_on_slurm_and_equals_a_local_run(slurm_cluster, tmp_path_factory):
    reference, jobs = reference_run(tmp_path_factory)
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm"))
    result = snakemake(workdir, *SLURM, TARGET)
    assert executed_jobs(result.output) == jobs
    # one SLURM job per workflow job, each with SLURM's log of it
    submitted = dict(SUBMITTED.findall(result.output))
    assert len(submitted) == sum(jobs.values())
    for log in submitted.values():
        assert re.search(r"^rule \w+:$", Path(log).read_text(), flags=re.M), log
    # and each job's own log says it ran inside its SLURM job
    job_logs = sorted((workdir / "results" / "logs").rglob("*.log"))
    assert len(job_logs) == len(submitted)
    ran_in = [re.findall(r", SLURM job (\d+)$", log.read_text(), flags=re.M) for log in job_logs]
    assert sorted(job_id for ids in ran_in for job_id in ids) == sorted(submitted)
    assert_same_results(workdir / "results", reference / "results")


@pytest.mark.parametrize("executor", ["local", "slurm"])
def test_a_failed_jobs_log_holds_brainnets_error(executor, tmp_path, request):
    if executor == "slurm":
        request.getfixturevalue("slurm_cluster")
    images = tmp_path / "images"
    images.mkdir()
    (images / "face_001.png").write_text("not an image")
    stimuli = {"source": "folder", "path": str(images)}
    dataset = dict(TINY["datasets"]["synthetic"], stimuli=stimuli)
    workdir = copy_workflow(tmp_path / "run", dict(TINY, datasets={"synthetic": dataset}))
    args = SLURM if executor == "slurm" else ()
    result = snakemake(workdir, *args, "results/synthetic/stimuli.nc", check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "stimuli" / "synthetic.log").read_text()
    # brainnet's message, naming the image at fault, and where it was raised
    assert "brainnet ERROR: ValueError: unusable stimulus images" in log
    assert f"cannot read stimulus image {images / 'face_001.png'}" in log
    assert "Traceback (most recent call last)" in log
    # snakemake points the user to that file
    assert "results/logs/stimuli/synthetic.log" in result.output
