"""Config files: YAML with inheritance, and ``--set key=value`` overrides (the one parser of both).

Contract: ``load_yaml_config(path, overrides)`` returns the merged plain nested dict.  A config file may name
a parent with ``base: other.yaml`` (relative to its own folder); the parent is loaded first
and the child's keys are merged over it recursively, so a setting's file states only what
differs from ``configs/defaults.yaml``.  Overrides use dotted keys (``train.iterations=50``),
values parsed as YAML (``true``, ``1e-4``, ``[1, 2]``).  Unknown keys are errors (a typo must
not silently train the wrong model): every key must exist in the defaults chain.
Limits: no types or ranges here; ``aher.config.sections`` (AherNet), the SAL config and the
synthetic generator's knobs validate the merged mapping with ``aher.config.schema``.
"""

import copy
import re
from pathlib import Path

import yaml

from aher.errors import ConfigError
from evaluation.cli_common import write_text_atomic


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float (YAML 1.1 wants ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."))


def _yaml_load(text):
    return yaml.load(text, Loader=_Loader)


def _read_yaml(path):
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        with open(path) as fh:
            data = _yaml_load(fh) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys, not {type(data).__name__}")
    return data


def merge(base, update, source="", prefix="", strict=True):
    """Recursively merge ``update`` over a copy of ``base``.

    With ``strict`` every key of ``update`` must exist in ``base`` (``source`` names the file
    in the error).  A mapping merges into a non-empty mapping key by key; an empty mapping in
    ``base`` is free-form and is replaced whole, as is any other value.
    """
    out = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if strict and key not in out:
            raise ConfigError(f"{source}: unknown config key '{dotted}'")
        if isinstance(value, dict) and isinstance(out.get(key), dict) and out[key]:
            out[key] = merge(out[key], value, source, dotted + ".", strict)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_chain(path, seen):
    path = Path(path).resolve()
    if path in seen:
        raise ConfigError(f"{path}: 'base' chain loops back to this file")
    data = _read_yaml(path)
    parent = data.pop("base", None)
    if parent is None:
        return data
    parent_path = (path.parent / parent)
    base = _load_chain(parent_path, seen | {path})
    return merge(base, data, source=str(path))


def parse_override(text):
    """``"a.b=1e-4"`` -> (["a", "b"], 1e-4)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not KEY=VALUE (e.g. train.iterations=100)")
    key, raw = text.split("=", 1)
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise ConfigError(f"override '{text}' has an empty key")
    try:
        value = _yaml_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return keys, value


def apply_override(config, keys, value, text=""):
    """Set ``config[k1][k2]... = value``; every key on the path must already exist."""
    node = config
    for depth, key in enumerate(keys):
        if not isinstance(node, dict) or key not in node:
            path = ".".join(keys[: depth + 1])
            raise ConfigError(f"override '{text or '.'.join(keys)}': unknown config key '{path}'")
        if depth == len(keys) - 1:
            node[key] = value
        else:
            node = node[key]
    return config


def load_yaml_config(path, overrides=()):
    """Load ``path`` (with its ``base`` chain) and apply ``overrides`` (``["k.k=v", ...]``)."""
    config = _load_chain(path, frozenset())
    for text in overrides:
        keys, value = parse_override(text)
        apply_override(config, keys, value, text)
    config.setdefault("_source", str(Path(path)))
    return config


def flatten(mapping, prefix=""):
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (dotted keys, as ``--set`` names them)."""
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def as_mapping(config):
    """The plain mapping of a typed config (anything with ``to_dict``) or of a mapping itself."""
    return config.to_dict() if hasattr(config, "to_dict") else config


def save_config(config, path):
    """Write the resolved config (a :class:`~aher.config.sections.Config` or a mapping) as YAML."""
    text = yaml.safe_dump(as_mapping(config), sort_keys=False, default_flow_style=None)
    write_text_atomic(path, text)
