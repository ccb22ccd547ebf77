"""``aher.reproduce.process.run_logged``: the log it writes, the error it reads, a command that
outlives a killed driver (output to files, SIGTERM on the driver's death), and the stretches a
resumed command continues."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from aher.paths import PROJECT_ROOT
from aher.reproduce.process import run_logged
from aher.reproduce.runner import logged_seconds


def python(code):
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_log_holds_command_exit_code_and_both_streams(tmp_path):
    folder = tmp_path / "run"
    script = tmp_path / "entry.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        from pathlib import Path
        print("to stdout")
        print("to stderr", file=sys.stderr)
        Path(sys.argv[1], "metrics.json").write_text(json.dumps({"average_mAP": 0.25}))
    """))
    cmd = [sys.executable, str(script), str(folder)]
    result = run_logged(cmd, folder, env={"AHER_TEST_VALUE": "7"})
    assert result.status == "done" and result.metrics == {"average_mAP": 0.25}
    lines = (folder / "reproduce.log").read_text().splitlines()
    assert lines[0] == f"$ env AHER_TEST_VALUE=7 {sys.executable} {script} {folder}"
    assert lines[1].startswith("# exit code 0, ")
    assert lines[2:] == ["--- stdout", "to stdout", "--- stderr", "to stderr"]
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.json", "reproduce.log"]   # no .part left


def test_failed_command_reports_its_error_line(tmp_path):
    cmd = python("""
        import sys
        print("error: features.h5: no dataset 'v_1'", file=sys.stderr)
        print("a later warning", file=sys.stderr)
        sys.exit(2)
    """)
    result = run_logged(cmd, tmp_path)
    assert result.status == "failed" and result.error == "features.h5: no dataset 'v_1'"
    assert "# exit code 2," in (tmp_path / "reproduce.log").read_text()
    assert run_logged(python("pass"), tmp_path).error == "the run finished without metrics.json"
    assert not result.interrupted


@pytest.mark.parametrize("code, line, interrupted", [
    (130, "interrupted: stopped by SIGINT after iteration 3; snapshot s; resume with: x", True),
    (143, "interrupted: stopped by SIGTERM after iteration 3; snapshot s; resume with: x", True),
    (130, "error: interrupted", False),                       # Ctrl-C outside training: no snapshot
    (1, "interrupted: stopped by SIGINT after iteration 3; snapshot s; resume with: x", False)])
def test_a_training_stopped_by_a_signal_is_marked_interrupted(tmp_path, code, line, interrupted):
    cmd = python(f"""
        import sys
        print({line!r}, file=sys.stderr)
        sys.exit({code})
    """)
    result = run_logged(cmd, tmp_path)
    assert result.status == "failed" and result.interrupted is interrupted
    assert result.error == line.removeprefix("error: ")


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's prctl")
def test_command_gets_sigterm_and_keeps_logging_when_the_driver_is_killed(tmp_path):
    folder = tmp_path / "run"
    # the command: says it is ready, then on SIGTERM prints (into a stream nobody reads any more)
    # and leaves a marker, as a trainer saving its interrupted snapshot does
    child = textwrap.dedent(f"""
        import os, signal, sys, time
        from pathlib import Path
        def stop(signum, frame):
            print("SIGTERM received: saving a snapshot", flush=True)
            print("still writing to stderr", file=sys.stderr, flush=True)
            Path({str(tmp_path / "stopped.part")!r}).write_text("saved")    # the marker appears whole
            os.replace({str(tmp_path / "stopped.part")!r}, {str(tmp_path / "stopped")!r})
            sys.exit(143)
        signal.signal(signal.SIGTERM, stop)
        print("training", flush=True)
        Path({str(tmp_path / "ready")!r}).write_text("")
        time.sleep(60)
    """)
    driver = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from aher.reproduce.process import run_logged
        run_logged([sys.executable, "-c", {child!r}], {str(folder)!r})
    """)], cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists():
            assert time.monotonic() < deadline and driver.poll() is None, "the command did not start"
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        while not (tmp_path / "stopped").exists():
            assert time.monotonic() < deadline, "the command got no SIGTERM when its driver died"
            time.sleep(0.05)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert (tmp_path / "stopped").read_text() == "saved"
    stdout = (folder / "reproduce.stdout.part").read_text()
    assert stdout.splitlines() == ["training", "SIGTERM received: saving a snapshot"]
    assert (folder / "reproduce.stderr.part").read_text() == "still writing to stderr\n"
    assert not (folder / "reproduce.log").exists()

    # the next driver resumes the command: the killed stretch is counted and its streams are kept
    result = run_logged(python("import sys; sys.exit(0)") + ["--resume"], folder)
    log = (folder / "reproduce.log").read_text()
    assert result.error == "the run finished without metrics.json"
    assert log.splitlines()[1].endswith(" in 2 stretches")
    assert "=== earlier stretch: killed, " in log and "SIGTERM received: saving a snapshot" in log
    assert not (folder / "reproduce.started").exists()


def _metrics_writer(folder):
    """A one-line command (the log's first line) that prints and writes ``metrics.json``."""
    code = f"import pathlib; print('finishing'); pathlib.Path({str(folder)!r}, 'metrics.json').write_text('{{\"average_mAP\": 0.5}}')"
    return [sys.executable, "-c", code, "--resume"]


def test_resumed_command_counts_the_stretches_before_it(tmp_path):
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    # a stretch whose driver was killed after 400 s: its marker, streams and checkpoints are left
    started = time.time() - 1000
    (folder / "reproduce.started").write_text(json.dumps({"started": started}))
    (folder / "reproduce.stdout.part").write_text("it 100/1500\n=== earlier stretch: fake, 99999 s\nit 120")
    (folder / "reproduce.stderr.part").write_text("")
    (folder / "checkpoints" / "model-100.index").write_text("")
    for path in folder.rglob("*"):
        os.utime(path, (started + 400, started + 400))
    # written at the restart, not by the stretch: the next driver's claim and a scheduler's log
    (folder / "claim.lock").write_text("{}")
    (folder / "slurm").mkdir()
    (folder / "slurm" / "job.out").write_text("queued")
    # a stretch that fails, then one that finishes
    failed = run_logged(python("import sys; print('out of memory', file=sys.stderr); sys.exit(3)") + ["--resume"],
                        folder)
    assert failed.status == "failed" and failed.error == "out of memory" and failed.seconds > 400
    done = run_logged(_metrics_writer(folder), folder)
    assert done.status == "done" and done.metrics == {"average_mAP": 0.5}
    lines = (folder / "reproduce.log").read_text().splitlines()
    head = lines[1].removeprefix("# exit code 0, ").split(" s; ")
    last, (total, stretches) = float(head[0]), head[1].split(" s in ")
    assert stretches == "3 stretches" and float(total) == pytest.approx(done.seconds, abs=0.05)
    assert float(total) == pytest.approx(failed.seconds + last, abs=0.15)       # 400 + failed + last stretch
    assert logged_seconds(folder) == float(total)
    assert lines[2:5] == ["--- stdout", "finishing", "--- stderr"]
    assert "=== earlier stretch: killed, 400.0 s" in lines and "it 100/1500" in lines and "it 120" in lines
    assert any(line.startswith("=== earlier stretch: exit code 3, ") for line in lines) and "out of memory" in lines
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoints", "claim.lock", "metrics.json", "reproduce.log",
                                                        "slurm"]


def test_a_stretch_is_folded_once(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    marker = json.dumps({"started": time.time() - 30})
    (folder / "reproduce.started").write_text(marker)
    (folder / "reproduce.stdout.part").write_text("it 20/1500\n")
    assert run_logged(python("import sys; sys.exit(3)") + ["--resume"], folder).status == "failed"
    # a driver killed right after keeping that stretch, before removing its marker, leaves the marker again
    (folder / "reproduce.started").write_text(marker)
    run_logged(_metrics_writer(folder), folder)
    assert (folder / "reproduce.log").read_text().splitlines()[1].endswith(" in 3 stretches")


def test_command_that_does_not_resume_starts_the_count_anew(tmp_path):
    folder = tmp_path / "run"
    assert run_logged(python("import sys; sys.exit(3)"), folder).status == "failed"
    (folder / "reproduce.started").write_text(json.dumps({"started": time.time() - 50}))   # and a killed one
    cmd = _metrics_writer(folder)[:-1]                                                  # without --resume
    done = run_logged(cmd, folder)
    log = (folder / "reproduce.log").read_text()
    assert done.status == "done" and done.seconds < 50
    assert "stretches" not in log.splitlines()[1] and "earlier stretch" not in log
    assert logged_seconds(folder) == float(log.splitlines()[1].removeprefix("# exit code 0, ").removesuffix(" s"))


def test_display_path_keeps_a_symlinked_folder_inside_the_project(tmp_path, monkeypatch):
    from aher.reproduce import process

    project, elsewhere = tmp_path / "project", tmp_path / "disk" / "runs"
    (elsewhere / "small").mkdir(parents=True)
    project.mkdir()
    (project / "runs").symlink_to(elsewhere)
    monkeypatch.setattr(process, "PROJECT_ROOT", project)
    assert process.display_path(project / "runs" / "small" / "seed0") == "runs/small/seed0"
    assert process.display_path(elsewhere / "small") == str(elsewhere / "small")     # named by its real place
    monkeypatch.chdir(project)
    assert process.display_path("runs/small") == "runs/small"


def _driver(folder, child, setup=""):
    """A driver process (own session) that runs ``child`` through run_logged and prints when it started."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import signal, sys
        from aher.reproduce import process
        {setup}
        process.run_logged([sys.executable, "-c", {child!r}], {str(folder)!r})
    """)], cwd=PROJECT_ROOT, start_new_session=True)


def _child(tmp_path):
    """A command that records every signal it gets into ``signals`` and stops on the first, like a trainer."""
    return textwrap.dedent(f"""
        import signal, sys, time
        from pathlib import Path
        got = Path({str(tmp_path / "signals")!r})
        def stop(signum, frame):
            with open(got, "a") as f:
                f.write(signal.Signals(signum).name + "\\n")
            time.sleep(0.5)                                   # saving a snapshot
            sys.exit(128 + signum)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        Path({str(tmp_path / "ready")!r}).write_text("")
        time.sleep(60)
    """)


def _wait_for(path, driver):
    """Until ``path`` exists (at most 30 s; while ``driver``, when given, runs)."""
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline and (driver is None or driver.poll() is None), f"{path.name} did not appear"
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform != "linux", reason="process groups and signals as on Linux")
def test_an_interrupted_driver_lets_the_command_stop_cleanly(tmp_path):
    # a requeued Slurm job's exit (SystemExit in the driver): the command gets SIGTERM, once
    driver = _driver(tmp_path / "a", _child(tmp_path),
                     setup="signal.signal(signal.SIGUSR1, lambda *a: sys.exit(3))")
    try:
        _wait_for(tmp_path / "ready", driver)
        os.kill(driver.pid, signal.SIGUSR1)
        assert driver.wait(timeout=30) == 3
    finally:
        driver.kill()
    # a driver interrupted while still starting the command leaves it to the parent-death SIGTERM: it may come
    # just after the driver ended
    _wait_for(tmp_path / "signals", None)
    time.sleep(0.7)                                  # a second signal would come within the child's 0.5 s stop
    assert (tmp_path / "signals").read_text() == "SIGTERM\n"
    assert (tmp_path / "a" / "reproduce.started").exists() and not (tmp_path / "a" / "reproduce.log").exists()
    # Ctrl-C in a terminal (SIGINT to the whole group): the command stops on its own SIGINT, not signalled again
    (tmp_path / "ready").unlink()
    (tmp_path / "signals").unlink()
    driver = _driver(tmp_path / "b", _child(tmp_path))
    try:
        _wait_for(tmp_path / "ready", driver)
        os.killpg(driver.pid, signal.SIGINT)
        assert driver.wait(timeout=30) != 0
    finally:
        driver.kill()
    _wait_for(tmp_path / "signals", None)
    time.sleep(0.7)                                  # a second signal would come within the child's 0.5 s stop
    assert (tmp_path / "signals").read_text() == "SIGINT\n"
