"""Test-time post-processing: decoded anchors -> scored, labelled detections -> result JSON.

paper_vs_code §4.3 (decoding), paper_vs_code §9.2-9.4 (selection, NMS, labels and scores, output JSON) and
paper_vs_code §11.1 item 7 (paper vs. upstream scoring).  Numpy only, one video at a time; every step is
vectorised except the greedy NMS, which loops once per *kept* box.

Contract (``detect``), for one video with ``N_anc`` anchors in (layer, cell, anchor) order and
``N_cell`` cells in (layer, cell) order (``docs/model_contract.md``):

1. decode every anchor with ``box_coder.decode_np`` and convert with ``box_coder.to_seconds_np``
   (clip by ``config.box_clip``, scale by ``duration / T``):

   * ``"upstream"`` (released code, paper_vs_code §4.3): ``start = max(start, 0)``, ``end = min(end, T)``.  A
     box lying entirely outside the window stays inverted (``end < start``) with a positive
     absolute length, so it takes part in NMS like any box: outside boxes that overlap by more
     than ``nms_threshold`` suppress each other, and each one kept takes a ``keep_top_k`` slot
     before step 5 drops it;
   * ``"both"``: both ends clipped to ``[0, T]``.  An outside box becomes zero-length; it never
     suppresses and is never suppressed, so *each* such box takes a ``keep_top_k`` slot and is
     dropped in step 5 (fewer detections than upstream when near-duplicate outside boxes rank
     among the first ``keep_top_k``).

   The two modes agree on every box that reaches into the window;
2. ranking score = the overlap head ``y_ov`` (class-agnostic, upstream ``cls_flag=False``);
   keep the ``select_top_k`` best (765 = all anchors at T=512).  Upstream's selection threshold
   is 0.0 with ``>=``, a no-op on sigmoid outputs, so it is not a setting here: ``overlap``
   must lie in [0, 1] (``ValueError`` otherwise);
3. class-agnostic hard NMS on the seconds boxes (:func:`nms_1d`), IoU > ``nms_threshold``
   suppresses, at most ``keep_top_k`` boxes kept;
4. label and final score, by ``config.scoring``:

   * ``"upstream"`` (released code, paper_vs_code §9.3): ``p̄`` = mean of ``cell_probs`` over *all* cells;
     one label per video ``ĉ = argmax p̄``; score ``y_ov · p̄[ĉ]``;
   * ``"paper"`` (paper, paper_vs_code §11.1 item 7): for anchor ``i`` the probabilities ``p`` of its own
     cell ``i // A`` (``A`` anchors per cell); label ``argmax p``; score ``max(p) · y_ov``;

   argmax ties go to the lowest class index (``numpy.argmax``);
5. keep a detection only if ``score > 0`` and ``end - start > 0`` (seconds), as upstream does
   to drop its zero padding; this also drops every box outside the window (inverted under
   ``"upstream"``, zero-length under ``"both"``), so every kept detection lies in
   ``[0, duration]``.  Sort by score descending (stable: equal scores keep NMS order).

Returns :class:`Detection` tuples ``(start_s, end_s, score, class_index)`` of Python scalars.

:func:`results_dict` / :func:`results_json` build and write the ActivityNet result schema
(paper_vs_code §9.4) that ``evaluation.ANETdetection`` / ``ANETproposal`` read.

Limits and documented choices:
  * NMS ties: equal ranking scores are visited in input order (earlier index first), which is
    what ``tf.image.non_max_suppression`` and ``tf.nn.top_k`` do; IoU is computed in float64
    where upstream used float32, so boxes whose IoU lies within float32 rounding of the
    threshold may be treated differently;
  * as in TF's image NMS, a box is first normalised to ``(min, max)`` of its two ends (so an
    inverted box has a positive length and suppresses / is suppressed like any other), and a
    box of zero length has IoU 0 with everything (it never suppresses and is never
    suppressed).  Outside boxes only overlap each other: they lie beyond ``0`` or ``T`` while
    every box that reaches into the window is clipped into ``[0, T]``;
  * ``cell_probs`` are taken as given (normally per-cell softmax outputs); rows are not
    checked to sum to 1, only to be finite.  With scores that are products of probabilities
    and ``y_ov``, a detection can be dropped by ``score > 0`` only through exact zeros;
  * scores and segments are written unrounded (``json`` float repr); upstream printed them by
    hand with limited precision;
  * no per-class NMS, no soft-NMS, no batch dimension;
  * importing this module imports TensorFlow (through ``aher.model.box_coder``), although only
    the numpy twins are used.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from aher.model.anchors import flat_anchors
from aher.model.box_coder import CLIP_MODES, decode_np, to_seconds_np
from evaluation.cli_common import write_text_atomic

SCORING_MODES = ("upstream", "paper")
RESULT_VERSION = "VERSION 1.3"


@dataclass(frozen=True)
class PostprocessConfig:
    """Test-time settings (paper_vs_code §9.2 flags).

    scoring: ``"upstream"`` (one label per video, ``y_ov · p̄[ĉ]``) or ``"paper"`` (per-proposal
      label, ``max(p) · y_ov``).
    nms_threshold: IoU strictly above it suppresses, in [0, 1].
    keep_top_k: at most this many detections per video after NMS (>= 1).
    select_top_k: candidates entering NMS, ranked by ``y_ov`` (>= 1; larger than the number of
      anchors means all).
    prior_scaling: box-coder scaling the offsets were trained with (upstream 0.1, paper 1.0).
    box_clip: ``"upstream"`` (start clipped below at 0, end above at T; boxes outside the window
      stay inverted and take part in NMS) or ``"both"`` (both ends clipped to ``[0, T]``; boxes
      outside become zero-length and each takes a ``keep_top_k`` slot).  See the module
      docstring, step 1.
    """

    scoring: str = "upstream"
    nms_threshold: float = 0.9
    keep_top_k: int = 100
    select_top_k: int = 765
    prior_scaling: tuple = (0.1, 0.1)
    box_clip: str = "upstream"

    def __post_init__(self):
        if self.scoring not in SCORING_MODES:
            raise ValueError(f"scoring must be one of {SCORING_MODES}, not {self.scoring!r}")
        if not isinstance(self.box_clip, str) or self.box_clip not in CLIP_MODES:
            raise ValueError(f"box_clip must be one of {CLIP_MODES}, not {self.box_clip!r}")
        if not _is_real(self.nms_threshold) or not 0.0 <= float(self.nms_threshold) <= 1.0:
            raise ValueError(f"nms_threshold must be a number in [0, 1], not {self.nms_threshold!r}")
        for name in ("keep_top_k", "select_top_k"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, not {value!r}")


class Detection(NamedTuple):
    """One detection of one video: seconds, final score, class index into the label space."""

    start: float
    end: float
    score: float
    label: int


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def nms_1d(starts, ends, scores, iou_threshold, max_out) -> np.ndarray:
    """Greedy hard non-maximum suppression of 1-D segments.

    Boxes are visited by descending score; equal scores are visited in input order (earlier
    index first).  A visited box is kept unless it was suppressed; keeping it suppresses every
    later box whose temporal IoU with it is strictly greater than ``iou_threshold``.  Stops
    after ``max_out`` kept boxes.  As in ``tf.image.non_max_suppression``, each box is first
    normalised to ``(min, max)`` of its two ends, so an inverted box (``end < start``) has a
    positive length and suppresses / is suppressed like any other; a zero-length box has IoU 0
    with every box.

    Args:
      starts, ends, scores: 1-D arrays of equal length ``n`` (finite numbers).
      iou_threshold: number in [0, 1].
      max_out: integer >= 0.
    Returns:
      int64 ``[n_kept]`` indices into the inputs, in visiting order (descending score).
    Raises:
      ValueError: mismatched shapes, non-finite values or bad threshold / max_out.
    """
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if starts.ndim != 1 or starts.shape != ends.shape or starts.shape != scores.shape:
        raise ValueError(f"nms_1d needs three 1-D arrays of one length, "
                         f"got {starts.shape}, {ends.shape}, {scores.shape}")
    if not (np.isfinite(starts).all() and np.isfinite(ends).all() and np.isfinite(scores).all()):
        raise ValueError("nms_1d inputs must be finite")
    if not _is_real(iou_threshold) or not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold must be a number in [0, 1], not {iou_threshold!r}")
    if not _is_int(max_out) or max_out < 0:
        raise ValueError(f"max_out must be an integer >= 0, not {max_out!r}")

    order = np.argsort(-scores, kind="stable")
    lo = np.minimum(starts, ends)[order]
    hi = np.maximum(starts, ends)[order]
    length = hi - lo
    alive = np.ones(order.size, dtype=bool)      # switched off when suppressed
    kept = []
    i = 0
    n = order.size
    while i < n and len(kept) < max_out:
        kept.append(i)
        rest = slice(i + 1, n)
        inter = np.maximum(np.minimum(hi[i], hi[rest]) - np.maximum(lo[i], lo[rest]), 0.0)
        union = length[i] + length[rest] - inter
        valid = (length[i] > 0) & (length[rest] > 0)
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=valid)
        alive[rest] &= ~(iou > iou_threshold)
        following = np.flatnonzero(alive[rest])
        i = i + 1 + int(following[0]) if following.size else n
    return order[np.asarray(kept, dtype=np.int64)]


def _anchor_counts(anchor_layers, temporal_length):
    """Flat anchors, anchor count and anchors per cell; checks the layers against ``T``."""
    centers, widths = flat_anchors(anchor_layers)
    n_anc = int(np.size(centers))
    n_cell = int(sum(layer.length for layer in anchor_layers))
    if n_cell == 0 or n_anc % n_cell:
        raise ValueError(f"{n_anc} anchors do not split evenly over {n_cell} cells")
    if not _is_real(temporal_length) or any(abs(layer.length * layer.step - temporal_length) > 1e-9
                                            for layer in anchor_layers):
        raise ValueError(f"anchor layers were not built for temporal_length={temporal_length!r}")
    return centers, widths, n_anc, n_cell


def _head_arrays(offsets, overlap, cell_probs, n_anc, n_cell):
    """The three head outputs as float64 arrays, checked for shape and range."""
    offsets = np.asarray(offsets, dtype=np.float64)
    overlap = np.asarray(overlap, dtype=np.float64)
    cell_probs = np.asarray(cell_probs, dtype=np.float64)
    if offsets.shape != (n_anc, 2):
        raise ValueError(f"offsets must have shape ({n_anc}, 2), got {offsets.shape}")
    if overlap.shape != (n_anc,):
        raise ValueError(f"overlap must have shape ({n_anc},), got {overlap.shape}")
    if cell_probs.ndim != 2 or cell_probs.shape[0] != n_cell or cell_probs.shape[1] < 1:
        raise ValueError(f"cell_probs must have shape ({n_cell}, K>=1), got {cell_probs.shape}")
    if not (np.isfinite(offsets).all() and np.isfinite(cell_probs).all()):
        raise ValueError("offsets and cell_probs must be finite")
    if not (np.isfinite(overlap).all() and (overlap >= 0).all() and (overlap <= 1).all()):
        raise ValueError("overlap must be sigmoid outputs in [0, 1]")
    return offsets, overlap, cell_probs


def _decode_seconds(offsets, centers, widths, n_anc, temporal_length, duration, config):
    """Step 1: decode every anchor (grid units, unclipped) and convert to clipped seconds."""
    start_g, end_g = decode_np(offsets, centers, widths, tuple(config.prior_scaling))
    start_s, end_s = to_seconds_np(start_g, end_g, temporal_length, duration, clip=config.box_clip)
    start_s = np.asarray(start_s, dtype=np.float64).reshape(n_anc)
    end_s = np.asarray(end_s, dtype=np.float64).reshape(n_anc)
    return start_s, end_s


def _select_and_nms(start_s, end_s, overlap, config):
    """Steps 2-3: select by ``y_ov`` (stable, like ``tf.nn.top_k``), then class-agnostic NMS."""
    selected = np.argsort(-overlap, kind="stable")[:config.select_top_k]
    return selected[nms_1d(start_s[selected], end_s[selected], overlap[selected],
                           float(config.nms_threshold), config.keep_top_k)]


def _labels_and_scores(kept, overlap, cell_probs, per_cell, scoring):
    """Step 4: class indices and final scores of the kept anchors."""
    if scoring == "upstream":
        mean_probs = cell_probs.mean(axis=0)
        video_label = int(np.argmax(mean_probs))
        labels = np.full(kept.size, video_label, dtype=np.int64)
        scores = overlap[kept] * mean_probs[video_label]
    else:
        probs = cell_probs[kept // per_cell]
        labels = np.argmax(probs, axis=1).astype(np.int64)
        scores = probs[np.arange(kept.size), labels] * overlap[kept]
    return labels, scores


def _final_detections(kept, labels, scores, start_s, end_s) -> list[Detection]:
    """Step 5: drop empty / zero-score boxes, sort by final score."""
    ok = (scores > 0) & (end_s[kept] - start_s[kept] > 0)
    kept, labels, scores = kept[ok], labels[ok], scores[ok]
    order = np.argsort(-scores, kind="stable")
    return [Detection(float(start_s[a]), float(end_s[a]), float(s), int(c))
            for a, s, c in zip(kept[order], scores[order], labels[order])]


def detect(offsets, overlap, cell_probs, anchor_layers, temporal_length, duration,
           config: PostprocessConfig = PostprocessConfig()) -> list[Detection]:
    """Detections of one video (module docstring, steps 1-5).

    Args:
      offsets: ``[N_anc, 2]`` raw offset-head outputs ``(Δc, Δw)`` in (layer, cell, anchor) order.
      overlap: ``[N_anc]`` overlap-head sigmoid ``y_ov`` in [0, 1].
      cell_probs: ``[N_cell, K]`` per-cell class probabilities in (layer, cell) order.
      anchor_layers: the ``aher.model.anchors.anchor_layers(T)`` list the heads were built on.
      temporal_length: ``T`` (grid length of the network input).
      duration: the video's ``duration_second`` (> 0).
      config: :class:`PostprocessConfig`.
    Returns:
      list of :class:`Detection` ``(start_s, end_s, score, class_index)``, at most
      ``config.keep_top_k``, sorted by score descending.
    Raises:
      ValueError: shapes or ``temporal_length`` inconsistent with ``anchor_layers``, non-finite
      inputs, overlap outside [0, 1], non-positive duration.
    """
    if not isinstance(config, PostprocessConfig):
        raise ValueError(f"config must be a PostprocessConfig, not {type(config).__name__}")
    centers, widths, n_anc, n_cell = _anchor_counts(anchor_layers, temporal_length)
    offsets, overlap, cell_probs = _head_arrays(offsets, overlap, cell_probs, n_anc, n_cell)
    if not _is_real(duration) or duration <= 0:
        raise ValueError(f"duration must be a finite number > 0, not {duration!r}")

    start_s, end_s = _decode_seconds(offsets, centers, widths, n_anc, temporal_length, duration, config)
    kept = _select_and_nms(start_s, end_s, overlap, config)
    labels, scores = _labels_and_scores(kept, overlap, cell_probs, n_anc // n_cell, config.scoring)
    return _final_detections(kept, labels, scores, start_s, end_s)


def results_dict(detections_per_video, class_names, version=RESULT_VERSION, keep_top_k=100) -> dict:
    """ActivityNet result dict (paper_vs_code §9.4) from ``{video_id: [(start_s, end_s, score, class_index), ...]}``.

    Every video of ``detections_per_video`` gets a key, possibly with an empty list, in the
    dict's order.  Each list is sorted by score descending (stable) and cut to ``keep_top_k``
    entries; rows are ``{"score", "segment": [start, end], "label": class_names[class_index]}``.
    Raises ``ValueError`` for a class index outside ``class_names`` or a non-finite number.
    """
    if not _is_int(keep_top_k) or keep_top_k < 0:
        raise ValueError(f"keep_top_k must be an integer >= 0, not {keep_top_k!r}")
    class_names = list(class_names)
    results = {}
    for video_id, detections in detections_per_video.items():
        rows = [tuple(d) for d in detections]
        rows.sort(key=lambda row: -float(row[2]))
        entries = []
        for start, end, score, label in rows[:keep_top_k]:
            if not _is_int(label) or not 0 <= label < len(class_names):
                raise ValueError(f"video {video_id!r}: class index {label!r} outside 0..{len(class_names) - 1}")
            start, end, score = float(start), float(end), float(score)
            if not (math.isfinite(start) and math.isfinite(end) and math.isfinite(score)):
                raise ValueError(f"video {video_id!r}: non-finite detection {(start, end, score)}")
            entries.append({"score": score, "segment": [start, end], "label": str(class_names[label])})
        results[str(video_id)] = entries
    return {"version": version, "results": results, "external_data": {}}


def results_json(detections_per_video, class_names, path, version=RESULT_VERSION, keep_top_k=100) -> None:
    """Write :func:`results_dict` to ``path`` atomically (:func:`evaluation.cli_common.write_text_atomic`).

    Parent folders are created.  Invalid detections (``ValueError``) and a failed write
    (``OutputError``, one line naming ``path``) leave any previous file untouched.
    """
    data = results_dict(detections_per_video, class_names, version=version, keep_top_k=keep_top_k)
    write_text_atomic(path, json.dumps(data, allow_nan=False))
