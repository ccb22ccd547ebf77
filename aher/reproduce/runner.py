"""Running the plan: reuse, resume or train each run as a subprocess, then its extra tests.

Contract: a run whose ``metrics.json`` exists is reused when its ``config.yaml`` agrees with the
run's overrides (otherwise it is "stale" and counts as failed: ``--force`` retrains); a folder
held by another invocation, Slurm job or trainer is "busy" (:mod:`aher.reproduce.claim`: left
out, as not run, and collected by a later invocation once it ends); a folder with checkpoints but
no metrics (an interrupted run) is continued with ``--resume``; ``force`` deletes and retrains.
Missing runs are claimed, then trained by an executor (:mod:`aher.reproduce.executors`: inline,
local or slurm) as subprocesses of the module entry point ``python -m aher.experiment --setting
S`` (``TRAIN``; the entry scripts' body, ``--quiet``, in the project root), with progress and an
ETA from the mean duration of the finished runs and the executor's parallelism.  Each subprocess
is logged to ``reproduce.log`` in its folder, whose second line holds the exit code and the
duration (read back for a reused run).  A failed run is recorded with the subprocess's one-line
error and the others go on: nothing here raises on a failed run.  A finished run is then tested
on the label spaces of ``PlannedRun.evals`` with ``python -m aher.evaluate`` (``TEST``, into
``<run>/eval_<space>``, reused when done), in this process.  ``on_finished(folder)``, when given, is
called with the folder of each run that training or a test has just finished (the records of
:mod:`aher.reproduce.records`).
"""

import re
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import yaml

from aher.config import parse_override
from aher.reproduce.claim import CLAIM_FILE, Claim, RunBusy, busy_reason
from aher.reproduce.executors import InlineExecutor, Job
from aher.reproduce.plan import eval_dir
from aher.reproduce.process import RunResult, display_path, read_metrics, run_logged
from aher.reproduce.stats import to_percent

TRAIN = [sys.executable, "-m", "aher.experiment"]   # train + test one run (a subprocess: no import of that layer)
TEST = [sys.executable, "-m", "aher.evaluate"]      # test a run on another label space
_LOGGED_TIME = re.compile(r"^# exit code 0, ([0-9.]+) s(?:; ([0-9.]+) s in [0-9]+ stretches)?$", re.M)


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
    """What to do with the run folder: (state, reason); state in reuse, stale, busy, train, resume, retrain."""
    out = Path(out)
    if not force and (out / "metrics.json").is_file():
        mismatch = config_mismatch(out / "config.yaml", overrides)
        if mismatch:
            return "stale", f"{display_path(out)} holds another run ({mismatch}); --force retrains it"
        return "reuse", None
    busy = busy_reason(out)
    if busy:
        return "busy", busy
    if force:
        return ("retrain" if out.exists() else "train"), None
    checkpoints = out / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.glob("*.index")):
        return "resume", None
    return "train", None


def _reused(folder):
    """The result of a finished folder: its metrics and the duration logged when it was made."""
    metrics, error = read_metrics(folder)
    return RunResult("failed" if error else "reused", metrics, logged_seconds(folder), error, str(folder))


def logged_seconds(folder):
    """Seconds of the command that made ``folder``, from the second line of its ``reproduce.log``
    (None: no log, or the logged command failed); a resumed run's all stretches together."""
    try:
        with open(Path(folder) / "reproduce.log", encoding="utf-8", errors="replace") as f:
            head = f.readline() + f.readline()
    except OSError:
        return None
    match = _LOGGED_TIME.search(head)
    return float(match.group(2) or match.group(1)) if match else None


# ----------------------------------------------------------------------------------------------
# One run


def train_once(setting, config, out, overrides, force=False, state=None, announce=None):
    """Reuse, resume or train one run of ``setting`` (a subprocess); never raises on a failed run."""
    out = Path(out)
    if state is None:
        state, reason = inspect_run(out, overrides, force)
        if state in ("stale", "busy"):
            return RunResult("failed", error=reason, out=str(out))
    if state == "reuse":
        return _reused(out)
    claim = Claim(out)
    try:
        claim.acquire(InlineExecutor.name)
    except RunBusy as exc:
        return RunResult("failed", error=str(exc), out=str(out))
    try:
        if state != "retrain" and (out / "metrics.json").is_file():    # finished meanwhile elsewhere
            return _reused(out)
        if state == "retrain":
            clear_folder(out)
        cmd = command(setting, config, out, overrides, resume=state == "resume")
        if announce:
            announce(cmd)
        return run_logged(cmd, out)
    finally:
        claim.release()


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


def _sort_plan(plan, force, log):
    """Results of the finished (reused) and stale runs, [(run, state)] of those to train, and the
    number of busy runs (reported and left out)."""
    results, todo, busy = {}, [], 0
    for run in plan:
        state, reason = inspect_run(run.out, run.overrides, force)
        if state == "reuse":
            results[run.spec] = train_once(run.spec.setting, run.config, run.out, run.overrides, state="reuse")
        elif state == "stale":
            results[run.spec] = RunResult("failed", error=reason, out=str(run.out))
        elif state == "busy":
            busy += 1
            log(f"[busy] {_run_text(run)}: {reason}", flush=True)
        else:
            todo.append((run, state))
    return results, todo, busy


def clear_folder(out, keep=(CLAIM_FILE,)):
    """Delete everything in ``out`` but the files named in ``keep`` (a claimed folder to retrain)."""
    for path in Path(out).iterdir():
        if path.name in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


class _Driver:
    """The executor's callbacks: claim a run just before it starts, log its start and end, keep
    its result.  Callbacks may come from worker threads (local executor): one lock guards all."""

    def __init__(self, todo, results, executor, log, on_finished=None):
        self.results, self.executor, self.log, self.on_finished = results, executor, log, on_finished
        self.states = {id(run): state for run, state in todo}
        self.jobs = [Job(run, run.out, command(run.spec.setting, run.config, run.out, run.overrides), Claim(run.out))
                     for run, _ in todo]
        self.total, self.parallel = len(self.jobs), executor.parallel
        self.t0 = time.monotonic()
        self.durations, self.count, self.ended, self.busy = [], 0, 0, 0
        self.lock = threading.Lock()

    def eta(self):
        if not self.durations or not self.parallel:
            return "?"
        left = self.total - self.ended
        return hms(statistics.mean(self.durations) * -(-left // self.parallel))

    def claim(self, job):
        """Claim the run folder; False (and logged) when it is busy or was finished meanwhile."""
        with self.lock:
            try:
                stale = job.claim.acquire(self.executor.name)
            except RunBusy as exc:
                self.ended += 1
                self.busy += 1
                self.log(f"[busy] {_run_text(job.run)}: {exc}", flush=True)
                return False
            state = self.states[id(job.run)]
            if state != "retrain" and (job.out / "metrics.json").is_file():      # another invocation finished it
                self.ended += 1
                self.results[job.run.spec] = train_once(job.run.spec.setting, job.run.config, job.out,
                                                        job.run.overrides, state="reuse")
                job.claim.release()
                self.log(f"[reuse] {_run_text(job.run)}: finished meanwhile by another invocation", flush=True)
                return False
            if stale:
                slurm = f", Slurm job {stale['slurm_job_id']}" if stale.get("slurm_job_id") else ""
                self.log(f"    {display_path(job.out)}: took over the stale claim of pid {stale.get('pid')} on "
                         f"{stale.get('host')}{slurm}", flush=True)
            if state == "retrain":
                clear_folder(job.out)
            return True

    def started(self, job, where):
        with self.lock:
            self.count += 1
            resuming = " · resuming" if "--resume" in job.command_now() else ""
            self.log(f"[{self.count}/{self.total}] {_run_text(job.run)} ({_uses_text(job.run.uses)}){resuming}"
                     + (f" · {where}" if where else "")
                     + f" · elapsed {hms(time.monotonic() - self.t0)} · ETA {self.eta()}", flush=True)

    def finished(self, job, result):
        with self.lock:
            self.ended += 1
            self.results[job.run.spec] = result
            job.claim.release()
            if result.status == "done":
                self.durations.append(result.seconds)
                self.log(f"    {_run_text(job.run)} done in {hms(result.seconds)}: average mAP "
                         f"{_pct(result.metrics, 'average_mAP')}, AUC {_pct(result.metrics, 'AUC')}", flush=True)
                if self.on_finished:
                    self.on_finished(job.out)
            elif result.interrupted:
                self.log(f"    {_run_text(job.run)} interrupted after {hms(result.seconds or 0)}, its snapshot kept: "
                         "rerun the same command to resume it", flush=True)
            else:
                log = job.out / "reproduce.log"
                self.log(f"    {_run_text(job.run)} FAILED after {hms(result.seconds or 0)}: {result.error}"
                         + (f"  (log: {display_path(log)})" if log.is_file() else ""), flush=True)


def _train_all(todo, results, log, executor, on_finished=None):
    """Train the runs of ``todo`` with ``executor``, each claimed just before it starts; a run's
    claim ends with it, but a Slurm job's claim stays with the job while it is active (``--no-wait``,
    or a wait that was interrupted)."""
    if not todo:
        return 0
    driver = _Driver(todo, results, executor, log, on_finished)
    if executor.name != InlineExecutor.name:
        log(executor.describe(), flush=True)
    try:
        executor.run(driver.jobs, driver.claim, driver.started, driver.finished)
    finally:
        for job in driver.jobs:
            if job.slurm_job is not None and job.run.spec not in results:
                job.claim.hand_over()
            else:
                job.claim.release()
    ended = [results[job.run.spec].status for job in driver.jobs if job.run.spec in results]
    trained, failed = ended.count("done"), ended.count("failed")
    if trained or failed:
        log(f"trained {trained} runs in {hms(time.monotonic() - driver.t0)}"
            + (f"; {failed} failed" if failed else ""), flush=True)
    left = sum(job.slurm_job is not None and job.run.spec not in results for job in driver.jobs)
    if left:
        log(f"{left} runs are left to their Slurm jobs; once they end, rerun the same command "
            "(or with --no-train) to collect them into the tables", flush=True)
    return driver.busy


def _test_all(plan, results, log, on_finished=None):
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
                if on_finished:
                    on_finished(run.out)
            elif result.status == "failed":
                log(f"[test] {_run_text(run)} on the {space}-set classes FAILED: {result.error}", flush=True)


def execute(plan, force=False, log=print, train=True, executor=None, on_finished=None):
    """Run the plan with ``executor`` (default inline); return {RunSpec: RunResult} (and
    {(space, RunSpec): RunResult} of the extra tests).  ``train=False`` only collects the finished
    runs; runs not finished (not trained, busy, left to Slurm jobs) are absent: "not run"."""
    executor = executor or InlineExecutor()
    results, todo, busy = _sort_plan(plan, force, log)
    reused = sum(r.status == "reused" for r in results.values())
    log(f"plan: {len(plan)} runs; {reused} reused, {len(todo)} to train"
        + (f", {len(results) - reused} unusable" if len(results) > reused else "")
        + ("" if train or not todo else " (--no-train: left out of the tables as 'not run')"), flush=True)
    busy += _train_all(todo if train else [], results, log, executor, on_finished)
    if busy:
        log(f"{busy} runs were busy (another invocation, Slurm job or trainer holds them) and are 'not run' in "
            "these tables; once they end, rerun the same command (or with --no-train) to collect them", flush=True)
    _test_all(plan, results, log, on_finished)
    return results
