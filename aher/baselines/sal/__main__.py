"""SAL command line: train (then test) or test a run.

  python -m aher.baselines.sal train --config configs/sal_thumos_synthetic.yaml [--set k=v] [--out RUN] [--resume] [--no-test]
  python -m aher.baselines.sal test  --out RUN [--config CFG] [--checkpoint CKPT] [--set k=v]

``train`` writes a run folder (default ``runs/<config>-<time>``) and, unless ``--no-test``, scores
the snapshot selected on ``train.select_on`` (val by default) on the test split.  ``test``
scores a run's selected snapshot (``RUN/checkpoints/best``) or ``--checkpoint`` on the test
split; results JSON, ``gt_test.json`` and ``metrics.json`` go to ``RUN``.  ``test`` uses the run's own
``RUN/config.yaml`` (with any ``--set``) unless ``--config`` is given.  The config is validated
(``aher.baselines.sal.config``) before any data or TensorFlow work.  User errors: one line, exit
code 2.
"""

import argparse
import datetime
import sys
from pathlib import Path

from aher.cli import run_main
from aher.errors import UserError
from aher.baselines.sal.config import load_sal_config
from aher.paths import PROJECT_ROOT


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.baselines.sal", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("train", "test"))
    p.add_argument("--config", help="YAML config (configs/sal_*.yaml); required for train, test defaults to "
                                    "RUN/config.yaml")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.iterations=100 (repeatable)")
    p.add_argument("--out", help="run folder (train default: runs/<config name>-<timestamp>; required for test)")
    p.add_argument("--resume", action="store_true", help="train: continue --out from its latest checkpoint")
    p.add_argument("--no-test", action="store_true", help="train only")
    p.add_argument("--checkpoint", help="test: a checkpoint prefix or folder instead of the selected snapshot")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume and not args.out:
        parser.error("--resume needs --out RUN (the run folder to continue)")
    if args.command == "test" and not args.out:
        parser.error("test needs --out RUN (the run folder)")
    if args.config is None:
        if args.command == "train":
            parser.error("train needs --config CFG")
        args.config = Path(args.out) / "config.yaml"
        if not args.config.is_file():
            raise UserError(f"{args.out}: no config.yaml (not a SAL run folder); pass --config CFG")
    config = load_sal_config(args.config, args.set)
    from aher.baselines.sal import train as sal_train          # TensorFlow import once the config is valid

    progress = not args.quiet
    if args.command == "train":
        out = Path(args.out) if args.out else (
            PROJECT_ROOT / "runs" / f"{Path(args.config).stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
        checkpoint = sal_train.train(config, out, resume=args.resume, progress=progress)
        print(f"trained: {out}; selected {checkpoint}")
        if args.no_test:
            return 0
    else:
        out = Path(args.out)
    metrics = sal_train.test(config, out, checkpoint=args.checkpoint, progress=progress)
    print(f"test ({metrics['test_videos']} videos, {Path(metrics['checkpoint']).name}): "
          f"{sal_train.format_metrics(metrics)}")
    print(f"wrote {out / 'metrics.json'} and {out / metrics['results_file']}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
