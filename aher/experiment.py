"""One experiment = train with the configured method, then test and score (the entry scripts' body).

Contract: ``main(setting, description, default_config, argv)`` (the body of the entry scripts
``aher_<setting>_train.py``; also ``python -m aher.experiment --setting SETTING --config CFG ...``) parses the common flags (``--config``,
``--set key=value``, ``--out``, ``--resume``, ``--no-test``, ``--quiet``), loads the config,
checks that it belongs to the entry script's setting, trains ``train.method`` (``aher.train.driver``) and, unless
``--no-test``, evaluates the final snapshot and prints the metrics table.  Every user error is
one line on stderr with exit code 2.
Limits: argument handling and sequencing only; the work is in ``aher.train`` and ``aher.inference``.
"""

import argparse
import datetime
import sys
from pathlib import Path

from aher.cli import run_main
from aher.errors import UserError
from aher.config import load_config
from aher.config.sections import SETTINGS
from aher.paths import PROJECT_ROOT
from aher.train.run_lock import RunLock


def build_parser(description, default_config):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", default=default_config, help=f"YAML config (default: {default_config})")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.iterations=100 (repeatable)")
    p.add_argument("--out", help="run folder (default: runs/<config name>-<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    p.add_argument("--no-test", action="store_true", help="train only")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(setting, description, default_config, argv=None):
    parser = build_parser(description, default_config)
    args = parser.parse_args(argv)
    if args.resume and not args.out:
        parser.error("--resume needs --out RUN (the run folder to continue)")
    config = load_config(args.config, args.set)
    if config.setting != setting:
        raise UserError(f"{args.config}: setting is '{config.setting}', this script trains '{setting}'")
    out = Path(args.out) if args.out else (
        PROJECT_ROOT / "runs" / f"{Path(args.config).stem}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    RunLock(out).check_free()                 # before TensorFlow start-up; train_run takes the lock
    from aher.train.driver import train_run   # TensorFlow start-up only once the config is valid

    run_dir, checkpoint = train_run(config, out, resume=args.resume, progress=not args.quiet)
    print(f"trained: {checkpoint}")
    if not args.no_test:
        from aher.inference import evaluate_run

        metrics = evaluate_run(config, out, out, progress=not args.quiet)     # prints the snapshot's metrics
        print(f"wrote {out / 'metrics.json'} and {out / metrics['results_file']}")
    return 0


def main(setting, description, default_config, argv=None):
    return run_main(lambda a: run(setting, description, default_config, a), argv)


def module_main(argv=None):
    """``python -m aher.experiment --setting SETTING --config CFG [the entry scripts' flags]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    head = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    head.add_argument("--setting", choices=SETTINGS)
    known, rest = head.parse_known_args(argv)
    if known.setting is None:
        print(f"usage: python -m aher.experiment --setting {{{','.join(SETTINGS)}}} --config CFG [--set KEY=VALUE] "
              "[--out RUN] [--resume] [--no-test] [--quiet]", file=sys.stderr)
        return 2
    return main(known.setting, __doc__.split("\n\n")[0], f"configs/{known.setting}_synthetic_small.yaml", rest)


if __name__ == "__main__":
    sys.exit(module_main())
