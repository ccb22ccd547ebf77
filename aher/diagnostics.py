"""Diagnostics of finished runs: how long are the detections, compared with the ground truth?

  python -m aher.diagnostics lengths GT.json RUN_DIR [RUN_DIR ...] [--top-k 5] [--out FILE.md]

Contract: ``detection_lengths(results, videos, top_k)`` returns the lengths (fraction of the
video's duration) of the ``top_k`` highest-scored detections of every video of a result dict;
``gt_lengths(videos)`` those of the GT instances.  The CLI reads a GT file (subset
``validation``) and each run folder's result JSON (named by its ``metrics.json``), and prints
(or writes) a markdown table: median / mean / share of detections shorter than 10 % of the
video, GT first.  It explains orderings such as a localization model that learned another
dataset's short instances.
Limits: lengths only; no scores, no matching (the evaluators do that).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from aher.cli import UserError, run_main
from aher.data.annotations import read_activitynet_json


def gt_lengths(videos, subset="validation"):
    """Relative lengths of every GT instance of the videos of ``subset``."""
    return np.array([(i.end - i.start) / v.duration for v in videos if v.subset == subset and v.duration > 0
                     for i in v.instances], dtype=float)


def detection_lengths(results, videos, top_k=5):
    """Relative lengths of each video's ``top_k`` best detections (videos without GT duration are skipped)."""
    durations = {v.video_id: v.duration for v in videos}
    out = []
    for video, detections in results.items():
        duration = durations.get(video)
        if not duration:
            continue
        best = sorted(detections, key=lambda d: -float(d["score"]))[:top_k]
        out += [(float(d["segment"][1]) - float(d["segment"][0])) / duration for d in best]
    return np.array(out, dtype=float)


def summary(lengths):
    if lengths.size == 0:
        return {"n": 0, "median": None, "mean": None, "short": None}
    return {"n": int(lengths.size), "median": float(np.median(lengths)), "mean": float(lengths.mean()),
            "short": float((lengths < 0.1).mean())}


def _results_of(run_dir):
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise UserError(f"{metrics_path}: missing (not a finished run)")
    name = json.loads(metrics_path.read_text()).get("results_file")
    if not name or not (run_dir / name).is_file():
        raise UserError(f"{metrics_path}: results_file names no file in {run_dir}")
    return json.loads((run_dir / name).read_text())["results"]


def lengths_table(gt_path, run_dirs, top_k=5):
    videos = read_activitynet_json(gt_path)
    rows = [("GT instances", summary(gt_lengths(videos)))]
    for run in run_dirs:
        rows.append((str(run), summary(detection_lengths(_results_of(run), videos, top_k))))
    lines = [f"Lengths as a fraction of the video; detections: the top {top_k} per video.", "",
             "| what | n | median | mean | shorter than 10 % |", "|---|---:|---:|---:|---:|"]
    for name, s in rows:
        if s["n"] == 0:
            lines.append(f"| {name} | 0 | – | – | – |")
        else:
            lines.append(f"| {name} | {s['n']} | {s['median']:.2f} | {s['mean']:.2f} | {100 * s['short']:.0f} % |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m aher.diagnostics", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    lengths = sub.add_parser("lengths", help="detection lengths of finished runs against the GT's")
    lengths.add_argument("gt", help="ActivityNet-format GT file (its validation videos are scored)")
    lengths.add_argument("runs", nargs="+", help="run folders with metrics.json and their result JSON")
    lengths.add_argument("--top-k", type=int, default=5, help="best detections per video (default 5)")
    lengths.add_argument("--out", help="write the markdown table here instead of printing it")
    args = p.parse_args(argv)
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    text = lengths_table(args.gt, args.runs, args.top_k)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
