"""Training one run: the method's trainer builds the graph, one shell runs it in a run folder.

Contract: ``train(config, out_dir, resume)`` trains ``train.method`` (``aher.methods``) into the
run folder ``out_dir`` and returns ``(RunDir, last checkpoint)``.  The method's trainer
(:data:`TRAINERS`) says which dataset files it reads, builds its graph
(``build(config, dataset) -> LoopGraph``) and may name a checkpoint to start from; the rest is
written once here: the run folder (``aher.train.run_dir``), the session, resume from the latest
snapshot, and the loop (``aher.train.loop``).  The trainers' input streams start at the iteration
the loop begins with, so a resumed run trains on the batches the uninterrupted run would have
used: with ``train.deterministic`` it ends with bit-identical weights.
Algorithm 1 line 1 (disabled upstream): ``train.init_checkpoint`` restores backbone + box heads +
theta (the ``S3`` group) from a pre-trained model M, or ``train.pretrain_iterations`` > 0 first
trains M (method ``pretrain``) into ``<run>/pretrain`` and starts from it.
Limits: one process, one device set; the graph is the trainers'.
"""

from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from aher.datasets import REQUIRED, resolve_dataset
from aher.model import variable_groups
from aher.train import algorithm1, supervised
from aher.train.checkpoints import has_snapshots, restore
from aher.train.loop import open_session, restore_if_resuming, run_loop
from aher.train.run_dir import RunDir


@dataclass(frozen=True)
class Trainer:
    build: object           # (config, dataset) -> LoopGraph
    needed: object          # (method) -> dataset file keys
    label: str              # for the log


TRAINERS = {
    "algorithm1": Trainer(algorithm1.build, lambda method: REQUIRED, "Algorithm 1"),
    "supervised": Trainer(supervised.build_supervised_graph, supervised.needed_files, "supervised training"),
}


def session_config(train=None):
    """Session options: every core (CPU), GPU memory grown on demand; one thread per pool when
    ``train.deterministic`` (the order of floating-point sums then no longer depends on scheduling)."""
    cfg = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    cfg.gpu_options.allow_growth = True
    if train is not None and train.deterministic:
        cfg.intra_op_parallelism_threads = 1
        cfg.inter_op_parallelism_threads = 1
    return cfg


def configure_determinism(train):
    """``train.deterministic``: TensorFlow's deterministic kernels (process-wide, irreversible)."""
    if train.deterministic:
        tf.config.experimental.enable_op_determinism()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:          # the CPU device exists already (an earlier graph in this process)
            pass


def _pretrained_model(config, out_dir, resume, progress, log):
    """Algorithm 1 line 1: the checkpoint of model M to start from (None: start from scratch)."""
    train = config.train
    if config.method.trainer != "algorithm1":
        return None
    started = resume and has_snapshots(Path(out_dir) / "checkpoints")
    if train.init_checkpoint or train.pretrain_iterations == 0 or started:
        return train.init_checkpoint
    pre = config.with_overrides(f"train.iterations={train.pretrain_iterations}", "train.method=pretrain")
    folder = Path(out_dir) / "pretrain"
    log(f"pre-training model M for {train.pretrain_iterations} iterations")
    _, checkpoint = train_run(pre, folder, resume=has_snapshots(folder / "checkpoints"), progress=progress, log=log,
                              resume_path=out_dir)
    return checkpoint


def _initialise_from(session, checkpoint, run):
    """Restore backbone + box heads + theta from a pre-trained model M."""
    variables = variable_groups.step_var_list("S3")
    restore(tf.compat.v1.train.Saver(variables), session, checkpoint)
    run.log(f"initialised {len(variables)} variables (backbone, box heads, transfer) from {checkpoint}")


def train_run(config, out_dir, resume=False, progress=True, log=print, resume_path=None):
    """Train ``config.train.method`` into ``out_dir``; return ``(run_dir, last checkpoint)``.

    ``resume_path``: the folder to name in "resume with" messages (the outer run of a pre-training).
    """
    method = config.method
    trainer = TRAINERS[method.trainer]
    pretraining = config.method.trainer == "algorithm1" and has_snapshots(Path(out_dir) / "pretrain" / "checkpoints")
    with RunDir(out_dir, config, resume=resume, start=False, resume_path=resume_path,
                resumable=pretraining) as run:    # owned and checked, nothing written
        dataset = resolve_dataset(config, needed=trainer.needed(method), log=log, progress=progress)
        init = _pretrained_model(config, out_dir, resume, progress, log)
        run.start()
        run.log(f"{trainer.label} ({method.name}) on {dataset.root}")
        graph = tf.Graph()
        with graph.as_default():
            configure_determinism(config.train)
            loop = trainer.build(config, dataset)
            init_ops = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
            with open_session(graph, session_config(config.train)) as session:
                session.run(init_ops)
                restored = restore_if_resuming(session, loop.saver, run) if resume else None
                if restored is None and init:
                    _initialise_from(session, init, run)
                last = run_loop(session, loop, config, run, progress=progress)
        run.log(f"finished: {last}")
    return run, last
