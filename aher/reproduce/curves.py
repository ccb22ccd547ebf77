"""Learning curves: long runs with regular snapshots, every snapshot tested, with the mechanism diagnostics.

  python -m aher.reproduce.curves [--scale small] [--settings k600,anet_split,th14_anet]
      [--methods algorithm1,moments_only,oracle] [--seeds 1] [--iterations 3000] [--every 250]
      [--runs runs/reproduce] [--report-dir reports/curves] [--executor inline|local|slurm ...] [--no-train]
      [--records FILE|none]

Contract: one run per (setting, method, seed) in ``<runs>/<scale>/curves/<setting>/<slug>/seed<k>``,
trained like a table's run (the same claims, executors and resume) with ``train.iterations`` =
``--iterations``, a snapshot every ``--every`` iterations (all kept) and a constant learning rate
(``train.lr_boundaries`` beyond the end: where a constant-rate curve flattens is what the length
of a run with a decay has to reach).  Each finished run is tested at every snapshot
(``python -m aher.evaluate --all-snapshots`` into ``<run>/eval_curve``, reused when done) and,
once tested, added to the records file (``--records``; by default the committed file for
``--scale small`` without ``--set`` in the default runs folder).  The
report (``curves.json``, ``curves.md``, ``curves.png``) holds per run and snapshot: average mAP,
mAP@0.5, average mAP with GT labels, AUC, video accuracy, and from the run's ``diagnostics.json``
the discriminator's accuracy (mean over anchor layers) and the generated-vs-real probe AUC (input
and first layer); per run and metric, the first snapshot at 95 % of the run's best value.
Unfinished runs are listed as missing; ``--no-train`` collects without training.  A report folder
that already holds a report of the same scale, length and snapshot interval keeps its curves of
the runs outside the plan (each curve names the command that wrote it), so settings can be
trained and collected in separate invocations into one report.
Limits: seed 0 only by default; the length is chosen from the report by a person, not here.
"""

import argparse
import datetime
import json
import os
import shlex
import sys
from pathlib import Path

from aher.cli import run_main
from aher.config.sections import SETTINGS
from aher.errors import UserError
from aher.methods import METHODS
from aher.paths import PROJECT_ROOT
from aher.reproduce.executors import add_executor_arguments, check_executor_arguments, make_executor
from aher.reproduce.mechanism import DIAGNOSTICS, diagnostics_at
from aher.reproduce.plan import PlannedRun, RunSpec, effective_overrides
from aher.reproduce.process import RunResult, display_path, run_logged
from aher.reproduce.records import add_records_argument, sweep_recorder
from aher.reproduce.runner import TEST, execute, hms
from evaluation.cli_common import write_text_atomic

CURVE_METHODS = ("algorithm1", "moments_only", "oracle")
METRICS = ("average_mAP", "mAP@0.5", "average_mAP_gt_labels", "AUC", "video_accuracy")
EVAL_DIR = "eval_curve"
PLATEAU_FRACTION = 0.95


def curve_overrides(iterations, every):
    """The config changes of a curve run: its length, snapshots (all kept) and a constant rate."""
    return [f"train.iterations={iterations}", f"train.snapshot_every={every}",
            f"train.keep_snapshots={iterations // every + 1}", f"train.lr_boundaries=[{10 * iterations}]"]


def curve_plan(settings, methods, seeds, configs, runs_root, scale_dir, iterations, every, passthrough=()):
    """The curve runs, seed-major."""
    plan = []
    for seed in seeds:
        for setting in settings:
            for method in methods:
                spec = RunSpec(setting, method, (), seed)
                out = Path(runs_root) / scale_dir / "curves" / setting / spec.slug / f"seed{seed}"
                overrides = effective_overrides([*spec.overrides(), *curve_overrides(iterations, every)], passthrough)
                plan.append(PlannedRun(spec, Path(configs[setting]), out, overrides, [("curves", spec.label)]))
    return plan


def curve_test_command(run):
    """Test every snapshot of ``run`` into ``<run>/eval_curve``."""
    cmd = [*TEST, "--config", display_path(run.config), "--checkpoint", display_path(run.out),
           "--out", display_path(run.out / EVAL_DIR), "--all-snapshots"]
    for text in run.overrides:
        cmd += ["--set", text]
    return cmd + ["--quiet"]


def test_snapshots(run):
    """Every snapshot of a finished run tested (reused when its metrics exist); never raises."""
    folder = run.out / EVAL_DIR
    if (folder / "metrics.json").is_file():
        return RunResult("reused", json.loads((folder / "metrics.json").read_text()), out=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    return run_logged(curve_test_command(run), folder)


# ----------------------------------------------------------------------------------------------
# Reading a run


def read_curve(run, tested):
    """{"points": [{iteration, metrics..., diagnostics...}], "plateau": {metric: iteration}}."""
    snapshots = (tested.metrics or {}).get("snapshots") or {}
    if not snapshots and tested.metrics:                  # a single snapshot
        snapshots = {str(tested.metrics.get("iteration")): tested.metrics}
    diag_file = run.out / "diagnostics.json"
    diagnostics = json.loads(diag_file.read_text()) if diag_file.is_file() else {}
    points = []
    for key in sorted(snapshots, key=int):
        point = {"iteration": int(key), **{m: snapshots[key].get(m) for m in METRICS}}
        point.update(diagnostics_at(diagnostics[key]) if key in diagnostics else dict.fromkeys(DIAGNOSTICS))
        points.append(point)
    return {"points": points, "plateau": {m: plateau_iteration(points, m) for m in METRICS}}


def plateau_iteration(points, metric, fraction=PLATEAU_FRACTION):
    """First iteration whose value reaches ``fraction`` of the run's best (None: no values)."""
    values = [(p["iteration"], p[metric]) for p in points if p.get(metric) is not None]
    if not values:
        return None
    best = max(v for _, v in values)
    return next(it for it, v in values if v >= fraction * best) if best > 0 else values[0][0]


# ----------------------------------------------------------------------------------------------
# Report


def _fmt(value, metric):
    if value is None:
        return "–"
    if metric in ("AUC",):
        return f"{value:.1f}"
    if metric.startswith("probe") or metric.startswith("discriminator") or metric == "video_accuracy":
        return f"{value:.2f}"
    return f"{100 * value:.2f}"


def _commands(doc):
    """The distinct commands that wrote the report's curves, in order, with their date and settings."""
    found = {}
    for curve in doc["curves"]:
        key = (curve.get("command", doc["command"]), curve.get("date", doc["date"]))
        found.setdefault(key, []).append(curve["setting"])
    return [(command, date, list(dict.fromkeys(settings))) for (command, date), settings in found.items()]


def render_markdown(doc):
    commands = _commands(doc) or [(doc["command"], doc["date"], [])]
    if len(commands) == 1:
        written = f"Command: `{commands[0][0]}` ({commands[0][1]})."
    else:
        written = "Commands: " + "; ".join(f"`{c}` ({d}): {', '.join(s)}" for c, d, s in commands) + "."
    lines = ["# Learning curves", "",
             f"{written} {doc['iterations']} iterations, a snapshot every "
             f"{doc['every']}, constant learning rate; every snapshot tested on the run's own label space. "
             "mAP columns in %, AUC in % (AR@AN), video accuracy and diagnostics as fractions. Discriminator "
             "accuracy: mean over anchor layers (0.5 = chance); probe AUC: a linear probe separating generated "
             "context from real background (0.5 = indistinguishable, 1.0 = fully separable).", ""]
    for curve in doc["curves"]:
        head = f"## {curve['setting']} · {curve['label']} · seed {curve['seed']}"
        if curve["status"] != "finished":
            lines += [head, "", f"not finished: {curve['status']}", ""]
            continue
        lines += [head, "", f"Run: `{curve['dir']}`; first snapshot at {int(PLATEAU_FRACTION * 100)} % of the best: "
                  + ", ".join(f"{m} {curve['plateau'][m]}" for m in METRICS), "",
                  "| iteration | " + " | ".join((*METRICS, *DIAGNOSTICS)) + " |",
                  "|---:|" + "---:|" * (len(METRICS) + len(DIAGNOSTICS))]
        for p in curve["points"]:
            lines.append(f"| {p['iteration']} | " + " | ".join(_fmt(p[m], m) for m in (*METRICS, *DIAGNOSTICS)) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_curves(doc, path):
    """One panel per (setting, metric), one line per method and seed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(c["setting"] for c in doc["curves"]))
    shown = (*METRICS, "discriminator_accuracy", "probe_auc_input")
    fig, axes = plt.subplots(len(settings), len(shown), figsize=(3.2 * len(shown), 2.6 * len(settings)),
                             squeeze=False)
    for row, setting in enumerate(settings):
        for col, metric in enumerate(shown):
            ax = axes[row][col]
            for curve in doc["curves"]:
                pts = [p for p in curve.get("points", []) if p.get(metric) is not None]
                if curve["setting"] == setting and pts:
                    ax.plot([p["iteration"] for p in pts], [p[metric] for p in pts], marker=".",
                            label=f"{curve['label']} s{curve['seed']}")
            ax.set_title(f"{setting}: {metric}", fontsize=8)
            ax.tick_params(labelsize=7)
            if metric in DIAGNOSTICS:            # fractions: chance (0.5) and full separation (1.0) in view
                ax.set_ylim(0.4, 1.02)
                ax.axhline(0.5, color="grey", linestyle=":", linewidth=0.8)
            if row == 0 and col == 0:
                ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def collect(plan, results, meta, on_finished=None):
    """The report document of the plan's runs: their curves, or why they are missing;
    ``on_finished(folder)`` after each snapshot test that ran here."""
    curves = []
    for run in plan:
        entry = {"setting": run.spec.setting, "method": run.spec.method, "label": run.spec.label,
                 "seed": run.spec.seed, "dir": display_path(run.out), "command": meta["command"],
                 "date": meta["date"]}
        trained = results.get(run.spec)
        if trained is None or trained.status == "failed":
            entry["status"] = "not run" if trained is None else f"failed: {trained.error}"
        else:
            tested = test_snapshots(run)
            if tested.status == "done" and on_finished:
                on_finished(run.out)
            if tested.status == "failed":
                entry["status"] = f"test failed: {tested.error}"
            else:
                entry.update(status="finished", **read_curve(run, tested))
        curves.append(entry)
    return {**meta, "curves": curves}


def _curve_key(curve):
    return curve["setting"], curve["method"], curve["seed"]


def _rank(names, name):
    return names.index(name) if name in names else len(names)


def _curve_order(curve):
    """Seed-major, then the settings' and methods' declared order (``curve_plan``'s); unknown names last."""
    return curve["seed"], _rank(SETTINGS, curve["setting"]), _rank(tuple(METHODS), curve["method"])


def merge_report(doc, previous):
    """``doc`` with the curves of ``previous`` (an earlier report document) that it does not cover.

    Returns (document, number of curves kept, why none were kept or None).  The earlier curves keep
    the command and date that wrote them; a report of another scale, length or snapshot interval is
    replaced, not merged."""
    if previous is None:
        return doc, 0, None
    shape = ("scale", "iterations", "every")
    if any(previous.get(k) != doc[k] for k in shape):
        return doc, 0, ("the existing report is for " + ", ".join(f"{k} {previous.get(k)}" for k in shape)
                        + ": replaced")
    covered = {_curve_key(c) for c in doc["curves"]}
    kept = [{**c, "command": c.get("command", previous.get("command")), "date": c.get("date", previous.get("date"))}
            for c in previous.get("curves", []) if _curve_key(c) not in covered]
    return {**doc, "curves": sorted(doc["curves"] + kept, key=_curve_order)}, len(kept), None


# ----------------------------------------------------------------------------------------------
# Command line


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.reproduce.curves", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", choices=("tiny", "small"), default="small", help="synthetic benchmark scale")
    p.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated settings")
    p.add_argument("--methods", default=",".join(CURVE_METHODS), help="comma-separated train.method values")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--every", type=int, default=250, help="iterations between snapshots (each one is tested)")
    p.add_argument("--runs", help="folder of the runs (default: runs/reproduce in the project)")
    p.add_argument("--report-dir", help="folder of the report (default: reports/curves for --scale small, "
                                        "else <runs>/<scale>/curves/report)")
    p.add_argument("--no-train", action="store_true", help="collect the finished runs only")
    p.add_argument("--set", action="append", default=[], dest="overrides", help=argparse.SUPPRESS)
    add_executor_arguments(p)
    add_records_argument(p)
    return p


def _names(text, allowed, what):
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise UserError(f"--{what}: {', '.join(unknown) or 'empty'} not among {', '.join(allowed)}")
    return names


def run(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    settings = _names(args.settings, SETTINGS, "settings")
    methods = _names(args.methods, tuple(METHODS), "methods")
    check_executor_arguments(args)
    if args.seeds < 1 or args.iterations < 1 or not 1 <= args.every <= args.iterations:
        raise UserError("--seeds and --iterations must be at least 1, --every between 1 and --iterations")
    configs = {s: PROJECT_ROOT / "configs" / f"{s}_synthetic_{args.scale}.yaml" for s in settings}
    runs_root = Path(os.path.abspath(args.runs)) if args.runs else PROJECT_ROOT / "runs" / "reproduce"
    default_report = PROJECT_ROOT / "reports" / "curves" if args.scale == "small" and not args.overrides \
        else runs_root / args.scale / "curves" / "report"
    report_dir = Path(args.report_dir).resolve() if args.report_dir else default_report
    existing = report_dir / "curves.json"
    try:
        previous = json.loads(existing.read_text()) if existing.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{display_path(existing)}: unreadable ({err}); move it away to write a new report")
    if previous is not None and not (isinstance(previous, dict) and isinstance(previous.get("curves"), list)):
        raise UserError(f"{display_path(existing)}: not a curves report (no list 'curves'); "
                        "move it away to write a new report")
    plan = curve_plan(settings, methods, range(args.seeds), configs, runs_root, args.scale, args.iterations,
                      args.every, args.overrides)
    executor = None if args.no_train else make_executor(args)
    on_finished = sweep_recorder(args, runs_root, args.scale == "small" and not args.overrides)
    results = execute(plan, train=not args.no_train, executor=executor,
                      on_finished=on_finished)
    meta = {"command": "python -m aher.reproduce.curves " + shlex.join(argv),
            "date": f"{datetime.datetime.now():%Y-%m-%d %H:%M}", "scale": args.scale, "iterations": args.iterations, "every": args.every}
    doc = collect(plan, results, meta, on_finished)
    done = sum(c["status"] == "finished" for c in doc["curves"])
    doc, kept, why = merge_report(doc, previous)
    if kept:
        print(f"kept {kept} curve(s) of runs outside this plan from {display_path(existing)}", flush=True)
    elif why:
        print(f"{display_path(existing)}: {why}", flush=True)
    report_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(report_dir / "curves.json", json.dumps(doc, indent=1) + "\n")
    write_text_atomic(report_dir / "curves.md", render_markdown(doc) + "\n")
    if any(c["status"] == "finished" for c in doc["curves"]):
        plot_curves(doc, report_dir / "curves.png")
    print(f"{done} of {len(plan)} curves written to {display_path(report_dir)}"
          + (f" ({hms(sum(r.seconds or 0 for r in results.values()))} of training logged)" if results else ""),
          flush=True)
    return 0 if done == len(plan) else 1


def main(argv=None):
    return run_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
