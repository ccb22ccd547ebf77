"""Resolve a config's ``data`` section to the files of one dataset.

Contract: ``resolve_dataset(config)`` returns a :class:`Dataset` with the paths of the stores,
the GT file and the two class lists.  ``data.source: synthetic`` builds (or reuses, when an
identical one exists) ``<data.root>/<setting>_<data.scale>`` with the synthetic benchmark;
``data.source: real`` uses ``data.dataset_dir``, a folder with the same layout prepared from
real features (README, "Real data"), and fails with one line naming the first missing file.
Limits: reads no features; the input pipelines do that.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from aher.cli import UserError
from aher.data.annotations import read_activitynet_json, read_class_list
from aher.paths import PROJECT_ROOT

FILES = {
    "gt": "gt.json",
    "classes_untrimmed": "classes_untrimmed.txt",
    "classes_moment": "classes_moment.txt",
    "untrimmed_train": "untrimmed_train.h5",
    "foreground_train": "foreground_train.h5",
    "moments_train": "moments_train.h5",
    "eval": "eval.h5",
    "oracle_train": "oracle_train.h5",
    "gt_untrimmed": "gt_untrimmed.json",
    "eval_untrimmed": "eval_untrimmed.h5",
}
#: files a dataset may lack: evaluation videos of the untrimmed-set classes (the paper's text
#: compares AherNet with AherNet* on them); only ``eval.label_space: untrimmed`` needs them
OPTIONAL = ("gt_untrimmed", "eval_untrimmed")
REQUIRED = tuple(key for key in FILES if key not in OPTIONAL)

HOW_TO_PREPARE = ("import features with `python -m aher.data.import_features` and cut segment stores with "
                  "aher.data.moments (README, 'Real data')")


class DatasetError(UserError):
    """The dataset a config names is missing or inconsistent."""


@dataclass
class Dataset:
    root: Path
    setting: str
    files: dict = field(default_factory=dict)

    def path(self, key):
        return self.files[key]

    @cached_property
    def videos(self):
        """Every GT video (all subsets), as :class:`aher.data.annotations.Video` records."""
        return read_activitynet_json(self.files["gt"])

    @cached_property
    def untrimmed_eval_videos(self):
        """The GT videos of ``gt_untrimmed.json`` (evaluation videos of the untrimmed-set classes)."""
        return read_activitynet_json(self.files["gt_untrimmed"])

    @cached_property
    def classes(self):
        return {"untrimmed": read_class_list(self.files["classes_untrimmed"]),
                "moment": read_class_list(self.files["classes_moment"])}

    def feature_dim(self, key="eval"):
        from aher.data.features import FeatureStore

        with FeatureStore(self.files[key]) as store:
            return store.dim


def _resolve_root(value):
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def resolve_dataset(config, needed=REQUIRED, log=print, progress=True):
    """Return the :class:`Dataset` of ``config`` (building a synthetic one if needed)."""
    data = config["data"]
    setting = config["setting"]
    source = data.get("source", "synthetic")
    if source == "synthetic":
        from aher.data.synthetic import build_dataset

        result = build_dataset(setting, data["scale"], _resolve_root(data["root"]), seed=int(data.get("seed", 0)),
                               overrides=tuple(data.get("synthetic_overrides") or ()), progress=progress, log=log)
        root = Path(result.path)
    elif source == "real":
        if not data.get("dataset_dir"):
            raise DatasetError(f"{config.get('_source', 'config')}: data.dataset_dir is not set for data.source: real")
        root = _resolve_root(data["dataset_dir"])
    else:
        raise DatasetError(f"data.source must be 'synthetic' or 'real', not {source!r}")
    files = {key: root / name for key, name in FILES.items()}
    for key in needed:
        if not files[key].is_file():
            raise DatasetError(f"{files[key]}: missing ({key.replace('_', ' ')} of setting {setting}); {HOW_TO_PREPARE}")
    dataset = Dataset(root=root, setting=setting, files=files)
    expected_dim = int(config["model"]["feature_dim"])
    store = next((key for key in ("eval", "eval_untrimmed") if key in needed), None)
    if store is not None:
        dim = dataset.feature_dim(store)
        if dim != expected_dim:
            raise DatasetError(f"{files[store]}: features are {dim}-d but model.feature_dim is {expected_dim}")
    return dataset
