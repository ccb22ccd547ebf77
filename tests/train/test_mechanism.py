"""Mechanism diagnostics of Algorithm 1: background share, probe AUC, and the hook in a tiny run."""

import json

import numpy as np
import pytest
import tensorflow as tf

from aher.errors import UserError
from aher.diagnostics import main as diagnostics_main
from aher.model.anchors import anchor_layers
from aher.model.context import splice_layout
from aher.train.loop import merge_diagnostics, run_loop
from aher.train.mechanism import (adversary_masks, anchor_extents, anchor_locations, cells_outside, probe_auc,
                                  roc_auc, step_statistics, true_spans)
from aher.train.run_dir import RunDir
from tests.train.test_algorithm1 import memory_streams, tiny_config


def test_anchor_locations_on_a_hand_made_mask_and_span():
    lo = np.array([0.0, 2.0, 6.0, 9.0, 12.0])
    hi = np.array([2.0, 6.0, 10.0, 12.0, 16.0])
    spans = np.array([[4, 12], [0, 8]])
    # sample 0 [4, 12): context, straddling, moment, moment, context; sample 1 [0, 8): moment, moment,
    # straddling, context, context
    mask = np.array([[1, 1, 1, 0, 1], [1, 0, 1, 1, 0]], bool)
    assert anchor_locations(mask, lo, hi, spans) == {"anchors": 7, "moment": 2, "context": 3, "straddling": 2}


def test_background_share_of_both_masks_on_real_anchor_extents():
    lo, hi = anchor_extents(anchor_layers(8), 8)      # 2 layers: 2 cells x 3 anchors, 1 cell x 3 anchors
    np.testing.assert_allclose(lo, [0, 0, 0, 4, 3.48, 2.826, 0, 0, 0])
    np.testing.assert_allclose(hi, [4, 4.52, 5.174, 8, 8, 8, 8, 8, 8])
    spans = np.array([[0, 4]])
    g_fake = np.array([[0.1, 0.5, 0.2, 0.0, 0.29, 0.8, 0.1, 0.1, 0.3]])
    g_real = np.array([[0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.5, 0.1, 0.0]])
    _, joint = adversary_masks(g_real, g_fake, "joint")
    real, separate = adversary_masks(g_real, g_fake, "separate")
    assert joint.nonzero()[1].tolist() == [0, 3, 4, 7]
    assert separate.nonzero()[1].tolist() == [0, 2, 3, 4, 6, 7]
    assert real.nonzero()[1].tolist() == [0, 1, 3, 4, 5, 7, 8]
    assert anchor_locations(joint, lo, hi, spans) == {"anchors": 4, "moment": 1, "context": 1, "straddling": 2}
    assert anchor_locations(separate, lo, hi, spans) == {"anchors": 6, "moment": 1, "context": 1, "straddling": 4}


def test_true_spans_are_not_the_recorded_odd_gt():
    spans = true_spans([14, 15], [1, 10], 32, "splice")
    # even: L = 22, n1 = 5, s = int(0.3 * 5 * 0.05) = 0 -> [0, 22); odd: L = 24, n1 = 4, n2 = 4, s = 0 -> [4, 28)
    assert spans.tolist() == [[0, 22], [4, 28]]
    assert splice_layout(15, 10, odd=True, temporal_length=32)["gt"] == (4, 24)     # upstream's recorded GT


def test_cells_outside_intervals():
    intervals = np.array([[[2.0, 5.0], [-1, -1]], [[0.0, 8.0], [6.0, 7.0]]])
    valid = np.array([[True, False], [True, True]])
    np.testing.assert_array_equal(cells_outside(intervals, valid, 4, 2.0),
                                  [[True, False, False, True], [False, False, False, False]])
    np.testing.assert_array_equal(cells_outside(intervals[:1], valid[:1], 8, 1.0),
                                  [[True, True, False, False, False, True, True, True]])


def test_step_statistics():
    x = np.zeros((2, 3, 2), np.float32)
    x[0, :, 0] = [3.0, 0.0, 3.0]
    x[0, :, 1] = [4.0, 0.0, 4.0]
    x[1] = 1.0
    mask = np.array([[True, False, True], [True, True, False]])
    s = step_statistics(x, mask)
    assert s["norm"] == pytest.approx((5 + 5 + np.sqrt(2) * 2) / 4)
    assert s["zero_fraction"] == 0.0 and s["temporal_std"] == 0.0
    s = step_statistics(x)
    assert s["zero_fraction"] == pytest.approx(2 / 12)
    assert s["temporal_std"] == pytest.approx(np.mean([np.std([3, 0, 3]), np.std([4, 0, 4])]) / 2)
    assert step_statistics(x, np.zeros((2, 3), bool))["norm"] is None


def test_roc_auc_exact_values():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([1.0, 1.0], [1, 0]) == 0.5
    assert roc_auc([3.0, 2.0, 1.0], [1, 0, 0]) == 1.0 and roc_auc([3.0, 2.0, 1.0], [0, 1, 1]) == 0.0


def test_probe_auc_separable_identical_and_too_few():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(1200, 16))
    separable = probe_auc(noise[:600] + np.r_[10.0, np.zeros(15)], noise[600:], seed=1)
    assert separable == {"auc": 1.0, "train": 840, "test": 360}
    identical = probe_auc(noise[:600], noise[600:], seed=1)
    assert abs(identical["auc"] - 0.5) < 0.08
    # wide features (d > n: dual solve); a constant "generator" output against real noise
    wide = rng.normal(size=(100, 300))
    assert probe_auc(np.ones((50, 300)), wide[50:], seed=2)["auc"] == 1.0
    assert probe_auc(noise[:19], noise[600:])["auc"] is None


def test_merge_diagnostics_keeps_other_iterations(tmp_path):
    path = tmp_path / "diagnostics.json"
    merge_diagnostics(path, 20, {"a": 1})
    merge_diagnostics(path, 10, {"a": 0})
    merge_diagnostics(path, 20, {"a": 2})
    assert json.loads(path.read_text()) == {"10": {"a": 0}, "20": {"a": 2}}
    assert list(json.loads(path.read_text())) == ["10", "20"] and not (tmp_path / "diagnostics.json.tmp").exists()


def build(cfg, method):
    from aher.train.algorithm1 import build_algorithm1_graph

    return build_algorithm1_graph(cfg, memory_streams(), {"untrimmed": 2, "moment": 3}, method=method)


def test_tiny_algorithm1_run_writes_diagnostics_and_the_cli_prints_them(tmp_path, capsys):
    cfg = tiny_config("train.iterations=4", "train.log_every=1", "train.snapshot_every=2")
    with tf.Graph().as_default() as graph:
        loop = build(cfg, "algorithm1")
        run_dir = RunDir(tmp_path / "run", cfg)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            run_loop(sess, loop, cfg, run_dir, progress=False)
            state = tf.compat.v1.global_variables() + tf.compat.v1.local_variables()
            before = sess.run(state)
            loop.diagnostics.log(sess, 5)                  # read-only: no variable, no cached batch moves
            for a, b in zip(before, sess.run(state)):
                np.testing.assert_array_equal(a, b)
            gscores = sess.run({k: loop.diagnostics.fetches[k] for k in ("gscores_real", "gscores_fake")})
        run_dir.close()
    run = run_dir.path
    data = json.loads((run / "diagnostics.json").read_text())
    assert list(data) == ["2", "4"]
    rec = data["4"]
    assert set(rec) == {"method", "mask", "measurements", "first_iteration", "last_iteration",
                        "seconds_per_measurement", "generator", "probe", "discriminator", "background_share"}
    assert (rec["method"], rec["mask"], rec["measurements"], rec["first_iteration"], rec["last_iteration"]) == \
        ("algorithm1", "joint", 2, 3, 4)
    # T = 32: 4 anchor layers; the batch is the same every iteration, so the window counts twice its anchors
    _, joint = adversary_masks(gscores["gscores_real"], gscores["gscores_fake"], "joint")
    real_sep, fake_sep = adversary_masks(gscores["gscores_real"], gscores["gscores_fake"], "separate")
    disc = rec["discriminator"]
    assert [r["layer"] for r in disc["layers"]] == [1, 2, 3, 4]
    assert disc["all"]["real_anchors"] == disc["all"]["generated_anchors"] == 2 * int(joint.sum())
    assert sum(r["real_anchors"] for r in disc["layers"]) == disc["all"]["real_anchors"]
    for row in disc["layers"] + [disc["all"]]:
        for key in ("real_accuracy", "generated_accuracy"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
    share = rec["background_share"]
    assert share["joint"]["anchors"] == 2 * int(joint.sum()) and share["separate"]["anchors"] == 2 * int(fake_sep.sum())
    for mask in ("joint", "separate"):
        assert share[mask]["moment"] + share[mask]["context"] + share[mask]["straddling"] == pytest.approx(1.0)
    assert set(rec["probe"]) == {"input", "layer_1", "layer_2", "layer_3", "layer_4"}
    assert 0.0 <= rec["probe"]["input"]["auc"] <= 1.0 and rec["probe"]["input"]["test"] > 0
    gen, real = rec["generator"]["generated"], rec["generator"]["real_background"]
    assert set(gen) == set(real) == {"norm", "zero_fraction", "temporal_std"}
    assert 0.0 < gen["zero_fraction"] < 1.0 and real["zero_fraction"] == 0.0     # ReLU output vs Gaussian features
    assert real["norm"] == pytest.approx(np.sqrt(8), rel=0.3)                    # N(0, 1) in D = 8

    assert diagnostics_main(["mechanism", str(run)]) == 0
    out = capsys.readouterr().out
    assert "at iteration 4 (method algorithm1, mask joint; 2 measurements, iterations 3-4" in out
    all_row = next(line for line in out.splitlines() if line.startswith("| all |"))
    assert f"| {disc['all']['real_anchors']} / {disc['all']['generated_anchors']} |" in all_row
    assert f"| joint (configured) | {share['joint']['anchors']} |" in out
    assert f"| {rec['probe']['input']['auc']:.3f} |" in next(l for l in out.splitlines() if l.startswith("| input |"))
    assert diagnostics_main(["mechanism", str(run), "--iteration", "2"]) == 0
    assert "at iteration 2 " in capsys.readouterr().out
    with pytest.raises(UserError, match="no record for iteration 3"):
        diagnostics_main(["mechanism", str(run), "--iteration", "3"])
    with pytest.raises(UserError, match="diagnostics.json: missing"):
        diagnostics_main(["mechanism", str(tmp_path / "nowhere")])


def test_no_adversary_records_generator_and_probe_only():
    with tf.Graph().as_default():
        loop = build(tiny_config(), "no_adversary")
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            sess.run(loop.load_batches)
            scalars = loop.diagnostics.log(sess, 1)
            _, rec = loop.diagnostics.snapshot(sess, 2)
    assert not any("D_" in k or "background_in" in k for k in scalars)
    assert scalars["mechanism/norm/generated"] > 0 and scalars["mechanism/zero_fraction/real_background"] == 0.0
    assert rec["method"] == "no_adversary" and "discriminator" not in rec and "background_share" not in rec
    assert (rec["measurements"], rec["first_iteration"], rec["last_iteration"]) == (2, 1, 2)
    assert set(rec["probe"]) == {"input", "layer_1", "layer_2", "layer_3", "layer_4"}
    # per measurement: 10 + 5 + 2 + 8 context steps (true spans) and 12 + 10 + 22 + 24 background steps
    probe = rec["probe"]["input"]
    assert (probe["generated_rows"], probe["real_rows"]) == (2 * 25, 2 * 68)
    assert probe["train"] + probe["test"] == 2 * 25 + 2 * 68 and probe["test"] == 15 + 41
    # layer 1 (cells of 4 steps): 2 + 0 + 0 + 2 context and 2 + 2 + 5 + 6 background cells per measurement
    assert rec["probe"]["layer_1"] == {"auc": None, "train": 0, "test": 0, "generated_rows": 8, "real_rows": 30}
