"""Command line of the synthetic benchmark (run as ``python -m aher.data.synthesize``).

    python -m aher.data.synthesize --setting k600|anet_split|th14_anet|all --scale tiny|small|paper
        --out data/synthetic [--seed N] [--layout [DOMAIN=]FILE ...] [--set knob=value ...]
        [--force] [--report] [--report-dir reports] [--list-knobs] [--no-progress]

Writes ``<out>/<setting>_<scale>/`` (layout: ``docs/data_layer_contract.md``; model:
:mod:`aher.data.synthetic`) atomically, with a progress bar, and prints what it wrote where.  An
identical existing dataset is reused; a different one is refused unless ``--force``.

``--layout`` takes real annotation files (any format ``aher.data.annotations.load_videos``
reads, e.g. ``anet_anno_action.json`` with its ``video_info_new.csv`` next to it,
``thumos14.json``, ``k600_val_annotation.txt`` with ``k600_category.txt``); the domain
(anet / thumos / k600) is inferred from the content or given as ``DOMAIN=FILE``.
``--report`` writes ``<report-dir>/synthetic_<setting>_<scale>.md``
(:mod:`aher.data.synthetic.report`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from aher.data.synthetic.knobs import KNOBS, SCALES
from aher.data.synthetic.report import num, pct, write_report
from aher.data.synthetic.settings import SETTINGS
from aher.data.synthetic.writer import build_dataset
from aher.paths import PROJECT_ROOT

PROG = "python -m aher.data.synthesize"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Write the synthetic AherNet benchmark (docs/data_layer_contract.md).")
    parser.add_argument("--setting", choices=[*SETTINGS, "all"], help="benchmark setting")
    parser.add_argument("--scale", choices=SCALES, help="tiny (tests), small (CPU demo), paper (real counts, 2048-d)")
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"), help="root folder (default data/synthetic)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--layout", action="append", default=[], metavar="[DOMAIN=]FILE",
                        help="real annotation file used as temporal layouts (repeatable; DOMAIN anet|k600|thumos)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a generator knob (repeatable; see --list-knobs)")
    parser.add_argument("--force", action="store_true", help="replace an existing, different dataset")
    parser.add_argument("--report", action="store_true", help="write reports/synthetic_<setting>_<scale>.md")
    parser.add_argument("--report-dir", type=Path, default=PROJECT_ROOT / "reports",
                        help="folder of the report (default: the project's reports/)")
    parser.add_argument("--list-knobs", action="store_true", help="print the knobs and their defaults, then exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list_knobs:
        for key, (default, meaning) in KNOBS.items():
            print(f"{key:22s} {default!s:14s} {meaning}")
        return 0
    if not args.setting or not args.scale:
        parser.error("--setting and --scale are required")
    for setting in (list(SETTINGS) if args.setting == "all" else [args.setting]):
        _build_one(setting, args)
    return 0


def _build_one(setting: str, args):
    """Build (or reuse) one setting's dataset, print what was written, and report if asked."""
    result = build_dataset(setting, args.scale, args.out, seed=args.seed, overrides=args.overrides,
                           layouts=args.layout, force=args.force, progress=not args.no_progress)
    m = result.manifest
    if not result.reused:
        c = m["counts"]
        print(f"wrote {result.path} in {result.seconds:.1f} s: {c['untrimmed_train']} untrimmed, "
              f"{c['foreground_train']} foreground, {c['moments_train']} moments, {c['eval']} eval, "
              f"{c['oracle_train']} oracle videos; D={m['dim']}")
        for key, name in m["files"].items():
            print(f"  {key:17s} {result.path / name}")
    if args.report:
        report = args.report_dir / f"synthetic_{setting}_{args.scale}.md"
        d = write_report(result.path, report, _report_command(setting, args), None if result.reused else result.seconds)
        checks = d["realism_checks"]
        print(f"report {report}: moment probe {pct(d['moment_probe_acc'])}, actionness AUC "
              f"{num(d['actionness_auc_transfer'])} (transfer), start detector AUC {num(d['detector_auc_start'])}; "
              f"realism {'PASS' if all(c[3] for c in checks) else 'FAIL'} "
              f"({sum(c[3] for c in checks)}/{len(checks)} checks)")


def _report_command(setting: str, args) -> str:
    parts = [PROG, f"--setting {setting}", f"--scale {args.scale}", f"--out {args.out}", f"--seed {args.seed}"]
    parts += [f"--layout {x}" for x in args.layout] + [f"--set {x}" for x in args.overrides] + ["--report"]
    return " ".join(parts)
