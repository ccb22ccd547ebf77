"""Config loading: inheritance, overrides, unknown keys, every shipped config resolves."""

import pytest
import yaml

from aher.config import Config, ConfigError, load_config, load_yaml_config, save_config


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def test_inheritance_and_overrides(tmp_path):
    write(tmp_path / "base.yaml", {"a": 1, "train": {"lr": 0.1, "steps": [1, 2]}, "free": {}})
    child = write(tmp_path / "child.yaml", {"base": "base.yaml", "train": {"lr": 0.5}, "free": {"x": 3}})
    cfg = load_yaml_config(child, ["train.steps=[3, 4]", "a=2e-3"])
    assert cfg["train"] == {"lr": 0.5, "steps": [3, 4]}
    assert cfg["a"] == 0.002 and cfg["free"] == {"x": 3}


def test_unknown_keys_are_errors(tmp_path):
    write(tmp_path / "base.yaml", {"train": {"lr": 0.1}})
    child = write(tmp_path / "child.yaml", {"base": "base.yaml", "train": {"lrr": 0.5}})
    with pytest.raises(ConfigError, match="unknown config key 'train.lrr'"):
        load_yaml_config(child)
    with pytest.raises(ConfigError, match="unknown config key 'train.nope'"):
        load_yaml_config(tmp_path / "base.yaml", ["train.nope=1"])
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        load_yaml_config(tmp_path / "base.yaml", ["train.lr"])


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_yaml_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml_config(tmp_path / "bad.yaml")
    loop = write(tmp_path / "loop.yaml", {"base": "loop.yaml"})
    with pytest.raises(ConfigError, match="loops back"):
        load_yaml_config(loop)


def test_snapshot_round_trip(tmp_path):
    cfg = load_config("configs/synthetic_tiny.yaml")
    save_config(cfg, tmp_path / "c.yaml")
    assert yaml.safe_load((tmp_path / "c.yaml").read_text()) == cfg.to_dict()


@pytest.mark.parametrize("name", sorted(p.name for p in __import__("pathlib").Path("configs").glob("*.yaml")))
def test_every_shipped_config_resolves(project_root, name):
    if name.startswith("sal_"):            # the SAL baseline has its own defaults chain
        assert load_yaml_config(project_root / "configs" / name)["train"]["iterations"] >= 1
        return
    cfg = load_config(project_root / "configs" / name)
    assert isinstance(cfg, Config) and cfg.setting in ("k600", "anet_split", "th14_anet")
