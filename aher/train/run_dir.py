"""A training run's folder: config snapshot, checkpoints with resume, TensorBoard, text log.

Contract: ``RunDir(path, config, resume)`` prepares ``path``:

    config.yaml        the resolved config (written at start; on resume it must match, except
                       for keys listed in RESUMABLE_CHANGES such as the iteration count)
    train.log          plain-text log (appended)
    tb/                TensorBoard event files
    checkpoints/       ``model.ckpt-<iteration>`` snapshots (tf.compat.v1.train.Saver)

    run.lock           owner of the folder while a process trains in it (``aher.train.run_lock``)

The folder is taken first (a second trainer on it is a one-line error naming the owner; the lock
of a dead process is taken over and logged), then checked: a folder that already holds
checkpoints is never silently overwritten (without ``resume`` it is an error naming the
folder), and ``resume`` on a folder without any snapshot is an error too (never a silent
restart).  Nothing is written before these checks pass; with ``start=False`` the sub-folders,
``config.yaml`` and the log are made by :meth:`RunDir.start` (after the caller's own checks), and
a folder created only to hold the lock is removed again by :meth:`RunDir.close` if the run never
started.  Use it as a context manager or call ``close()``, which releases the lock.
``NanGuard`` stops training with a message naming the loss and the iteration.
Limits: it builds no model and runs no step.
"""

import datetime
import math
from pathlib import Path

import yaml

from aher.errors import UserError
from aher.config import as_mapping, save_config
from aher.config.loader import flatten
from aher.train.checkpoints import (checkpoint_iteration, latest_checkpoint, list_checkpoints, read_partial,
                                    snapshots_on_disk)
from aher.train.run_lock import RunLock, describe

RESUMABLE_CHANGES = ("train.iterations", "train.snapshot_every", "train.log_every", "_source")


class TrainingError(UserError):
    """Training cannot go on (NaN loss, bad run folder); one-line message."""


class RunDir:
    def __init__(self, path, config, resume=False, start=True, resume_path=None, resumable=False):
        self.path = Path(path)
        self.resume_path = Path(resume_path or path)    # the folder a user passes to --out to resume
        self.checkpoint_dir = self.path / "checkpoints"
        self.tb_dir = self.path / "tb"
        self.config = config
        self._log = None
        self._created = not self.path.exists()
        self._lock = RunLock(self.path)
        self.took_over = self._lock.acquire()
        try:
            self._check(resume, resumable)
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    def _check(self, resume, resumable):
        on_disk = snapshots_on_disk(self.checkpoint_dir)
        partial = read_partial(self.checkpoint_dir)
        if (on_disk or partial) and not resume:
            name = Path(on_disk[-1] if on_disk else partial["checkpoint"]).name
            raise TrainingError(f"{self.path} already holds checkpoints ({name}): "
                                "pass --resume to continue it, or choose another --out")
        if resume and not (on_disk or partial or resumable):
            raise TrainingError(f"{self.path}: nothing to resume (no snapshot in {self.checkpoint_dir}); "
                                "train it without --resume")
        new = flatten(as_mapping(self.config))
        total = new.get("train.iterations")
        reached = max([checkpoint_iteration(p) for p in on_disk[-1:]] + ([partial["iteration"]] if partial else []),
                      default=0)
        if resume and isinstance(total, int) and reached > total:
            raise TrainingError(f"{self.path}: its newest snapshot is at iteration {reached}, past "
                                f"train.iterations={total}; resume with --set train.iterations={reached} or more")
        if resume and (self.path / "config.yaml").is_file():
            with open(self.path / "config.yaml") as fh:
                old = flatten(yaml.safe_load(fh) or {})
            changed = sorted(k for k in set(old) | set(new)
                             if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES)
            if changed:
                raise TrainingError(f"{self.path}/config.yaml differs from this run's config in "
                                    f"{', '.join(changed[:5])}: resume with the same config")

    def start(self):
        """Make the sub-folders, write ``config.yaml`` and open ``train.log``."""
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.tb_dir.mkdir(parents=True, exist_ok=True)
        save_config(self.config, self.path / "config.yaml")
        self._log = open(self.path / "train.log", "a", buffering=1)
        if self.took_over is not None:
            self.log(f"took the run folder over from {describe(self.took_over)}, which ended without releasing it")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def latest_checkpoint(self):
        return latest_checkpoint(self.checkpoint_dir)

    def all_checkpoints(self):
        """Checkpoint prefixes in iteration order."""
        return list_checkpoints(self.checkpoint_dir)

    @property
    def checkpoint_prefix(self):
        return str(self.checkpoint_dir / "model.ckpt")

    def log(self, message):
        if self._log is None:
            return
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"{stamp} {message}\n")

    def close(self):
        """Close the log and release the folder (a folder made only for the lock is removed).  A run
        that took over a dead owner's lock and stopped before starting (a failed check) leaves that
        owner's record, so the run that does start logs the takeover."""
        keep = self.took_over if self._log is None else None
        if self._log is not None:
            self._log.close()
            self._log = None
        elif self._created and self._lock.owned:
            self._lock.release()
            self._lock.path.unlink(missing_ok=True)
            try:
                self.path.rmdir()
            except OSError:
                pass
        self._lock.release(keep=keep)


class NanGuard:
    """Raise :class:`TrainingError` when a fetched loss is NaN or infinite."""

    def check(self, values, iteration, step=""):
        for name, value in values.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(number):
                where = f" in {step}" if step else ""
                raise TrainingError(f"loss '{name}' is {number} at iteration {iteration}{where}: training stopped "
                                    "(lower train.learning_rate or check the input features)")
