"""The manifest of a synthetic dataset folder (``dataset.yaml``) and the request it records.

``FILES`` are the folder's files: the manifest plus the dataset files of
:mod:`aher.data.dataset_files`.  A request is what decides the bytes: generator version,
setting, scale, seed, resolved config and layout inputs (``make_request``); its SHA-256
(``request_hash``) is stored in the manifest, so an identical existing folder is recognised
and reused.  :func:`same_request_older_version` says whether a folder made by an older
``GENERATOR_VERSION`` was the same request (it is then regenerated, not refused).
:func:`canonical_command` is the command line recorded in the manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from aher.data.dataset_files import FILES as DATASET_FILES
from aher.data.synthetic.knobs import KNOBS
from aher.data.synthetic.settings import GENERATOR_VERSION

FILES = {"manifest": "dataset.yaml", **DATASET_FILES}

#: knobs whose default changed: key -> (generator version that changed it, previous default).
#: A folder of an older version made with the previous default (not set by ``--set``) counts as
#: the same request, so it is regenerated rather than refused.
DEFAULT_CHANGES = {"action_shared": (4, 0.3)}


def read_manifest(folder) -> dict | None:
    """The manifest of ``folder`` (None when it is missing or not a YAML mapping)."""
    path = Path(folder) / FILES["manifest"]
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def make_request(setting: str, scale: str, seed: int, cfg: dict, layout_info: dict) -> dict:
    return {"generator_version": GENERATOR_VERSION, "setting": setting, "scale": scale, "seed": int(seed),
            "config": cfg, "layouts": layout_info}


def request_hash(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def same_request_older_version(old: dict, request: dict) -> bool:
    """Whether ``old`` (a manifest) was made by another generator version from the same request.

    Knobs a newer version added are absent from an older manifest's config and are ignored;
    knobs whose default a newer version changed (``DEFAULT_CHANGES``) match when the old
    folder used the old default and the request uses the new one; files a newer version added
    may be missing (so completeness is not required)."""
    if old.get("generator_version") == request["generator_version"]:
        return False
    if any(old.get(k) != request[k] for k in ("setting", "scale", "seed", "layouts")):
        return False
    old_cfg = old.get("config")
    if not isinstance(old_cfg, dict):
        return False
    version = old.get("generator_version")
    command = str(old.get("command", ""))
    return all(_same_knob(key, value, request["config"], version, command) for key, value in old_cfg.items())


def _same_knob(key: str, old_value, cfg: dict, version, command: str) -> bool:
    if cfg.get(key) == old_value:
        return True
    change = DEFAULT_CHANGES.get(key)
    return (change is not None and isinstance(version, int) and version < change[0] and old_value == change[1]
            and cfg.get(key) == KNOBS[key][0] and f"--set {key}=" not in command)


def canonical_command(setting, scale, seed, layout_args=(), overrides=()) -> str:
    """The command line that makes this dataset (without ``--out``, which does not change it)."""
    parts = ["python -m aher.data.synthesize", f"--setting {setting}", f"--scale {scale}", f"--seed {seed}"]
    parts += [f"--layout {a}" for a in layout_args]
    parts += [f"--set {o}" if isinstance(o, str) else f"--set {o[0]}={o[1]}" for o in overrides]
    return " ".join(parts)
