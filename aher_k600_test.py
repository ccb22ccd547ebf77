#!/usr/bin/env python
"""Test a trained model: inference on the evaluation videos, result JSON, mAP and AR@AN.

  python aher_k600_test.py --config CFG --checkpoint RUN_DIR_OR_CKPT [--all-snapshots] [--out DIR]
"""

import argparse
import sys

from aher.cli import run_main


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="the YAML config the model was trained with")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--checkpoint", required=True, help="run folder, its checkpoints/ folder, or a checkpoint prefix")
    p.add_argument("--all-snapshots", action="store_true", help="evaluate every snapshot (or eval.snapshots), keep the best")
    p.add_argument("--out", help="where to write results and metrics.json (default: the run folder)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from pathlib import Path

    from aher.config import load_config
    from aher.inference import evaluate_run, format_metrics

    config = load_config(args.config, args.set)
    ckpt = Path(args.checkpoint)
    out = Path(args.out) if args.out else (ckpt if ckpt.is_dir() else ckpt.parent.parent)
    metrics = evaluate_run(config, ckpt, out, all_snapshots=args.all_snapshots, progress=not args.quiet)
    print(format_metrics(metrics))
    print(f"wrote {out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
