"""Deterministic mode: are two runs of one config and seed identical, and what does it cost?

  .venv/bin/python bench/bench_determinism.py [--configs k600_synthetic_tiny,k600_synthetic_small]
      [--iterations 40] [--out reports/determinism.md]

For each config: two training runs with ``train.deterministic=true`` and one with ``false`` (same
seed, ``--set train.iterations=N``, tested after training), each a subprocess of
``aher_k600_train.py`` into a temporary folder.  Prints and writes a Markdown table: whether the
two deterministic runs' ``metrics.json`` are identical (and the non-deterministic run's largest
difference to them), and the training rate (iterations per second, from ``train.log``) of each
mode.  Data is generated once per config under the temporary folder.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("average_mAP", "mAP@0.5", "mAP@0.75", "AR@100", "AUC", "video_accuracy", "average_mAP_gt_labels")


def train(config, out, data, iterations, deterministic):
    cmd = [sys.executable, "aher_k600_train.py", "--config", f"configs/{config}.yaml", "--out", str(out), "--quiet",
           "--set", f"data.root={data}", "--set", f"train.iterations={iterations}",
           "--set", f"train.log_every={iterations}", "--set", f"train.deterministic={str(deterministic).lower()}"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    rate = float(re.findall(r" ([0-9.]+) it/s", (out / "train.log").read_text())[-1])
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: metrics[k] for k in METRICS if k in metrics}, rate, time.perf_counter() - t0


def largest_difference(a, b):
    return max(abs(a[k] - b[k]) for k in a)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default="k600_synthetic_tiny,k600_synthetic_small")
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--out", help="also write the table here (Markdown)")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs.split(","):
            data = Path(tmp) / "data"
            runs = {name: train(config, Path(tmp) / f"{config}-{name}", data, args.iterations, det)
                    for name, det in (("det1", True), ("det2", True), ("free", False))}
            same = runs["det1"][0] == runs["det2"][0]
            rows.append((config, same, largest_difference(runs["det1"][0], runs["free"][0]),
                         runs["free"][1], runs["det1"][1], runs["det2"][1], runs["det1"][0]["average_mAP"]))
            print(rows[-1], flush=True)
    lines = ["# Deterministic mode (`train.deterministic`)", "",
             "`true`: TensorFlow's deterministic kernels (`enable_op_determinism`) and one thread per pool; "
             "the two Adam updates of a localization sub-step are applied in a fixed order in both modes. "
             "The guarantee is per machine and software stack: same config, seed and data give the same "
             "`metrics.json`.", "",
             f"Measured by `python bench/bench_determinism.py --configs {args.configs} --iterations {args.iterations}` "
             "(train + test, one process each, same seed).", "",
             "| config | deterministic runs identical | largest metric difference, default vs deterministic "
             "| it/s default | it/s deterministic (run 1, run 2) | average mAP (deterministic) |",
             "|---|---|---|---|---|---|"]
    for config, same, diff, free, d1, d2, score in rows:
        lines.append(f"| {config} | {'yes' if same else 'no'} | {diff:.2e} | {free:.2f} | {d1:.2f}, {d2:.2f} "
                     f"| {100 * score:.2f} |")
    lines += ["", "The metric difference is over " + ", ".join(METRICS) + " (AR@100 and AUC in percent, the "
              "others fractions). Runs are short (a determinism and speed check, not a score)."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
