#!/usr/bin/env python
"""Test a trained model: inference on the evaluation videos, result JSON, mAP and AR@AN.

  python aher_k600_test.py --config CFG --checkpoint RUN_DIR_OR_CKPT [--all-snapshots] [--out DIR]
                           [--label-space moment|untrimmed]

--label-space untrimmed scores the untrimmed-set classes on their held-out videos (gt_untrimmed.json,
eval_untrimmed.h5) with the model's transferred untrimmed-set classifier; when that is not the
method's own label space the default output folder is <run>/eval_untrimmed (metrics.json of the
run folder is left alone).
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
    p.add_argument("--out", help="where to write results and metrics.json (default: the run folder, or "
                                 "<run>/eval_<space> for a label space other than the method's)")
    p.add_argument("--label-space", choices=("auto", "moment", "untrimmed"),
                   help="classes to test (sets eval.label_space; default: the config's, auto)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from pathlib import Path

    from aher.config import load_config
    from aher.inference import evaluate_run, format_metrics

    overrides = list(args.set) + ([f"eval.label_space={args.label_space}"] if args.label_space else [])
    config = load_config(args.config, overrides)
    ckpt = Path(args.checkpoint)
    out = Path(args.out) if args.out else (ckpt if ckpt.is_dir() else ckpt.parent.parent)
    space = config.eval_label_space
    if not args.out and space != config.method.label_space:
        out = out / f"eval_{space}"
    metrics = evaluate_run(config, ckpt, out, all_snapshots=args.all_snapshots, progress=not args.quiet)
    print(format_metrics(metrics))
    print(f"wrote {out / 'metrics.json'} ({space} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
