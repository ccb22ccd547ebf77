"""Diagnostics of runs: detection lengths against the GT, and Algorithm 1's mechanism.

  python -m aher.diagnostics lengths GT.json RUN_DIR [RUN_DIR ...] [--top-k 5] [--out FILE.md]
  python -m aher.diagnostics mechanism RUN_DIR [--iteration N]

Contract: ``detection_lengths(results, videos, top_k)`` returns the lengths (fraction of the
video's duration) of the ``top_k`` highest-scored detections of every video of a result dict;
``gt_lengths(videos)`` those of the GT instances.  The CLI reads a GT file (subset
``validation``) and each run folder's result JSON (named by its ``metrics.json``), and prints
(or writes) a markdown table: median / mean / share of detections shorter than 10 % of the
video, GT first.  It explains orderings such as a localization model that learned another
dataset's short instances.
``mechanism`` prints the record of ``RUN_DIR/diagnostics.json`` (written at every snapshot of an
Algorithm-1 run, ``aher.train.mechanism``) for the latest iteration or ``--iteration N``:
per anchor layer D's accuracy on real / generated background and the probe AUC, G's output
statistics beside real background, and where D's background anchors of the synthetic videos
lie (moment / generated context / straddling) under both masks.  A run without the file, or
an iteration it lacks, is a one-line error (exit 2).
Limits: lengths only; no scores, no matching (the evaluators do that).  ``mechanism`` reads the
file only; it measures nothing.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from aher.cli import run_main
from aher.errors import UserError
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


def _num(value, digits=2, percent=False):
    if value is None:
        return "–"
    return f"{100 * value:.1f} %" if percent else f"{value:.{digits}f}"


def read_mechanism(run_dir, iteration=None):
    """``(iteration, record)`` from ``run_dir/diagnostics.json`` (latest iteration by default)."""
    path = Path(run_dir) / "diagnostics.json"
    if not path.is_file():
        raise UserError(f"{path}: missing (mechanism diagnostics are written at the snapshots of "
                        "train.method algorithm1 / no_adversary runs)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not data:
        raise UserError(f"{path}: no record")
    if iteration is None:
        iteration = max(int(k) for k in data)
    if str(iteration) not in data:
        raise UserError(f"{path}: no record for iteration {iteration} (have {', '.join(sorted(data, key=int))})")
    return int(iteration), data[str(iteration)]


def mechanism_table(run_dir, iteration=None):
    """Markdown report of one mechanism-diagnostics record (see module doc)."""
    iteration, rec = read_mechanism(run_dir, iteration)
    lines = [f"Mechanism diagnostics of {run_dir} at iteration {iteration} (method {rec['method']}, "
             f"mask {rec['mask']}; {rec['measurements']} measurements, iterations "
             f"{rec['first_iteration']}-{rec['last_iteration']}, {rec['seconds_per_measurement']:.2f} s each)", "",
             "Per anchor layer: D's accuracy on background anchors (real: D > 0.5, generated: D < 0.5; "
             "0.50 = chance) and the held-out AUC of a linear probe, generated context vs real background "
             "(0.50 = indistinguishable).", "",
             "| layer | D acc. real | D acc. generated | D acc. mean | anchors real / gen. | probe AUC "
             "| probe rows gen. / real |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    disc = rec.get("discriminator")
    d_rows = {str(r["layer"]): r for r in disc["layers"]} if disc else {}
    if disc:
        d_rows["all"] = disc["all"]
    probe = rec.get("probe", {})
    names = ["input"] + sorted({k.split("_", 1)[1] for k in probe if k.startswith("layer_")} | set(d_rows) - {"all"},
                               key=int) + (["all"] if disc else [])
    for name in names:
        d = d_rows.get(name)
        p = probe.get("input" if name == "input" else f"layer_{name}")
        d_cells = ("–", "–", "–", "–") if d is None else (
            _num(d["real_accuracy"]), _num(d["generated_accuracy"]), _num(d["accuracy"]),
            f"{d['real_anchors']} / {d['generated_anchors']}")
        p_cells = ("–", "–") if p is None else (_num(p["auc"], 3), f"{p['generated_rows']} / {p['real_rows']}")
        lines.append(f"| {name} | " + " | ".join(d_cells + p_cells) + " |")
    gen = rec["generator"]
    lines += ["", "G1/G2 output against the real background steps of the untrimmed batch:", "",
              "| what | mean step L2 norm | exact zeros | temporal std |", "|---|---:|---:|---:|"]
    for label, key in (("generated (G1, G2)", "generated"), ("real background", "real_background")):
        s = gen[key]
        lines.append(f"| {label} | {_num(s['norm'], 3)} | {_num(s['zero_fraction'], percent=True)} "
                     f"| {_num(s['temporal_std'], 3)} |")
    share = rec.get("background_share")
    if share:
        lines += ["", "D's background anchors of the synthetic videos, against the true moment span:", "",
                  "| mask | anchors | in the moment | in the generated context | straddling |",
                  "|---|---:|---:|---:|---:|"]
        for mask in ("joint", "separate"):
            s = share[mask]
            tag = " (configured)" if mask == rec["mask"] else ""
            lines.append(f"| {mask}{tag} | {s['anchors']} | {_num(s['moment'], percent=True)} "
                         f"| {_num(s['context'], percent=True)} | {_num(s['straddling'], percent=True)} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m aher.diagnostics", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    lengths = sub.add_parser("lengths", help="detection lengths of finished runs against the GT's")
    lengths.add_argument("gt", help="ActivityNet-format GT file (its validation videos are scored)")
    lengths.add_argument("runs", nargs="+", help="run folders with metrics.json and their result JSON")
    lengths.add_argument("--top-k", type=int, default=5, help="best detections per video (default 5)")
    lengths.add_argument("--out", help="write the markdown table here instead of printing it")
    mech = sub.add_parser("mechanism", help="Algorithm 1's mechanism diagnostics of a run (diagnostics.json)")
    mech.add_argument("run", help="run folder of an Algorithm-1 training")
    mech.add_argument("--iteration", type=int, help="snapshot iteration to show (default: the latest)")
    args = p.parse_args(argv)
    if args.command == "mechanism":
        sys.stdout.write(mechanism_table(args.run, args.iteration))
        return 0
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
