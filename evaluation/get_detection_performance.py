#!/usr/bin/env python
"""Score an ActivityNet-style detection result file: mAP per tIoU threshold and average mAP.

Example:
  python evaluation/get_detection_performance.py GT.json RESULTS.json.gz --json-out out.json
  python -m evaluation.get_detection_performance GT.json RESULTS.json --tiou-thresholds 0.3:0.7:0.1
"""

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.cli_common import (add_common_arguments, refuse_overwriting_inputs, run_cli,  # noqa: E402
                                   write_json_atomic)
from evaluation.eval_detection import ANETdetection, format_detection_table  # noqa: E402
from evaluation.io import EvaluationError  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ground_truth", help="ActivityNet-schema ground truth (.json or .json.gz)")
    p.add_argument("prediction", help="ActivityNet-schema result file (.json or .json.gz)")
    add_common_arguments(p)
    p.add_argument("--ignore-unknown-labels", action="store_true",
                   help="drop predictions whose label is not a ground-truth class (default: error)")
    p.add_argument("--per-class", action="store_true", help="print AP per class")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    refuse_overwriting_inputs(args.json_out, (args.ground_truth, args.prediction))
    det = ANETdetection(args.ground_truth, args.prediction, tiou_thresholds=args.tiou_thresholds,
                        subset=args.subset, tie_break=args.tie_break,
                        unknown_labels="ignore" if args.ignore_unknown_labels else "error")
    pred = det.prediction
    if pred.n_rows and pred.n_unmatched_rows == pred.n_rows:
        raise EvaluationError(f"{args.prediction}: none of the {pred.n_rows} predictions belongs to a ground-truth "
                              f"video of subset '{args.subset}' (e.g. '{pred.unmatched_videos[0]}'; check the video "
                              "ids and the subset): every one would be a false positive, mAP 0")
    result = det.evaluate()
    if not args.quiet:
        for note in det.warnings:
            print(f"note: {note}", file=sys.stderr)
        gt = det.ground_truth
        print(f"{gt.n_instances} GT instances in {len(gt.video_ids)} videos, {len(gt.class_names)} classes; "
              f"{det.prediction.n_rows} predictions")
        print(format_detection_table(result))
        if args.per_class:
            width = max(len(name) for name in result["per_class_AP"])
            for name, ap in result["per_class_AP"].items():
                print(f"{name:<{width}}  " + " ".join(f"{100 * v:6.2f}" for v in ap))
    if args.json_out:
        write_json_atomic(args.json_out, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
