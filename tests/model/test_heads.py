"""Tests of aher/model/heads.py: layouts, the pooled/anchor classifier invariant, paper_vs_code §3 parameter totals."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.heads import anchor_classifier, box_heads, pooled_classifier

PAPER_WIDTHS = (256, 256, 512, 512, 1024, 1024, 2048, 2048)


def n_params(variables):
    return int(sum(np.prod(v.shape.as_list()) for v in variables))


def test_box_head_shapes_names_and_channel_layout():
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, 5, 4])
        out = box_heads(x, 2)
        assert out["proplogits"].shape.as_list() == [None, 5, 3, 2]
        assert out["offsets"].shape.as_list() == [None, 5, 3, 2]
        assert out["overlap_logits"].shape.as_list() == [None, 5, 3]
        assert out["overlap"].shape.as_list() == [None, 5, 3]
        shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
        assert shapes == {"aher/conv_a2_box/conv_cls/weights": [3, 4, 6], "aher/conv_a2_box/conv_cls/biases": [6],
                          "aher/conv_a2_box/conv_loc/weights": [3, 4, 6], "aher/conv_a2_box/conv_loc/biases": [6],
                          "aher/conv_a2_box/conv_iou/weights": [3, 4, 3], "aher/conv_a2_box/conv_iou/biases": [3]}
        # zero kernels and biases = channel index: the output says which channel lands where
        variables = tf.compat.v1.trainable_variables()
        assigns = [v.assign(tf.zeros_like(v)) if "weights" in v.op.name
                   else v.assign(tf.range(v.shape[0], dtype=tf.float32) - 1.0) for v in variables]
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(assigns)
            res = sess.run(out, {x: np.ones((2, 5, 4), np.float32)})
    channel = np.arange(3)[:, None] * 2 + np.arange(2)[None, :] - 1.0        # anchor * k + k_idx
    np.testing.assert_array_equal(res["offsets"], np.broadcast_to(channel, (2, 5, 3, 2)))
    np.testing.assert_array_equal(res["proplogits"], np.broadcast_to(channel, (2, 5, 3, 2)))
    np.testing.assert_array_equal(res["overlap_logits"], np.broadcast_to(np.arange(3) - 1.0, (2, 5, 3)))
    np.testing.assert_allclose(res["overlap"], 1.0 / (1.0 + np.exp(-(np.arange(3) - 1.0))) + np.zeros((2, 5, 3)),
                               rtol=1e-6)


def test_pooled_classifier_and_anchor_classifier_agree_on_constant_map():
    rng = np.random.default_rng(2)
    feats = rng.standard_normal((3, 6, 4)).astype(np.float32)
    const = np.repeat(rng.standard_normal((3, 1, 4)).astype(np.float32), 7, axis=1)   # constant in time
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, None, 4])
        logits, w, b = pooled_classifier(x, 1, 5, "moment")
        anchor_logits = anchor_classifier(x, w, b)
        assert logits.shape.as_list() == [None, 5] and w.shape.as_list() == [5, 4] and b.shape.as_list() == [5]
        assert anchor_logits.shape.as_list() == [None, None, 5]
        by_name = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
        kernel, bias = by_name["aher/conv_a1_box/cls_moment/weights"], by_name["aher/conv_a1_box/cls_moment/biases"]
        assert kernel.shape.as_list() == [1, 4, 5]
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(bias.assign(tf.constant([0.5, -1.0, 2.0, 0.0, 3.0])))
            lg, wv, bv, kv = sess.run([logits, w, b, kernel], {x: feats})
            pooled_const, anchors_const = sess.run([logits, anchor_logits], {x: const})
    np.testing.assert_allclose(wv, kv[0].T)                                     # row c = class c
    np.testing.assert_allclose(lg, feats.mean(axis=1) @ wv.T + bv, rtol=1e-5, atol=1e-5)
    assert anchors_const.shape == (3, 7, 5)
    np.testing.assert_allclose(anchors_const, np.repeat(pooled_const[:, None], 7, axis=1), rtol=1e-5, atol=1e-5)


def test_label_spaces_are_separate_and_reused():
    with tf.Graph().as_default():
        x = tf.zeros([2, 4, 3])
        pooled_classifier(x, 1, 6, "moment")
        pooled_classifier(x, 1, 2, "untrimmed")
        pooled_classifier(x, 1, 6, "moment")                                   # second branch: reuse
        assert sorted(v.op.name for v in tf.compat.v1.trainable_variables()) == [
            "aher/conv_a1_box/cls_moment/biases", "aher/conv_a1_box/cls_moment/weights",
            "aher/conv_a1_box/cls_untrimmed/biases", "aher/conv_a1_box/cls_untrimmed/weights"]
        with pytest.raises(ValueError, match="label space"):
            pooled_classifier(x, 1, 2, "thumos")


def test_paper_parameter_totals():
    with tf.Graph().as_default():
        ends = [tf.compat.v1.placeholder(tf.float32, [None, 1, c]) for c in PAPER_WIDTHS]
        for j, end in enumerate(ends, start=1):
            box_heads(end, j)
            pooled_classifier(end, j, 600, "moment")
            pooled_classifier(end, j, 200, "untrimmed")
        variables = tf.compat.v1.trainable_variables()
        box = [v for v in variables if v.op.name.split("/")[2] in ("conv_cls", "conv_loc", "conv_iou")]
        moment = [v for v in variables if v.op.name.split("/")[2] == "cls_moment"]
        untrimmed = [v for v in variables if v.op.name.split("/")[2] == "cls_untrimmed"]
        assert len(box) + len(moment) + len(untrimmed) == len(variables) == 8 * 10
        assert n_params(box) == 345_720
        assert n_params(moment) == 4_612_800
        assert n_params(untrimmed) == 1_537_600
