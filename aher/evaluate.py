"""Testing a trained run: inference on the evaluation videos, result JSON, mAP and AR@AN.

The body of ``aher_k600_test.py``, also run as a module:

  python -m aher.evaluate --checkpoint RUN_DIR_OR_CKPT [--config CFG] [--set KEY=VALUE ...]
                          [--all-snapshots] [--out DIR] [--label-space moment|untrimmed]
                          [--other-data --out DIR]

The config is the run's own (RUN/config.yaml, written when it was trained); --config is needed
only for a checkpoint outside a run folder.  A --config (or --set) that differs from the run's
in setting, dataset, method or model shape is a one-line error naming the keys.  --other-data
scores the run on the dataset of another config (setting / data keys; the model must be the
same) and then needs --out outside the run folder: the run's metrics.json always scores the run
on its own dataset.  Another scoring of the same model (any inference key, eval.tiou_thresholds)
also needs --out outside the run folder, so the run's metrics.json always means its config.yaml.

--label-space untrimmed scores the untrimmed-set classes on their held-out videos (gt_untrimmed.json,
eval_untrimmed.h5) with the model's transferred untrimmed-set classifier; when that is not the
method's own label space the default output folder is <run>/eval_untrimmed (metrics.json of the
run folder is left alone).
"""

import argparse
import sys
from pathlib import Path

from aher.cli import run_main
from aher.errors import UserError

PROG = "python -m aher.evaluate"


def build_parser():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="config to test with (default: the run folder's config.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--checkpoint", required=True, help="run folder, its checkpoints/ folder, or a checkpoint prefix")
    p.add_argument("--all-snapshots", action="store_true", help="evaluate every snapshot (or eval.snapshots), keep the best")
    p.add_argument("--out", help="where to write results and metrics.json (default: the run folder, or "
                                 "<run>/eval_<space> for a label space other than the method's)")
    p.add_argument("--label-space", choices=("auto", "moment", "untrimmed"),
                   help="classes to test (sets eval.label_space; default: the config's, auto)")
    p.add_argument("--other-data", action="store_true",
                   help="score the run on the dataset of --config / --set (another setting or data); needs --out "
                        "outside the run folder")
    p.add_argument("--quiet", action="store_true")
    return p


def _config(args, run, record):
    """The config to test with: ``--config`` or the run's ``config.yaml``, checked against the run's."""
    from aher.config import load_config
    from aher.inference import ConfigDifferences, load_run_config, run_differences

    overrides = list(args.set) + ([f"eval.label_space={args.label_space}"] if args.label_space else [])
    if args.config:
        config = load_config(args.config, overrides)
    elif record is not None:
        config = load_run_config(record, overrides)
    else:
        raise UserError(f"--config is needed: {run} holds no config.yaml (the checkpoint is not in a run folder)")
    if record is not None:
        diff = run_differences(config, record)
        what = " with ".join(filter(None, (args.config, "--set" if args.set else ""))) or str(record)
        own = "omit --config" if args.config else "drop those --set"
        if diff.model:
            raise UserError(f"{what} does not describe the model of {run}: {ConfigDifferences.describe(diff.model)}; "
                            f"{own} to test with {record}")
        if diff.dataset and not args.other_data:
            raise UserError(f"{what} is not the config of {run}: {ConfigDifferences.describe(diff.dataset)}; "
                            f"{own} to test with {record}, or add --other-data --out DIR to score the run on "
                            "this other dataset")
    return config


def _check_other_data(args, run, is_inside):
    if not args.other_data:
        return
    if not args.out:
        raise UserError(f"--other-data needs --out DIR outside the run folder {run} (its metrics.json scores "
                        "the run on its own dataset)")
    if is_inside(args.out, run):
        raise UserError(f"--other-data: --out {args.out} is inside the run folder {run}; choose a folder "
                        "outside it (its metrics.json scores the run on its own dataset)")


def main(argv=None):
    args = build_parser().parse_args(argv)
    from aher.inference import evaluate_run, format_metrics, is_inside, run_config_file   # TensorFlow from here
    from aher.train.checkpoints import run_folder

    ckpt = Path(args.checkpoint)
    if not ckpt.exists() and not Path(f"{ckpt}.index").is_file():
        raise UserError(f"{ckpt}: no such run folder or checkpoint")
    run = run_folder(ckpt)
    config = _config(args, run, run_config_file(ckpt))
    _check_other_data(args, run, is_inside)
    out = Path(args.out) if args.out else run
    space = config.eval_label_space
    if not args.out and space != config.method.label_space:
        out = out / f"eval_{space}"
    metrics = evaluate_run(config, ckpt, out, all_snapshots=args.all_snapshots, progress=not args.quiet)
    if len(metrics.get("snapshots", ())) > 1:            # each snapshot's metrics were printed as it was tested
        print(f"best of {len(metrics['snapshots'])} snapshots by average mAP (selected on the evaluation set): "
              f"{Path(metrics['checkpoint']).name}  {format_metrics(metrics)}")
    print(f"wrote {out / 'metrics.json'} ({space} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
