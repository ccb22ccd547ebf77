"""Running the plan: reuse, resume or train each run as a subprocess, then its extra tests.

Contract: a run whose ``metrics.json`` exists is reused when its ``config.yaml`` agrees with the
run's overrides (otherwise it is "stale" and counts as failed: ``--force`` retrains); a folder
with checkpoints but no metrics (an interrupted run) is continued with ``--resume``; ``force``
deletes and retrains.  Missing runs are trained one after the other as subprocesses of the module
entry point ``python -m aher.experiment --setting S`` (``TRAIN``; the entry scripts' body, ``--quiet``,
in the project root), with progress and an ETA from the mean duration of the finished runs.  Each subprocess is
logged to ``reproduce.log`` in its folder, whose second line holds the exit code and the duration
(read back for a reused run).  A failed run is recorded with the subprocess's one-line error and
the next one starts: nothing here raises on a failed run.  A finished run is then tested on the
label spaces of ``PlannedRun.evals`` with ``python -m aher.evaluate`` (``TEST``, into
``<run>/eval_<space>``, reused when done).
Limits: no parallel runs.
"""

import json
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from aher.config import parse_override
from aher.paths import PROJECT_ROOT
from aher.reproduce.plan import eval_dir
from aher.reproduce.stats import to_percent

TRAIN = [sys.executable, "-m", "aher.experiment"]   # train + test one run (a subprocess: no import of that layer)
TEST = [sys.executable, "-m", "aher.evaluate"]      # test a run on another label space
_LOGGED_TIME = re.compile(r"^# exit code 0, ([0-9.]+) s$", re.M)


@dataclass
class RunResult:
    status: str                  # reused | done | failed (| missing: not run, in the tables)
    metrics: dict | None = None
    seconds: float | None = None
    error: str | None = None
    out: str | None = None


def display_path(path):
    """``path`` relative to the project root when inside it (the subprocesses' working folder)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path.resolve())


def hms(seconds):
    """Seconds as ``H:MM:SS``."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# ----------------------------------------------------------------------------------------------
# Commands


def command(setting, config, out, overrides, resume=False):
    """The command line that trains (or with ``resume`` continues) one run of ``setting``, then tests it."""
    cmd = [*TRAIN, "--setting", setting, "--config", display_path(config), "--out", display_path(out)]
    for text in overrides:
        cmd += ["--set", text]
    cmd.append("--quiet")
    if resume:
        cmd.append("--resume")
    return cmd


def test_command(config, out, overrides, space):
    """The command line that tests the run ``out`` on the label space ``space``."""
    cmd = [*TEST, "--config", display_path(config), "--checkpoint", display_path(out),
           "--out", display_path(eval_dir(out, space)), "--label-space", space]
    for text in overrides:
        cmd += ["--set", text]
    return cmd + ["--quiet"]


# ----------------------------------------------------------------------------------------------
# A run folder's state


def _lookup(config, keys):
    """(found, value) of the dotted path ``keys`` in a nested dict."""
    node = config
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def config_mismatch(config_path, overrides):
    """First override that the run folder's ``config.yaml`` contradicts, as text (None: agrees or absent).

    The file is the run's record, read as plain YAML and not validated against today's config
    schema: a run made before a key existed is still compared on the overrides' keys."""
    config_path = Path(config_path)
    if not config_path.is_file():
        return None
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError:
        return f"{config_path}: unreadable"
    for text in overrides:
        keys, want = parse_override(text)
        found, value = _lookup(config, keys)
        if not found:
            return f"{'.'.join(keys)} is absent from {config_path.name} (wanted {want!r})"
        if value != want:
            return f"{'.'.join(keys)} is {value!r} in {config_path.name}, wanted {want!r}"
    return None


def inspect_run(out, overrides, force=False):
    """What to do with the run folder: (state, reason); state in reuse, stale, train, resume, retrain."""
    out = Path(out)
    if force:
        return ("retrain" if out.exists() else "train"), None
    if (out / "metrics.json").is_file():
        mismatch = config_mismatch(out / "config.yaml", overrides)
        if mismatch:
            return "stale", f"{display_path(out)} holds another run ({mismatch}); --force retrains it"
        return "reuse", None
    checkpoints = out / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.glob("*.index")):
        return "resume", None
    return "train", None


def _read_metrics(out):
    try:
        return json.loads((Path(out) / "metrics.json").read_text()), None
    except (OSError, ValueError) as exc:
        return None, f"{display_path(Path(out) / 'metrics.json')}: unreadable ({exc})"


def _reused(folder):
    """The result of a finished folder: its metrics and the duration logged when it was made."""
    metrics, error = _read_metrics(folder)
    return RunResult("failed" if error else "reused", metrics, logged_seconds(folder), error, str(folder))


def logged_seconds(folder):
    """Seconds of the command that made ``folder``, from the second line of its ``reproduce.log``
    (None: no log, or the logged command failed).  A resumed run logs only its last stretch."""
    try:
        with open(Path(folder) / "reproduce.log", encoding="utf-8", errors="replace") as f:
            head = f.readline() + f.readline()
    except OSError:
        return None
    match = _LOGGED_TIME.search(head)
    return float(match.group(1)) if match else None


# ----------------------------------------------------------------------------------------------
# One run


def _error_line(stderr, returncode):
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else f"exit code {returncode}"


def run_logged(cmd, folder):
    """Run ``cmd`` in the project root, log it to ``<folder>/reproduce.log`` and read the
    ``metrics.json`` it should have written into ``folder``; never raises on a failed command."""
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - start
    (folder / "reproduce.log").write_text(f"$ {shlex.join(cmd)}\n# exit code {proc.returncode}, {seconds:.1f} s\n"
                                          f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        return RunResult("failed", seconds=seconds, error=_error_line(proc.stderr, proc.returncode), out=str(folder))
    if not (folder / "metrics.json").is_file():
        return RunResult("failed", seconds=seconds, error="the run finished without metrics.json", out=str(folder))
    metrics, error = _read_metrics(folder)
    return RunResult("failed" if error else "done", metrics, seconds, error, str(folder))


def train_once(setting, config, out, overrides, force=False, state=None, announce=None):
    """Reuse, resume or train one run of ``setting`` (a subprocess); never raises on a failed run."""
    out = Path(out)
    if state is None:
        state, reason = inspect_run(out, overrides, force)
        if state == "stale":
            return RunResult("failed", error=reason, out=str(out))
    if state == "reuse":
        return _reused(out)
    if state == "retrain" and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = command(setting, config, out, overrides, resume=state == "resume")
    if announce:
        announce(cmd)
    return run_logged(cmd, out)


def evaluate_once(run, space):
    """Test a finished run on another label space (reused when its metrics exist); never raises.

    ``--force`` needs no case of its own: retraining deletes the run folder, tests included."""
    folder = eval_dir(run.out, space)
    if (folder / "metrics.json").is_file():
        return _reused(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return run_logged(test_command(run.config, run.out, run.overrides, space), folder)


# ----------------------------------------------------------------------------------------------
# The plan


def _pct(metrics, key):
    value = to_percent(key, metrics.get(key))
    return "?" if value is None else f"{value:.2f}"


def _uses_text(uses):
    return ", ".join(dict.fromkeys(table for table, _ in uses))


def _run_text(run):
    return f"{run.spec.setting} · {run.spec.label} · seed {run.spec.seed}"


def _sort_plan(plan, force):
    """Results of the finished (reused) and stale runs, and [(run, state)] of those to train."""
    results, todo = {}, []
    for run in plan:
        state, reason = inspect_run(run.out, run.overrides, force)
        if state == "reuse":
            results[run.spec] = train_once(run.spec.setting, run.config, run.out, run.overrides, state="reuse")
        elif state == "stale":
            results[run.spec] = RunResult("failed", error=reason, out=str(run.out))
        else:
            todo.append((run, state))
    return results, todo


def _train_all(todo, results, log):
    """Train the runs of ``todo`` one after the other, logging progress and an ETA."""
    t0 = time.monotonic()
    durations = []
    for i, (run, state) in enumerate(todo, 1):
        eta = hms(statistics.mean(durations) * (len(todo) - i + 1)) if durations else "?"
        log(f"[{i}/{len(todo)}] {_run_text(run)} ({_uses_text(run.uses)}){' · resuming' if state == 'resume' else ''}"
            f" · elapsed {hms(time.monotonic() - t0)} · ETA {eta}", flush=True)
        result = train_once(run.spec.setting, run.config, run.out, run.overrides, state=state)
        results[run.spec] = result
        if result.status == "done":
            durations.append(result.seconds)
            log(f"    done in {hms(result.seconds)}: average mAP {_pct(result.metrics, 'average_mAP')}, "
                f"AUC {_pct(result.metrics, 'AUC')}", flush=True)
        else:
            log(f"    FAILED after {hms(result.seconds or 0)}: {result.error}  (log: "
                f"{display_path(run.out / 'reproduce.log')})", flush=True)
    if todo:
        log(f"trained {len(todo)} runs in {hms(time.monotonic() - t0)}", flush=True)


def _test_all(plan, results, log):
    """Test every run that has a result on its extra label spaces (a failed run is not tested)."""
    for run in plan:
        for space in run.evals:
            if run.spec not in results:
                continue
            if results[run.spec].status == "failed":
                result = RunResult("failed", error=f"not tested: the run failed ({results[run.spec].error})",
                                   out=str(eval_dir(run.out, space)))
            else:
                result = evaluate_once(run, space)
            results[(space, run.spec)] = result
            if result.status == "done":
                log(f"[test] {_run_text(run)} on the {space}-set classes: average mAP "
                    f"{_pct(result.metrics, 'average_mAP')} ({hms(result.seconds)})", flush=True)
            elif result.status == "failed":
                log(f"[test] {_run_text(run)} on the {space}-set classes FAILED: {result.error}", flush=True)


def execute(plan, force=False, log=print, train=True):
    """Run the plan; return {RunSpec: RunResult} (and {(space, RunSpec): RunResult} of the extra
    tests).  ``train=False`` only collects the finished runs (the others are left out: "not run")."""
    results, todo = _sort_plan(plan, force)
    reused = sum(r.status == "reused" for r in results.values())
    log(f"plan: {len(plan)} runs; {reused} reused, {len(todo)} to train"
        + (f", {len(results) - reused} unusable" if len(results) > reused else "")
        + ("" if train or not todo else " (--no-train: left out of the tables as 'not run')"), flush=True)
    _train_all(todo if train else [], results, log)
    _test_all(plan, results, log)
    return results
