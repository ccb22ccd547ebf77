"""The JSON document of one table: our numbers per row and column beside the paper's, from the runs.

Contract: ``collect_table(table, seeds, results, meta)`` turns the runs' results
({RunSpec: RunResult}, and {(space, RunSpec): RunResult} of the extra tests) into the document that
``<out>/<table>.json`` holds and ``aher.reproduce.markdown`` renders.  Each cell is our mean ±
sample std over the finished seeds (n) in percent, with the values, the counts of failed and
missing ("not run") seeds and the paper's number.  A finished run whose metrics.json lacks a
column's number counts as failed.  Every table also has the references that tell localization
from classification (``aher.inference``), read from the same metrics.json files: per row and
setting the columns ``REFERENCE_COLUMNS`` (JSON ``reference_columns``, cells in each row's
``cells``) and the row "fixed windows + GT labels" (``reference_rows``: the mean over the table's
distinct finished runs of a setting); a run whose metrics.json predates them gives "absent", never
a failure.  Each row also has ``mechanism``: per setting, mean ± std over its finished runs of the
mechanism diagnostics at the tested snapshot (``aher.reproduce.mechanism``: discriminator accuracy
and probe AUCs as fractions, the generated context's and real background's feature statistics),
for the runs whose folder has them.  Table 1 adds the text's AherNet vs
AherNet* on the untrimmed-set classes (``text_untrimmed_classes``), Table 2 the text's gains,
Fig. 6 the series the plot reads.
Limits: no files; the numbers' arithmetic is in ``aher.reproduce.stats``.
"""

import math

from aher import paper_numbers
from aher.reproduce.mechanism import DIAGNOSTICS, GENERATOR_STATS, final_diagnostics
from aher.reproduce.plan import UNTRIMMED, RunSpec, own_label_space
from aher.reproduce.runner import RunResult, display_path
from aher.reproduce.stats import optional_cell, orderings, run_time, summarize, text_gains, to_percent
from aher.reproduce.tables import FRACTIONS, TABLE_SPECS

#: per-row references (metrics.json keys; optional: a run without them shows "–")
REFERENCE_COLUMNS = ("average_mAP_gt_labels", "prior_average_mAP_video_labels", "video_accuracy")
REFERENCE_TITLES = {"average_mAP_gt_labels": "average mAP with GT labels",
                    "prior_average_mAP_video_labels": "fixed windows + its video labels",
                    "video_accuracy": "video acc."}
PRIOR_ROW_NAME = "Fixed windows + GT labels"
UNITS = "percent (mAP as in the paper's tables; AUC of AR@AN as the official proposal script)"


def collect_table(table, seeds, results, meta=None):
    """The JSON document of one table from the runs' results ({RunSpec: RunResult})."""
    spec = TABLE_SPECS[table]
    cols = _columns(spec)
    failures = []
    rows = [_row_entry(table, spec, row, seeds, results, failures) for row in spec.rows]
    doc = {"table": table, "title": spec.title, **(meta or {}), "seeds": list(seeds),
           "iterations": _iterations(spec, seeds, results), "units": UNITS, "columns": cols, "rows": rows,
           "paper_only_rows": _paper_only_rows(table, spec), "failures": failures, "notes": [],
           "reference_columns": _reference_columns(spec), "reference_rows": [_prior_row(spec, rows, results)]}
    if spec.untrimmed_rows:
        doc["text_untrimmed_classes"] = _untrimmed_classes(spec, seeds, results, failures)
    doc["orderings"] = orderings(rows, cols)
    doc["run_time"] = run_time([r for row in rows for r in row["runs"]]
                               + [r for t in doc.get("text_untrimmed_classes", []) for r in t["runs"]])
    _add_table_text(doc, table, spec, rows)
    return doc


def _iterations(spec, seeds, results):
    """The distinct training lengths (the tested snapshot's iteration in metrics.json) of the table's
    finished runs: one value when every run has the configured length."""
    found = set()
    for row in spec.rows:
        for setting in spec.settings:
            for seed in seeds:
                res = results.get(RunSpec(setting, row.method, tuple(row.extra), seed))
                if res is not None and res.status not in ("failed", "missing") and (res.metrics or {}).get("iteration"):
                    found.add(int(res.metrics["iteration"]))
    return sorted(found)


def _columns(spec):
    return [{"key": f"{s}/{m}", "setting": s, "metric": m,
             "title": f"{paper_numbers.SETTING_TITLES[s]} {paper_numbers.METRIC_TITLES[m]}"} for s, m in spec.columns]


def _reference_columns(spec):
    return [{"key": f"{s}/{m}", "setting": s, "metric": m, "reference": True,
             "title": f"{paper_numbers.SETTING_TITLES[s]} {REFERENCE_TITLES[m]}"}
            for s in spec.settings for m in REFERENCE_COLUMNS]


def _add_table_text(doc, table, spec, rows):
    """What one table has beside its rows: Table 2's gains, the notes, Fig. 6's text and series."""
    if table == "table2":
        doc["text_gains"] = text_gains(rows)
        doc["notes"].append("The paper's first row 'AherNet^U' has AherNet^0's numbers of Table 1: presumably a "
                            "typo for AherNet^0 (paper_vs_code §11.1 item 16); we run AherNet^0 for it.")
    if table == "table3":
        doc["notes"].append("The other rows are other papers' numbers on real ActivityNet v1.3 (fully or weakly "
                            "supervised); they are listed from the paper only.")
    if table == "fig6":
        doc["paper_text"] = paper_numbers.FIG6["text"]
        doc["series"] = _fig6_series(rows, spec)


# ----------------------------------------------------------------------------------------------
# The rows


def _dir(path):
    """A run folder as written into the tables: relative to the project root when inside it."""
    return None if path is None else display_path(path)


def _run_record(res, **where):
    return {**where, "status": res.status, "dir": _dir(res.out), "seconds": res.seconds, "error": res.error}


def _checked(res, metrics):
    """``res``, "missing" when there is none, failed when a finished run lacks a number of ``metrics``."""
    if res is None:
        return RunResult("missing", error="not run")
    if res.status not in ("failed", "missing"):
        missing = [m for m in metrics if to_percent(m, (res.metrics or {}).get(m)) is None]
        if missing:
            return RunResult("failed", res.metrics, res.seconds, f"metrics.json has no number for {', '.join(missing)}",
                             res.out)
    return res


def _row_entry(table, spec, row, seeds, results, failures):
    """One row of the document: its runs, its cells and its reference cells; appends its failures."""
    entry = {"name": row.name, "paper_row": row.paper, "method": row.method,
             "overrides": [f"{k}={v}" for k, v in row.extra], "cells": {}, "runs": []}
    for setting in spec.settings:
        for seed in seeds:
            res = _checked(results.get(RunSpec(setting, row.method, tuple(row.extra), seed)), spec.metrics)
            entry["runs"].append(_run_record(res, setting=setting, seed=seed))
            if res.status == "failed":
                failures.append({"row": row.name, "setting": setting, "seed": seed, "error": res.error})
    for setting, metric in spec.columns:
        entry["cells"][f"{setting}/{metric}"] = _metric_cell(table, row, setting, metric, entry["runs"], results)
    for setting in spec.settings:
        finished = _finished_metrics(entry["runs"], setting, row, results)
        for metric in REFERENCE_COLUMNS:
            entry["cells"][f"{setting}/{metric}"] = optional_cell(finished, metric)
    entry["mechanism"] = _mechanism(entry["runs"], spec, row, results)
    return entry


def _mechanism(runs, spec, row, results):
    """Per setting: mean ± std of each diagnostic over the row's finished runs that have it."""
    out = {}
    for setting in spec.settings:
        found = [final_diagnostics(res.out, (res.metrics or {}).get("iteration")) or {}
                 for _, res in _finished_results(runs, setting, row, results) if res.out]
        cells = {}
        for name in (*DIAGNOSTICS, *GENERATOR_STATS):
            values = [d[name] for d in found if isinstance(d.get(name), (int, float)) and math.isfinite(d[name])]
            if values:
                cells[name] = dict(summarize(values), values=values)
        if cells:
            out[setting] = cells
    return out


def _metric_cell(table, row, setting, metric, runs, results):
    """Mean ± std of one column over the row's finished runs, the failed and missing counts, the paper's."""
    runs = [r for r in runs if r["setting"] == setting]
    values = []
    for r in runs:
        if r["status"] not in ("failed", "missing"):
            res = results[RunSpec(setting, row.method, tuple(row.extra), r["seed"])]
            values.append(to_percent(metric, res.metrics[metric]))
    cell = summarize(values)
    cell.update(values=values, failed=sum(r["status"] == "failed" for r in runs),
                missing=sum(r["status"] == "missing" for r in runs),
                paper=_paper_value(table, row, setting, metric))
    return cell


def _paper_value(table, row, setting, metric):
    if row.paper is None or table not in paper_numbers.TABLES:
        return None
    try:
        return paper_numbers.value(table, row.paper, setting, metric)
    except KeyError:
        return None


def _finished_results(runs, setting, row, results):
    """(run record, RunResult) of each of a row's finished runs on ``setting``."""
    return [(r, results[RunSpec(setting, row.method, tuple(row.extra), r["seed"])]) for r in runs
            if r["setting"] == setting and r["status"] not in ("failed", "missing")]


def _finished_metrics(runs, setting, row, results):
    """{run folder: metrics} of a row's finished runs on ``setting``."""
    return {r["dir"] or f"seed{r['seed']}": res.metrics for r, res in _finished_results(runs, setting, row, results)}


def _paper_only_rows(table, spec):
    """The paper's rows that we do not run (other papers' methods), with the paper's numbers."""
    if table not in paper_numbers.TABLES:
        return []
    ours = {row.paper for row in spec.rows}
    paper = paper_numbers.TABLES[table]
    return [{"name": name, "paper": {f"{s}/{m}": v for (s, m), v in zip(paper["columns"], values)}}
            for name, values in paper["rows"] if name not in ours]


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
        cells[f"{setting}/{metric}"] = optional_cell(finished, key) if metric != "AUC" else None
        windows |= {m["prior_n_windows"] for m in finished.values() if m.get("prior_n_windows")}
    return {"name": PRIOR_ROW_NAME, "metric_source": "prior_<metric>_gt_labels", "n_windows": sorted(windows),
            "cells": cells}


# ----------------------------------------------------------------------------------------------
# Table 1's text: AherNet vs AherNet* on the untrimmed-set classes


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
            values, finished = _untrimmed_row(entry, row, seeds, results, failures)
            entry["ours"][row.paper] = dict(summarize(values), values=values)
            entry.setdefault("ours_gt_labels", {})[row.paper] = optional_cell(finished, "average_mAP_gt_labels")
            every.update(finished)
        entry["prior_gt_labels"] = optional_cell(every, "prior_average_mAP_gt_labels")
        out.append(entry)
    return out


def _untrimmed_row(entry, row, seeds, results, failures):
    """The average mAP values and {folder: metrics} of one row's finished tests on the untrimmed-set
    classes; appends the row's runs to ``entry`` and its failures to ``failures``."""
    values, finished = [], {}
    setting = entry["setting"]
    for seed in seeds:
        res = untrimmed_result(results, RunSpec(setting, row.method, tuple(row.extra), seed))
        res = res or RunResult("missing", error="not run")
        value = to_percent("average_mAP", (res.metrics or {}).get("average_mAP"))
        if res.status not in ("failed", "missing") and value is None:
            res = RunResult("failed", error="metrics.json has no number for average_mAP", out=res.out)
        entry["runs"].append(_run_record(res, row=row.name, seed=seed))
        if res.status == "failed":
            failures.append({"row": f"{row.name} (untrimmed-set classes)", "setting": setting, "seed": seed,
                             "error": res.error})
        elif res.status != "missing":
            values.append(value)
            finished[res.out or f"{row.name}/{seed}"] = res.metrics
    return values, finished


# ----------------------------------------------------------------------------------------------
# Fig. 6


def _fig6_series(rows, spec):
    """Per setting and metric: AherNet* at each annotation fraction and AherNet (what the plot reads)."""
    oracle_rows, ahernet = rows[:len(FRACTIONS)], rows[len(FRACTIONS)]
    series = {}
    for setting in spec.settings:
        series[setting] = {}
        for metric in spec.metrics:
            key = f"{setting}/{metric}"
            series[setting][metric] = {"fractions": list(FRACTIONS),
                                       "AherNet*": [_mean_std_n(r["cells"][key]) for r in oracle_rows],
                                       "AherNet": _mean_std_n(ahernet["cells"][key])}
    return series


def _mean_std_n(cell):
    return {k: cell[k] for k in ("mean", "std", "n")}
