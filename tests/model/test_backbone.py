"""Tests of aher/model/backbone.py against the layer table of paper_vs_code §2.1."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.backbone import BackboneConfig, backbone

TINY = BackboneConfig(input_dim=3, conv1_width=4, conv2_width=4, anchor_widths=(2, 2, 3, 3, 4, 4, 5, 5))


def n_params(variables):
    return int(sum(np.prod(v.shape.as_list()) for v in variables))


def test_end_point_lengths_untrimmed_512_and_moment_256():
    with tf.Graph().as_default():
        untrimmed = backbone(tf.compat.v1.placeholder(tf.float32, [2, 512, 3]), TINY, 8)
        moment = backbone(tf.compat.v1.placeholder(tf.float32, [2, 256, 3]), TINY, 8)
        assert [e.shape.as_list() for e in untrimmed] == [[2, t, c] for t, c in
                                                          zip((128, 64, 32, 16, 8, 4, 2, 1), TINY.anchor_widths)]
        assert [e.shape[1] for e in moment] == [64, 32, 16, 8, 4, 2, 1, 1]
        # both calls share one set of variables: 10 convs x (weights, biases)
        assert len(tf.compat.v1.trainable_variables()) == 20


def test_variable_names_and_runtime_shapes():
    with tf.Graph().as_default() as graph:
        x = tf.compat.v1.placeholder(tf.float32, [None, None, 3])
        ends = backbone(x, TINY, 3)
        names = sorted(v.op.name for v in tf.compat.v1.trainable_variables())
        assert names == sorted(f"aher/{s}/{w}" for s in ("g_conv1", "g_conv2", "g_conv_a1", "g_conv_a2", "g_conv_a3")
                               for w in ("weights", "biases"))
        shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
        assert shapes["aher/g_conv1/weights"] == [3, 3, 4] and shapes["aher/g_conv_a3/weights"] == [3, 2, 3]
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feats = np.random.default_rng(1).standard_normal((2, 32, 3)).astype(np.float32)
            outs = sess.run(ends, {x: feats})
    assert [o.shape for o in outs] == [(2, 8, 2), (2, 4, 2), (2, 2, 3)]     # 32 -> pool 15 -> 8, 4, 2
    assert all((o >= 0).all() for o in outs)                                 # ReLU end points


def test_paper_parameter_count():
    with tf.Graph().as_default():
        ends = backbone(tf.compat.v1.placeholder(tf.float32, [None, 512, 2048]), BackboneConfig(), 8)
        assert [e.shape.as_list()[1:] for e in ends] == [[128, 256], [64, 256], [32, 512], [16, 512], [8, 1024],
                                                         [4, 1024], [2, 2048], [1, 2048]]
        assert n_params(tf.compat.v1.trainable_variables()) == 44_640_768


def test_argument_checks():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="input_dim"):
            backbone(tf.zeros([1, 16, 5]), TINY, 2)
        with pytest.raises(ValueError, match="num_layers"):
            backbone(tf.zeros([1, 16, 3]), TINY, 9)
    with pytest.raises(ValueError):
        BackboneConfig(anchor_widths=())
