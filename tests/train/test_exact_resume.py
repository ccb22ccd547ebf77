"""A resumed run trains on the same batches as an uninterrupted one, so it ends with the same weights.

The input streams start at the iteration the loop resumes at: from a regular snapshot (also an
older one when the newest cannot be read) and from a snapshot taken inside an iteration, whose
batch is loaded again.  Checked on a recording graph (every sub-step writes the batch it sees
into a checkpointed variable) and on real tiny Algorithm-1 training with ``train.deterministic``.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from aher.data.pipeline import segment_dataset
from aher.train.batch_cache import BatchCache, stream_batches
from aher.train.checkpoints import make_saver, read_partial
from aher.train.interrupts import TrainingInterrupted
from aher.train.loop import (LoopGraph, SubStep, make_iteration_variable, make_start_iteration, restore_if_resuming,
                             run_loop)
from aher.train.run_dir import RunDir
from tests.data.test_pipeline import CLASSES, _plan, _write

B, N, SEED = 2, 7, 3          # 5 samples: the 14 samples of 7 iterations span 3 epochs
CONFIG = {"train": {"iterations": N}}


@pytest.fixture
def segments(tmp_path):
    entries = [(f"clip{k}#0", k + 1, {"label": "run"}) for k in range(5)]
    return _write(tmp_path / "segments.h5", entries, length=4)


class Recorder:
    """A trainer whose sub-step S0 writes the batch it sees (sample * 100 + ratio_id) into row
    ``iteration`` of the variable ``first`` and S1 into ``second``; both are checkpointed."""

    def __init__(self, store):
        self.graph = tf.Graph()
        with self.graph.as_default():
            start = make_start_iteration()
            stream = segment_dataset(store, CLASSES, B, seed=SEED, with_context_ids=True, start=start * B)
            batches, start_streams = stream_batches({"s": stream}, startable=True)
            cache = BatchCache(batches)
            batch = cache.tensors["s"]
            sample = tf.cast(tf.round(batch["features"][:, 0, 0]), tf.int64) - 1     # features = sample + 1
            rows = sample * 100 + tf.cast(batch["ratio_id"], tf.int64)
            iteration = make_iteration_variable()
            self.seen = {name: tf.compat.v1.get_variable(name, [N, B], tf.int64, tf.compat.v1.zeros_initializer())
                         for name in ("first", "second")}
            steps = [SubStep(f"S{k}", tf.compat.v1.scatter_update(self.seen[name], iteration[None], rows[None]),
                             feed_lr=False) for k, name in enumerate(("first", "second"))]
            saver = make_saver(max_to_keep=None)
            self.loop = LoopGraph(steps=steps, load_batches=cache.load, lr=None, iteration=iteration, saver=saver,
                                  start_streams=start_streams, start_iteration=start)
            init = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(init)

    def train(self, folder, iterations, snapshot_every, resume=False, feed=None):
        run = RunDir(folder, CONFIG, resume=resume)
        config = SimpleNamespace(train=SimpleNamespace(iterations=iterations, snapshot_every=snapshot_every,
                                                       log_every=1))
        try:
            with self.graph.as_default():
                restored = restore_if_resuming(self.session, self.loop.saver, run) if resume else None
                run_loop(self.session, replace(self.loop, feed=feed), config, run, progress=False)
            return restored
        finally:
            run.close()

    def rows(self):
        return {name: self.session.run(var) for name, var in self.seen.items()}

    def close(self):
        self.session.close()


def _signal_in(iteration):
    """A ``LoopGraph.feed`` that sends SIGINT once iteration ``iteration``'s batch is loaded."""
    def feed(it):
        if it == iteration:
            os.kill(os.getpid(), signal.SIGINT)     # the loop stops after the current sub-step
        return {}
    return feed


def _trained(store, folder, iterations, snapshot_every, resume=False, feed=None):
    recorder = Recorder(store)
    try:
        restored = recorder.train(folder, iterations, snapshot_every, resume=resume, feed=feed)
        return restored, recorder.rows()
    finally:
        recorder.close()


def test_resumed_runs_see_the_batches_of_the_uninterrupted_run(segments, tmp_path):
    plan = _plan(SEED, 5, N * B)
    expected = np.array([[sample * 100 + ratio for sample, ratio, _ in plan[it * B:(it + 1) * B]] for it in range(N)])
    _, straight = _trained(segments, tmp_path / "straight", N, N)
    np.testing.assert_array_equal(straight["first"], expected)
    np.testing.assert_array_equal(straight["second"], expected)

    # regular snapshots at 2 and 4; the newest is unreadable, so the run resumes at iteration 2
    folder = tmp_path / "boundary"
    _trained(segments, folder, 4, 2)
    newest = next((folder / "checkpoints").glob("model.ckpt-4.data-*"))
    newest.write_bytes(newest.read_bytes()[:3])
    restored, resumed = _trained(segments, folder, N, 2, resume=True)
    assert restored == 2
    for name in resumed:
        np.testing.assert_array_equal(resumed[name], expected, err_msg=name)

    # stopped inside iteration 4 after S0: the resumed run loads that batch again for S1
    folder = tmp_path / "inside"
    with pytest.raises(TrainingInterrupted, match="in iteration 4 after sub-step S0"):
        _trained(segments, folder, N, 2, feed=_signal_in(3))
    partial = read_partial(folder / "checkpoints")
    assert (partial["iteration"], partial["substeps_done"]) == (3, 1)
    restored, resumed = _trained(segments, folder, N, 2, resume=True)
    assert restored == 3
    for name in resumed:
        np.testing.assert_array_equal(resumed[name], expected, err_msg=name)
    assert "resumed at iteration 3 after sub-step S0" in (folder / "train.log").read_text()


SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    import numpy as np
    import tensorflow as tf
    import aher.train.loop as loop_module
    from aher.config import load_config
    from aher.train.driver import train_run
    from aher.train.interrupts import TrainingInterrupted

    root, N = Path(sys.argv[1]), 4

    def train(out, iterations, resume=False, signal_in=None):
        # signal_in: the iteration (0-based) in which the process sends itself SIGTERM once its batch is loaded
        config = load_config("configs/k600_synthetic_tiny.yaml",
                             [f"data.root={root}/data", "train.deterministic=true", f"train.iterations={iterations}",
                              "train.snapshot_every=1", "train.log_every=1"])
        load = loop_module._load

        def load_then_signal(session, load_batches, it):
            load(session, load_batches, it)
            if it == signal_in:
                os.kill(os.getpid(), signal.SIGTERM)

        loop_module._load = load_then_signal
        try:
            return train_run(config, root / out, resume=resume, progress=False, log=lambda *a: None)[1]
        except TrainingInterrupted:
            return None
        finally:
            loop_module._load = load

    def weights(checkpoint):
        reader = tf.train.load_checkpoint(checkpoint)
        return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()}

    straight = weights(train("straight", N))
    train("resumed", 2)                                  # snapshots at 1 and 2
    newest = next((root / "resumed/checkpoints").glob("model.ckpt-2.data-*"))
    newest.write_bytes(newest.read_bytes()[:3])         # unreadable: the run resumes at 1
    stopped = train("resumed", N, resume=True, signal_in=2)
    partial = json.loads((root / "resumed/checkpoints/interrupted.json").read_text())
    resumed = weights(train("resumed", N, resume=True))
    different = sorted(k for k in straight if k not in resumed or not np.array_equal(straight[k], resumed[k]))
    print(json.dumps({"variables": len(straight), "same_names": sorted(straight) == sorted(resumed),
                      "different": different, "stopped": stopped, "partial": [partial["iteration"],
                      partial["substeps_done"]], "log": (root / "resumed/train.log").read_text()}))
""")


@pytest.mark.slow
def test_resumed_algorithm1_training_ends_bit_identical(project_root, tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=project_root, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stopped"] is None and result["partial"] == [2, 1]
    assert "resumed at iteration 1\n" in result["log"] and "resumed at iteration 2 after sub-step S1" in result["log"]
    assert result["variables"] > 50 and result["same_names"]
    assert result["different"] == []
