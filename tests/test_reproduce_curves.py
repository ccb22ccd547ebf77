"""``python -m aher.reproduce.curves``: the plan's overrides, the plateau and diagnostics readers, and
one real tiny curve (train with snapshots, test every snapshot, report with the diagnostics)."""

import json

import pytest

from aher.config import load_config
from aher.paths import PROJECT_ROOT
from aher.reproduce import curves


def test_curve_runs_have_their_length_all_snapshots_and_a_constant_rate(tmp_path):
    configs = {s: PROJECT_ROOT / "configs" / f"{s}_synthetic_small.yaml" for s in ("k600", "anet_split")}
    plan = curves.curve_plan(["k600", "anet_split"], ["algorithm1", "oracle"], [0, 1], configs, tmp_path, "small",
                             3000, 250, passthrough=["train.iterations=5", "data.root=elsewhere"])
    assert len(plan) == 8 and plan[0].spec.seed == 0 and plan[-1].spec.seed == 1
    run = plan[1]
    assert run.out == tmp_path / "small" / "curves" / "k600" / run.spec.slug / "seed0"
    config = load_config(run.config, run.overrides)
    assert config.train.method == "oracle" and config.train.iterations == 3000      # the curve's length wins
    assert config.train.snapshot_every == 250 and config.train.keep_snapshots == 13
    assert min(config.train.lr_boundaries) > 3000 and config.data.root == "elsewhere"


def test_plateau_and_diagnostics_readers():
    points = [{"iteration": i, "m": v} for i, v in ((250, 0.1), (500, 0.3), (750, 0.58), (1000, 0.6), (1250, 0.59))]
    assert curves.plateau_iteration(points, "m") == 750                  # first at >= 95 % of the best (0.57)
    assert curves.plateau_iteration([{"iteration": 5, "m": None}], "m") is None
    record = {"discriminator": {"layers": [{"accuracy": 0.4}, {"accuracy": 0.6}, {"accuracy": None}]},
              "probe": {"input": {"auc": 1.0}, "layer_1": {"auc": None}}}
    assert curves.diagnostics_at(record) == {"discriminator_accuracy": pytest.approx(0.5), "probe_auc_input": 1.0,
                                             "probe_auc_layer_1": None}
    assert curves.diagnostics_at({}) == dict.fromkeys(curves.DIAGNOSTICS)


@pytest.mark.slow
def test_a_tiny_curve_end_to_end(tmp_path, capsys):
    report = tmp_path / "report"
    argv = ["--scale", "tiny", "--settings", "k600", "--methods", "algorithm1", "--iterations", "4", "--every", "2",
            "--runs", str(tmp_path / "runs"), "--report-dir", str(report), "--set", f"data.root={tmp_path / 'data'}"]
    assert curves.run(argv) == 0
    doc = json.loads((report / "curves.json").read_text())
    (curve,) = doc["curves"]
    assert curve["status"] == "finished" and [p["iteration"] for p in curve["points"]] == [2, 4]
    for point in curve["points"]:
        assert 0 <= point["average_mAP"] <= 1 and 0 <= point["AUC"] <= 100 and 0 <= point["video_accuracy"] <= 1
        assert 0 <= point["discriminator_accuracy"] <= 1 and 0 <= point["probe_auc_input"] <= 1
    run = tmp_path / "runs" / "tiny" / "curves" / "k600" / "ahernet" / "seed0"
    tested = json.loads((run / curves.EVAL_DIR / "metrics.json").read_text())
    assert tested["snapshots"]["4"]["average_mAP"] == curve["points"][1]["average_mAP"]
    assert (report / "curves.png").stat().st_size > 0 and "| 4 |" in (report / "curves.md").read_text()
    # collected again without training: the same curves, the tests reused
    assert curves.run([*argv, "--no-train"]) == 0
    assert json.loads((report / "curves.json").read_text())["curves"] == doc["curves"]
