"""The training iteration is device-ready: no Python ops, nothing pinned to the CPU, few transfers."""

from dataclasses import replace

import pytest
import tensorflow as tf

from aher.train.algorithm1 import build_algorithm1_graph
from aher.train.graph_stats import iteration_stats, run_ops
from aher.train.loop import SubStep, make_start_iteration
from tests.train.test_graph_size import tiny_config, zero_streams


def test_run_ops_follows_data_and_control_inputs():
    with tf.Graph().as_default():
        a = tf.constant(1.0, name="a")
        b = tf.constant(2.0, name="b")
        unrelated = tf.constant(3.0, name="unrelated")
        with tf.control_dependencies([b]):
            c = tf.identity(a, name="c")
        names = {op.name for op in run_ops(c)}
    assert names == {"a", "b", "c"} and unrelated.op.name not in names


@pytest.mark.parametrize("method", ["algorithm1", "moments_only"])
def test_every_sub_step_is_device_ready(method):
    with tf.Graph().as_default():
        loop = build_algorithm1_graph(tiny_config(4), zero_streams(4), {"untrimmed": 2, "moment": 3}, method=method)
        stats = iteration_stats(loop)
        # a py_function on the training path is counted as a host op
        bad = tf.py_function(lambda x: x, [tf.constant(1.0)], tf.float32)
        with_host_op = replace(loop, steps=[SubStep("X", bad)], lr=None)
        assert iteration_stats(with_host_op)["steps"]["X"]["host_ops"] == 1
    assert [s.name for s in loop.steps] == list(stats["steps"])
    for name, step in stats["steps"].items():
        assert step["ops"] > 50, name
        assert step["host_ops"] == 0 and step["pinned_cpu"] == 0, (name, step)
    assert stats["load_host_ops"] == 0
    # S3 (backbone, heads, two backward passes) runs more ops than S1 (pooled classifier only)
    if "S3" in stats["steps"]:
        assert stats["steps"]["S3"]["ops"] > stats["steps"]["S1"]["ops"]
    # in: the batch tensors once per iteration plus one learning-rate scalar per scheduled sub-step
    lr_steps = sum(s.feed_lr for s in loop.steps)
    assert lr_steps < stats["transfers_in"] <= lr_steps + 16
    assert stats["transfers_out"] == 0


def test_starting_the_streams_is_not_part_of_an_iteration():
    with tf.Graph().as_default():
        start = make_start_iteration()
        streams = {name: ds.skip(start * 4) for name, ds in zero_streams(4).items()}
        loop = build_algorithm1_graph(tiny_config(4), streams, {"untrimmed": 2, "moment": 3}, start_iteration=start)
        stats = iteration_stats(loop)
        per_iteration = set(run_ops(loop.load_batches)).union(*(run_ops(step.train_op) for step in loop.steps))
        diagnostics = set().union(*(run_ops(t) for t in tf.nest.flatten(loop.diagnostics.fetches)))
        load_nexts = [op for op in run_ops(loop.load_batches) if op.type == "IteratorGetNext"]
    assert loop.start_iteration is start and loop.start_streams is not None
    assert start.op not in per_iteration and loop.start_streams not in per_iteration
    assert not any(op.type == "MakeIterator" for op in per_iteration)
    # one batch per stream and iteration: the load takes one; sub-steps and diagnostics read the cache
    assert len(load_nexts) == 3
    for step in loop.steps:
        assert not any(op.type == "IteratorGetNext" for op in run_ops(step.train_op)), step.name
    assert not any(op.type == "IteratorGetNext" for op in diagnostics)
    assert stats["load_host_ops"] == 0
    assert all(step["host_ops"] == 0 and step["pinned_cpu"] == 0 for step in stats["steps"].values())
    lr_steps = sum(s.feed_lr for s in loop.steps)
    assert lr_steps < stats["transfers_in"] <= lr_steps + 16
