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

import errno
import json
import shutil
from pathlib import Path

import tensorflow as tf

from aher.errors import UserError
from evaluation.cli_common import write_json_atomic

SNAPSHOT = "model.ckpt"                 # regular snapshots: model.ckpt-<iterations done>
PARTIAL = "interrupted.ckpt"            # a snapshot taken inside an iteration (interrupt)
PARTIAL_STATE = "interrupted.json"      # {"checkpoint", "iteration", "substeps_done", "signal"}
PARTIAL_INDEX = "interrupted"           # the Saver's index file of the interrupted snapshot


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


def snapshots_on_disk(folder, name=SNAPSHOT):
    """Prefixes ``folder/<name>-<n>`` whose ``.index`` file exists, in iteration order (index file not read)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    paths = (str(p)[:-len(".index")] for p in folder.glob(f"{name}-*.index"))
    return sorted((p for p in paths if checkpoint_iteration(p) >= 0), key=checkpoint_iteration)


def read_partial(folder):
    """The interrupted-snapshot record of ``folder`` (with ``checkpoint`` as a full prefix), or None."""
    state_file = Path(folder) / PARTIAL_STATE
    try:
        state = json.loads(state_file.read_text())
        state["checkpoint"] = str(Path(folder) / state["checkpoint"])
        return state if _exists(state["checkpoint"]) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def has_snapshots(folder):
    """Whether ``folder`` holds a regular or an interrupted snapshot (what ``--resume`` can continue)."""
    return bool(snapshots_on_disk(folder) or read_partial(folder))


def discard_partial(folder):
    """Remove the interrupted snapshot of ``folder`` (after a regular snapshot superseded it)."""
    folder = Path(folder)
    (folder / PARTIAL_STATE).unlink(missing_ok=True)
    (folder / PARTIAL_INDEX).unlink(missing_ok=True)
    for path in folder.glob(f"{PARTIAL}-*"):
        path.unlink(missing_ok=True)


def is_disk_full(exc):
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def _snapshot_bytes(prefix):
    return sum(p.stat().st_size for p in Path(prefix).parent.glob(Path(prefix).name + ".*") if p.is_file())


def save_snapshot(saver, session, prefix, step, **kwargs):
    """``saver.save`` that turns a full disk into a one-line :class:`CheckpointError`.

    TensorFlow writes a snapshot's data to a temporary name and updates the index last, so a
    failed save leaves the previous snapshots and the index intact; its temporary files are removed.
    """
    try:
        return saver.save(session, str(prefix), global_step=step, **kwargs)
    except (tf.errors.OpError, OSError) as exc:
        if not is_disk_full(exc):
            raise
        folder = Path(prefix).parent
        for temp in folder.glob(f"{Path(prefix).name}-{step}*"):
            shutil.rmtree(temp, ignore_errors=True) if temp.is_dir() else temp.unlink(missing_ok=True)
        previous = snapshots_on_disk(folder, Path(prefix).name)
        size = _snapshot_bytes(previous[-1]) if previous else 0
        kept = f"; {Path(previous[-1]).name} is intact" if previous else ""
        raise CheckpointError(f"{folder}: no space left on device for snapshot {step} (about {size / 2**20:.1f} MiB "
                              f"needed{kept}); free space and continue with --resume") from None


def save_partial(saver, session, folder, iteration, substeps_done, signal_name):
    """Snapshot taken inside iteration ``iteration`` after ``substeps_done`` sub-steps; return its prefix."""
    folder = Path(folder)
    discard_partial(folder)
    prefix = save_snapshot(saver, session, folder / PARTIAL, iteration, latest_filename=PARTIAL_INDEX,
                           write_meta_graph=False)
    record = {"checkpoint": Path(prefix).name, "iteration": int(iteration), "substeps_done": int(substeps_done),
              "signal": signal_name}
    write_json_atomic(folder / PARTIAL_STATE, record)
    return prefix


def make_saver(var_list=None, max_to_keep=5):
    """A Saver whose ``checkpoint`` index names snapshots relative to their folder."""
    if var_list is None:
        var_list = tf.compat.v1.global_variables()
    return tf.compat.v1.train.Saver(var_list, max_to_keep=max_to_keep, save_relative_paths=True)


def _first_line(exc):
    lines = [line for line in str(getattr(exc, "message", "") or exc).strip().splitlines()
             if line.strip() and not line.startswith("Graph execution error")]
    return lines[0][:300] if lines else type(exc).__name__


def check_shapes(prefix, shapes):
    """One-line :class:`CheckpointError` naming the first of ``shapes`` (``{name: [dims]}``) that
    ``prefix`` lacks or holds with another shape (a Saver would silently restore the file's shape)."""
    try:
        stored = tf.train.load_checkpoint(str(prefix)).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError):
        return                                  # unreadable: the restore reports it
    for name, shape in shapes.items():
        if name not in stored:
            raise CheckpointError(f"{prefix}: holds no variable {name} (a checkpoint of another method or model "
                                  "than the config's)")
        if list(stored[name]) != list(shape):
            raise CheckpointError(f"{prefix}: variable {name} has shape {list(stored[name])} there but {list(shape)} "
                                  "in the model of the config (another model shape or number of classes)")


def _saver_shapes(saver):
    variables = getattr(saver, "_var_list", None) or []
    items = variables.items() if isinstance(variables, dict) else ((v.op.name, v) for v in variables)
    return {name: v.shape.as_list() for name, v in items if hasattr(v, "shape")}


def restore(saver, session, prefix):
    """``saver.restore`` with a one-line :class:`CheckpointError` on any failure to read ``prefix``
    (missing, truncated or corrupt, or of another model: variables checked by name and shape first)."""
    if not _exists(str(prefix)):
        raise CheckpointError(f"{prefix}: no such checkpoint ({prefix}.index is missing)")
    check_shapes(prefix, _saver_shapes(saver))
    try:
        saver.restore(session, str(prefix))
    except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as exc:
        raise CheckpointError(f"{prefix}: truncated or corrupt snapshot ({type(exc).__name__})") from None
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
