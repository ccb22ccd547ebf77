"""A training run's folder: config snapshot, checkpoints with resume, TensorBoard, text log.

Contract: ``RunDir(path, config, resume)`` prepares ``path``:

    config.yaml        the resolved config (written at start; on resume it must match, except
                       for keys listed in RESUMABLE_CHANGES such as the iteration count)
    train.log          plain-text log (appended)
    tb/                TensorBoard event files
    checkpoints/       ``model.ckpt-<iteration>`` snapshots (tf.compat.v1.train.Saver)

A run folder that already holds checkpoints is never silently overwritten: without
``resume`` it is an error naming the folder.  ``NanGuard`` stops training with a message
naming the loss and the iteration.  Limits: it builds no model and runs no step.
"""

import datetime
import math
from pathlib import Path

import yaml

from aher.errors import UserError
from aher.config import as_mapping, save_config
from aher.train.checkpoints import latest_checkpoint, list_checkpoints

RESUMABLE_CHANGES = ("train.iterations", "train.snapshot_every", "train.log_every", "_source")


class TrainingError(UserError):
    """Training cannot go on (NaN loss, bad run folder); one-line message."""


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class RunDir:
    def __init__(self, path, config, resume=False):
        self.path = Path(path)
        self.checkpoint_dir = self.path / "checkpoints"
        self.tb_dir = self.path / "tb"
        existing = self.latest_checkpoint() if self.checkpoint_dir.is_dir() else None
        if existing and not resume:
            raise TrainingError(f"{self.path} already holds checkpoints ({Path(existing).name}): "
                                "pass --resume to continue it, or choose another --out")
        if resume and (self.path / "config.yaml").is_file():
            with open(self.path / "config.yaml") as fh:
                old = _flatten(yaml.safe_load(fh) or {})
            new = _flatten(as_mapping(config))
            changed = sorted(k for k in set(old) | set(new)
                             if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES)
            if changed:
                raise TrainingError(f"{self.path}/config.yaml differs from this run's config in "
                                    f"{', '.join(changed[:5])}: resume with the same config")
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.tb_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, self.path / "config.yaml")
        self._log = open(self.path / "train.log", "a", buffering=1)

    def latest_checkpoint(self):
        return latest_checkpoint(self.checkpoint_dir)

    def all_checkpoints(self):
        """Checkpoint prefixes in iteration order."""
        return list_checkpoints(self.checkpoint_dir)

    @property
    def checkpoint_prefix(self):
        return str(self.checkpoint_dir / "model.ckpt")

    def log(self, message):
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self._log.write(f"{stamp} {message}\n")

    def close(self):
        self._log.close()


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
