"""A reproduce invocation's claim on a run folder: each run of a plan is trained by one invocation.

Contract: ``Claim(folder).acquire(executor)`` takes an exclusive ``flock`` on ``folder/claim.lock``
and writes the claimant (host, pid, executor, since; later the Slurm job id, ``set_job``) into it;
it raises :class:`RunBusy` (one line naming the owner) when the folder is held: by another live
invocation (its flock), by a Slurm job of an earlier invocation that is still pending or running
(the record's job id, asked of ``squeue``), or by a live trainer (the trainer's own ``run.lock``,
:mod:`aher.train.run_lock`).  ``release()`` empties the record and drops the lock;
``hand_over()`` drops the lock but keeps the record, so the submitted Slurm job keeps the claim
until it ends (``--no-wait``).  A claim whose process died or whose job ended is stale: the kernel
dropped its flock, and ``squeue`` no longer lists the job as active, so the next ``acquire``
takes it over.  ``busy_reason(folder)`` is the same check without taking anything.
Limits: advisory, like the trainer's lock; a job id that cannot be checked (no ``squeue`` on this
host) counts as active, so a run is never trained twice: delete ``claim.lock`` to take it over.
"""

import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from aher.errors import UserError
from aher.train.run_lock import RunLock, RunLockedError, parse_record

CLAIM_FILE = "claim.lock"
#: squeue states of a job that may still train (the others have ended)
ACTIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
                 "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"}


class RunBusy(UserError):
    """Another invocation, Slurm job or trainer holds the run folder."""


def slurm_job_state(job_id):
    """The job's state as ``squeue`` prints it; ``"ENDED"`` when squeue no longer lists it;
    ``"UNKNOWN"`` when it cannot be asked (no squeue, or squeue failed for another reason)."""
    if shutil.which("squeue") is None:
        return "UNKNOWN"
    try:
        proc = subprocess.run(["squeue", "-h", "-t", "all", "-j", str(job_id), "-o", "%T"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "UNKNOWN"
    if proc.returncode != 0:
        return "ENDED" if "Invalid job id" in proc.stderr else "UNKNOWN"
    states = proc.stdout.split()
    return states[0] if states else "ENDED"


def job_active(job_id):
    """(active, state) of a Slurm job; an unknown state counts as active."""
    state = slurm_job_state(job_id)
    return state in ACTIVE_STATES or state == "UNKNOWN", state


def _owner_text(record):
    if not record:
        return "another reproduce invocation"
    who = f"pid {record.get('pid')} on {record.get('host')} ({record.get('executor')} executor)"
    return f"{who} since {record.get('since')}"


class Claim:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / CLAIM_FILE
        self._fd = None
        self.record = None

    def read(self):
        try:
            return parse_record(self.path.read_text())
        except FileNotFoundError:
            return None

    def _job_reason(self, record):
        job = (record or {}).get("slurm_job_id")
        if not job:
            return None
        active, state = job_active(job)
        if not active:
            return None
        where = "state unknown: squeue cannot be asked here" if state == "UNKNOWN" else state
        return (f"{self.folder} is claimed by Slurm job {job} ({where}), submitted by {_owner_text(record)}; "
                f"it is collected by a later invocation once it ends (delete {self.path} to take it over)")

    def _trainer_reason(self):
        try:
            RunLock(self.folder).check_free()
        except RunLockedError as exc:
            return str(exc)
        return None

    def acquire(self, executor):
        """Claim the folder for this process (RunBusy when held); return the stale record taken over."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunBusy(f"{self.folder} is claimed by {_owner_text(self.read())}") from None
        previous = parse_record(os.pread(fd, 1 << 16, 0).decode(errors="replace"))
        reason = self._job_reason(previous) or self._trainer_reason()
        if reason:
            os.close(fd)
            raise RunBusy(reason)
        self._fd = fd
        self.record = {"host": socket.gethostname(), "pid": os.getpid(), "executor": executor,
                       "slurm_job_id": None, "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        self._write()
        return previous

    def _write(self):
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(self.record).encode(), 0)

    def set_job(self, job_id):
        """Record the Slurm job that trains the run."""
        self.record["slurm_job_id"] = str(job_id)
        self._write()

    def _drop(self, empty):
        if self._fd is None:
            return
        if empty:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
        os.close(self._fd)
        self._fd = None

    def release(self):
        """Empty the record and drop the lock (the run is finished or failed here)."""
        self._drop(empty=True)

    def hand_over(self):
        """Drop the lock, keep the record: the recorded Slurm job holds the claim while it is active."""
        self._drop(empty=False)


def busy_reason(folder):
    """Why ``folder`` cannot be claimed now, as one line (None: it can); takes nothing."""
    claim = Claim(folder)
    if not claim.path.is_file():
        return claim._trainer_reason() if claim.folder.is_dir() else None
    fd = os.open(claim.path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return f"{claim.folder} is claimed by {_owner_text(claim.read())}"
    finally:
        os.close(fd)
    return claim._job_reason(claim.read()) or claim._trainer_reason()

