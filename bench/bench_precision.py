#!/usr/bin/env python
"""Mixed bfloat16 against float32 training: wall time and metrics over seeds, one setting.

  .venv/bin/python bench/bench_precision.py [--config configs/k600_synthetic_small.yaml] [--seeds 3]
      [--precisions float32,mixed_bfloat16] [--runs runs/precision] [--out reports/precision.md]

Each (precision, seed) is one full experiment (train + test) of the config, a subprocess of
``python -m aher.experiment`` into ``RUNS/<precision>-s<seed>``; a run folder with a
``metrics.json`` is reused, one with snapshots but no metrics is resumed (``--resume``), so an
interrupted sweep loses nothing. Writes a Markdown table: per run the metrics and the training
wall time (``train.log``'s last rate), per precision the mean and standard deviation over seeds,
and whether every bfloat16 mean lies within the float32 runs' range widened by their standard
deviation, and the paired (same seed) differences; a ``## Notes`` section already in the output file
is kept.  Run one sweep at a time on an otherwise idle machine: times are compared across runs.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTES = "## Notes"        # a section of the output file kept when it is written again (hand notes)
METRICS = ("average_mAP", "mAP@0.5", "average_mAP_gt_labels", "AR@100", "AUC", "video_accuracy")


def run_one(config, setting, out, seed, precision):
    metrics_file = out / "metrics.json"
    if not metrics_file.exists():
        cmd = [sys.executable, "-m", "aher.experiment", "--setting", setting, "--config", str(config), "--quiet",
               "--out", str(out), "--set", f"train.seed={seed}", "--set", f"train.precision={precision}"]
        if any(out.glob("checkpoints/*.index")):
            cmd.append("--resume")
        print(" ".join(cmd), flush=True)
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    metrics = json.loads(metrics_file.read_text())
    rates = re.findall(r" ([0-9.]+) it/s", (out / "train.log").read_text())
    return {k: float(metrics[k]) for k in METRICS if k in metrics}, float(rates[-1]) if rates else float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/k600_synthetic_small.yaml")
    p.add_argument("--setting", default="k600")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--precisions", default="float32,mixed_bfloat16")
    p.add_argument("--runs", default="runs/precision")
    p.add_argument("--out", help="also write the table here (Markdown)")
    args = p.parse_args(argv)
    precisions = args.precisions.split(",")
    results = {}
    t0 = time.perf_counter()
    for seed in range(args.seeds):              # seed-major: an interrupted sweep has both precisions
        for precision in precisions:
            results[precision, seed] = run_one(args.config, args.setting, ROOT / args.runs / f"{precision}-s{seed}",
                                               seed, precision)
    keys = [k for k in METRICS if all(k in m for m, _ in results.values())]
    lines = ["# Mixed precision against float32 (`train.precision`)", "",
             f"Produced by `python bench/bench_precision.py --config {args.config} --seeds {args.seeds} "
             f"--precisions {args.precisions}` (train + test per run; AR@100 and AUC in percent, the other "
             "metrics fractions; rate: training iterations per second from `train.log`).", "",
             "| precision | seed | " + " | ".join(keys) + " | it/s |", "|---|---:|" + "---:|" * (len(keys) + 1)]
    for (precision, seed), (metrics, rate) in results.items():
        lines.append(f"| {precision} | {seed} | " + " | ".join(f"{metrics[k]:.4g}" for k in keys) + f" | {rate:.2f} |")
    lines += ["", "| precision | " + " | ".join(f"{k} mean ± std" for k in keys) + " | it/s mean |",
              "|---|" + "---:|" * (len(keys) + 1)]
    summary = {}
    for precision in precisions:
        runs = [results[precision, s] for s in range(args.seeds)]
        summary[precision] = {k: [m[k] for m, _ in runs] for k in keys}
        cells = [f"{statistics.mean(v):.4g} ± {statistics.stdev(v) if len(v) > 1 else 0:.2g}"
                 for v in summary[precision].values()]
        lines.append(f"| {precision} | " + " | ".join(cells) + f" | {statistics.mean(r for _, r in runs):.2f} |")
    if "float32" in summary and len(precisions) > 1:
        base = summary["float32"]
        for precision in precisions:
            if precision == "float32":
                continue
            inside = []
            for k in keys:
                lo, hi = min(base[k]), max(base[k])
                sd = statistics.stdev(base[k]) if len(base[k]) > 1 else 0.0
                inside.append((k, lo - sd <= statistics.mean(summary[precision][k]) <= hi + sd))
            outside = [k for k, ok in inside if not ok]
            lines += ["", f"{precision}: every mean within the float32 range ± one std: "
                      + ("yes" if not outside else "no (" + ", ".join(outside) + ")") + "."]
            diffs = {k: [a - b for a, b in zip(summary[precision][k], base[k])] for k in keys}
            lines += ["", f"{precision} minus float32, paired by seed (mean ± std): "
                      + "; ".join(f"{k} {statistics.mean(d):+.3g} ± {statistics.stdev(d) if len(d) > 1 else 0:.2g}"
                                  for k, d in diffs.items()) + "."]
    lines += ["", f"Sweep wall time of this invocation: {time.perf_counter() - t0:.0f} s (reused runs count 0)."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        out = Path(args.out)
        previous = out.read_text() if out.is_file() else ""
        notes = previous[previous.index(NOTES):] if NOTES in previous else ""
        out.write_text(table + "\n" + ("\n" + notes if notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
