"""Fig. 7-style detection timeline: GT instances and the top detections of a few videos.

Contract
--------
``timeline(result, gt, videos, png_path, top=5)`` draws one panel per video: a time axis (seconds,
0 .. GT duration), the GT instances on the top row (labelled with their class), and the ``top``
highest-scoring detections of the result file on the rows below (ties: file order), coloured by
score (one colour scale for the whole figure, 0 .. the highest score shown) and labelled
``class  score  tIoU`` (tIoU = best overlap with any GT instance of the video).  The axis spans
``[0, duration]``, widened to any segment drawn outside it (the evaluator does not clip
segments); the duration is then marked by a dotted line.  A GT entry without a positive duration
uses the latest segment end.

Video ids match as in the evaluator (exact, else with / without a leading ``v_``); an id absent
from the GT is a :class:`~aher.plots.common.PlotError`, an id absent from the results is drawn
with its GT and "no detections".  Result and GT files may be gzip-compressed.
:func:`timeline_data` is the reading and validation part (no drawing).
"""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors

from aher.plots.common import PlotError, finite_number, load_json_input, save


@dataclasses.dataclass
class TimelineVideo:
    video_id: str
    duration: float
    gt: list            # [(start, end, label)]
    detections: list    # [(start, end, label, score, tiou)], best first
    in_results: bool


# ------------------------------------------------------------------------------------- reading

def _match_id(video_id, keys):
    """The key of ``keys`` naming ``video_id``: exact, else with / without a leading ``v_``."""
    if video_id in keys:
        return video_id
    other = video_id[2:] if video_id.startswith("v_") else "v_" + video_id
    return other if other in keys else None


def _segment(value, where):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise PlotError(f"{where}: segment must be [start, end], got {value!r}")
    start, end = (finite_number(v, where) for v in value)
    if end < start:
        raise PlotError(f"{where}: segment end {end} < start {start}")
    return start, end


def _tiou(segment, gts):
    if not gts:
        return 0.0
    g = np.asarray(gts, dtype=np.float64)
    inter = np.clip(np.minimum(segment[1], g[:, 1]) - np.maximum(segment[0], g[:, 0]), 0.0, None)
    union = (segment[1] - segment[0]) + (g[:, 1] - g[:, 0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return float(iou.max())


def _read_files(result_path, gt_path):
    """(GT database, its file name, results, their file name), schemas checked."""
    gt_data, gt_name = load_json_input(gt_path, "ground truth")
    res_data, res_name = load_json_input(result_path, "result")
    database = gt_data.get("database")
    results = res_data.get("results")
    if not isinstance(database, dict):
        raise PlotError(f"{gt_name}: no 'database' object (not an ActivityNet ground-truth file)")
    if not isinstance(results, dict):
        raise PlotError(f"{res_name}: no 'results' object (not an ActivityNet result file)")
    return database, gt_name, results, res_name


def _gt_instances(entry, where):
    """[(start, end, label)] of one GT entry."""
    if not isinstance(entry, dict):
        raise PlotError(f"{where}: entry is not an object")
    gts = []
    for k, ann in enumerate(entry.get("annotations") or []):
        start, end = _segment(ann.get("segment") if isinstance(ann, dict) else None, f"{where} annotation {k}")
        gts.append((start, end, str(ann.get("label", ""))))
    return gts


def _detections(rows, where):
    """[(start, end, label, score)] of one video's result rows, in file order."""
    if not isinstance(rows, list):
        raise PlotError(f"{where}: results are not a list")
    dets = []
    for k, row in enumerate(rows):
        rwhere = f"{where} row {k}"
        if not isinstance(row, dict):
            raise PlotError(f"{rwhere}: not an object")
        start, end = _segment(row.get("segment"), rwhere)
        dets.append((start, end, str(row.get("label", "")), finite_number(row.get("score"), rwhere)))
    return dets


def _duration(entry, gts, detections):
    """The GT duration, else the latest segment end (1 s when there is none)."""
    duration = entry.get("duration")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0:
        return float(duration)
    ends = [e for _, e, _ in gts] + [d[1] for d in detections]
    return max(ends) if ends and max(ends) > 0 else 1.0


def _timeline_video(vid, database, gt_name, results, res_name, top):
    gt_key = _match_id(vid, database)
    if gt_key is None:
        raise PlotError(f"{gt_name}: no video {vid!r} in the ground truth")
    entry = database[gt_key]
    gts = _gt_instances(entry, f"{gt_name}: video {gt_key!r}")
    res_key = _match_id(vid, results)
    dets = _detections(results.get(res_key) if res_key is not None else [], f"{res_name}: video {res_key!r}")
    order = sorted(range(len(dets)), key=lambda i: -dets[i][3])[:top]      # stable: file order on ties
    spans = [(s, e) for s, e, _ in gts]
    detections = [dets[i] + (_tiou(dets[i][:2], spans),) for i in order]
    return TimelineVideo(gt_key, _duration(entry, gts, detections), gts, detections, res_key is not None)


def timeline_data(result_path, gt_path, videos, top=5):
    """Read the GT and the top-``top`` detections of ``videos`` -> list of :class:`TimelineVideo`."""
    if top < 1:
        raise PlotError(f"--top must be >= 1, got {top}")
    if not videos:
        raise PlotError("give at least one video id (--videos)")
    database, gt_name, results, res_name = _read_files(result_path, gt_path)
    return [_timeline_video(vid, database, gt_name, results, res_name, top) for vid in videos]


# ------------------------------------------------------------------------------------- drawing

def _bar_text(ax, start, end, y, text, lo, hi, color="black"):
    """Label a bar inside it when it is wide enough, else beside it (on the side with more room)."""
    span = hi - lo
    if (end - start) / span * 110 >= len(text):  # ~110 characters across the axis at fontsize 8
        ax.text((start + end) / 2, y, text, ha="center", va="center", fontsize=8, color=color, clip_on=True)
    elif end < lo + 0.6 * span:
        ax.text(end + 0.005 * span, y, text, ha="left", va="center", fontsize=8, clip_on=True)
    else:
        ax.text(start - 0.005 * span, y, text, ha="right", va="center", fontsize=8, clip_on=True)


def _draw_gt(ax, video, lo, hi):
    for start, end, label in video.gt:
        ax.barh(0, end - start, left=start, height=0.7, color="#bbbbbb", edgecolor="#444444", linewidth=0.8)
        _bar_text(ax, start, end, 0, label, lo, hi)
    if not video.gt:
        ax.text((lo + hi) / 2, 0, "no GT instance", ha="center", va="center", fontsize=8, style="italic")


def _draw_detections(ax, video, lo, hi, norm, cmap):
    for k, (start, end, label, score, tiou) in enumerate(video.detections, start=1):
        ax.barh(k, end - start, left=start, height=0.7, color=cmap(norm(score)), edgecolor="#333333",
                linewidth=0.5)
        text_color = "white" if norm(score) < 0.55 else "black"
        text = f"{label}  {score:.3f}  tIoU {tiou:.2f}" if label else f"{score:.3f}  tIoU {tiou:.2f}"
        _bar_text(ax, start, end, k, text, lo, hi, color=text_color)
    if not video.detections:
        msg = "no detections" if video.in_results else "video absent from the result file"
        ax.text((lo + hi) / 2, 1, msg, ha="center", va="center", fontsize=8, style="italic")


def _format_panel(ax, video, lo, hi, rows):
    for edge in (0.0, video.duration):
        if lo < edge < hi:
            ax.axvline(edge, color="#555555", linestyle=":", linewidth=1.0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(rows - 0.5, -0.6)
    ax.set_yticks(range(rows))
    ax.set_yticklabels(["GT"] + [f"#{k}" for k in range(1, rows)], fontsize=8)
    shown = len(video.detections)
    ax.set_title(f"{video.video_id}   (duration {video.duration:.1f} s, {len(video.gt)} GT, "
                 f"top {shown} detection{'' if shown == 1 else 's'})", fontsize=10)
    ax.set_xlabel("time (s)", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.axhline(0.5, color="#888888", linewidth=0.6)
    ax.grid(axis="x", alpha=0.3)


def _draw_panel(ax, video, rows, norm, cmap):
    """One video: GT row, detection rows, the axis spanning ``[0, duration]`` and every segment."""
    segments = [g[:2] for g in video.gt] + [d[:2] for d in video.detections]
    lo = min([0.0] + [s for s, _ in segments])
    hi = max([video.duration] + [e for _, e in segments])
    _draw_gt(ax, video, lo, hi)
    _draw_detections(ax, video, lo, hi, norm, cmap)
    _format_panel(ax, video, lo, hi, rows)


def _score_norm(data):
    """One colour scale for every detection shown: min(0, lowest) .. highest score."""
    scores = [d[3] for v in data for d in v.detections]
    vmax = max(max(scores), 1e-12) if scores else 1.0
    vmin = min(0.0, min(scores)) if scores else 0.0
    return mcolors.Normalize(vmin=vmin, vmax=vmax)


def timeline(result_path, gt_path, videos, png_path, top=5):
    """Draw the Fig. 7-style timeline of ``videos`` into ``png_path`` (module docstring); returns the path."""
    data = timeline_data(result_path, gt_path, videos, top)
    norm = _score_norm(data)
    cmap = plt.get_cmap("viridis")
    rows = top + 1
    heights = [0.32 * rows + 0.9 for _ in data]
    fig, axes = plt.subplots(len(data), 1, figsize=(11, sum(heights) + 0.4), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, video in zip(axes[:, 0], data):
        _draw_panel(ax, video, rows, norm, cmap)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.915, 0.15, 0.014, 0.7))
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, label="score")
    return save(fig, png_path)
