"""Experiment configs: YAML files with ``base:`` inheritance and ``--set`` overrides, validated once.

``load_config(path, overrides)`` -> :class:`~aher.config.sections.Config` (typed, frozen; every
bad key or value is a one-line :class:`~aher.errors.ConfigError` before any data or graph work).
``load_yaml_config`` gives the merged mapping for configs of other schemas (SAL).
"""

from aher.config.loader import apply_override, as_mapping, load_yaml_config, merge, parse_override, save_config
from aher.config.sections import Config, build_config
from aher.errors import ConfigError

__all__ = ["Config", "ConfigError", "apply_override", "as_mapping", "build_config", "load_config", "load_yaml_config", "merge",
           "parse_override", "save_config"]


def load_config(path, overrides=()):
    """Load ``path`` (with its ``base`` chain), apply ``overrides`` and validate: a :class:`Config`."""
    return build_config(load_yaml_config(path, overrides))
