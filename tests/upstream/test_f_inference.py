"""(f) Test-time post-processing against the released code's inference (f_inference.npz).

Upstream decoded, ranked (by y_ov), NMS-ed, labelled and scored fixed head outputs of one
512-step video (K = 600, test flags NMS 0.9, select_top_k 765, keep_top_k 100) and wrote
``(start_s, end_s, score, label)`` rows in its output order.  The project's
``postprocess.detect`` with its default :class:`PostprocessConfig` must give the same rows:
the same count, order and labels, segments within 1e-4 s and scores within 1e-5 relative
(observed: 1.7e-5 s and 3e-7).  The last case runs the whole test graph (network with the
recipe weights, ``T(W~)`` of the moment classifier) on stored features.

Order: the stored overlap values are quantised to 1/1024, so many detections tie on score (the
100 rows of ``quantized_overlap``, c4_, have two distinct scores).  Upstream keeps NMS order
within a tie (NMS visits equal scores in anchor order, and the final sort is stable); the
project does the same, so the order is compared exactly, ties included.
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.model import postprocess
from aher.model.anchors import anchor_layers
from aher.config.sections import ModelConfig
from aher.model.graph import AherNet
from aher.model.postprocess import PostprocessConfig
from tests.upstream.support import assert_norm_close, fill_from_recipe, load_trace

pytestmark = pytest.mark.needs_shared

T = 512
K = 600
SEGMENT_ATOL = 1e-4          # seconds
SCORE_RTOL = 1e-5
AVESCORE_NORM = 1e-6
CASES = tuple(f"c{n}_" for n in range(6))
DIVERGENCE = "known_divergence_outside_dups_"


@pytest.fixture(scope="module")
def trace():
    return load_trace("f_inference")


def detections_array(detections):
    """[n, 4] float64 rows ``(start_s, end_s, score, label)``, as upstream stored them."""
    return np.array([tuple(d) for d in detections], dtype=np.float64).reshape(-1, 4)


def run_case(trace, prefix, config=PostprocessConfig()):
    return detections_array(postprocess.detect(
        trace[prefix + "offsets"], trace[prefix + "overlap"], trace[prefix + "cell_probs"], anchor_layers(T), T,
        float(trace[prefix + "duration"][0]), config))


def assert_same_detections(got, expected, what):
    """Count, order and labels exact; segments within SEGMENT_ATOL s; scores within SCORE_RTOL.

    The order is pinned by the row-by-row segment comparison.  Rows with equal scores could be
    swapped without a score showing it, so the upstream rows of every tie group are first checked
    to differ by more than 2 * SEGMENT_ATOL: a swap within a tie then fails the segment check.
    """
    assert got.shape == expected.shape, f"{what}: {got.shape[0]} detections, upstream {expected.shape[0]}"
    tied = expected[:, 2][:, None] == expected[:, 2][None, :]
    apart = np.abs(expected[:, None, :2] - expected[None, :, :2]).max(axis=2) > 2 * SEGMENT_ATOL
    assert (apart | ~tied | np.eye(len(expected), dtype=bool)).all(), f"{what}: tied upstream rows too close"
    np.testing.assert_array_equal(got[:, 3], expected[:, 3], err_msg=f"{what}: labels")
    np.testing.assert_allclose(got[:, :2], expected[:, :2], rtol=0, atol=SEGMENT_ATOL, err_msg=f"{what}: segments")
    np.testing.assert_allclose(got[:, 2], expected[:, 2], rtol=SCORE_RTOL, atol=0, err_msg=f"{what}: scores")


def test_trace_was_made_with_the_default_settings(trace):
    """The upstream flags of the trace are the project's PostprocessConfig defaults."""
    assert trace["flags"].tolist() == ["cls_flag=False", "nms_threshold=0.9", "select_top_k=765", "keep_top_k=100",
                                       "select_threshold=0.0"]
    config = PostprocessConfig()
    assert (config.scoring, config.nms_threshold, config.select_top_k, config.keep_top_k) == ("upstream", 0.9, 765, 100)
    assert (config.box_clip, config.prior_scaling) == ("upstream", (0.1, 0.1))


@pytest.mark.parametrize("prefix", CASES)
def test_detections_equal_upstream(trace, prefix):
    expected = trace[prefix + "detections"]
    assert expected.shape == (100, 4)              # every stored case fills keep_top_k
    assert_same_detections(run_case(trace, prefix), expected, prefix)


@pytest.mark.parametrize("prefix", CASES + (DIVERGENCE,))
def test_video_label_and_mean_probabilities_equal_upstream(trace, prefix):
    mean_probs = trace[prefix + "cell_probs"].astype(np.float64).mean(axis=0)      # as detect computes p-bar
    assert_norm_close(mean_probs, trace[prefix + "avescore"], AVESCORE_NORM, f"{prefix} avescore")
    label = int(np.argmax(mean_probs))
    assert label == int(trace[prefix + "label"])
    assert (trace[prefix + "detections"][:, 3] == label).all()                     # one label per video


def test_outside_duplicates_equal_upstream_with_default_clip(trace):
    """Nine anchors decode to one box right of the window with the top y_ov: with upstream's one-sided
    clip they stay inverted boxes, suppress each other and spend one keep_top_k slot -> 99 rows."""
    expected = trace[DIVERGENCE + "detections"]
    assert expected.shape == (99, 4)
    assert_same_detections(run_case(trace, DIVERGENCE), expected, "outside_dups (box_clip=upstream)")


def test_outside_duplicates_with_both_ends_clip_is_the_documented_alternative(trace):
    """With ``box_clip="both"`` the nine boxes are zero-length, each takes a slot -> 91 rows, which are
    upstream's first 91 (the boxes inside the window rank the same way in both modes)."""
    got = run_case(trace, DIVERGENCE, PostprocessConfig(box_clip="both"))
    assert got.shape == (91, 4)
    assert_same_detections(got, trace[DIVERGENCE + "detections"][:91], "outside_dups (box_clip=both)")


@pytest.fixture(scope="module")
def full_graph_outputs(trace):
    """The test graph (Loc branch, T(W~) of the K = 600 moment classifier, B = 1) on ``full_features``
    with the recipe weights, as ``aher.inference.Evaluator`` builds it."""
    features = trace["full_features"]
    assert features.shape == (1, T, 2048)
    graph = tf.Graph()
    with graph.as_default():
        net = AherNet(ModelConfig(), {"moment": K})
        assert net.config.temporal_length == T and net.config.feature_dim == features.shape[2]
        x = tf.compat.v1.placeholder(tf.float32, features.shape, name="features")
        loc = net.localize(x, "moment")
        fetches = {"offsets": loc["offsets"][0], "overlap": loc["overlap"][0], "cell_probs": loc["cell_probs"][0]}
        with tf.compat.v1.Session(graph=graph) as session:
            fill_from_recipe(session)
            out = session.run(fetches, {x: features})
    out["layers"] = net.layers
    return out


def test_full_graph_detections_equal_upstream(trace, full_graph_outputs):
    out = full_graph_outputs
    assert out["offsets"].shape == (765, 2) and out["overlap"].shape == (765,) and out["cell_probs"].shape == (255, K)
    got = detections_array(postprocess.detect(out["offsets"], out["overlap"], out["cell_probs"], out["layers"], T,
                                              float(trace["full_duration"][0])))
    assert_same_detections(got, trace["full_detections"], "full graph")


def test_full_graph_label_and_mean_probabilities_equal_upstream(trace, full_graph_outputs):
    mean_probs = full_graph_outputs["cell_probs"].astype(np.float64).mean(axis=0)
    assert_norm_close(mean_probs, trace["full_avescore"], AVESCORE_NORM, "full graph avescore")
    assert int(np.argmax(mean_probs)) == int(trace["full_label"])
