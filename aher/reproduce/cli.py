"""Rerun the paper's tables: plan the runs, train the missing ones, write our numbers beside the paper's.

Contract: ``run(argv)`` resolves the configs and folders, builds the plan, executes it (or prints
it with ``--dry-run``) and writes the tables; it returns 1 when any run, test or plot failed, else
0.  Configs: ``configs/<setting>_synthetic_<scale>.yaml`` (synthetic) or
``<config-dir>/<setting>_paper.yaml`` (real), each replaceable with ``--config SETTING=FILE``.
Relative paths given on the command line are relative to the current folder; the defaults are
inside the project.  The hidden option ``--set KEY=VALUE`` (repeatable, for smoke tests) is passed
to every run before the row's own overrides, which win; relative paths in it are relative to the
project root (the runs' working folder).  ``--no-train`` writes the tables from the finished runs
only: a missing run is "not run" (not a failure).  User errors are one line with exit code 2.
``--executor inline|local|slurm`` chooses where the runs train (:mod:`aher.reproduce.executors`);
runs held by another invocation or by an active Slurm job are "busy" and skipped.  ``--records``: each run
finished here is added to a records file as it ends (:mod:`aher.reproduce.records`; by default the
committed file for the committed runs, whatever ``--seeds``, in the default runs folder).  When runs of
the plan are still unfinished after training (busy, or left to Slurm jobs by ``--no-wait``), the
tables are not written for ``--no-wait``, nor for the committed folder when the committed tables
need one of them: a later invocation writes them once those runs have ended.

Where the tables go (``report_destination``): ``--report-dir DIR`` (old name ``--out``) when given;
otherwise ``reports/reproduce`` for the plan the committed tables there were made from
(``COMMITTED_PLAN``: synthetic data, scale small, 3 seeds, the default configs, no ``--set``), and
``<runs>/<scale>/tables`` for any other plan.  A ``--no-train`` invocation bound for the committed
folder by default is refused (one line, exit code 2, nothing written) when a run the committed tables
need is not finished (every seed of Tables 2-4, seed 0 of the runs only Table 1 and Fig. 6 use:
``TableSpec.committed_seeds``), since its tables would replace committed cells with "not run" or
"failed" ones; the runs beyond that show with the seeds that exist.  The
folder is printed before the runs start and after the tables are written.
"""

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

from aher.cli import run_main
from aher.config import parse_override
from aher.config.sections import PRECISIONS, SETTINGS
from aher.errors import UserError
from aher.paths import PROJECT_ROOT
from aher.reproduce.plan import build_plan, eval_dir
from aher.reproduce.records import add_records_argument, sweep_recorder
from aher.reproduce.report import write_tables
from aher.reproduce.executors import add_executor_arguments, check_executor_arguments, make_executor
from aher.reproduce.runner import command, display_path, execute, hms, inspect_run, test_command
from aher.reproduce.stats import run_time
from aher.reproduce.tables import TABLE_NAMES, TABLE_SPECS, expand_tables, settings_needed

#: the plan the committed tables in ``COMMITTED_DIR`` were made from (recorded in their JSON:
#: ``data``, ``scale``, ``seeds``, ``configs``); only this plan writes there by default
COMMITTED_PLAN = {"data": "synthetic", "scale": "small", "seeds": 3, "precision": "float32"}
COMMITTED_DIR = PROJECT_ROOT / "reports" / "reproduce"


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.reproduce", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tables", nargs="+", choices=(*TABLE_NAMES, "all"), metavar="TABLE",
                   help=f"one or more of {', '.join(TABLE_NAMES)}, or all")
    p.add_argument("--data", choices=("synthetic", "real"), default="synthetic")
    p.add_argument("--scale", choices=("tiny", "small"), default="small", help="synthetic benchmark scale")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per row (default 3)")
    p.add_argument("--report-dir", "--out", dest="report_dir", metavar="DIR",
                   help="folder of the tables (--out is the old name); default: reports/reproduce for the "
                        "committed plan (--data synthetic --scale small --seeds 3, default configs, no --set), "
                        "else <runs>/<scale>/tables")
    p.add_argument("--runs", help="folder of the runs (default: runs/reproduce in the project)")
    p.add_argument("--config-dir", help="real data: folder of <setting>_paper.yaml (default: configs/)")
    p.add_argument("--config", action="append", default=[], metavar="SETTING=FILE",
                   help="config file of one setting (repeatable)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="train.precision of every run (default float32, the upstream-equivalent one); "
                        "mixed_bfloat16 trains about 1.3-2.3x faster on CPUs with AMX/AVX512-BF16 with metrics "
                        "within the float32 seed spread (reports/precision.md); its runs live in "
                        "<runs>/<scale>-<precision>/ and every table records the precision")
    p.add_argument("--force", action="store_true", help="retrain runs that have a metrics.json")
    p.add_argument("--dry-run", action="store_true", help="list the runs and commands, run nothing")
    p.add_argument("--no-train", action="store_true",
                   help="write the tables from the finished runs only (missing runs show as 'not run'); "
                        "still runs the quick extra tests of finished runs; refused when a run is missing "
                        "and the tables would replace the committed ones (unless --report-dir is given)")
    p.add_argument("--set", action="append", default=[], dest="overrides", help=argparse.SUPPRESS)
    add_executor_arguments(p)
    add_records_argument(p)
    return p


def _given_configs(args):
    """{setting: file} of the ``--config SETTING=FILE`` options."""
    given = {}
    for text in args.config:
        setting, sep, path = text.partition("=")
        if not sep or setting not in SETTINGS or not path:
            raise UserError(f"--config '{text}' is not SETTING=FILE with SETTING one of {', '.join(SETTINGS)}")
        given[setting] = Path(path).resolve()
    return given


def default_configs(args, settings):
    """{setting: config file} of ``--data`` and ``--scale`` without ``--config``."""
    if args.data == "real":
        folder = Path(args.config_dir).resolve() if args.config_dir else PROJECT_ROOT / "configs"
        return {s: folder / f"{s}_paper.yaml" for s in settings}
    return {s: PROJECT_ROOT / "configs" / f"{s}_synthetic_{args.scale}.yaml" for s in settings}


def resolve_configs(args, settings):
    """{setting: config file} of ``settings``: ``--config`` first, then the default of ``--data``."""
    given = _given_configs(args)
    if args.data == "synthetic" and args.config_dir:
        raise UserError("--config-dir is for --data real "
                        "(synthetic configs are configs/<setting>_synthetic_<scale>.yaml)")
    default = default_configs(args, settings)
    configs = {s: given.get(s, default[s]) for s in settings}
    missing = [str(p) for p in configs.values() if not p.is_file()]
    if missing:
        raise UserError(f"missing config file(s): {', '.join(missing)} (pass --config SETTING=FILE)")
    return configs


def committed_plan_mismatch(args, configs, ignore=()):
    """Why the invocation is not the committed plan, as text (None: it is); keys of ``ignore`` are not compared."""
    for key, want in COMMITTED_PLAN.items():
        if key not in ignore and getattr(args, key) != want:
            return f"--{key} {getattr(args, key)}; committed: --{key} {want}"
    if configs != default_configs(args, configs):
        return "--config replaces a default config"
    if args.overrides:
        return "--set changes the runs"
    return None


def report_destination(args, configs, runs_root, scale_dir):
    """(folder of the tables, why that folder, whether it is the committed folder by default)."""
    if args.report_dir:
        return Path(args.report_dir).resolve(), "--report-dir", False
    mismatch = committed_plan_mismatch(args, configs)
    if mismatch is None:
        return COMMITTED_DIR, "the committed plan", True
    return Path(runs_root) / scale_dir / "tables", f"not the committed plan: {mismatch}", False


def committed_requires(run):
    """Whether the committed tables need ``run``: some table using it needs its seed
    (``TableSpec.committed_seeds``; Table 1 and Fig. 6 need seed 0 of their own runs only)."""
    needed = [TABLE_SPECS[table].committed_seeds for table, _ in run.uses]
    return any(n is None or run.spec.seed < n for n in needed)


def check_no_train_complete(plan, out_dir):
    """``--no-train`` into the committed folder: every run the committed tables need must be finished
    (UserError); the other runs are shown with the seeds that exist."""
    required = [run for run in plan if committed_requires(run)]
    unfinished = []
    for run in required:
        state, reason = inspect_run(run.out, run.overrides)
        if state != "reuse":
            unfinished.append(reason or f"{display_path(run.out)} has no metrics.json")
    if unfinished:
        raise UserError(f"--no-train: {len(unfinished)} of the {len(required)} runs the committed tables need are not "
                        f"finished (first: {unfinished[0]}), so the tables would replace the committed ones in "
                        f"{display_path(out_dir)} with partial ones; nothing written (train them first, or pass "
                        "--report-dir DIR)")


def print_plan(plan, force, log=print):
    """The ``--dry-run`` listing: each run's state, folder and command, then the counts."""
    log(f"# commands run in {PROJECT_ROOT}; runs in state 'reuse' are not retrained ('--force' retrains)")
    counts = {}
    for run in plan:
        state, reason = inspect_run(run.out, run.overrides, force)
        counts[state] = counts.get(state, 0) + 1
        uses = "; ".join(f"{t}: {r}" for t, r in run.uses)
        log(f"[{state}] {run.spec.setting} · {run.spec.label} · seed {run.spec.seed}  ({uses})")
        log(f"    {display_path(run.out)}" + (f"  -- {reason}" if reason else ""))
        if state not in ("reuse", "stale", "busy"):
            log(f"    $ {shlex.join(command(run.spec.setting, run.config, run.out, run.overrides, state == 'resume'))}")
        for space in run.evals:
            done = (eval_dir(run.out, space) / "metrics.json").is_file() and not force and state == "reuse"
            log(f"    then test on the {space}-set classes" + (" (reuse)" if done else
                f": $ {shlex.join(test_command(run.config, run.out, run.overrides, space))}"))
    configs = len({(r.spec.setting, r.spec.method, r.spec.extra) for r in plan})
    seeds = len({r.spec.seed for r in plan})
    log(f"dry run: {len(plan)} runs ({configs} row configurations × {seeds} seeds): "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def _parse(argv):
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise UserError("--seeds must be at least 1")
    if args.force and args.no_train:
        raise UserError("--force retrains and --no-train trains nothing: pass one of them")
    for text in args.overrides:
        parse_override(text)
    check_executor_arguments(args)
    return args


def _print_totals(results):
    total = run_time([{"status": r.status, "seconds": r.seconds} for r in results.values()])
    print(f"run time of the plan's finished runs and tests: {hms(total['seconds'])} summed over {total['timed']}"
          + (f" ({total['untimed']} without a logged time)" if total["untimed"] else ""), flush=True)
    failures = sum(r.status == "failed" for r in results.values())
    if failures:
        print(f"{failures} of {len(results)} runs failed (see the tables' 'Failed runs' and each run's "
              "reproduce.log)", file=sys.stderr)


def run(argv):
    """The command: plan, execute or list, write the tables; the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    tables = expand_tables(args.tables)
    configs = resolve_configs(args, settings_needed(tables))
    runs_root = Path(os.path.abspath(args.runs)) if args.runs else PROJECT_ROOT / "runs" / "reproduce"
    scale_dir = args.scale if args.data == "synthetic" else "real"
    passthrough = list(args.overrides)
    if args.precision != "float32":
        scale_dir = f"{scale_dir}-{args.precision}"
        passthrough.insert(0, f"train.precision={args.precision}")
    out_dir, why, committed = report_destination(args, configs, runs_root, scale_dir)
    seeds = list(range(args.seeds))
    plan = build_plan(tables, seeds, configs, runs_root, scale_dir, passthrough)
    if args.dry_run:
        print_plan(plan, args.force)
        print(f"tables would be written to {display_path(out_dir)} ({why})")
        return 0
    if committed and args.no_train:
        check_no_train_complete(plan, out_dir)
    executor = make_executor(args) if not args.no_train else None
    print(f"tables: {display_path(out_dir)} ({why})", flush=True)
    on_finished = sweep_recorder(args, runs_root, committed_plan_mismatch(args, configs, ignore=("seeds",)) is None)
    results = execute(plan, force=args.force, train=not args.no_train, executor=executor,
                      on_finished=on_finished)
    unfinished = [run for run in plan if run.spec not in results]
    if (unfinished and args.no_wait) or (committed and any(committed_requires(run) for run in unfinished)):
        _print_totals(results)
        print(f"{len(unfinished)} of {len(plan)} runs are not finished (busy, or left to their Slurm jobs): tables not "
              f"written; once they end, rerun the same command (or add --no-train) to write them", flush=True)
        return 1 if any(r.status == "failed" for r in results.values()) else 0
    meta = {"data": args.data, "scale": args.scale if args.data == "synthetic" else None, "precision": args.precision,
            "command": "python -m aher.reproduce " + shlex.join(argv),
            "date": f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
            "configs": {s: display_path(p) for s, p in configs.items()}, "runs_root": display_path(runs_root)}
    failed = write_tables(tables, seeds, results, meta, out_dir)
    _print_totals(results)
    print(f"tables written to {display_path(out_dir)}", flush=True)
    return 1 if failed else 0


def main(argv=None):
    try:
        return run_main(run, argv)
    except BrokenPipeError:                       # e.g. --dry-run | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
