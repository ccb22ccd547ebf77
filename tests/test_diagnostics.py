"""aher.diagnostics: detection and GT lengths as fractions of the video."""

import json

import numpy as np
import pytest

from aher.cli import UserError
from aher.data.annotations import Instance, Video, write_activitynet_gt
from aher.diagnostics import detection_lengths, gt_lengths, lengths_table, main, summary

VIDEOS = [Video("a", 100.0, "validation", [Instance(10, 50, "x"), Instance(60, 70, "y")]),
          Video("b", 20.0, "validation", [Instance(0, 20, "x")]),
          Video("c", 50.0, "training", [Instance(0, 5, "x")])]
RESULTS = {"a": [{"segment": [0, 5], "score": 0.2, "label": "x"}, {"segment": [0, 80], "score": 0.9, "label": "x"},
                 {"segment": [10, 12], "score": 0.5, "label": "x"}],
           "b": [{"segment": [2, 4], "score": 0.1, "label": "x"}],
           "zzz": [{"segment": [0, 1], "score": 1.0, "label": "x"}]}


def test_lengths_are_fractions_of_the_video_and_top_k_by_score():
    np.testing.assert_allclose(gt_lengths(VIDEOS), [0.4, 0.1, 1.0])                  # training video left out
    np.testing.assert_allclose(detection_lengths(RESULTS, VIDEOS, top_k=2), [0.8, 0.02, 0.1])
    s = summary(detection_lengths(RESULTS, VIDEOS, top_k=5))
    assert s["n"] == 4 and s["median"] == pytest.approx(0.075) and s["short"] == pytest.approx(0.5)
    assert summary(np.array([]))["median"] is None


def test_cli_table_and_errors(tmp_path, capsys):
    gt = tmp_path / "gt.json"
    write_activitynet_gt(VIDEOS, gt)
    run = tmp_path / "run"
    run.mkdir()
    (run / "res.json").write_text(json.dumps({"results": RESULTS}))
    (run / "metrics.json").write_text(json.dumps({"results_file": "res.json"}))
    table = lengths_table(gt, [run], top_k=1)
    assert "| GT instances | 3 | 0.40 | 0.50 | 0 % |" in table
    assert f"| {run} | 2 | 0.45 | 0.45 | 0 % |" in table
    assert main(["lengths", str(gt), str(run), "--top-k", "1"]) == 0 and "top 1 per video" in capsys.readouterr().out
    with pytest.raises(UserError, match="metrics.json: missing"):
        lengths_table(gt, [tmp_path / "nowhere"])
