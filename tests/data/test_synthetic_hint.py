"""The message for an existing synthetic dataset of another request names only ways out that exist
where the user is: the generator command (which has --force) and, from a training config, another
data.root (the training scripts have no --force)."""

import re
import shlex

import pytest

from aher.config import load_config
from aher.data.synthetic import build_dataset
from aher.data.synthetic.cli import main as synthesize_main
from aher.datasets import resolve_dataset
from aher.errors import UserError
from aher.paths import PROJECT_ROOT

QUIET = {"progress": False, "log": lambda *a: None}


def test_a_changed_seed_names_the_generator_command_and_another_data_root(tmp_path):
    overrides = ["length_untrimmed=128", "length_moment=64"]
    build_dataset("k600", "tiny", tmp_path, overrides=overrides, **QUIET)
    config = load_config(PROJECT_ROOT / "configs" / "k600_synthetic_tiny.yaml", [f"data.root={tmp_path}", "data.seed=1"])
    with pytest.raises(UserError) as info:
        resolve_dataset(config, **QUIET)
    message = str(info.value)
    assert "\n" not in message and "was made from a different request (made by: " in message
    assert "--set data.root=OTHER_FOLDER" in message
    command = re.search(r"run `([^`]*)`", message).group(1)
    assert command == (f"python -m aher.data.synthesize --setting k600 --scale tiny --seed 1 "
                       f"--set length_untrimmed=128 --set length_moment=64 --out {tmp_path} --force")
    # the only --force named is the generator's, and that command does replace the dataset
    assert message.count("--force") == 1
    assert synthesize_main(shlex.split(command)[3:] + ["--no-progress"]) == 0
    assert resolve_dataset(config, **QUIET).root == tmp_path / "k600_tiny"
