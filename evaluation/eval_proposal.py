"""Proposal AR@AN and AUC, numerically identical to the official ActivityNet proposal metric.

Contract: ``ANETproposal(ground_truth, proposal, ...).evaluate()`` returns the average-recall
curve over the average number of proposals per video (AN = 1..100 by default), AR@1/5/10/100
and the AUC in percent.  Labels of the proposals are ignored.  Semantics of the official code
(described in ``../shared/eval_fixtures/README.md`` of the reference material):

1. V = GT videos with >= 1 instance of the subset (nv of them);
2. ``ratio = max_avg * nv / (number of proposal rows in the whole file)`` -- rows of videos
   outside V count too;
3. per video in V: proposals by descending score, keep ``min(int(n * ratio), n)``; K = kept total;
4. ``pcn[k] = (k / 100) * (max_avg * nv / K)`` for k = 1..100;
5. at point k a video with c kept proposals uses its first ``min(int(c * pcn[k]), c)``; a GT
   instance is recalled at threshold t if any of them has tIoU >= t (no one-to-one matching;
   a NaN tIoU never matches);
6. recall is pooled over GT instances; AR = mean over thresholds; ``AN = pcn * K / nv``;
7. ``AUC = 100 * trapezoid(AR, AN) / AN[-1]`` (the curve starts at AN = 1, so at most ~99 %).

Documented choices: equal scores are ordered with ``tie_break`` (default ``"later_first"``,
see ``evaluation.io.descending_order``); a file with no row, or one where no proposal of a GT
video is kept, is an error rather than a division by zero.  Limits: no blocked-video list.

Implementation: vectorised over all (GT instance, kept proposal) pairs; the first kept
proposal that recalls each instance at each threshold decides every point of the curve.
"""

import numpy as np

from evaluation.io import EvaluationError, read_ground_truth, read_predictions
from evaluation.segments import DEFAULT_TIOU_THRESHOLDS, parse_tiou_thresholds, segment_tiou

AR_AT = (1, 5, 10, 100)


def average_recall_vs_proposals(gt, prop, thresholds, max_avg_nr_proposals=100, tie_break="later_first"):
    """Return ``(recall [n_thr, 100], average_recall [100], average_nr_proposals [100])``."""
    nv = len(gt.video_ids)
    total_rows = prop.n_rows
    ratio = max_avg_nr_proposals * float(nv) / total_rows

    # Proposals of GT videos, grouped by video in V order, descending score within a video.
    mine = np.flatnonzero(prop.video >= 0)
    if tie_break == "later_first":
        within = np.lexsort((-mine, -prop.score[mine], prop.video[mine]))
    elif tie_break == "earlier_first":
        within = np.lexsort((mine, -prop.score[mine], prop.video[mine]))
    else:
        raise ValueError(f"tie_break must be 'later_first' or 'earlier_first', not {tie_break!r}")
    ordered = mine[within]
    n_per_video = np.bincount(prop.video[ordered], minlength=nv)
    first_of_video = np.concatenate([[0], np.cumsum(n_per_video)[:-1]])
    kept = np.minimum((n_per_video * ratio).astype(np.int64), n_per_video)   # int(n * ratio), capped at n
    total_kept = int(kept.sum())
    if total_kept == 0:
        if mine.size == 0:
            raise EvaluationError(f"{prop.name}: none of the {total_rows} proposals belongs to a ground-truth video "
                                  f"of subset '{gt.subset}' (check the video ids)")
        raise EvaluationError(f"{prop.name}: the budget of {max_avg_nr_proposals} proposals per video keeps no "
                              f"proposal of a ground-truth video (ratio {ratio:.4g}): nothing to evaluate")
    pcn = np.arange(1, 101) / 100.0 * (max_avg_nr_proposals * float(nv) / total_kept)

    # Columns per video as the official code sees them (a video without proposals has one
    # all-zero column, which can never reach a threshold > 0).
    columns = np.where(n_per_video == 0, 1, kept)
    used = np.minimum((columns[:, None] * pcn[None, :]).astype(np.int64), columns[:, None])  # [nv, 100]

    # All (GT instance, kept proposal of its video) pairs; column index within the video.
    gt_kept = kept[gt.video]
    pair_gt = np.repeat(np.arange(gt.n_instances), gt_kept)
    run_first = np.concatenate([[0], np.cumsum(gt_kept)[:-1]])
    pair_col = np.arange(pair_gt.size) - np.repeat(run_first, gt_kept)
    pair_prop = ordered[first_of_video[gt.video[pair_gt]] + pair_col]
    tiou = segment_tiou(prop.start[pair_prop], prop.end[pair_prop], gt.start[pair_gt], gt.end[pair_gt])

    never = np.iinfo(np.int64).max
    has_pairs = gt_kept > 0
    recall = np.empty((thresholds.size, pcn.size))
    used_per_gt = used[gt.video]                                                # [n_gt, 100]
    for t, thr in enumerate(thresholds):
        hit_col = np.where(tiou >= thr, pair_col, never)
        first_hit = np.full(gt.n_instances, never, dtype=np.int64)
        if pair_gt.size:
            first_hit[has_pairs] = np.minimum.reduceat(hit_col, run_first[has_pairs])
        matches = (first_hit[:, None] < used_per_gt).sum(axis=0).astype(np.float64)
        recall[t] = matches / float(gt.n_instances)
    average_recall = recall.mean(axis=0)
    average_nr_proposals = pcn * (float(total_kept) / nv)
    return recall, average_recall, average_nr_proposals


class ANETproposal:
    """ActivityNet proposal metric (AR@AN, AUC).

    Args:
      ground_truth: path (``.json`` / ``.json.gz``) or dict in the ActivityNet GT schema.
      proposal: path or dict in the ActivityNet result schema (``label`` not needed).
      tiou_thresholds: array-like or string (default ``"0.5:0.95:0.05"``).
      max_avg_nr_proposals: the budget of proposals per video (official default 100).
      subset: GT subset.  tie_break: ``"later_first"`` or ``"earlier_first"``.
    After ``evaluate()``: ``recall`` [n_thr, 100], ``avg_recall`` [100], ``proposals_per_video`` [100].
    """

    def __init__(self, ground_truth, proposal, tiou_thresholds=DEFAULT_TIOU_THRESHOLDS,
                 max_avg_nr_proposals=100, subset="validation", tie_break="later_first", verbose=False):
        if not (isinstance(max_avg_nr_proposals, (int, float)) and max_avg_nr_proposals > 0):
            raise ValueError(f"max_avg_nr_proposals must be a positive number, not {max_avg_nr_proposals!r}")
        self.tiou_thresholds = parse_tiou_thresholds(tiou_thresholds)
        self.max_avg_nr_proposals = max_avg_nr_proposals
        self.subset = subset
        self.tie_break = tie_break
        self.verbose = verbose
        self.ground_truth = read_ground_truth(ground_truth, subset=subset)
        self.proposal = read_predictions(proposal, self.ground_truth, need_label=False)
        self.recall = self.avg_recall = self.proposals_per_video = None

    @property
    def warnings(self):
        prop = self.proposal
        if not prop.unmatched_videos:
            return []
        return [f"{prop.n_unmatched_rows} proposals in {len(prop.unmatched_videos)} videos that are not ground-truth "
                f"videos of subset '{self.subset}' are not scored but count in the proposal budget (official rule; "
                f"e.g. '{prop.unmatched_videos[0]}')"]

    def evaluate(self):
        self.recall, self.avg_recall, self.proposals_per_video = average_recall_vs_proposals(
            self.ground_truth, self.proposal, self.tiou_thresholds, self.max_avg_nr_proposals, self.tie_break)
        if self.verbose:
            for note in self.warnings:
                print(f"note: {note}")
            print(format_proposal_table(self.result()))
        return self.result()

    def result(self):
        """JSON-ready dict: ``AN``, ``AR``, ``recall_per_tiou``, ``AR@1/5/10/100``, ``AUC``
        (percent), ``AUC_area`` and ``tiou_thresholds``."""
        if self.recall is None:
            raise RuntimeError("call evaluate() first")
        an, ar = self.proposals_per_video, self.avg_recall
        area = float(np.trapezoid(ar, an))
        out = {
            "tiou_thresholds": [float(t) for t in self.tiou_thresholds],
            "AN": [float(v) for v in an],
            "AR": [float(v) for v in ar],
            "recall_per_tiou": [[float(v) for v in row] for row in self.recall],
        }
        # AR@n: the point whose AN is n (index n-1 with the default budget of 100).
        step = self.max_avg_nr_proposals / 100.0
        for n in AR_AT:
            k = n / step
            if abs(k - round(k)) < 1e-9 and 1 <= round(k) <= 100:
                out[f"AR@{n}"] = float(ar[int(round(k)) - 1])
        out["AUC"] = 100.0 * area / float(an[-1])
        out["AUC_area"] = area
        return out


def format_proposal_table(result):
    """Plain-text summary: AR@n in percent and the AUC."""
    cells = [f"AR@{n} {100 * result[f'AR@{n}']:.2f}" for n in AR_AT if f"AR@{n}" in result]
    return "  ".join(cells + [f"AUC {result['AUC']:.2f}"])
