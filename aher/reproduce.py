"""Rerun the paper's tables: plan the runs, train the missing ones, write our numbers beside the paper's.

  python -m aher.reproduce table1|table2|table3|table4|fig6|all [...] --data synthetic --scale tiny|small
        [--seeds 3] [--out reports/reproduce] [--runs runs/reproduce] [--force] [--dry-run] [--no-train]
  python -m aher.reproduce all --data real [--config-dir DIR] [--config SETTING=FILE ...]

Contract: a table row is (setting, ``train.method``, extra config overrides); every row of the
chosen tables becomes one run per seed (``--set train.seed=k``, k = 0..seeds-1), deduplicated
across tables (AherNet on anet_split serves Tables 1, 2 and Fig. 6: trained once per seed).  Runs
live in ``<runs>/<scale>/<setting>/<slug>/seed<k>`` (``<scale>`` is ``real`` with ``--data real``).
A run whose ``metrics.json`` exists is reused when its ``config.yaml`` agrees with the run's
overrides (otherwise it is reported as failed: ``--force`` retrains); a folder with checkpoints
but no metrics (an interrupted run) is continued with ``--resume``; ``--force`` deletes and
retrains.  Missing runs are trained one after the other as subprocesses of the entry scripts
(``--quiet``; their output goes to ``<run>/reproduce.log``), with progress and an ETA from the
mean duration of the finished runs.  A failed run (the entry script's one-line error) is
recorded and the next one starts; the exit code is 1 when anything failed.  For each table
``<out>/<table>.md`` and ``<out>/<table>.json`` hold our mean ± sample std over the finished
seeds (n) beside the paper's number; mAP is in percent like the paper's tables.  Every table also
has the references that tell localization from classification (``aher.inference``), read from the
same metrics.json files and shown in percent: per row and setting the columns ``REFERENCE_COLUMNS``
(the row's detections relabelled with the GT video label, fixed prior windows labelled by the row's
video classifier, the video accuracy; JSON ``reference_columns``, cells in each row's ``cells``), and
the row "fixed windows + GT labels" (JSON ``reference_rows``; the same number for every run of a
setting's dataset, so its mean over the table's finished runs); a run whose metrics.json predates
these keys shows "–" there (never a failure).  Each table also
gives its run time: the durations of its runs and tests, summed (a reused run's is read back from
its ``reproduce.log``), and the end of the output the plan's total.
``--no-train`` writes the tables from the finished runs only: a missing run is "not run" (not a
failure), so a long sweep can be reported part-way with the true n of every cell.
Table 1 also holds the text's comparison on the *untrimmed-set* classes: AherNet (its runs tested
again with ``aher_k600_test.py --label-space untrimmed``, into ``<run>/eval_untrimmed``) against
AherNet* of those classes (``train.method=oracle_untrimmed``), both on the held-out videos of the
untrimmed-set classes (``eval_untrimmed.h5`` + ``gt_untrimmed.json``; synthetic generator v3).
Configs: ``configs/<setting>_synthetic_<scale>.yaml`` (synthetic) or ``<config-dir>/<setting>_paper.yaml``
(real), each replaceable with ``--config SETTING=FILE``.  Relative paths given on the command
line are relative to the current folder; the defaults are inside the project.  The hidden option
``--set KEY=VALUE`` (repeatable, for smoke tests) is passed to every run before the row's own
overrides, which win; relative paths in it are relative to the project root (the runs' folder).
Limits: no parallel runs, no plotting of its own (Fig. 6 calls ``aher.plots.fig6`` when it exists).
"""

import argparse
import datetime
import importlib
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from aher import paper_numbers
from aher.cli import UserError, run_main
from aher.config import parse_override
from aher.eval_spec import AUTO_LABEL_SPACE
from aher.paths import PROJECT_ROOT

ENTRY_SCRIPTS = {"k600": "aher_k600_train.py", "anet_split": "aher_anet_split_train.py",
                 "th14_anet": "aher_th14_anet_train.py"}
TEST_SCRIPT = "aher_k600_test.py"
TABLE_NAMES = ("table1", "table2", "table3", "table4", "fig6")
FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
PERCENT_ALREADY = {"AUC", "AR@100"}          # metrics.json gives these in percent, mAP as fractions
#: per-row references (metrics.json keys; optional: a run without them shows "–")
REFERENCE_COLUMNS = ("average_mAP_gt_labels", "prior_average_mAP_video_labels", "video_accuracy")
REFERENCE_TITLES = {"average_mAP_gt_labels": "average mAP with GT labels",
                    "prior_average_mAP_video_labels": "fixed windows + its video labels",
                    "video_accuracy": "video acc."}
PRIOR_ROW_NAME = "Fixed windows + GT labels"

METHOD_LABELS = {"zero": "AherNet^0", "minus": "AherNet^-", "moments_only": "AherNet_M",
                 "no_adversary": "AherNet_A-", "algorithm1": "AherNet", "oracle": "AherNet*",
                 "oracle_untrimmed": "AherNet* of the untrimmed-set classes"}
METHOD_SLUGS = {"zero": "ahernet0", "minus": "ahernet-minus", "moments_only": "ahernet-m",
                "no_adversary": "ahernet-a-minus", "algorithm1": "ahernet", "oracle": "ahernet-oracle",
                "oracle_untrimmed": "ahernet-oracle-untrimmed"}
UNTRIMMED = "untrimmed"                      # the label space of the text's comparison


# ----------------------------------------------------------------------------------------------
# What the tables need


@dataclass(frozen=True)
class Row:
    """One row of a table: our label, the method, extra overrides ((key, value), ...), the paper's row."""

    name: str
    method: str
    extra: tuple = ()
    paper: str | None = None


@dataclass(frozen=True)
class TableSpec:
    key: str
    title: str
    settings: tuple
    metrics: tuple
    rows: tuple
    untrimmed_rows: tuple = ()     # rows of the text's comparison on the untrimmed-set classes (average mAP)

    @property
    def columns(self):
        return [(s, m) for s in self.settings for m in self.metrics]


def _transfer(num_fc, activation):
    return (("model.transfer.num_fc", str(num_fc)), ("model.transfer.activation", activation))


def _fraction(f):
    return () if f == 1.0 else (("data.annotation_fraction", repr(f)),)


TABLE_SPECS = {
    "table1": TableSpec("table1", paper_numbers.TABLE1["title"], ("anet_split", "th14_anet"), ("average_mAP",), (
        Row("AherNet^0", "zero", (), "AherNet^0"),
        Row("AherNet^-", "minus", (), "AherNet^-"),
        Row("1-fc, none", "algorithm1", _transfer(1, "none"), "1-fc, none"),
        Row("1-fc, ReLU", "algorithm1", _transfer(1, "relu"), "1-fc, ReLU"),
        Row("1-fc, LeakyReLU", "algorithm1", _transfer(1, "leaky_relu"), "1-fc, LeakyReLU"),
        Row("1-fc, ELU", "algorithm1", _transfer(1, "elu"), "1-fc, ELU"),
        Row("2-fc, LeakyReLU", "algorithm1", _transfer(2, "leaky_relu"), "2-fc, LeakyReLU"),
        Row("2-fc, ELU (= AherNet)", "algorithm1", (), "2-fc, ELU"),   # the defaults: the AherNet run
        Row("3-fc, ELU", "algorithm1", _transfer(3, "elu"), "3-fc, ELU"),
        Row("AherNet*", "oracle", (), "AherNet* (oracle)"),
    ), untrimmed_rows=(
        Row("AherNet", "algorithm1", (), "AherNet"),
        Row("AherNet*", "oracle_untrimmed", (), "AherNet*"),
    )),
    "table2": TableSpec("table2", paper_numbers.TABLE2["title"], ("anet_split", "th14_anet"), ("AUC", "average_mAP"), (
        Row("AherNet^0", "zero", (), "AherNet^U"),
        Row("AherNet^-", "minus", (), "AherNet^-"),
        Row("AherNet_M", "moments_only", (), "AherNet_M"),
        Row("AherNet_A-", "no_adversary", (), "AherNet_A-"),
        Row("AherNet", "algorithm1", (), "AherNet"),
        Row("AherNet*", "oracle", (), "AherNet*"),
    )),
    "table3": TableSpec("table3", paper_numbers.TABLE3["title"], ("th14_anet",),
                        ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP"), (
        Row("AherNet (partial)", "algorithm1", (), "AherNet (partial)"),
    )),
    "table4": TableSpec("table4", paper_numbers.TABLE4["title"], ("k600",),
                        ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP"), (
        Row("AherNet^0", "zero", (), "AherNet^0"),
        Row("AherNet^-", "minus", (), "AherNet^-"),
        Row("AherNet_M", "moments_only", (), "AherNet_M"),
        Row("AherNet_A-", "no_adversary", (), "AherNet_A-"),
        Row("AherNet", "algorithm1", (), "AherNet"),
    )),
    "fig6": TableSpec("fig6", paper_numbers.FIG6["title"], ("anet_split", "th14_anet"), ("average_mAP", "AUC"), (
        *(Row(f"AherNet* ({100 * f:g} % annotations)", "oracle", _fraction(f)) for f in FRACTIONS),
        Row("AherNet", "algorithm1", ()),
    )),
}


@dataclass(frozen=True)
class RunSpec:
    """One training run: the unit of deduplication (setting, method, extra overrides, seed)."""

    setting: str
    method: str
    extra: tuple
    seed: int

    @property
    def slug(self):
        parts = [METHOD_SLUGS.get(self.method, self.method.replace("_", "-"))]
        for key, value in self.extra:
            leaf = key.rsplit(".", 1)[-1]
            parts.append({"num_fc": f"fc{value}", "activation": value.replace("_", ""),
                          "annotation_fraction": f"frac{value}"}.get(leaf, f"{leaf}{value}"))
        return "-".join(parts)

    @property
    def label(self):
        text = METHOD_LABELS.get(self.method, self.method)
        if self.extra:
            text += " (" + ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in self.extra) + ")"
        return text

    def overrides(self):
        return [f"train.method={self.method}", *(f"{k}={v}" for k, v in self.extra), f"train.seed={self.seed}"]


@dataclass
class PlannedRun:
    spec: RunSpec
    config: Path
    out: Path
    overrides: list                              # the effective --set list (passthrough first, then the row's)
    uses: list = field(default_factory=list)     # [(table, row name)]
    evals: list = field(default_factory=list)    # label spaces tested besides the run's own (in <out>/eval_<space>)

    @property
    def script(self):
        return ENTRY_SCRIPTS[self.spec.setting]


def effective_overrides(row_overrides, passthrough=()):
    """Passthrough overrides first, then the row's (a key set by both keeps the row's value)."""
    by_key = {}
    for text in [*passthrough, *row_overrides]:
        keys, _ = parse_override(text)
        by_key.pop(".".join(keys), None)
        by_key[".".join(keys)] = text
    return list(by_key.values())


def expand_tables(names):
    out = []
    for name in names:
        for t in (TABLE_NAMES if name == "all" else (name,)):
            if t not in out:
                out.append(t)
    return out


def build_plan(tables, seeds, configs, runs_root, scale_dir, passthrough=()):
    """The deduplicated list of runs the tables need, seed-major (all of seed 0 first)."""
    plan = {}

    def planned(setting, row, seed, use):
        run_spec = RunSpec(setting, row.method, tuple(row.extra), seed)
        if run_spec not in plan:
            out = Path(runs_root) / scale_dir / setting / run_spec.slug / f"seed{seed}"
            plan[run_spec] = PlannedRun(run_spec, Path(configs[setting]), out,
                                        effective_overrides(run_spec.overrides(), passthrough))
        if use not in plan[run_spec].uses:
            plan[run_spec].uses.append(use)
        return plan[run_spec]

    for seed in seeds:
        for table in tables:
            spec = TABLE_SPECS[table]
            for setting in spec.settings:
                for row in spec.rows:
                    planned(setting, row, seed, (table, row.name))
                for row in spec.untrimmed_rows:
                    run = planned(setting, row, seed, (table, f"{row.name} (untrimmed-set classes)"))
                    if own_label_space(row.method) != UNTRIMMED and UNTRIMMED not in run.evals:
                        run.evals.append(UNTRIMMED)
    slugs = {}
    for run in plan.values():
        other = slugs.setdefault(run.out, run.spec)
        if other != run.spec:
            raise AssertionError(f"two runs share the folder {run.out}: {other} and {run.spec}")
    return list(plan.values())


def own_label_space(method):
    """The label space a method's run is tested on by its entry script (``eval.label_space: auto``)."""
    return AUTO_LABEL_SPACE.get(method, "moment")


def eval_dir(out, space):
    return Path(out) / f"eval_{space}"


def settings_needed(tables):
    out = []
    for t in tables:
        for s in TABLE_SPECS[t].settings:
            if s not in out:
                out.append(s)
    return out


# ----------------------------------------------------------------------------------------------
# Running


@dataclass
class RunResult:
    status: str                  # reused | done | failed
    metrics: dict | None = None
    seconds: float | None = None
    error: str | None = None
    out: str | None = None


def _display(path):
    """``path`` relative to the project root when inside it (the subprocesses' working folder)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path.resolve())


def command(script, config, out, overrides, resume=False):
    cmd = [sys.executable, script, "--config", _display(config), "--out", _display(out)]
    for text in overrides:
        cmd += ["--set", text]
    cmd.append("--quiet")
    if resume:
        cmd.append("--resume")
    return cmd


def config_mismatch(config_path, overrides):
    """First override that the run folder's ``config.yaml`` contradicts, as text (None: agrees or absent)."""
    config_path = Path(config_path)
    if not config_path.is_file():
        return None
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError:
        return f"{config_path}: unreadable"
    for text in overrides:
        keys, want = parse_override(text)
        node, found = config, True
        for key in keys:
            if isinstance(node, dict) and key in node:
                node = node[key]
            else:
                found = False
                break
        if not found:
            return f"{'.'.join(keys)} is absent from {config_path.name} (wanted {want!r})"
        if node != want:
            return f"{'.'.join(keys)} is {node!r} in {config_path.name}, wanted {want!r}"
    return None


def inspect_run(out, overrides, force=False):
    """What to do with the run folder: (state, reason); state in reuse, stale, train, resume, retrain."""
    out = Path(out)
    if force:
        return ("retrain" if out.exists() else "train"), None
    if (out / "metrics.json").is_file():
        mismatch = config_mismatch(out / "config.yaml", overrides)
        if mismatch:
            return "stale", f"{_display(out)} holds another run ({mismatch}); --force retrains it"
        return "reuse", None
    checkpoints = out / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.glob("*.index")):
        return "resume", None
    return "train", None


def _read_metrics(out):
    try:
        return json.loads((Path(out) / "metrics.json").read_text()), None
    except (OSError, ValueError) as exc:
        return None, f"{_display(Path(out) / 'metrics.json')}: unreadable ({exc})"


_LOGGED_TIME = re.compile(r"^# exit code 0, ([0-9.]+) s$", re.M)


def logged_seconds(folder):
    """Seconds of the command that made ``folder``, from the second line of its ``reproduce.log``
    (None: no log, or the logged command failed).  A resumed run logs only its last stretch."""
    try:
        with open(Path(folder) / "reproduce.log", encoding="utf-8", errors="replace") as f:
            head = f.readline() + f.readline()
    except OSError:
        return None
    match = _LOGGED_TIME.search(head)
    return float(match.group(1)) if match else None


def _error_line(stderr, returncode):
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return lines[-1] if lines else f"exit code {returncode}"


def train_once(script, config, out, overrides, force=False, state=None, announce=None):
    """Reuse, resume or train one run (an entry-script subprocess); never raises on a failed run."""
    out = Path(out)
    if state is None:
        state, reason = inspect_run(out, overrides, force)
        if state == "stale":
            return RunResult("failed", error=reason, out=str(out))
    if state == "reuse":
        metrics, error = _read_metrics(out)
        return RunResult("failed" if error else "reused", metrics, logged_seconds(out), error, str(out))
    if state == "retrain" and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = command(script, config, out, overrides, resume=state == "resume")
    if announce:
        announce(cmd)
    return run_logged(cmd, out)


def run_logged(cmd, folder):
    """Run ``cmd`` in the project root, log it to ``<folder>/reproduce.log`` and read the
    ``metrics.json`` it should have written into ``folder``; never raises on a failed command."""
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - start
    (folder / "reproduce.log").write_text(f"$ {shlex.join(cmd)}\n# exit code {proc.returncode}, {seconds:.1f} s\n"
                                          f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        return RunResult("failed", seconds=seconds, error=_error_line(proc.stderr, proc.returncode), out=str(folder))
    if not (folder / "metrics.json").is_file():
        return RunResult("failed", seconds=seconds, error="the run finished without metrics.json", out=str(folder))
    metrics, error = _read_metrics(folder)
    return RunResult("failed" if error else "done", metrics, seconds, error, str(folder))


def test_command(config, out, overrides, space):
    cmd = [sys.executable, TEST_SCRIPT, "--config", _display(config), "--checkpoint", _display(out),
           "--out", _display(eval_dir(out, space)), "--label-space", space]
    for text in overrides:
        cmd += ["--set", text]
    return cmd + ["--quiet"]


def evaluate_once(run, space):
    """Test a finished run on another label space (reused when its metrics exist); never raises.

    ``--force`` needs no case of its own: retraining deletes the run folder, tests included."""
    folder = eval_dir(run.out, space)
    if (folder / "metrics.json").is_file():
        metrics, error = _read_metrics(folder)
        return RunResult("failed" if error else "reused", metrics, logged_seconds(folder), error, str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    return run_logged(test_command(run.config, run.out, run.overrides, space), folder)


def _rel(path):
    """A run folder as written into the tables: relative to the project root when inside it."""
    return None if path is None else _display(path)


def _hms(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _uses_text(uses):
    tables = []
    for table, _ in uses:
        if table not in tables:
            tables.append(table)
    return ", ".join(tables)


def execute(plan, force=False, log=print, train=True):
    """Run the plan; return {RunSpec: RunResult} (and {(space, RunSpec): RunResult} of the extra
    tests).  ``train=False`` only collects the finished runs (the others are left out: "not run")."""
    results, todo = {}, []
    for run in plan:
        state, reason = inspect_run(run.out, run.overrides, force)
        if state == "reuse":
            results[run.spec] = train_once(run.script, run.config, run.out, run.overrides, state="reuse")
        elif state == "stale":
            results[run.spec] = RunResult("failed", error=reason, out=str(run.out))
        else:
            todo.append((run, state))
    reused = sum(r.status == "reused" for r in results.values())
    log(f"plan: {len(plan)} runs; {reused} reused, {len(todo)} to train"
        + (f", {len(results) - reused} unusable" if len(results) > reused else "")
        + ("" if train or not todo else " (--no-train: left out of the tables as 'not run')"), flush=True)
    if not train:
        todo = []
    t0 = time.monotonic()
    durations = []
    for i, (run, state) in enumerate(todo, 1):
        elapsed = time.monotonic() - t0
        eta = _hms(statistics.mean(durations) * (len(todo) - i + 1)) if durations else "?"
        log(f"[{i}/{len(todo)}] {run.spec.setting} · {run.spec.label} · seed {run.spec.seed} "
            f"({_uses_text(run.uses)}){' · resuming' if state == 'resume' else ''} · "
            f"elapsed {_hms(elapsed)} · ETA {eta}", flush=True)
        result = train_once(run.script, run.config, run.out, run.overrides, state=state)
        results[run.spec] = result
        if result.status == "done":
            durations.append(result.seconds)
            m = result.metrics
            log(f"    done in {_hms(result.seconds)}: average mAP {_pct(m, 'average_mAP')}, AUC {_pct(m, 'AUC')}",
                flush=True)
        else:
            log(f"    FAILED after {_hms(result.seconds or 0)}: {result.error}  (log: "
                f"{_display(run.out / 'reproduce.log')})", flush=True)
    if todo:
        log(f"trained {len(todo)} runs in {_hms(time.monotonic() - t0)}", flush=True)
    for run in plan:
        for space in run.evals:
            if run.spec not in results:
                continue
            if results[run.spec].status == "failed":
                result = RunResult("failed", error=f"not tested: the run failed ({results[run.spec].error})",
                                   out=str(eval_dir(run.out, space)))
            else:
                result = evaluate_once(run, space)
            results[(space, run.spec)] = result
            if result.status == "done":
                log(f"[test] {run.spec.setting} · {run.spec.label} · seed {run.spec.seed} on the {space}-set "
                    f"classes: average mAP {_pct(result.metrics, 'average_mAP')} ({_hms(result.seconds)})", flush=True)
            elif result.status == "failed":
                log(f"[test] {run.spec.setting} · {run.spec.label} · seed {run.spec.seed} on the {space}-set "
                    f"classes FAILED: {result.error}", flush=True)
    return results


def _pct(metrics, key):
    value = to_percent(key, metrics.get(key))
    return "?" if value is None else f"{value:.2f}"


# ----------------------------------------------------------------------------------------------
# Tables


def to_percent(metric, value):
    if value is None or not isinstance(value, (int, float)):
        return None
    return float(value) if metric in PERCENT_ALREADY else 100.0 * float(value)


def summarize(values):
    """Mean, sample std (None when n < 2) and n of a list of numbers."""
    n = len(values)
    if not n:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if n > 1 else None, "n": n}


def _paper_value(table, row, setting, metric):
    if row.paper is None or table not in paper_numbers.TABLES:
        return None
    try:
        return paper_numbers.value(table, row.paper, setting, metric)
    except KeyError:
        return None


def collect_table(table, seeds, results, meta=None):
    """The JSON document of one table from the runs' results ({RunSpec: RunResult})."""
    spec = TABLE_SPECS[table]
    cols = [{"key": f"{s}/{m}", "setting": s, "metric": m,
             "title": f"{paper_numbers.SETTING_TITLES[s]} {paper_numbers.METRIC_TITLES[m]}"} for s, m in spec.columns]
    rows, failures = [], []
    for row in spec.rows:
        entry = {"name": row.name, "paper_row": row.paper, "method": row.method,
                 "overrides": [f"{k}={v}" for k, v in row.extra], "cells": {}, "runs": []}
        for setting in spec.settings:
            for seed in seeds:
                res = results.get(RunSpec(setting, row.method, tuple(row.extra), seed))
                if res is None:
                    res = RunResult("missing", error="not run")
                if res.status not in ("failed", "missing"):
                    missing = [m for m in spec.metrics if to_percent(m, (res.metrics or {}).get(m)) is None]
                    if missing:
                        res = RunResult("failed", res.metrics, res.seconds,
                                        f"metrics.json has no number for {', '.join(missing)}", res.out)
                entry["runs"].append({"setting": setting, "seed": seed, "status": res.status, "dir": _rel(res.out),
                                      "seconds": res.seconds, "error": res.error})
                if res.status == "failed":
                    failures.append({"row": row.name, "setting": setting, "seed": seed, "error": res.error})
        for setting, metric in spec.columns:
            runs = [r for r in entry["runs"] if r["setting"] == setting]
            values = []
            for r in runs:
                if r["status"] not in ("failed", "missing"):
                    res = results[RunSpec(setting, row.method, tuple(row.extra), r["seed"])]
                    values.append(to_percent(metric, res.metrics[metric]))
            cell = summarize(values)
            cell.update(values=values, failed=sum(r["status"] == "failed" for r in runs),
                        missing=sum(r["status"] == "missing" for r in runs),
                        paper=_paper_value(table, row, setting, metric))
            entry["cells"][f"{setting}/{metric}"] = cell
        for setting in spec.settings:
            finished = _finished_metrics(entry["runs"], setting, row, results)
            for metric in REFERENCE_COLUMNS:
                entry["cells"][f"{setting}/{metric}"] = _optional_cell(finished, metric)
        rows.append(entry)
    ref_cols = [{"key": f"{s}/{m}", "setting": s, "metric": m, "reference": True,
                 "title": f"{paper_numbers.SETTING_TITLES[s]} {REFERENCE_TITLES[m]}"}
                for s in spec.settings for m in REFERENCE_COLUMNS]
    doc = {"table": table, "title": spec.title, **(meta or {}), "seeds": list(seeds),
           "units": "percent (mAP as in the paper's tables; AUC of AR@AN as the official proposal script)",
           "columns": cols, "rows": rows, "paper_only_rows": _paper_only_rows(table, spec), "failures": failures,
           "notes": [], "reference_columns": ref_cols, "reference_rows": [_prior_row(spec, rows, results)]}
    if spec.untrimmed_rows:
        doc["text_untrimmed_classes"] = _untrimmed_classes(spec, seeds, results, failures)
    doc["orderings"] = orderings(rows, cols)
    doc["run_time"] = run_time([r for row in rows for r in row["runs"]]
                               + [r for t in doc.get("text_untrimmed_classes", []) for r in t["runs"]])
    if table == "table2":
        doc["text_gains"] = _gains(rows)
    if table == "table2":
        doc["notes"].append("The paper's first row 'AherNet^U' has AherNet^0's numbers of Table 1: presumably a "
                            "typo for AherNet^0 (reference §11.1 item 16); we run AherNet^0 for it.")
    if table == "table3":
        doc["notes"].append("The other rows are other papers' numbers on real ActivityNet v1.3 (fully or weakly "
                            "supervised); they are listed from the paper only.")
    if table == "fig6":
        doc["paper_text"] = paper_numbers.FIG6["text"]
        doc["series"] = _fig6_series(rows, spec)
    return doc


def _finished_metrics(runs, setting, row, results):
    """{run folder: metrics} of a row's finished runs on ``setting``."""
    out = {}
    for r in runs:
        if r["setting"] == setting and r["status"] not in ("failed", "missing"):
            out[r["dir"] or f"seed{r['seed']}"] = results[RunSpec(setting, row.method, tuple(row.extra), r["seed"])].metrics
    return out


def _optional_cell(finished, metric):
    """Mean ± std of an optional metric over finished runs; ``absent``: finished runs without it."""
    values = [v for v in (to_percent(metric, m.get(metric)) for m in finished.values()) if v is not None]
    return dict(summarize(values), values=values, absent=len(finished) - len(values))


def _prior_row(spec, rows, results):
    """The fixed windows labelled with the GT label, in the table's mAP columns: the mean over the
    distinct finished runs of each setting (the windows and the GT are the dataset's, not the run's)."""
    row_specs = {r.name: r for r in spec.rows}
    cells, windows = {}, set()
    for setting, metric in spec.columns:
        finished = {}
        for entry in rows:
            finished.update(_finished_metrics(entry["runs"], setting, row_specs[entry["name"]], results))
        key = f"prior_{metric}_gt_labels"
        cells[f"{setting}/{metric}"] = _optional_cell(finished, key) if metric != "AUC" else None
        windows |= {m["prior_n_windows"] for m in finished.values() if m.get("prior_n_windows")}
    return {"name": PRIOR_ROW_NAME, "metric_source": "prior_<metric>_gt_labels", "n_windows": sorted(windows),
            "cells": cells}


def kendall_tau(xs, ys):
    """Kendall's tau-b of two equally long sequences (None: fewer than two pairs or a constant one)."""
    from scipy.stats import kendalltau          # imported here: the CLI's start stays light
    if len(xs) < 2:
        return None
    tau = float(kendalltau(xs, ys).statistic)
    return None if tau != tau else tau


def orderings(rows, cols):
    """Per column: the rows that have both our mean and the paper's number, lowest first by ours and
    by the paper's, with Kendall's tau-b between the two (1: same order, -1: reversed)."""
    out = []
    for col in cols:
        both = [(r["name"], r["cells"][col["key"]]) for r in rows]
        both = [(name, c["mean"], c["paper"]) for name, c in both if c["n"] and c["paper"] is not None]
        if len(both) < 2:
            continue
        out.append({"key": col["key"], "title": col["title"],
                    "ours": [name for name, _, _ in sorted(both, key=lambda t: t[1])],
                    "paper": [name for name, _, _ in sorted(both, key=lambda t: t[2])],
                    "kendall_tau": kendall_tau([t[1] for t in both], [t[2] for t in both])})
    return out


def run_time(runs):
    """Summed duration of the finished runs (each run entry's ``seconds``: this invocation's, or the
    one logged when the run was made); ``untimed`` counts finished runs without a known duration."""
    finished = [r for r in runs if r["status"] not in ("failed", "missing")]
    timed = [r["seconds"] for r in finished if r.get("seconds") is not None]
    return {"seconds": sum(timed), "timed": len(timed), "untimed": len(finished) - len(timed)}


def untrimmed_result(results, spec):
    """The result of ``spec``'s run tested on the untrimmed-set classes (None: not planned)."""
    if own_label_space(spec.method) == UNTRIMMED:
        return results.get(spec)
    return results.get((UNTRIMMED, spec))


def _untrimmed_classes(spec, seeds, results, failures):
    """The text's AherNet vs AherNet* on the untrimmed-set classes: one entry per setting."""
    out = []
    for setting in spec.settings:
        entry = {"setting": setting, "metric": "average_mAP", "paper": paper_numbers.TEXT_UNTRIMMED_CLASSES[setting],
                 "ours": {}, "runs": []}
        every = {}
        for row in spec.untrimmed_rows:
            values, finished = [], {}
            for seed in seeds:
                res = untrimmed_result(results, RunSpec(setting, row.method, tuple(row.extra), seed))
                res = res or RunResult("missing", error="not run")
                value = to_percent("average_mAP", (res.metrics or {}).get("average_mAP"))
                if res.status not in ("failed", "missing") and value is None:
                    res = RunResult("failed", error="metrics.json has no number for average_mAP", out=res.out)
                entry["runs"].append({"row": row.name, "seed": seed, "status": res.status, "dir": _rel(res.out),
                                      "seconds": res.seconds, "error": res.error})
                if res.status == "failed":
                    failures.append({"row": f"{row.name} (untrimmed-set classes)", "setting": setting, "seed": seed,
                                     "error": res.error})
                elif res.status != "missing":
                    values.append(value)
                    finished[res.out or f"{row.name}/{seed}"] = res.metrics
            entry["ours"][row.paper] = dict(summarize(values), values=values)
            entry.setdefault("ours_gt_labels", {})[row.paper] = _optional_cell(finished, "average_mAP_gt_labels")
            every.update(finished)
        entry["prior_gt_labels"] = _optional_cell(every, "prior_average_mAP_gt_labels")
        out.append(entry)
    return out


def _paper_only_rows(table, spec):
    if table not in paper_numbers.TABLES:
        return []
    ours = {row.paper for row in spec.rows}
    paper = paper_numbers.TABLES[table]
    return [{"name": name, "paper": {f"{s}/{m}": v for (s, m), v in zip(paper["columns"], values)}}
            for name, values in paper["rows"] if name not in ours]


def _gains(rows):
    by_name = {r["name"]: r for r in rows}
    out = []
    for gain in paper_numbers.TEXT_GAINS:
        for setting, paper in gain["gain"].items():
            key = f"{setting}/{gain['metric']}"
            better, worse = by_name[gain["better"]]["cells"][key], by_name[gain["worse"]]["cells"][key]
            ours = (better["mean"] - worse["mean"]) if better["n"] and worse["n"] else None
            out.append({"better": gain["better"], "worse": gain["worse"], "setting": setting,
                        "metric": gain["metric"], "paper": paper, "ours": ours})
    return out


def _fig6_series(rows, spec):
    oracle_rows, ahernet = rows[:len(FRACTIONS)], rows[len(FRACTIONS)]
    series = {}
    for setting in spec.settings:
        series[setting] = {}
        for metric in spec.metrics:
            key = f"{setting}/{metric}"
            strip = lambda c: {k: c[k] for k in ("mean", "std", "n")}  # noqa: E731
            series[setting][metric] = {"fractions": list(FRACTIONS),
                                       "AherNet*": [strip(r["cells"][key]) for r in oracle_rows],
                                       "AherNet": strip(ahernet["cells"][key])}
    return series


def _num(value):
    return "–" if value is None else f"{value:.2f}"


def _reference_text(cell):
    """A reference cell: mean ± std (n), or "–" when no finished run has the number."""
    if not cell or not cell.get("n"):
        return "–"
    return _num(cell["mean"]) + (f" ± {_num(cell['std'])}" if cell["std"] is not None else "") + f" (n={cell['n']})"


def render_markdown(doc):
    """The table as markdown: our mean ± std (n) beside the paper's number; failures as footnotes."""
    notes, note_ids = [], {}

    def footnote(error, where):
        if error not in note_ids:
            note_ids[error] = len(notes) + 1
            notes.append((error, []))
        notes[note_ids[error] - 1][1].append(where)
        return f"[{note_ids[error]}]"

    has_paper = doc["table"] in paper_numbers.TABLES
    ref_cols = doc.get("reference_columns", [])
    head = ["approach"]
    for col in doc["columns"]:
        head += [f"{col['title']} (ours)", "paper"] if has_paper else [col["title"]]
    head += [col["title"] for col in ref_cols]
    lines = [f"# {doc['title']}", ""]
    if doc.get("command"):
        lines += [f"Produced by `{doc['command']}` on {doc.get('date', '?')}.", ""]
    scale = doc.get("scale")
    lines += [f"Data: **{doc.get('data', '?')}**" + (f" (scale `{scale}`)" if scale else "")
              + f"; seeds {', '.join(map(str, doc['seeds']))}. Ours: mean ± sample std over the finished seeds "
              "(n); numbers in percent (mAP over tIoU 0.5:0.05:0.95 unless a tIoU is named; AUC of AR@AN). "
              + ("Paper: the reference §12 (real P3D features at paper scale)." if has_paper else ""), ""]
    if doc.get("data") == "synthetic" and has_paper:
        lines += ["The synthetic benchmark is not the paper's data: compare orderings and gaps, not absolute values.",
                  ""]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in doc["rows"]:
        paper_row = row.get("paper_row")
        shown = paper_row and paper_row not in row["name"] and row["name"] not in paper_row
        cells = [row["name"] + (f" (paper: {paper_row})" if shown else "")]
        for col in doc["columns"]:
            cell = row["cells"][col["key"]]
            errors = [r for r in row["runs"] if r["setting"] == col["setting"] and r["status"] == "failed"]
            marks = ""
            for error in dict.fromkeys(r["error"] for r in errors):
                seeds = [r["seed"] for r in errors if r["error"] == error]
                marks += footnote(error, f"{row['name']} on {col['setting']} (seed {', '.join(map(str, seeds))})")
            not_run = f"{cell.get('missing', 0)} not run" if cell.get("missing") else ""
            if cell["n"]:
                text = _num(cell["mean"]) + (f" ± {_num(cell['std'])}" if cell["std"] is not None else "")
                text += f" (n={cell['n']}" + (f"; {cell['failed']} failed {marks}" if cell["failed"] else "") + \
                    (f"; {not_run}" if not_run else "") + ")"
            else:
                text = f"failed {marks}" if cell["failed"] else ("not run" if not_run else "—")
            cells.append(text)
            if has_paper:
                cells.append(_num(cell["paper"]) if row.get("paper_row") else "")
        cells += [_reference_text(row["cells"].get(col["key"])) for col in ref_cols]
        lines.append("| " + " | ".join(cells) + " |")
    for ref in doc.get("reference_rows", []):
        windows = ", ".join(map(str, ref.get("n_windows", [])))
        cells = [ref["name"] + (f" ({windows} windows; reference)" if windows else " (reference)")]
        for col in doc["columns"]:
            cell = ref["cells"].get(col["key"])
            cells += [_reference_text(cell) if cell is not None else "—"] + ([""] if has_paper else [])
        cells += [""] * len(ref_cols)
        lines.append("| " + " | ".join(cells) + " |")
    for extra in doc.get("paper_only_rows", []):
        cells = [extra["name"] + " (paper only)"]
        for col in doc["columns"]:
            cells += ["—", _num(extra["paper"].get(col["key"]))]
        cells += ["—"] * len(ref_cols)
        lines.append("| " + " | ".join(cells) + " |")
    if ref_cols:
        lines += ["", "References that tell localization from classification, through the same evaluator: "
                  "*with GT labels* = the row's own detections relabelled with the video's GT label (localization "
                  "only); *fixed windows* = the same class-agnostic windows on every video (k-means of the relative "
                  "centre and length of the untrimmed training set's instances, ranked by their frequency), labelled "
                  "by the row's video classifier (*its video labels*) or by the GT label (the reference row); *video "
                  "acc.* = the video classifier's accuracy. A method localizes better than a fixed prior only where "
                  "its mAP beats the fixed windows with its own video labels. \"–\": the run's metrics.json predates "
                  "these references."]
    if notes:
        lines += ["", "Failed runs:", ""]
        for i, (error, wheres) in enumerate(notes, 1):
            lines.append(f"{i}. `{error}` — {'; '.join(dict.fromkeys(wheres))}")
    if doc.get("text_gains"):
        lines += ["", "Gains reported in the text (average mAP, percentage points):", "",
                  "| gain | setting | ours | paper |", "|---|---|---:|---:|"]
        for g in doc["text_gains"]:
            ours = "—" if g["ours"] is None else f"{g['ours']:+.2f}"
            lines.append(f"| {g['better']} over {g['worse']} | {paper_numbers.SETTING_TITLES[g['setting']]} | "
                         f"{ours} | {g['paper']:+.1f} |")
    if doc.get("text_untrimmed_classes"):
        lines += ["", "AherNet vs AherNet* on the *untrimmed-set* classes (the text; average mAP on their held-out "
                  "videos; AherNet* here is fully supervised on the untrimmed set, `train.method=oracle_untrimmed`):",
                  "", "| setting | AherNet (ours) | AherNet* (ours) | paper: AherNet vs AherNet* | AherNet with GT labels "
                  "| AherNet* with GT labels | fixed windows + GT labels |", "|---|---:|---:|---:|---:|---:|---:|"]
        for t in doc["text_untrimmed_classes"]:
            cells = []
            for name in ("AherNet", "AherNet*"):
                c = t["ours"][name]
                cells.append("—" if not c["n"] else _num(c["mean"]) + (f" ± {_num(c['std'])}" if c["std"] is not None
                                                                        else "") + f" (n={c['n']})")
            refs = [_reference_text(t.get("ours_gt_labels", {}).get(name)) for name in ("AherNet", "AherNet*")]
            refs.append(_reference_text(t.get("prior_gt_labels")))
            lines.append(f"| {paper_numbers.SETTING_TITLES[t['setting']]} | {cells[0]} | {cells[1]} | "
                         f"{t['paper']['AherNet']} vs {t['paper']['AherNet*']} | " + " | ".join(refs) + " |")
        failed = [(t["setting"], r) for t in doc["text_untrimmed_classes"] for r in t["runs"]
                  if r["status"] in ("failed", "missing")]
        if failed:
            lines += ["", "Failed or not run (untrimmed-set classes):", ""]
            lines += [f"* {r['row']} on {s} (seed {r['seed']}): `{r['error']}`" for s, r in failed]
    if doc.get("orderings"):
        lines += ["", "Orderings, lowest mean first (rows with both our number and the paper's; Kendall's τ-b between "
                  "our means and the paper's numbers, 1 = same order, −1 = reversed; a gap inside one std is not an "
                  "ordering):", "", "| column | ours | paper | τ |", "|---|---|---|---:|"]
        for o in doc["orderings"]:
            tau = "–" if o["kendall_tau"] is None else f"{o['kendall_tau']:+.2f}"
            lines.append(f"| {o['title']} | {' < '.join(o['ours'])} | {' < '.join(o['paper'])} | {tau} |")
    if doc.get("run_time", {}).get("timed"):
        t = doc["run_time"]
        lines += ["", f"Run time: {_hms(t['seconds'])} for the {t['timed']} timed runs and tests of this table "
                  "(summed from each run's `reproduce.log`, run one after the other; a resumed run counts only its "
                  "last stretch)" + (f"; {t['untimed']} finished runs have no logged time" if t["untimed"] else "")
                  + "."]
    if doc.get("paper_text"):
        lines += ["", f"Paper: {doc['paper_text']}"]
    if doc.get("plot"):
        lines += ["", f"Plot: {doc['plot']}"]
    for note in doc.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write_table(doc, out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{doc['table']}.json", out_dir / f"{doc['table']}.md"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(json_path)
    md_path.write_text(render_markdown(doc))
    return json_path, md_path


def plot_fig6(json_path, png_path):
    """Call ``aher.plots.fig6(json_path, png_path)`` when it exists; return (text for the report, ok)."""
    try:
        plots = importlib.import_module("aher.plots")
    except ModuleNotFoundError as exc:
        if exc.name == "aher.plots":
            return "skipped: aher.plots does not exist yet (the numbers are in fig6.json)", True
        return f"skipped: aher.plots cannot be imported ({exc})", False
    fig6 = getattr(plots, "fig6", None)
    if fig6 is None:
        return "skipped: aher.plots has no fig6(json_path, png_path) yet (the numbers are in fig6.json)", True
    try:
        fig6(str(json_path), str(png_path))
    except Exception as exc:  # the plot is another module's: report it, keep the numbers
        return f"failed: aher.plots.fig6 raised {type(exc).__name__}: {exc}", False
    return f"[{Path(png_path).name}]({Path(png_path).name})", True


# ----------------------------------------------------------------------------------------------
# Command line


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.reproduce", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tables", nargs="+", choices=(*TABLE_NAMES, "all"), metavar="TABLE",
                   help=f"one or more of {', '.join(TABLE_NAMES)}, or all")
    p.add_argument("--data", choices=("synthetic", "real"), default="synthetic")
    p.add_argument("--scale", choices=("tiny", "small"), default="small", help="synthetic benchmark scale")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per row (default 3)")
    p.add_argument("--out", help="folder of the tables (default: reports/reproduce in the project)")
    p.add_argument("--runs", help="folder of the runs (default: runs/reproduce in the project)")
    p.add_argument("--config-dir", help="real data: folder of <setting>_paper.yaml (default: configs/)")
    p.add_argument("--config", action="append", default=[], metavar="SETTING=FILE",
                   help="config file of one setting (repeatable)")
    p.add_argument("--force", action="store_true", help="retrain runs that have a metrics.json")
    p.add_argument("--dry-run", action="store_true", help="list the runs and commands, run nothing")
    p.add_argument("--no-train", action="store_true",
                   help="write the tables from the finished runs only (missing runs show as 'not run'); "
                        "still runs the quick extra tests of finished runs")
    p.add_argument("--set", action="append", default=[], dest="overrides", help=argparse.SUPPRESS)
    return p


def resolve_configs(args, settings):
    given = {}
    for text in args.config:
        setting, sep, path = text.partition("=")
        if not sep or setting not in ENTRY_SCRIPTS or not path:
            raise UserError(f"--config '{text}' is not SETTING=FILE with SETTING one of {', '.join(ENTRY_SCRIPTS)}")
        given[setting] = Path(path).resolve()
    if args.data == "real":
        folder = Path(args.config_dir).resolve() if args.config_dir else PROJECT_ROOT / "configs"
        default = {s: folder / f"{s}_paper.yaml" for s in settings}
    else:
        if args.config_dir:
            raise UserError("--config-dir is for --data real (synthetic configs are configs/<setting>_synthetic_<scale>.yaml)")
        default = {s: PROJECT_ROOT / "configs" / f"{s}_synthetic_{args.scale}.yaml" for s in settings}
    configs = {s: given.get(s, default[s]) for s in settings}
    missing = [str(p) for p in configs.values() if not p.is_file()]
    if missing:
        raise UserError(f"missing config file(s): {', '.join(missing)} (pass --config SETTING=FILE)")
    return configs


def _command_line(argv):
    return "python -m aher.reproduce " + shlex.join(argv)


def print_plan(plan, force, log=print):
    log(f"# commands run in {PROJECT_ROOT}; runs in state 'reuse' are not retrained ('--force' retrains)")
    counts = {}
    for run in plan:
        state, reason = inspect_run(run.out, run.overrides, force)
        counts[state] = counts.get(state, 0) + 1
        uses = "; ".join(f"{t}: {r}" for t, r in run.uses)
        log(f"[{state}] {run.spec.setting} · {run.spec.label} · seed {run.spec.seed}  ({uses})")
        log(f"    {_display(run.out)}" + (f"  -- {reason}" if reason else ""))
        if state not in ("reuse", "stale"):
            log(f"    $ {shlex.join(command(run.script, run.config, run.out, run.overrides, state == 'resume'))}")
        for space in run.evals:
            done = (eval_dir(run.out, space) / "metrics.json").is_file() and not force and state == "reuse"
            log(f"    then test on the {space}-set classes" + (" (reuse)" if done else
                f": $ {shlex.join(test_command(run.config, run.out, run.overrides, space))}"))
    configs = len({(r.spec.setting, r.spec.method, r.spec.extra) for r in plan})
    seeds = len({r.spec.seed for r in plan})
    log(f"dry run: {len(plan)} runs ({configs} row configurations × {seeds} seeds): "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def run(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise UserError("--seeds must be at least 1")
    for text in args.overrides:
        parse_override(text)
    tables = expand_tables(args.tables)
    configs = resolve_configs(args, settings_needed(tables))
    runs_root = Path(args.runs).resolve() if args.runs else PROJECT_ROOT / "runs" / "reproduce"
    out_dir = Path(args.out).resolve() if args.out else PROJECT_ROOT / "reports" / "reproduce"
    scale_dir = args.scale if args.data == "synthetic" else "real"
    seeds = list(range(args.seeds))
    plan = build_plan(tables, seeds, configs, runs_root, scale_dir, args.overrides)
    if args.dry_run:
        print_plan(plan, args.force)
        return 0
    results = execute(plan, force=args.force, train=not args.no_train)
    meta = {"data": args.data, "scale": args.scale if args.data == "synthetic" else None,
            "command": _command_line(argv), "date": f"{datetime.datetime.now():%Y-%m-%d %H:%M}",
            "configs": {s: _display(p) for s, p in configs.items()}, "runs_root": _display(runs_root)}
    failed = False
    for table in tables:
        doc = collect_table(table, seeds, results, meta)
        failed |= bool(doc["failures"])
        json_path, md_path = write_table(doc, out_dir)
        if table == "fig6":
            doc["plot"], ok = plot_fig6(json_path, out_dir / "fig6.png")
            failed |= not ok
            json_path, md_path = write_table(doc, out_dir)
        print(f"wrote {_display(md_path)} and {json_path.name}"
              + (f" ({len(doc['failures'])} failed runs)" if doc["failures"] else ""), flush=True)
        if table == "fig6":
            print(f"    Fig. 6 plot: {doc['plot']}")
    total = run_time([{"status": r.status, "seconds": r.seconds} for r in results.values()])
    print(f"run time of the plan's finished runs and tests: {_hms(total['seconds'])} summed over {total['timed']}"
          + (f" ({total['untimed']} without a logged time)" if total["untimed"] else ""), flush=True)
    failures = sum(r.status == "failed" for r in results.values())
    if failures:
        print(f"{failures} of {len(results)} runs failed (see the tables' 'Failed runs' and each run's "
              "reproduce.log)", file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    try:
        return run_main(run, argv)
    except BrokenPipeError:                       # e.g. --dry-run | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
