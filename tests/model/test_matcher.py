"""Anchor matching (paper_vs_code §4.1-4.2): hand cases on both implementations, TF == numpy."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from aher.model.anchors import anchor_layers, flat_anchors
from aher.model.box_coder import encode_np
from aher.model.matcher import match_anchors, match_anchors_np

LAYERS = {t: anchor_layers(t) for t in (128, 512)}
KEYS = ("gscores", "gboxes", "glocalisations", "giou")
SESSION_CONFIG = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)


def flat_index(t, layer, cell, anchor):
    """Flat (layer, cell, anchor) index of anchor ``anchor`` of cell ``cell`` of layer ``layer`` (1-based)."""
    return sum(3 * lay.length for lay in LAYERS[t][:layer - 1]) + 3 * cell + anchor


def match_tf(gt, t=512):
    """Runs :func:`match_anchors` with the GT fed through a static-shape placeholder.

    Fed, not a ``tf.constant``: grappler constant-folds a constant GT and the folded IoUs may
    differ from the numpy twin by 1 ulp; fed inputs (as in training) match it bit for bit.
    """
    gt = np.asarray(gt, np.float32)
    with tf.Graph().as_default():
        gt_ph = tf.compat.v1.placeholder(tf.float32, gt.shape)
        out = match_anchors(gt_ph, LAYERS[t], t)
        n = sum(layer.num_anchors for layer in LAYERS[t])
        assert out["gscores"].shape.as_list() == out["giou"].shape.as_list() == [gt.shape[0], n]
        assert out["gboxes"].shape.as_list() == out["glocalisations"].shape.as_list() == [gt.shape[0], n, 2]
        with tf.compat.v1.Session(config=SESSION_CONFIG) as sess:
            return sess.run(out, {gt_ph: gt})


def match_np(gt, t=512):
    return match_anchors_np(np.asarray(gt, np.float32), LAYERS[t], t)


@pytest.fixture(params=["tf", "np"])
def match(request):
    return match_tf if request.param == "tf" else match_np


def padded(boxes_per_video, slots):
    """[B, slots, 2] GT with [-1, -1] padding."""
    gt = -np.ones((len(boxes_per_video), slots, 2), np.float32)
    for b, boxes in enumerate(boxes_per_video):
        if boxes:
            gt[b, :len(boxes)] = boxes
    return gt


def check_invariants(out, gt, t=512):
    centers, widths = flat_anchors(LAYERS[t])
    for key in KEYS:
        assert out[key].dtype == np.float32
    gscores, giou, gboxes = out["gscores"], out["giou"], out["gboxes"]
    assert np.all((gscores >= 0) & (gscores <= 1))
    np.testing.assert_array_equal(giou, np.where(gscores > 0, gscores, -1))
    unmatched = gscores == 0
    np.testing.assert_array_equal(gboxes[unmatched], np.tile([0.0, 1.0], (unmatched.sum(), 1)))
    expected = encode_np(gboxes[..., 0].astype(np.float64), gboxes[..., 1].astype(np.float64), centers, widths)
    np.testing.assert_allclose(out["glocalisations"], expected, rtol=1e-5, atol=1e-4)
    for b in range(gt.shape[0]):                       # every matched box is a valid GT of its video
        valid = {tuple(row) for row in gt[b].tolist() if row != [-1.0, -1.0]}
        assert {tuple(row) for row in gboxes[b][~unmatched[b]].tolist()} <= valid


def test_exact_gt_on_one_anchor(match):
    n = flat_index(512, 3, 5, 0)                       # step 16, centre 88, width 16 -> [80, 96]
    gt = padded([[(80.0, 96.0)]], 25)
    out = match(gt)
    check_invariants(out, gt)
    assert out["gscores"][0, n] == 1.0 and out["giou"][0, n] == 1.0
    assert np.count_nonzero(out["gscores"][0] == 1.0) == 1
    np.testing.assert_array_equal(out["gboxes"][0, n], [80.0, 96.0])
    np.testing.assert_allclose(out["glocalisations"][0, n], [0.0, 0.0], atol=1e-6)


def test_hand_iou_and_t_minus_one_clip(match):
    out = match(padded([[(2.0, 6.0)], [(0.0, 512.0)]], 1))
    check_invariants(out, padded([[(2.0, 6.0)], [(0.0, 512.0)]], 1))
    # layer 1 cell 0 anchor 0 is [0, 4]: inter 2, union 4 - 2 + 4 = 6
    np.testing.assert_allclose(out["gscores"][0, flat_index(512, 1, 0, 0)], 1.0 / 3.0, rtol=1e-6)
    # layer 1 cell 0 anchor 1 (width 5.04) is clipped to [0, 4.52]: inter 2.52, union 4.52 - 2.52 + 4
    np.testing.assert_allclose(out["gscores"][0, flat_index(512, 1, 0, 1)], 2.52 / 6.0, rtol=1e-5)
    # layer 1 cell 0 anchor 2 (width 6.348) is clipped to [0, 5.174]: inter 3.174, union 6
    np.testing.assert_allclose(out["gscores"][0, flat_index(512, 1, 0, 2)], 3.174 / 6.0, rtol=1e-5)
    # layer 8 anchor 0 is [0, 512] clipped to [0, 511]: IoU 511 / 512, encoded on the unclipped anchor
    n = flat_index(512, 8, 0, 0)
    np.testing.assert_allclose(out["gscores"][1, n], 511.0 / 512.0, rtol=1e-6)
    np.testing.assert_array_equal(out["gboxes"][1, n], [0.0, 512.0])
    np.testing.assert_allclose(out["glocalisations"][1, n], [0.0, 0.0], atol=1e-6)
    # anchors far from [2, 6] keep the placeholder, encoded like upstream
    far = flat_index(512, 1, 100, 2)
    assert out["gscores"][0, far] == 0.0 and out["giou"][0, far] == -1.0
    np.testing.assert_array_equal(out["gboxes"][0, far], [0.0, 1.0])
    np.testing.assert_allclose(out["glocalisations"][0, far],
                               encode_np(0.0, 1.0, 402.0, 6.348), rtol=1e-5)


def test_two_gts_best_wins(match):
    gt = padded([[(0.0, 4.0), (2.0, 6.0)]], 25)
    out = match(gt)
    check_invariants(out, gt)
    a = flat_index(512, 1, 0, 0)                       # [0, 4]: IoU 1 with the first, 1/3 with the second
    b = flat_index(512, 1, 1, 0)                       # [4, 8]: IoU 0 with the first, 1/3 with the second
    assert out["gscores"][0, a] == 1.0
    np.testing.assert_array_equal(out["gboxes"][0, a], [0.0, 4.0])
    np.testing.assert_allclose(out["gscores"][0, b], 1.0 / 3.0, rtol=1e-6)
    np.testing.assert_array_equal(out["gboxes"][0, b], [2.0, 6.0])


@pytest.mark.parametrize("first, second", [((2.0, 6.0), (6.0, 10.0)), ((6.0, 10.0), (2.0, 6.0))])
def test_tie_goes_to_the_first_gt(match, first, second):
    n = flat_index(512, 1, 1, 0)                       # [4, 8]: IoU exactly 2/6 with both GTs
    out = match(padded([[first, second]], 2))
    np.testing.assert_allclose(out["gscores"][0, n], 1.0 / 3.0, rtol=1e-6)
    np.testing.assert_array_equal(out["gboxes"][0, n], first)


def test_video_without_gt(match):
    gt = padded([[(100.0, 200.0)], [], [(300.0, 400.0), (10.0, 20.0)]], 25)   # B = 3
    out = match(gt)
    check_invariants(out, gt)
    assert np.all(out["gscores"][1] == 0.0) and np.all(out["giou"][1] == -1.0)
    np.testing.assert_array_equal(out["gboxes"][1], np.tile([0.0, 1.0], (765, 1)))
    assert out["gscores"][0].max() > 0.5 and out["gscores"][2].max() > 0.5
    # the matching of one video does not depend on the others
    for b in (0, 2):
        alone = match(gt[b:b + 1])
        for key in KEYS:
            np.testing.assert_array_equal(alone[key][0], out[key][b])


def test_single_slot_batch_of_one(match):
    gt = np.array([[[128.0, 384.0]]], np.float32)       # G = 1, B = 1: the moment box of paper_vs_code §1.4
    out = match(gt)
    check_invariants(out, gt)
    n = flat_index(512, 7, 0, 0)                        # [0, 256]: inter 128, union 384
    np.testing.assert_allclose(out["gscores"][0, n], 1.0 / 3.0, rtol=1e-6)
    # no anchor reaches the 0.8 positive threshold on this box: best are layer 6 cells 1 and 2,
    # anchor 2 (width 203.136), e.g. [192 - 101.568, 192 + 101.568]: inter 165.568, union 293.568
    assert np.argmax(out["gscores"][0]) == flat_index(512, 6, 1, 2)
    assert out["gscores"][0, flat_index(512, 6, 2, 2)] == out["gscores"][0].max()
    np.testing.assert_allclose(out["gscores"][0].max(), 165.568 / 293.568, rtol=1e-5)


def test_no_gt_slots_at_all():
    gt = np.zeros((2, 0, 2), np.float32)
    for out in (match_tf(gt), match_np(gt)):
        assert np.all(out["gscores"] == 0.0) and np.all(out["giou"] == -1.0)
        check_invariants(out, gt)


def test_padding_needs_both_coordinates():
    """Only [-1, -1] rows are padding; the rule is the same in both implementations."""
    gt = np.array([[[-1.0, 4.0], [-1.0, -1.0]]], np.float32)
    tf_out, np_out = match_tf(gt), match_np(gt)
    n = flat_index(512, 1, 0, 0)                        # [0, 4] vs [-1, 4]: inter 4, union 5
    for out in (tf_out, np_out):
        np.testing.assert_allclose(out["gscores"][0, n], 0.8, rtol=1e-6)


def random_gt(rng, batch, slots, t):
    a = rng.uniform(0.0, t, size=(batch, slots))
    b = rng.uniform(0.0, t, size=(batch, slots))
    gt = np.stack([np.minimum(a, b), np.maximum(a, b) + 0.25], axis=-1).astype(np.float32)
    counts = rng.integers(0, slots + 1, size=batch)
    for i, count in enumerate(counts):
        gt[i, count:] = -1.0
    return gt


@pytest.fixture(scope="module")
def placeholder_session():
    """One graph per T with a [None, None, 2] placeholder: dynamic B and G."""
    sessions = {}
    for t in (128, 512):
        graph = tf.Graph()
        with graph.as_default():
            gt = tf.compat.v1.placeholder(tf.float32, [None, None, 2])
            out = match_anchors(gt, LAYERS[t], t)
        sessions[t] = (tf.compat.v1.Session(graph=graph, config=SESSION_CONFIG), gt, out)
    yield lambda t, value: sessions[t][0].run(sessions[t][2], {sessions[t][1]: value})
    for sess, _, _ in sessions.values():
        sess.close()


def assert_same(tf_out, np_out):
    np.testing.assert_allclose(tf_out["gscores"], np_out["gscores"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(tf_out["gboxes"], np_out["gboxes"])
    np.testing.assert_array_equal(tf_out["giou"] == -1, np_out["giou"] == -1)
    np.testing.assert_allclose(tf_out["giou"], np_out["giou"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(tf_out["glocalisations"], np_out["glocalisations"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t, batch, slots", [(512, 3, 25), (512, 1, 1), (128, 4, 5)])
def test_tf_equals_numpy_random(placeholder_session, t, batch, slots):
    gt = random_gt(np.random.default_rng(batch * 100 + slots), batch, slots, t)
    tf_out = placeholder_session(t, gt)
    np_out = match_np(gt, t)
    assert_same(tf_out, np_out)
    check_invariants(np_out, gt, t)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), batch=st.integers(1, 3), slots=st.integers(1, 25),
       grid=st.booleans())
def test_tf_equals_numpy_hypothesis(placeholder_session, seed, batch, slots, grid):
    """Random GTs; ``grid`` snaps them to integers so that exact IoU ties are frequent."""
    rng = np.random.default_rng(seed)
    gt = random_gt(rng, batch, slots, 128)
    if grid:
        gt = np.where(gt == -1.0, gt, np.round(gt / 4.0) * 4.0 + np.array([0.0, 4.0], np.float32))
    assert_same(placeholder_session(128, gt.astype(np.float32)), match_np(gt, 128))
