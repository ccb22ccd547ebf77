"""A table's document as Markdown: our mean ± std (n) beside the paper's number.

Contract: ``render_markdown(doc)`` renders a document of ``aher.reproduce.document`` (or one read
back from its JSON): the heading and data line, the table (our cell, then the paper's column when
the paper has the table, then the reference columns), the reference row, the paper-only rows, and
the sections the document has: failed runs as numbered footnotes (one per distinct error), the
text's gains, the untrimmed-set classes comparison, the rows' mechanism diagnostics, the
orderings, the run time, the paper's text, the plot and the notes.  "—": no number; "–": a
reference the run's metrics.json predates.
Limits: formatting only; every number is computed in the document.
"""

from aher import paper_numbers
from aher.reproduce.runner import hms

REFERENCES_NOTE = (
    "References that tell localization from classification, through the same evaluator: *with GT labels* = the "
    "row's own detections relabelled with the video's GT label (localization only); *fixed windows* = the same "
    "class-agnostic windows on every video (k-means of the relative centre and length of the untrimmed training "
    "set's instances, ranked by their frequency), labelled by the row's video classifier (*its video labels*) or "
    "by the GT label (the reference row); *video acc.* = the video classifier's accuracy. A method localizes "
    "better than a fixed prior only where its mAP beats the fixed windows with its own video labels. The reference "
    "row's number is the dataset's, the same in every run. \"–\": the run's metrics.json predates these references; "
    "\"—\": no finished run.")


def render_markdown(doc):
    """The table as markdown: our mean ± std (n) beside the paper's number; failures as footnotes."""
    has_paper = doc["table"] in paper_numbers.TABLES
    ref_cols = doc.get("reference_columns", [])
    footnotes = _Footnotes()
    lines = _intro_lines(doc, has_paper)
    lines += _table_lines(doc, has_paper, ref_cols, footnotes)
    if ref_cols:
        lines += ["", REFERENCES_NOTE]
    lines += footnotes.lines()
    lines += _gain_lines(doc) + _untrimmed_lines(doc) + _mechanism_lines(doc) + _ordering_lines(doc)
    lines += _run_time_lines(doc)
    lines += _closing_lines(doc)
    return "\n".join(lines) + "\n"


class _Footnotes:
    """Numbered footnotes of the failed runs: one per distinct error, with every place it happened."""

    def __init__(self):
        self.notes, self._ids = [], {}

    def mark(self, error, where):
        if error not in self._ids:
            self._ids[error] = len(self.notes) + 1
            self.notes.append((error, []))
        self.notes[self._ids[error] - 1][1].append(where)
        return f"[{self._ids[error]}]"

    def lines(self):
        if not self.notes:
            return []
        return ["", "Failed runs:", ""] + [f"{i}. `{error}` — {'; '.join(dict.fromkeys(wheres))}"
                                           for i, (error, wheres) in enumerate(self.notes, 1)]


# ----------------------------------------------------------------------------------------------
# Numbers


def _num(value):
    return "–" if value is None else f"{value:.2f}"


def _mean_std(cell):
    return _num(cell["mean"]) + (f" ± {_num(cell['std'])}" if cell["std"] is not None else "")


def _summary_text(cell):
    return _mean_std(cell) + f" (n={cell['n']})"


def _reference_text(cell):
    """A reference cell: mean ± std (n); "—" when the row has no finished run, "–" when its finished
    runs predate the number (or nothing is known of it)."""
    if cell is not None and not cell.get("n") and not cell.get("absent"):
        return "—"
    if not cell or not cell.get("n"):
        return "–"
    return _summary_text(cell)


def _dataset_reference_text(cell):
    """A number of the dataset (the same in every run that has it): the number alone, else as
    :func:`_reference_text`."""
    values = (cell or {}).get("values") or []
    if values and max(values) - min(values) < 1e-9:
        return _num(values[0])
    return _reference_text(cell)


def _line(cells):
    return "| " + " | ".join(cells) + " |"


# ----------------------------------------------------------------------------------------------
# The table


def _intro_lines(doc, has_paper):
    lines = [f"# {doc['title']}", ""]
    if doc.get("command"):
        lines += [f"Produced by `{doc['command']}` on {doc.get('date', '?')}.", ""]
    scale = doc.get("scale")
    lines += [f"Data: **{doc.get('data', '?')}**" + (f" (scale `{scale}`)" if scale else "")
              + (f"; precision `{doc['precision']}`" if doc.get("precision") else "")
              + (f"; runs of {', '.join(map(str, doc['iterations']))} iterations" if doc.get("iterations") else "")
              + f"; seeds {', '.join(map(str, doc['seeds']))}. Ours: mean ± sample std over the finished seeds "
              "(n); numbers in percent (mAP over tIoU 0.5:0.05:0.95 unless a tIoU is named; AUC of AR@AN). "
              + ("Paper: the reference §12 (real P3D features at paper scale)." if has_paper else ""), ""]
    if doc.get("data") == "synthetic" and has_paper:
        lines += ["The synthetic benchmark is not the paper's data: compare orderings and gaps, not absolute values.",
                  ""]
    return lines


def _table_lines(doc, has_paper, ref_cols, footnotes):
    head = ["approach"]
    for col in doc["columns"]:
        head += [f"{col['title']} (ours)", "paper"] if has_paper else [col["title"]]
    head += [col["title"] for col in ref_cols]
    lines = [_line(head), "|---|" + "---:|" * (len(head) - 1)]
    lines += [_row_line(row, doc, has_paper, ref_cols, footnotes) for row in doc["rows"]]
    lines += [_reference_row_line(ref, doc, has_paper, ref_cols) for ref in doc.get("reference_rows", [])]
    lines += [_paper_only_line(extra, doc, ref_cols) for extra in doc.get("paper_only_rows", [])]
    return lines


def _row_line(row, doc, has_paper, ref_cols, footnotes):
    paper_row = row.get("paper_row")
    shown = paper_row and paper_row not in row["name"] and row["name"] not in paper_row
    cells = [row["name"] + (f" (paper: {paper_row})" if shown else "")]
    for col in doc["columns"]:
        cell = row["cells"][col["key"]]
        cells.append(_result_text(cell, _failure_marks(row, col, footnotes)))
        if has_paper:
            cells.append(_num(cell["paper"]) if paper_row else "")
    cells += [_reference_text(row["cells"].get(col["key"])) for col in ref_cols]
    return _line(cells)


def _failure_marks(row, col, footnotes):
    """The footnote marks of the row's failed runs in the column's setting (one per distinct error)."""
    errors = [r for r in row["runs"] if r["setting"] == col["setting"] and r["status"] == "failed"]
    marks = ""
    for error in dict.fromkeys(r["error"] for r in errors):
        seeds = [r["seed"] for r in errors if r["error"] == error]
        marks += footnotes.mark(error, f"{row['name']} on {col['setting']} (seed {', '.join(map(str, seeds))})")
    return marks


def _result_text(cell, marks):
    """Our cell: mean ± std (n; failed and not-run seeds), or why there is no number."""
    not_run = f"{cell.get('missing', 0)} not run" if cell.get("missing") else ""
    if not cell["n"]:
        return f"failed {marks}" if cell["failed"] else ("not run" if not_run else "—")
    return (_mean_std(cell) + f" (n={cell['n']}" + (f"; {cell['failed']} failed {marks}" if cell["failed"] else "")
            + (f"; {not_run}" if not_run else "") + ")")


def _reference_row_line(ref, doc, has_paper, ref_cols):
    windows = ", ".join(map(str, ref.get("n_windows", [])))
    cells = [ref["name"] + (f" ({windows} windows; reference)" if windows else " (reference)")]
    for col in doc["columns"]:
        cell = ref["cells"].get(col["key"])
        cells += [_dataset_reference_text(cell) if cell is not None else "—"] + ([""] if has_paper else [])
    return _line(cells + [""] * len(ref_cols))


def _paper_only_line(extra, doc, ref_cols):
    cells = [extra["name"] + " (paper only)"]
    for col in doc["columns"]:
        cells += ["—", _num(extra["paper"].get(col["key"]))]
    return _line(cells + ["—"] * len(ref_cols))


# ----------------------------------------------------------------------------------------------
# The sections below the table


def _gain_lines(doc):
    if not doc.get("text_gains"):
        return []
    lines = ["", "Gains reported in the text (average mAP, percentage points):", "",
             "| gain | setting | ours | paper |", "|---|---|---:|---:|"]
    for g in doc["text_gains"]:
        ours = "—" if g["ours"] is None else f"{g['ours']:+.2f}"
        lines.append(f"| {g['better']} over {g['worse']} | {paper_numbers.SETTING_TITLES[g['setting']]} | "
                     f"{ours} | {g['paper']:+.1f} |")
    return lines


def _untrimmed_lines(doc):
    if not doc.get("text_untrimmed_classes"):
        return []
    lines = ["", "AherNet vs AherNet* on the *untrimmed-set* classes (the text; average mAP on their held-out "
             "videos; AherNet* here is fully supervised on the untrimmed set, `train.method=oracle_untrimmed`):",
             "", "| setting | AherNet (ours) | AherNet* (ours) | paper: AherNet vs AherNet* | AherNet with GT labels "
             "| AherNet* with GT labels | fixed windows + GT labels |", "|---|---:|---:|---:|---:|---:|---:|"]
    for t in doc["text_untrimmed_classes"]:
        ours = ["—" if not t["ours"][name]["n"] else _summary_text(t["ours"][name]) for name in ("AherNet", "AherNet*")]
        refs = [_reference_text(t.get("ours_gt_labels", {}).get(name)) for name in ("AherNet", "AherNet*")]
        refs.append(_reference_text(t.get("prior_gt_labels")))
        lines.append(f"| {paper_numbers.SETTING_TITLES[t['setting']]} | {ours[0]} | {ours[1]} | "
                     f"{t['paper']['AherNet']} vs {t['paper']['AherNet*']} | " + " | ".join(refs) + " |")
    failed = [(t["setting"], r) for t in doc["text_untrimmed_classes"] for r in t["runs"]
              if r["status"] in ("failed", "missing")]
    if failed:
        lines += ["", "Failed or not run (untrimmed-set classes):", ""]
        lines += [f"* {r['row']} on {s} (seed {r['seed']}): `{r['error']}`" for s, r in failed]
    return lines


def ordering_text(names, cells):
    """Rows lowest mean first, ``<`` between neighbours whose means differ by more than the larger of
    their two stds and by more than the shown precision, ``≈`` otherwise (``cells``: name -> cell)."""
    text = names[0]
    for low, high in zip(names, names[1:]):
        a, b = cells[low], cells[high]
        spread = max(a.get("std") or 0.0, b.get("std") or 0.0)
        gap = b["mean"] - a["mean"]
        text += (" ≈ " if gap <= spread or round(gap, 2) == 0 else " < ") + high
    return text


def _ordering_lines(doc):
    if not doc.get("orderings"):
        return []
    lines = ["", "Orderings, lowest mean first (rows with both our number and the paper's; `≈` joins neighbours "
             "whose means differ by at most the larger of their two standard deviations, or not at the shown "
             "precision; Kendall's τ-b is between our means and the paper's numbers, 1 = same order, "
             "−1 = reversed):", "", "| column | ours | paper | τ |", "|---|---|---|---:|"]
    for o in doc["orderings"]:
        tau = "–" if o["kendall_tau"] is None else f"{o['kendall_tau']:+.2f}"
        cells = {r["name"]: r["cells"][o["key"]] for r in doc["rows"] if r["name"] in o["ours"]}
        lines.append(f"| {o['title']} | {ordering_text(o['ours'], cells)} | {' < '.join(o['paper'])} | {tau} |")
    return lines


MECHANISM_NOTE = (
    "Mechanism diagnostics of the runs at their tested snapshot (fractions, from each run's `diagnostics.json`, "
    "measured on training batches): *discriminator accuracy* = D's accuracy on background anchors of real and "
    "generated videos, mean over anchor layers (0.5 = chance); *probe AUC* = held-out AUC of a linear probe telling "
    "generated context from real background at the input features and at anchor layer 1 (0.5 = "
    "indistinguishable, 1.0 = linearly separable); *generated / real*: the generated context's and the real "
    "background steps' mean per-step L2 norm, fraction of exact zeros and temporal std (means over the seeds). "
    "Rows without context generation have none.")


def _mechanism_lines(doc):
    """The rows' mechanism diagnostics per setting (rows without any are left out)."""
    found = [(row, setting, cells) for row in doc["rows"] for setting, cells in (row.get("mechanism") or {}).items()]
    if not found:
        return []
    titles = paper_numbers.SETTING_TITLES
    lines = ["", MECHANISM_NOTE, "", "| approach | setting | discriminator accuracy | probe AUC (input) | "
             "probe AUC (layer 1) | norm generated / real | zeros generated / real | temporal std generated / real |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row, setting, cells in found:
        lines.append(_line([row["name"], titles.get(setting, setting)]
                           + [_reference_text(cells.get(name)) for name in
                              ("discriminator_accuracy", "probe_auc_input", "probe_auc_layer_1")]
                           + [_pair(cells, stat) for stat in ("norm", "zero_fraction", "temporal_std")]))
    return lines


def _pair(cells, stat):
    """``generated / real`` means of one generator statistic ("–" for a missing side)."""
    return " / ".join(_num((cells.get(f"{side}_{stat}") or {}).get("mean")) for side in ("generated", "real"))


def _run_time_lines(doc):
    t = doc.get("run_time", {})
    if not t.get("timed"):
        return []
    return ["", f"Run time: {hms(t['seconds'])} for the {t['timed']} timed runs and tests of this table "
            "(summed from each run's `reproduce.log`, run one after the other; a resumed run counts every stretch "
            "its log lists)" + (f"; {t['untimed']} finished runs have no logged time" if t["untimed"] else "") + "."]


def _closing_lines(doc):
    lines = []
    if doc.get("paper_text"):
        lines += ["", f"Paper: {doc['paper_text']}"]
    if doc.get("plot"):
        lines += ["", f"Plot: {doc['plot']}"]
    for note in doc.get("notes", []):
        lines += ["", note]
    return lines
