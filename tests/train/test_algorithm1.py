"""Algorithm 1: every sub-step changes exactly its variable groups; resume continues.

The expected groups are written out here by hand from paper_vs_code §7.2 (not read from
aher.model.variable_groups), so a wrong table in the code fails this test.
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.config import load_config
from aher.model import variable_groups
from aher.train.algorithm1 import build_algorithm1_graph

# paper_vs_code §7.2 table: sub-step -> groups it updates.
EXPECTED = {
    "S1": {"backbone", "cls_moment"},
    "S2": {"cls_untrimmed"},
    "S3": {"backbone", "box_heads", "transfer"},
    "S4": {"generators"},
    "S5a": {"discriminators"},
    "S5b": {"generators"},
    "S5c": {"generators"},
    "S6": {"backbone", "box_heads"},
}

T, D, B = 32, 8, 4


def tiny_config(*overrides):
    return load_config("configs/synthetic_tiny.yaml", [
        f"model.feature_dim={D}", f"model.temporal_length={T}", "model.conv1_width=8", "model.conv2_width=8",
        f"model.anchor_widths={[8] * 8}", "context.hidden_width=8", f"train.batch_size={B}", *overrides])


def memory_streams(seed=0):
    rng = np.random.default_rng(seed)
    gt = -np.ones((B, 25, 2), np.float32)
    gt[:, 0] = [[2, 14], [8, 30], [0, 10], [16, 24]]
    gt[0, 1] = [20, 28]
    arrays = {
        "moments": {"features": rng.normal(size=(B, T // 2, D)).astype(np.float32),
                    "label": np.array([0, 1, 2, 1], np.int32), "ratio_id": np.array([14, 17, 19, 15], np.int32),
                    "pos_id": np.array([1, 19, 7, 10], np.int32)},
        "untrimmed": {"features": rng.normal(size=(B, T, D)).astype(np.float32), "gt": gt,
                      "label": np.array([0, 1, 0, 1], np.int32), "duration": np.full(B, 60.0, np.float32)},
        "foreground": {"features": rng.normal(size=(B, T, D)).astype(np.float32),
                       "label": np.array([1, 0, 1, 0], np.int32)},
    }
    return {k: tf.data.Dataset.from_tensors(v).repeat() for k, v in arrays.items()}


def test_each_sub_step_changes_exactly_its_groups():
    with tf.Graph().as_default():
        loop = build_algorithm1_graph(tiny_config(), memory_streams(), {"untrimmed": 2, "moment": 3})
        trainables = tf.compat.v1.trainable_variables()
        groups = variable_groups.assign_groups()
        assert {n for n in [s.name for s in loop.steps]} == set(EXPECTED)
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            sess.run(loop.load_batches)
            for step in loop.steps:
                before = sess.run(trainables)
                sess.run(step.train_op, feed_dict={loop.lr: 1e-2} if step.feed_lr else {})
                after = sess.run(trainables)
                changed = {groups[v.op.name] for v, a, b in zip(trainables, before, after) if not np.array_equal(a, b)}
                assert changed == EXPECTED[step.name], step.name
                # and within the groups: nothing outside them moved
                moved = [v.op.name for v, a, b in zip(trainables, before, after)
                         if not np.array_equal(a, b) and groups[v.op.name] not in EXPECTED[step.name]]
                assert not moved, (step.name, moved)


def test_ten_adam_optimizers_with_own_slots():
    with tf.Graph().as_default():
        build_algorithm1_graph(tiny_config(), memory_streams(), {"untrimmed": 2, "moment": 3})
        names = [v.op.name for v in tf.compat.v1.global_variables()]
    assert sum(1 for n in names if n.startswith("beta1_power")) == 10
    slots = {}
    for n in names:
        var, _, opt = n.rpartition("/")
        if "_adam" in opt:
            slots.setdefault(opt.removesuffix("_1"), set()).add(var)
    assert sorted(slots) == ["S1_adam", "S2_adam", "S3_adam_cls", "S3_adam_prop", "S4_adam_cls", "S4_adam_prop",
                             "S5a_adam", "S5bc_adam", "S6_adam_cls", "S6_adam_prop"]
    with_backbone = sorted(o for o, vs in slots.items() if "aher/g_conv1/weights" in vs)
    assert with_backbone == ["S1_adam", "S3_adam_cls", "S3_adam_prop", "S6_adam_cls", "S6_adam_prop"]


def test_s1_can_leave_the_backbone_alone():
    cfg = tiny_config("train.s1_updates_backbone=false")
    with tf.Graph().as_default():
        loop = build_algorithm1_graph(cfg, memory_streams(), {"untrimmed": 2, "moment": 3})
        trainables = tf.compat.v1.trainable_variables()
        groups = variable_groups.assign_groups()
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            sess.run(loop.load_batches)
            before = sess.run(trainables)
            sess.run(loop.steps[0].train_op, feed_dict={loop.lr: 1e-2})
            after = sess.run(trainables)
    assert {groups[v.op.name] for v, a, b in zip(trainables, before, after) if not np.array_equal(a, b)} == {"cls_moment"}


@pytest.mark.parametrize("fix", [False, True])
def test_synthetic_gt_follows_context_ids(fix):
    from aher.model.context import splice_layout

    cfg = tiny_config(f"context.fix_odd_gt={str(fix).lower()}")
    with tf.Graph().as_default():
        loop = build_algorithm1_graph(cfg, memory_streams(), {"untrimmed": 2, "moment": 3})
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            sess.run(loop.load_batches)
            gt = sess.run(loop.tensors["gt"])
    for i, (r, p) in enumerate(zip([14, 17, 19, 15], [1, 19, 7, 10])):
        expected = splice_layout(r, p, odd=bool(i % 2), temporal_length=T, fix_odd_gt=fix)["gt"]
        assert tuple(gt[i, 0]) == pytest.approx(tuple(expected))


def test_resume_continues_from_the_saved_iteration(tmp_path):
    from aher.train.driver import train_run

    cfg = load_config("configs/k600_synthetic_tiny.yaml",
                      [f"data.root={tmp_path / 'data'}", "train.iterations=4", "train.snapshot_every=2"])
    run, last = train_run(cfg, tmp_path / "run", progress=False, log=lambda *_: None)
    assert last.endswith("model.ckpt-4")
    cfg = cfg.with_overrides("train.iterations=6")
    with pytest.raises(Exception, match="already holds checkpoints"):
        train_run(cfg, tmp_path / "run", progress=False, log=lambda *_: None)
    run, last = train_run(cfg, tmp_path / "run", resume=True, progress=False, log=lambda *_: None)
    assert last.endswith("model.ckpt-6")
    log = (tmp_path / "run" / "train.log").read_text()
    assert "resumed at iteration 4" in log and "it 5/6" not in log.split("resumed at iteration 4")[0]


def test_paper_variants_build_and_train_one_iteration():
    """Every paper-side value of the paper_vs_code §11 switches builds and runs (values stay finite)."""
    cfg = tiny_config("loss.offset_target=decoded", "loss.overlap_target=refined", "loss.cls_cells=foreground",
                      "adversarial.mask=separate", "adversarial.g_steps=1", "context.mode=concat",
                      "model.prior_scaling=[1.0, 1.0]", "train.s1_updates_backbone=false")
    with tf.Graph().as_default():
        loop = build_algorithm1_graph(cfg, memory_streams(), {"untrimmed": 2, "moment": 3})
        assert [s.name for s in loop.steps] == ["S1", "S2", "S3", "S4", "S5a", "S5b", "S6"]
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            sess.run(loop.load_batches)
            for step in loop.steps:
                out = sess.run({"op": step.train_op, **step.fetches}, feed_dict={loop.lr: 1e-3} if step.feed_lr else {})
                assert all(np.isfinite(v) for k, v in out.items() if k != "op"), step.name


@pytest.mark.parametrize("method,steps", [
    ("no_adversary", ["S1", "S2", "S3", "S4", "SL2", "S6"]),
    ("minus", ["S1", "S2", "S3"]),
    ("moments_only", ["S1", "SM"]),
    ("zero", ["S1"]),
])
def test_baseline_variants_run_their_sub_steps(method, steps):
    """The paper's baselines (paper_vs_code §11.2) are Algorithm 1 with fewer or other sub-steps; each trains only its groups."""
    expected = dict(EXPECTED, SM={"backbone", "box_heads", "transfer"}, SL2={"generators"})
    with tf.Graph().as_default():
        loop = build_algorithm1_graph(tiny_config(), memory_streams(), {"untrimmed": 2, "moment": 3}, method=method)
        assert [s.name for s in loop.steps] == steps
        trainables = tf.compat.v1.trainable_variables()
        groups = variable_groups.assign_groups()
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            sess.run(loop.load_batches)
            for step in loop.steps:
                before = sess.run(trainables)
                out = sess.run({"op": step.train_op, **step.fetches}, feed_dict={loop.lr: 1e-2} if step.feed_lr else {})
                after = sess.run(trainables)
                assert all(np.isfinite(v) for k, v in out.items() if k != "op"), step.name
                changed = {groups[v.op.name] for v, a, b in zip(trainables, before, after) if not np.array_equal(a, b)}
                assert changed == expected[step.name], step.name
