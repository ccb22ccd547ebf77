"""Tests of aher/model/layers.py: variable names/shapes/initialisers (paper_vs_code §2.1, paper_vs_code §13) and the ops."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.layers import ACTIVATIONS, conv1d, fully_connected, model_scope, resolve_activation


def var(name):
    """The global variable whose op name is ``name`` (resource variables: no plain ``:0`` tensor)."""
    (match,) = [v for v in tf.compat.v1.global_variables() if v.op.name == name]
    return match


def np_conv1d_same(x, w, b, stride):
    """Reference SAME conv: x [B, T, Ci], w [k, Ci, Co]; TF pads (k-1)//2 left for stride 1."""
    k = w.shape[0]
    t = x.shape[1]
    out_len = -(-t // stride)
    pad_total = max((out_len - 1) * stride + k - t, 0)
    left = pad_total // 2
    xp = np.pad(x, ((0, 0), (left, pad_total - left), (0, 0)))
    out = np.stack([np.einsum("bkc,kco->bo", xp[:, i * stride:i * stride + k], w) for i in range(out_len)], axis=1)
    return out + b


def test_conv1d_variables_initialisers_and_values():
    rng = np.random.default_rng(0)
    x_val = rng.standard_normal((2, 7, 5)).astype(np.float32)
    with tf.Graph().as_default() as graph:
        x = tf.constant(x_val)
        y_relu = conv1d(x, 40, 3, scope="c1")
        y_lin = conv1d(x, 4, 3, 2, "c2", activation=None)
        names = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
        assert names == {"c1/weights": [3, 5, 40], "c1/biases": [40], "c2/weights": [3, 5, 4], "c2/biases": [4]}
        assert y_relu.shape.as_list() == [2, 7, 40] and y_lin.shape.as_list() == [2, 4, 4]
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            w1, b1, w2, b2, r, lin = sess.run([var(n) for n in ("c1/weights", "c1/biases", "c2/weights", "c2/biases")]
                                              + [y_relu, y_lin])
    limit = np.sqrt(6.0 / (3 * 5 + 3 * 40))          # Glorot uniform, receptive-field fans
    assert np.abs(w1).max() <= limit and np.abs(w1).max() > 0.8 * limit
    assert not b1.any() and not b2.any()
    np.testing.assert_allclose(r, np.maximum(np_conv1d_same(x_val, w1, b1, 1), 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lin, np_conv1d_same(x_val, w2, b2, 2), rtol=1e-5, atol=1e-5)


def test_conv1d_needs_scope_and_static_channels():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="scope"):
            conv1d(tf.zeros([1, 4, 2]), 3, 3)
        with pytest.raises(ValueError, match="statically known"):
            conv1d(tf.compat.v1.placeholder(tf.float32, [None, None, None]), 3, 3, scope="c")


def test_fully_connected_identity_and_glorot():
    x_val = np.array([[1.0, -2.0, 3.0], [-0.5, 0.0, 4.0]], np.float32)
    with tf.Graph().as_default() as graph:
        x = tf.constant(x_val)
        y_id = fully_connected(x, 3, "fc_id")                          # identity, linear by default
        y_elu = fully_connected(x, 3, "fc_elu", activation="elu")
        y_gl = fully_connected(x, 6, "fc_gl", init="glorot")
        shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
        assert shapes["fc_gl/weights"] == [3, 6] and shapes["fc_gl/biases"] == [6]
        assert shapes["fc_id/weights"] == [3, 3]
        with pytest.raises(ValueError, match="identity init"):
            fully_connected(x, 4, "bad")
        with pytest.raises(ValueError, match="unknown init"):
            fully_connected(x, 3, "bad2", init="orthogonal")
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            yid, yelu, ygl, wgl = sess.run([y_id, y_elu, y_gl, var("fc_gl/weights")])
    np.testing.assert_array_equal(yid, x_val)
    np.testing.assert_allclose(yelu, np.where(x_val > 0, x_val, np.expm1(x_val)), rtol=1e-6)
    np.testing.assert_allclose(ygl, x_val @ wgl, rtol=1e-5, atol=1e-6)
    assert np.abs(wgl).max() <= np.sqrt(6.0 / 9)


def test_activation_table():
    assert set(ACTIVATIONS) == {"none", "relu", "leaky_relu", "elu"}
    assert ACTIVATIONS["none"] is None and resolve_activation(None) is None
    assert resolve_activation("elu") is tf.nn.elu and resolve_activation(tf.nn.relu) is tf.nn.relu
    with pytest.raises(ValueError, match="unknown activation"):
        resolve_activation("gelu")
    # LeakyReLU slope is tf.nn.leaky_relu's default, 0.2
    assert float(ACTIVATIONS["leaky_relu"](tf.constant(-1.0))) == pytest.approx(-0.2)


def test_model_scope_shares_variables_and_refuses_nesting():
    with tf.Graph().as_default():
        x = tf.zeros([1, 4, 2])
        with tf.name_scope("branch_a"), model_scope():
            conv1d(x, 3, 3, scope="c")
        with tf.name_scope("branch_b"), model_scope():
            conv1d(x, 3, 3, scope="c")
        assert sorted(v.op.name for v in tf.compat.v1.global_variables()) == ["aher/c/biases", "aher/c/weights"]
        with tf.compat.v1.variable_scope("outer"):
            with pytest.raises(ValueError, match="outside any variable scope"):
                with model_scope():
                    pass
