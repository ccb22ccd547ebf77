"""One run's subprocess, logged into its folder: the unit every executor runs.

Contract: ``run_logged(cmd, folder, env)`` runs ``cmd`` in the project root (with ``env`` added
to this process's environment), writes ``<folder>/reproduce.log`` (first line the command as a
shell line, ``env K=V ...`` prefixed when ``env`` is given; second line ``# exit code N, S s``;
then stdout and stderr) and returns a :class:`RunResult` from the ``metrics.json`` the command
should have written into ``folder``.  It never raises on a failed command: the result carries the
command's one-line error (its last ``error:`` line, else its last stderr line).
While the command runs, its stdout and stderr go to ``<folder>/reproduce.stdout.part`` and
``reproduce.stderr.part`` (files, not pipes: the command never depends on this process staying
alive to read them), merged into ``reproduce.log`` when it ends.  On Linux the command gets
SIGTERM when this process dies (even by SIGKILL): a trainer then saves its interrupted snapshot
and stops, and its ``.part`` files keep what it printed.
A command that resumes (``--resume`` in it) continues the stretches before it: a stretch that
failed, or whose driver was killed (``reproduce.started`` left behind; it ended at its own last
write, ``OWN_OUTPUTS``), is kept with its time in ``reproduce.stretches.json`` and its output in
``reproduce.earlier.part``, and the finished log counts them all (second line ``# exit code 0, S s;
T s in N stretches``, T the sum, then each earlier stretch's streams after the last one's).  A
command that does not resume starts the count anew.  When this process is interrupted while the
command runs (Ctrl-C, a requeued Slurm job's exit), the command gets SIGTERM and ``STOP_GRACE``
seconds to stop (a trainer saves its interrupted snapshot) before it is killed.
"""

import ctypes
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aher.paths import PROJECT_ROOT
from evaluation.cli_common import write_json_atomic


@dataclass
class RunResult:
    status: str                  # reused | done | failed (| missing: not run, in the tables)
    metrics: dict | None = None
    seconds: float | None = None
    error: str | None = None
    out: str | None = None
    interrupted: bool = False    # failed: the command stopped on a signal, its snapshot kept


def display_path(path):
    """``path`` relative to the project root when inside it (the subprocesses' working folder),
    also when a folder on the way is a symlink to elsewhere (``runs/reproduce`` on another disk)."""
    path = Path(path)
    for candidate in (Path(os.path.abspath(path)), path.resolve()):
        try:
            return str(candidate.relative_to(PROJECT_ROOT))
        except ValueError:
            pass
    return str(path.resolve())


def read_metrics(out):
    """(metrics of ``out/metrics.json``, None) or (None, one-line error)."""
    try:
        return json.loads((Path(out) / "metrics.json").read_text()), None
    except (OSError, ValueError) as exc:
        return None, f"{display_path(Path(out) / 'metrics.json')}: unreadable ({exc})"


def error_line(stderr, returncode):
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else f"exit code {returncode}"


PR_SET_PDEATHSIG = 1
_prctl = getattr(ctypes.CDLL(None), "prctl", None) if sys.platform == "linux" else None


def _terminate_with_parent():
    """In the child, before exec: ask Linux for SIGTERM when the parent (thread) ends."""
    _prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


#: exit codes and last stderr line of a trainer stopped by SIGINT / SIGTERM after saving its snapshot
#: (a Ctrl-C outside training, e.g. while the graph is built, exits 130 with "error: interrupted")
INTERRUPTED_EXIT_CODES = (130, 143)
INTERRUPTED_LINE = "interrupted: "

STARTED = "reproduce.started"
EARLIER = "reproduce.earlier.part"
STRETCHES = "reproduce.stretches.json"
#: what a stretch itself writes into its folder: where a killed stretch's end is read from (not the
#: claim, which the next driver rewrites, nor a scheduler's logs, written while a job waits)
OWN_OUTPUTS = ("reproduce.stdout.part", "reproduce.stderr.part", "train.log", "diagnostics.json", "checkpoints/*",
               "tb/*")
#: seconds a command gets to stop after SIGTERM when this process is interrupted (a trainer saves
#: its interrupted snapshot), before it is killed
STOP_GRACE = 120.0


def _read_parts(parts):
    """{"stdout": text, "stderr": text} of the ``.part`` files ("" for a missing one)."""
    return {name: path.read_text(errors="replace") if path.exists() else "" for name, path in parts.items()}


def _streams(texts):
    """Both streams as the log shows them, each under its ``--- name`` line and ending in a newline."""
    return "".join(f"--- {name}\n{text}" + ("" if not text or text.endswith("\n") else "\n")
                   for name, text in texts.items())


def _stretches(folder):
    try:
        records = json.loads((folder / STRETCHES).read_text())
    except (OSError, ValueError):
        return []
    return records if isinstance(records, list) else []


def _keep_earlier(folder, how, started, seconds, streams):
    """Add a stretch that did not finish the command to the folder's earlier stretches (once)."""
    records = _stretches(folder)
    if any(r.get("started") == started for r in records):
        return
    records.append({"how": how, "started": started, "seconds": round(seconds, 1)})
    with open(folder / EARLIER, "a") as f:
        f.write(f"=== earlier stretch: {how}, {seconds:.1f} s\n{streams}")
    write_json_atomic(folder / STRETCHES, records)


def _last_own_write(folder):
    times = [p.stat().st_mtime for pattern in OWN_OUTPUTS for p in folder.glob(pattern) if p.is_file()]
    return max(times, default=None)


def _fold_killed_stretch(folder, parts):
    """Keep the stretch whose driver died before logging it (its ``STARTED`` marker is left); it
    ended at its own last write."""
    marker = folder / STARTED
    try:
        started = float(json.loads(marker.read_text())["started"])
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):
        started = None
    ended = _last_own_write(folder)
    seconds = max(0.0, ended - started) if started is not None and ended is not None else 0.0
    _keep_earlier(folder, "killed", started, seconds, _streams(_read_parts(parts)))
    marker.unlink()


def _run_to_the_end(cmd, out, err, env):
    """Run ``cmd`` to its exit code.  When this process is interrupted meanwhile, the command gets
    ``STOP_GRACE`` seconds to stop before SIGKILL: after Ctrl-C it has had the terminal's SIGINT
    (another signal would stop a trainer at once, without its snapshot), after anything else (the
    SystemExit of a requeued job) it gets SIGTERM.  Another interruption meanwhile kills it at once."""
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                            env={**os.environ, **env} if env else None,
                            preexec_fn=_terminate_with_parent if _prctl else None)
    try:
        return proc.wait()
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt):
            proc.terminate()
        try:
            proc.wait(timeout=STOP_GRACE)
        except BaseException:
            proc.kill()
            proc.wait()
        raise


def run_logged(cmd, folder, env=None):
    """Run ``cmd`` in the project root, log it to ``<folder>/reproduce.log`` and read the
    ``metrics.json`` it should have written into ``folder``; never raises on a failed command."""
    folder = Path(folder)
    shown = ["env", *(f"{k}={v}" for k, v in env.items()), *cmd] if env else list(cmd)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {name: folder / f"reproduce.{name}.part" for name in ("stdout", "stderr")}
    if "--resume" in cmd:
        _fold_killed_stretch(folder, parts)
    else:
        for name in (STARTED, EARLIER, STRETCHES):
            (folder / name).unlink(missing_ok=True)
    started = time.time()
    (folder / STARTED).write_text(json.dumps({"started": started}))
    start = time.monotonic()
    with open(parts["stdout"], "w") as out, open(parts["stderr"], "w") as err:
        returncode = _run_to_the_end(cmd, out, err, env)
    seconds = time.monotonic() - start
    texts = _read_parts(parts)
    streams = _streams(texts)
    earlier = (folder / EARLIER).read_text(errors="replace") if (folder / EARLIER).exists() else ""
    times = [float(r.get("seconds") or 0.0) for r in _stretches(folder)]
    total = f"; {seconds + sum(times):.1f} s in {len(times) + 1} stretches" if times else ""
    (folder / "reproduce.log").write_text(f"$ {shlex.join(shown)}\n# exit code {returncode}, {seconds:.1f} s{total}\n"
                                          f"{streams}{earlier}")
    if returncode != 0:
        _keep_earlier(folder, f"exit code {returncode}", started, seconds, streams)
    else:
        for name in (EARLIER, STRETCHES):
            (folder / name).unlink(missing_ok=True)
    seconds += sum(times)
    (folder / STARTED).unlink()
    for part in parts.values():
        part.unlink()
    if returncode != 0:
        error = error_line(texts["stderr"], returncode)
        return RunResult("failed", seconds=seconds, error=error, out=str(folder),
                         interrupted=returncode in INTERRUPTED_EXIT_CODES and error.startswith(INTERRUPTED_LINE))
    if not (folder / "metrics.json").is_file():
        return RunResult("failed", seconds=seconds, error="the run finished without metrics.json", out=str(folder))
    metrics, error = read_metrics(folder)
    return RunResult("failed" if error else "done", metrics, seconds, error, str(folder))
