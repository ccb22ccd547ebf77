"""Real training subprocesses: run ownership, signals, resume after a kill, resume errors.

One chain of tiny k600 runs on one run folder (the data is generated once):
A trains; a second trainer on the same folder is refused naming A; SIGINT stops A with a
snapshot, exit 130 and a resume command; B resumes and is killed with SIGKILL (its lock goes
stale); C resumes, takes the folder over and finishes; SIGTERM gives 143.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

CONFIG = "configs/k600_synthetic_tiny.yaml"


def _command(out, data, *extra):
    return [sys.executable, "aher_k600_train.py", "--config", CONFIG, "--out", str(out),
            "--set", f"data.root={data}", "--quiet", "--no-test", *extra]


def _start(project_root, out, data, *extra):
    return subprocess.Popen(_command(out, data, *extra), cwd=project_root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout=600):
    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in err.splitlines() if line.startswith(("error:", "warning:", "interrupted:"))]
    return proc.returncode, out, lines


def _run(project_root, out, data, *extra):
    return _finish(_start(project_root, out, data, *extra))


def _wait_for_iteration(proc, run, at_least, timeout=300):
    """Block until train.log shows iteration >= at_least (the process is then inside the loop)."""
    log = run / "train.log"
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        if log.is_file():
            done = [int(line.split(" it ")[1].split("/")[0]) for line in log.read_text().splitlines() if " it " in line]
            if done and done[-1] >= at_least:
                return done[-1]
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"no progress in {log} after {timeout} s")


LONG = ("--set", "train.iterations=100000", "--set", "train.snapshot_every=100000", "--set", "train.log_every=2")


@pytest.mark.slow
def test_lock_signals_kill_and_resume(project_root, tmp_path):
    run, data = tmp_path / "run", tmp_path / "data"

    a = _start(project_root, run, data, *LONG)
    _wait_for_iteration(a, run, 2)
    owner = json.loads((run / "run.lock").read_text())
    assert owner["pid"] == a.pid

    code, _, lines = _run(project_root, run, data, "--resume")                  # a second trainer
    assert code == 2 and len(lines) == 1 and f"in use by pid {a.pid}" in lines[0], lines

    a.send_signal(signal.SIGINT)
    code, _, lines = _finish(a, timeout=120)
    assert code == 130, lines
    assert lines[-1].startswith("interrupted: stopped by SIGINT") and f"--out {run} --resume" in lines[-1]
    assert (run / "run.lock").read_text() == ""                                  # released
    checkpoints = run / "checkpoints"
    saved = sorted(p.name for p in checkpoints.glob("*.index"))
    assert saved, "SIGINT saved no snapshot"

    b = _start(project_root, run, data, "--resume", *LONG)                       # resumes, then dies hard
    _wait_for_iteration(b, run, 2 + int(saved[-1].split("-")[1].split(".")[0]))
    time.sleep(1.0)
    os.kill(b.pid, signal.SIGKILL)
    b.communicate()
    assert json.loads((run / "run.lock").read_text())["pid"] == b.pid           # stale: its owner is dead
    log = (run / "train.log").read_text()
    assert "resumed at iteration" in log

    resumed_from = max(int(p.name.split("-")[1].split(".")[0]) for p in checkpoints.glob("*.ckpt-*.index"))
    target = resumed_from + 3
    code, _, lines = _run(project_root, run, data, "--resume", "--set", f"train.iterations={target}",
                          "--set", "train.snapshot_every=100000")
    assert code == 0, lines
    log = (run / "train.log").read_text()
    assert f"took the run folder over from pid {b.pid}" in log
    assert (checkpoints / f"model.ckpt-{target}.index").is_file()
    assert not (checkpoints / "interrupted.json").exists()                       # superseded and removed
    assert not (checkpoints / "interrupted").exists() and not list(checkpoints.glob("interrupted.ckpt-*"))

    c = _start(project_root, run, data, "--resume", *LONG)
    _wait_for_iteration(c, run, target + 2)
    c.send_signal(signal.SIGTERM)
    code, _, lines = _finish(c, timeout=120)
    assert code == 143 and "stopped by SIGTERM" in lines[-1], lines


def test_resume_errors_are_one_line_and_write_nothing(project_root, tmp_path):
    empty = tmp_path / "never-trained"
    code, _, lines = _run(project_root, empty, tmp_path / "data", "--resume")
    assert code == 2 and len(lines) == 1 and "nothing to resume" in lines[0], lines
    assert not empty.exists()

    proc = subprocess.run([sys.executable, "aher_k600_train.py", "--config", CONFIG, "--resume"], cwd=project_root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--resume needs --out" in proc.stderr
