"""Finding checkpoints: a run folder, its ``checkpoints/`` folder or a prefix -> snapshot prefixes.

Contract: every command that takes a checkpoint accepts the same three forms -- a run folder
(``RUN``), its checkpoint folder (``RUN/checkpoints``) or one snapshot prefix
(``RUN/checkpoints/model.ckpt-600``) -- and resolves it here.  ``checkpoint_iteration`` reads
the iteration from a prefix.  Every failure is a one-line :class:`aher.errors.UserError`.
Snapshots are always looked up inside the folder that holds the index: the folder names in the
``checkpoint`` index file are ignored (a moved or copied run folder reads its own files).
:func:`make_saver` writes the index with relative names; :func:`restore` turns every failure
to read a snapshot (truncated file, another model's variables) into a one-line
:class:`CheckpointError` naming the snapshot.
Limits: reads the ``checkpoint`` index file of a folder; snapshots are opened only by
:func:`restore`.
"""

from pathlib import Path

import tensorflow as tf

from aher.errors import UserError


def checkpoint_iteration(path):
    """``.../model.ckpt-1200`` -> 1200 (-1 when the name ends in no number)."""
    tail = str(path).rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


class CheckpointError(UserError):
    """A snapshot cannot be read into this graph (corrupt, truncated, another model's)."""


def _index_state(folder, index="checkpoint"):
    try:
        return tf.train.get_checkpoint_state(str(folder), latest_filename=index)
    except (tf.errors.OpError, ValueError) as exc:   # unparsable index file
        raise CheckpointError(f"{Path(folder) / index}: unreadable checkpoint index ({_first_line(exc)})") from None


def _here(folder, recorded):
    """``recorded`` (absolute or relative, possibly of another folder) as a prefix inside ``folder``."""
    return str(Path(folder) / Path(recorded).name)


def _exists(prefix):
    return Path(prefix + ".index").is_file()


def list_checkpoints(folder, index="checkpoint"):
    """The snapshot prefixes recorded in ``folder``'s index that exist in ``folder``, in iteration order."""
    folder = Path(folder)
    state = _index_state(folder, index) if folder.is_dir() else None
    if not state or not state.model_checkpoint_path:
        return []
    recorded = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    paths = {_here(folder, p) for p in recorded + [state.model_checkpoint_path]}
    return sorted((p for p in paths if _exists(p)), key=checkpoint_iteration)


def latest_checkpoint(folder, index="checkpoint"):
    """The newest snapshot prefix of ``folder`` (None when there is none)."""
    paths = list_checkpoints(folder, index)
    return paths[-1] if paths else None


def make_saver(var_list=None, max_to_keep=5):
    """A Saver whose ``checkpoint`` index names snapshots relative to their folder."""
    if var_list is None:
        var_list = tf.compat.v1.global_variables()
    return tf.compat.v1.train.Saver(var_list, max_to_keep=max_to_keep, save_relative_paths=True)


def _first_line(exc):
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def restore(saver, session, prefix):
    """``saver.restore`` with a one-line :class:`CheckpointError` on any failure to read ``prefix``."""
    if not _exists(str(prefix)):
        raise CheckpointError(f"{prefix}: no such checkpoint ({prefix}.index is missing)")
    try:
        saver.restore(session, str(prefix))
    except (tf.errors.OpError, ValueError) as exc:
        raise CheckpointError(f"{prefix}: cannot be restored into this model ({type(exc).__name__}: "
                              f"{_first_line(exc)})") from None


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
