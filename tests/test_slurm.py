"""``python -m aher.reproduce --executor slurm`` against a real single-node Slurm.

``tools/slurm-local/start.sh`` starts munged, slurmctld and slurmd on this host (it needs root and
Debian's ``slurm-wlm`` and ``munge``); where it cannot, the test is skipped with the reason.  The
test is marked slow (about 4 minutes on 2 cores).  One tiny plan (Table 4: six runs, deterministic, a few iterations) is
submitted with ``--no-wait``; one job is cancelled with ``scancel`` while it trains; the plan is
submitted again (the cancelled run resumes from its snapshot, the others are busy or reused), then
collected with ``--no-train``.  Its tables must equal those of the same plan run inline.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from aher.config import load_config
from aher.datasets import resolve_dataset
from aher.paths import PROJECT_ROOT
from aher.reproduce.claim import job_active
from tests.test_reproduce_executors import comparable_tables

START = PROJECT_ROOT / "tools" / "slurm-local" / "start.sh"
STOP = PROJECT_ROOT / "tools" / "slurm-local" / "stop.sh"
RUN_OVERRIDES = ("train.deterministic=true", "train.iterations=16", "train.snapshot_every=4", "train.log_every=1")


def _why_no_slurm():
    if os.geteuid() != 0:
        return "starting a local Slurm needs root"
    for tool in ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"{tool} is not installed (apt-get install slurm-wlm munge)"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = _why_no_slurm()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm-state")
    proc = subprocess.run(["bash", str(START), str(state)], capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        pytest.skip(f"tools/slurm-local/start.sh could not start Slurm: {(proc.stderr or proc.stdout).strip()[-500:]}")
    yield state
    subprocess.run(["bash", str(STOP), str(state)], capture_output=True, text=True, timeout=120)


def _argv(runs, data, *extra):
    argv = [sys.executable, "-m", "aher.reproduce", "table4", "--scale", "tiny", "--seeds", "1", "--runs", str(runs),
            "--report-dir", str(runs / "tables"), "--set", f"data.root={data}"]
    for text in RUN_OVERRIDES:
        argv += ["--set", text]
    return [*argv, *extra]


def _reproduce(runs, data, *extra, timeout=1200):
    return subprocess.run(_argv(runs, data, *extra), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def _claims(runs):
    """{run folder: Slurm job id} of the claims the submission left in the run folders."""
    found = {}
    for path in runs.rglob("claim.lock"):
        text = path.read_text()
        if text:
            found[path.parent] = json.loads(text)["slurm_job_id"]
    return found


def _iterations_done(run):
    log = run / "train.log"
    if not log.is_file():
        return 0
    done = [int(line.split(" it ")[1].split("/")[0]) for line in log.read_text().splitlines() if " it " in line]
    return done[-1] if done else 0


def _wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(1.0)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.mark.slow
def test_slurm_plan_with_a_cancelled_job_gives_the_inlinecomparable_tables(slurm, tmp_path):
    data = tmp_path / "data"
    resolve_dataset(load_config(PROJECT_ROOT / "configs" / "k600_synthetic_tiny.yaml", [f"data.root={data}"]),
                    log=lambda *a, **k: None, progress=False)      # written once, before the runs read it
    # the inline reference trains beside the Slurm jobs (the test's wall time is their CPU time)
    inline = subprocess.Popen(_argv(tmp_path / "inline", data), cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    runs = tmp_path / "slurm"
    first = _reproduce(runs, data, "--executor", "slurm", "--slurm-cpus-per-run", "1", "--slurm-time", "20",
                       "--no-wait")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "tables not written" in first.stdout and not (runs / "tables").exists()
    jobs = _claims(runs)
    assert len(jobs) == 6 and all(jobs.values()), jobs

    # cancel one job while it trains (after its first snapshot, before its end)
    victim = sorted(jobs)[0]
    _wait(lambda: 4 < _iterations_done(victim) < 16 or not job_active(jobs[victim])[0], 600,
          f"{victim} to train past its first snapshot")
    assert job_active(jobs[victim])[0], f"{victim} finished before it could be cancelled"
    subprocess.run(["scancel", jobs[victim]], check=True)
    _wait(lambda: not job_active(jobs[victim])[0], 120, f"job {jobs[victim]} to end")
    assert not (victim / "metrics.json").exists()
    assert any((victim / "checkpoints").glob("*.index"))

    # the plan again: the cancelled run resumes in a new job; runs still active are busy, not resubmitted
    second = _reproduce(runs, data, "--executor", "slurm", "--slurm-cpus-per-run", "1", "--slurm-time", "20")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "took over the stale claim" in second.stdout and f"Slurm job {jobs[victim]}" in second.stdout
    assert "resuming" in second.stdout
    assert "resumed at iteration" in (victim / "train.log").read_text()
    assert len(list(runs.rglob("slurm/*_submitted.pkl"))) == 7                  # six jobs and one resubmission

    _wait(lambda: all(not job_active(j)[0] for j in jobs.values()), 900, "the first jobs to end")
    third = _reproduce(runs, data, "--no-train")
    assert third.returncode == 0, third.stderr[-3000:]
    _, err = inline.communicate(timeout=1200)
    assert inline.returncode == 0, err[-3000:]
    assert comparable_tables(runs / "tables") == comparable_tables(tmp_path / "inline" / "tables")
