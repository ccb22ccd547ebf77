"""Tests of aher/model/discriminator.py: names, paper_vs_code §6.3 parameter count, sharing, flattened layout, groups."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model import variable_groups
from aher.model.backbone import BackboneConfig, backbone
from aher.model.context import ContextConfig, generators
from aher.model.discriminator import discriminator_logits

PAPER_WIDTHS = (256, 256, 512, 512, 1024, 1024, 2048, 2048)
PAPER_LENGTHS = (128, 64, 32, 16, 8, 4, 2, 1)


def n_params(variables):
    return int(sum(np.prod(v.shape.as_list()) for v in variables))


def test_paper_parameter_count_names_and_shape():
    with tf.Graph().as_default():
        ends = [tf.compat.v1.placeholder(tf.float32, [None, t, c]) for t, c in zip(PAPER_LENGTHS, PAPER_WIDTHS)]
        logits = discriminator_logits(ends)
        assert logits.shape.as_list() == [None, 765]
        variables = tf.compat.v1.trainable_variables()
        assert n_params(variables) == 69_144
        shapes = {v.op.name: v.shape.as_list() for v in variables}
        assert shapes == {**{f"conv_a{j}_adv/d_conv_adv/weights": [3, c, 3] for j, c in enumerate(PAPER_WIDTHS, 1)},
                          **{f"conv_a{j}_adv/d_conv_adv/biases": [3] for j in range(1, 9)}}


def test_real_and_synthetic_branches_share_variables():
    rng = np.random.default_rng(0)
    feats = [rng.standard_normal((2, t, c)).astype(np.float32) for t, c in ((4, 3), (2, 5))]
    with tf.Graph().as_default() as graph:
        real = [tf.compat.v1.placeholder(tf.float32, [2, t, c]) for t, c in ((4, 3), (2, 5))]
        fake = [tf.compat.v1.placeholder(tf.float32, [2, t, c]) for t, c in ((4, 3), (2, 5))]
        d_real, d_fake = discriminator_logits(real), discriminator_logits(fake)
        assert len(tf.compat.v1.trainable_variables()) == 4
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            a, b = sess.run([d_real, d_fake], {**dict(zip(real, feats)), **dict(zip(fake, feats))})
    assert a.shape == (2, 18)
    np.testing.assert_array_equal(a, b)


def test_flattened_layer_cell_anchor_order_and_no_activation():
    lengths, widths = (4, 2, 1), (2, 3, 2)
    with tf.Graph().as_default() as graph:
        ends = [tf.compat.v1.placeholder(tf.float32, [2, t, c]) for t, c in zip(lengths, widths)]
        logits = discriminator_logits(ends)
        by_name = {v.op.name: v for v in tf.compat.v1.trainable_variables()}
        assigns = []
        for j, c in enumerate(widths, 1):
            kernel = np.zeros((3, c, 3), np.float32)
            kernel[1, 0, :] = 1.0                                  # centre tap of channel 0 -> every anchor
            assigns += [by_name[f"conv_a{j}_adv/d_conv_adv/weights"].assign(kernel),
                        by_name[f"conv_a{j}_adv/d_conv_adv/biases"].assign(-10.0 * j - np.arange(3.0))]
        # channel 0 of end point = cell index + 100 * batch index
        feeds = {e: np.broadcast_to((np.arange(t)[None, :] + 100.0 * np.arange(2)[:, None])[..., None],
                                    (2, t, c)).astype(np.float32) for e, t, c in zip(ends, lengths, widths)}
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(assigns)
            out = sess.run(logits, feeds)
    expected = np.concatenate([(np.arange(t)[None, :, None] + 100.0 * np.arange(2)[:, None, None]
                                - 10.0 * j - np.arange(3.0)[None, None, :]).reshape(2, -1)
                               for j, t in enumerate(lengths, 1)], axis=1)
    assert out.shape == (2, 21)
    np.testing.assert_array_equal(out, expected)            # negative values survive: no ReLU


def test_variable_groups_of_the_algorithm1_scopes():
    tiny = BackboneConfig(input_dim=3, conv1_width=4, conv2_width=4, anchor_widths=(2, 2, 3))
    with tf.Graph().as_default():
        ends = backbone(tf.compat.v1.placeholder(tf.float32, [2, 32, 3]), tiny, 3)
        generators(tf.compat.v1.placeholder(tf.float32, [2, 16, 3]), ContextConfig(hidden_width=4))
        discriminator_logits(ends)
        groups = variable_groups.assign_groups()
    assert {n for n, g in groups.items() if g == "discriminators"} == {
        f"conv_a{j}_adv/d_conv_adv/{w}" for j in (1, 2, 3) for w in ("weights", "biases")}
    assert {n for n, g in groups.items() if g == "generators"} == {
        f"g_conv_{t}{k}/{w}" for t in "se" for k in "12" for w in ("weights", "biases")}
    assert all(n.startswith("aher/g_conv") for n, g in groups.items() if g == "backbone")
    assert len(groups) == 10 + 8 + 6


def test_refuses_nested_variable_scope():
    with tf.Graph().as_default(), tf.compat.v1.variable_scope("aher"):
        with pytest.raises(ValueError, match="outside any variable scope"):
            discriminator_logits([tf.zeros([1, 2, 2])])
