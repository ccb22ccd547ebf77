#!/usr/bin/env python
"""Time our evaluator against the official ActivityNet evaluator's recorded timings.

For every pair timed in ``../shared/eval_fixtures/expected.json`` (``official_seconds``: wall
seconds from constructing the evaluator, JSON parsing included, to the end of ``evaluate()``,
single process, median of 3), run the same measurement on our evaluator and print seconds
and the speed-up.  ``--report FILE`` also writes the table as markdown.

  python bench/bench_eval.py [--repeats 3] [--report reports/bench_eval.md]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aher.paths import shared_dir  # noqa: E402
from evaluation import ANETdetection, ANETproposal  # noqa: E402

import numpy as np  # noqa: E402

HEADLINE = ("detection/anet_val_noisy_det", "detection/k600_val_noisy_det",
            "proposal/anet_val_proposals", "proposal/anet_val_proposals100", "proposal/k600_val_proposals")


def time_pair(folder, expected, key, repeats):
    task, rest = key.split("/", 1)
    pair, thr_key = rest.split("@")
    entry = expected[task][pair]
    thresholds = np.array(expected["tiou_thresholds"][thr_key])
    gt, pred = folder / entry["gt"], folder / entry["prediction"]
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            if task == "detection":
                ANETdetection(gt, pred, tiou_thresholds=thresholds).evaluate()
            else:
                ANETproposal(gt, pred, tiou_thresholds=thresholds).evaluate()
        except ValueError:  # the unknown-label fixture: an error, as officially (KeyError there)
            pass
        runs.append(time.perf_counter() - start)
    rows = entry.get("n_predictions", entry.get("n_proposals", 0))
    return rows, statistics.median(runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--report", metavar="FILE", help="also write a markdown report")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    command = " ".join(["python bench/bench_eval.py", *argv])

    folder = shared_dir() / "eval_fixtures"
    if not (folder / "expected.json").is_file():
        print(f"error: {folder}/expected.json not found (set AHER_SHARED)", file=sys.stderr)
        return 2
    with open(folder / "expected.json") as fh:
        expected = json.load(fh)

    lines = ["| pair | rows | official s | ours s | speed-up |", "|---|---:|---:|---:|---:|"]
    print(f"{'pair':58s} {'rows':>8s} {'official s':>10s} {'ours s':>8s} {'speed-up':>9s}")
    ratios = {}
    for key, official in expected["official_seconds"].items():
        rows, ours = time_pair(folder, expected, key, args.repeats)
        ratio = official / ours
        ratios[key] = ratio
        print(f"{key:58s} {rows:8d} {official:10.2f} {ours:8.3f} {ratio:8.1f}x")
        lines.append(f"| `{key}` | {rows:,} | {official:.2f} | {ours:.3f} | {ratio:.1f}x |")
    headline = [ratios[k] for k in ratios if k.split("@")[0] in HEADLINE]
    summary = (f"ANet and K600 files: speed-up min {min(headline):.1f}x, median {statistics.median(headline):.1f}x "
               f"(goal >= 20x)")
    print(summary)

    if args.report:
        env = (f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs "
               f"({platform.machine()}), single process, median of {args.repeats} runs")
        text = "\n".join([
            "# Evaluation speed: ours vs the official ActivityNet evaluator", "",
            f"Produced by `{command}`.", "",
            "Official seconds are the timings recorded in `../shared/eval_fixtures/expected.json` (official code, "
            "single process, JSON parsing included, median of 3, 2-vCPU VM). Ours are measured the same way "
            "(construction of the evaluator to the end of `evaluate()`, in-process, JSON parsing included).", "",
            f"Machine: {env}.", "", *lines, "", f"**{summary}.**", ""])
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(text)
        print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
