"""aher.inference: which label space and inference mode a config is tested with."""

import pytest

from aher.cli import UserError
from aher.config import load_config
from aher.inference import EVAL_FILES, eval_label_space, inference_mode


def _config(project_root, *overrides):
    return load_config(project_root / "configs" / "anet_split_synthetic_tiny.yaml", list(overrides))


@pytest.mark.parametrize("method, space, mode", [
    ("algorithm1", "moment", "transfer"), ("oracle", "moment", "transfer"), ("no_adversary", "moment", "transfer"),
    ("moments_only", "moment", "transfer"), ("minus", "moment", "no_transfer"), ("zero", "moment", "snippet"),
    ("pretrain", "untrimmed", "transfer"), ("oracle_untrimmed", "untrimmed", "transfer"),
])
def test_auto_label_space_and_mode_follow_the_method(project_root, method, space, mode):
    config = _config(project_root, f"train.method={method}")
    assert eval_label_space(config) == space and inference_mode(config) == mode


def test_explicit_label_space_wins_and_names_its_files(project_root):
    config = _config(project_root, "eval.label_space=untrimmed")
    assert eval_label_space(config) == "untrimmed"
    assert EVAL_FILES["untrimmed"] == ("eval_untrimmed", "gt_untrimmed") and EVAL_FILES["moment"] == ("eval", "gt")
    with pytest.raises(UserError, match="eval.label_space must be auto or one of moment, untrimmed"):
        eval_label_space(_config(project_root, "eval.label_space=both"))
