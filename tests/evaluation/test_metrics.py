"""Hand-made cases with known AP/AR, the documented quirks, and property tests (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evaluation import ANETdetection, ANETproposal, EvaluationError
from evaluation.eval_detection import interpolated_average_precision
from evaluation.segments import parse_tiou_thresholds, segment_tiou


def gt_file(videos):
    """videos: {vid: [(start, end, label), ...]} -> GT dict (all validation)."""
    return {"database": {vid: {"subset": "validation", "duration": 1000.0,
                               "annotations": [{"segment": [s, e], "label": lab} for s, e, lab in anns]}
                         for vid, anns in videos.items()}}


def pred_file(rows):
    """rows: [(vid, start, end, label, score), ...] -> result dict (file order kept)."""
    results = {}
    for vid, s, e, lab, score in rows:
        results.setdefault(vid, []).append({"label": lab, "score": score, "segment": [s, e]})
    return {"results": results}


def det(gt, rows, thresholds="0.5:0.95:0.05", **kw):
    return ANETdetection(gt_file(gt), pred_file(rows), tiou_thresholds=thresholds, **kw).evaluate()


# ----------------------------------------------------------------------------- hand-made cases
def test_perfect_predictions_give_one():
    gt = {"a": [(0, 10, "x"), (20, 30, "y")], "b": [(5, 50, "x")]}
    rows = [(v, s, e, lab, 0.5 + 0.1 * i) for i, (v, anns) in enumerate(gt.items()) for s, e, lab in anns]
    res = det(gt, rows)
    assert res["mAP"] == [1.0] * 10 and res["average_mAP"] == 1.0


def test_one_missed_instance_halves_ap():
    res = det({"a": [(0, 10, "x"), (20, 30, "x")]}, [("a", 0, 10, "x", 0.9)])
    assert res["mAP"] == [0.5] * 10


def test_duplicate_detection_is_a_false_positive():
    # TP, FP (duplicate), TP over 2 GT: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP = 1/2 + 1/2 * 2/3
    res = det({"a": [(0, 10, "x"), (20, 30, "x")]},
              [("a", 0, 10, "x", 0.9), ("a", 0, 10, "x", 0.8), ("a", 20, 30, "x", 0.7)])
    assert res["average_mAP"] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)


def test_low_tiou_hit_counts_only_up_to_its_tiou():
    # [0, 6] vs [0, 10]: tIoU 0.6 -> TP at 0.5, 0.55, 0.6 (inclusive), FP above
    res = det({"a": [(0, 10, "x")]}, [("a", 0, 6, "x", 0.9)])
    assert res["mAP"] == [1.0, 1.0, 1.0] + [0.0] * 7


def test_thresholds_are_inclusive_and_exact_doubles():
    gt = {"a": [(10, 20, "x")]}
    assert det(gt, [("a", 10, 17.5, "x", 1.0)], "0.75")["mAP"] == [1.0]            # exactly 0.75
    assert det(gt, [("a", 0.2, 19.9, "x", 1.0)], "0.5")["mAP"] == [0.0]            # 0.4999999999999999
    assert det(gt, [("a", 9, 19.9, "x", 1.0)])["mAP"][8] == 1.0                    # 0.8999999999999999 at "0.9"


def test_nan_tiou_matches_in_detection_but_never_in_proposals():
    gt = {"a": [(5, 5, "x"), (10, 20, "x")]}
    res = det(gt, [("a", 25, 25, "x", 0.9), ("a", 10, 20, "x", 0.85), ("a", 26, 26, "x", 0.8)])
    # first zero-length prediction takes the zero-length GT (NaN), second one finds it taken
    assert res["mAP"] == pytest.approx([1.0 / 1.0 * 0.5 + 0.5 * 1.0] * 10)
    prop = ANETproposal(gt_file(gt), pred_file([("a", 25, 25, "x", 0.9), ("a", 10, 20, "x", 0.85)])).evaluate()
    assert prop["AR@100"] == 0.5


def test_unknown_video_is_false_positive_and_v_prefix_matches():
    gt = {"v_abcdefghijk": [(0, 10, "x")]}
    res = det(gt, [("abcdefghijk", 0, 10, "x", 0.5), ("zzz", 0, 10, "x", 0.9)])
    # the unknown video's prediction ranks first as FP: precision 1/2 at recall 1
    assert res["mAP"] == [0.5] * 10
    back = det({"abcdefghijk": [(0, 10, "x")]}, [("v_abcdefghijk", 0, 10, "x", 0.5)])
    assert back["mAP"] == [1.0] * 10


def test_segments_are_not_clipped():
    res = det({"a": [(80, 100, "x")]}, [("a", 80, 120, "x", 1.0)], "0.5,0.55")
    assert res["mAP"] == [1.0, 0.0]


def test_class_without_predictions_has_ap_zero_and_counts():
    res = det({"a": [(0, 10, "x"), (20, 30, "y")]}, [("a", 0, 10, "x", 1.0)])
    assert res["per_class_AP"]["y"] == [0.0] * 10 and res["mAP"] == [0.5] * 10


def test_interpolated_ap_reference_values():
    assert interpolated_average_precision(np.array([1.0, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])) == pytest.approx(5 / 6)
    assert interpolated_average_precision(np.array([0.0, 0.5]), np.array([0.0, 0.5])) == pytest.approx(0.25)


def test_proposal_recall_by_budget():
    # 2 videos (nv = 2), 4 proposals: ratio = 100 * 2 / 4 -> everything kept, K = 4.
    gt = {"a": [(0, 10, "x")], "b": [(0, 10, "x")]}
    rows = [("a", 50, 60, "x", 0.9), ("a", 0, 10, "x", 0.8), ("b", 0, 10, "x", 0.7), ("b", 30, 40, "x", 0.6)]
    res = ANETproposal(gt_file(gt), pred_file(rows)).evaluate()
    # AN = 1: pcn = 0.01 * 100 * 2 / 4 = 0.5 -> each video uses int(2 * 0.5) = 1 proposal: only b's hit
    assert res["AR@1"] == 0.5
    assert res["AR@5"] == 1.0 and res["AR@100"] == 1.0
    assert res["AN"][0] == pytest.approx(1.0) and res["AN"][-1] == pytest.approx(100.0)


def test_segment_tiou_formula():
    assert segment_tiou(0.0, 10.0, 5.0, 15.0) == pytest.approx(5 / 15)
    assert np.isnan(segment_tiou(3.0, 3.0, 5.0, 5.0))
    assert segment_tiou(0.0, 1.0, 2.0, 3.0) == 0.0


def test_threshold_parsing():
    assert np.array_equal(parse_tiou_thresholds("0.5:0.95:0.05"), np.linspace(0.5, 0.95, 10))
    assert np.array_equal(parse_tiou_thresholds("0.5:0.05:0.95"), np.linspace(0.5, 0.95, 10))   # MATLAB order
    assert np.array_equal(parse_tiou_thresholds("0.3:0.7:0.1"), np.linspace(0.3, 0.7, 5))
    assert list(parse_tiou_thresholds("0.3, 0.4")) == [0.3, 0.4]
    assert list(parse_tiou_thresholds("0.5:0.5:0.1")) == [0.5]
    for bad in ("", "a:b:c", "0.5:0.95", "0:1:0.1", "0.5,1.5", "0.9:0.5:0.1"):
        with pytest.raises(ValueError, match="tIoU thresholds"):
            parse_tiou_thresholds(bad)
    for bad in ("0.1:0.2:0.3", "0.5:0.95:0.1"):       # a step that does not divide the range is not rounded away
        with pytest.raises(ValueError, match=r"is not a multiple of STEP"):
            parse_tiou_thresholds(bad)


def test_proposals_outside_the_ground_truth_are_an_error():
    with pytest.raises(EvaluationError, match="none of the 1 proposals belongs to a ground-truth video"):
        ANETproposal(gt_file({"a": [(0, 10, "x")]}), pred_file([("b", 0, 10, "x", 1.0)])).evaluate()
    # 3 videos, 1 proposal row each, budget 0.5 per video: int(1 * 0.5 * 3 / 3) = 0 kept anywhere
    gt = {"a": [(0, 10, "x")], "b": [(0, 10, "x")], "c": [(0, 10, "x")]}
    rows = [(v, 0, 10, "x", 1.0) for v in gt]
    with pytest.raises(EvaluationError, match="keeps no proposal"):
        ANETproposal(gt_file(gt), pred_file(rows), max_avg_nr_proposals=0.5).evaluate()


# ----------------------------------------------------------------------------- properties
@st.composite
def scenes(draw):
    """Random GT (disjoint, positive-length instances per video) and predictions with distinct
    scores.  (With overlapping or coincident zero-length GT a lower-scored duplicate can
    legitimately match a second instance, so the duplicate property needs disjoint GT.)"""
    n_videos = draw(st.integers(1, 4))
    labels = ["x", "y", "z"]
    gt = {}
    for v in range(n_videos):
        n = draw(st.integers(1, 4))
        cuts = sorted(draw(st.lists(st.integers(0, 200), min_size=2 * n, max_size=2 * n, unique=True)))
        cuts = [c / 2.0 for c in cuts]
        gt[f"vid{v}"] = [(cuts[2 * i], cuts[2 * i + 1], draw(st.sampled_from(labels))) for i in range(n)]
    n_pred = draw(st.integers(1, 25))
    scores = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n_pred, max_size=n_pred, unique=True))
    rows = []
    for score in scores:
        vid = f"vid{draw(st.integers(0, n_videos))}"          # vid{n_videos} is an unknown video
        s = draw(st.floats(0, 100, allow_nan=False))
        e = s + draw(st.floats(0, 40, allow_nan=False))
        rows.append((vid, s, e, draw(st.sampled_from(labels[:2])), score))
    used = {lab for anns in gt.values() for _, _, lab in anns}
    rows = [r for r in rows if r[3] in used] or [("vid0",) + gt["vid0"][0][:2] + (gt["vid0"][0][2], 0.5)]
    return gt, rows


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenes(), st.randoms(use_true_random=False))
def test_map_bounded_and_invariant_to_row_order(scene, rnd):
    gt, rows = scene
    res = det(gt, rows)
    assert all(0.0 <= v <= 1.0 for v in res["mAP"])
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    assert det(gt, shuffled) == res


@PROPERTY
@given(scenes(), st.integers(0, 10 ** 6))
def test_adding_a_lowest_score_duplicate_never_raises_ap(scene, pick):
    gt, rows = scene
    before = det(gt, rows)
    vid, s, e, lab, _ = rows[pick % len(rows)]
    after = det(gt, rows + [(vid, s, e, lab, min(r[4] for r in rows) - 1.0)])
    for label, aps in before["per_class_AP"].items():
        assert all(a <= b + 1e-12 for a, b in zip(after["per_class_AP"][label], aps))


@PROPERTY
@given(scenes())
def test_average_recall_monotone_in_an(scene):
    gt, rows = scene
    assume(any(r[0] in gt for r in rows))
    res = ANETproposal(gt_file(gt), pred_file(rows)).evaluate()
    ar = np.array(res["AR"])
    assert np.all(np.diff(ar) >= 0) and np.all((ar >= 0) & (ar <= 1))
    assert np.all(np.diff(res["AN"]) > 0)
