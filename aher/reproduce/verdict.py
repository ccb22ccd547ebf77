"""The paper's claims decided from the written tables and learning curves, one line each.

  python -m aher.reproduce.verdict [--tables reports/reproduce] [--curves reports/curves/curves.json]
      [--out reports/reproduce/verdict.md]

Contract: reads ``table2.json``, ``table4.json``, ``fig6.json`` (``python -m aher.reproduce``) and
``curves.json`` (``python -m aher.reproduce.curves``) and writes ``verdict.md`` and ``verdict.json``
beside ``--out``: per claim and column one decision, ``holds``, ``does not hold`` or ``cannot be
decided`` (the decisions are the ``DECISIONS`` strings), with the numbers it rests on.

* A claim "A > B" on a column is Welch's t-test of the two rows' per-seed values (two-sided,
  ``ALPHA`` = 0.05): holds when A's mean is the higher and p < ALPHA, does not hold when it is the
  lower and p < ALPHA, cannot be decided otherwise or when a side has fewer than two values (the
  line says n and the direction).
* Table 2's and Table 4's orderings on average mAP, one claim per column made of the claims "A > B"
  for each neighbouring pair of the paper's order (does not hold when a pair does not, holds when
  all do, else cannot be decided), shown with Kendall's tau-b of the table (1 = the paper's order).
* The text's gains: context (AherNet_A- > AherNet_M), adversarial (AherNet > AherNet_A-), weight
  transfer (AherNet > AherNet^-), on average mAP of Tables 2 and 4; the context and adversarial
  gains carry the two rows' mechanism diagnostics of that setting (the tables' ``mechanism``), and
  every gain the same comparison on average mAP with GT labels (localization only) and on video
  accuracy (``SPLIT_COLUMNS``), which tell whether a gain or loss comes from localization or from
  the video classifier.
* Fig. 6: AherNet* with a fraction f of the annotations is below AherNet for f <= 0.5 and above it
  for f > 0.5 (the paper's text): per setting one claim made of the fractions, combined as above.
* Fig. 5: the generated context is indistinguishable from real background, decided on the linear
  probe's held-out AUC of generated vs real background at the input features: per setting from the
  AherNet row of Tables 2 and 4 (every seed's tested snapshot) and from the last tested snapshot
  of the AherNet curve: holds when every value is at most ``PROBE_CHANCE`` = 0.6, does not hold
  when every value is at least ``PROBE_SEPARABLE`` = 0.75, cannot be decided otherwise; the
  discriminator's accuracy is shown beside it.
* Beside the claims (no paper claim): AherNet with the paper-side switches against AherNet.
A missing file or row gives "cannot be decided" with the reason; a ``--tables`` folder that does not
exist is a one-line error.
Limits: decides on the numbers as written; it trains and tests nothing.
"""

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

from aher import paper_numbers
from aher.cli import run_main
from aher.errors import UserError
from aher.paths import PROJECT_ROOT
from aher.reproduce.mechanism import GENERATOR_STATS
from aher.reproduce.process import display_path
from aher.reproduce.tables import FRACTIONS, PAPER_SWITCHES_ROW, fig6_row_name

ALPHA = 0.05
PROBE_CHANCE = 0.6
PROBE_SEPARABLE = 0.75
DECISIONS = ("holds", "does not hold", "cannot be decided")
PAPER_ORDER = ("AherNet^0", "AherNet^-", "AherNet_M", "AherNet_A-", "AherNet", "AherNet*")
SPLIT_COLUMNS = (("average_mAP_gt_labels", "with GT labels"), ("video_accuracy", "video accuracy"))
GAINS = (("context gain", "AherNet_A-", "AherNet_M"), ("adversarial gain", "AherNet", "AherNet_A-"),
         ("weight-transfer gain", "AherNet", "AherNet^-"))


def compare(better, worse):
    """The decision on "mean of ``better`` > mean of ``worse``" from the two lists of per-seed values."""
    a, b = [float(v) for v in better], [float(v) for v in worse]
    out = {"better_mean": _mean(a), "worse_mean": _mean(b), "n": [len(a), len(b)], "p": None}
    if not a or not b:
        return {**out, "decision": DECISIONS[2], "why": "no value" + ("" if a else " of the first row")
                + ("" if b else " of the second row")}
    out["difference"] = out["better_mean"] - out["worse_mean"]
    if len(a) < 2 or len(b) < 2:
        return {**out, "decision": DECISIONS[2], "why": f"n = {len(a)} vs {len(b)}: no test below 2 seeds"}
    if max(a) == min(a) and max(b) == min(b):       # no spread: the test is undefined, equal means decide nothing
        p = 0.0 if a[0] != b[0] else 1.0
    else:
        from scipy.stats import ttest_ind      # imported here: scipy.stats is slow to import
        with warnings.catch_warnings():       # a side of equal values up to rounding: its variance is ~0, as meant
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(ttest_ind(a, b, equal_var=False).pvalue)
    out["p"] = p
    if p < ALPHA:
        return {**out, "decision": DECISIONS[0] if out["difference"] > 0 else DECISIONS[1], "why": None}
    return {**out, "decision": DECISIONS[2], "why": f"p = {p:.2f} >= {ALPHA} at n = {len(a)} vs {len(b)}"}


def _mean(values):
    return sum(values) / len(values) if values else None


def _rows(doc):
    return {row["name"]: row for row in doc.get("rows", [])}


def _values(rows, name, key):
    cell = rows.get(name, {}).get("cells", {}).get(key) or {}
    return cell.get("values") or []


def _claim(claim, where, better, worse, result):
    return {"claim": claim, "where": where, "better": better, "worse": worse, **result}


def _missing(claim, where, why):
    return {"claim": claim, "where": where, "decision": DECISIONS[2], "why": why}


def table_claims(doc, key, title):
    """The ordering, the text's gains and the paper-switches comparison on one column of a table."""
    rows = _rows(doc)
    out = []
    tau = next((o.get("kendall_tau") for o in doc.get("orderings", []) if o["key"] == key), None)
    order = [name for name in PAPER_ORDER if name in rows]
    pairs = [_claim("ordering pair", title, higher, lower, compare(_values(rows, higher, key), _values(rows, lower, key)))
             for lower, higher in zip(order, order[1:])]
    if pairs:
        out.append({"claim": "ordering " + " < ".join(order), "where": title, "decision": combine(pairs),
                    "kendall_tau": tau, "parts": pairs, "why": None})
    setting = key.split("/")[0]
    has_mechanism = any("mechanism" in row for row in rows.values())    # tables written before it have none
    for name, better, worse in GAINS:
        if better in rows and worse in rows:
            claim = _claim(name, title, better, worse, compare(_values(rows, better, key), _values(rows, worse, key)))
            claim["split"] = split_comparison(rows, setting, better, worse)
            if name != "weight-transfer gain" and has_mechanism:
                claim["diagnostics"] = {row: (rows[row].get("mechanism") or {}).get(setting, {}) for row in (better, worse)}
            out.append(claim)
    if PAPER_SWITCHES_ROW in rows and "AherNet" in rows:
        claim = _claim("paper switches (no paper claim)", title, PAPER_SWITCHES_ROW, "AherNet",
                       compare(_values(rows, PAPER_SWITCHES_ROW, key), _values(rows, "AherNet", key)))
        claim["split"] = split_comparison(rows, setting, PAPER_SWITCHES_ROW, "AherNet")
        out.append(claim)
    return tau, out


def split_comparison(rows, setting, better, worse):
    """The same comparison on the columns that tell localization from classification (``SPLIT_COLUMNS``):
    {label: compare(...)} for the columns both rows have values in (tables written before them have none)."""
    out = {}
    for metric, label in SPLIT_COLUMNS:
        a, b = _values(rows, better, f"{setting}/{metric}"), _values(rows, worse, f"{setting}/{metric}")
        if a and b:
            out[label] = compare(a, b)
    return out


def combine(parts):
    """One decision for a claim made of parts: does not hold when a part does not, holds when all do."""
    decisions = {p["decision"] for p in parts}
    if DECISIONS[1] in decisions:
        return DECISIONS[1]
    return DECISIONS[0] if decisions == {DECISIONS[0]} else DECISIONS[2]


def fig6_claims(doc):
    """Per setting: AherNet* at each annotation fraction against AherNet, below it up to 50 %, above it beyond."""
    rows = _rows(doc)
    out = []
    for col in doc.get("columns", []):
        if col["metric"] != "average_mAP":
            continue
        parts = []
        for fraction in FRACTIONS:
            name = fig6_row_name(fraction)
            if name not in rows:
                continue
            star, ahernet = _values(rows, name, col["key"]), _values(rows, "AherNet", col["key"])
            below = fraction <= 0.5
            parts.append({"fraction": fraction, **_claim(
                f"AherNet* {'below' if below else 'above'} AherNet at {fraction:.0%}", col["title"],
                *(("AherNet", name) if below else (name, "AherNet")),
                compare(ahernet, star) if below else compare(star, ahernet))})
        if parts:
            out.append({"claim": "Fig. 6: AherNet* overtakes AherNet only above 50 % of the annotations",
                        "where": col["title"], "decision": combine(parts), "parts": parts, "why": None})
    return out


FIG5 = "Fig. 5: generated context indistinguishable from real background"


def _probe_decision(values):
    if all(v <= PROBE_CHANCE for v in values):
        return DECISIONS[0], None
    if all(v >= PROBE_SEPARABLE for v in values):
        return DECISIONS[1], None
    return DECISIONS[2], (f"probe AUC {', '.join(f'{v:.2f}' for v in values)}: not all <= {PROBE_CHANCE} "
                          f"nor all >= {PROBE_SEPARABLE}")


def fig5_table_claims(doc, table):
    """Per setting of the table: the AherNet row's probe AUC (input) over its seeds (none from a
    table written without the rows' mechanism diagnostics)."""
    ahernet = _rows(doc).get("AherNet", {})
    if "mechanism" not in ahernet:
        return []
    mechanism = ahernet["mechanism"] or {}
    out = []
    for setting in dict.fromkeys(col["setting"] for col in doc.get("columns", [])):
        cells = mechanism.get(setting) or {}
        values = (cells.get("probe_auc_input") or {}).get("values") or []
        where = (f"{table} {paper_numbers.SETTING_TITLES.get(setting, setting)} (AherNet, {len(values)} "
                 f"seed{'s' if len(values) != 1 else ''})")
        if not values:
            out.append(_missing(FIG5, where, "no finished AherNet run with diagnostics"))
            continue
        decision, why = _probe_decision(values)
        out.append({"claim": FIG5, "where": where, "decision": decision, "probe_auc_input": _mean(values),
                    "probe_auc_values": values,
                    "probe_auc_layer_1": (cells.get("probe_auc_layer_1") or {}).get("mean"),
                    "discriminator_accuracy": (cells.get("discriminator_accuracy") or {}).get("mean"),
                    "generator": {name: (cells.get(name) or {}).get("mean") for name in GENERATOR_STATS},
                    "iteration": doc.get("iterations"), "why": why})
    return out


def fig5_claims(curves):
    """Per setting: the last tested snapshot of the AherNet curve with its probe AUC."""
    out = []
    for curve in curves.get("curves", []):
        if curve.get("method") != "algorithm1":
            continue
        where = f"{curve['setting']} (curve, seed {curve['seed']})"
        points = [p for p in curve.get("points", []) if p.get("probe_auc_input") is not None]
        if curve.get("status") != "finished" or not points:
            out.append(_missing(FIG5, where, f"no tested snapshot with diagnostics ({curve.get('status')})"))
            continue
        last = points[-1]
        auc, acc = last["probe_auc_input"], last.get("discriminator_accuracy")
        decision, why = _probe_decision([auc])
        out.append({"claim": FIG5, "where": where, "decision": decision, "iteration": last["iteration"],
                    "probe_auc_input": auc, "probe_auc_layer_1": last.get("probe_auc_layer_1"),
                    "discriminator_accuracy": acc, "why": why})
    return out


def _load(path):
    try:
        return json.loads(Path(path).read_text()), None
    except (OSError, ValueError) as exc:
        return None, f"{display_path(path)}: unreadable ({exc.__class__.__name__})"


def build_verdict(tables_dir, curves_path):
    """The verdict document from the tables' folder and the curves' JSON."""
    tables_dir = Path(tables_dir)
    doc = {"tables": display_path(tables_dir), "curves": display_path(curves_path), "alpha": ALPHA,
           "orderings": [], "claims": []}
    fig5, scales = [], set()
    for table in ("table2", "table4"):
        tdoc, error = _load(tables_dir / f"{table}.json")
        if error:
            doc["claims"].append(_missing(f"{table}: ordering and gains", table, error))
            continue
        scales.add(tdoc.get("scale"))
        for col in tdoc["columns"]:
            if col["metric"] not in ("average_mAP", "AUC"):
                continue
            tau, claims = table_claims(tdoc, col["key"], f"{table} {col['title']}")
            doc["orderings"].append({"table": table, "column": col["title"], "kendall_tau": tau,
                                     "seeds": tdoc.get("seeds"), "iterations": tdoc.get("iterations")})
            if col["metric"] == "average_mAP":            # the paper's claims are on average mAP; AUC: tau only
                doc["claims"] += claims
        fig5 += fig5_table_claims(tdoc, table)
    fdoc, error = _load(tables_dir / "fig6.json")
    doc["claims"] += fig6_claims(fdoc) if fdoc else [_missing("Fig. 6 crossing", "fig6", error)]
    cdoc, error = _load(curves_path)
    if cdoc and scales and cdoc.get("scale") not in scales:
        tables = ", ".join(f"scale {s!r}" if s else "real data" for s in sorted(scales, key=str))
        cdoc, error = None, (f"{display_path(curves_path)} holds curves of scale {cdoc.get('scale')!r}, the tables "
                             f"are of {tables}: not used (--curves with curves of the tables' data and scale)")
    doc["claims"] += fig5 + (fig5_claims(cdoc) if cdoc else [_missing(FIG5, "curves", error)])
    return doc


def _num(value, digits=2):
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def claim_line(c):
    """One claim as a Markdown table row."""
    if c["claim"].startswith("Fig. 5") and "probe_auc_values" in c:
        numbers = (f"probe AUC {_num(c['probe_auc_input'])} (input; per seed "
                   f"{', '.join(_num(v) for v in c['probe_auc_values'])}), {_num(c.get('probe_auc_layer_1'))} "
                   f"(layer 1); discriminator accuracy {_num(c.get('discriminator_accuracy'))}"
                   + _generator_text(c.get("generator") or {}) + "; means over the seeds")
    elif c["claim"].startswith("Fig. 5") and "probe_auc_input" in c:
        numbers = (f"probe AUC {_num(c['probe_auc_input'])} (input), {_num(c.get('probe_auc_layer_1'))} (layer 1); "
                   f"discriminator accuracy {_num(c.get('discriminator_accuracy'))} at iteration {c['iteration']}")
    elif "parts" in c:
        numbers = ("τ = " + _num(c["kendall_tau"]) + "; " if "kendall_tau" in c else "") + "; ".join(
            f"{part['better']} {_num(part.get('better_mean'))} vs {part['worse']} {_num(part.get('worse_mean'))}: "
            f"{part['decision']}" + (f" (p = {part['p']:.3f})" if part.get("p") is not None else f" ({part['why']})"
                                     if part.get("why") else "") for part in c["parts"])
    elif "better_mean" in c:
        numbers = (f"{c['better']} {_num(c['better_mean'])} vs {c['worse']} {_num(c['worse_mean'])} "
                   f"(difference {_num(c.get('difference'))}, n = {c['n'][0]} vs {c['n'][1]}"
                   + (f", p = {c['p']:.3f}" if c.get("p") is not None else "") + ")")
    else:
        numbers = ""
    why = f" — {c['why']}" if c.get("why") else ""
    return f"| {c['claim']} | {c['where']} | **{c['decision']}** | {numbers}{why}{_split_text(c)}{_diagnostics_text(c)} |"


def _split_text(c):
    """A gain's comparison on localization only and on video accuracy, as one clause each."""
    return "".join(f"; {label}: {_num(r.get('better_mean'))} vs {_num(r.get('worse_mean'))} ({r['decision']}"
                   + (f", p = {r['p']:.3f}" if r.get("p") is not None else "") + ")"
                   for label, r in (c.get("split") or {}).items())


def _generator_text(g):
    """The generated context against real background, as one clause ("" without numbers)."""
    shown = [f"{label} {_num(g.get('generated_' + stat))} vs {_num(g.get('real_' + stat))}"
             for stat, label in (("norm", "norm"), ("zero_fraction", "zeros"), ("temporal_std", "temporal std"))
             if g.get("generated_" + stat) is not None]
    return "; generated context vs real background: " + ", ".join(shown) if shown else ""


def _diagnostics_text(c):
    """The rows' mechanism diagnostics a gain claim carries, as one clause."""
    parts = []
    for row, cells in (c.get("diagnostics") or {}).items():
        shown = [f"{label} {_num(cells[name]['mean'])}" for name, label in
                 (("discriminator_accuracy", "discriminator accuracy"), ("probe_auc_input", "probe AUC"))
                 if (cells.get(name) or {}).get("mean") is not None]
        n = max((cells[name].get("n", 0) for name in cells), default=0)
        parts.append(f"{row} " + (", ".join(shown) + f" (n = {n})" if shown else "none"))
    return "; diagnostics: " + "; ".join(parts) if parts else ""


def render_markdown(doc, command):
    lines = ["# Verdict on the paper's claims", "",
             f"Written by `{command}` from `{doc['tables']}` and `{doc['curves']}`. A claim \"A > B\" is Welch's "
             f"t-test of the seeds' values (two-sided, alpha {doc['alpha']}): **holds** / **does not hold** when "
             "significant in the paper's / the opposite direction, **cannot be decided** otherwise or below 2 "
             f"seeds. Fig. 5: linear-probe AUC of generated vs real background (input features), every value <= "
             f"{PROBE_CHANCE} holds, every value >= {PROBE_SEPARABLE} does not hold. Numbers in percent as in the tables; probe and discriminator "
             "values are fractions.", "", "## Orderings (Kendall's tau-b against the paper's numbers)", "",
             "| table | column | tau | seeds | iterations |", "|---|---|---:|---|---|"]
    for o in doc["orderings"]:
        lines.append(f"| {o['table']} | {o['column']} | {_num(o['kendall_tau'])} | "
                     f"{', '.join(map(str, o['seeds'] or []))} | {', '.join(map(str, o.get('iterations') or [])) or '–'} |")
    lines += ["", "## Claims", "", "| claim | where | decision | numbers |", "|---|---|---|---|"]
    lines += [claim_line(c) for c in doc["claims"]]
    counts = {d: sum(c["decision"] == d for c in doc["claims"] if "no paper claim" not in c["claim"])
              for d in DECISIONS}
    lines += ["", "Paper claims: " + ", ".join(f"{n} {d}" for d, n in counts.items()) + "."]
    return "\n".join(lines) + "\n"


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.reproduce.verdict", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", default=str(PROJECT_ROOT / "reports" / "reproduce"),
                   help="folder of table2/table4/fig6.json (default: reports/reproduce)")
    p.add_argument("--curves", default=str(PROJECT_ROOT / "reports" / "curves" / "curves.json"))
    p.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "reproduce" / "verdict.md"),
                   help="Markdown file; the JSON goes beside it (default: reports/reproduce/verdict.md)")
    return p


def run(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if not Path(args.tables).is_dir():
        raise UserError(f"--tables {args.tables}: no such folder (the folder of table2.json, table4.json, fig6.json)")
    doc = build_verdict(args.tables, args.curves)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python -m aher.reproduce.verdict" + ("" if not argv else " " + " ".join(argv))
    out.with_suffix(".json").write_text(json.dumps({"command": command, **doc}, indent=1) + "\n")
    out.write_text(render_markdown(doc, command))
    print(f"wrote {display_path(out)} and {out.with_suffix('.json').name}")
    return 0


def main(argv=None):
    return run_main(run, argv)


if __name__ == "__main__":
    sys.exit(main())
