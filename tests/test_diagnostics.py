"""aher.diagnostics: detection and GT lengths as fractions of the video."""

import json

import numpy as np
import pytest

from aher.errors import UserError
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


def _mechanism_record(measurements, share_moment):
    layer = {"real_accuracy": 0.5, "generated_accuracy": 0.25, "accuracy": 0.375, "real_anchors": 8,
             "generated_anchors": 8}
    return {"method": "algorithm1", "mask": "joint", "measurements": measurements, "first_iteration": 1,
            "last_iteration": 10, "seconds_per_measurement": 0.125,
            "discriminator": {"layers": [dict(layer=1, **layer), dict(layer=2, **layer)], "all": dict(layer)},
            "probe": {"input": {"auc": 0.99951, "train": 70, "test": 30, "generated_rows": 50, "real_rows": 50},
                      "layer_1": {"auc": None, "train": 0, "test": 0, "generated_rows": 3, "real_rows": 40},
                      "layer_2": {"auc": 0.5, "train": 70, "test": 30, "generated_rows": 50, "real_rows": 50}},
            "generator": {"generated": {"norm": 12.5, "zero_fraction": 0.83, "temporal_std": 0.001},
                          "real_background": {"norm": 3.25, "zero_fraction": 0.0, "temporal_std": None}},
            "background_share": {"joint": {"anchors": 200, "moment": share_moment, "context": 0.15,
                                           "straddling": 0.85 - share_moment},
                                 "separate": {"anchors": 0, "moment": None, "context": None, "straddling": None}}}


def test_mechanism_cli_prints_the_latest_or_the_asked_iteration(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "diagnostics.json").write_text(json.dumps({"10": _mechanism_record(2, 0.795),
                                                      "20": _mechanism_record(3, 0.5)}))
    assert main(["mechanism", str(run)]) == 0
    out = capsys.readouterr().out
    assert "at iteration 20 (method algorithm1, mask joint; 3 measurements, iterations 1-10, 0.12 s each)" in out
    assert "| input | – | – | – | – | 1.000 | 50 / 50 |" in out
    assert "| 1 | 0.50 | 0.25 | 0.38 | 8 / 8 | – | 3 / 40 |" in out
    assert "| 2 | 0.50 | 0.25 | 0.38 | 8 / 8 | 0.500 | 50 / 50 |" in out
    assert "| all | 0.50 | 0.25 | 0.38 | 8 / 8 | – | – |" in out
    assert "| generated (G1, G2) | 12.500 | 83.0 % | 0.001 |" in out
    assert "| real background | 3.250 | 0.0 % | – |" in out
    assert "| joint (configured) | 200 | 50.0 % | 15.0 % | 35.0 % |" in out
    assert "| separate | 0 | – | – | – |" in out
    assert main(["mechanism", str(run), "--iteration", "10"]) == 0
    assert "| joint (configured) | 200 | 79.5 % | 15.0 % | 5.5 % |" in capsys.readouterr().out
    with pytest.raises(UserError, match=r"no record for iteration 30 \(have 10, 20\)"):
        main(["mechanism", str(run), "--iteration", "30"])
    with pytest.raises(UserError, match="diagnostics.json: missing"):
        main(["mechanism", str(tmp_path)])


def test_mechanism_cli_exits_2_with_one_line(project_root, tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "aher.diagnostics", "mechanism", str(tmp_path)], cwd=project_root,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "diagnostics.json: missing" in out.stderr
