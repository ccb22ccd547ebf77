"""The project's context generation against the released code's ``Context_Train`` (aher_adv.py).

Trace ``e_context.npz`` (B = 2, T = 512; batch slot 0 is an even sample, slot 1 an odd one, as
the project decides parity by batch index). The stored moments [2, 256, 2048] go through
``context.synthesize_untrimmed`` (G1/G2 with recipe weights, then the splice) with
``ContextConfig()`` (= upstream: splice mode, upstream odd-sample GT, hidden width 1024):

* for each stored draw (ratio_id, pos_id): the recorded GT (exact) and the [2, 512, 2048] video
  through the stored checksums: per-time-step sums, per-channel sums, whole-video statistics and
  16 full rows (normalised error 1e-6; observed bit-equal);
* the whole recorded-GT table (ratio_id 14..19 × pos_id 1..19 × parity, upstream's odd-sample
  end included) against both ``splice_layout`` (pure Python) and the TF ``splice`` (exact).
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.context import ContextConfig, splice, splice_layout, synthesize_untrimmed
from tests.upstream.support import assert_norm_close, fill_from_recipe, load_trace

pytestmark = pytest.mark.needs_shared

T = 512
B = 2
T_MOMENT = 256
DEPTH = 2048
N_DRAWS = 4
VIDEO_TOL = 1e-6        # README: observed bit-equal


@pytest.fixture(scope="module")
def trace():
    data = load_trace("e_context")
    assert int(data["n_draws"]) == N_DRAWS
    assert data["moments"].shape == (B, T_MOMENT, DEPTH)
    return data


@pytest.fixture(scope="module")
def context_graph():
    """One graph of generators (recipe weights) + splice on placeholders; yields (run, filled).

    ``run(moments, ratio_id, pos_id)`` returns (video [2, 512, 2048], gt [2, 2]).
    """
    graph = tf.Graph()
    with graph.as_default():
        moments = tf.compat.v1.placeholder(tf.float32, [B, T_MOMENT, DEPTH])
        ratio_id = tf.compat.v1.placeholder(tf.int32, [B])
        pos_id = tf.compat.v1.placeholder(tf.int32, [B])
        video, gt = synthesize_untrimmed(moments, ratio_id, pos_id, ContextConfig(), T)
    # Not a ``with`` block: that would keep the session on the default-session stack while
    # other tests run.
    session = tf.compat.v1.Session(graph=graph)
    try:
        filled = fill_from_recipe(session)

        def run(moments_value, ratio_value, pos_value):
            v, g = session.run([video, gt], {moments: moments_value, ratio_id: ratio_value,
                                             pos_id: pos_value})
            return v, g.reshape(B, 2)

        yield run, filled
    finally:
        session.close()


def test_generators_hold_the_upstream_variables(context_graph):
    """The graph's trainable variables are exactly G1/G2 at the upstream shapes."""
    _, filled = context_graph
    shapes = {name: value.shape for name, value in filled.items()}
    expected = {}
    for tag in ("s", "e"):
        expected[f"g_conv_{tag}1/weights"] = (3, DEPTH, 1024)
        expected[f"g_conv_{tag}1/biases"] = (1024,)
        expected[f"g_conv_{tag}2/weights"] = (3, 1024, DEPTH)
        expected[f"g_conv_{tag}2/biases"] = (DEPTH,)
    assert shapes == expected


@pytest.mark.parametrize("draw", range(N_DRAWS), ids=[f"d{n}" for n in range(N_DRAWS)])
def test_synthetic_video_matches_upstream(trace, context_graph, draw):
    """Recorded GT (exact) and the video's time sums, channel sums, stats and rows (norm 1e-6)."""
    run, _ = context_graph
    prefix = f"d{draw}_"
    video, gt = run(trace["moments"], trace[prefix + "ratio_id"], trace[prefix + "pos_id"])

    np.testing.assert_array_equal(gt, trace[prefix + "gt"], err_msg=f"d{draw} recorded GT")

    x = video.astype(np.float64)
    assert_norm_close(x.sum(axis=2), trace[prefix + "video_time_sums"], VIDEO_TOL, f"d{draw} time sums")
    assert_norm_close(x.sum(axis=1), trace[prefix + "video_channel_sums"], VIDEO_TOL, f"d{draw} channel sums")
    # video_stats is [Σx, Σx², Σ|x|] per sample, the statistics layout of the other traces
    # (c_transfer W_stats); the README does not restate it here. Consistent with the values:
    # columns 0 and 2 are equal because the video is >= 0 (non-negative features, ReLU contexts).
    stats = np.stack([x.sum(axis=(1, 2)), np.square(x).sum(axis=(1, 2)), np.abs(x).sum(axis=(1, 2))], axis=1)
    for b in range(B):
        assert_norm_close(stats[b], trace[prefix + "video_stats"][b], VIDEO_TOL, f"d{draw} stats of slot {b}")
    assert_norm_close(video[:, trace["row_index"]], trace[prefix + "video_rows"], VIDEO_TOL, f"d{draw} rows")


def test_gt_table_matches_splice_layout(trace):
    """Recorded GT for every (ratio_id, pos_id, parity) from the pure-Python layout (exact)."""
    table = trace["gt_table"]
    ratio_ids, pos_ids = trace["gt_table_ratio_ids"], trace["gt_table_pos_ids"]
    assert table.shape == (len(ratio_ids), len(pos_ids), 2, 2)
    layout = np.array([[[splice_layout(int(r), int(p), odd, T)["gt"] for odd in (False, True)]
                        for p in pos_ids] for r in ratio_ids], dtype=np.float32)
    np.testing.assert_array_equal(layout, table)
    # The table carries upstream's odd-sample end s + L (not n1 + s + L), e.g. ratio 14, pos 1.
    np.testing.assert_array_equal(table[0, 0], [[1.0, 359.0], [78.0, 359.0]])


def test_gt_table_matches_tf_splice(trace):
    """Recorded GT for every (ratio_id, pos_id, parity) from the TF splice (exact).

    One batch per ratio id holds every pos id twice: batch index 2k (even) and 2k + 1 (odd) carry
    pos id k, so the GT output reshapes to the table's [pos, parity, 2] layout. The contexts and
    moments are zeros of depth 1 (the GT does not depend on them).
    """
    table = trace["gt_table"]
    ratio_ids, pos_ids = trace["gt_table_ratio_ids"], trace["gt_table_pos_ids"]
    batch = 2 * len(pos_ids)
    graph = tf.Graph()
    with graph.as_default():
        ratio_id = tf.compat.v1.placeholder(tf.int32, [batch])
        pos_id = tf.compat.v1.placeholder(tf.int32, [batch])
        zeros_moment = tf.zeros([batch, T_MOMENT, 1])
        zeros_context = tf.zeros([batch, T_MOMENT // 2, 1])
        _, gt = splice(zeros_moment, zeros_context, zeros_context, ratio_id, pos_id, T)
        with tf.compat.v1.Session() as session:
            for i, r in enumerate(ratio_ids):
                got = session.run(gt, {ratio_id: np.full(batch, r, np.int32),
                                       pos_id: np.repeat(pos_ids, 2).astype(np.int32)})
                np.testing.assert_array_equal(got.reshape(len(pos_ids), 2, 2), table[i],
                                              err_msg=f"GT table, ratio_id {r}")
