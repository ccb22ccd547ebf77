"""Run folders: refusing to overwrite, config checks on resume, NaN guard."""

import pytest

from aher.train.checkpoints import checkpoint_iteration
from aher.train.run_dir import NanGuard, RunDir, TrainingError


def test_config_snapshot_and_resume_rules(tmp_path):
    cfg = {"train": {"iterations": 10, "learning_rate": 0.1}}
    run = RunDir(tmp_path / "r", cfg)
    run.log("hello")
    run.close()
    assert (tmp_path / "r" / "config.yaml").is_file() and "hello" in (tmp_path / "r" / "train.log").read_text()
    (tmp_path / "r" / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-5"\n')
    (tmp_path / "r" / "checkpoints" / "model.ckpt-5.index").write_text("")
    with pytest.raises(TrainingError, match="already holds checkpoints"):
        RunDir(tmp_path / "r", cfg)
    RunDir(tmp_path / "r", {"train": {"iterations": 20, "learning_rate": 0.1}}, resume=True).close()
    with pytest.raises(TrainingError, match="differs from this run's config in train.learning_rate"):
        RunDir(tmp_path / "r", {"train": {"iterations": 20, "learning_rate": 0.5}}, resume=True)


def test_nan_guard_names_the_loss():
    guard = NanGuard()
    guard.check({"a": 1.0, "b": 2}, 3)
    with pytest.raises(TrainingError, match="loss 'S3/overlap' is nan at iteration 7 in S3"):
        guard.check({"S3/overlap": float("nan")}, 7, "S3")
    with pytest.raises(TrainingError, match="is inf"):
        guard.check({"x": float("inf")}, 1)


def test_checkpoint_iteration():
    assert checkpoint_iteration("/a/b/model.ckpt-1200") == 1200
    assert checkpoint_iteration("/a/b/model.ckpt") == -1
