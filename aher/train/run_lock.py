"""Ownership of a run folder: one training process at a time.

Contract: ``RunLock(folder).acquire()`` takes an exclusive ``flock`` on ``folder/run.lock`` and
writes the owner's host, pid, Slurm job id (when set), start time and command line into it;
``release()`` empties the file and drops the lock.  While a live process holds the lock, a second
``acquire`` is a one-line :class:`RunLockedError` naming that owner.  The kernel drops the lock
when its process dies (crash, ``kill -9``, a preempted job), so a stale lock needs no clean-up: the
next ``acquire`` succeeds and returns the dead owner's record (the file was not emptied), which
the caller logs as taken over.
Limits: advisory (a process that ignores the file is not stopped); on network file systems it is
as reliable as their ``flock`` (NFSv4 maps it to byte-range locks, which work across hosts).
"""

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from aher.errors import UserError

LOCK_FILE = "run.lock"


class RunLockedError(UserError):
    """The run folder belongs to another live process."""


def owner_record():
    """What this process writes into the lock file."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)[:500]}


def describe(owner):
    """``pid 123 on host since 2026-12-03 06:00:00`` (with the Slurm job when there is one)."""
    if not owner:
        return "another process"
    job = f", Slurm job {owner['slurm_job_id']}" if owner.get("slurm_job_id") else ""
    return f"pid {owner.get('pid')} on {owner.get('host')}{job} since {owner.get('since')}"


def parse_record(text):
    """The record in a lock file's text: None when empty, ``{}`` when unreadable."""
    if not text.strip():
        return None
    try:
        owner = json.loads(text)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


class RunLock:
    def __init__(self, folder):
        self.path = Path(folder) / LOCK_FILE
        self._fd = None

    @property
    def owned(self):
        return self._fd is not None

    def read(self):
        """The record in the lock file (None when empty or absent)."""
        try:
            return parse_record(self.path.read_text())
        except FileNotFoundError:
            return None

    def _lock(self, fd):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = self.read()
            os.close(fd)
            raise RunLockedError(f"{self.path.parent} is in use by {describe(owner)} (lock {self.path}); "
                                 "wait for it to finish or use another --out") from None

    def check_free(self):
        """Raise :class:`RunLockedError` if a live process owns the folder now (nothing is created)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        self._lock(fd)
        os.close(fd)

    def acquire(self):
        """Own the folder; return the record of a dead owner taken over (None when it was free)."""
        if self.owned:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        self._lock(fd)
        previous = parse_record(os.pread(fd, 1 << 16, 0).decode(errors="replace"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner_record()).encode(), 0)
        self._fd = fd
        return previous

    def release(self, keep=None):
        """Empty the lock file (or leave the record ``keep`` in it) and drop the lock (no-op when not owned)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            if keep:
                os.pwrite(self._fd, json.dumps(keep).encode(), 0)
        except OSError:
            pass
        os.close(self._fd)          # closing the descriptor drops the flock
        self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
