"""The training loop shared by every trainer: iterations of ordered sub-steps.

Contract: a trainer builds its graph (one :class:`SubStep` per optimizer step, a
:class:`~aher.train.batch_cache.BatchCache`, a learning-rate placeholder) and calls
:func:`run_loop`.  Per iteration the loop runs ``cache.load`` once (one batch per stream), then
every sub-step in order, each its own ``session.run`` (so a later sub-step sees the variables
an earlier one updated, as in Algorithm 1).  Around that it provides: resume from the latest
checkpoint of the run folder (iteration counter and optimizer slots included), a snapshot every
``train.snapshot_every`` iterations and at the end, TensorBoard scalars for every fetched
value and the learning rate, a plain-text log line every ``train.log_every`` iterations, a
tqdm bar with the main losses, and a NaN/inf guard naming the loss.
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

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from aher.train.checkpoints import checkpoint_iteration
from aher.train.run_dir import NanGuard
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


def make_iteration_variable():
    return tf.compat.v1.get_variable("train/iteration", shape=[], dtype=tf.int64, trainable=False,
                                     initializer=tf.compat.v1.zeros_initializer())


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


def run_loop(session, loop, config, run, progress=True):
    """Train until ``train.iterations``; return the path of the last checkpoint."""
    train = config.train
    total, snapshot_every, log_every = train.iterations, train.snapshot_every, train.log_every
    writer = tf.compat.v1.summary.FileWriter(str(run.tb_dir), session.graph)
    guard = NanGuard()
    set_iteration = loop.iteration.assign(tf.compat.v1.placeholder_with_default(np.int64(0), []))
    start = int(session.run(loop.iteration))
    if start:
        run.log(f"resumed at iteration {start}")
    last_ckpt = run.latest_checkpoint()
    bar = tqdm(total=total, initial=start, disable=not progress, dynamic_ncols=True, desc="train")
    t0 = time.perf_counter()
    try:
        for it in range(start, total):
            lr = learning_rate(it, train) if loop.lr is not None else None
            if loop.load_batches is not None:
                session.run(loop.load_batches)
            batch_feed = loop.feed(it) if loop.feed is not None else {}
            values = {}
            for step in loop.steps:
                feed = {**batch_feed, **({loop.lr: lr} if step.feed_lr and lr is not None else {})}
                out = session.run({"op": step.train_op, **step.fetches}, feed_dict=feed)
                out.pop("op")
                guard.check(out, it, step.name)
                values.update({f"{step.name}/{k}": v for k, v in out.items()})
            done = it + 1
            session.run(set_iteration, feed_dict={set_iteration.op.inputs[1]: np.int64(done)})
            writer.add_summary(_scalar_summary({**values, **({"learning_rate": lr} if lr is not None else {})}), done)
            bar.update(1)
            if loop.progress_keys:
                bar.set_postfix({k.split("/")[-1]: f"{values[k]:.3f}" for k in loop.progress_keys if k in values},
                                refresh=False)
            if done % log_every == 0 or done == total:
                rate = (done - start) / max(time.perf_counter() - t0, 1e-9)
                body = " ".join(f"{k}={float(v):.4f}" for k, v in sorted(values.items()))
                rate_text = f" lr={lr:.3g}" if lr is not None else ""
                run.log(f"it {done}/{total}{rate_text} {rate:.2f} it/s {body}")
                if loop.diagnostics is not None:
                    writer.add_summary(_scalar_summary(loop.diagnostics.log(session, done)), done)
            if done % snapshot_every == 0 or done == total:
                last_ckpt = loop.saver.save(session, run.checkpoint_prefix, global_step=done)
                if loop.diagnostics is not None:
                    scalars, record = loop.diagnostics.snapshot(session, done)
                    writer.add_summary(_scalar_summary(scalars), done)
                    merge_diagnostics(run.path / DIAGNOSTICS_FILE, done, record)
            if loop.after_iteration is not None:
                writer.add_summary(_scalar_summary(loop.after_iteration(session, done) or {}), done)
    finally:
        bar.close()
        writer.flush()
        writer.close()
    return last_ckpt


def restore_if_resuming(session, saver, run):
    """Restore the latest checkpoint of ``run``; return its iteration (0 when starting fresh)."""
    latest = run.latest_checkpoint()
    if latest is None:
        return 0
    saver.restore(session, latest)
    return checkpoint_iteration(latest)
