"""Conformance with the official ActivityNet evaluator on every fixture of ../shared/eval_fixtures.

expected.json holds the official outputs.  Pairs whose scores tie are compared against the
stable tie-order variant that matches each of our tie rules (see evaluation.io.descending_order).
"""

import json

import numpy as np
import pytest

from evaluation import ANETdetection, ANETproposal, EvaluationError

TOL = 1e-9
TIE_VARIANT = {"later_first": "stable_sort_later_rows_first", "earlier_first": "stable_sort_earlier_rows_first"}


@pytest.fixture(scope="module")
def expected(shared):
    with open(shared / "eval_fixtures" / "expected.json") as fh:
        return json.load(fh)


#: (fixture pair, threshold key) of every case in ../shared/eval_fixtures/expected.json.  Listed here,
#: not read from the file, so the tests are collected (and skipped with the reason) without ../shared;
#: test_case_lists_match_expected_json keeps the lists equal to the file's.
CASES = {
    "detection": [
        ("anet_val_noisy_det", "0.5:0.05:0.95"), ("k600_val_noisy_det", "0.5:0.05:0.95"),
        ("thumos14_test_noisy_det", "0.5:0.05:0.95"), ("thumos14_test_noisy_det", "0.3:0.1:0.7"),
        ("anet_sample_pred", "0.5:0.05:0.95"), ("anet_sample_pred_gt_videos_only", "0.5:0.05:0.95"),
        ("thumos14_test_edge_det", "0.5:0.05:0.95"), ("thumos14_test_edge_det", "0.3:0.1:0.7"),
        ("tiny_edge_det", "0.5:0.05:0.95"), ("tiny_edge_det", "0.3:0.1:0.7"),
        ("tiny_unknown_label_det", "0.5:0.05:0.95"),
    ],
    "proposal": [
        ("anet_val_proposals", "0.5:0.05:0.95"), ("anet_val_proposals100", "0.5:0.05:0.95"),
        ("k600_val_proposals", "0.5:0.05:0.95"), ("thumos14_test_proposals", "0.5:0.05:0.95"),
        ("anet_sample_pred_as_proposals", "0.5:0.05:0.95"), ("thumos14_test_edge_prop", "0.5:0.05:0.95"),
        ("tiny_edge_prop", "0.5:0.05:0.95"), ("tiny_over100_prop", "0.5:0.05:0.95"),
    ],
}


def test_case_lists_match_expected_json(expected):
    for task, cases in CASES.items():
        assert cases == [(pair, thr) for pair, entry in expected[task].items() for thr in entry["results"]], task


def _reference(entry, thr_key, tie_break):
    if entry.get("tie_independent", {}).get(thr_key, True):
        return entry["results"][thr_key]
    return entry["tie_variants"][thr_key][TIE_VARIANT[tie_break]]


@pytest.mark.parametrize("tie_break", ["later_first", "earlier_first"])
@pytest.mark.parametrize("pair,thr_key", CASES["detection"])
def test_detection_matches_official(shared, expected, pair, thr_key, tie_break):
    entry = expected["detection"][pair]
    folder = shared / "eval_fixtures"
    thresholds = np.array(expected["tiou_thresholds"][thr_key])
    ref = entry["results"][thr_key]
    if "error" in ref:
        assert ref["error"]["type"] == "KeyError"
        with pytest.raises(EvaluationError, match="is not a ground-truth class"):
            ANETdetection(folder / entry["gt"], folder / entry["prediction"], tiou_thresholds=thresholds)
        return
    ref = _reference(entry, thr_key, tie_break)
    det = ANETdetection(folder / entry["gt"], folder / entry["prediction"], tiou_thresholds=thresholds,
                        tie_break=tie_break)
    got = det.evaluate()
    assert det.ground_truth.n_instances == entry["n_gt_instances"]
    assert det.prediction.n_rows == entry["n_predictions"]
    np.testing.assert_allclose(got["mAP"], ref["mAP"], rtol=0, atol=TOL)
    assert abs(got["average_mAP"] - ref["average_mAP"]) <= TOL
    assert set(got["per_class_AP"]) == set(ref["per_class_AP"])
    for label, aps in ref["per_class_AP"].items():
        np.testing.assert_allclose(got["per_class_AP"][label], aps, rtol=0, atol=TOL, err_msg=label)


@pytest.mark.parametrize("tie_break", ["later_first", "earlier_first"])
@pytest.mark.parametrize("pair,thr_key", CASES["proposal"])
def test_proposal_matches_official(shared, expected, pair, thr_key, tie_break):
    entry = expected["proposal"][pair]
    folder = shared / "eval_fixtures"
    ref = _reference(entry, thr_key, tie_break)
    prop = ANETproposal(folder / entry["gt"], folder / entry["prediction"],
                        tiou_thresholds=np.array(expected["tiou_thresholds"][thr_key]),
                        max_avg_nr_proposals=100, tie_break=tie_break)
    got = prop.evaluate()
    assert prop.proposal.n_rows == entry["n_proposals"]
    np.testing.assert_allclose(got["AN"], ref["AN"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["AR"], ref["AR"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["recall_per_tiou"], ref["recall_per_tiou"], rtol=0, atol=TOL)
    for n in (1, 5, 10, 100):
        assert abs(got[f"AR@{n}"] - ref[f"AR@{n}"]) <= TOL
    assert abs(got["AUC"] - ref["AUC_percent"]) <= TOL
    assert abs(got["AUC_area"] - ref["AUC_area"]) <= TOL


def test_default_tie_rule_reproduces_official_all_equal_scores(shared, expected):
    """With every score equal (official sample submission) the official run and our default agree."""
    entry = expected["detection"]["anet_sample_pred"]
    folder = shared / "eval_fixtures"
    got = ANETdetection(folder / entry["gt"], folder / entry["prediction"]).evaluate()
    assert abs(got["average_mAP"] - entry["results"]["0.5:0.05:0.95"]["average_mAP"]) <= TOL


def test_proposal100_float_truncation_quirk(shared):
    """Exactly 100 proposals per video: AN = 29 uses only 28 proposals (0.29 * 100 = 28.999...)."""
    folder = shared / "eval_fixtures"
    got = ANETproposal(folder / "anet_val_gt.json", folder / "anet_val_proposals100.json.gz").evaluate()
    assert got["AR"][28] == got["AR"][27]
    assert got["AN"][28] == 28.999999999999996
