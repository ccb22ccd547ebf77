"""Fixed class-agnostic windows learned from training GT statistics: a trivial localizer.

A reference that separates localization from classification: the same ``N`` windows (relative
to the video's duration) are placed on every evaluation video, ranked by how often their shape
occurs in training, and labelled by some video-level label (the run's video classifier, or the
GT).  A model whose mAP does not beat these windows with the same labels localizes no better than
a fixed prior.

Contract:

* ``relative_instances(videos)`` -> float64 ``[n, 2]``: ``(relative centre, relative length)`` of
  every GT instance of ``videos`` (``aher.data.annotations.Video``), its segment first clipped to
  ``[0, duration]``; instances of zero length after clipping and videos of duration <= 0 are
  skipped.
* ``fit_windows(points, n_windows=16)`` -> :class:`PriorWindows`, deterministic: k-means (Lloyd)
  in the ``(centre, length)`` plane with ``k = min(n_windows, number of distinct points)``,
  initialised with the distinct points at evenly spaced ranks of the (length, centre) order
  (rank ``floor((i + 0.5) * d / k)`` of ``d`` distinct points), iterated until the assignment no
  longer changes (at most 300 times; distance ties go to the lower cluster index).  A window is a
  cluster's mean ``(centre, length)``, turned into ``[centre - length / 2, centre + length / 2]``
  clipped to ``[0, 1]``; its ``score`` is its frequency (members / points).  Clusters left
  empty are dropped.  Windows are sorted by score descending, ties by start then end.
  No points -> zero windows.
* ``place(windows, duration, label)`` -> the windows on one video as ``(start_s, end_s, score,
  label)`` tuples (``aher.model.postprocess.Detection`` order), in window order.
* ``training_videos(dataset)`` -> the GT videos (``gt.json``) of the dataset's untrimmed
  training set (the ids of ``untrimmed_train.h5``): the annotated untrimmed training videos every
  method of the paper may use (all of them, whatever ``data.annotation_fraction`` says; the
  moment set has no untrimmed annotations).
Limits: numpy only (``training_videos`` reads the store's id list with h5py); no per-class
windows; the windows ignore the video's content by construction.
"""

from dataclasses import dataclass

import numpy as np

DEFAULT_WINDOWS = 16
MAX_ITERATIONS = 300


@dataclass(frozen=True)
class PriorWindows:
    """``start``, ``end`` (fractions of the duration) and ``score`` (frequency), float64 ``[N]``."""

    start: np.ndarray
    end: np.ndarray
    score: np.ndarray

    def __len__(self):
        return int(self.start.size)

    def as_rows(self):
        """``[[start, end, score], ...]`` as Python floats (JSON-ready)."""
        return [[float(s), float(e), float(p)] for s, e, p in zip(self.start, self.end, self.score)]


def relative_instances(videos):
    rows = []
    for video in videos:
        duration = float(video.duration)
        if not duration > 0:
            continue
        for inst in video.instances:
            start = min(max(float(inst.start), 0.0), duration)
            end = min(max(float(inst.end), 0.0), duration)
            if end > start:
                rows.append(((start + end) / 2 / duration, (end - start) / duration))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def _initial_centres(points, k):
    distinct = np.unique(points, axis=0)                        # sorted by centre, then length
    distinct = distinct[np.lexsort((distinct[:, 0], distinct[:, 1]))]   # by length, then centre
    ranks = np.floor((np.arange(k) + 0.5) * len(distinct) / k).astype(int)
    return distinct[ranks]


def fit_windows(points, n_windows=DEFAULT_WINDOWS):
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if n_windows < 1:
        raise ValueError(f"n_windows must be at least 1, not {n_windows}")
    if not len(points):
        empty = np.zeros(0)
        return PriorWindows(empty, empty.copy(), empty.copy())
    k = min(int(n_windows), len(np.unique(points, axis=0)))
    centres = _initial_centres(points, k)
    assign = None
    for _ in range(MAX_ITERATIONS):
        dist = (points[:, :1] - centres[:, 0]) ** 2 + (points[:, 1:] - centres[:, 1]) ** 2     # [n, k]
        new = np.argmin(dist, axis=1)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        counts = np.bincount(assign, minlength=k)
        filled = counts > 0
        for d in range(2):
            centres[filled, d] = np.bincount(assign, weights=points[:, d], minlength=k)[filled] / counts[filled]
    counts = np.bincount(assign, minlength=k)
    keep = counts > 0
    centre, length = centres[keep, 0], centres[keep, 1]
    start = np.clip(centre - length / 2, 0.0, 1.0)
    end = np.clip(centre + length / 2, 0.0, 1.0)
    score = counts[keep] / len(points)
    order = np.lexsort((end, start, -score))
    return PriorWindows(start[order], end[order], score[order])


def place(windows, duration, label):
    duration = float(duration)
    return [(float(s) * duration, float(e) * duration, float(p), int(label))
            for s, e, p in zip(windows.start, windows.end, windows.score)]


def training_videos(dataset):
    from aher.data.features import FeatureStore

    with FeatureStore(dataset.path("untrimmed_train")) as store:
        ids = set(store.ids())
    return [v for v in dataset.videos if v.video_id in ids]
