"""Figures of the paper (Figs. 4, 5, 6 and the Fig. 7-style detection timeline), as PNG files.

Run as ``python -m aher.plots <figure> ...``; every subcommand writes one PNG and prints its path.
Bad input (a missing file, an unknown video id, a checkpoint that lacks the needed variables, a
malformed numbers file) is one line on stderr with exit code 2 (:func:`aher.cli.run_main`).

``timeline RESULT.json GT.json --videos ID [ID ...] [--top 5] [--out FILE.png]``
    Fig. 7 style.  One panel per video: a time axis (seconds, 0 .. GT duration), the GT instances
    on the top row (labelled with their class), and the ``top`` highest-scoring detections of the
    result file on the rows below, coloured by score (one colour scale for the whole figure,
    0 .. the highest score shown) and labelled ``class  score  tIoU`` (tIoU = best overlap with any
    GT instance of the video).  Video ids match as in the evaluator (exact, else with / without a
    leading ``v_``); an id absent from the GT is an error, an id absent from the results is drawn
    with its GT and "no detections".  Result and GT files may be gzip-compressed.

``tsne --config CFG --checkpoint RUN [--moments 200] [--anchors 500] [--layer auto] [--out FILE.png]``
    (also ``--seed 0``, ``--iterations 1000`` of t-SNE, ``--set key=value`` config overrides)
    Fig. 5: t-SNE of backbone end-point features of three kinds of anchors.

    * **Synthetic videos.**  ``moments`` moments of the moment set (``moments_train``, sampled with
      ``--seed``) are each spliced by the checkpoint's context generators
      (:func:`aher.model.context.synthesize_untrimmed`, the config's ``context`` section) at **all
      six moment lengths** ``ratio_id = 14..19`` with a random ``pos_id`` in 1..19, half of the six
      in the start block and half in the end block (the sample parity; alternating between
      moments), i.e. ``6 * moments`` synthetic videos.  Anchors are labelled against the *true*
      moment span (``fix_odd_gt`` forced on: it changes the recorded GT only, never the video).
    * **Real videos.**  Up to ``6 * moments`` training videos of the untrimmed set
      (``untrimmed_train``, sampled with the seed) with their GT on the grid (reference §1.4).
    * **Anchor kinds** from the matcher's ``gscores`` (:func:`aher.model.matcher.match_anchors_np`):
      *foreground* = synthetic video, gscore > 0.5; *synthetic background* = synthetic video,
      gscore < 0.3; *real background* = real video, gscore < 0.3.  This is the matcher's notion
      of background, the one the adversarial loss masks with (reference §5.3): a short anchor
      *inside* a long moment has IoU < 0.3 too, so "background" cells of the finer layers include
      moment interiors.
    * **Features and layer.**  An anchor's feature is the end point ``conv_a{j}`` of its layer at
      its cell (the three anchors of a cell share it, so at most one anchor per cell and kind is
      drawn: no duplicate points).  Layers have different widths and, more importantly, the kinds
      live in different layers: a moment covers 70-95 % of the window, so foreground anchors
      (IoU > 0.5) exist only in the coarsest layers while synthetic background (IoU < 0.3) is
      mostly in the fine ones.  Pooling layers (padding or per-layer projections to a common
      width) would therefore separate the kinds by *layer*, not by feature.  So one layer is used:
      ``--layer auto`` (default) takes the layer whose scarcest kind has the most cells (ties: the
      finer layer); ``--layer J`` forces layer J.  ``anchors`` cells of each kind are sampled
      (fewer if the layer has fewer; the legend gives the counts), the features are centred and
      projected by PCA to ``min(256, C_j, n - 1)`` dimensions, then embedded by exact t-SNE
      (:mod:`aher.tsne`, perplexity 30, 1,000 iterations, PCA initialisation).
    * The subtitle gives a number that does not depend on the embedding: the 10-nearest-neighbour
      accuracy of telling synthetic from real background in the PCA space (leave-one-out, on a
      class-balanced subsample: 50 % means indistinguishable, what the adversarial loss aims at).
    * The graph is built in TF1 style (AherNet backbone + context generators) and the backbone and
      generator variables are restored from the checkpoint; a checkpoint without generators
      (e.g. an oracle run) is an error.

``fig6 NUMBERS.json [--metric average_mAP] [--out FILE.png]``
    Fig. 6: average mAP of AherNet* (the oracle) against the fraction of annotated videos, with
    AherNet as a horizontal line (band: +- std), one panel per setting.  Two schemas are read:

    * the ``settings`` schema::

        {"unit": "fraction",                          # optional: "fraction" (default) or "percent"
         "settings": {
           "<setting>": {                             # anet_split | th14_anet | k600 | any name
             "aherNet": {"mean": m, "std": s, "n": k},            # AherNet
             "oracle": {"<fraction>": {"mean": m, "std": s, "n": k}, ...}}}}   # AherNet*

      ``<fraction>`` keys are numbers in (0, 1] written as strings ("0.1", "0.25", "0.5", "0.75",
      "1.0"); ``mean`` is an average mAP over tIoU 0.5:0.05:0.95, a fraction in [0, 1] (as
      ``metrics.json``'s ``average_mAP``) unless ``"unit": "percent"``;
    * the document ``aher.reproduce`` writes (``fig6.json``, percent)::

        {"series": {"<setting>": {"<metric>": {"fractions": [0.1, ...],
                                                "AherNet*": [{"mean": m, "std": s, "n": k}, ...],
                                                "AherNet": {"mean": m, "std": s, "n": k}}}}, ...}

      of which ``--metric`` (default ``average_mAP``; ``AUC`` also works) is drawn.

    In both, ``std`` and ``n`` (runs averaged, shown in the legend) are optional / null, and a
    ``mean`` of null (no finished run) leaves that point out.  The plot shows percent.
    ``fig6(json_path, png_path)`` is the Python entry point (``aher.reproduce`` calls it).

``fig4 --config CFG --checkpoint RUN_A --checkpoint-b RUN_B [--config-b CFG_B] [--labels A B] [--out FILE.png]``
    Fig. 4: per-layer classification accuracy of two models.  Protocol: every GT instance of the
    evaluation videos (the ``eval`` store, annotations from ``gt.json``) whose label is a moment-set class is
    cut from the video's ``T``-step features (its grid span, reference §1.4) and resampled to the
    moment length ``T / 2`` with the reference resampling (§1.2, as the moment set was made), then
    classified by the pooled classifier of each anchor layer with the **moment-set** classifier
    ``W~_regv`` (the Cls branch, :meth:`AherNet.classify`).  Accuracy = top-1 over instances, per
    layer, plus "all layers" = the argmax of the layers' averaged softmax.  Cutting the instances
    (not whole videos) measures what the figure is about, how well each layer's features classify the
    action, without the background that dominates untrimmed videos.  Grouped bars per layer; the
    dashed line is chance (1 / K).  ``^`` in a label is drawn as a superscript (``AherNet^-``).

Limits: plotting and feature extraction only (no training, no scoring); matplotlib's Agg backend;
the model subcommands run the backbone on CPU in batches (t-SNE at paper scale: 1,200 synthetic
videos of 2048-d features, a GPU is advisable).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path

import numpy as np

from aher.cli import UserError, run_main

import matplotlib  # noqa: E402  (the backend must be chosen before pyplot is imported)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402

FOREGROUND_IOU = 0.5        # gscore > 0.5: foreground anchor (Fig. 5)
BACKGROUND_IOU = 0.3        # gscore < 0.3: background anchor (Fig. 5, reference §5.3)
RATIO_IDS = tuple(range(14, 20))
POS_IDS = (1, 19)
PCA_DIMS = 256
FIG6_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)      # fractions of annotated videos of the paper's Fig. 6
DPI = 120
SETTING_TITLES = {"anet_split": "ANet-UN \u2192 ANet-AM", "th14_anet": "TH14 \u2192 ANet-FG",
                  "k600": "ANet \u2192 Kinetics-600"}
KIND_STYLE = {"foreground": ("#d62728", "foreground (synthetic)"),
              "synthetic_bg": ("#1f77b4", "synthetic background"),
              "real_bg": ("#2ca02c", "real background")}


class PlotError(UserError):
    """A figure cannot be made from the given inputs (one line naming the file / video / key)."""


# =============================================================================================
# common helpers
# =============================================================================================

def _save(fig, png_path):
    path = Path(png_path)
    if path.parent and not path.parent.is_dir():
        plt.close(fig)
        raise PlotError(f"{path}: output folder {path.parent} does not exist")
    try:
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
    return path


def pretty_label(text):
    """``"AherNet^-"`` -> mathtext superscript ``"AherNet$^{-}$"``; labels with ``$`` are kept."""
    text = str(text)
    if "$" in text or "^" not in text:
        return text
    base, sup = text.split("^", 1)
    return f"{base}$^{{{sup}}}$"


def _load_json(path, role):
    from evaluation.io import EvaluationError, load_json

    try:
        return load_json(str(path), role)
    except EvaluationError as exc:
        raise PlotError(str(exc)) from None


def _match_id(video_id, keys):
    """The key of ``keys`` naming ``video_id``: exact, else with / without a leading ``v_``."""
    if video_id in keys:
        return video_id
    other = video_id[2:] if video_id.startswith("v_") else "v_" + video_id
    return other if other in keys else None


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PlotError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _segment(value, where):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise PlotError(f"{where}: segment must be [start, end], got {value!r}")
    start, end = (_number(v, where) for v in value)
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


# =============================================================================================
# timeline (Fig. 7 style)
# =============================================================================================

@dataclasses.dataclass
class TimelineVideo:
    video_id: str
    duration: float
    gt: list            # [(start, end, label)]
    detections: list    # [(start, end, label, score, tiou)], best first
    in_results: bool


def timeline_data(result_path, gt_path, videos, top=5):
    """Read the GT and the top-``top`` detections of ``videos`` -> list of :class:`TimelineVideo`."""
    if top < 1:
        raise PlotError(f"--top must be >= 1, got {top}")
    if not videos:
        raise PlotError("give at least one video id (--videos)")
    gt_data, gt_name = _load_json(gt_path, "ground truth")
    res_data, res_name = _load_json(result_path, "result")
    database = gt_data.get("database")
    results = res_data.get("results")
    if not isinstance(database, dict):
        raise PlotError(f"{gt_name}: no 'database' object (not an ActivityNet ground-truth file)")
    if not isinstance(results, dict):
        raise PlotError(f"{res_name}: no 'results' object (not an ActivityNet result file)")
    out = []
    for vid in videos:
        gt_key = _match_id(vid, database)
        if gt_key is None:
            raise PlotError(f"{gt_name}: no video {vid!r} in the ground truth")
        entry = database[gt_key]
        where = f"{gt_name}: video {gt_key!r}"
        if not isinstance(entry, dict):
            raise PlotError(f"{where}: entry is not an object")
        gts = []
        for k, ann in enumerate(entry.get("annotations") or []):
            start, end = _segment(ann.get("segment") if isinstance(ann, dict) else None, f"{where} annotation {k}")
            gts.append((start, end, str(ann.get("label", ""))))
        res_key = _match_id(vid, results)
        rows = results.get(res_key) if res_key is not None else []
        if not isinstance(rows, list):
            raise PlotError(f"{res_name}: results of video {res_key!r} are not a list")
        dets = []
        for k, row in enumerate(rows):
            rwhere = f"{res_name}: video {res_key!r} row {k}"
            if not isinstance(row, dict):
                raise PlotError(f"{rwhere}: not an object")
            start, end = _segment(row.get("segment"), rwhere)
            dets.append((start, end, str(row.get("label", "")), _number(row.get("score"), rwhere)))
        order = sorted(range(len(dets)), key=lambda i: -dets[i][3])[:top]      # stable: file order on ties
        spans = [(s, e) for s, e, _ in gts]
        detections = [dets[i] + (_tiou(dets[i][:2], spans),) for i in order]
        duration = entry.get("duration")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration > 0:
            duration = float(duration)
        else:
            ends = [e for _, e, _ in gts] + [d[1] for d in detections]
            duration = max(ends) if ends and max(ends) > 0 else 1.0
        out.append(TimelineVideo(gt_key, duration, gts, detections, res_key is not None))
    return out


def _bar_text(ax, start, end, y, text, lo, hi, color="black"):
    """Label a bar inside it when it is wide enough, else beside it (on the side with more room)."""
    span = hi - lo
    if (end - start) / span * 110 >= len(text):  # ~110 characters across the axis at fontsize 8
        ax.text((start + end) / 2, y, text, ha="center", va="center", fontsize=8, color=color, clip_on=True)
    elif end < lo + 0.6 * span:
        ax.text(end + 0.005 * span, y, text, ha="left", va="center", fontsize=8, clip_on=True)
    else:
        ax.text(start - 0.005 * span, y, text, ha="right", va="center", fontsize=8, clip_on=True)


def timeline(result_path, gt_path, videos, png_path, top=5):
    """Draw the Fig. 7-style timeline of ``videos`` into ``png_path``; returns the path.

    The axis spans ``[0, duration]``, widened to any segment drawn outside it (the evaluator does
    not clip segments); the duration is then marked by a dotted line.
    """
    data = timeline_data(result_path, gt_path, videos, top)
    scores = [d[3] for v in data for d in v.detections]
    vmax = max(max(scores), 1e-12) if scores else 1.0
    vmin = min(0.0, min(scores)) if scores else 0.0
    norm = mcolors.Normalize(vmin=vmin, vmax=vmax)
    cmap = plt.get_cmap("viridis")
    rows = top + 1
    heights = [0.32 * rows + 0.9 for _ in data]
    fig, axes = plt.subplots(len(data), 1, figsize=(11, sum(heights) + 0.4), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, video in zip(axes[:, 0], data):
        segments = [g[:2] for g in video.gt] + [d[:2] for d in video.detections]
        lo = min([0.0] + [s for s, _ in segments])
        hi = max([video.duration] + [e for _, e in segments])
        for start, end, label in video.gt:
            ax.barh(0, end - start, left=start, height=0.7, color="#bbbbbb", edgecolor="#444444", linewidth=0.8)
            _bar_text(ax, start, end, 0, label, lo, hi)
        if not video.gt:
            ax.text((lo + hi) / 2, 0, "no GT instance", ha="center", va="center", fontsize=8, style="italic")
        for k, (start, end, label, score, tiou) in enumerate(video.detections, start=1):
            ax.barh(k, end - start, left=start, height=0.7, color=cmap(norm(score)), edgecolor="#333333",
                    linewidth=0.5)
            text_color = "white" if norm(score) < 0.55 else "black"
            text = f"{label}  {score:.3f}  tIoU {tiou:.2f}" if label else f"{score:.3f}  tIoU {tiou:.2f}"
            _bar_text(ax, start, end, k, text, lo, hi, color=text_color)
        if not video.detections:
            msg = "no detections" if video.in_results else "video absent from the result file"
            ax.text((lo + hi) / 2, 1, msg, ha="center", va="center", fontsize=8, style="italic")
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
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.915, 0.15, 0.014, 0.7))
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, label="score")
    return _save(fig, png_path)


# =============================================================================================
# Fig. 6: annotation-ratio curves
# =============================================================================================

def _fig6_stat(value, where, scale, limit):
    """``{"mean": m, "std": s, "n": k}`` -> (mean %, std % or None, n or None), or None for a missing run."""
    if not isinstance(value, dict) or "mean" not in value:
        raise PlotError(f"{where}: expected {{\"mean\": m, \"std\": s}}, got {value!r}")
    if value["mean"] is None:
        return None
    mean = _number(value["mean"], f"{where} mean")
    if not 0.0 <= mean <= limit:
        hint = ' (percent values need "unit": "percent")' if limit == 1.0 and mean <= 100 else ""
        raise PlotError(f"{where}: mean {mean} is not an average mAP in [0, {limit:g}]{hint}")
    std = value.get("std")
    std = None if std is None else _number(std, f"{where} std")
    if std is not None and std < 0:
        raise PlotError(f"{where}: std must be >= 0, got {std}")
    n = value.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise PlotError(f"{where}: n must be a non-negative integer, got {n!r}")
    return mean * scale, (None if std is None else std * scale), n


def _fraction(key, where):
    try:
        f = float(key)
    except (TypeError, ValueError):
        raise PlotError(f"{where}: {key!r} is not a fraction") from None
    if not 0.0 < f <= 1.0:
        raise PlotError(f"{where}: fraction {key!r} is not in (0, 1]")
    return f


def load_fig6_numbers(source, metric="average_mAP"):
    """Validate a Fig. 6 numbers file (path or dict; both schemas of the module docstring).

    Returns ``{setting: {"aherNet": (mean, std, n) | None, "oracle": [(fraction, mean, std, n)]}}`` in
    percent, fractions sorted; ``std`` / ``n`` may be None; missing runs (``mean: null``) are left out.
    """
    if isinstance(source, dict):
        data, name = source, "<fig6 numbers>"
    else:
        data, name = _load_json(source, "Fig. 6 numbers")
    out = {}
    if "series" in data and "settings" not in data:          # the aher.reproduce document (percent)
        series = data["series"]
        if not isinstance(series, dict) or not series:
            raise PlotError(f"{name}: 'series' must be a non-empty object of setting -> metric -> curves")
        for setting, metrics in series.items():
            where = f"{name}: series.{setting}"
            if not isinstance(metrics, dict) or metric not in metrics:
                raise PlotError(f"{where}: no '{metric}' series")
            curve = metrics[metric]
            where += f".{metric}"
            if not isinstance(curve, dict) or not all(k in curve for k in ("fractions", "AherNet*", "AherNet")):
                raise PlotError(f"{where}: expected 'fractions', 'AherNet*' and 'AherNet'")
            fractions, oracle = curve["fractions"], curve["AherNet*"]
            if not isinstance(fractions, list) or not isinstance(oracle, list) or len(fractions) != len(oracle):
                raise PlotError(f"{where}: 'fractions' and 'AherNet*' must be lists of the same length")
            points = []
            for k, (frac, value) in enumerate(zip(fractions, oracle)):
                stat = _fig6_stat(value, f"{where}.AherNet*[{k}]", 1.0, 100.0)
                if stat is not None:
                    points.append((_fraction(frac, f"{where}.fractions[{k}]"),) + stat)
            out[str(setting)] = {"aherNet": _fig6_stat(curve["AherNet"], f"{where}.AherNet", 1.0, 100.0),
                                 "oracle": sorted(points)}
        return out

    unit = data.get("unit", "fraction")
    if unit not in ("fraction", "percent"):
        raise PlotError(f"{name}: 'unit' must be 'fraction' or 'percent', not {unit!r}")
    scale, limit = (100.0, 1.0) if unit == "fraction" else (1.0, 100.0)
    settings = data.get("settings")
    if not isinstance(settings, dict) or not settings:
        raise PlotError(f"{name}: 'settings' must be a non-empty object of setting -> numbers "
                        f"(or 'series' as written by aher.reproduce)")
    for setting, entry in settings.items():
        where = f"{name}: settings.{setting}"
        if not isinstance(entry, dict):
            raise PlotError(f"{where}: expected an object with 'aherNet' and 'oracle'")
        for key in ("aherNet", "oracle"):
            if key not in entry:
                raise PlotError(f"{where}: missing '{key}'")
        oracle = entry["oracle"]
        if not isinstance(oracle, dict) or not oracle:
            raise PlotError(f"{where}.oracle: expected a non-empty object fraction -> {{mean, std}}")
        points = []
        for frac, value in oracle.items():
            f = _fraction(frac, f"{where}.oracle")
            stat = _fig6_stat(value, f"{where}.oracle.{frac}", scale, limit)
            if stat is not None:
                points.append((f,) + stat)
        out[str(setting)] = {"aherNet": _fig6_stat(entry["aherNet"], f"{where}.aherNet", scale, limit),
                             "oracle": sorted(points)}
    return out


def fig6(json_path, png_path, metric="average_mAP"):
    """Draw Fig. 6 (annotation-ratio curves) from ``json_path`` into ``png_path``; returns the path.

    ``metric`` selects the series of an ``aher.reproduce`` document (``"average_mAP"`` or ``"AUC"``);
    the ``settings`` schema holds average mAP only.
    """
    numbers = load_fig6_numbers(json_path, metric)
    ylabel = "average mAP (%)" if metric == "average_mAP" else f"{metric} (%)"
    n = len(numbers)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n + 0.4, 3.9), squeeze=False)
    for ax, (setting, entry) in zip(axes[0], numbers.items()):
        ax.set_title(SETTING_TITLES.get(setting, setting), fontsize=10)
        ax.set_xlabel("annotated videos (%)", fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.3)
        ax.set_xlim(0, 104)
        fractions = sorted({100.0 * f for f in FIG6_FRACTIONS} | {100.0 * p[0] for p in entry["oracle"]})
        ax.set_xticks(fractions)
        ax.set_xticklabels([f"{x:g}" for x in fractions], fontsize=8)
        levels = []
        if entry["aherNet"] is not None:
            a_mean, a_std, a_n = entry["aherNet"]
            ax.axhline(a_mean, color="#d62728", linestyle="--", linewidth=1.6,
                       label="AherNet" + (f" (n={a_n})" if a_n is not None else ""))
            if a_std:
                ax.axhspan(a_mean - a_std, a_mean + a_std, color="#d62728", alpha=0.12, linewidth=0)
            ax.text(0.01, a_mean, f" {a_mean:.1f}", transform=ax.get_yaxis_transform(), ha="left", va="bottom",
                    fontsize=7, color="#d62728")
            levels += [a_mean - (a_std or 0.0), a_mean + (a_std or 0.0)]
        if entry["oracle"]:
            fr = np.array([p[0] for p in entry["oracle"]]) * 100.0
            mean = np.array([p[1] for p in entry["oracle"]])
            std = np.array([0.0 if p[2] is None else p[2] for p in entry["oracle"]])
            runs = sorted({p[3] for p in entry["oracle"] if p[3] is not None})
            label = "AherNet* (oracle)" + (f" (n={'/'.join(map(str, runs))})" if runs else "")
            ax.errorbar(fr, mean, yerr=std if std.any() else None, color="#1f77b4", marker="o", linewidth=1.8,
                        capsize=3, label=label)
            for k, (x, y) in enumerate(zip(fr, mean)):
                last = k == len(fr) - 1                    # beside the marker, clear of the error bar
                ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(-6, 2) if last else (6, -2),
                            ha="right" if last else "left", va="bottom" if last else "top", fontsize=7,
                            color="#1f77b4")
            levels += list(mean - std) + list(mean + std)
        if not levels:
            ax.text(0.5, 0.5, "no finished run", transform=ax.transAxes, ha="center", va="center", style="italic")
            ax.set_yticks([])
            continue
        top, bottom = max(levels), min(levels)
        pad = max(0.12 * (top - bottom), 0.5)
        ax.set_ylim(max(0.0, bottom - pad), top + pad)
        ax.tick_params(axis="y", labelsize=8)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _save(fig, png_path)


# =============================================================================================
# model helpers (TF1 style graphs on a trained checkpoint)
# =============================================================================================

def _quiet_tf():
    """Command line only: no TensorFlow C++ info lines and no Python deprecation notices."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def resolve_checkpoint(path):
    """A run folder, its ``checkpoints/`` folder or a checkpoint prefix -> the checkpoint prefix."""
    import tensorflow as tf

    path = Path(path)
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if folder.is_dir():
        latest = tf.train.latest_checkpoint(str(folder))
        if not latest:
            raise PlotError(f"{folder}: no checkpoint found")
        return latest
    if Path(str(path) + ".index").is_file():
        return str(path)
    raise PlotError(f"{path}: neither a run folder nor a checkpoint")


def restore_variables(session, variables, checkpoint, purpose):
    """Restore ``variables`` from ``checkpoint``; every one must exist there with its shape."""
    import tensorflow as tf

    try:
        stored = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as exc:
        raise PlotError(f"{checkpoint}: cannot read the checkpoint ({str(exc).splitlines()[0]})") from None
    missing = [v.op.name for v in variables if v.op.name not in stored]
    if missing:
        raise PlotError(f"{checkpoint}: has no {missing[0]} ({len(missing)} variable(s) missing); {purpose}")
    for v in variables:
        if list(stored[v.op.name]) != v.shape.as_list():
            raise PlotError(f"{checkpoint}: {v.op.name} has shape {stored[v.op.name]}, the config gives "
                            f"{v.shape.as_list()} (is --config the run's config?)")
    with session.graph.as_default():
        tf.compat.v1.train.Saver(variables).restore(session, checkpoint)


def _grid_boxes(video, length):
    """GT instances of an annotation record on the ``length``-step grid (reference §1.4): [k, 2]."""
    covered = float(video.covered_seconds)
    t = np.array([[i.start, i.end] for i in video.instances], dtype=np.float64).reshape(-1, 2)
    if not covered > 0:
        return np.zeros((0, 2))
    return np.clip(t / covered, 0.0, 1.0) * length


def _store_ids(path):
    from aher.data.features import FeatureStore

    with FeatureStore(path) as store:
        return store.ids()


def _read_rows(path, ids, shape):
    from aher.data.features import FeatureStore

    out = np.empty((len(ids),) + tuple(shape), np.float32)
    with FeatureStore(path) as store:
        for k, vid in enumerate(ids):
            x = store.get(vid)
            if tuple(x.shape) != tuple(shape):
                raise PlotError(f"{path}: {vid!r} has features of shape {list(x.shape)}, expected {list(shape)} "
                                f"(model.temporal_length / feature_dim of the config)")
            out[k] = x
    return out


def _batches(n, size):
    for start in range(0, n, size):
        yield start, min(start + size, n)


# =============================================================================================
# Fig. 5: t-SNE of anchor features
# =============================================================================================

@dataclasses.dataclass
class AnchorFeatures:
    """Per-layer cell features and anchor gscores of the synthetic and the real videos.

    ``synthetic[j]`` / ``real[j]``: (features [n_videos, T_j, C_j], gscores [n_videos, T_j, A]).
    """

    layers: list
    synthetic: list
    real: list
    n_moments: int
    n_real: int


def _synthetic_plan(n_moments, rng):
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


def collect_anchor_features(config, checkpoint, n_moments=200, seed=0, batch_size=16, log=None):
    """Run the checkpoint's backbone on synthetic and real videos (see the module docstring)."""
    import tensorflow as tf

    from aher.datasets import resolve_dataset
    from aher.model.context import ContextConfig, synthesize_untrimmed
    from aher.model.graph import AherNet, ModelConfig
    from aher.model.matcher import match_anchors_np

    log = log or (lambda *a: None)
    if n_moments < 1:
        raise PlotError(f"--moments must be >= 1, got {n_moments}")
    dataset = resolve_dataset(config, needed=("gt", "moments_train", "untrimmed_train"), log=log, progress=False)
    model = ModelConfig.from_dict(config["model"])
    total, half, dim = model.temporal_length, model.moment_length, model.feature_dim
    ctx = dataclasses.replace(ContextConfig(**config["context"]), fix_odd_gt=True)
    batch = batch_size + batch_size % 2          # even: sample parity = position parity
    graph = tf.Graph()
    with graph.as_default():
        mom_in = tf.compat.v1.placeholder(tf.float32, [batch, half, dim], name="moments")
        ratio_in = tf.compat.v1.placeholder(tf.int32, [batch], name="ratio_id")
        pos_in = tf.compat.v1.placeholder(tf.int32, [batch], name="pos_id")
        real_in = tf.compat.v1.placeholder(tf.float32, [None, total, dim], name="real_videos")
        net = AherNet(model, {})
        video, gt = synthesize_untrimmed(mom_in, ratio_in, pos_in, ctx, total)
        syn_points = net.end_points(video)
        real_points = net.end_points(real_in)
        variables = tf.compat.v1.global_variables()
        session = tf.compat.v1.Session(graph=graph)
    layers = net.layers
    try:
        restore_variables(session, variables, checkpoint,
                          "Fig. 5 needs the backbone and the context generators of an Algorithm-1 run")
        rng = np.random.default_rng(seed)
        moment_ids = _store_ids(dataset.path("moments_train"))
        pick = np.sort(rng.choice(len(moment_ids), size=min(n_moments, len(moment_ids)), replace=False))
        moments = _read_rows(dataset.path("moments_train"), [moment_ids[i] for i in pick], (half, dim))
        plan = _synthetic_plan(len(moments), rng)

        by_id = {v.video_id: v for v in dataset.videos}
        real_ids = [v for v in _store_ids(dataset.path("untrimmed_train")) if v in by_id and by_id[v].instances]
        if not real_ids:
            raise PlotError(f"{dataset.path('untrimmed_train')}: no annotated video")
        chosen = np.sort(rng.choice(len(real_ids), size=min(len(plan), len(real_ids)), replace=False))
        real_ids = [real_ids[i] for i in chosen]
        real_gt = [_grid_boxes(by_id[v], total) for v in real_ids]
        log(f"{len(plan)} synthetic videos from {len(moments)} moments, {len(real_ids)} real videos")

        syn_feats = [[] for _ in layers]
        syn_gt = []
        for lo, hi in _batches(len(plan), batch):
            rows = plan[lo:hi] + [plan[0]] * (batch - (hi - lo))       # pad: parity of the pads is unused
            feed = {mom_in: moments[[r[0] for r in rows]], ratio_in: [r[1] for r in rows],
                    pos_in: [r[2] for r in rows]}
            points, boxes = session.run([syn_points, gt], feed)
            for j, p in enumerate(points):
                syn_feats[j].append(p[: hi - lo])
            syn_gt.append(boxes[: hi - lo])
        real_feats = [[] for _ in layers]
        for lo, hi in _batches(len(real_ids), batch):                  # read batch by batch (memory)
            real = _read_rows(dataset.path("untrimmed_train"), real_ids[lo:hi], (total, dim))
            for j, p in enumerate(session.run(real_points, {real_in: real})):
                real_feats[j].append(p)
    finally:
        session.close()

    syn_scores = match_anchors_np(np.concatenate(syn_gt), layers, total)["gscores"]
    width = max(len(g) for g in real_gt)
    padded = np.full((len(real_gt), max(width, 1), 2), -1.0, np.float32)
    for k, g in enumerate(real_gt):
        padded[k, : len(g)] = g
    real_scores = match_anchors_np(padded, layers, total)["gscores"]

    def split(scores):
        out, offset = [], 0
        for layer in layers:
            n = layer.length * len(layer.widths)
            out.append(scores[:, offset:offset + n].reshape(len(scores), layer.length, len(layer.widths)))
            offset += n
        return out

    syn_split, real_split = split(syn_scores), split(real_scores)
    return AnchorFeatures(layers=layers,
                          synthetic=[(np.concatenate(syn_feats[j]), syn_split[j]) for j in range(len(layers))],
                          real=[(np.concatenate(real_feats[j]), real_split[j]) for j in range(len(layers))],
                          n_moments=len(moments), n_real=len(real_ids))


def anchor_cells(features, layer_pos):
    """Cells of each anchor kind at one layer (0-based position in ``features.layers``).

    Returns ``{kind: (features [n, C_j], video index [n], cell index [n])}``: a cell belongs to a kind
    when at least one of its anchors does (one point per cell and kind).
    """
    out = {}
    for kind, (feats, scores), rule in (("foreground", features.synthetic[layer_pos], lambda g: g > FOREGROUND_IOU),
                                        ("synthetic_bg", features.synthetic[layer_pos], lambda g: g < BACKGROUND_IOU),
                                        ("real_bg", features.real[layer_pos], lambda g: g < BACKGROUND_IOU)):
        videos, cells = np.nonzero(rule(scores).any(axis=-1))
        out[kind] = (feats[videos, cells], videos, cells)
    return out


def kind_counts(features):
    """[(layer index j, {kind: number of cells})] for every layer."""
    return [(layer.index, {k: len(v[1]) for k, v in anchor_cells(features, pos).items()})
            for pos, layer in enumerate(features.layers)]


def choose_layer(features, layer="auto"):
    """0-based position of the layer to plot: ``"auto"`` = most cells of the scarcest kind (ties: finer)."""
    counts = kind_counts(features)
    if layer != "auto":
        j = int(layer)
        pos = [c[0] for c in counts].index(j) if j in [c[0] for c in counts] else None
        if pos is None:
            raise PlotError(f"--layer {j}: the model has anchor layers 1..{len(counts)}")
        if min(counts[pos][1].values()) == 0:
            empty = [k for k, v in counts[pos][1].items() if v == 0]
            raise PlotError(f"--layer {j} has no {empty[0].replace('_', ' ')} anchor; per-layer counts: "
                            + "; ".join(f"L{i} " + ", ".join(f"{k} {v}" for k, v in c.items()) for i, c in counts))
        return pos
    best = max(range(len(counts)), key=lambda p: (min(counts[p][1].values()), -p))
    if min(counts[best][1].values()) == 0:
        raise PlotError("no anchor layer holds all three kinds of anchors (foreground, synthetic and real "
                        "background); use more moments (--moments)")
    return best


def knn_accuracy(x, labels, k=10, seed=0):
    """Leave-one-out k-NN accuracy of telling two classes apart, on a class-balanced subsample.

    The larger class is subsampled (``seed``) to the size of the smaller one, so chance is 50 %
    whatever the counts; majority vote over the ``k`` nearest neighbours, a tie counts as wrong.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    names, counts = np.unique(labels, return_counts=True)
    if len(names) == 2 and counts.min() >= 2:
        rng = np.random.default_rng(seed)
        keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), counts.min(), replace=False)
                                       for c in names]))
        x, labels = x[keep], labels[keep]
    if len(x) <= k:
        k = max(1, len(x) - 1)
    sq = np.einsum("ij,ij->i", x, x)
    d = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.fill_diagonal(d, np.inf)
    nn = np.argpartition(d, k - 1, axis=1)[:, :k]
    votes = (labels[nn] == labels[:, None]).sum(axis=1)
    return float(np.mean(votes * 2 > k))


def tsne_figure(config, checkpoint, png_path, n_moments=200, n_anchors=500, seed=0, layer="auto",
                perplexity=30.0, n_iter=1000, log=None):
    """Fig. 5 into ``png_path`` (see the module docstring); returns ``(path, info dict)``."""
    from aher.tsne import pca, tsne

    if n_anchors < 2:
        raise PlotError(f"--anchors must be >= 2, got {n_anchors}")
    checkpoint = resolve_checkpoint(checkpoint)
    features = collect_anchor_features(config, checkpoint, n_moments, seed, log=log)
    pos = choose_layer(features, layer)
    j = features.layers[pos].index
    cells = anchor_cells(features, pos)
    rng = np.random.default_rng([seed, 1])
    xs, kinds = [], []
    for kind in KIND_STYLE:
        feats = cells[kind][0]
        take = np.sort(rng.choice(len(feats), size=min(n_anchors, len(feats)), replace=False))
        xs.append(feats[take])
        kinds += [kind] * len(take)
    x = np.concatenate(xs).astype(np.float64)
    kinds = np.array(kinds)
    if len(x) < 5:
        raise PlotError(f"layer {j} gives only {len(x)} anchors in all; use more moments (--moments)")
    reduced, ratio = pca(x, min(PCA_DIMS, x.shape[1], len(x) - 1))
    bg = kinds != "foreground"
    separability = knn_accuracy(reduced[bg], kinds[bg])
    result = tsne(reduced, perplexity=perplexity, n_iter=n_iter, seed=seed)
    y = result.embedding

    fig, ax = plt.subplots(figsize=(7.2, 6.6))
    for kind, (color, name) in KIND_STYLE.items():
        sel = kinds == kind
        ax.scatter(y[sel, 0], y[sel, 1], s=9, c=color, alpha=0.75, linewidths=0, label=f"{name} ({sel.sum()})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, markerscale=2.0, frameon=False,
              handletextpad=0.2, columnspacing=1.2)
    width = x.shape[1]
    ax.set_title(f"Fig. 5: t-SNE of anchor features, layer conv_a{j} ({width}-d \u2192 PCA {reduced.shape[1]} "
                 f"\u2192 2-D)\n{features.n_moments} moments \u00d7 6 lengths, {features.n_real} real videos; "
                 f"{Path(checkpoint).name}", fontsize=10)
    fig.text(0.5, 0.012, f"synthetic vs real background, 10-NN accuracy in PCA space: {100 * separability:.1f} % "
             f"(balanced, 50 % = indistinguishable); t-SNE KL {result.kl_divergence:.2f}",
             ha="center", fontsize=7.5, color="#444444")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    info = {"layer": j, "counts": {k: int((kinds == k).sum()) for k in KIND_STYLE},
            "available": {k: len(v[1]) for k, v in cells.items()}, "separability": separability,
            "kl": result.kl_divergence, "pca_dims": int(reduced.shape[1]), "checkpoint": checkpoint}
    return _save(fig, png_path), info


# =============================================================================================
# Fig. 4: per-layer classification accuracy
# =============================================================================================

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
        from aher.data.features import FeatureStore, resize

        total, half, dim = self.shape
        pending, video, x = [], None, None
        with FeatureStore(self.store) as store:
            for vid, lo, hi, _ in self.spans:
                if vid != video:
                    video, x = vid, store.get(vid)
                    if tuple(x.shape) != (total, dim):
                        raise PlotError(f"{self.store}: {vid!r} has features of shape {list(x.shape)}, expected "
                                        f"{[total, dim]} (model.temporal_length / feature_dim of the config)")
                rows = x[lo:hi]
                # one grid step = one "feature" of 8 frames at 8 fps: the §1.2 resampling of the cut rows
                pending.append(resize(rows, n_frames=8 * len(rows), duration=float(len(rows)), length=half))
                if len(pending) == size:
                    yield np.stack(pending)
                    pending = []
        if pending:
            yield np.stack(pending)


def eval_instances(config, log=None):
    """The GT instances of the evaluation videos with a moment-set label (:class:`EvalInstances`).

    An instance spans the grid rows ``floor(start) .. ceil(end)`` of its video (reference §1.4
    grid), at least 2 rows.
    """
    from aher.datasets import resolve_dataset
    from aher.model.graph import ModelConfig

    dataset = resolve_dataset(config, needed=("gt", "classes_moment", "eval"), log=log or (lambda *a: None),
                              progress=False)
    model = ModelConfig.from_dict(config["model"])
    total = model.temporal_length
    classes = dataset.classes["moment"]
    index = {c: i for i, c in enumerate(classes)}
    by_id = {v.video_id: v for v in dataset.videos}
    spans = []
    for vid in _store_ids(dataset.path("eval")):
        video = by_id.get(vid)
        if video is None:
            continue
        for inst, (gs, ge) in zip(video.instances, _grid_boxes(video, total)):
            if inst.label not in index:
                continue
            lo = min(int(np.floor(gs)), total - 2)
            hi = min(max(int(np.ceil(ge)), lo + 2), total)
            spans.append((vid, lo, hi, index[inst.label]))
    if not spans:
        raise PlotError(f"{dataset.path('eval')}: no evaluation instance with a moment-set label")
    return EvalInstances(store=dataset.path("eval"), spans=spans, classes=list(classes),
                         shape=(total, model.moment_length, model.feature_dim))


def layer_accuracy(config, checkpoint, instances, batch_size=64):
    """Top-1 accuracy per anchor layer (and of the layer-averaged softmax) of one checkpoint.

    Args:
      instances: :class:`EvalInstances`.
    Returns ``(per-layer accuracies [L], mean-softmax accuracy)``.
    """
    import tensorflow as tf

    from aher.model.graph import AherNet, ModelConfig

    model = ModelConfig.from_dict(config["model"])
    checkpoint = resolve_checkpoint(checkpoint)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, model.moment_length, model.feature_dim], name="instances")
        net = AherNet(model, {"moment": len(instances.classes)})
        logits = net.classify(x, "moment")["logits"]
        probs = tf.stack([tf.nn.softmax(t) for t in logits], axis=0)          # [L, B, K]
        variables = tf.compat.v1.global_variables()
        session = tf.compat.v1.Session(graph=graph)
    predictions = [[] for _ in range(len(logits) + 1)]                          # per layer, then fused
    try:
        restore_variables(session, variables, checkpoint,
                          "Fig. 4 needs the backbone and the moment-set classifier (cls_moment)")
        for feats in instances.batches(batch_size):
            p = session.run(probs, {x: feats})
            for j in range(len(logits)):
                predictions[j].append(np.argmax(p[j], axis=1))
            predictions[-1].append(np.argmax(p.mean(axis=0), axis=1))
    finally:
        session.close()
    labels = instances.labels
    accuracy = [float(np.mean(np.concatenate(pred) == labels)) for pred in predictions]
    return accuracy[:-1], accuracy[-1]


def fig4(config, checkpoint_a, checkpoint_b, png_path, labels=("AherNet", "AherNet^-"), config_b=None, log=None):
    """Fig. 4 into ``png_path`` (see the module docstring); returns ``(path, info dict)``."""
    if len(labels) != 2:
        raise PlotError(f"--labels takes two names, got {len(labels)}")
    config_b = config_b or config
    inst_a = eval_instances(config, log)
    inst_b = inst_a if config_b is config else eval_instances(config_b, log)
    if inst_a.spans != inst_b.spans:
        raise PlotError("the two configs give different evaluation instances; Fig. 4 compares models on one set")
    acc_a, fused_a = layer_accuracy(config, checkpoint_a, inst_a)
    acc_b, fused_b = layer_accuracy(config_b, checkpoint_b, inst_b)
    if len(acc_a) != len(acc_b):
        raise PlotError(f"the two models have {len(acc_a)} and {len(acc_b)} anchor layers")
    groups = [f"conv_a{j}" for j in range(1, len(acc_a) + 1)] + ["all layers\n(mean p)"]
    values = np.array([acc_a + [fused_a], acc_b + [fused_b]]) * 100.0
    n_classes = len(inst_a.classes)
    fig, ax = plt.subplots(figsize=(1.0 * len(groups) + 2.6, 4.2))
    pos = np.arange(len(groups), dtype=float)
    width = 0.38
    for k, (label, color) in enumerate(zip(labels, ("#d62728", "#1f77b4"))):
        bars = ax.bar(pos + (k - 0.5) * width, values[k], width, color=color, label=pretty_label(label),
                      edgecolor="#333333", linewidth=0.5)
        for bar, v in zip(bars, values[k]):
            ax.text(bar.get_x() + bar.get_width() / 2, v + 0.8, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(100.0 / n_classes, color="#555555", linestyle="--", linewidth=0.9,
               label=f"chance (1/{n_classes})")
    ax.axvline(len(groups) - 1.5, color="#999999", linewidth=0.6)
    ax.set_xticks(pos)
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylim(0, min(100.0, values.max() + 8) if values.max() < 99 else 105.0)
    ax.set_ylabel("top-1 accuracy (%)", fontsize=9)
    ax.set_xlabel("anchor layer (pooled moment-set classifier)", fontsize=9)
    ax.set_title(f"Fig. 4: per-layer classification accuracy on {len(inst_a.spans)} evaluation instances",
                 fontsize=10, pad=24)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    info = {"layers": groups[:-1] + ["all"], labels[0]: values[0].tolist(), labels[1]: values[1].tolist(),
            "instances": len(inst_a.spans), "classes": n_classes}
    return _save(fig, png_path), info


# =============================================================================================
# command line
# =============================================================================================

def _existing(path, what):
    if not Path(path).exists():
        raise PlotError(f"{path}: no such {what}")
    return path


def _load(config_path, sets):
    from aher.config import load_config

    return load_config(_existing(config_path, "config file"), sets)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.plots", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="figure", required=True, metavar="FIGURE")

    t = sub.add_parser("timeline", help="Fig. 7 style: GT and top detections per video")
    t.add_argument("result", help="ActivityNet result JSON (.json or .json.gz)")
    t.add_argument("gt", help="ActivityNet ground-truth JSON")
    t.add_argument("--videos", nargs="+", required=True, metavar="ID", help="video ids to draw")
    t.add_argument("--top", type=int, default=5, help="detections per video (default 5)")
    t.add_argument("--out", help="PNG path (default: <result>_timeline.png beside the result file)")

    s = sub.add_parser("tsne", help="Fig. 5: t-SNE of foreground / synthetic / real background anchors")
    s.add_argument("--config", required=True, help="the run's YAML config")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    s.add_argument("--checkpoint", required=True, help="run folder, its checkpoints/ folder, or a checkpoint prefix")
    s.add_argument("--moments", type=int, default=200, help="moments of the moment set (default 200)")
    s.add_argument("--anchors", type=int, default=500, help="anchors (cells) of each kind (default 500)")
    s.add_argument("--layer", default="auto", help="anchor layer j, or auto (default)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--iterations", type=int, default=1000, help="t-SNE iterations (default 1000)")
    s.add_argument("--out", help="PNG path (default: <run>/fig5_tsne.png)")

    f = sub.add_parser("fig6", help="Fig. 6: annotation-ratio curves from a numbers JSON")
    f.add_argument("numbers", help="numbers JSON, e.g. fig6.json of aher.reproduce (schemas: module docstring)")
    f.add_argument("--metric", default="average_mAP", help="series of an aher.reproduce document (default average_mAP)")
    f.add_argument("--out", help="PNG path (default: beside the JSON, .png)")

    g = sub.add_parser("fig4", help="Fig. 4: per-layer classification accuracy of two models")
    g.add_argument("--config", required=True, help="config of model A (and of B unless --config-b)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    g.add_argument("--checkpoint", required=True, help="model A: run folder or checkpoint prefix")
    g.add_argument("--checkpoint-b", required=True, help="model B: run folder or checkpoint prefix")
    g.add_argument("--config-b", help="config of model B (default: --config)")
    g.add_argument("--labels", nargs=2, default=["AherNet", "AherNet^-"], metavar=("A", "B"))
    g.add_argument("--out", help="PNG path (default: <run A>/fig4_layer_accuracy.png)")
    return p


def _run_folder(checkpoint):
    path = Path(checkpoint)
    if path.is_dir():
        return path.parent if path.name == "checkpoints" else path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def main(argv=None):
    args = build_parser().parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if args.figure == "timeline":
        result = Path(_existing(args.result, "result file"))
        _existing(args.gt, "ground-truth file")
        out = args.out or result.with_name(result.name.split(".")[0] + "_timeline.png")
        path = timeline(result, args.gt, args.videos, out, top=args.top)
    elif args.figure == "fig6":
        numbers = Path(_existing(args.numbers, "numbers file"))
        path = fig6(numbers, args.out or numbers.with_suffix(".png"), metric=args.metric)
    elif args.figure == "tsne":
        _quiet_tf()
        config = _load(args.config, args.set)
        if not Path(str(args.checkpoint) + ".index").is_file():
            _existing(args.checkpoint, "checkpoint")
        out = args.out or _run_folder(args.checkpoint) / "fig5_tsne.png"
        path, info = tsne_figure(config, args.checkpoint, out, n_moments=args.moments, n_anchors=args.anchors,
                                 seed=args.seed, layer=args.layer, n_iter=args.iterations, log=log)
        log(f"layer conv_a{info['layer']}: " + ", ".join(f"{k} {v}/{info['available'][k]}"
                                                         for k, v in info["counts"].items())
            + f"; background 10-NN separability {100 * info['separability']:.1f} %")
    else:
        _quiet_tf()
        config = _load(args.config, args.set)
        config_b = _load(args.config_b, args.set) if args.config_b else None
        for ck in (args.checkpoint, args.checkpoint_b):
            if not Path(str(ck) + ".index").is_file():
                _existing(ck, "checkpoint")
        out = args.out or _run_folder(args.checkpoint) / "fig4_layer_accuracy.png"
        path, info = fig4(config, args.checkpoint, args.checkpoint_b, out, labels=args.labels, config_b=config_b,
                          log=log)
        log("per-layer accuracy (%): " + "; ".join(
            f"{name}: " + " ".join(f"{v:.1f}" for v in info[name]) for name in args.labels))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
