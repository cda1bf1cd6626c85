"""Resuming after snakemake is killed with SIGKILL, as README.md ("Resuming") says.

A run is killed during feature extraction (snakemake and its job: the job leaves
a hidden temporary behind) and during encoding (snakemake only: the orphaned job
finishes on its own). The rerun, after `snakemake --unlock`, must run exactly
the jobs that had not finished, and give the results of an uninterrupted run.
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from brainnet.io import atomic_path, remove_stale_temporaries
from workflow_runs import (
    TARGET,
    assert_same_results,
    copy_workflow,
    executed_jobs,
    finished_jobs,
    reference_run,
    snakemake,
    snakemake_command,
)


def _run_until(workdir: Path, ready, timeout: float = 1800) -> subprocess.Popen:
    """Start a run in its own process group; return once ``ready()`` holds."""
    with open(workdir / "killed.log", "w") as out:
        run = subprocess.Popen(
            snakemake_command(TARGET),
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not ready():
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            raise AssertionError(f"the run ended before the kill point:\n{_output(workdir)}")
        time.sleep(0.01)
    return run


def _output(workdir: Path) -> str:
    return (workdir / "killed.log").read_text()


def _wait_for_group(pgid: int, timeout: float = 1800) -> None:
    """Wait until no live process is left in process group ``pgid``."""
    deadline = time.monotonic() + timeout
    while _group_members(pgid):
        assert time.monotonic() < deadline, f"process group {pgid} still running"
        time.sleep(0.1)


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # fields after the parenthesised command: state, ppid, pgrp, ...
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError):
            continue
        if int(group) == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


def _resume(workdir: Path):
    """The README's steps after a kill: a plain rerun stops on the lock; unlock; rerun."""
    locked = snakemake(workdir, TARGET, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.output
    snakemake(workdir, "--unlock")
    return snakemake(workdir, TARGET)


@pytest.mark.slow
def test_resume_after_a_kill_during_extraction(tmp_path_factory):
    reference, jobs = reference_run(tmp_path_factory)
    workdir = copy_workflow(tmp_path_factory.mktemp("killed_extraction"))
    activations = workdir / "results" / "synthetic" / "activations"
    run = _run_until(workdir, lambda: any(activations.glob(".alexnet.nc.tmp-*")))
    os.killpg(run.pid, signal.SIGKILL)  # snakemake and the extraction job with it
    run.wait()
    _wait_for_group(run.pid)
    (stale,) = activations.glob(".alexnet.nc.tmp-*")
    assert not (activations / "alexnet.nc").exists()

    rerun = _resume(workdir)
    assert executed_jobs(rerun.output) == jobs - finished_jobs(_output(workdir))
    assert executed_jobs(rerun.output)["activations"] == 1
    assert f"removed {stale.relative_to(workdir)}, left by a killed writer" in rerun.output
    assert not list((workdir / "results").rglob(".*.tmp-*"))
    assert_same_results(workdir / "results", reference / "results")


@pytest.mark.slow
def test_resume_after_a_kill_during_encoding(tmp_path_factory):
    reference, jobs = reference_run(tmp_path_factory)
    workdir = copy_workflow(tmp_path_factory.mktemp("killed_encoding"))
    log = workdir / "results" / "logs" / "encoding" / "synthetic" / "alexnet.log"
    # the job is fitting once its log names the fit
    run = _run_until(workdir, lambda: log.is_file() and "encoding:" in log.read_text())
    run.kill()  # snakemake only: the orphaned job finishes and renames its output
    run.wait()
    _wait_for_group(run.pid)
    assert (workdir / "results" / "synthetic" / "alexnet" / "encoding.nc").is_file()
    finished = finished_jobs(_output(workdir))
    assert finished["encoding"] == 0

    # the orphan's output is marked incomplete: profiles/default reruns it
    rerun = _resume(workdir)
    assert executed_jobs(rerun.output) == jobs - finished
    assert executed_jobs(rerun.output)["encoding"] == 1
    assert not list((workdir / "results").rglob(".*.tmp-*"))
    assert_same_results(workdir / "results", reference / "results")


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_stale_temporaries_are_removed_live_and_foreign_ones_kept(tmp_path):
    host = socket.gethostname()
    stale = tmp_path / "a" / f".encoding.nc.tmp-{host}-{_dead_pid()}"
    stale_folder = tmp_path / f".bids.old-{host}-{_dead_pid()}"
    live = tmp_path / "a" / f".rsa.nc.tmp-{host}-{os.getpid()}"
    foreign = tmp_path / "a" / f".gradient.nc.tmp-{host}x-node-{_dead_pid()}"
    finished = tmp_path / "a" / "encoding.nc"
    for path in (stale, live, foreign, finished):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (stale_folder / "sub-01").mkdir(parents=True)
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale, stale_folder])
    assert not stale.exists() and not stale_folder.exists()
    assert live.exists() and foreign.exists() and finished.exists()


def test_writing_a_target_removes_its_stale_temporary(tmp_path):
    target = tmp_path / "encoding.nc"
    stale = tmp_path / f".encoding.nc.tmp-{socket.gethostname()}-{_dead_pid()}"
    other = tmp_path / f".rsa.nc.tmp-{socket.gethostname()}-{_dead_pid()}"
    stale.write_text("half")
    other.write_text("half")
    with atomic_path(target) as tmp:
        assert tmp.name == f".encoding.nc.tmp-{socket.gethostname()}-{os.getpid()}"
        tmp.write_text("whole")
    assert target.read_text() == "whole"
    assert not stale.exists()
    assert other.exists()  # another target's temporary waits for its own write
