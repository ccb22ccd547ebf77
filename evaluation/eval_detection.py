"""Detection mAP at tIoU thresholds, numerically identical to the official ActivityNet metric.

Contract: ``ANETdetection(ground_truth, prediction, ...).evaluate()`` returns per-threshold mAP,
average mAP and per-class AP.  Semantics are those of the official evaluator (see
``../shared/eval_fixtures/README.md`` in the reference material, described again here):

* per class, predictions are walked by descending score; for each tIoU threshold
  independently a prediction matches the best-tIoU *unmatched* GT instance of its class in its
  video if that tIoU is >= the threshold (inclusive, exact float64 thresholds), else it is a
  false positive; a tIoU that is NaN (zero-length prediction vs zero-length GT) counts as a
  match at every threshold, exactly as officially;
* AP is the VOC-2011 all-point interpolated area under the precision/recall curve, recall
  normalised by all GT instances of the class; a class with no prediction has AP 0 and still
  counts; mAP is the plain mean over GT classes; average mAP the mean over thresholds.

Differences (documented choices): ties between equal scores follow a stable rule,
``tie_break="later_first"`` by default (see ``evaluation.io.descending_order``) where the
official order depends on numpy's sort implementation; unknown labels and malformed rows are
clear errors instead of crashes (``evaluation.io``).

Limits: no blocked-video list (the official one is fetched over the network and is empty for
the fixtures); no per-video or per-length breakdowns.

Implementation: fully vectorised.  Matching only interacts within a (class, video) group, so
all groups advance together one prediction rank at a time; the Python loop runs over ranks
(at most the largest number of predictions of one class in one video), never over rows.
"""

import numpy as np

from evaluation.io import GroundTruth, Predictions, read_ground_truth, read_predictions
from evaluation.segments import DEFAULT_TIOU_THRESHOLDS, parse_tiou_thresholds, segment_tiou


def interpolated_average_precision(precision, recall):
    """VOC-2011 all-point interpolated AP for one precision/recall curve (1-D arrays)."""
    mprec = np.hstack([[0.0], precision, [0.0]])
    mrec = np.hstack([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def _gt_groups(gt, n_videos):
    """GT instances grouped by (class, video), in file order within a group, padded to the largest group.

    Returns:
      (group keys label * n_videos + video [G] ascending, starts [G, W], ends [G, W], valid [G, W]).
    """
    gt_key = gt.label * n_videos + gt.video
    gt_order = np.argsort(gt_key, kind="stable")
    group_keys, group_first, group_size = np.unique(gt_key[gt_order], return_index=True, return_counts=True)
    width = int(group_size.max())
    slot = np.arange(gt_order.size) - np.repeat(group_first, group_size)
    group_of_gt = np.repeat(np.arange(group_keys.size), group_size)
    gt_s = np.zeros((group_keys.size, width))
    gt_e = np.zeros((group_keys.size, width))
    valid = np.zeros((group_keys.size, width), dtype=bool)
    gt_s[group_of_gt, slot] = gt.start[gt_order]
    gt_e[group_of_gt, slot] = gt.end[gt_order]
    valid[group_of_gt, slot] = True
    return group_keys, gt_s, gt_e, valid


def match_detections(gt, pred, thresholds, order):
    """True-positive flags of the predictions, visited in ``order``.

    Args:
      gt: :class:`GroundTruth`.
      pred: :class:`Predictions` with labels.
      thresholds: float64 [n_thr].
      order: int [n_pred] visiting order (class-major, descending score within a class).
    Returns:
      bool [n_thr, n_pred]: ``tp[t, i]`` for the i-th prediction of ``order``.
    """
    n_thr, n_pred = thresholds.size, order.size
    n_videos = max(len(gt.video_ids), 1)
    p_label, p_video = pred.label[order], pred.video[order]
    p_start, p_end = pred.start[order], pred.end[order]
    tp = np.zeros((n_thr, n_pred), dtype=bool)
    group_keys, gt_s, gt_e, valid = _gt_groups(gt, n_videos)
    width = valid.shape[1]

    # Group of every prediction (-1: no GT of its class in its video -> false positive).
    p_key = np.where(p_video >= 0, p_label * n_videos + p_video, -1)
    pos = np.clip(np.searchsorted(group_keys, p_key), 0, group_keys.size - 1)
    p_group = np.where((p_video >= 0) & (group_keys[pos] == p_key), pos, -1)

    # Rank of each prediction within its group (visiting order is preserved by the stable sort).
    in_group = np.flatnonzero(p_group >= 0)
    if in_group.size == 0:
        return tp
    by_group = in_group[np.argsort(p_group[in_group], kind="stable")]
    _, run_first, run_size = np.unique(p_group[by_group], return_index=True, return_counts=True)
    rank = np.arange(by_group.size) - np.repeat(run_first, run_size)
    by_rank = by_group[np.argsort(rank, kind="stable")]
    rank_bounds = np.searchsorted(np.sort(rank), np.arange(rank.max() + 2))

    locked = np.zeros((group_keys.size, n_thr, width), dtype=bool)
    for r in range(rank.max() + 1):
        sel = by_rank[rank_bounds[r]:rank_bounds[r + 1]]      # one prediction per group
        g = p_group[sel]
        tiou = segment_tiou(p_start[sel, None], p_end[sel, None], gt_s[g], gt_e[g])   # [n, width]
        is_nan = np.isnan(tiou)
        # Candidate order: NaN first, then descending tIoU, ties later GT first, padding last.
        key = np.where(valid[g], np.where(is_nan, 2.0, tiou), -1.0)
        cand = np.argsort(key, axis=1, kind="stable")[:, ::-1]
        free = ~np.take_along_axis(locked[g], cand[:, None, :], axis=2)
        free &= np.take_along_axis(valid[g], cand, axis=1)[:, None, :]
        first = free.argmax(axis=2)                              # [n, n_thr]
        best = np.take_along_axis(cand, first, axis=1)           # GT slot per threshold
        best_tiou = np.take_along_axis(tiou, best, axis=1)
        hit = free.any(axis=2) & ((best_tiou >= thresholds[None, :]) | np.isnan(best_tiou))
        rows, thr = np.nonzero(hit)
        locked[g[rows], thr, best[rows, thr]] = True
        tp[:, sel] = hit.T
    return tp


def average_precision_per_class(gt, pred, thresholds, tie_break="later_first"):
    """AP array [n_thr, n_classes] (class order = ``gt.class_names``)."""
    n_classes = len(gt.class_names)
    ap = np.zeros((thresholds.size, n_classes))
    if pred.n_rows == 0:
        return ap
    row = np.arange(pred.n_rows)
    tie_key = -row if tie_break == "later_first" else row
    if tie_break not in ("later_first", "earlier_first"):
        raise ValueError(f"tie_break must be 'later_first' or 'earlier_first', not {tie_break!r}")
    order = np.lexsort((tie_key, -pred.score, pred.label))
    tp = match_detections(gt, pred, thresholds, order)
    labels_sorted = pred.label[order]
    bounds = np.searchsorted(labels_sorted, np.arange(n_classes + 1))
    n_pos = np.bincount(gt.label, minlength=n_classes).astype(np.float64)
    for c in range(n_classes):
        lo, hi = bounds[c], bounds[c + 1]
        if lo == hi:
            continue
        tp_c = tp[:, lo:hi].astype(np.float64)
        tp_cum = np.cumsum(tp_c, axis=1)
        fp_cum = np.cumsum(1.0 - tp_c, axis=1)
        recall = tp_cum / n_pos[c]
        precision = tp_cum / (tp_cum + fp_cum)
        for t in range(thresholds.size):
            ap[t, c] = interpolated_average_precision(precision[t], recall[t])
    return ap


class ANETdetection:
    """ActivityNet detection metric.

    Args:
      ground_truth: path (``.json`` / ``.json.gz``) or loaded dict in the ActivityNet GT schema.
      prediction: path or dict in the ActivityNet result schema (rows need ``label``).
      tiou_thresholds: array-like, or a string such as ``"0.5:0.95:0.05"`` / ``"0.3,0.5,0.7"``.
      subset: GT subset to evaluate.
      tie_break: ``"later_first"`` (default) or ``"earlier_first"`` for equal scores.
      unknown_labels: ``"error"`` (default) or ``"ignore"`` for result labels that are not GT classes.
      verbose: print a summary after ``evaluate()``.
    After ``evaluate()``: ``ap`` [n_thr, n_classes], ``mAP`` [n_thr], ``average_mAP``.
    """

    def __init__(self, ground_truth, prediction, tiou_thresholds=DEFAULT_TIOU_THRESHOLDS,
                 subset="validation", tie_break="later_first", unknown_labels="error", verbose=False):
        self.tiou_thresholds = parse_tiou_thresholds(tiou_thresholds)
        self.subset = subset
        self.tie_break = tie_break
        self.verbose = verbose
        self.ground_truth: GroundTruth = read_ground_truth(ground_truth, subset=subset)
        self.prediction: Predictions = read_predictions(prediction, self.ground_truth, need_label=True,
                                                        unknown_labels=unknown_labels)
        self.ap = self.mAP = self.average_mAP = None

    @property
    def warnings(self):
        """Human-readable notes about the input (not errors)."""
        notes = []
        pred, gt = self.prediction, self.ground_truth
        if pred.unmatched_videos:
            notes.append(f"{pred.n_unmatched_rows} predictions in {len(pred.unmatched_videos)} videos that are not "
                         f"ground-truth videos of subset '{self.subset}' count as false positives "
                         f"(e.g. '{pred.unmatched_videos[0]}')")
        if pred.dropped_labels:
            labels = ", ".join(f"{k!r} ({v})" for k, v in sorted(pred.dropped_labels.items()))
            notes.append(f"dropped predictions whose label is not a ground-truth class: {labels}")
        covered = np.unique(pred.video[pred.video >= 0])
        if covered.size < len(gt.video_ids):
            seen = set(covered.tolist())
            first = next(v for i, v in enumerate(gt.video_ids) if i not in seen)
            notes.append(f"{len(gt.video_ids) - covered.size} of the {len(gt.video_ids)} ground-truth videos have no "
                         f"prediction (e.g. '{first}'): their instances count as missed")
        if self.ap is not None:
            missing = [c for c, n in zip(gt.class_names, np.bincount(pred.label, minlength=len(gt.class_names))) if n == 0]
            if missing:
                notes.append(f"{len(missing)} classes have no prediction (AP 0): {', '.join(map(str, missing[:5]))}"
                             + (" ..." if len(missing) > 5 else ""))
        return notes

    def evaluate(self):
        """Compute AP per class and threshold; return :meth:`result`."""
        self.ap = average_precision_per_class(self.ground_truth, self.prediction, self.tiou_thresholds,
                                              tie_break=self.tie_break)
        self.mAP = self.ap.mean(axis=1)
        self.average_mAP = float(self.mAP.mean())
        if self.verbose:
            for note in self.warnings:
                print(f"note: {note}")
            print(format_detection_table(self.result()))
        return self.result()

    def result(self):
        """JSON-ready dict: ``tiou_thresholds``, ``mAP``, ``average_mAP``, ``per_class_AP``."""
        if self.ap is None:
            raise RuntimeError("call evaluate() first")
        return {
            "tiou_thresholds": [float(t) for t in self.tiou_thresholds],
            "mAP": [float(v) for v in self.mAP],
            "average_mAP": self.average_mAP,
            "per_class_AP": {str(name): [float(v) for v in self.ap[:, c]]
                             for c, name in enumerate(self.ground_truth.class_names)},
        }


def format_detection_table(result):
    """Plain-text table of mAP per threshold (percent) and the average."""
    head = " ".join(f"{t:>6.2f}" for t in result["tiou_thresholds"])
    vals = " ".join(f"{100 * v:>6.2f}" for v in result["mAP"])
    return (f"tIoU  {head}   average\n"
            f"mAP % {vals}   {100 * result['average_mAP']:.2f}")
