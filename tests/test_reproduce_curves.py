"""``python -m aher.reproduce.curves``: the plan's overrides, the plateau and diagnostics readers, and
one real tiny curve (train with snapshots, test every snapshot, report with the diagnostics)."""

import json

import pytest

from aher.config import load_config
from aher.paths import PROJECT_ROOT
from aher.reproduce import curves, records


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


def test_plateau_reader():
    points = [{"iteration": i, "m": v} for i, v in ((250, 0.1), (500, 0.3), (750, 0.58), (1000, 0.6), (1250, 0.59))]
    assert curves.plateau_iteration(points, "m") == 750                  # first at >= 95 % of the best (0.57)
    assert curves.plateau_iteration([{"iteration": 5, "m": None}], "m") is None


def _curve(setting, method, seed, value, **extra):
    points = [{"iteration": it, **dict.fromkeys(curves.METRICS, v), **dict.fromkeys(curves.DIAGNOSTICS)}
              for it, v in ((250, value / 2), (500, value))]
    return {"setting": setting, "method": method, "label": method, "seed": seed, "dir": f"runs/{setting}",
            "status": "finished", "points": points,
            "plateau": {m: curves.plateau_iteration(points, m) for m in curves.METRICS}, **extra}


def test_a_report_keeps_the_curves_outside_the_plan_with_their_command():
    meta = {"command": "curves --settings anet_split", "date": "2026-12-04 20:00", "scale": "small",
            "iterations": 500, "every": 250}
    doc = {**meta, "curves": [_curve("anet_split", "algorithm1", 0, 0.2, command=meta["command"], date=meta["date"])]}
    previous = {**meta, "command": "curves --settings k600", "date": "2026-12-03 16:50",
                "curves": [_curve("anet_split", "algorithm1", 0, 0.1), _curve("k600", "oracle", 0, 0.3),
                           _curve("k600", "algorithm1", 0, 0.4)]}
    merged, kept, why = curves.merge_report(doc, previous)
    assert (kept, why) == (2, None)
    # the plan's anet_split curve replaces the earlier one; k600's stay, in setting and method order
    assert [(c["setting"], c["method"]) for c in merged["curves"]] == [
        ("k600", "algorithm1"), ("k600", "oracle"), ("anet_split", "algorithm1")]
    assert merged["curves"][2]["points"][1]["average_mAP"] == 0.2
    assert {c["command"] for c in merged["curves"][:2]} == {"curves --settings k600"}
    assert merged["command"] == meta["command"] and merged["curves"][0]["date"] == "2026-12-03 16:50"
    header = curves.render_markdown(merged).splitlines()[2]
    assert header.startswith("Commands: `curves --settings k600` (2026-12-03 16:50): k600; "
                             "`curves --settings anet_split` (2026-12-04 20:00): anet_split.")
    # another length or snapshot interval: replaced, with the reason
    for key, value in (("iterations", 3000), ("every", 100), ("scale", "tiny")):
        replaced, kept, why = curves.merge_report(doc, {**previous, key: value})
        assert replaced == doc and kept == 0 and f"{key} {value}" in why
    assert curves.merge_report(doc, None) == (doc, 0, None)
    assert curves.render_markdown(doc).splitlines()[2].startswith("Command: `curves --settings anet_split` (")


def test_collecting_one_setting_keeps_the_others_in_the_report_folder(tmp_path, capsys):
    report = tmp_path / "report"
    report.mkdir()
    earlier = {"command": "curves --settings k600", "date": "2026-12-03 16:50", "scale": "tiny", "iterations": 4,
               "every": 2, "curves": [_curve("k600", "algorithm1", 0, 0.4)]}
    (report / "curves.json").write_text(json.dumps(earlier))
    argv = ["--scale", "tiny", "--settings", "anet_split", "--methods", "algorithm1", "--iterations", "4", "--every",
            "2", "--runs", str(tmp_path / "runs"), "--report-dir", str(report), "--no-train"]
    assert curves.run(argv) == 1                                  # the anet_split run is not trained
    out = capsys.readouterr().out
    assert "kept 1 curve(s) of runs outside this plan" in out and "0 of 1 curves written" in out
    doc = json.loads((report / "curves.json").read_text())
    assert [(c["setting"], c["status"]) for c in doc["curves"]] == [("k600", "finished"), ("anet_split", "not run")]
    assert doc["curves"][0]["command"] == "curves --settings k600"
    assert doc["curves"][1]["command"] == doc["command"] and doc["command"].endswith("--no-train")
    md = (report / "curves.md").read_text()
    assert "## k600 · algorithm1 · seed 0" in md and "not finished: not run" in md
    assert (report / "curves.png").stat().st_size > 0              # the kept curve is plotted


@pytest.mark.parametrize("content, message", [("{", "unreadable"), ("[]", "not a curves report"),
                                              ('{"curves": 3}', "not a curves report")])
def test_a_broken_report_is_a_one_line_error_before_anything_runs(tmp_path, capsys, content, message):
    report = tmp_path / "report"
    report.mkdir()
    (report / "curves.json").write_text(content)
    argv = ["--scale", "tiny", "--settings", "k600", "--methods", "algorithm1", "--runs", str(tmp_path / "runs"),
            "--report-dir", str(report)]
    with pytest.raises(SystemExit) as exit_:
        curves.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "curves.json" in err[0]
    assert not (tmp_path / "runs").exists() and (report / "curves.json").read_text() == content


@pytest.mark.slow
def test_a_tiny_curve_end_to_end(tmp_path, capsys):
    report = tmp_path / "report"
    argv = ["--scale", "tiny", "--settings", "k600", "--methods", "algorithm1", "--iterations", "4", "--every", "2",
            "--runs", str(tmp_path / "runs"), "--report-dir", str(report), "--set", f"data.root={tmp_path / 'data'}",
            "--records", str(tmp_path / "records.json")]
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
    recorded = records.load_records(tmp_path / "records.json")["tiny/curves/k600/ahernet/seed0"]["files"]
    assert recorded["eval_curve/metrics.json"] == tested                  # recorded once its snapshots were tested
    assert (report / "curves.png").stat().st_size > 0 and "| 4 |" in (report / "curves.md").read_text()
    # collected again without training: the same curves, the tests reused
    assert curves.run([*argv, "--no-train"]) == 0
    again = json.loads((report / "curves.json").read_text())["curves"]

    def measured(curve):
        return {k: v for k, v in curve.items() if k not in ("command", "date")}

    assert [measured(c) for c in again] == [measured(c) for c in doc["curves"]]
    assert again[0]["command"].endswith("--no-train") and not curve["command"].endswith("--no-train")
