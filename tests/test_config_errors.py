"""Bad config values are one-line errors (exit code 2) from the entry scripts, before any heavy work."""

import subprocess
import sys
import time

import pytest

from aher.config import ConfigError, load_config

BAD = [
    ("train.lr_counter=foo", "train.lr_counter: 'foo' is not allowed; allowed: one of samples, iterations"),
    ("adversarial.g_steps=9", "adversarial.g_steps: 9 is not allowed; allowed: >= 1 and <= 7"),
    ("train.batch_size=abc", "train.batch_size: 'abc' is not an integer"),
    ("loss.cls_cells=everything", "loss.cls_cells: 'everything' is not allowed; allowed: one of all, foreground"),
    ("model.temporal_length=500", "model.temporal_length: 500 is not allowed; allowed: a power of two >= 8"),
    ("train.iterations=-5", "train.iterations: -5 is not allowed; allowed: >= 1"),
]


@pytest.mark.parametrize("override, message", BAD)
def test_bad_value_names_key_value_and_what_is_allowed(project_root, override, message):
    with pytest.raises(ConfigError) as err:
        load_config(project_root / "configs" / "k600_synthetic_tiny.yaml", [override])
    assert str(err.value).startswith(message)


def test_entry_script_rejects_each_bad_value_in_one_line_before_tensorflow(project_root, tmp_path):
    code = ("import sys, runpy; sys.argv = ['aher_k600_train.py'] + sys.argv[1:]\n"
            "try:\n    runpy.run_path('aher_k600_train.py', run_name='__main__')\n"
            "finally:\n    assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n")
    for override, message in BAD:
        out = tmp_path / "run"
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, "--config", "configs/k600_synthetic_tiny.yaml",
                               "--set", override, "--out", str(out)], cwd=project_root, capture_output=True,
                              text=True)
        elapsed = time.perf_counter() - start
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), proc.stderr
        assert not out.exists()                       # no half-made run folder
        assert elapsed < 10, elapsed                  # generous bound for a loaded CI machine


def test_config_round_trips_through_its_snapshot(project_root, tmp_path):
    from aher.config import save_config

    config = load_config(project_root / "configs" / "k600_synthetic_small.yaml", ["train.iterations=7"])
    save_config(config, tmp_path / "config.yaml")
    again = load_config(tmp_path / "config.yaml")
    assert again.train == config.train and again.model == config.model and again.to_dict() == {
        **config.to_dict(), "_source": str(config.source)}


def test_model_level_defaults_equal_the_defaults_file(project_root):
    """The graph modules' own defaults (used when they are called alone) are configs/defaults.yaml's."""
    from aher.config.sections import ContextConfig, LossConfig, ModelConfig

    config = load_config(project_root / "configs" / "defaults.yaml")
    assert config.model == ModelConfig() and config.loss == LossConfig() and config.context == ContextConfig()


def test_methods_registry_covers_every_train_method():
    from aher.config.sections import TrainConfig
    from aher.methods import METHODS

    choices = {f.name: f.metadata["rule"].choices for f in TrainConfig.__dataclass_fields__.values()}["method"]
    assert set(choices) == set(METHODS)
    for m in METHODS.values():
        assert m.trainer in ("algorithm1", "supervised") and m.steps and m.slug and m.label
        assert (m.supervised is not None) == (m.trainer == "supervised")


def test_num_classes_that_disagrees_with_the_class_lists_is_one_line_error(project_root, tmp_path):
    from aher.config import load_config
    from aher.datasets import resolve_dataset
    from aher.errors import ConfigError

    config = load_config(project_root / "configs" / "k600_synthetic_tiny.yaml",
                         [f"data.root={tmp_path}", "model.num_classes.moment=999"])
    with pytest.raises(ConfigError, match=r"model.num_classes.moment is 999 but .*classes_moment.txt lists \d+ classes"):
        resolve_dataset(config, log=lambda *a: None, progress=False)
    fitting = config.with_overrides("model.num_classes.moment=null")
    assert resolve_dataset(fitting, log=lambda *a: None, progress=False).root.is_dir()
