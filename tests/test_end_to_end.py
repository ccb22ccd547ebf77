"""Tiny end-to-end runs through the real entry scripts: synthesize, train, test, score.

One Algorithm-1 run per setting, the supervised oracle, and the test script over every
snapshot.  Data goes to a temporary folder (``--set data.root=...``).
"""

import json
import subprocess
import sys

import pytest

SCRIPTS = {"k600": "aher_k600_train.py", "anet_split": "aher_anet_split_train.py", "th14_anet": "aher_th14_anet_train.py"}
KEYS = {"mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP", "AR@100", "AUC", "video_accuracy", "mAP"}
#: the localization references (aher.inference): fractions in [0, 1]
REFERENCE_KEYS = {"average_mAP_gt_labels", "mAP@0.5_gt_labels", "prior_average_mAP_video_labels",
                  "prior_average_mAP_gt_labels", "prior_mAP@0.5_video_labels", "prior_mAP@0.5_gt_labels"}


def run(project_root, *args):
    out = subprocess.run([sys.executable, *map(str, args)], cwd=project_root, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def check_metrics(path):
    metrics = json.loads(path.read_text())
    assert KEYS <= set(metrics)
    for key in ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP", "video_accuracy", *REFERENCE_KEYS):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert 1 <= metrics["prior_n_windows"] <= 16 and len(metrics["prior_windows"]) == metrics["prior_n_windows"]
    assert sum(w[2] for w in metrics["prior_windows"]) == pytest.approx(1.0)          # frequencies
    if metrics["video_accuracy"] == 1.0:        # the video labels are the GT labels: same windows, same mAP
        assert metrics["prior_average_mAP_video_labels"] == pytest.approx(metrics["prior_average_mAP_gt_labels"])
    assert 0.0 <= metrics["AR@100"] <= 100.0 and 0.0 <= metrics["AUC"] <= 100.0
    assert (path.parent / metrics["results_file"]).is_file()
    return metrics


# anet_split is the default suite's one real end-to-end run; the other settings run with -m slow
@pytest.mark.parametrize("setting", [pytest.param(s, marks=[] if s == "anet_split" else pytest.mark.slow)
                                     for s in sorted(SCRIPTS)])
def test_algorithm1_tiny_end_to_end(project_root, tmp_path, setting):
    out = tmp_path / "run"
    printed = run(project_root, SCRIPTS[setting], "--config", f"configs/{setting}_synthetic_tiny.yaml", "--out", out,
                  "--set", f"data.root={tmp_path / 'data'}", "--set", "train.iterations=12",
                  "--set", "train.snapshot_every=6", "--quiet").stdout
    assert "average mAP" in printed
    check_metrics(out / "metrics.json")
    assert (out / "checkpoints" / "model.ckpt-12.index").is_file()
    assert any((out / "tb").iterdir()) and "S5a/d_loss" in (out / "train.log").read_text()
    if setting == "k600":
        test = run(project_root, "aher_k600_test.py", "--config", f"configs/{setting}_synthetic_tiny.yaml",
                   "--set", f"data.root={tmp_path / 'data'}", "--checkpoint", out, "--all-snapshots",
                   "--out", tmp_path / "test", "--quiet")
        metrics = check_metrics(tmp_path / "test" / "metrics.json")
        assert set(metrics["snapshots"]) == {"6", "12"}
        assert "[model.ckpt-6]" in test.stdout and "[model.ckpt-12]" in test.stdout
    if setting == "anet_split":
        # the same model on the untrimmed-set classes' held-out videos (the paper's text comparison)
        run(project_root, "aher_k600_test.py", "--config", f"configs/{setting}_synthetic_tiny.yaml",
            "--set", f"data.root={tmp_path / 'data'}", "--checkpoint", out, "--label-space", "untrimmed", "--quiet")
        held_out = check_metrics(out / "eval_untrimmed" / "metrics.json")
        assert held_out["label_space"] == "untrimmed"
        assert json.loads((out / "metrics.json").read_text())["label_space"] == "moment"   # left alone
        classes = (tmp_path / "data" / "anet_split_tiny" / "classes_untrimmed.txt").read_text().split()
        results = json.loads((out / "eval_untrimmed" / held_out["results_file"]).read_text())["results"]
        gt = json.loads((tmp_path / "data" / "anet_split_tiny" / "gt_untrimmed.json").read_text())["database"]
        assert set(results) == set(gt)
        assert {d["label"] for dets in results.values() for d in dets} <= set(classes)


@pytest.mark.slow
def test_oracle_tiny_end_to_end(project_root, tmp_path):
    out = tmp_path / "run"
    run(project_root, "aher_anet_split_train.py", "--config", "configs/anet_split_oracle_synthetic_tiny.yaml",
        "--out", out, "--set", f"data.root={tmp_path / 'data'}", "--quiet")
    check_metrics(out / "metrics.json")
    assert "S3/total" in (out / "train.log").read_text() and "S5a" not in (out / "train.log").read_text()


@pytest.mark.slow
def test_untrimmed_set_oracle_tiny_end_to_end(project_root, tmp_path):
    """AherNet* of the untrimmed-set classes trains on the untrimmed set and is tested on its
    held-out videos by default (eval.label_space auto)."""
    out = tmp_path / "run"
    run(project_root, "aher_anet_split_train.py", "--config", "configs/anet_split_oracle_synthetic_tiny.yaml",
        "--out", out, "--set", f"data.root={tmp_path / 'data'}", "--set", "train.method=oracle_untrimmed",
        "--set", "train.iterations=6", "--quiet")
    metrics = check_metrics(out / "metrics.json")
    assert metrics["label_space"] == "untrimmed"
    classes = (tmp_path / "data" / "anet_split_tiny" / "classes_untrimmed.txt").read_text().split()
    results = json.loads((out / metrics["results_file"]).read_text())["results"]
    assert results and {d["label"] for dets in results.values() for d in dets} <= set(classes)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["zero", "minus"])
def test_baselines_with_their_own_inference_mode(project_root, tmp_path, method):
    """AherNet^0 (snippet grouping) and AherNet^- (no weight transfer) train and test end to end."""
    out = tmp_path / "run"
    run(project_root, "aher_anet_split_train.py", "--config", "configs/anet_split_synthetic_tiny.yaml", "--out", out,
        "--set", f"data.root={tmp_path / 'data'}", "--set", f"train.method={method}", "--set", "train.iterations=6",
        "--quiet")
    check_metrics(out / "metrics.json")


def test_wrong_setting_and_missing_real_data_are_one_line_errors(project_root, tmp_path):
    bad = subprocess.run([sys.executable, "aher_k600_train.py", "--config", "configs/anet_split_synthetic_tiny.yaml"],
                         cwd=project_root, capture_output=True, text=True)
    assert bad.returncode == 2 and "this script trains 'k600'" in bad.stderr and "Traceback" not in bad.stderr
    real = subprocess.run([sys.executable, "aher_k600_train.py", "--config", "configs/k600_paper.yaml",
                           "--set", f"data.dataset_dir={tmp_path / 'nowhere'}", "--out", tmp_path / "r"],
                          cwd=project_root, capture_output=True, text=True)
    assert real.returncode == 2 and "Traceback" not in real.stderr
    assert "gt.json: missing" in real.stderr and "import_features" in real.stderr
