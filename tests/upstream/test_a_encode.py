"""(a) Anchors and GT encoding against the released code's ``bboxes_encode`` (a_encode.npz).

Upstream computed per-anchor targets for three GT sets of four 512-step videos: random boxes, edge
cases (20-25 boxes per video, a duplicate box, boxes touching or crossing the window edges, a
zero-length box) and one box per video as the context splice records it (incl. the odd-sample
GT). The project's encoder (``match_anchors``, and its numpy twin) must give the same best IoU
(``gscores``), overlap target (``giou``) and encoded offsets (``glocalisations``).
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.anchors import anchor_layers, flat_anchors
from aher.model.matcher import match_anchors, match_anchors_np
from tests.upstream.support import assert_norm_close, load_trace

pytestmark = pytest.mark.needs_shared

T = 512
CASES = ("random", "edge", "synthetic")


@pytest.fixture(scope="module")
def trace():
    return load_trace("a_encode")


@pytest.fixture(scope="module")
def encoded(trace):
    """The project's TF encoder on every GT set, {case: targets}."""
    layers = anchor_layers(T)
    with tf.Graph().as_default():
        fetches = {case: match_anchors(tf.constant(trace[f"{case}_gt"]), layers, T) for case in CASES}
        with tf.compat.v1.Session() as session:
            return session.run(fetches)


def test_anchors_are_upstream_anchors(trace):
    centers, widths = flat_anchors(anchor_layers(T))
    np.testing.assert_array_equal(centers.astype(np.float32), trace["anchor_centers"])
    np.testing.assert_array_equal(widths.astype(np.float32), trace["anchor_widths"])


@pytest.mark.parametrize("case", CASES)
def test_gscores_and_giou_equal_upstream(trace, encoded, case):
    np.testing.assert_allclose(encoded[case]["gscores"], trace[f"{case}_gscores"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(encoded[case]["giou"], trace[f"{case}_giou"], rtol=0, atol=1e-6)
    # the -1 marks of anchors without overlap (not used by the overlap loss) are exactly upstream's
    np.testing.assert_array_equal(encoded[case]["giou"] == -1.0, trace[f"{case}_giou"] == -1.0)


@pytest.mark.parametrize("case", CASES)
def test_glocalisations_equal_upstream(trace, encoded, case):
    assert_norm_close(encoded[case]["glocalisations"], trace[f"{case}_glocalisations"], 1e-6,
                      f"{case} glocalisations")


@pytest.mark.parametrize("case", CASES)
def test_numpy_encoder_equals_upstream(trace, case):
    targets = match_anchors_np(trace[f"{case}_gt"], anchor_layers(T), T)
    np.testing.assert_allclose(targets["gscores"], trace[f"{case}_gscores"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(targets["giou"], trace[f"{case}_giou"], rtol=0, atol=1e-6)
    assert_norm_close(targets["glocalisations"], trace[f"{case}_glocalisations"], 1e-6, f"{case} numpy glocalisations")


@pytest.mark.parametrize("case", CASES)
def test_cell_classes_are_the_video_label(trace, case):
    """Upstream's ``gclasses`` give every cell the video label; the project's losses broadcast the
    label to every cell the same way (every video here has a valid GT box)."""
    expected = np.broadcast_to(trace["labels"][:, None], trace[f"{case}_gclasses"].shape)
    np.testing.assert_array_equal(trace[f"{case}_gclasses"], expected)
