"""Tests of aher/model/layers.py: variable names/shapes/initialisers (paper_vs_code §2.1, paper_vs_code §13) and the ops."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.layers import (ACTIVATIONS, MATMUL_MIN_CHANNEL_PRODUCT, compute_dtype, compute_precision, conv1d,
                               conv1d_product, conv_formulation, fully_connected, model_scope, resolve_activation,
                               same_padding)


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


@pytest.mark.parametrize("length,stride,padding", [(9, 1, "SAME"), (8, 1, "SAME"), (8, 2, "SAME"), (9, 2, "SAME"),
                                                   (1, 2, "SAME"), (2, 2, "SAME"), (9, 1, "VALID"), (10, 2, "VALID"),
                                                   (11, 3, "SAME"), (12, 3, "VALID")])
def test_matmul_formulation_equals_conv_in_values_and_gradients(length, stride, padding):
    rng = np.random.default_rng(length * 10 + stride)
    x_val = rng.standard_normal((3, length, 6)).astype(np.float32)
    w_val = rng.standard_normal((3, 6, 5)).astype(np.float32)
    dy_val = rng.standard_normal((3, -(-length // stride) if padding == "SAME" else (length - 3) // stride + 1, 5))
    with tf.Graph().as_default() as graph:
        x, w = tf.constant(x_val), tf.constant(w_val)
        outs = {}
        for name in ("conv", "matmul"):
            y = conv1d_product(x, w, stride, padding, formulation=name)
            loss = tf.reduce_sum(y * dy_val.astype(np.float32))
            outs[name] = [y, *tf.gradients(loss, [x, w])]
        with tf.compat.v1.Session(graph=graph) as sess:
            conv, matmul = sess.run([outs["conv"], outs["matmul"]])
    assert matmul[0].shape == conv[0].shape
    if padding == "SAME":
        np.testing.assert_allclose(conv[0], np_conv1d_same(x_val, w_val, 0.0, stride), rtol=1e-5, atol=1e-5)
    for ours, ref in zip(matmul, conv):          # output, d/dx, d/dw
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_same_padding_is_tensorflows():
    assert same_padding(8, 3, 1) == (1, 1, 8)
    assert same_padding(8, 3, 2) == (0, 1, 4)        # even length, stride 2: all padding after
    assert same_padding(9, 3, 2) == (1, 1, 5)
    assert same_padding(1, 3, 2) == (1, 1, 1)


def test_auto_formulation_takes_the_matmul_for_wide_layers_with_a_static_length():
    wide = int(np.sqrt(MATMUL_MIN_CHANNEL_PRODUCT))
    with tf.Graph().as_default() as graph:
        conv1d_product(tf.zeros([2, 4, wide]), tf.zeros([3, wide, wide]))
        conv1d_product(tf.zeros([2, 4, 8]), tf.zeros([3, 8, 8]))
        conv1d_product(tf.compat.v1.placeholder(tf.float32, [2, None, wide]), tf.zeros([3, wide, wide]))
        with conv_formulation("conv"):
            conv1d_product(tf.zeros([2, 4, wide]), tf.zeros([3, wide, wide]))
        types = [op.type for op in graph.get_operations()]
        assert types.count("Conv2D") == 3 and types.count("MatMul") == 1
        with pytest.raises(ValueError, match="static length"):
            conv1d_product(tf.compat.v1.placeholder(tf.float32, [2, None, 4]), tf.zeros([3, 4, 4]), formulation="matmul")
    with pytest.raises(ValueError, match="unknown formulation"):
        with conv_formulation("fft"):
            pass


@pytest.mark.parametrize("policy,dtype", [("mixed_bfloat16", tf.bfloat16), ("mixed_float16", tf.float16)])
def test_compute_precision_casts_the_product_and_keeps_variables_and_outputs_float32(policy, dtype):
    rng = np.random.default_rng(1)
    x_val = rng.standard_normal((2, 16, 8)).astype(np.float32)
    with tf.Graph().as_default() as graph:
        x = tf.constant(x_val)
        with compute_precision(policy):
            assert compute_dtype() == dtype
            y = conv1d(x, 4, 3, scope="c")
        assert compute_dtype() == tf.float32
        y32 = conv1d(x, 4, 3, scope="c32")
        grad = tf.gradients(tf.reduce_sum(y), [var("c/weights")])[0]
        assert y.dtype == tf.float32 and grad.dtype == tf.float32 and var("c/weights").dtype.base_dtype == tf.float32
        # low precision: the matrix-product formulation (its kernels cover every shape in bfloat16)
        products = {op.type: op.get_attr("T").name for op in graph.get_operations() if op.type in ("Conv2D", "MatMul")}
        assert products == {"MatMul": dtype.name, "Conv2D": "float32"}
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(var("c32/weights").assign(var("c/weights")))
            low, full = sess.run([y, y32])
    # bfloat16 keeps 8 bits of mantissa, float16 11: the product is close to float32's, not equal
    tol = 0.05 if dtype == tf.bfloat16 else 5e-3
    np.testing.assert_allclose(low, full, rtol=tol, atol=tol * np.abs(full).max())
    assert not np.array_equal(low, full)
    with pytest.raises(ValueError, match="unknown precision"):
        with compute_precision("float8"):
            pass
