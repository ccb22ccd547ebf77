"""SSD box coder (paper_vs_code §4.2-4.3): TF graph functions and their numpy twins."""

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from aher.model.anchors import anchor_layers, flat_anchors
from aher.model.box_coder import (PRIOR_SCALING, decode, decode_np, encode, encode_np, to_seconds,
                                  to_seconds_np)


def run_graph(build):
    """Builds ``build()`` in a fresh graph and evaluates it in a v1 Session."""
    with tf.Graph().as_default():
        fetches = build()
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
        with tf.compat.v1.Session(config=config) as sess:
            return sess.run(fetches)


# (gt_start, gt_end, anchor_center, anchor_width) -> (t_c, t_w), by hand
HAND = [
    ((8.0, 12.0, 10.0, 4.0), (0.0, 0.0)),
    ((9.0, 13.0, 10.0, 4.0), (2.5, 0.0)),                       # (11 - 10) / 4 / 0.1
    ((10.0, 18.0, 10.0, 4.0), (10.0, math.log(2.0) / 0.1)),     # (14 - 10) / 4 / 0.1, log(8/4) / 0.1
    ((0.0, 1.0, 256.0, 512.0), (-(255.5 / 512.0) / 0.1, math.log(1.0 / 512.0) / 0.1)),  # placeholder box
]


def test_prior_scaling():
    assert PRIOR_SCALING == (0.1, 0.1)


@pytest.mark.parametrize("args, expected", HAND)
def test_encode_hand_values(args, expected):
    np.testing.assert_allclose(encode_np(*args), expected, rtol=1e-12, atol=1e-12)
    got = run_graph(lambda: encode(*[tf.constant(x, tf.float32) for x in args]))
    assert got.dtype == np.float32 and got.shape == (2,)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("args, expected", HAND)
def test_decode_hand_values(args, expected):
    gt_start, gt_end, center, width = args
    np.testing.assert_allclose(decode_np(np.array(expected), center, width), (gt_start, gt_end),
                               rtol=1e-12, atol=1e-9)
    got = run_graph(lambda: decode(tf.constant(expected, tf.float32), center, width))
    np.testing.assert_allclose(got, (gt_start, gt_end), rtol=1e-6, atol=1e-4)


def test_decode_is_unclipped():
    start, end = decode_np(np.array([0.0, 10.0]), 2.0, 4.0)          # width 4 * e = 10.87
    assert start < 0.0
    np.testing.assert_allclose(end - start, 4.0 * math.e)


# [start, end] grid boxes at T = 512, duration 100 s (100/512 s per grid unit): inside, crossing 0,
# crossing T, entirely right of the window, entirely left of it, touching T from the right.
TO_SECONDS_STARTS = [128.0, -5.0, 500.0, 600.0, -30.0, 512.0]
TO_SECONDS_ENDS = [384.0, 10.0, 600.0, 700.0, -10.0, 520.0]
U = 100.0 / 512.0
TO_SECONDS_EXPECTED = {
    # start = max(start, 0), end = min(end, T): the outside boxes stay inverted
    "upstream": ([25.0, 0.0, 500 * U, 600 * U, 0.0, 100.0], [75.0, 10 * U, 100.0, 100.0, -10 * U, 100.0]),
    # both ends clipped to [0, T]: the outside boxes become [T, T] and [0, 0]
    "both": ([25.0, 0.0, 500 * U, 100.0, 0.0, 100.0], [75.0, 10 * U, 100.0, 100.0, 0.0, 100.0]),
}


@pytest.mark.parametrize("clip", ["upstream", "both"])
def test_to_seconds_hand_values(clip):
    want_start, want_end = TO_SECONDS_EXPECTED[clip]
    start_s, end_s = to_seconds_np(np.array(TO_SECONDS_STARTS), np.array(TO_SECONDS_ENDS), 512, 100.0, clip=clip)
    np.testing.assert_allclose(start_s, want_start, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(end_s, want_end, rtol=1e-12, atol=1e-12)
    got = run_graph(lambda: to_seconds(tf.constant(TO_SECONDS_STARTS), tf.constant(TO_SECONDS_ENDS),
                                       512, 100.0, clip=clip))
    np.testing.assert_allclose(got[0], want_start, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got[1], want_end, rtol=1e-6, atol=1e-5)


def test_to_seconds_default_is_upstream_clip_and_broadcasts_duration():
    got = run_graph(lambda: to_seconds(tf.constant([[128.0, -5.0], [600.0, 0.0]]),
                                       tf.constant([[384.0, 10.0], [700.0, 256.0]]),
                                       256, tf.constant([[10.0], [20.0]])))
    np.testing.assert_allclose(got[0], [[5.0, 0.0], [600.0 / 256.0 * 20.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(got[1], [[10.0, 10.0 / 256.0 * 10.0], [20.0, 20.0]], rtol=1e-6)
    np.testing.assert_allclose(to_seconds_np([600.0], [700.0], 256, 20.0), ([600.0 / 256.0 * 20.0], [20.0]))


@pytest.mark.parametrize("clip", ["none", "Both", "", None, 1])
def test_to_seconds_rejects_unknown_clip_mode(clip):
    with pytest.raises(ValueError, match="upstream.*both"):
        to_seconds_np([1.0], [2.0], 8, 1.0, clip=clip)
    with pytest.raises(ValueError, match="upstream.*both"):
        with tf.Graph().as_default():
            to_seconds(tf.constant([1.0]), tf.constant([2.0]), 8, 1.0, clip=clip)


def test_tf_and_numpy_agree_on_batches_of_anchors():
    """[B, N_anc] GT against [N_anc] anchors: broadcast shapes, round trip, TF == numpy."""
    centers, widths = flat_anchors(anchor_layers(128))
    rng = np.random.default_rng(0)
    a = rng.uniform(0.0, 128.0, size=(3, centers.size))
    b = rng.uniform(0.0, 128.0, size=(3, centers.size))
    gt_start, gt_end = np.minimum(a, b).astype(np.float32), (np.maximum(a, b) + 0.5).astype(np.float32)
    duration = np.array([[30.0], [60.0], [90.0]], np.float32)

    def build():
        offsets = encode(gt_start, gt_end, centers, widths)
        start, end = decode(offsets, centers, widths)
        return offsets, (start, end), to_seconds(start, end, 128, duration)

    offsets, (start, end), (start_s, end_s) = run_graph(build)
    assert offsets.shape == (3, centers.size, 2) and offsets.dtype == np.float32
    expected = encode_np(gt_start.astype(np.float64), gt_end.astype(np.float64), centers, widths)
    np.testing.assert_allclose(offsets, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(start, gt_start, atol=2e-4)
    np.testing.assert_allclose(end, gt_end, atol=2e-4)
    exp_start_s, exp_end_s = to_seconds_np(gt_start, gt_end, 128, duration)
    np.testing.assert_allclose(start_s, exp_start_s, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(end_s, exp_end_s, rtol=1e-4, atol=1e-4)


def test_tf_functions_open_name_scopes():
    with tf.Graph().as_default() as graph:
        encode(tf.constant([1.0]), tf.constant([2.0]), [1.5], [1.0])
        decode(tf.zeros([1, 2]), [1.5], [1.0])
        to_seconds(tf.constant([1.0]), tf.constant([2.0]), 8, 1.0)
    scopes = {op.name.split("/")[0] for op in graph.get_operations() if "/" in op.name}
    assert {"encode", "decode", "to_seconds"} <= scopes


positive = st.floats(min_value=0.5, max_value=1000.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(start=st.floats(min_value=-100.0, max_value=1000.0), length=positive,
       center=st.floats(min_value=0.0, max_value=1000.0), width=positive)
def test_numpy_round_trip(start, length, center, width):
    end = start + length
    offsets = encode_np(start, end, center, width)
    assert offsets.shape == (2,) and np.all(np.isfinite(offsets))
    got_start, got_end = decode_np(offsets, center, width)
    np.testing.assert_allclose([got_start, got_end], [start, end], rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(start=st.floats(min_value=-700.0, max_value=600.0), length=st.floats(min_value=0.0, max_value=600.0),
       t=st.sampled_from([128, 256, 512]), duration=st.floats(min_value=0.1, max_value=1e4))
def test_numpy_to_seconds_in_range(start, length, t, duration):
    end = start + length
    both_start, both_end = to_seconds_np(start, end, t, duration, clip="both")
    assert 0.0 <= both_start <= both_end <= duration * (1 + 1e-12)
    up_start, up_end = to_seconds_np(start, end, t, duration, clip="upstream")
    assert up_start >= 0.0 and up_end <= duration * (1 + 1e-12)
    if start < t and end > 0:                       # reaches into the window: the two modes agree
        assert (up_start, up_end) == (both_start, both_end)
    else:                                           # outside: upstream inverted (or empty), "both" empty
        assert up_end <= up_start and both_end == both_start
