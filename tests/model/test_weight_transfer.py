"""Tests of aher/model/weight_transfer.py: identity-init behaviour of T (paper_vs_code §3.2), sharing, paper_vs_code §3 parameter total."""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.weight_transfer import TransferConfig, transfer_weights

PAPER_WIDTHS = (256, 256, 512, 512, 1024, 1024, 2048, 2048)


def np_elu(x):
    return np.where(x > 0, x, np.expm1(x))


NP_ACTIVATIONS = {"none": lambda x: x, "relu": lambda x: np.maximum(x, 0),
                  "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x), "elu": np_elu}


def transfer_names(j, num_fc, bias=True):
    paths = [f"fc{i}" for i in range(1, num_fc + 1)] + ([f"bias_fc{i}" for i in range(1, num_fc + 1)] if bias else [])
    return sorted(f"aher/conv_a{j}_box/transfer/{p}/{w}" for p in paths for w in ("weights", "biases"))


def test_default_two_fc_elu_is_elu_of_elu_at_init():
    rng = np.random.default_rng(3)
    w_val = rng.standard_normal((5, 6)).astype(np.float32) * 2
    b_val = np.array([-3.0, -0.5, 0.0, 0.7, 2.5], np.float32)
    with tf.Graph().as_default() as graph:
        w_new, b_new = transfer_weights(tf.constant(w_val), tf.constant(b_val), 4)
        assert w_new.shape.as_list() == [5, 6] and b_new.shape.as_list() == [5]
        shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.trainable_variables()}
        assert sorted(shapes) == transfer_names(4, 2)
        assert shapes["aher/conv_a4_box/transfer/fc2/weights"] == [6, 6]
        assert shapes["aher/conv_a4_box/transfer/bias_fc1/weights"] == [1, 1]
        grads = tf.gradients(tf.reduce_sum(w_new) + tf.reduce_sum(b_new), tf.compat.v1.trainable_variables())
        assert all(g is not None for g in grads)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            w_out, b_out = sess.run([w_new, b_new])
    np.testing.assert_allclose(w_out, np_elu(np_elu(w_val)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b_out, np_elu(np_elu(b_val)), rtol=1e-5, atol=1e-6)


def test_all_table1_variants_at_identity_init():
    """n fc with activation f and identity init = f applied n times; 1-fc none = identity."""
    variants = [(n, act) for n in (1, 2, 3) for act in ("none", "relu", "leaky_relu", "elu")]
    w_val = np.linspace(-2.0, 2.0, 12, dtype=np.float32).reshape(3, 4)
    b_val = np.array([-1.5, 0.0, 1.0], np.float32)
    with tf.Graph().as_default() as graph:
        outs = [transfer_weights(tf.constant(w_val), tf.constant(b_val), j, TransferConfig(n, act))
                for j, (n, act) in enumerate(variants, start=1)]
        names = sorted(v.op.name for v in tf.compat.v1.trainable_variables())
        assert names == sorted(sum((transfer_names(j, n) for j, (n, _) in enumerate(variants, start=1)), []))
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            values = sess.run(outs)
    for (n, act), (w_out, b_out) in zip(variants, values):
        w_exp, b_exp = w_val, b_val
        for _ in range(n):
            w_exp, b_exp = NP_ACTIVATIONS[act](w_exp), NP_ACTIVATIONS[act](b_exp)
        np.testing.assert_allclose(w_out, w_exp, rtol=1e-5, atol=1e-6, err_msg=f"{n}-fc {act}")
        np.testing.assert_allclose(b_out, b_exp, rtol=1e-5, atol=1e-6, err_msg=f"{n}-fc {act}")
    w_id, b_id = values[0]                                                        # 1-fc, none
    np.testing.assert_array_equal(w_id, w_val)
    np.testing.assert_array_equal(b_id, b_val)


def test_theta_is_shared_between_label_spaces():
    with tf.Graph().as_default() as graph:
        w_moment, w_untrimmed = tf.ones([6, 4]), tf.ones([2, 4])                  # K = 6 and K = 2
        a = transfer_weights(w_moment, tf.zeros([6]), 1)
        created = sorted(v.op.name for v in tf.compat.v1.global_variables())
        b = transfer_weights(w_untrimmed, tf.zeros([2]), 1)
        assert sorted(v.op.name for v in tf.compat.v1.global_variables()) == created == transfer_names(1, 2)
        assert a[0].shape.as_list() == [6, 4] and b[0].shape.as_list() == [2, 4]
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            fc1 = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("transfer/fc1/weights")][0]
            sess.run(fc1.assign(2.0 * tf.eye(4)))                                 # one θ moves both outputs
            wa, wb = sess.run([a[0], b[0]])
    np.testing.assert_allclose(wa, np.full((6, 4), 2.0))
    np.testing.assert_allclose(wb, np.full((2, 4), 2.0))


def test_bias_passthrough_glorot_and_config_checks():
    with tf.Graph().as_default():
        b = tf.constant([1.0, -2.0])
        w_new, b_new = transfer_weights(tf.ones([2, 3]), b, 2, TransferConfig(bias_mlp=False, identity_init=False))
        assert b_new is b
        assert sorted(v.op.name for v in tf.compat.v1.trainable_variables()) == transfer_names(2, 2, bias=False)
    with pytest.raises(ValueError, match="num_fc"):
        TransferConfig(num_fc=4)
    with pytest.raises(ValueError, match="activation"):
        TransferConfig(activation="tanh")


def test_paper_parameter_count():
    with tf.Graph().as_default():
        for j, c in enumerate(PAPER_WIDTHS, start=1):
            transfer_weights(tf.compat.v1.placeholder(tf.float32, [2, c]), tf.compat.v1.placeholder(tf.float32, [2]), j)
        variables = tf.compat.v1.trainable_variables()
        assert len(variables) == 8 * 8
        assert int(sum(np.prod(v.shape.as_list()) for v in variables)) == 22_297_632
