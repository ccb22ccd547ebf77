"""What the sanity report reads from a dataset folder: deterministic samples of its stores.

Large stores are subsampled (at most ``MAX_VIDEOS`` videos, ``MAX_SEGMENTS`` segments, chosen
by a seeded permutation), so the report runs in seconds at every scale.  GT instances are
placed on a store's grid by normalising by the seconds the features cover (from the store
metadata); a step is foreground when its centre lies inside an instance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aher.data.features import FeatureStore

MAX_VIDEOS = 300
MAX_SEGMENTS = 3000


def pick(ids: list[str], limit: int, seed: int) -> list[str]:
    """At most ``limit`` of ``ids`` (a seeded choice, in store order)."""
    if len(ids) <= limit:
        return ids
    keep = np.sort(np.random.default_rng(seed).permutation(len(ids))[:limit])
    return [ids[i] for i in keep]


def segments(path: Path, classes: list[str], seed: int):
    """Time-averaged segment features ``[N, D]`` and class indices ``[N]`` (subsampled)."""
    index = {c: i for i, c in enumerate(classes)}
    with FeatureStore(path) as store:
        ids = pick(store.ids(), MAX_SEGMENTS, seed)
        x = np.stack([store.get(i).mean(0) for i in ids]) if ids else np.zeros((0, store.dim))
        y = np.array([index[store.meta(i)["label"]] for i in ids], dtype=np.int64)
    return x, y


def gt_grid(video, meta: dict, t: int) -> np.ndarray:
    """The GT instances of ``video`` as ``[n, 2]`` (start, end) positions on a ``t``-step grid."""
    cov = meta["feature_frame"] / meta["n_frames"] * meta["duration"]
    return np.array([[min(max(i.start / cov, 0.0), 1.0) * t, min(max(i.end / cov, 0.0), 1.0) * t]
                     for i in video.instances]).reshape(-1, 2)


def fg_mask(grid: np.ndarray, t: int) -> np.ndarray:
    """Foreground steps of a ``t``-step item whose instances are at ``grid`` (:func:`gt_grid`)."""
    centre = np.arange(t) + 0.5
    fg = np.zeros(t, dtype=bool)
    for s, e in grid:
        fg |= (centre >= s) & (centre <= e)
    return fg


def untrimmed_items(path: Path, videos: dict, classes: list[str], seed: int) -> list[dict]:
    """Per sampled video: ``id``, features ``x`` [T, D], foreground mask ``fg`` [T], instance
    positions ``gt`` [n, 2] and the class index ``label`` of its first instance (-1 if none)."""
    index = {c: i for i, c in enumerate(classes)}
    out = []
    with FeatureStore(path) as store:
        for vid in pick(store.ids(), MAX_VIDEOS, seed):
            x = store.get(vid)
            v = videos[vid]
            g = gt_grid(v, store.meta(vid), x.shape[0])
            label = index.get(v.instances[0].label, -1) if v.instances else -1
            out.append({"id": vid, "x": x, "fg": fg_mask(g, x.shape[0]), "gt": g, "label": label})
    return out


def steps(items: list[dict], max_steps: int, seed: int):
    """All steps of ``items`` (at most ``max_steps``, a seeded choice) and their foreground target."""
    x = np.concatenate([it["x"] for it in items])
    y = np.concatenate([it["fg"] for it in items]).astype(np.float64)
    if len(x) > max_steps:
        keep = np.random.default_rng(seed).permutation(len(x))[:max_steps]
        x, y = x[keep], y[keep]
    return x, y
