"""Stopping a training run cleanly on SIGINT (Ctrl-C) or SIGTERM (``kill``, Slurm preemption).

Contract: inside ``with StopRequest(log) as stop:`` the first SIGINT/SIGTERM only sets
``stop.signal_name``; the training loop checks it at every sub-step boundary, saves a snapshot
and raises :class:`TrainingInterrupted` (exit code 130 for SIGINT, 143 for SIGTERM) whose
message says how to resume.  After the first signal both handlers are reset to the system
default, so a second Ctrl-C ends the process at once.  On leaving the block the previous
handlers come back.  Outside the main thread (where handlers cannot be installed) it does
nothing.  :func:`resume_command` rebuilds the command line of this process with
``--out RUN --resume``.
Limits: a signal that arrives while a sub-step's ``session.run`` executes is acted on when that
sub-step returns (TensorFlow kernels are not interrupted midway).
"""

import shlex
import signal
import sys
import threading

from aher.errors import UserError

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


class TrainingInterrupted(UserError):
    """Training stopped on a signal after saving a snapshot (printed as ``interrupted: ...``)."""

    label = "interrupted"

    def __init__(self, message, signal_name):
        super().__init__(message)
        self.exit_code = EXIT_CODES.get(signal_name, 130)


def resume_command(run_path):
    """This process's command line with ``--out RUN --resume`` (module form when started with ``-m``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    head = ["python", "-m", spec.name.removesuffix(".__main__")] if spec and spec.name else ["python", sys.argv[0]]
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if arg == "--out":
            skip = True
            continue
        if arg.startswith("--out=") or arg == "--resume":
            continue
        args.append(arg)
    return shlex.join(head + args + ["--out", str(run_path), "--resume"])


class StopRequest:
    def __init__(self, log=print):
        self.signal_name = None
        self._log = log
        self._previous = {}

    def __bool__(self):
        return self.signal_name is not None

    def _handle(self, signum, frame):
        self.signal_name = signal.Signals(signum).name
        for sig in self._previous:
            signal.signal(sig, signal.SIG_DFL)
        self._log(f"{self.signal_name} received: saving a snapshot at the next sub-step boundary "
                  "(press Ctrl-C again to stop at once, losing the work since the last snapshot)")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
