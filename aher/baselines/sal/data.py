"""Weakly-labelled data for SAL: video-level multi-hot labels, T-step sampling, train/val/test split.

Contract
--------
``WeakData(config)`` (a validated :class:`aher.baselines.sal.config.SALExperimentConfig`) resolves
the config's dataset (``aher.datasets.open_dataset``; with ``data.layouts`` the synthetic
benchmark is built from real annotation files first), checks what only the data can tell (feature
dimension of the stores, a GT entry and known labels for every video, a non-empty training
split) and holds:

* ``classes`` -- the class list ``data.classes`` (``untrimmed`` or ``moment``) of the dataset;
* ``splits`` -- ``{"train", "val", "test"}`` -> list of :class:`WeakVideo`.  The videos of
  ``data.train_store`` are split by :func:`split_of`, a seeded hash of the video id (``sha256``
  of ``"<data.split_seed>:<id>"`` read as a number u in [0, 1): ``test`` when
  u < ``test_fraction``, ``val`` when u < ``test_fraction + val_fraction``, else ``train``), so a
  video's split never depends on the other videos or on the store order.  With
  ``data.test_store`` set, every video of that store is a test video and only val is carved
  out of the training store (``test_fraction`` unused).
* ``labels`` of a video -- the multi-hot vector of *all* its instance labels (video-level weak
  labels; boundaries are never used for training).  Training videos without a labelled instance
  are dropped (logged); test/val videos keep them (they only add false positives).
* ``features(video, rng=None)`` -- ``[T, D]`` float32 rows of the store, sampled to
  T = ``data.temporal_length`` by sal_paper_vs_code §2.4: with ``rng`` the training "random perturb", without it the
  test "uniform" sampling; both are the identity when the store already holds T rows (the
  project's stores are resized to a fixed length, so this is the common case).  ``seconds`` of a
  video = the span its N rows cover (``Video.covered_seconds``); with the uniform sampling the
  T steps cover the same span, which is what post-processing converts back with.
* ``batches(batch_size, seed, start)`` -- the training stream from iteration ``start``: epochs of
  a seeded permutation (``default_rng([seed, epoch])``), ``ceil(n / B)`` iterations per epoch,
  last partial batch kept (upstream), sampling RNG seeded per iteration, so a resumed run sees
  exactly the batches of an uninterrupted one.
* ``write_gt(split, path)`` -- the split's ground truth in the official schema (subset
  ``validation``) for ``evaluation``.
Limits: features are read video by video from HDF5 (no tf.data; batches are tiny); the ANet
variant's test rule "T = min(N, 50)" without upsampling is not implemented (our stores hold
≥ 50 rows); no GT boundaries reach the training stream.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aher.errors import UserError
from aher.data.annotations import write_activitynet_gt
from aher.data.features import FeatureStore
from aher.datasets import open_dataset
from aher.paths import PROJECT_ROOT

SPLITS = ("train", "val", "test")


class SALDataError(UserError):
    """The dataset does not fit the SAL data section (feature dimension, labels, videos)."""


@dataclass
class WeakVideo:
    video_id: str
    store: str                 # dataset file key of its feature store
    labels: np.ndarray         # [C] float32 multi-hot
    seconds: float             # span covered by the store's rows
    video: object              # aher.data.annotations.Video (for the GT file only)


# ----------------------------------------------------------------------------- split and sampling


def split_of(video_id, seed=0, val_fraction=0.2, test_fraction=0.25):
    """``train`` / ``val`` / ``test`` from a seeded hash of the id (see the module docstring)."""
    digest = hashlib.sha256(f"{seed}:{video_id}".encode("utf-8")).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0 ** 64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def random_perturb_indices(n, length, rng):
    """sal_paper_vs_code §2.4 training sampling of ``length`` row indices out of ``n`` (identity when n == length).

    Bin i spans b_i = i n / length; for i < length - 1 a uniform integer in
    [floor(b_i), floor(b_{i+1})] (both ends) when they differ, else floor(b_i); the last bin
    draws in [floor(b_{T-1}), n - 1].  Short videos are upsampled by repeated indices.
    """
    if n == length:
        return np.arange(n)
    i = np.arange(length + 1, dtype=np.int64)
    edges = (i * n) // length                                  # floor(i n / T), exact
    lo, hi = edges[:-1], edges[1:].copy()
    hi[-1] = n - 1                                             # last bin: up to the last row
    return np.where(lo != hi, rng.integers(lo, hi + 1), lo)


def uniform_indices(n, length):
    """sal_paper_vs_code §2.4 test sampling: index i -> floor(i n / T)."""
    return (np.arange(length, dtype=np.int64) * n) // length


# ----------------------------------------------------------------------------- the data


def resolve(config, log=print, progress=True, needed=()):
    """``open_dataset`` of the ``data`` section, plus ``data.layouts`` (real annotation files as synthetic layouts)."""
    data = config.data
    if data.layouts and data.source == "synthetic":
        from aher.data.synthetic import build_dataset

        root = Path(data.root) if Path(data.root).is_absolute() else PROJECT_ROOT / data.root
        built = build_dataset(config.setting, data.scale, root, seed=data.seed, overrides=data.synthetic_overrides,
                              layouts=data.layouts, progress=progress, log=log)
        data = dataclasses.replace(data, source="real", dataset_dir=str(built.path))
    return open_dataset(config.setting, data.source, data.root, data.scale, data.seed, data.synthetic_overrides,
                        data.dataset_dir, config.model.feature_dim, origin=config.source or "config", needed=needed,
                        log=log, progress=progress)


class WeakData:
    def __init__(self, config, log=print, progress=True):
        data = config.data
        self.length = data.temporal_length
        self.train_store = data.train_store
        self.test_store = data.test_store
        class_file = f"classes_{data.classes}"
        stores = [self.train_store] + ([self.test_store] if self.test_store else [])
        self.dataset = resolve(config, log=log, progress=progress, needed=("gt", class_file, *stores))
        self.classes = self.dataset.classes[data.classes]
        index = {name: c for c, name in enumerate(self.classes)}
        annotations = {v.video_id: v for v in self.dataset.videos}
        self._stores = {key: FeatureStore(self.dataset.path(key)) for key in stores}
        dim = config.model.feature_dim
        for key, store in self._stores.items():
            if store.dim != dim:
                self.close()
                raise SALDataError(f"{store.path}: features are {store.dim}-d but model.feature_dim is {dim}")

        self.splits = {name: [] for name in SPLITS}
        dropped = 0
        for key in stores:
            for vid in self._stores[key].ids():
                video = annotations.get(vid)
                if video is None:
                    raise SALDataError(f"{self.dataset.path(key)}: video {vid!r} has no entry in "
                                       f"{self.dataset.path('gt')}")
                labels = np.zeros(len(self.classes), np.float32)
                for name in video.labels:
                    if name not in index:
                        raise SALDataError(f"{self.dataset.path('gt')}: video {vid!r} has label {name!r}, "
                                           f"not in {self.dataset.path(class_file)}")
                    labels[index[name]] = 1.0
                split = "test" if key == self.test_store else split_of(vid, data.split_seed, data.val_fraction,
                                                                        data.held_out_test_fraction)
                if split == "train" and not labels.any():
                    dropped += 1
                    continue
                self.splits[split].append(WeakVideo(vid, key, labels, float(video.covered_seconds), video))
        if dropped:
            log(f"note: {dropped} training videos without a labelled instance are not used")
        if not self.splits["train"]:
            raise SALDataError(f"no training videos in {self.dataset.path(self.train_store)} after the split")

    def summary(self):
        counts = ", ".join(f"{name} {len(self.splits[name])}" for name in SPLITS)
        return f"{len(self.classes)} classes; videos: {counts}; T = {self.length}"

    # -- features
    def features(self, video: WeakVideo, rng=None):
        rows = self._stores[video.store].get(video.video_id)
        idx = random_perturb_indices(len(rows), self.length, rng) if rng is not None else uniform_indices(
            len(rows), self.length)
        return rows[idx]

    def iterations_per_epoch(self, batch_size):
        return -(-len(self.splits["train"]) // batch_size)

    def batches(self, batch_size, seed, start=0):
        """Yield ``(features [B, T, D], labels [B, C], ids)`` from iteration ``start`` on, forever."""
        videos = self.splits["train"]
        per_epoch = self.iterations_per_epoch(batch_size)
        it = start
        while True:
            epoch, pos = divmod(it, per_epoch)
            order = np.random.default_rng([seed, epoch]).permutation(len(videos))
            chosen = [videos[i] for i in order[pos * batch_size:(pos + 1) * batch_size]]
            rng = np.random.default_rng([seed, 1, it])
            yield (np.stack([self.features(v, rng) for v in chosen]), np.stack([v.labels for v in chosen]),
                   [v.video_id for v in chosen])
            it += 1

    # -- ground truth
    def write_gt(self, split, path):
        """The split's GT in the official schema (subset ``validation``); returns ``path``."""
        videos = [dataclasses.replace(v.video, subset="validation") for v in self.splits[split]]
        write_activitynet_gt(videos, Path(path))
        return Path(path)

    def close(self):
        for store in self._stores.values():
            store.close()
        self._stores = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
