"""The training loop shared by every trainer: iterations of ordered sub-steps.

Contract: a trainer builds its graph (one :class:`SubStep` per optimizer step, a
:class:`~aher.train.batch_cache.BatchCache`, a learning-rate placeholder) and calls
:func:`run_loop`.  Per iteration the loop runs ``cache.load`` once (one batch per stream), then
every sub-step in order, each its own ``session.run`` (so a later sub-step sees the variables
an earlier one updated, as in Algorithm 1).  Input streams that can start at any iteration give
``LoopGraph.start_streams`` (initializer of their iterators) and ``LoopGraph.start_iteration``
(the int64 placeholder it reads); the loop runs it once, fed the iteration it starts at, before
the first load, so iteration ``it`` loads the same batches whether the run was resumed or not.
Around that it provides: resume from the latest checkpoint of the run folder (iteration counter
and optimizer slots included), a snapshot every ``train.snapshot_every`` iterations and at the
end, TensorBoard scalars for every fetched value and the learning rate, a plain-text log line
every ``train.log_every`` iterations, a tqdm bar with the main losses, and a NaN/inf guard naming
the loss.
Optional ``LoopGraph.diagnostics`` hook: ``log(session, it) -> {tag: float}`` after the log line
and ``snapshot(session, it) -> ({tag: float}, record)`` after every snapshot; the scalars go to
TensorBoard at step ``it`` and ``record`` (JSON-ready dict) is merged into
``RUN/diagnostics.json`` under the key ``str(it)`` (:func:`merge_diagnostics`, atomic write).
The hook runs its own ``session.run``s, only on those iterations.
Optional per-iteration hooks: ``LoopGraph.feed(it) -> feed_dict`` is fed to every sub-step of
iteration ``it`` (placeholders of a trainer that feeds its batches, ``load_batches`` then None);
``LoopGraph.after_iteration(session, done) -> {tag: float}`` runs after each iteration's snapshot
(periodic evaluation, model selection) and its scalars go to TensorBoard.  ``lr`` None: the
trainer's optimizers use a constant rate and no schedule is fed.
Limits: it builds no model; sub-steps are opaque ops plus scalar fetches.
"""

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from aher.progress import progress_bar
from aher.train.checkpoints import (CheckpointError, checkpoint_iteration, discard_partial, make_saver,
                                    read_partial, restore, save_partial, save_snapshot, snapshots_on_disk)
from aher.train.interrupts import StopRequest, TrainingInterrupted, resume_command
from aher.data.pipeline import read_error
from aher.train.run_dir import NanGuard, TrainingError
from aher.train.schedule import learning_rate
from evaluation.cli_common import write_json_atomic


@dataclass
class SubStep:
    name: str
    train_op: object
    fetches: dict = field(default_factory=dict)     # name -> scalar tensor (logged)
    feed_lr: bool = True                             # uses the scheduled learning rate placeholder


@dataclass
class LoopGraph:
    """What :func:`run_loop` needs from a trainer's graph."""

    steps: list
    load_batches: object
    lr: object                   # scalar float32 placeholder (None: no learning-rate schedule)
    iteration: object            # int64 non-trainable variable (saved in checkpoints)
    saver: object
    progress_keys: tuple = ()    # fetch names "step/key" shown in the progress bar
    diagnostics: object = None   # optional hook with log(session, it) and snapshot(session, it)
    tensors: dict = field(default_factory=dict)   # named tensors of the graph, for probes and tests
    feed: object = None          # optional (it) -> feed_dict for every sub-step of iteration it
    after_iteration: object = None   # optional (session, done) -> {tag: float}, after the snapshot
    start_streams: object = None     # initializer of the input iterators (None: they start by themselves)
    start_iteration: object = None   # int64 placeholder fed to start_streams: the iteration to start at


@contextlib.contextmanager
def open_session(graph, config=None):
    """A Session that is closed on the calling thread, also when the block raises.

    (``with tf.compat.v1.Session()`` closes a session left by an exception in a helper thread and
    waits up to 30 s for it, which the tf.data iterators of a training graph can make it do.)
    """
    session = tf.compat.v1.Session(graph=graph, config=config)
    try:
        yield session
    finally:
        session.close()


def make_iteration_variable():
    return tf.compat.v1.get_variable("train/iteration", shape=[], dtype=tf.int64, trainable=False,
                                     initializer=tf.compat.v1.zeros_initializer())


def make_start_iteration():
    """The int64 placeholder a trainer's input streams compute their start position from
    (``LoopGraph.start_iteration``; :func:`run_loop` feeds the iteration it starts at)."""
    return tf.compat.v1.placeholder(tf.int64, [], name="start_iteration")


DIAGNOSTICS_FILE = "diagnostics.json"


def merge_diagnostics(path, iteration, record):
    """Set ``record`` under ``str(iteration)`` in the JSON object at ``path`` (created if absent).

    The file is rewritten through a temporary file and ``os.replace``, so a reader never sees a
    partial file; the other iterations' records are kept.
    """
    path = os.fspath(path)
    data = {}
    if os.path.isfile(path):
        with open(path) as fh:
            data = json.load(fh)
    data[str(int(iteration))] = record
    write_json_atomic(path, dict(sorted(data.items(), key=lambda kv: int(kv[0]))))


def _scalar_summary(values):
    return tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=k, simple_value=float(v))
                                       for k, v in values.items()])


class _Progress:
    """The log line, progress bar and TensorBoard scalars of the loop."""

    def __init__(self, session, loop, config, run, start, progress):
        self.loop, self.run, self.train, self.start = loop, run, config.train, start
        # a file of its own even when a resumed run starts within the second its predecessor did
        self.writer = tf.compat.v1.summary.FileWriter(str(run.tb_dir), session.graph,
                                                      filename_suffix=f".{time.time_ns()}")
        self.bar = progress_bar(total=self.train.iterations, initial=start, enabled=progress, dynamic_ncols=True,
                                desc="train")
        self.t0 = time.perf_counter()

    def scalars(self, values, step):
        if values:
            self.writer.add_summary(_scalar_summary(values), step)

    def iteration(self, done, values, lr):
        self.scalars({**values, **({"learning_rate": lr} if lr is not None else {})}, done)
        self.bar.update(1)
        keys = self.loop.progress_keys
        if keys:
            self.bar.set_postfix({k.split("/")[-1]: f"{values[k]:.3f}" for k in keys if k in values}, refresh=False)
        total = self.train.iterations
        if done % self.train.log_every == 0 or done == total:
            rate = (done - self.start) / max(time.perf_counter() - self.t0, 1e-9)
            body = " ".join(f"{k}={float(v):.4f}" for k, v in sorted(values.items()))
            lr_text = f" lr={lr:.3g}" if lr is not None else ""
            self.run.log(f"it {done}/{total}{lr_text} {rate:.2f} it/s {body}")
            return True
        return False

    def close(self):
        self.bar.close()
        self.writer.flush()
        self.writer.close()


def _load(session, load_batches, it):
    """Load one batch per stream; a bad sample (NaN features, unreadable store) is a one-line error."""
    try:
        session.run(load_batches)
    except tf.errors.OpError as exc:
        error = read_error(exc)
        if error is None:
            raise
        raise TrainingError(f"{error} (training batch of iteration {it + 1})") from None


def _stop(session, loop, run, stop, it, substeps_done, partial_saver):
    """Keep the state of iteration ``it`` after ``substeps_done`` sub-steps; raise :class:`TrainingInterrupted`."""
    latest = run.latest_checkpoint()
    partial = read_partial(run.checkpoint_dir)
    if substeps_done == len(loop.steps):
        prefix = save_snapshot(loop.saver, session, run.checkpoint_prefix, it + 1)
        where = f"after iteration {it + 1}"
    elif substeps_done == 0:
        at_hand = latest is not None and checkpoint_iteration(latest) == it
        prefix = latest if at_hand or it == 0 else save_snapshot(loop.saver, session, run.checkpoint_prefix, it)
        where = f"before iteration {it + 1}"
    else:
        at_hand = partial and (partial["iteration"], partial["substeps_done"]) == (it, substeps_done)
        prefix = partial["checkpoint"] if at_hand else save_partial(partial_saver, session, run.checkpoint_dir, it,
                                                                   substeps_done, stop.signal_name)
        where = f"in iteration {it + 1} after sub-step {loop.steps[substeps_done - 1].name}"
    saved = f"snapshot {prefix}" if prefix else "no snapshot (nothing trained yet)"
    message = f"stopped by {stop.signal_name} {where}; {saved}; resume with: {resume_command(run.resume_path)}"
    run.log(message)
    raise TrainingInterrupted(message, stop.signal_name)


def _starting_point(session, loop, run, total):
    """(iteration to start at, the interrupted snapshot's record, sub-steps of it already done);
    logs a resume and starts the input streams at that iteration.  A start past ``total`` is a
    :class:`TrainingError`."""
    start = int(session.run(loop.iteration))
    if start > total:
        raise TrainingError(f"{run.path}: the run is at iteration {start}, past train.iterations={total}; resume with "
                            f"--set train.iterations={start} or more")
    partial = read_partial(run.checkpoint_dir)
    skip = partial["substeps_done"] if partial and partial["iteration"] == start else 0
    if start or skip:
        run.log(f"resumed at iteration {start}" + (f" after sub-step {loop.steps[skip - 1].name}" if skip else ""))
    if loop.start_streams is not None:
        session.run(loop.start_streams, feed_dict={loop.start_iteration: np.int64(start)})
    return start, partial, skip


def run_loop(session, loop, config, run, progress=True):
    """Train until ``train.iterations``; return the path of the last checkpoint.

    The input streams (``loop.start_streams``) are started at the iteration the loop starts at:
    0 for a fresh run, the restored iteration counter for a resumed one.  A resumed run whose
    restored snapshot was taken inside an iteration (``interrupted.json``) loads that iteration's
    batch again -- the batch the interrupted run was training on -- and runs the remaining
    sub-steps on it.  SIGINT/SIGTERM stop the loop at the next sub-step boundary with a snapshot
    (:mod:`aher.train.interrupts`).
    """
    train = config.train
    total, snapshot_every = train.iterations, train.snapshot_every
    guard = NanGuard()
    set_iteration = loop.iteration.assign(tf.compat.v1.placeholder_with_default(np.int64(0), []))
    with session.graph.as_default():
        partial_saver = make_saver(max_to_keep=None)     # its own saver: never rotates the regular snapshots
    start, partial, skip = _starting_point(session, loop, run, total)
    last_ckpt = run.latest_checkpoint()
    shown = _Progress(session, loop, config, run, start, progress)
    try:
        with StopRequest(lambda m: (run.log(m), tqdm.write(m, file=sys.stderr))) as stop:
            for it in range(start, total):
                lr = learning_rate(it, train) if loop.lr is not None else None
                if stop:
                    _stop(session, loop, run, stop, it, skip if it == start else 0, partial_saver)
                if loop.load_batches is not None:
                    _load(session, loop.load_batches, it)
                batch_feed = loop.feed(it) if loop.feed is not None else {}
                values = {}
                for k, step in enumerate(loop.steps):
                    if it == start and k < skip:
                        continue
                    feed = {**batch_feed, **({loop.lr: lr} if step.feed_lr and lr is not None else {})}
                    out = session.run({"op": step.train_op, **step.fetches}, feed_dict=feed)
                    out.pop("op")
                    guard.check(out, it, step.name)
                    values.update({f"{step.name}/{key}": v for key, v in out.items()})
                    if stop:
                        if k + 1 == len(loop.steps):
                            session.run(set_iteration, feed_dict={set_iteration.op.inputs[1]: np.int64(it + 1)})
                        shown.scalars(values, it + 1)         # the sub-steps done; the resumed run logs the rest
                        _stop(session, loop, run, stop, it, k + 1, partial_saver)
                done = it + 1
                session.run(set_iteration, feed_dict={set_iteration.op.inputs[1]: np.int64(done)})
                if shown.iteration(done, values, lr) and loop.diagnostics is not None:
                    shown.scalars(loop.diagnostics.log(session, done), done)
                if done % snapshot_every == 0 or done == total:
                    last_ckpt = save_snapshot(loop.saver, session, run.checkpoint_prefix, done)
                    discard_partial(run.checkpoint_dir)
                    if loop.diagnostics is not None:
                        scalars, record = loop.diagnostics.snapshot(session, done)
                        shown.scalars(scalars, done)
                        merge_diagnostics(run.path / DIAGNOSTICS_FILE, done, record)
                if loop.after_iteration is not None:
                    shown.scalars(loop.after_iteration(session, done) or {}, done)
    finally:
        shown.close()
    return last_ckpt


def restore_if_resuming(session, saver, run, log=None):
    """Restore the newest intact snapshot of ``run``; return its iteration (None when there is none).

    Candidates, newest first: the interrupted snapshot (when not older than the newest regular
    one), then every regular snapshot on disk (the index file is not trusted).  A snapshot that
    cannot be read is skipped with a warning naming it and the one used instead; when none can be
    read, a one-line :class:`~aher.train.checkpoints.CheckpointError` names the newest.  The saver
    then keeps rotating the snapshots it found (``keep_snapshots``).
    """
    log = log or run.log
    folder = run.checkpoint_dir
    regular = snapshots_on_disk(folder)
    partial = read_partial(folder)
    if partial and regular and partial["iteration"] < checkpoint_iteration(regular[-1]):
        discard_partial(folder)
        partial = None
    candidates = ([partial["checkpoint"]] if partial else []) + regular[::-1]
    failed = []
    for prefix in candidates:
        try:
            restore(saver, session, prefix)
        except CheckpointError as exc:
            failed.append(exc)
            if prefix == (partial or {}).get("checkpoint"):
                discard_partial(folder)
            continue
        if failed:
            message = (f"warning: {len(failed)} newer snapshot(s) could not be read ({failed[0]}); "
                       f"resuming from {Path(prefix).name}")
            log(message)
            print(message, file=sys.stderr)
        kept = [p for p in regular if checkpoint_iteration(p) <= checkpoint_iteration(prefix)]
        saver.recover_last_checkpoints(kept)
        return checkpoint_iteration(prefix)
    if failed:
        raise CheckpointError(f"{run.path}: no snapshot can be restored into this model; newest: {failed[0]}")
    return None
