"""Snippet grouping: per-step class scores -> detections in seconds (SAL's test-time post-processing).

The weakly-supervised baseline SAL (``aher.baselines.sal``) and AherNet^0 (``aher.inference``, snippet
mode) both turn per-step class probabilities into instances this way.  Sources: sal_paper_vs_code §8.1 step 5 to sal_paper_vs_code §8.6 (upstream ``inference_thumos.py`` and its
misc-utils helpers, inherited from ASL / BaS-Net) and sal_paper_vs_code §12 (generic features).  Numpy only, one
video at a time.

Contract
--------
Inputs per video (produced by the SAL model): ``class_probs`` ``[C]``, the video-level softmax
``p = softmax(0.35·z + 0.65·s)`` of sal_paper_vs_code §8.1; ``combined`` ``[T, C]``, the localisation signal
``(softmax_c(CAS) + a_f + a_r) / 3`` of sal_paper_vs_code §8.1 step 1 (values in [0, 1]); ``duration_s``, the length
of the video in seconds, which the ``T`` steps are taken to span uniformly.

1. :func:`predicted_classes` (sal_paper_vs_code §8.1 step 5): classes with ``p_c >= class_threshold``, ascending;
   if there are none, the single ``argmax`` class (ties: lowest index).
2. :func:`upsample_signal` (sal_paper_vs_code §8.2): each predicted column is linearly interpolated ×``upsample``
   (U) at positions ``k·(1/U)``, ``k = 0 .. T·U − 1``; the last ``U − 1`` positions lie beyond
   ``T − 1`` and are linearly *extrapolated* from the last two samples (scipy's
   ``interp1d(..., fill_value="extrapolate")`` on ``np.arange(0, T, 1/U)``, as upstream).
3. :func:`proposals` (sal_paper_vs_code §8.3, sal_paper_vs_code §8.4): for every threshold θ of ``act_thresholds`` (outer loop) and
   every predicted class (inner loop, ascending), the points with value ``>= θ`` are split into
   maximal runs ``[i_s, i_e]`` of length ``L`` (``np.diff`` on the padded boolean mask).  Each run
   scores ``inner − outer + γ·p_c`` with ``inner`` the mean of the upsampled signal over the run,
   ``outer`` its mean over ``[max(0, int(i_s − λL)), i_s) ∪ (i_e, min(n − 1, int(i_e + λL))]``
   (``int`` truncates, ``n = T·U``), or 0 when that region is empty.  Seconds: one upsampled point
   is ``f = duration_s / (T·U)`` s, ``start = i_s·f``, ``end = (i_e + 1)·f``.  Proposals are
   returned in that (threshold, class, time) order, before NMS.
4. :func:`soft_nms` (sal_paper_vs_code §8.5), per class (classes in order of first appearance): sort once by score
   descending; repeatedly take the best remaining candidate and keep it unchanged; every other
   candidate with ``IoU >= nms_threshold`` against it is removed from the candidates and, with
   ``one_pass_decay``, put on a side list with score ``× exp(−IoU² / nms_alpha)``; candidates
   below the threshold stay.  Output per class: kept proposals (visiting order) then the side
   list (decay order).  Nothing is discarded with ``one_pass_decay=True``; with ``False`` the side
   list is dropped (upstream's hard NMS, used only without ``--soft_nms``).  This is a *one-pass*
   decay: a proposal is decayed at most once, by the kept proposal that removed it, and decayed
   proposals are never re-ranked and never suppress anything (unlike iterative Soft-NMS).
5. :func:`detect`: 1-4, then all detections sorted by score descending (stable) and cut to
   ``keep_top_k`` (``None``: no cap, as upstream).
6. :func:`results_dict` (sal_paper_vs_code §8.6): the ActivityNet result schema, built by
   ``aher.model.postprocess.results_dict`` (no cap).

Every detection is a :class:`SALDetection` ``(start_s, end_s, score, class_index)`` of Python
scalars.  THUMOS settings are the config defaults; upstream-ANet (sal_paper_vs_code §10) used
``class_threshold=0.1``, ``nms_threshold=0.7``, ``nms_alpha=0.35``, the rest unchanged.

Time conversion (sal_paper_vs_code §8.4 generalised by sal_paper_vs_code §12 item 4).  Upstream uses
``t_factor = 16·N / (U · 750 · 25)`` s per point, N = the video's number of 16-frame features at
25 fps, i.e. ``(16N/25) / (750·U)``: a video length of N features × 0.64 s spread over the
T = 750 sampled steps.  With ``duration_s = 16N/25`` this is exactly our
``f = duration_s / (T·U)``: the same formula whenever the T steps cover the whole video (at
THUMOS settings the 750 steps are a uniform resampling of all N features).  We pass the real
duration, which also covers the tail frames no whole 16-frame window reached (< 0.64 s, so a
relative stretch of at most 0.64 s / duration), and which works for any feature rate and any T
(features with a window offset, sal_paper_vs_code §12 item 4, would need their own mapping).

Upstream quirks reproduced (each a setting where it is a choice)
-----------------------------------------------------------------
* ``oic_lambda = 0.2``: the OIC helper's own default is 0.25, but the caller passes the config's
  ``gamma`` (0.2) into the λ position; γ keeps the helper default 0.2 (sal_paper_vs_code §8.3; same in ASL).
* ``index0_quirk``: upstream tests the array of above-threshold *indices* for truthiness
  (``.any()``), so a class gets no proposal at a threshold when that set is exactly ``{0}``.
  ``False`` gives that single point its proposal.
* ``act_thresholds`` default to upstream's ``np.arange(0.1, 1.0, 0.1)``, whose third and seventh
  values are 0.30000000000000004 and 0.7000000000000001 (only values *exactly* at 0.3 / 0.7 care).
* Upstream thresholds by "zero every value ``< θ``, then keep values ``> 0``"; for θ > 0 that is
  ``>= θ``, which is what is implemented (a θ <= 0 would differ: ours keeps points equal to 0
  or negative extrapolated values; upstream never keeps them).
* The extrapolated tail may leave [0, 1]; it is thresholded and averaged like the rest.
* Outer bounds truncate with ``int`` (toward zero) after ``i_s − λL`` in float64, exactly like
  the Python expression upstream evaluates.
* Identical runs found at several thresholds are all kept as separate proposals; in the NMS
  their IoU is 1, so the copies survive decayed by ``exp(−1/α)``.
* ``nms_iou_plus_one``: the NMS IoU adds 1 to lengths and to the intersection although the units
  are seconds: ``area = end − start + 1``, ``inter = max(0, min_end − max_start + 1)``.  Side
  effects: short proposals get inflated IoUs, and disjoint proposals less than 1 s apart overlap.
  ``False`` gives the plain IoU.
* ``IoU >= nms_threshold`` decays (not ``>``), ``exp(−IoU²/α)``, a single sort (sal_paper_vs_code §8.5).
* No cap on the number of detections per video (``keep_top_k=None``).

Upstream accidents fixed / deliberate differences
-------------------------------------------------
* The OIC bonus ``γ·p_c`` uses the real probability.  Upstream binarises a NumPy view of the
  probabilities in place; it is a separate copy only because the tensor lives on the GPU, so a
  CPU run of upstream would silently use 0/1 (sal_paper_vs_code §8.3).  Not reproduced.
* Seconds from the true duration (above) instead of the 16-frame / 25-fps constants.
* Arithmetic is float64 throughout; upstream's CAS comes from float32 tensors, so scores differ
  from upstream's at float32 rounding level, and a value within float32 rounding of a threshold
  can fall on the other side.
  The interpolation repeats scipy's float operations (positions ``k·(1/U)``, a sample position
  evaluated on the segment to its *left*, so it can come out one ulp off the sample itself), so
  on float64 input it is bit-identical to upstream's ``interp1d`` call; upstream's float32 CAS
  rounds the slopes in float32.  ``np.arange(0, T, 1/U)`` has exactly ``U·T`` points for every
  U <= 48 and T <= 3000 (checked; U = 24 up to T = 5000), the count used here for every U.
  Run sums use sequential ``np.add.reduceat`` rather than ``np.mean``'s pairwise summation
  (differences of order 1e-15 relative).
* Equal NMS scores: upstream sorts with ``argsort()[::-1]`` (numpy's unstable default sort);
  here the order is a stable ascending sort reversed, i.e. among equal scores the *later*
  proposal is visited first (what upstream gets whenever numpy's sort happens to be stable, e.g.
  for n <= 16).
* :func:`detect` returns detections sorted by score; upstream writes them class by class, kept
  then decayed.  The evaluator sorts by score, so only the placement of exactly equal scores can
  differ.  :func:`soft_nms` itself keeps upstream's order.
* ``class_threshold >= 1``: upstream then predicts no class at all (its second ``> th`` test runs
  on the binarised 0/1 vector) and writes no entry for the video; here the argmax fallback applies.

Limits
------
* ``T >= 1``; for ``T = 1`` the signal is held constant (``interp1d`` cannot extrapolate from a
  single sample; upstream-ANet forces T >= 2).  ``combined`` and ``class_probs`` must be finite;
  their range is not checked (thresholds assume [0, 1]).
* Scores can be negative (``outer > inner``); such detections are kept, as upstream does.
* The detection record, the value validators and the result-JSON writer are AherNet's
  (``aher.model.postprocess``), shared rather than copied; importing them loads TensorFlow.
* The NMS is a Python loop over *kept* proposals (vectorised inside); the proposal stage is a
  Python loop over (threshold, class) pairs only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aher.model.postprocess import Detection, _is_int, _is_real  # shared record and validators
from aher.model.postprocess import results_dict as _anet_results_dict

# Upstream config: np.arange(0.1, 1.0, 0.1) -> 0.1, 0.2, 0.30000000000000004, ..., 0.7000000000000001, 0.8, 0.9
UPSTREAM_ACT_THRESHOLDS = tuple(float(v) for v in np.arange(0.1, 1.0, 0.1))


#: One proposal / detection: (start_s, end_s, score, class index) -- the same record as AherNet's.
SALDetection = Detection


@dataclass(frozen=True)
class SALPostprocessConfig:
    """Inference settings (THUMOS values of upstream, sal_paper_vs_code §8).

    class_threshold: predicted classes are those with ``p_c >= class_threshold`` (else argmax).
    act_thresholds: thresholds on the upsampled signal (non-empty, finite; stored as a tuple).
    upsample: interpolation factor U (integer >= 1).
    oic_lambda: outer-region width as a fraction of the run length (>= 0); 0.2 is upstream's
      effective value (swapped argument, see module docstring).
    oic_gamma: weight of the class probability in the OIC score.
    nms_threshold: IoU at or above which a candidate is removed (and decayed), in [0, 1].
    nms_alpha: decay ``exp(−IoU²/nms_alpha)`` (> 0).
    one_pass_decay: keep the removed proposals with decayed scores (upstream ``--soft_nms``,
      used by both upstream scripts); ``False``: hard NMS, removed proposals are dropped.
    nms_iou_plus_one: upstream's ``+1`` in lengths and intersection of the NMS IoU.
    keep_top_k: at most this many detections per video in :func:`detect` (>= 1), ``None`` for
      no cap (upstream).
    index0_quirk: no proposal when the above-threshold set is exactly index 0 (upstream).
    """

    class_threshold: float = 0.25
    act_thresholds: tuple = UPSTREAM_ACT_THRESHOLDS
    upsample: int = 24
    oic_lambda: float = 0.2
    oic_gamma: float = 0.2
    nms_threshold: float = 0.4
    nms_alpha: float = 0.3
    one_pass_decay: bool = True
    nms_iou_plus_one: bool = True
    keep_top_k: int | None = None
    index0_quirk: bool = True

    def __post_init__(self):
        try:
            thresholds = tuple(self.act_thresholds)
        except TypeError:
            raise ValueError(f"act_thresholds must be a sequence of numbers, not {self.act_thresholds!r}") from None
        if not thresholds or not all(_is_real(t) for t in thresholds):
            raise ValueError("act_thresholds must be a non-empty sequence of finite numbers, "
                             f"not {self.act_thresholds!r}")
        object.__setattr__(self, "act_thresholds", tuple(float(t) for t in thresholds))
        for name in ("class_threshold", "oic_gamma"):
            if not _is_real(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, not {getattr(self, name)!r}")
        if not _is_int(self.upsample) or self.upsample < 1:
            raise ValueError(f"upsample must be an integer >= 1, not {self.upsample!r}")
        if not _is_real(self.oic_lambda) or self.oic_lambda < 0:
            raise ValueError(f"oic_lambda must be a finite number >= 0, not {self.oic_lambda!r}")
        if not _is_real(self.nms_threshold) or not 0.0 <= self.nms_threshold <= 1.0:
            raise ValueError(f"nms_threshold must be a number in [0, 1], not {self.nms_threshold!r}")
        if not _is_real(self.nms_alpha) or self.nms_alpha <= 0:
            raise ValueError(f"nms_alpha must be a finite number > 0, not {self.nms_alpha!r}")
        for name in ("one_pass_decay", "nms_iou_plus_one", "index0_quirk"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, not {getattr(self, name)!r}")
        if self.keep_top_k is not None and (not _is_int(self.keep_top_k) or self.keep_top_k < 1):
            raise ValueError(f"keep_top_k must be None or an integer >= 1, not {self.keep_top_k!r}")


def _check_config(config) -> None:
    if not isinstance(config, SALPostprocessConfig):
        raise ValueError(f"config must be a SALPostprocessConfig, not {type(config).__name__}")


def _as_probs(class_probs) -> np.ndarray:
    probs = np.asarray(class_probs, dtype=np.float64)
    if probs.ndim != 1 or probs.size < 1:
        raise ValueError(f"class_probs must have shape (C>=1,), got {probs.shape}")
    if not np.isfinite(probs).all():
        raise ValueError("class_probs must be finite")
    return probs


def predicted_classes(class_probs, threshold) -> np.ndarray:
    """sal_paper_vs_code §8.1 step 5: int64 indices (ascending) of ``p_c >= threshold``; if none, ``[argmax p]``.

    Argmax ties go to the lowest index (``numpy.argmax``).
    """
    probs = _as_probs(class_probs)
    if not _is_real(threshold):
        raise ValueError(f"threshold must be a finite number, not {threshold!r}")
    chosen = np.flatnonzero(probs >= threshold)
    if chosen.size == 0:
        chosen = np.array([np.argmax(probs)])
    return chosen.astype(np.int64)


def upsample_signal(signal, factor) -> np.ndarray:
    """sal_paper_vs_code §8.2: linear interpolation of ``signal`` ``[T, ...]`` along axis 0 at ``k / factor``.

    Returns float64 ``[T·factor, ...]``, bit-identical to upstream's scipy call on float64 input.
    Positions beyond ``T − 1`` (the last ``factor − 1``) are extrapolated along the last segment;
    a ``T = 1`` signal is repeated.
    """
    values = np.asarray(signal, dtype=np.float64)
    if values.ndim < 1 or values.shape[0] < 1:
        raise ValueError(f"signal must have shape (T>=1, ...), got {values.shape}")
    if not _is_int(factor) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, not {factor!r}")
    length = values.shape[0]
    if length == 1:
        return np.repeat(values, factor, axis=0)
    # Same float operations as scipy's interp1d(kind="linear", fill_value="extrapolate") on
    # np.arange(0, T, 1/factor): positions k·(1/factor); segment [hi − 1, hi] with hi the first
    # sample index >= x (searchsorted "left") clipped to [1, T − 1], so a position that lands on
    # sample i > 0 is evaluated on the segment to its left, and the tail beyond T − 1 uses the
    # last segment; value = slope·(x − lo) + y_lo.
    x = np.arange(length * factor) * (1.0 / factor)
    hi = np.clip(np.ceil(x), 1, length - 1).astype(np.int64)
    lo = hi - 1
    offset = (x - lo).reshape((-1,) + (1,) * (values.ndim - 1))
    return (values[hi] - values[lo]) * offset + values[lo]


def _runs(mask) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of every maximal run of True in a 1-D boolean ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def _segment_sums(padded, lo, hi) -> np.ndarray:
    """``sum(padded[lo[k]:hi[k]])`` for every k (0 when ``lo >= hi``).

    ``padded`` carries one trailing 0 so that ``hi`` may equal the signal length.
    """
    if lo.size == 0:
        return np.zeros(0)
    bounds = np.empty(2 * lo.size, dtype=np.int64)
    bounds[0::2] = lo
    bounds[1::2] = hi
    sums = np.add.reduceat(padded, bounds)[0::2]
    return np.where(hi > lo, sums, 0.0)


def _oic_scores(signal, starts, ends, lam, gamma, prob) -> np.ndarray:
    """Outer-inner contrast ``inner − outer + γ·p`` of runs ``[starts, ends]`` of 1-D ``signal``."""
    n = signal.size
    padded = np.concatenate((signal, [0.0]))
    lengths = ends - starts + 1
    outer_lo = np.maximum(0, np.trunc(starts - lam * lengths).astype(np.int64))
    outer_hi = np.minimum(n - 1, np.trunc(ends + lam * lengths).astype(np.int64))
    inner = _segment_sums(padded, starts, ends + 1) / lengths
    outer_sum = _segment_sums(padded, outer_lo, starts) + _segment_sums(padded, ends + 1, outer_hi + 1)
    outer_count = (starts - outer_lo) + (outer_hi - ends)
    outer = np.divide(outer_sum, outer_count, out=np.zeros_like(outer_sum), where=outer_count > 0)
    return inner - outer + gamma * prob


def proposals(combined, class_probs, duration_s, config: SALPostprocessConfig = SALPostprocessConfig()
              ) -> list[SALDetection]:
    """sal_paper_vs_code §8.2-8.4: multi-threshold OIC proposals of one video, before NMS (module docstring 1-3).

    Args:
      combined: ``[T, C]`` localisation signal (finite).
      class_probs: ``[C]`` video-level class probabilities (finite).
      duration_s: seconds spanned by the ``T`` steps (finite, > 0).
      config: :class:`SALPostprocessConfig`.
    Returns:
      list of :class:`SALDetection`, ordered by threshold, then class, then time.
    Raises:
      ValueError: bad shapes, non-finite values, non-positive duration.
    """
    _check_config(config)
    probs = _as_probs(class_probs)
    signal = np.asarray(combined, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[0] < 1 or signal.shape[1] != probs.size:
        raise ValueError(f"combined must have shape (T>=1, {probs.size}), got {signal.shape}")
    if not np.isfinite(signal).all():
        raise ValueError("combined must be finite")
    if not _is_real(duration_s) or duration_s <= 0:
        raise ValueError(f"duration_s must be a finite number > 0, not {duration_s!r}")

    classes = predicted_classes(probs, config.class_threshold)
    upsampled = np.ascontiguousarray(upsample_signal(signal[:, classes], config.upsample).T)  # [n_pred, T·U]
    seconds_per_point = float(duration_s) / (signal.shape[0] * config.upsample)
    # Above-threshold masks of every (threshold, class) at once: [n_thr, n_pred, T·U].
    masks = upsampled[None, :, :] >= np.asarray(config.act_thresholds)[:, None, None]
    out = []
    for t in range(len(config.act_thresholds)):
        for j, c in enumerate(classes):
            starts, ends = _runs(masks[t, j])
            if starts.size == 0:
                continue
            if config.index0_quirk and starts.size == 1 and ends[0] == 0:
                continue
            scores = _oic_scores(upsampled[j], starts, ends, float(config.oic_lambda),
                                 float(config.oic_gamma), float(probs[c]))
            begin_s = starts * seconds_per_point
            end_s = (ends + 1) * seconds_per_point
            out.extend(SALDetection(float(a), float(b), float(s), int(c))
                       for a, b, s in zip(begin_s, end_s, scores))
    return out


def _class_nms(starts, ends, scores, config) -> tuple[list, list]:
    """One class of :func:`soft_nms`: (kept indices, [(index, decayed score), ...])."""
    plus = 1.0 if config.nms_iou_plus_one else 0.0
    areas = ends - starts + plus
    order = np.argsort(scores, kind="stable")[::-1]
    kept, side = [], []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        inter = np.maximum(0.0, np.minimum(ends[best], ends[rest]) - np.maximum(starts[best], starts[rest]) + plus)
        iou = inter / (areas[best] + areas[rest] - inter)
        hit = iou >= config.nms_threshold
        if config.one_pass_decay and hit.any():
            decayed = scores[rest[hit]] * np.exp(-np.square(iou[hit]) / config.nms_alpha)
            side.extend(zip(rest[hit].tolist(), decayed.tolist()))
        order = rest[~hit]
    return kept, side


def soft_nms(proposals, config: SALPostprocessConfig = SALPostprocessConfig()) -> list[SALDetection]:
    """sal_paper_vs_code §8.5: class-wise one-pass soft-NMS (module docstring step 4).

    Args:
      proposals: iterable of ``(start_s, end_s, score, class_index)`` (finite, ``end > start``
        unless ``nms_iou_plus_one``, where ``end >= start`` suffices).
      config: :class:`SALPostprocessConfig` (``nms_*``, ``one_pass_decay``).
    Returns:
      list of :class:`SALDetection`: per class in order of first appearance, kept then decayed.
    """
    _check_config(config)
    rows = [tuple(p) for p in proposals]
    if any(len(r) != 4 for r in rows):
        raise ValueError("proposals must be (start_s, end_s, score, class_index) tuples")
    by_class: dict[int, list[int]] = {}
    for i, (_, _, _, label) in enumerate(rows):
        if not _is_int(label):
            raise ValueError(f"class index must be an integer, not {label!r}")
        by_class.setdefault(int(label), []).append(i)
    out = []
    for label, members in by_class.items():
        table = np.array([rows[i][:3] for i in members], dtype=np.float64)
        if not np.isfinite(table).all():
            raise ValueError(f"class {label}: proposals must be finite")
        starts, ends, scores = table[:, 0], table[:, 1], table[:, 2]
        lengths = ends - starts + (1.0 if config.nms_iou_plus_one else 0.0)
        if (lengths <= 0).any():
            raise ValueError(f"class {label}: proposals must have positive length")
        kept, side = _class_nms(starts, ends, scores, config)
        out.extend(SALDetection(float(starts[i]), float(ends[i]), float(scores[i]), label) for i in kept)
        out.extend(SALDetection(float(starts[i]), float(ends[i]), float(s), label) for i, s in side)
    return out


def detect(class_probs, combined, duration_s, config: SALPostprocessConfig = SALPostprocessConfig()
           ) -> list[SALDetection]:
    """Detections of one video: sal_paper_vs_code §8.1 step 5 to sal_paper_vs_code §8.5 (module docstring steps 1-5).

    Args:
      class_probs: ``[C]`` video-level class probabilities.
      combined: ``[T, C]`` localisation signal.
      duration_s: video length in seconds (> 0).
      config: :class:`SALPostprocessConfig`.
    Returns:
      list of :class:`SALDetection` sorted by score descending (stable), at most ``keep_top_k``.
    """
    detections = soft_nms(proposals(combined, class_probs, duration_s, config), config)
    detections.sort(key=lambda d: -d.score)
    if config.keep_top_k is not None:
        detections = detections[:config.keep_top_k]
    return detections


def results_dict(detections_per_video, class_names, version="VERSION 1.3") -> dict:
    """sal_paper_vs_code §8.6: ActivityNet result dict ``{"version", "results", "external_data"}``, no cap.

    ``detections_per_video``: ``{video_id: [(start_s, end_s, score, class_index), ...]}``.  Built
    by ``aher.model.postprocess.results_dict`` (rows ``{"score", "segment", "label"}``, sorted by
    score, every video present); ``ValueError`` for a bad class index or a non-finite number.
    """

    lists = {vid: list(dets) for vid, dets in detections_per_video.items()}
    no_cap = max((len(dets) for dets in lists.values()), default=0)
    return _anet_results_dict(lists, class_names, version=version, keep_top_k=no_cap)
