"""SAL through its command line on the tiny synthetic benchmark: train (val selection), resume,
test (results + metrics.json), upstream test-set selection, one-line user errors."""

import json
import subprocess
import sys

import pytest

TINY = ["--set", "data.scale=tiny", "--set", 'data.synthetic_overrides=["length_untrimmed=128", "length_moment=64"]',
        "--set", "data.temporal_length=128", "--set", "model.feature_dim=32", "--set", "model.hidden_dim=16",
        "--set", "train.eval_every=5", "--set", "train.eval_after_epochs=0", "--set", "train.snapshot_every=10",
        "--set", "train.log_every=5"]


def scalar_steps(folder):
    """``{tag: sorted steps}`` of every scalar in the event files of ``folder``."""
    import tensorflow as tf

    steps = {}
    for path in sorted(folder.glob("events.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                steps.setdefault(value.tag, set()).add(event.step)
    return {tag: sorted(s) for tag, s in steps.items()}


def sal(project_root, *args, ok=True):
    out = subprocess.run([sys.executable, "-m", "aher.baselines.sal", *map(str, args), "--quiet"], cwd=project_root,
                         capture_output=True, text=True, timeout=300)
    if ok:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("sal_data")


@pytest.mark.slow
def test_train_resume_and_test_write_metrics(project_root, data_root, tmp_path):
    run = tmp_path / "run"
    common = ["--config", "configs/sal_thumos_synthetic.yaml", "--set", f"data.root={data_root}", *TINY]
    sal(project_root, "train", *common, "--set", "train.iterations=10", "--out", run, "--no-test")
    resumed = sal(project_root, "train", *common, "--set", "train.iterations=20", "--out", run, "--resume")
    assert "average mAP" in resumed.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert [f"mAP@{t / 10:g}" for t in range(1, 8)] == [k for k in metrics if k.startswith("mAP@")]
    assert metrics["tiou_thresholds"] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert 0 <= metrics["average_mAP"] <= 1 and 0 <= metrics["video_accuracy"] <= 1 and 0 <= metrics["AR@100"] <= 100
    assert 0 <= metrics["video_exact_match"] <= metrics["video_accuracy"]        # an exact class set holds the argmax
    assert metrics["selection"]["split"] == "val" and "/best/" in metrics["checkpoint"]
    assert (run / metrics["results_file"]).is_file() and (run / "gt_test.json").is_file()
    history = json.loads((run / "selection.json").read_text())["history"]
    assert [h["iteration"] for h in history] == [5, 10, 15, 20]          # resumed run kept the first half
    log = (run / "train.log").read_text()
    assert "resumed at iteration 10" in log and "second_order=" in log and "mixup=" in log
    assert (run / "checkpoints" / "model.ckpt-20.index").is_file()
    best = json.loads((run / "selection.json").read_text())["best"]
    assert len(list((run / "checkpoints" / "best").glob("*.index"))) == 1           # the resumed run kept one best
    assert (run / "checkpoints" / "best" / f"model.ckpt-{best['iteration']}.index").is_file()
    steps = scalar_steps(run / "tb")
    assert {"sal/total", "sal/mil", "sal/mask_mean", "val/average_mAP"} <= steps.keys()
    assert steps["sal/total"] == list(range(1, 21)) and steps["val/average_mAP"] == [5, 10, 15, 20]
    # test split disjoint from the training/val videos, scored again by the test command on a chosen snapshot
    gt_test = set(json.loads((run / "gt_test.json").read_text())["database"])
    assert gt_test and not gt_test & set(json.loads((run / "gt_val.json").read_text())["database"])
    again = sal(project_root, "test", "--out", run, "--checkpoint", run / "checkpoints" / "model.ckpt-20")  # its config
    assert "model.ckpt-20" in again.stdout and json.loads((run / "metrics.json").read_text())["iteration"] == 20


def test_upstream_selection_on_the_test_split_and_ablation(project_root, data_root, tmp_path):
    run = tmp_path / "run"
    sal(project_root, "train", "--config", "configs/sal_thumos_synthetic_tiny.yaml", "--set", f"data.root={data_root}",
        "--set", "train.iterations=5", "--set", "train.select_on=test", "--set", "model.msl=false",
        "--set", "aal.enabled=false", "--out", run)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["selection"]["split"] == "test"
    assert metrics["selection"]["best"]["average_mAP"] == pytest.approx(metrics["average_mAP"])
    log = (run / "train.log").read_text()
    assert "second_order=" not in log and "gce=" not in log and "mixup=" not in log and "mask_mean" not in log
    # tested again with the run's own config.yaml (its --set values included): the same scores
    sal(project_root, "test", "--out", run)
    again = json.loads((run / "metrics.json").read_text())
    assert again["average_mAP"] == pytest.approx(metrics["average_mAP"]) and again["checkpoint"] == metrics["checkpoint"]


def test_user_errors_are_one_line(project_root, tmp_path):
    bad_key = sal(project_root, "train", "--config", "configs/sal_thumos_synthetic.yaml", "--set", "model.nope=1",
                  ok=False)
    assert bad_key.returncode == 2 and "unknown config key 'model.nope'" in bad_key.stderr
    no_run = sal(project_root, "test", "--config", "configs/sal_thumos_synthetic.yaml", "--out", tmp_path / "none",
                 ok=False)
    assert no_run.returncode == 2 and "no checkpoint found" in no_run.stderr
    no_config = sal(project_root, "test", "--out", tmp_path / "none", ok=False)
    assert no_config.returncode == 2 and "no config.yaml (not a SAL run folder); pass --config CFG" in no_config.stderr
    real = sal(project_root, "train", "--config", "configs/sal_thumos_real.yaml", "--set",
               f"data.dataset_dir={tmp_path / 'nowhere'}", "--out", tmp_path / "r", ok=False)
    assert real.returncode == 2 and "gt.json: missing" in real.stderr
    for out in (bad_key, no_run, no_config, real):
        assert "Traceback" not in out.stderr
