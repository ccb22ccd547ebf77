"""What the checkpoint probes feed the network: sampled moments and videos, GT on the grid, Fig. 4 instances.

Contract
--------
* **Grid.**  GT instances are placed on the ``T``-step grid of the model (paper_vs_code §1.4):
  ``clip(t / covered_seconds, 0, 1) * T`` (:func:`grid_boxes`).
* **Fig. 5 inputs** (:func:`sample_anchor_inputs`, one ``numpy`` generator drives all sampling):

  - *synthetic videos*: ``n_moments`` moments of the moment set (``moments_train``) are each
    planned at **all six moment lengths** ``ratio_id = 14..19`` with a random ``pos_id`` in 1..19,
    three of the six with even and three with odd sample parity (the splice puts odd samples in
    the end block), alternating between moments (:func:`synthetic_plan`), i.e. ``6 * moments``
    synthetic videos;
  - *real videos*: up to ``6 * moments`` annotated training videos of the untrimmed set
    (``untrimmed_train``) with their GT on the grid.
* **Fig. 4 inputs** (:func:`eval_instances`): every GT instance of the evaluation videos (the
  ``eval`` store, annotations from ``gt.json``) whose label is a moment-set class spans the grid
  rows ``floor(start) .. ceil(end)`` of its video (at least 2 rows); :meth:`EvalInstances.batches`
  cuts these rows and resamples them to the moment length ``T / 2`` with the reference resampling
  (paper_vs_code §1.2, as the moment set was made), a few videos at a time.

Errors (no annotated video, features of the wrong shape, no instance with a moment-set label) are
:class:`aher.errors.UserError` naming the store.  Limits: reads feature stores and annotations
only; runs no network (numpy and h5py, no TensorFlow).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from aher.data.features import FeatureStore, resize
from aher.datasets import resolve_dataset
from aher.errors import UserError

RATIO_IDS = tuple(range(14, 20))      # the six moment lengths of the context generator
POS_IDS = (1, 19)                     # pos_id range (inclusive)


def grid_boxes(video, length):
    """GT instances of an annotation record on the ``length``-step grid (paper_vs_code §1.4): [k, 2]."""
    covered = float(video.covered_seconds)
    t = np.array([[i.start, i.end] for i in video.instances], dtype=np.float64).reshape(-1, 2)
    if not covered > 0:
        return np.zeros((0, 2))
    return np.clip(t / covered, 0.0, 1.0) * length


def store_ids(path):
    """The video ids of a feature store, in store order."""
    with FeatureStore(path) as store:
        return store.ids()


def _shape_error(path, vid, shape, expected):
    return UserError(f"{path}: {vid!r} has features of shape {list(shape)}, expected {list(expected)} "
                     f"(model.temporal_length / feature_dim of the config)")


def read_rows(path, ids, shape):
    """Features of ``ids`` from the store at ``path`` -> [len(ids), *shape] float32 (shapes checked)."""
    out = np.empty((len(ids),) + tuple(shape), np.float32)
    with FeatureStore(path) as store:
        for k, vid in enumerate(ids):
            x = store.get(vid)
            if tuple(x.shape) != tuple(shape):
                raise _shape_error(path, vid, x.shape, shape)
            out[k] = x
    return out


# ----------------------------------------------------------------------------------- Fig. 5

def synthetic_plan(n_moments, rng):
    """(moment index, ratio_id, pos_id) per synthetic video, ordered so that sample i has parity
    i % 2 (the splice puts odd samples in the end block): every moment at the six ratio ids, three
    even and three odd, alternating between moments."""
    even, odd = [], []
    for m in range(n_moments):
        for k, ratio in enumerate(RATIO_IDS):
            pos = int(rng.integers(POS_IDS[0], POS_IDS[1] + 1))
            (odd if (m + k) % 2 else even).append((m, ratio, pos))
    plan = []
    for e, o in zip(even, odd):
        plan += [e, o]
    return plan


@dataclasses.dataclass
class AnchorInputs:
    """The videos of the Fig. 5 probe.

    ``moments`` [m, T/2, D] and ``plan`` (:func:`synthetic_plan`) make the synthetic videos;
    ``real_ids`` name rows of the store ``real_store``, ``real_gt`` their GT on the grid ([k, 2] each).
    """

    moments: np.ndarray
    plan: list
    real_store: Path
    real_ids: list
    real_gt: list


def sample_anchor_inputs(dataset, model, n_moments, rng):
    """Sample the moments and the real videos of the Fig. 5 probe (module docstring) -> :class:`AnchorInputs`.

    ``model``: the config's :class:`aher.config.sections.ModelConfig` (shapes); ``rng``: a numpy Generator.
    """
    moment_store = dataset.path("moments_train")
    moment_ids = store_ids(moment_store)
    if not moment_ids:
        raise UserError(f"{moment_store}: no moment")
    pick = np.sort(rng.choice(len(moment_ids), size=min(n_moments, len(moment_ids)), replace=False))
    moments = read_rows(moment_store, [moment_ids[i] for i in pick], (model.moment_length, model.feature_dim))
    plan = synthetic_plan(len(moments), rng)
    by_id = {v.video_id: v for v in dataset.videos}
    real_store = dataset.path("untrimmed_train")
    real_ids = [v for v in store_ids(real_store) if v in by_id and by_id[v].instances]
    if not real_ids:
        raise UserError(f"{real_store}: no annotated video")
    chosen = np.sort(rng.choice(len(real_ids), size=min(len(plan), len(real_ids)), replace=False))
    real_ids = [real_ids[i] for i in chosen]
    real_gt = [grid_boxes(by_id[v], model.temporal_length) for v in real_ids]
    return AnchorInputs(moments=moments, plan=plan, real_store=real_store, real_ids=real_ids, real_gt=real_gt)


# ----------------------------------------------------------------------------------- Fig. 4

@dataclasses.dataclass
class EvalInstances:
    """The Fig. 4 evaluation set: GT instances of the evaluation videos, read lazily.

    ``spans``: one ``(video id, first grid row, end grid row, label index)`` per instance, in store
    order; ``shape``: ``(T, T / 2, D)``.  :meth:`batches` cuts and resamples them, a few videos at a
    time (paper scale: ~9,600 instances of 256 x 2048 would not fit in memory at once).
    """

    store: Path
    spans: list
    classes: list
    shape: tuple

    @property
    def labels(self):
        return np.array([s[3] for s in self.spans], dtype=np.int64)

    def batches(self, size=64):
        """Yield ``features [b, T/2, D] float32`` of consecutive instances (``b <= size``)."""
        pending = []
        for cut in self._cuts():
            pending.append(cut)
            if len(pending) == size:
                yield np.stack(pending)
                pending = []
        if pending:
            yield np.stack(pending)

    def _cuts(self):
        """Each instance's grid rows resampled to ``T / 2`` rows, in span order."""
        total, half, dim = self.shape
        video, x = None, None
        with FeatureStore(self.store) as store:
            for vid, lo, hi, _ in self.spans:
                if vid != video:
                    video, x = vid, store.get(vid)
                    if tuple(x.shape) != (total, dim):
                        raise _shape_error(self.store, vid, x.shape, (total, dim))
                rows = x[lo:hi]
                # one grid step = one "feature" of 8 frames at 8 fps: the paper_vs_code §1.2 resampling of the cut rows
                yield resize(rows, n_frames=8 * len(rows), duration=float(len(rows)), length=half)


def eval_instances(config, log=None):
    """The GT instances of the evaluation videos with a moment-set label (:class:`EvalInstances`).

    ``config``: an :class:`aher.config.Config`.
    """
    dataset = resolve_dataset(config, needed=("gt", "classes_moment", "eval"), log=log or (lambda *a: None),
                              progress=False)
    model = config.model
    classes = dataset.classes["moment"]
    spans = _instance_spans(dataset, model.temporal_length, {c: i for i, c in enumerate(classes)})
    if not spans:
        raise UserError(f"{dataset.path('eval')}: no evaluation instance with a moment-set label")
    return EvalInstances(store=dataset.path("eval"), spans=spans, classes=list(classes),
                         shape=(model.temporal_length, model.moment_length, model.feature_dim))


def _instance_spans(dataset, total, index):
    """``(video id, lo, hi, label index)`` of every eval-store instance whose label is in ``index``."""
    by_id = {v.video_id: v for v in dataset.videos}
    spans = []
    for vid in store_ids(dataset.path("eval")):
        video = by_id.get(vid)
        if video is None:
            continue
        for inst, (gs, ge) in zip(video.instances, grid_boxes(video, total)):
            if inst.label not in index:
                continue
            lo = min(int(np.floor(gs)), total - 2)
            hi = min(max(int(np.ceil(ge)), lo + 2), total)
            spans.append((vid, lo, hi, index[inst.label]))
    return spans
