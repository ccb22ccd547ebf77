"""Tests of aher.model.postprocess: 1-D NMS, decoding/selection/scoring, result JSON, evaluator round trip.

Toy geometry: T = 32 -> anchor layers of 8, 4, 2, 1 cells (15 cells, 45 anchors), steps 4, 8, 16,
32 grid units.  Expected boxes are computed here from the reference formulas (paper_vs_code §2.3, paper_vs_code §4.3), not
from aher.model.anchors / box_coder, so that a wrong flatten order would show.
"""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aher.model.anchors import anchor_layers
from aher.model.postprocess import (Detection, PostprocessConfig, detect, nms_1d, results_dict,
                                    results_json)
from evaluation import ANETdetection, ANETproposal

T = 32
LAYERS = anchor_layers(T)
CELLS_PER_LAYER = (8, 4, 2, 1)
N_CELL = sum(CELLS_PER_LAYER)
N_ANC = 3 * N_CELL
RATIOS = (1.0, 1.26, 1.587)
DURATION = 64.0          # 2 seconds per grid unit


def anchor_seconds(index, duration=DURATION):
    """Clipped [start, end] in seconds of flat anchor ``index`` (zero offsets), from paper_vs_code §2.3/paper_vs_code §4.3."""
    cell, a = divmod(index, 3)
    for length in CELLS_PER_LAYER:
        if cell < length:
            break
        cell -= length
    step = T / length
    center, width = (cell + 0.5) * step, RATIOS[a] * step
    start, end = max(center - width / 2, 0.0), min(center + width / 2, float(T))
    return start / T * duration, end / T * duration


def inputs(overlap_by_anchor, probs_by_cell=None, k=3, default_probs=(0.6, 0.3, 0.1)):
    """Zero offsets, overlap 0 except the given anchors, every cell ``default_probs`` except the given cells."""
    offsets = np.zeros((N_ANC, 2))
    overlap = np.zeros(N_ANC)
    for i, value in overlap_by_anchor.items():
        overlap[i] = value
    probs = np.tile(np.asarray(default_probs, dtype=np.float64)[:k], (N_CELL, 1))
    for c, value in (probs_by_cell or {}).items():
        probs[c] = value
    return offsets, overlap, probs


def run(offsets, overlap, probs, duration=DURATION, **config):
    return detect(offsets, overlap, probs, LAYERS, T, duration, PostprocessConfig(**config))


# ----------------------------------------------------------------------------- config
def test_config_defaults():
    config = PostprocessConfig()
    assert (config.scoring, config.nms_threshold, config.keep_top_k, config.select_top_k) == ("upstream", 0.9, 100, 765)
    assert config.box_clip == "upstream" and config.prior_scaling == (0.1, 0.1)


@pytest.mark.parametrize("kwargs", [
    {"scoring": "mean"}, {"nms_threshold": 1.5}, {"nms_threshold": -0.1}, {"nms_threshold": float("nan")},
    {"nms_threshold": "0.9"}, {"keep_top_k": 0}, {"keep_top_k": 2.0}, {"select_top_k": 0}, {"select_top_k": True},
    {"box_clip": "none"}, {"box_clip": "Upstream"}, {"box_clip": None},
])
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        PostprocessConfig(**kwargs)


def test_config_bad_box_clip_names_the_choices():
    with pytest.raises(ValueError, match=r"box_clip must be one of \('upstream', 'both'\), not 'start'"):
        PostprocessConfig(box_clip="start")


# ----------------------------------------------------------------------------- NMS
def reference_nms(starts, ends, scores, threshold, max_out):
    """Plain-Python greedy NMS: descending score, ties earlier index first, IoU > threshold suppresses."""
    def iou(i, j):
        lo_i, hi_i = min(starts[i], ends[i]), max(starts[i], ends[i])
        lo_j, hi_j = min(starts[j], ends[j]), max(starts[j], ends[j])
        len_i, len_j = hi_i - lo_i, hi_j - lo_j
        if len_i <= 0 or len_j <= 0:
            return 0.0
        inter = max(min(hi_i, hi_j) - max(lo_i, lo_j), 0.0)
        return inter / (len_i + len_j - inter)

    kept = []
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if len(kept) == max_out:
            break
        if all(iou(i, k) <= threshold for k in kept):
            kept.append(i)
    return kept


def test_nms_hand_cases():
    # IoU(0, 1) = 8/10 = 0.8; box 2 is disjoint.
    starts, ends, scores = [0.0, 2.0, 20.0], [10.0, 10.0, 30.0], [0.5, 0.9, 0.7]
    assert nms_1d(starts, ends, scores, 0.79, 10).tolist() == [1, 2]
    assert nms_1d(starts, ends, scores, 0.8, 10).tolist() == [1, 2, 0]        # IoU == threshold: kept (strict)
    assert nms_1d(starts, ends, scores, 0.8, 2).tolist() == [1, 2]            # max_out
    assert nms_1d(starts, ends, scores, 0.8, 0).tolist() == []
    # Ties: earlier index first, and the earlier one suppresses the later identical box.
    assert nms_1d([0, 0, 5], [4, 4, 6], [0.5, 0.5, 0.5], 0.9, 10).tolist() == [0, 2]
    # Chain: 0 suppresses 1; 1 would have suppressed 2, but 1 is gone, so 2 stays.
    assert nms_1d([0, 2, 4], [6, 8, 10], [0.9, 0.8, 0.7], 0.4, 10).tolist() == [0, 2]
    # Zero-length boxes never suppress nor get suppressed; reversed boxes are normalised.
    assert nms_1d([3, 3, 0], [3, 3, 10], [0.9, 0.8, 0.7], 0.0, 10).tolist() == [0, 1, 2]
    assert nms_1d([10, 0], [0, 10], [0.9, 0.8], 0.9, 10).tolist() == [0]
    # Inverted boxes as upstream's clip leaves them outside a T = 32 window: [40, 32] and [41, 32]
    # are (32, 40) and (32, 41), IoU 8/9 = 0.889; [0, -8] is (-8, 0) and touches neither.
    assert nms_1d([40, 41, 0], [32, 32, -8], [0.9, 0.8, 0.7], 0.88, 10).tolist() == [0, 2]
    assert nms_1d([40, 41, 0], [32, 32, -8], [0.9, 0.8, 0.7], 0.89, 10).tolist() == [0, 1, 2]
    out = nms_1d([], [], [], 0.5, 10)
    assert out.dtype == np.int64 and out.size == 0


def test_nms_rejects_bad_input():
    with pytest.raises(ValueError):
        nms_1d([0, 1], [1], [1, 1], 0.5, 1)
    with pytest.raises(ValueError):
        nms_1d([0], [1], [float("nan")], 0.5, 1)
    with pytest.raises(ValueError):
        nms_1d([0], [1], [1], 1.5, 1)
    with pytest.raises(ValueError):
        nms_1d([0], [1], [1], 0.5, -1)


@st.composite
def nms_case(draw):
    n = draw(st.integers(0, 25))
    grid = st.integers(0, 20).map(lambda v: v * 0.5)                       # coarse values: ties and exact IoUs
    starts = draw(st.lists(grid, min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(-2, 12).map(lambda v: v * 0.5), min_size=n, max_size=n))
    scores = draw(st.lists(st.sampled_from([0.1, 0.2, 0.5, 0.9]) | st.floats(0, 1), min_size=n, max_size=n))
    threshold = draw(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]) | st.floats(0, 1))
    max_out = draw(st.integers(0, 30))
    return starts, [s + length for s, length in zip(starts, lengths)], scores, threshold, max_out


@settings(max_examples=300, deadline=None)
@given(nms_case())
def test_nms_matches_reference(case):
    starts, ends, scores, threshold, max_out = case
    expected = reference_nms(starts, ends, scores, threshold, max_out)
    assert nms_1d(starts, ends, scores, threshold, max_out).tolist() == expected


# ----------------------------------------------------------------------------- decoding
def test_zero_offsets_decode_to_clipped_anchors_in_seconds():
    overlap = np.linspace(0.9, 0.1, N_ANC)           # distinct, descending: detection i is anchor i
    offsets, _, probs = inputs({})
    dets = run(offsets, overlap, probs, nms_threshold=1.0, keep_top_k=N_ANC)
    assert len(dets) == N_ANC
    assert all(isinstance(d, Detection) and type(d.start) is float and type(d.label) is int for d in dets)
    got = np.array([(d.start, d.end) for d in dets])
    want = np.array([anchor_seconds(i) for i in range(N_ANC)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # spot checks: first anchor [0, 4] grid -> [0, 8] s; the coarsest layer is clipped to the whole video
    assert got[0].tolist() == [0.0, 8.0]
    assert got[-3:].tolist() == [[0.0, DURATION]] * 3


def test_nonzero_offsets_follow_reference_formula():
    offsets, overlap, probs = inputs({4: 0.8})                 # anchor 4: layer 1, cell 1, width 5.04, centre 6
    offsets[4] = (1.0, 2.0)
    (det,) = run(offsets, overlap, probs)
    center, width = 1.0 * 5.04 * 0.1 + 6.0, 5.04 * math.exp(2.0 * 0.1)
    assert det.start == pytest.approx((center - width / 2) / T * DURATION, abs=1e-12)
    assert det.end == pytest.approx((center + width / 2) / T * DURATION, abs=1e-12)


def test_nms_inside_detect_and_top_k():
    # anchor 1 (width 5.04) reshaped to width 4 -> identical to anchor 0, suppressed (IoU 1 > 0.9).
    offsets, overlap, probs = inputs({0: 0.9, 1: 0.8, 30: 0.7})
    offsets[1, 1] = math.log(4.0 / 5.04) / 0.1
    assert [d.start for d in run(offsets, overlap, probs)] == [anchor_seconds(0)[0], anchor_seconds(30)[0]]
    assert len(run(offsets, overlap, probs, nms_threshold=1.0)) == 3
    assert len(run(offsets, overlap, probs, nms_threshold=1.0, keep_top_k=2)) == 2
    # select_top_k=1: only the best y_ov enters NMS
    assert len(run(offsets, overlap, probs, select_top_k=1)) == 1


# ----------------------------------------------------------------------------- scoring
def toy_scoring_inputs():
    """Anchor 16 (cell 5: class 2, max p 0.5) has y_ov 0.9; anchor 0 (cell 0: class 0, max p 0.6) has 0.8."""
    return inputs({16: 0.9, 0: 0.8}, {5: (0.2, 0.3, 0.5)})


def test_upstream_scoring_one_label_per_video():
    dets = run(*toy_scoring_inputs(), scoring="upstream")
    p_bar = (14 * 0.6 + 0.2) / 15                              # mean over all 15 cells of class 0
    assert [d.label for d in dets] == [0, 0]
    assert [(d.start, d.end) for d in dets] == [anchor_seconds(16), anchor_seconds(0)]
    assert [d.score for d in dets] == pytest.approx([0.9 * p_bar, 0.8 * p_bar], abs=1e-12)


def test_paper_scoring_per_proposal_label_and_reranking():
    dets = run(*toy_scoring_inputs(), scoring="paper")
    assert [(d.start, d.end) for d in dets] == [anchor_seconds(0), anchor_seconds(16)]   # 0.48 > 0.45
    assert [d.label for d in dets] == [0, 2]
    assert [d.score for d in dets] == pytest.approx([0.6 * 0.8, 0.5 * 0.9], abs=1e-12)


def test_upstream_label_uses_cells_of_all_layers():
    # Class 1 wins only in the 7 coarser cells (layers 2-4); its mean over all 15 cells still wins.
    probs = {c: (0.0, 1.0, 0.0) for c in range(8, 15)}
    probs.update({c: (0.5, 0.0, 0.5) for c in range(8)})
    dets = run(*inputs({3: 0.5}, probs), scoring="upstream")
    assert [d.label for d in dets] == [1] and dets[0].score == pytest.approx(0.5 * 7 / 15)
    assert [d.label for d in run(*inputs({3: 0.5}, probs), scoring="paper")] == [0]      # cell 1: tie 0/2 -> 0


@pytest.mark.parametrize("box_clip", ["upstream", "both"])
def test_zero_score_and_zero_length_boxes_are_dropped(box_clip):
    offsets, overlap, probs = inputs({0: 0.9, 6: 0.8, 9: 0.7, 12: 0.6, 15: 0.0}, {3: (0.0, 0.0, 0.0)})
    offsets[0] = (0.0, -1e4)           # width exp(-1000) = 0 -> zero length
    offsets[6] = (1e4, 0.0)            # centre far past T -> upstream [~1e4, T] (inverted), both [T, T]
    dets = run(offsets, overlap, probs, scoring="paper", box_clip=box_clip)
    assert [(d.start, d.end) for d in dets] == [anchor_seconds(12)]   # anchor 9 (cell 3) has max p 0; 15 has y_ov 0
    assert [(d.start, d.end) for d in run(offsets, overlap, probs, box_clip=box_clip)] == [anchor_seconds(9),
                                                                                         anchor_seconds(12)]


def outside_duplicates(center):
    """Anchors 0, 3, 6 (layer 1, width 4) moved to one box ``[center - 2, center + 2]`` outside the
    window, with the top y_ov (0.9, 0.89, 0.88); anchors 30, 33, 36 stay in place (y_ov 0.7, 0.6,
    0.5; [16, 24], [24, 32], [0, 16] grid units, pairwise IoU 0)."""
    offsets, overlap, probs = inputs({0: 0.9, 3: 0.89, 6: 0.88, 30: 0.7, 33: 0.6, 36: 0.5})
    for anchor, cell_center in ((0, 2.0), (3, 6.0), (6, 10.0)):
        offsets[anchor, 0] = (center - cell_center) / 4.0 / 0.1
    return offsets, overlap, probs


@pytest.mark.parametrize("center", [42.0, -10.0])       # right of the window: [40, 44]; left: [-12, -8]
def test_duplicates_outside_the_window_take_one_slot_with_upstream_clip(center):
    inside = [anchor_seconds(30), anchor_seconds(33), anchor_seconds(36)]
    # upstream: [40, 44] -> [40, 32] grid -> (64, 80) s after (min, max); [-12, -8] -> [0, -8] -> (-16, 0) s.
    # The three copies (IoU 1) suppress each other: one slot is spent, 3 of keep_top_k = 4 remain.
    dets = run(*outside_duplicates(center), keep_top_k=4)
    assert [(d.start, d.end) for d in dets] == inside
    assert [d.score for d in dets] == pytest.approx([0.7 * 0.6, 0.6 * 0.6, 0.5 * 0.6], abs=1e-12)
    # both: each copy is the zero-length box [T, T] or [0, 0] and takes its own slot -> only 1 of 4 remains.
    dets = run(*outside_duplicates(center), keep_top_k=4, box_clip="both")
    assert [(d.start, d.end) for d in dets] == inside[:1]
    # With enough slots both modes give the same detections (outside boxes are dropped in the end).
    assert run(*outside_duplicates(center), box_clip="both") == run(*outside_duplicates(center)) != []
    assert len(run(*outside_duplicates(center))) == 3


def test_detect_rejects_bad_input():
    offsets, overlap, probs = inputs({0: 0.5})
    with pytest.raises(ValueError):
        run(offsets[:-1], overlap, probs)
    with pytest.raises(ValueError):
        run(offsets, overlap, probs[:-1])
    with pytest.raises(ValueError):
        run(offsets, overlap * 3, probs)                        # not a sigmoid output
    with pytest.raises(ValueError):
        run(offsets, overlap, probs, duration=0.0)
    with pytest.raises(ValueError):
        detect(offsets, overlap, probs, anchor_layers(64), 64, DURATION, PostprocessConfig())
    with pytest.raises(ValueError):
        detect(offsets, overlap, probs, LAYERS, 64, DURATION, PostprocessConfig())      # layers built for T=32


# ----------------------------------------------------------------------------- result JSON
def test_results_dict_schema_sorting_and_cap():
    numpy_row = (np.float64(4), np.float32(5), np.float32(0.5), np.int64(2))
    dets = {"v1": [(0.0, 1.0, 0.2, 1), Detection(2.0, 3.0, 0.9, 0), numpy_row],
            "v2": []}
    out = results_dict(dets, ["a", "b", "c"], keep_top_k=2)
    assert list(out) == ["version", "results", "external_data"]
    assert out["version"] == "VERSION 1.3" and out["external_data"] == {}
    assert out["results"]["v2"] == []
    assert out["results"]["v1"] == [{"score": 0.9, "segment": [2.0, 3.0], "label": "a"},
                                    {"score": 0.5, "segment": [4.0, 5.0], "label": "c"}]
    json.dumps(out, allow_nan=False)                            # plain Python types only
    with pytest.raises(ValueError):
        results_dict({"v": [(0.0, 1.0, 0.5, 3)]}, ["a", "b", "c"])
    with pytest.raises(ValueError):
        results_dict({"v": [(0.0, float("inf"), 0.5, 0)]}, ["a"])


def test_results_json_atomic_write(tmp_path):
    path = tmp_path / "sub" / "results.json"
    results_json({"v1": [(0.0, 1.0, 0.5, 0)], "v2": []}, ["a"], path, version="VERSION 1.0")
    data = json.loads(path.read_text())
    assert data["version"] == "VERSION 1.0" and data["results"]["v2"] == []
    with pytest.raises(ValueError):
        results_json({"v1": [(0.0, 1.0, 0.5, 7)]}, ["a"], path)
    assert json.loads(path.read_text()) == data                 # failed write left the old file
    assert os.listdir(path.parent) == ["results.json"]          # no temporary left behind


# ----------------------------------------------------------------------------- evaluator round trip
def gt_dict(videos):
    return {"version": "VERSION 1.3",
            "database": {vid: {"subset": "validation", "duration": DURATION,
                               "annotations": [{"segment": list(seg), "label": lab} for seg, lab in anns]}
                         for vid, anns in videos.items()}}


CLASSES = ["jump", "run", "swim"]


def test_detections_pass_the_evaluator_easy(tmp_path):
    gt = gt_dict({"va": [(anchor_seconds(4), "jump"), (anchor_seconds(27), "jump")],
                  "vb": [(anchor_seconds(33), "swim")]})
    detections = {
        "va": run(*inputs({4: 0.9, 27: 0.8})),                               # class 0 everywhere
        "vb": run(*inputs({33: 0.7}, default_probs=(0.1, 0.2, 0.7))),        # class 2 everywhere
        "vc": [],                                                           # video without detections
    }
    path = tmp_path / "results.json"
    results_json(detections, CLASSES, path)
    result = ANETdetection(gt, str(path), tiou_thresholds=[0.5]).evaluate()
    assert result["mAP"] == [1.0]
    assert ANETdetection(gt, results_dict(detections, CLASSES)).evaluate()["average_mAP"] == 1.0
    assert ANETproposal(gt, str(path)).evaluate()["AR@100"] == 1.0              # the proposal metric reads it too


def test_detections_pass_the_evaluator_harder():
    # va: a false positive (anchor 10, y_ov 0.95) outranks the true positive (anchor 4) -> AP 0.5;
    # vb: one true positive -> AP 1; mAP = 0.75.  At tIoU 0.95 the vb box (IoU 0.92 after an offset)
    # also fails -> AP(swim) 0 and mAP 0.25.
    gt = gt_dict({"va": [(anchor_seconds(4), "jump")], "vb": [(anchor_seconds(33), "swim")]})
    offsets_b, overlap_b, probs_b = inputs({33: 0.7}, default_probs=(0.1, 0.2, 0.7))
    offsets_b[33, 1] = math.log(0.92) / 0.1                                 # same centre, 92 % of the width
    detections = {"va": run(*inputs({10: 0.95, 4: 0.9})), "vb": run(offsets_b, overlap_b, probs_b)}
    result = ANETdetection(gt, results_dict(detections, CLASSES), tiou_thresholds=[0.5, 0.95]).evaluate()
    assert result["mAP"] == pytest.approx([0.75, 0.25])
