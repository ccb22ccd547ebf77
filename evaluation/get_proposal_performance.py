#!/usr/bin/env python
"""Score an ActivityNet-style proposal file: AR@AN curve, AR@1/5/10/100 and AUC.

Example:
  python evaluation/get_proposal_performance.py GT.json PROPOSALS.json.gz --json-out out.json
"""

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.cli_common import (add_common_arguments, refuse_overwriting_inputs, run_cli,  # noqa: E402
                                   write_json_atomic)
from evaluation.eval_proposal import ANETproposal, format_proposal_table  # noqa: E402


def positive_number(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got '{text}'")
    return int(value) if value.is_integer() else value


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ground_truth", help="ActivityNet-schema ground truth (.json or .json.gz)")
    p.add_argument("proposals", help="ActivityNet-schema result file; labels are ignored")
    add_common_arguments(p)
    p.add_argument("--max-avg-nr-proposals", type=positive_number, default=100,
                   help="proposal budget per video (default 100)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    refuse_overwriting_inputs(args.json_out, (args.ground_truth, args.proposals))
    prop = ANETproposal(args.ground_truth, args.proposals, tiou_thresholds=args.tiou_thresholds,
                        max_avg_nr_proposals=args.max_avg_nr_proposals, subset=args.subset,
                        tie_break=args.tie_break)
    result = prop.evaluate()
    if not args.quiet:
        for note in prop.warnings:
            print(f"note: {note}", file=sys.stderr)
        gt = prop.ground_truth
        print(f"{gt.n_instances} GT instances in {len(gt.video_ids)} videos; {prop.proposal.n_rows} proposals")
        print(format_proposal_table(result))
    if args.json_out:
        write_json_atomic(args.json_out, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
