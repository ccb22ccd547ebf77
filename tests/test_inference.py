"""aher.inference: which label space and inference mode a config is tested with; the localization
references (detections relabelled with the GT video label, fixed prior windows) on hand-made cases."""

import errno
import json
import os

import numpy as np
import pytest
import yaml

from aher.errors import UserError
from aher.config import load_config
from aher.inference import (EVAL_FILES, MAP_KEYS, VideoLabels, check_output_folder, detection_maps, load_run_config,
                            prior_detections, reference_metrics, run_differences, video_accuracy, with_gt_labels,
                            write_output)
from aher.model import postprocess
from aher.priors import fit_windows


def _config(project_root, *overrides):
    return load_config(project_root / "configs" / "anet_split_synthetic_tiny.yaml", list(overrides))


@pytest.mark.parametrize("method, space, mode", [
    ("algorithm1", "moment", "transfer"), ("oracle", "moment", "transfer"), ("no_adversary", "moment", "transfer"),
    ("moments_only", "moment", "transfer"), ("minus", "moment", "no_transfer"), ("zero", "moment", "snippet"),
    ("pretrain", "untrimmed", "transfer"), ("oracle_untrimmed", "untrimmed", "transfer"),
])
def test_auto_label_space_and_mode_follow_the_method(project_root, method, space, mode):
    config = _config(project_root, f"train.method={method}")
    assert config.eval_label_space == space and config.inference_mode == mode


def test_explicit_label_space_wins_and_names_its_files(project_root):
    config = _config(project_root, "eval.label_space=untrimmed")
    assert config.eval_label_space == "untrimmed"
    assert EVAL_FILES["untrimmed"] == ("eval_untrimmed", "gt_untrimmed") and EVAL_FILES["moment"] == ("eval", "gt")
    with pytest.raises(UserError, match="eval.label_space: 'both' is not allowed; allowed: one of auto, moment, untrimmed"):
        _config(project_root, "eval.label_space=both")


# ---------------------------------------------------------------- localization references

CLASSES = ["a", "b", "c"]
CONFIG = load_config("configs/anet_split_synthetic_tiny.yaml", ["eval.tiou_thresholds=0.5,0.75,0.95"])


def write_gt(path, videos):
    """``videos``: {video_id: (duration, [(start, end, label), ...])}, all in subset validation."""
    database = {vid: {"subset": "validation", "duration": duration,
                      "annotations": [{"segment": [s, e], "label": label} for s, e, label in instances]}
                for vid, (duration, instances) in videos.items()}
    path.write_text(json.dumps({"version": "VERSION 1.3", "database": database}))
    return path


@pytest.fixture
def hand_made_gt(tmp_path):
    """v1 (10 s) one 'a' at [0, 5]; v2 (20 s) one 'b' at [0, 10]; v3 (4 s) one 'c' at [2.6, 3.4]."""
    return write_gt(tmp_path / "gt.json", {"v1": (10.0, [(0.0, 5.0, "a")]), "v2": (20.0, [(0.0, 10.0, "b")]),
                                           "v3": (4.0, [(2.6, 3.4, "c")])})


def test_gt_labels_score_the_segments_whatever_the_labels(hand_made_gt, tmp_path):
    # right segments, every label wrong: plain mAP 0, relabelled with the GT video label 1.0
    detections = {"v1": [(0.0, 5.0, 0.9, 1)], "v2": [(0.0, 10.0, 0.8, 2)], "v3": [(2.6, 3.4, 0.7, 0)]}
    videos = {"v1": VideoLabels(10.0, 0, 1), "v2": VideoLabels(20.0, 1, 2), "v3": VideoLabels(4.0, 2, 0)}
    plain = detection_maps(postprocess.results_dict(detections, CLASSES), hand_made_gt, CONFIG)
    assert plain == {"mAP@0.5": 0.0, "mAP@0.75": 0.0, "mAP@0.95": 0.0, "average_mAP": 0.0}
    got = reference_metrics(detections, videos, CLASSES, hand_made_gt, CONFIG, fit_windows(np.zeros((0, 2))))
    assert {k: got[f"{k}_gt_labels"] for k in MAP_KEYS} == pytest.approx(
        {"mAP@0.5": 1.0, "mAP@0.75": 1.0, "mAP@0.95": 1.0, "average_mAP": 1.0})
    assert got["prior_n_windows"] == 0 and got["prior_windows"] == [] and got["prior_average_mAP_gt_labels"] is None
    # a wrong segment stays wrong: v2 half covered (tIoU 0.5) counts at 0.5 only -> b's AP 1, 0, 0
    detections["v2"] = [(0.0, 5.0, 0.8, 2)]
    got = reference_metrics(detections, videos, CLASSES, hand_made_gt, CONFIG, fit_windows(np.zeros((0, 2))))
    assert got["mAP@0.5_gt_labels"] == pytest.approx(1.0) and got["mAP@0.75_gt_labels"] == pytest.approx(2 / 3)
    assert got["average_mAP_gt_labels"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_a_video_without_gt_label_keeps_the_runs_labels():
    detections = {"v1": [(0.0, 5.0, 0.9, 1), (6.0, 7.0, 0.2, 2)], "v4": [(1.0, 2.0, 0.5, 2)]}
    videos = {"v1": VideoLabels(10.0, 0, 1), "v4": VideoLabels(10.0, -1, 1)}
    assert with_gt_labels(detections, videos) == {"v1": [(0.0, 5.0, 0.9, 0), (6.0, 7.0, 0.2, 0)],
                                                  "v4": [(1.0, 2.0, 0.5, 2)]}
    windows = fit_windows(np.array([[0.5, 0.2]]))
    assert prior_detections(windows, videos, "gt") == {"v1": [(4.0, 6.0, 1.0, 0)], "v4": [(4.0, 6.0, 1.0, 1)]}
    assert prior_detections(windows, videos, "video") == {"v1": [(4.0, 6.0, 1.0, 1)], "v4": [(4.0, 6.0, 1.0, 1)]}
    assert video_accuracy(videos) == 0.0 and video_accuracy({"v0": VideoLabels(1.0, 0, 0), **videos}) == 0.5


def test_prior_windows_labelled_by_the_classifier_and_by_the_gt(hand_made_gt):
    # windows [0, 0.5] (frequency 0.75) and [0.65, 0.85] (0.25); the classifier is right on v1 only
    windows = fit_windows(np.array([[0.25, 0.5]] * 3 + [[0.75, 0.2]]))
    videos = {"v1": VideoLabels(10.0, 0, 0), "v2": VideoLabels(20.0, 1, 2), "v3": VideoLabels(4.0, 2, 1)}
    got = reference_metrics({v: [] for v in videos}, videos, CLASSES, hand_made_gt, CONFIG, windows)
    # video labels: a's AP 1 (v1's [0, 5] ranks first), b and c only get windows of other videos: 0
    assert [got[f"prior_{k}_video_labels"] for k in MAP_KEYS] == pytest.approx([1 / 3] * 4)
    # GT labels: a and b found by the frequent window (AP 1); c only by the rare one, ranked second (AP 0.5)
    assert [got[f"prior_{k}_gt_labels"] for k in MAP_KEYS] == pytest.approx([2.5 / 3] * 4)
    assert got["prior_n_windows"] == 2
    assert np.array(got["prior_windows"]) == pytest.approx(np.array([[0.0, 0.5, 0.75], [0.65, 0.85, 0.25]]))
    # the GT-label entries, once known, are reused as given (they do not depend on the model)
    reused = reference_metrics({v: [] for v in videos}, videos, CLASSES, hand_made_gt, CONFIG, windows,
                               prior_gt={"prior_average_mAP_gt_labels": 0.123})
    assert reused["prior_average_mAP_gt_labels"] == 0.123


# ---------------------------------------------------------------- the run a checkpoint belongs to

def _run_folder(tmp_path, config, name="run"):
    """A run folder as training leaves it, as far as testing reads it: config.yaml and a checkpoint index."""
    from aher.config import save_config

    folder = tmp_path / name
    (folder / "checkpoints").mkdir(parents=True)
    save_config(config, folder / "config.yaml")
    return folder


def test_a_runs_saved_config_loads_and_names_no_difference(project_root, tmp_path):
    config = load_config(project_root / "configs" / "k600_synthetic_tiny.yaml", ["train.iterations=7"])
    folder = _run_folder(tmp_path, config)
    assert "_source" in (folder / "config.yaml").read_text()
    loaded = load_run_config(folder / "config.yaml", ["eval.label_space=untrimmed"])
    assert loaded.train.iterations == 7 and loaded.eval_label_space == "untrimmed"
    assert loaded.source == str(project_root / "configs" / "k600_synthetic_tiny.yaml")
    assert not run_differences(loaded, folder / "config.yaml")
    # where the data lives (synthetic data.root) and how long it trained are not what it is
    moved = config.with_overrides("data.root=/elsewhere", "train.iterations=9")
    assert not run_differences(moved, folder / "config.yaml")
    # how it is scored is not what it is, but its metrics.json means its own scoring
    rescored = run_differences(config.with_overrides("inference.scoring=paper", "eval.tiou_thresholds=0.3:0.7:0.1",
                                                     "eval.snapshots=[5]"), folder / "config.yaml")
    assert rescored.dataset == rescored.model == ()
    assert rescored.scoring == ("eval.tiou_thresholds '0.3:0.7:0.1' (run: '0.5:0.95:0.05')",
                                "inference.scoring 'paper' (run: 'upstream')")
    # the same thresholds and mode written another way are the same scoring
    same = config.with_overrides("eval.tiou_thresholds=0.5:0.05:0.95", f"inference.mode={config.inference_mode}")
    assert not run_differences(same, folder / "config.yaml")


def test_a_run_written_before_a_key_existed_takes_the_default(project_root, tmp_path):
    config = load_config(project_root / "configs" / "k600_synthetic_tiny.yaml")
    folder = _run_folder(tmp_path, config)
    saved = yaml.safe_load((folder / "config.yaml").read_text())
    del saved["inference"]["box_clip"]
    (folder / "config.yaml").write_text(yaml.safe_dump(saved))
    loaded = load_run_config(folder / "config.yaml")
    assert loaded.inference.box_clip == "upstream" and loaded.model == config.model
    assert not run_differences(loaded, folder / "config.yaml")


def test_differences_name_setting_dataset_method_and_model(project_root, tmp_path):
    run_config = load_config(project_root / "configs" / "k600_synthetic_tiny.yaml")
    folder = _run_folder(tmp_path, run_config)
    other = load_config(project_root / "configs" / "anet_split_synthetic_tiny.yaml")
    diff = run_differences(other, folder / "config.yaml")
    assert diff.dataset == ("setting 'anet_split' (run: 'k600')",) and diff.model == ()
    diff = run_differences(run_config.with_overrides("data.seed=3", "data.scale=small", "model.conv1_width=8",
                                                     "train.method=oracle"), folder / "config.yaml")
    assert diff.dataset == ("data.scale 'small' (run: 'tiny')", "data.seed 3 (run: 0)")
    assert diff.model == ("train.method 'oracle' (run: 'algorithm1')", "model.conv1_width 8 (run: 32)")
    real = _run_folder(tmp_path, run_config.with_overrides("data.source=real", "data.dataset_dir=data/a"), "real")
    same = run_config.with_overrides("data.source=real", f"data.dataset_dir={project_root / 'data' / 'a'}")
    assert not run_differences(same, real / "config.yaml")
    moved = run_config.with_overrides("data.source=real", "data.dataset_dir=data/b")
    assert [d.split()[0] for d in run_differences(moved, real / "config.yaml").dataset] == ["data.dataset_dir"]
    long = run_differences(run_config.with_overrides("model.anchor_widths=[8, 8, 8, 8, 8, 8, 8, 8, 8, 8]"),
                           folder / "config.yaml").model
    assert long == ("model.anchor_widths [8, 8, 8, 8, 8, 8, 8, 8, 8, 8] (run: [16, 16, 16, 16, 16, 16])",)


def test_metrics_go_only_into_the_checkpoints_own_run_with_its_own_config(project_root, tmp_path):
    config = load_config(project_root / "configs" / "k600_synthetic_tiny.yaml")
    folder = _run_folder(tmp_path, config)
    ckpt = folder / "checkpoints" / "model.ckpt-5"
    check_output_folder(config, ckpt, folder)                         # its own run, its own config
    check_output_folder(config, folder / "checkpoints", folder)
    check_output_folder(config.with_overrides("eval.label_space=untrimmed"), ckpt, folder / "eval_untrimmed")
    check_output_folder(config.with_overrides("data.seed=4"), ckpt, tmp_path / "elsewhere")
    with pytest.raises(UserError, match=r"holds the scores of the run as configured in .*config.yaml; .* "
                                        r"data.seed 4 \(run: 0\)"):
        check_output_folder(config.with_overrides("data.seed=4"), ckpt, folder)
    # another scoring of the same model: not in the run folder, nor in a folder inside it
    rescored = config.with_overrides("inference.keep_top_k=5")
    for inside in (folder, folder / "eval_untrimmed"):
        with pytest.raises(UserError, match=r"differs from it in inference.keep_top_k 5 \(run: 100\).*--out DIR"):
            check_output_folder(rescored, ckpt, inside)
    check_output_folder(rescored, ckpt, tmp_path / "rescored")
    other = _run_folder(tmp_path, config, "other")
    with pytest.raises(UserError, match="is the folder of another run"):
        check_output_folder(config, ckpt, other)


def test_a_full_disk_while_writing_metrics_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text('{"average_mAP": 0.1227}')

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(UserError) as info:
        write_output(target, {"average_mAP": 0.5})
    message = str(info.value)
    assert message.startswith(f"{target}: cannot write: no space left on the device") and "\n" not in message
    assert target.read_text() == '{"average_mAP": 0.1227}' and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
