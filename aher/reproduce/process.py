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


def run_logged(cmd, folder, env=None):
    """Run ``cmd`` in the project root, log it to ``<folder>/reproduce.log`` and read the
    ``metrics.json`` it should have written into ``folder``; never raises on a failed command."""
    folder = Path(folder)
    shown = ["env", *(f"{k}={v}" for k, v in env.items()), *cmd] if env else list(cmd)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {name: folder / f"reproduce.{name}.part" for name in ("stdout", "stderr")}
    start = time.monotonic()
    with open(parts["stdout"], "w") as out, open(parts["stderr"], "w") as err:
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                              env={**os.environ, **env} if env else None,
                              preexec_fn=_terminate_with_parent if _prctl else None)
    seconds = time.monotonic() - start
    stdout, stderr = (parts[name].read_text(errors="replace") for name in ("stdout", "stderr"))
    (folder / "reproduce.log").write_text(f"$ {shlex.join(shown)}\n# exit code {proc.returncode}, {seconds:.1f} s\n"
                                          f"--- stdout\n{stdout}--- stderr\n{stderr}")
    for part in parts.values():
        part.unlink()
    if proc.returncode != 0:
        return RunResult("failed", seconds=seconds, error=error_line(stderr, proc.returncode), out=str(folder))
    if not (folder / "metrics.json").is_file():
        return RunResult("failed", seconds=seconds, error="the run finished without metrics.json", out=str(folder))
    metrics, error = read_metrics(folder)
    return RunResult("failed" if error else "done", metrics, seconds, error, str(folder))
