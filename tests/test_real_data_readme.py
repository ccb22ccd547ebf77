"""The README's "Real data" commands, run as written on small fake inputs; the class counts of the configs.

The commands are read from the README's "Real data" section; the input files it names are replaced
by fake ones of the same kind (``tests/data/fake_real_data.py``), the output folders by temporary
ones.  Training also gets ``--set`` flags that make it a few iterations on 32-d features.
"""

import json
import math
import re
import shlex
import subprocess
import sys

import pytest

from aher.config import load_config
from aher.config.sections import NumClasses
from aher.data.annotations import read_class_list
from aher.errors import ConfigError
from aher.paths import shared_dir
from tests.data.fake_real_data import write_fake_inputs

DIM = 32


def real_data_section(project_root):
    text = (project_root / "README.md").read_text()
    start = text.index("\n## Real data\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def readme_commands(project_root):
    """The shell commands of the section's first bash block (continuation lines joined), as tokens."""
    block = re.search(r"```bash\n(.*?)```", real_data_section(project_root), re.S).group(1)
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def substituted(tokens, paths, tmp_path):
    names = {".venv/bin/python": sys.executable,
             "activity_net.v1-3.min.json": paths["anet"], "kinetics600_clips.json": paths["clips"],
             "k600_val_annotation.txt": paths["k600"], "k600_category.txt": paths["category"],
             "FEATURES/": paths["features"], "data/real/k600": tmp_path / "k600",
             "runs/k600_real_small": tmp_path / "run"}
    return [str(names.get(token, token)) for token in tokens]


def run(args, project_root, timeout=900):
    out = subprocess.run(args, cwd=project_root, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture
def commands(project_root, tmp_path):
    paths = write_fake_inputs(tmp_path / "inputs", dim=DIM)
    prepare, train = readme_commands(project_root)
    assert prepare[1:3] == ["-m", "aher.data.prepare"] and train[1] == "aher_k600_train.py"
    return substituted(prepare, paths, tmp_path), substituted(train, paths, tmp_path)


def test_readme_prepare_command_builds_a_folder_the_trainer_opens(commands, project_root, tmp_path):
    from aher.datasets import REQUIRED, resolve_dataset

    prepare, train = commands
    printed = run(prepare, project_root).stdout
    assert "eval.h5 4" in printed and "left out:" in printed
    config_path = train[train.index("--config") + 1]
    config = load_config(project_root / config_path, [f"data.dataset_dir={tmp_path / 'k600'}",
                                                      f"model.feature_dim={DIM}"])
    assert config.data.source == "real"
    assert load_config(project_root / config_path).data.dataset_dir == "data/real/k600"   # the README's --out
    dataset = resolve_dataset(config, needed=REQUIRED)
    assert {k: len(v) for k, v in dataset.classes.items()} == {"untrimmed": 200, "moment": 3}


def _finite_numbers(value):
    if isinstance(value, dict):
        return all(_finite_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_numbers(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.isfinite(value)
    return True


@pytest.mark.slow
def test_readme_commands_prepare_train_and_test(commands, project_root, tmp_path):
    prepare, train = commands
    run(prepare, project_root)
    run(train + ["--set", f"data.dataset_dir={tmp_path / 'k600'}", "--set", f"model.feature_dim={DIM}",
                 "--set", "train.iterations=2", "--set", "train.snapshot_every=2", "--set", "train.batch_size=4",
                 "--quiet"], project_root)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("mAP@0.5", "average_mAP", "AR@100", "AUC", "video_accuracy"):
        assert math.isfinite(metrics[key]), key
    assert _finite_numbers(metrics)


def test_num_classes_that_disagrees_with_a_class_list_is_one_line_error():
    counts = {"untrimmed": 200, "moment": 3}
    assert NumClasses(untrimmed=200).check(counts) == counts
    assert NumClasses().check(counts) == counts
    with pytest.raises(ConfigError) as err:
        NumClasses(untrimmed=200, moment=600).check(counts, "configs/k600_paper.yaml",
                                                   {"moment": "data/real/k600/classes_moment.txt"})
    assert str(err.value) == ("configs/k600_paper.yaml: model.num_classes.moment is 600 but "
                              "data/real/k600/classes_moment.txt lists 3 classes; set it to 3, or to null to take "
                              "the count from the list")


def test_paper_configs_state_the_lengths_of_the_readme_class_lists(project_root):
    """``model.num_classes`` of each paper config = the lengths of the README's lists (``k600_category.txt``
    of the authors' release is read from ../shared when present)."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| `([^`]+)` \| `([^`]+)` \|$", real_data_section(project_root), re.M)
    assert [row[0] for row in rows] == ["k600", "anet_split", "th14_anet"]
    for setting, untrimmed, moment in rows:
        given = load_config(project_root / "configs" / f"{setting}_paper.yaml").model.num_classes
        for space, name in (("untrimmed", untrimmed), ("moment", moment)):
            path = project_root / name if name.startswith("data/meta/") else shared_dir() / "data" / "ahernet" / name
            if path.is_file():
                assert getattr(given, space) == len(read_class_list(path)), (setting, space)
        small = load_config(project_root / "configs" / f"{setting}_real_small.yaml")
        assert small.data.source == "real" and small.data.dataset_dir == f"data/real/{setting}"
        assert (small.model.num_classes.untrimmed, small.model.num_classes.moment) == (None, None)
