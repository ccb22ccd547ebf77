"""Analytic FLOPs (aher.train.flops): hand counts of single layers, the backbone against
TensorFlow's profiler, and every Algorithm-1 sub-step against the kernels TensorFlow executes."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from aher.config import load_config
from aher.model.backbone import backbone
from aher.model import variable_groups
from aher.model.graph import backbone_config
from aher.paths import PROJECT_ROOT
from aher.train import flops
from aher.train.algorithm1 import STEP_BUILDERS, build_algorithm1_graph

PAPER = ["model.feature_dim=2048", "model.temporal_length=512", "model.conv1_width=2048", "model.conv2_width=1024",
         "model.anchor_widths=[256, 256, 512, 512, 1024, 1024, 2048, 2048]", "context.hidden_width=1024",
         "train.batch_size=16"]
PRODUCT_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul")


def float_ops_options():
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    return builder(builder.float_operation()).with_empty_output().build()


def flops_by_op_type(graph):
    """{op type: FLOPs} of the whole graph, from the profiler's op view."""
    prof = tf.compat.v1.profiler.profile(graph, cmd="op", options=float_ops_options())
    totals, todo = {}, list(prof.children)
    while todo:
        node = todo.pop()
        totals[node.name] = totals.get(node.name, 0) + node.float_ops
        todo.extend(node.children)
    return totals


def flops_by_node(graph):
    """{op name: FLOPs} of the whole graph, from the profiler's scope view."""
    prof = tf.compat.v1.profiler.profile(graph, cmd="scope", options=float_ops_options())
    totals, todo = {}, list(prof.children)
    while todo:
        node = todo.pop()
        totals[node.name] = node.float_ops
        todo.extend(node.children)
    return totals


# ------------------------------------------------------------------------------------ one layer
def test_conv1d_hand_count():
    # B=2, T=10, C_in=4, C_out=3, k=3, stride 2:
    #   SAME:  T_out = ceil(10 / 2) = 5;          2 * 2 * 5 * 3 * 4 * 3 = 720
    #   VALID: T_out = floor((10 - 3) / 2) + 1 = 4; 2 * 2 * 4 * 3 * 4 * 3 = 576
    assert flops.conv1d_flops(2, 10, 4, 3, 3, stride=2) == 720
    assert flops.conv1d_flops(2, 10, 4, 3, 3, stride=2, padding="VALID") == 576
    # the paper's g_conv1, one sample: 512 steps * 3 taps * 2048 in * 2048 out MACs
    assert flops.conv1d_flops(1, 512, 2048, 2048, 3) == 2 * 512 * 3 * 2048 * 2048 == 12_884_901_888
    assert flops.conv1d_output_length(255, 3, 2) == 128
    assert flops.conv1d_output_length(512, 3, 2, "VALID") == 255


def test_dense_hand_count():
    # [5, 7] x [7, 11]: 5 * 11 outputs, 7 MACs each -> 2 * 385 = 770
    assert flops.dense_flops(5, 7, 11) == 770
    # one fc of the weight transfer at layer 8, K = 600: [600, 2048] x [2048, 2048]
    assert flops.dense_flops(600, 2048, 2048) == 2 * 600 * 2048 * 2048


def test_paper_backbone_hand_count():
    model = load_config("configs/k600_synthetic_small.yaml", PAPER).model
    conv1 = 512 * 3 * 2048 * 2048
    conv2 = 512 * 3 * 2048 * 1024
    # pool2 (k3 s2 VALID): 255 steps; anchor layers (k3 s2 SAME) 128, 64, ..., 1 steps
    anchors = (128 * 3 * 1024 * 256 + 64 * 3 * 256 * 256 + 32 * 3 * 256 * 512 + 16 * 3 * 512 * 512
               + 8 * 3 * 512 * 1024 + 4 * 3 * 1024 * 1024 + 2 * 3 * 1024 * 2048 + 1 * 3 * 2048 * 2048)
    assert flops.backbone_flops(model, 1, 512) == 2 * (conv1 + conv2 + anchors) == 19_704_840_192
    # moments (256 steps): pool 127, then 64, 32, ..., 1, and layer 8 stays at 1 step
    anchors_256 = (64 * 3 * 1024 * 256 + 32 * 3 * 256 * 256 + 16 * 3 * 256 * 512 + 8 * 3 * 512 * 512
                   + 4 * 3 * 512 * 1024 + 2 * 3 * 1024 * 1024 + 1 * 3 * 1024 * 2048 + 1 * 3 * 2048 * 2048)
    assert flops.backbone_flops(model, 1, 256) == 2 * (conv1 // 2 + conv2 // 2 + anchors_256)


def test_every_sub_step_counted_with_its_trained_groups():
    assert set(flops.STEP_LOSSES) == set(STEP_BUILDERS) == set(flops.TRAINED_GROUPS)
    for step, groups in flops.TRAINED_GROUPS.items():
        assert set(groups) == set(variable_groups.STEP_GROUPS["S5bc" if step == "S5g" else step]), step


def test_module_does_not_import_tensorflow():
    code = "import sys, aher.train.flops; print(any(m.split('.')[0] == 'tensorflow' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert out.stdout.strip() == "False"


def test_paper_sub_step_structure():
    config = load_config("configs/k600_synthetic_small.yaml", PAPER)
    classes = {"untrimmed": 200, "moment": 600}
    steps = flops.iteration_flops(config, classes)
    assert list(steps) == ["S1", "S2", "S3", "S4", "S5a", "S5b", "S5c", "S6"]
    unt = flops.backbone_flops(config.model, 16, 512)
    # S2: the foreground backbone + pooled classifiers forward; backward only dW of cls_untrimmed
    cls_u = flops.dense_flops(16, sum(config.model.anchor_widths), 200)
    assert steps["S2"].forward == unt + cls_u and steps["S2"].backward == cls_u
    # S5a: S5b's forward (generators, synthetic backbone, D on it) + the real backbone and D on it;
    # backward: dW of D only (its inputs need no gradient)
    adversary = flops.branch_forward_flops(config, classes, "adversary")
    assert steps["S5a"].forward == steps["S5b"].forward + unt + adversary // 2
    assert steps["S5a"].backward == adversary
    # S5b/c: dx through D and the frozen backbone (1x), generators: dW + dx of G*2, dW of G*1
    generators = 2 * (flops.conv1d_flops(16, 256, 2048, 1024, 3) + flops.conv1d_flops(16, 256, 1024, 2048, 3, 2))
    assert steps["S5b"].forward == generators + unt + adversary // 2
    g2 = 2 * flops.conv1d_flops(16, 256, 1024, 2048, 3, 2)
    assert steps["S5b"].backward == adversary // 2 + unt + generators + g2
    assert steps["S5b"].total == steps["S5c"].total and steps["S4"].forward == steps["S6"].forward
    # S1 without the backbone: only the classifier's dW
    frozen = load_config("configs/k600_synthetic_small.yaml", PAPER + ["train.s1_updates_backbone=false"])
    s1 = flops.step_flops(frozen, classes, "S1")
    assert s1.forward == steps["S1"].forward and s1.backward == flops.dense_flops(16, sum(config.model.anchor_widths), 600)


# ------------------------------------------------------------------------------------ against TensorFlow
def test_backbone_forward_matches_tf_profiler():
    b, t = 2, 64
    model = load_config("configs/synthetic_tiny.yaml", [
        "model.feature_dim=32", f"model.temporal_length={t}", "model.conv1_width=48", "model.conv2_width=40",
        "model.anchor_widths=[16, 16, 24, 24, 32, 32, 32, 32]"]).model
    with tf.Graph().as_default() as graph:
        points = backbone(tf.compat.v1.placeholder(tf.float32, [b, t, model.feature_dim]), backbone_config(model),
                          model.num_layers)
    # the forward only: the ops the end points need (not the variables' initializers)
    forward = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), [p.op.name for p in points])
    with tf.Graph().as_default() as forward_graph:
        tf.compat.v1.import_graph_def(forward, name="")
    by_type = flops_by_op_type(forward_graph)
    analytic = flops.backbone_flops(model, b, t)
    # the convolutions: exactly the analytic count (TF: 2 * output elements * k * C_in per Conv2D)
    assert by_type["Conv2D"] == analytic
    # the rest of TF's count: one FLOP per bias add output, k = 3 per max-pool output (ReLU: none)
    # T = 64: conv1, conv2 64 steps; pool2 31 = floor((64 - 3) / 2) + 1; anchor layers 16, 8, 4, 2, 1
    lengths = [64, 64, 16, 8, 4, 2, 1]
    widths = [48, 40, 16, 16, 24, 24, 32]
    small_ops = sum(b * n * c for n, c in zip(lengths, widths)) + 3 * b * 31 * 40
    assert by_type["BiasAdd"] + by_type["MaxPool"] == small_ops
    total = sum(by_type.values())
    assert total == analytic + small_ops
    assert abs(total / analytic - 1) < 0.01


def algorithm1_memory_streams(b, t, d, seed=0):
    rng = np.random.default_rng(seed)
    gt = -np.ones((b, 25, 2), np.float32)
    gt[:, 0] = [[2, 14], [8, 30], [0, 10], [16, 24]]
    arrays = {
        "moments": {"features": rng.normal(size=(b, t // 2, d)).astype(np.float32),
                    "label": np.array([0, 1, 2, 1], np.int32), "ratio_id": np.array([14, 17, 19, 15], np.int32),
                    "pos_id": np.array([1, 19, 7, 10], np.int32)},
        "untrimmed": {"features": rng.normal(size=(b, t, d)).astype(np.float32), "gt": gt,
                      "label": np.array([0, 1, 0, 1], np.int32), "duration": np.full(b, 60.0, np.float32)},
        "foreground": {"features": rng.normal(size=(b, t, d)).astype(np.float32),
                       "label": np.array([1, 0, 1, 0], np.int32)},
    }
    return {k: tf.data.Dataset.from_tensors(v).repeat() for k, v in arrays.items()}


@pytest.mark.parametrize("method", ["algorithm1", pytest.param("no_adversary", marks=pytest.mark.slow),
                                    pytest.param("moments_only", marks=pytest.mark.slow)])
def test_sub_steps_match_the_kernels_tensorflow_runs(method):
    """Each sub-step's analytic count vs the profiler's count of the product kernels that ran.

    A traced ``session.run`` lists the nodes that executed after Grappler pruned the gradients no
    variable needs (e.g. dx of the first conv, dW of a frozen backbone). Differences: the
    profiler counts a stride-2 backprop as T_in / 2 steps (127.5 for 255 inputs, 0.5 for 1),
    where the transposed conv runs T_out (128, 1) steps. Remapping is off so MatMul+BiasAdd keep
    their names (a fused node is named after the BiasAdd).
    """
    b, t, d = 4, 64, 32
    config = load_config("configs/synthetic_tiny.yaml", [
        f"model.feature_dim={d}", f"model.temporal_length={t}", "model.conv1_width=48", "model.conv2_width=40",
        "model.anchor_widths=[16, 16, 24, 24, 32, 32, 32, 32]", "context.hidden_width=24", f"train.batch_size={b}",
        f"train.method={method}"])
    classes = {"untrimmed": 5, "moment": 7}
    with tf.Graph().as_default() as graph:
        loop = build_algorithm1_graph(config, algorithm1_memory_streams(b, t, d), classes)
        init = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
    per_node = flops_by_node(graph)
    analytic = flops.iteration_flops(config, classes)
    assert [s.name for s in loop.steps] == list(analytic)
    session_config = tf.compat.v1.ConfigProto()
    session_config.graph_options.rewrite_options.remapping = 2      # RewriterConfig.OFF
    trace = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    with tf.compat.v1.Session(graph=graph, config=session_config) as sess:
        sess.run(init)
        sess.run(loop.load_batches)
        for step in loop.steps:
            meta = tf.compat.v1.RunMetadata()
            sess.run(step.train_op, feed_dict={loop.lr: 1e-4} if step.feed_lr else {}, options=trace,
                     run_metadata=meta)
            ran = {n.node_name.split(":")[0] for dev in meta.step_stats.dev_stats for n in dev.node_stats}
            executed = sum(per_node[name] for name in ran
                           if name in per_node and graph.get_operation_by_name(name).type in PRODUCT_OPS)
            expected = analytic[step.name].total
            assert abs(executed / expected - 1) < 0.01, (step.name, executed, expected)
