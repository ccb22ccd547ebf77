"""Tests of aher.model.snippet_grouping (SAL inference post-processing, ref sal_paper_vs_code §8).

Expected values come from hand calculations on toy signals and from plain Python / scipy
reference implementations written here from the reference text (loops over points, scipy's
``interp1d``, list-based NMS), not from the module under test.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import interp1d

from aher.model.snippet_grouping import (UPSTREAM_ACT_THRESHOLDS, SALDetection, SALPostprocessConfig, detect,
                                            predicted_classes, proposals, results_dict, soft_nms,
                                            upsample_signal)
from evaluation import ANETdetection

FAST = settings(max_examples=40, deadline=None, derandomize=True)


# ---------------------------------------------------------------------------------------------
# Plain reference implementations (sal_paper_vs_code §8.2-8.5, written point by point).

def ref_upsample(column, factor):
    """Upstream's way: scipy linear interp1d with extrapolation at np.arange(0, T, 1/factor)."""
    x = np.arange(len(column))
    return interp1d(x, column, kind="linear", fill_value="extrapolate")(np.arange(0, len(column), 1 / factor))


def ref_proposals(combined, probs, duration, thresholds, factor, lam, gamma, class_th, quirk):
    combined = np.asarray(combined, dtype=np.float64)
    pred = [c for c in range(len(probs)) if probs[c] >= class_th] or [int(np.argmax(probs))]
    t_factor = duration / (combined.shape[0] * factor)
    columns = {c: ref_upsample(combined[:, c], factor) for c in pred}
    out = []
    for theta in thresholds:
        for c in pred:
            sig = columns[c]
            idx = [k for k in range(len(sig)) if sig[k] >= theta]
            if not idx or (quirk and idx == [0]):
                continue
            groups = [[idx[0]]]
            for k in idx[1:]:
                if k == groups[-1][-1] + 1:
                    groups[-1].append(k)
                else:
                    groups.append([k])
            for g in groups:
                inner = float(np.mean(sig[g]))
                lo = max(0, int(g[0] - lam * len(g)))
                hi = min(len(sig) - 1, int(g[-1] + lam * len(g)))
                outer_idx = list(range(lo, g[0])) + list(range(g[-1] + 1, hi + 1))
                outer = float(np.mean(sig[outer_idx])) if outer_idx else 0.0
                out.append((g[0] * t_factor, (g[-1] + 1) * t_factor, inner - outer + gamma * probs[c], c))
    return out


def ref_soft_nms(props, thr, alpha, soft=True, plus=1.0):
    by_class = {}
    for p in props:
        by_class.setdefault(p[3], []).append(p)
    out = []
    for c, ps in by_class.items():
        # descending score; among equal scores the later proposal first (stable sort, reversed)
        candidates = sorted(range(len(ps)), key=lambda i: (ps[i][2], i), reverse=True)
        keep, side = [], []
        while candidates:
            i = candidates.pop(0)
            keep.append(ps[i])
            remaining = []
            for j in candidates:
                inter = max(0.0, min(ps[i][1], ps[j][1]) - max(ps[i][0], ps[j][0]) + plus)
                union = (ps[i][1] - ps[i][0] + plus) + (ps[j][1] - ps[j][0] + plus) - inter
                iou = inter / union
                if iou >= thr:
                    side.append((ps[j][0], ps[j][1], ps[j][2] * math.exp(-iou * iou / alpha), c))
                else:
                    remaining.append(j)
            candidates = remaining
        out += keep + (side if soft else [])
    return out


def assert_same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.label == e[3]
        assert (g.start, g.end, g.score) == pytest.approx(tuple(e[:3]), rel=1e-9, abs=1e-12)


def smooth_random(rng, length, channels):
    """Continuous random signal in [0, 1] with bumps (exact threshold hits have probability 0)."""
    raw = rng.random((length + 4, channels))
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    return np.stack([np.convolve(raw[:, c], kernel, mode="valid") for c in range(channels)], axis=1) ** 2 * 1.6


# ---------------------------------------------------------------------------------------------
# sal_paper_vs_code §8.1 step 5

def test_predicted_classes_threshold_and_argmax_fallback():
    assert predicted_classes([0.1, 0.25, 0.6, 0.05], 0.25).tolist() == [1, 2]     # >= includes the threshold
    assert predicted_classes([0.2, 0.24, 0.2], 0.25).tolist() == [1]              # none pass: argmax
    assert predicted_classes([0.2, 0.2, 0.1], 0.25).tolist() == [0]               # argmax tie: lowest index
    assert predicted_classes(np.array([0.5, 0.5]), 0.5).dtype == np.int64
    with pytest.raises(ValueError):
        predicted_classes([[0.5, 0.5]], 0.25)
    with pytest.raises(ValueError):
        predicted_classes([0.5, np.nan], 0.25)


# ---------------------------------------------------------------------------------------------
# sal_paper_vs_code §8.2

@pytest.mark.parametrize("length, factor", [(2, 24), (7, 24), (750, 24), (5, 3), (4, 1)])
def test_upsample_matches_scipy_and_extrapolates_the_tail(length, factor):
    rng = np.random.default_rng(length * 31 + factor)
    signal = rng.random((length, 3))
    up = upsample_signal(signal, factor)
    assert up.shape == (length * factor, 3)
    for c in range(3):
        np.testing.assert_array_equal(up[:, c], ref_upsample(signal[:, c], factor))   # bit-identical
    # the samples themselves are reproduced, and the last factor-1 points continue the last segment
    np.testing.assert_allclose(up[::factor], signal, rtol=0, atol=1e-15)
    k = np.arange(1, factor)
    tail = signal[-1] + (k / factor)[:, None] * (signal[-1] - signal[-2])
    np.testing.assert_allclose(up[-(factor - 1):] if factor > 1 else up[:0], tail, rtol=0, atol=1e-12)


def test_upsample_tail_leaves_the_unit_interval_and_t1_is_constant():
    up = upsample_signal([0.0, 0.96], 24)                 # rising: the 23 extrapolated points exceed 0.96
    assert up[-1] == pytest.approx(0.96 + 23 / 24 * 0.96) and up.max() > 1.0
    np.testing.assert_array_equal(upsample_signal([[0.3, 0.7]], 4), [[0.3, 0.7]] * 4)


# ---------------------------------------------------------------------------------------------
# sal_paper_vs_code §8.3-8.4 on a hand-built CAS

def toy_cas():
    """T = 20, two classes; class 0 has two bumps, class 1 one bump (but it is not predicted)."""
    sig = np.full(20, 0.1)
    sig[2] = 0.3
    sig[3:8] = [0.8, 0.9, 0.9, 0.8, 0.7]
    sig[8] = 0.2
    sig[13:15] = [0.6, 0.7]
    other = np.full(20, 0.05)
    other[9:12] = 0.95
    return np.stack([sig, other], axis=1), np.array([0.9, 0.1])


def test_toy_cas_proposals_by_hand():
    combined, probs = toy_cas()
    config = SALPostprocessConfig(act_thresholds=(0.5, 0.75), upsample=1)
    got = proposals(combined, probs, 40.0, config)                   # 2 s per point
    # theta 0.5, run [3, 7]: L 5, lambda*L = 1 -> outer {2, 8} = (0.3 + 0.2)/2; inner 4.1/5
    # theta 0.5, run [13, 14]: L 2, lambda*L = 0.4 -> outer [int(12.6), 13) u (14, int(14.4)] = {12}
    # theta 0.75, run [3, 6]: L 4, lambda*L = 0.8 -> outer [int(2.2), 3) u (6, int(6.8)] = {2}
    expected = [(6.0, 16.0, 0.82 - 0.25 + 0.2 * 0.9, 0),
                (26.0, 30.0, 0.65 - 0.1 + 0.2 * 0.9, 0),
                (6.0, 14.0, 0.85 - 0.3 + 0.2 * 0.9, 0)]
    assert_same(got, expected)
    assert all(isinstance(p, SALDetection) for p in got)
    assert_same(got, ref_proposals(combined, probs, 40.0, (0.5, 0.75), 1, 0.2, 0.2, 0.25, True))


def test_toy_cas_oic_uses_real_probabilities_and_both_classes_when_predicted():
    combined, _ = toy_cas()
    probs = np.array([0.6, 0.4])                                      # both >= 0.25; a binarised 1 would add 0.2
    config = SALPostprocessConfig(act_thresholds=(0.5,), upsample=1)
    got = proposals(combined, probs, 40.0, config)
    assert [p.label for p in got] == [0, 0, 1]
    assert got[0].score == pytest.approx(0.82 - 0.25 + 0.2 * 0.6)
    # class 1 run [9, 11]: L 3, lambda*L = 0.6 -> outer [int(8.4), 9) u (11, int(11.6)] = {8}
    assert got[2] == pytest.approx((18.0, 24.0, 0.95 - 0.05 + 0.2 * 0.4, 1))


def test_toy_cas_upsampled_default_config_matches_reference():
    combined, probs = toy_cas()
    config = SALPostprocessConfig()
    got = proposals(combined, probs, 40.0, config)
    assert len(got) > 9
    assert_same(got, ref_proposals(combined, probs, 40.0, UPSTREAM_ACT_THRESHOLDS, 24, 0.2, 0.2, 0.25, True))
    assert max(p.end for p in got) <= 40.0


@FAST
@given(seed=st.integers(0, 2**31 - 1), length=st.integers(2, 14), factor=st.sampled_from([1, 2, 5, 24]),
       channels=st.integers(1, 3), quirk=st.booleans(), lam=st.sampled_from([0.0, 0.2, 0.25, 0.7]))
def test_proposals_match_reference_on_random_signals(seed, length, factor, channels, quirk, lam):
    rng = np.random.default_rng(seed)
    combined = smooth_random(rng, length, channels)
    probs = rng.dirichlet(np.ones(channels))
    duration = float(rng.uniform(1.0, 300.0))
    config = SALPostprocessConfig(upsample=factor, index0_quirk=quirk, oic_lambda=lam)
    got = proposals(combined, probs, duration, config)
    assert_same(got, ref_proposals(combined, probs, duration, UPSTREAM_ACT_THRESHOLDS, factor, lam, 0.2, 0.25,
                                   quirk))


def test_proposals_at_thumos_size_match_reference():
    rng = np.random.default_rng(7)
    combined = smooth_random(rng, 750, 4)
    probs = np.array([0.4, 0.05, 0.3, 0.25])                           # classes 0, 2, 3 predicted
    got = proposals(combined, probs, 640.0, SALPostprocessConfig())
    assert {p.label for p in got} == {0, 2, 3}
    assert_same(got, ref_proposals(combined, probs, 640.0, UPSTREAM_ACT_THRESHOLDS, 24, 0.2, 0.2, 0.25, True))


def test_index0_quirk_on_and_off():
    # upsampled values 1 - k/24 near the start: only point 0 is >= 0.99
    combined = np.array([[1.0], [0.0], [0.0], [0.0]])
    probs = np.array([1.0])
    quirky = SALPostprocessConfig(act_thresholds=(0.99,))
    assert proposals(combined, probs, 9.6, quirky) == []
    fixed = SALPostprocessConfig(act_thresholds=(0.99,), index0_quirk=False)
    # L 1, lambda*L 0.2 -> outer [0, 0) u (0, int(0.2)] is empty -> score = 1 - 0 + 0.2 * 1
    assert proposals(combined, probs, 9.6, fixed) == [pytest.approx((0.0, 0.1, 1.2, 0))]
    # a longer run starting at 0 is never affected
    assert len(proposals(combined, probs, 9.6, SALPostprocessConfig(act_thresholds=(0.9,)))) == 1


def test_seconds_match_upstream_t_factor_at_thumos_settings():
    n_features = 1000                                                    # original feature count N
    combined = np.zeros((750, 1))
    combined[100:110, 0] = 1.0
    config = SALPostprocessConfig(act_thresholds=(0.5,))
    (got,) = proposals(combined, np.array([1.0]), 16 * n_features / 25, config)
    t_factor = 16 * n_features / (24 * 750 * 25)
    # interpolated value >= 0.5 from 99 + 12/24 to 109 + 12/24
    assert (got.start, got.end) == pytest.approx(((99 * 24 + 12) * t_factor, (109 * 24 + 12 + 1) * t_factor))


# ---------------------------------------------------------------------------------------------
# sal_paper_vs_code §8.5

def test_soft_nms_by_hand():
    a, b, c = (6.0, 16.0, 0.75, 0), (26.0, 30.0, 0.73, 0), (6.0, 14.0, 0.72, 0)
    config = SALPostprocessConfig()
    # IoU(a, c) with +1: 9 / (11 + 9 - 9); IoU(a, b) = 0
    expected = [a, b, (6.0, 14.0, 0.72 * math.exp(-(9 / 11) ** 2 / 0.3), 0)]
    assert_same(soft_nms([a, b, c], config), expected)
    assert_same(soft_nms([a, b, c], SALPostprocessConfig(nms_iou_plus_one=False)),
                [a, b, (6.0, 14.0, 0.72 * math.exp(-0.8 ** 2 / 0.3), 0)])
    assert_same(soft_nms([a, b, c], SALPostprocessConfig(one_pass_decay=False)), [a, b])


def test_soft_nms_quirks():
    config = SALPostprocessConfig()
    # +1 in seconds: disjoint proposals 0.1 s apart have IoU 0.9 / 2.0 = 0.45 >= 0.4
    near = [(0.0, 0.5, 0.9, 3), (0.6, 1.0, 0.8, 3)]
    assert_same(soft_nms(near, config), [near[0], (0.6, 1.0, 0.8 * math.exp(-0.45 ** 2 / 0.3), 3)])
    assert_same(soft_nms(near, SALPostprocessConfig(nms_iou_plus_one=False)), near)
    # one pass: a decayed proposal never suppresses; identical duplicates decay by exp(-1/alpha)
    dup = [(0.0, 10.0, 0.9, 1), (0.0, 10.0, 0.9, 1), (5.0, 15.0, 0.5, 1), (20.0, 25.0, 0.1, 2)]
    got = soft_nms(dup, config)
    assert [(p.start, p.label) for p in got] == [(0.0, 1), (5.0, 1), (0.0, 1), (20.0, 2)]
    assert got[2].score == pytest.approx(0.9 * math.exp(-1 / 0.3))
    # equal scores: the later proposal is visited first
    tie = [(0.0, 10.0, 0.5, 0), (1.0, 11.0, 0.5, 0)]
    assert soft_nms(tie, config)[0].start == 1.0
    assert soft_nms([], config) == []


proposal_st = st.tuples(st.floats(0, 50, allow_nan=False), st.floats(0.01, 20, allow_nan=False),
                        st.floats(-1, 2, allow_nan=False), st.integers(0, 2))


@FAST
@given(rows=st.lists(proposal_st, max_size=25), thr=st.sampled_from([0.0, 0.3, 0.4, 0.7, 1.0]),
       alpha=st.sampled_from([0.3, 0.35, 1.0]), soft=st.booleans(), plus=st.booleans())
def test_soft_nms_matches_reference(rows, thr, alpha, soft, plus):
    props = [(s, s + length, score, c) for s, length, score, c in rows]
    config = SALPostprocessConfig(nms_threshold=thr, nms_alpha=alpha, one_pass_decay=soft, nms_iou_plus_one=plus)
    assert_same(soft_nms(props, config), ref_soft_nms(props, thr, alpha, soft, 1.0 if plus else 0.0))


# ---------------------------------------------------------------------------------------------
# full chain and output (sal_paper_vs_code §8.1 step 5 .. sal_paper_vs_code §8.6)

def test_detect_chains_sorts_and_caps():
    combined, probs = toy_cas()
    config = SALPostprocessConfig(act_thresholds=(0.5, 0.75), upsample=1)
    chained = soft_nms(proposals(combined, probs, 40.0, config), config)
    got = detect(probs, combined, 40.0, config)
    assert sorted(got, key=lambda d: -d.score) == got and sorted(got) == sorted(chained)
    assert got[0] == pytest.approx((6.0, 16.0, 0.75, 0))
    capped = detect(probs, combined, 40.0, SALPostprocessConfig(act_thresholds=(0.5, 0.75), upsample=1, keep_top_k=2))
    assert capped == got[:2]
    with pytest.raises(ValueError):
        detect(probs, combined[:, :1], 40.0, config)                   # C mismatch
    with pytest.raises(ValueError):
        detect(probs, combined, 0.0, config)


def test_results_dict_passes_the_evaluator():
    classes = ["jump", "swim"]
    t, duration = 50, 100.0                                             # 2 s per step

    def video(bump, cls):
        combined = np.full((t, 2), 0.05)
        combined[bump[0]:bump[1], cls] = 0.9
        probs = np.array([0.8, 0.2]) if cls == 0 else np.array([0.2, 0.8])
        return detect(probs, combined, duration, SALPostprocessConfig())

    detections = {"va": video((10, 20), 0), "vb": video((30, 45), 1)}
    gt = {"version": "VERSION 1.3", "database": {
        vid: {"subset": "validation", "duration": duration, "annotations": [{"segment": seg, "label": lab}]}
        for vid, seg, lab in (("va", [20.0, 40.0], "jump"), ("vb", [60.0, 90.0], "swim"))}}
    results = results_dict(detections, classes)
    assert set(results) == {"version", "results", "external_data"}
    assert [len(v) for v in results["results"].values()] == [len(detections["va"]), len(detections["vb"])]
    assert results["results"]["va"][0]["label"] == "jump"
    assert ANETdetection(gt, results, tiou_thresholds=[0.5]).evaluate()["mAP"] == [1.0]
    with pytest.raises(ValueError):
        results_dict({"va": [(0.0, 1.0, 0.5, 5)]}, classes)


def test_config_defaults_and_validation():
    config = SALPostprocessConfig()
    assert config.act_thresholds == tuple(np.arange(0.1, 1.0, 0.1).tolist()) and len(config.act_thresholds) == 9
    assert (config.class_threshold, config.upsample, config.oic_lambda, config.oic_gamma) == (0.25, 24, 0.2, 0.2)
    assert (config.nms_threshold, config.nms_alpha, config.keep_top_k) == (0.4, 0.3, None)
    assert config.one_pass_decay and config.nms_iou_plus_one and config.index0_quirk
    assert SALPostprocessConfig(act_thresholds=[0.5]).act_thresholds == (0.5,)
    for bad in ({"act_thresholds": ()}, {"act_thresholds": (0.5, float("nan"))}, {"upsample": 0},
                {"upsample": 2.0}, {"oic_lambda": -0.1}, {"nms_threshold": 1.5}, {"nms_alpha": 0.0},
                {"keep_top_k": 0}, {"index0_quirk": 1}, {"class_threshold": float("inf")}):
        with pytest.raises(ValueError):
            SALPostprocessConfig(**bad)
    with pytest.raises(ValueError):
        proposals(np.zeros((3, 1)), [1.0], 1.0, config={"upsample": 24})
