"""Finding checkpoints: a run folder, its ``checkpoints/`` folder or a prefix -> snapshot prefixes.

Contract: every command that takes a checkpoint accepts the same three forms -- a run folder
(``RUN``), its checkpoint folder (``RUN/checkpoints``) or one snapshot prefix
(``RUN/checkpoints/model.ckpt-600``) -- and resolves it here.  ``checkpoint_iteration`` reads
the iteration from a prefix.  Every failure is a one-line :class:`aher.errors.UserError`.
Limits: reads the ``checkpoint`` index file of a folder (``tf.train.get_checkpoint_state``);
it does not open the snapshots themselves.
"""

from pathlib import Path

import tensorflow as tf

from aher.errors import UserError


def checkpoint_iteration(path):
    """``.../model.ckpt-1200`` -> 1200 (-1 when the name ends in no number)."""
    tail = str(path).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def list_checkpoints(folder):
    """The snapshot prefixes recorded in ``folder``'s index, in iteration order ([] if none)."""
    folder = Path(folder)
    state = tf.train.get_checkpoint_state(str(folder)) if folder.is_dir() else None
    if not state or not state.model_checkpoint_path:
        return []
    return sorted(state.all_model_checkpoint_paths, key=checkpoint_iteration)


def latest_checkpoint(folder):
    """The newest snapshot prefix of ``folder`` (None when there is none)."""
    folder = Path(folder)
    return tf.train.latest_checkpoint(str(folder)) if folder.is_dir() else None


def checkpoint_folder(path):
    """``RUN`` -> ``RUN/checkpoints`` when that exists, else ``path`` itself."""
    path = Path(path)
    return path / "checkpoints" if (path / "checkpoints").is_dir() else path


def resolve_checkpoints(path, all_snapshots=False, iterations=()):
    """Snapshot prefixes named by ``path`` (run folder, checkpoint folder or prefix).

    A folder gives its latest snapshot, or with ``all_snapshots`` every snapshot (only those of
    ``iterations`` when given).  A prefix gives itself.
    """
    folder = checkpoint_folder(path)
    if folder.is_dir():
        paths = list_checkpoints(folder)
        if not paths:
            raise UserError(f"{folder}: no checkpoint found")
        if not all_snapshots:
            return [latest_checkpoint(folder) or paths[-1]]
        if iterations:
            chosen = [p for p in paths if checkpoint_iteration(p) in set(iterations)]
            if not chosen:
                raise UserError(f"{folder}: none of the snapshots {list(iterations)} (eval.snapshots) exists")
            return chosen
        return paths
    if not Path(str(path) + ".index").is_file():
        raise UserError(f"{path}: neither a run folder nor a checkpoint")
    return [str(path)]


def resolve_checkpoint(path):
    """The one snapshot prefix named by ``path`` (a folder gives its latest snapshot)."""
    return resolve_checkpoints(path)[0]


def run_folder(checkpoint):
    """The run folder a checkpoint argument belongs to (``RUN`` for any of the three forms)."""
    path = Path(checkpoint)
    if path.is_dir():
        return path.parent if path.name == "checkpoints" else path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent
