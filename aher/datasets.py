"""Resolve a config's ``data`` section to the files of one dataset.

Contract: ``resolve_dataset(config)`` returns a :class:`Dataset` with the paths of the stores,
the GT file and the two class lists.  ``data.source: synthetic`` builds (or reuses, when an
identical one exists) ``<data.root>/<setting>_<data.scale>`` with the synthetic benchmark;
``data.source: real`` uses ``data.dataset_dir``, a folder with the same layout prepared from
real features (README, "Real data"), and fails with one line naming the first missing file.
The files of a dataset folder (``FILES``, ``OPTIONAL``, ``REQUIRED``) are those of
:mod:`aher.data.dataset_files`, re-exported here.
Limits: reads no features; the input pipelines do that.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from aher.errors import UserError
from aher.data.annotations import read_activitynet_json, read_class_list
from aher.data.dataset_files import FILES, OPTIONAL, REQUIRED
from aher.data.synthetic import build_dataset
from aher.paths import PROJECT_ROOT

__all__ = ["FILES", "OPTIONAL", "REQUIRED", "Dataset", "DatasetError", "resolve_dataset"]

HOW_TO_PREPARE = ("build the folder with `python -m aher.data.prepare` from the GT file and the feature folder "
                  "(README, 'Real data'; single stores: aher.data.import_features, aher.data.moments)")


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
    """Return the :class:`Dataset` of an AherNet config (building a synthetic one if needed)."""
    data = config.data
    dataset = open_dataset(config.setting, data.source, data.root, data.scale, data.seed, data.synthetic_overrides,
                           data.dataset_dir, config.model.feature_dim, origin=config.source or "config",
                           needed=needed, log=log, progress=progress)
    spaces = [space for space in ("untrimmed", "moment") if f"classes_{space}" in needed]
    config.model.num_classes.check({space: len(read_class_list(dataset.path(f"classes_{space}"))) for space in spaces},
                                   config.source or "config", {space: dataset.path(f"classes_{space}") for space in spaces})
    return dataset


def open_dataset(setting, source, root, scale, seed, overrides, dataset_dir, feature_dim, origin="config",
                 needed=REQUIRED, log=print, progress=True):
    """The :class:`Dataset` of ``setting``: the synthetic one under ``root`` (built on demand) or the
    real one in ``dataset_dir``; every file of ``needed`` must exist, evaluation features ``feature_dim``-d."""
    if source == "synthetic":
        result = build_dataset(setting, scale, _resolve_root(root), seed=seed, overrides=tuple(overrides),
                               progress=progress, log=log)
        folder = Path(result.path)
    else:
        if not dataset_dir:
            raise DatasetError(f"{origin}: data.dataset_dir is not set for data.source: real")
        folder = _resolve_root(dataset_dir)
    files = {key: folder / name for key, name in FILES.items()}
    for key in needed:
        if not files[key].is_file():
            raise DatasetError(f"{files[key]}: missing ({key.replace('_', ' ')} of setting {setting}); {HOW_TO_PREPARE}")
    dataset = Dataset(root=folder, setting=setting, files=files)
    store = next((key for key in ("eval", "eval_untrimmed") if key in needed), None)
    if store is not None:
        dim = dataset.feature_dim(store)
        if dim != feature_dim:
            raise DatasetError(f"{files[store]}: features are {dim}-d but model.feature_dim is {feature_dim}")
    return dataset
