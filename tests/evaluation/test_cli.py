"""The two evaluation command lines: output files, printed tables, one-line errors, exit codes."""

import errno
import gzip
import json
import os
import stat
import subprocess
import sys

import pytest

from evaluation import get_detection_performance as det_cli
from evaluation import get_proposal_performance as prop_cli
from evaluation.cli_common import OutputError, run_cli, write_json_atomic, write_text_atomic

GT = {"version": "t", "database": {
    "vid_a": {"subset": "validation", "duration": 100.0,
              "annotations": [{"segment": [10.0, 20.0], "label": "jump"}, {"segment": [50.0, 70.0], "label": "run"}]},
    "vid_b": {"subset": "validation", "duration": 50.0, "annotations": [{"segment": [5.0, 15.0], "label": "jump"}]},
    "vid_t": {"subset": "training", "duration": 50.0, "annotations": [{"segment": [5.0, 15.0], "label": "swim"}]},
}}
PRED = {"version": "t", "results": {
    "vid_a": [{"label": "jump", "score": 0.9, "segment": [10.0, 20.0]},
              {"label": "run", "score": 0.8, "segment": [50.0, 66.0]}],
    "vid_b": [{"label": "jump", "score": 0.7, "segment": [0.0, 15.0]}],
}}


def _write(path, payload):
    path.write_text(json.dumps(payload))
    return path


@pytest.fixture()
def files(tmp_path):
    return _write(tmp_path / "gt.json", GT), _write(tmp_path / "pred.json", PRED)


def test_detection_cli_json_out(files, tmp_path, capsys):
    gt, pred = files
    out = tmp_path / "res" / "out.json"
    assert run_cli(det_cli.main, [str(gt), str(pred), "--json-out", str(out), "--per-class"]) == 0
    printed = capsys.readouterr().out
    assert "mAP %" in printed and "jump" in printed
    res = json.loads(out.read_text())
    assert set(res) == {"tiou_thresholds", "mAP", "average_mAP", "per_class_AP"}
    assert len(res["mAP"]) == 10 and res["tiou_thresholds"][8] == 0.8999999999999999
    # jump: [10,20] perfect, [0,15] vs [5,15] has tIoU 10/15 -> both TP up to 0.65, second FP above
    assert res["per_class_AP"]["jump"][:4] == [1.0] * 4
    assert res["per_class_AP"]["jump"][4] == pytest.approx(0.5)
    # run: [50,66] vs [50,70] tIoU 0.8 -> TP up to 0.8 inclusive
    assert res["per_class_AP"]["run"][6] == 1.0 and res["per_class_AP"]["run"][7] == 0.0


def test_detection_cli_threshold_list_and_gzip(files, tmp_path):
    gt, pred = files
    gz = tmp_path / "pred.json.gz"
    with gzip.open(gz, "wt") as fh:
        json.dump(PRED, fh)
    out = tmp_path / "o.json"
    assert run_cli(det_cli.main, [str(gt), str(gz), "--tiou-thresholds", "0.3,0.5,0.7", "--json-out", str(out),
                                  "--quiet"]) == 0
    assert json.loads(out.read_text())["tiou_thresholds"] == [0.3, 0.5, 0.7]


def test_proposal_cli_json_out(files, tmp_path, capsys):
    gt, pred = files
    out = tmp_path / "p.json"
    assert run_cli(prop_cli.main, [str(gt), str(pred), "--json-out", str(out)]) == 0
    assert "AUC" in capsys.readouterr().out
    res = json.loads(out.read_text())
    for key in ("AN", "AR", "AR@1", "AR@5", "AR@10", "AR@100", "AUC"):
        assert key in res
    assert len(res["AN"]) == 100 and len(res["AR"]) == 100


BAD_CASES = {
    "malformed": ("{not json", "malformed JSON"),
    "empty_file": ("", "malformed JSON"),
    "no_results": (json.dumps({"version": "x"}), "no 'results'"),
    "results_not_dict": (json.dumps({"results": []}), "no 'results'"),
    "empty_results": (json.dumps({"results": {}}), "contains no prediction"),
    "empty_lists": (json.dumps({"results": {"vid_a": []}}), "contains no prediction"),
    "string_score": (json.dumps({"results": {"vid_a": [{"label": "jump", "score": "high", "segment": [1, 2]}]}}),
                     "results['vid_a'][0].score is not a number"),
    "bool_score": (json.dumps({"results": {"vid_a": [{"label": "jump", "score": True, "segment": [1, 2]}]}}),
                   ".score is not a number"),
    "nan_score": ('{"results": {"vid_b": [{"label": "jump", "score": 0.5, "segment": [1, 2]},'
                  ' {"label": "jump", "score": NaN, "segment": [1, 2]}]}}', "results['vid_b'][1].score is not finite"),
    "three_numbers": (json.dumps({"results": {"vid_a": [{"label": "jump", "score": 1, "segment": [1, 2, 3]}]}}),
                      ".segment is not two numbers"),
    "text_segment": (json.dumps({"results": {"vid_a": [{"label": "jump", "score": 1, "segment": ["a", "b"]}]}}),
                     ".segment is not two numbers"),
    "reversed": (json.dumps({"results": {"vid_a": [{"label": "jump", "score": 1, "segment": [5, 2]}]}}),
                 "ends before it starts"),
    "no_label": (json.dumps({"results": {"vid_a": [{"score": 1, "segment": [1, 2]}]}}), "has no 'label'"),
    "row_not_object": (json.dumps({"results": {"vid_a": [[1, 2]]}}), "is not an object"),
    "unknown_label": (json.dumps({"results": {"vid_a": [{"label": "swim", "score": 1, "segment": [1, 2]}]}}),
                      "label 'swim' is not a ground-truth class"),
    "no_known_video": (json.dumps({"results": {"vid_x": [{"label": "jump", "score": 1, "segment": [1, 2]}],
                                               "vid_t": [{"label": "jump", "score": 1, "segment": [1, 2]}]}}),
                       "none of the 2 predictions belongs to a ground-truth video of subset 'validation' (e.g. "),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_detection_cli_bad_input_one_line(files, tmp_path, capsys, case):
    gt, _ = files
    text, message = BAD_CASES[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert run_cli(det_cli.main, [str(gt), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(bad) in err
    assert message in err


def test_bad_ground_truth_and_subset(files, tmp_path, capsys):
    gt, pred = files
    assert run_cli(det_cli.main, [str(gt), str(pred), "--subset", "testing"]) == 2
    assert "no video of subset 'testing' (subsets present: training, validation)" in capsys.readouterr().err
    bad_gt = _write(tmp_path / "bad_gt.json", {"database": {"v": {"subset": "validation",
                                                                    "annotations": [{"segment": [1], "label": "x"}]}}})
    assert run_cli(prop_cli.main, [str(bad_gt), str(pred)]) == 2
    assert "database['v'].annotations[0].segment is not two numbers" in capsys.readouterr().err
    assert run_cli(det_cli.main, [str(pred), str(pred)]) == 2
    assert "no 'database'" in capsys.readouterr().err
    assert run_cli(det_cli.main, [str(tmp_path / "missing.json"), str(pred)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_ignore_unknown_labels_flag(files, tmp_path, capsys):
    gt, _ = files
    pred = _write(tmp_path / "p.json", {"results": {"vid_a": [{"label": "swim", "score": 1, "segment": [1, 2]},
                                                              {"label": "jump", "score": 1, "segment": [10, 20]}]}})
    assert run_cli(det_cli.main, [str(gt), str(pred), "--ignore-unknown-labels"]) == 0
    assert "dropped predictions whose label is not a ground-truth class: 'swim' (1)" in capsys.readouterr().err


@pytest.mark.parametrize("how", [["evaluation/get_detection_performance.py"], ["-m", "evaluation.get_detection_performance"]])
def test_runs_as_script_and_module_without_traceback(project_root, files, tmp_path, how):
    gt, pred = files
    ok = subprocess.run([sys.executable, *how, str(gt), str(pred)], cwd=project_root, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "average" in ok.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    out = subprocess.run([sys.executable, *how, str(gt), str(bad)], cwd=project_root, capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("cli, which", [(det_cli, 0), (det_cli, 1), (prop_cli, 0), (prop_cli, 1)])
def test_json_out_never_replaces_an_input_file(files, tmp_path, capsys, cli, which):
    inputs = files
    before = [p.read_bytes() for p in inputs]
    link = tmp_path / "link.json"
    link.symlink_to(inputs[which])
    for out in (inputs[which], link, tmp_path / "." / inputs[which].name):
        assert run_cli(cli.main, [str(p) for p in inputs] + ["--json-out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: --json-out {out} is the input file ")
        assert "would be overwritten" in err
    assert [p.read_bytes() for p in inputs] == before


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_are_created_with_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_json_atomic(tmp_path / "a" / "m.json", {"x": 1})
        write_text_atomic(tmp_path / "t.md", "text\n")
    finally:
        os.umask(old)
    for path in (tmp_path / "a" / "m.json", tmp_path / "t.md"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert json.loads((tmp_path / "a" / "m.json").read_text()) == {"x": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "t.md"]


@pytest.mark.parametrize("where", ["write", "replace"])
def test_a_full_disk_is_one_line_naming_the_file(files, tmp_path, capsys, monkeypatch, where):
    gt, pred = files
    out = tmp_path / "out.json"
    out.write_text("previous")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, where, full)
    with pytest.raises(OutputError) as info:
        write_json_atomic(out, {"x": 1})
    assert str(info.value) == (f"{out}: cannot write: no space left on the device (disk or quota full); "
                               "the previous file, if any, is unchanged")
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert run_cli(det_cli.main, [str(gt), str(pred), "--json-out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {info.value}\n"
    monkeypatch.undo()
    assert out.read_text() == "previous" and sorted(p.name for p in tmp_path.iterdir()) == ["gt.json", "out.json",
                                                                                          "pred.json"]


def test_ground_truth_videos_without_predictions_are_noted(files, tmp_path, capsys):
    gt, _ = files
    only_a = _write(tmp_path / "a.json", {"results": {"vid_a": PRED["results"]["vid_a"]}})
    assert run_cli(det_cli.main, [str(gt), str(only_a)]) == 0
    assert "note: 1 of the 2 ground-truth videos have no prediction (e.g. 'vid_b'): their instances count as missed" \
        in capsys.readouterr().err
    assert run_cli(det_cli.main, [str(gt), str(files[1])]) == 0
    assert "have no prediction" not in capsys.readouterr().err
