"""The SAL config: every shipped file resolves, bad values are one-line errors naming the key (also through
``python -m aher.baselines.sal``, before TensorFlow and before a run folder), the standalone defaults of the
graph's records equal ``configs/sal_defaults.yaml``, and the training loop's batch feed resumes in step."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from aher.baselines.sal.config import LossWeights, SALExperimentConfig, load_sal_config
from aher.config import ConfigError, save_config

SAL_CONFIGS = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "configs").glob("sal_*.yaml"))

BAD = [
    (["train.select_on=foo"], "train.select_on: 'foo' is not allowed; allowed: one of val, test"),
    (["model.streams=bogus"], "model.streams: 'bogus' is not allowed; allowed: one of split, duplicate, single"),
    (["data.val_fraction=0.9", "data.test_fraction=0.5"], "data: val_fraction 0.9 + test_fraction 0.5 is not allowed"),
    (["train.iterations=-5"], "train.iterations: -5 is not allowed; allowed: >= 1"),
    (["train.batch_size=abc"], "train.batch_size: 'abc' is not an integer"),
]

MORE_BAD = [
    (["data.val_fraction=1.0"], "data.val_fraction: 1.0 is not allowed; allowed: >= 0 and < 1"),
    (["data.classes=all"], "data.classes: 'all' is not allowed; allowed: one of untrimmed, moment"),
    (["data.train_store=moments"], "data.train_store: 'moments' is not allowed"),
    (["data.test_store=foo"], "data.test_store: 'foo' is not allowed; allowed: null or one of"),
    (["data.test_store=untrimmed_train"], "data: test_store 'untrimmed_train' is train_store"),
    (["data.temporal_length=0"], "data.temporal_length: 0 is not allowed; allowed: >= 1"),
    (["model.init=xavier"], "model.init: 'xavier' is not allowed; allowed: one of torch, glorot"),
    (["model.streams=split", "model.stream_split=128"], "model: stream_split 128 is not allowed with streams: split"),
    (["model.dropout=1"], "model.dropout: 1 is not allowed; allowed: >= 0 and < 1"),
    (["mil.select_by=mean"], "mil.select_by: 'mean' is not allowed; allowed: one of combined, cas"),
    (["mil.combined_weights=[1, 2]"], "mil.combined_weights: [1, 2] is not a list of 3 values"),
    (["aal.actionness_topk_fraction=0"], "aal.actionness_topk_fraction: 0 is not allowed; allowed: > 0 and <= 1"),
    (["loss.background=-1"], "loss.background: -1 is not allowed; allowed: >= 0"),
    (["train.eval_every=0"], "train.eval_every: 0 is not allowed; allowed: >= 1"),
    (["train.learning_rate=0"], "train.learning_rate: 0 is not allowed; allowed: > 0"),
    (["inference.beta=2"], "inference.beta: 2 is not allowed; allowed: >= 0 and <= 1"),
    (["postprocess.act_thresholds=[]"], "postprocess.act_thresholds: [] is not allowed"),
    (["postprocess.oic_gamma=.nan"], "postprocess.oic_gamma: nan is not allowed; allowed: a finite number"),
    (["postprocess.keep_top_k=0"], "postprocess.keep_top_k: 0 is not allowed; allowed: >= 1"),
    (["eval.tiou_thresholds=0.5:0.1"], "eval.tiou_thresholds: '0.5:0.1' is not allowed; allowed: START:STOP:STEP"),
    (["setting=thumos"], "setting: 'thumos' is not allowed; allowed: one of k600, anet_split, th14_anet"),
    (["model.nope=1"], "override 'model.nope=1': unknown config key 'model.nope'"),
]


@pytest.mark.parametrize("name", SAL_CONFIGS)
def test_every_shipped_sal_config_resolves_and_round_trips(project_root, tmp_path, name):
    config = load_sal_config(project_root / "configs" / name)
    assert isinstance(config, SALExperimentConfig) and config.train.iterations >= 1
    save_config(config, tmp_path / "config.yaml")
    assert yaml.safe_load((tmp_path / "config.yaml").read_text()) == config.to_dict()
    assert load_sal_config(tmp_path / "config.yaml") == config


@pytest.mark.parametrize("overrides, message", BAD + MORE_BAD)
def test_bad_value_is_one_line_naming_key_value_and_what_is_allowed(project_root, overrides, message):
    with pytest.raises(ConfigError) as err:
        load_sal_config(project_root / "configs" / "sal_thumos_synthetic.yaml", overrides)
    text = str(err.value)
    assert text.startswith(message) and "\n" not in text


def test_cross_key_rules_follow_the_other_keys(project_root):
    config = load_sal_config(project_root / "configs" / "sal_anet_split_synthetic.yaml")
    # with a test store the test fraction is not carved out of the training store
    assert config.with_overrides("data.val_fraction=0.9", "data.test_fraction=0.5").data.held_out_test_fraction == 0
    assert config.with_overrides("model.streams=single", "model.stream_split=500").model.stream_split == 500
    with pytest.raises(ConfigError, match="dataset_dir is null"):
        config.with_overrides("data.source=real")


@pytest.mark.parametrize("overrides, message", BAD)
def test_command_line_rejects_bad_values_before_tensorflow_and_the_run_folder(project_root, tmp_path, overrides,
                                                                            message):
    code = ("import sys, runpy; sys.argv = ['aher.baselines.sal'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('aher.baselines.sal', run_name='__main__', alter_sys=True)\n"
            "finally:\n    assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n")
    out = tmp_path / "run"
    sets = [a for o in overrides for a in ("--set", o)]
    proc = subprocess.run([sys.executable, "-c", code, "train", "--config", "configs/sal_thumos_synthetic.yaml",
                           *sets, "--out", str(out), "--quiet"], cwd=project_root, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), proc.stderr
    assert not out.exists()


def test_standalone_defaults_equal_the_defaults_file(project_root):
    """The records the graph and post-processing use alone default to configs/sal_defaults.yaml's values."""
    from aher.baselines.sal.model import SALConfig
    from aher.model.snippet_grouping import SALPostprocessConfig

    config = load_sal_config(project_root / "configs" / "sal_defaults.yaml")
    assert config.loss == LossWeights()
    assert SALConfig.from_config(config, 7) == SALConfig(feature_dim=config.model.feature_dim, num_classes=7)
    assert config.postprocess.resolved() == SALPostprocessConfig()


def test_batch_feed_starts_at_the_first_iteration_asked_for():
    from aher.baselines.sal.train import BatchFeed

    class Data:
        def __init__(self):
            self.starts = []

        def batches(self, batch_size, seed, start):
            self.starts.append(start)
            it = start
            while True:
                yield np.full((batch_size, 1, 1), it), np.full((batch_size, 1), seed), []
                it += 1

    class Graph:
        features, labels = "features", "labels"

    data = Data()
    feed = BatchFeed(data, Graph(), batch_size=2, seed=3)
    assert [int(feed(it)["features"][0, 0, 0]) for it in (10, 11, 12)] == [10, 11, 12]
    assert int(feed(4)["features"][0, 0, 0]) == 4 and feed(5)["labels"][0, 0] == 3
    assert data.starts == [10, 4]
