"""The tables' numbers: percent, mean ± sample std over seeds, orderings, run time, the text's gains.

Contract: mAP values of metrics.json are fractions and are shown in percent like the paper's
tables (``AUC`` and ``AR@100`` already are percent); a summary is the mean, the sample std
(None when n < 2) and n of the finished seeds.  An ordering lists the rows of one column lowest
first, ours by mean and the paper's by its number, with Kendall's tau-b between them.
Limits: pure functions of numbers and table documents; no files.
"""

import statistics

from aher import paper_numbers

PERCENT_ALREADY = {"AUC", "AR@100"}          # metrics.json gives these in percent, mAP as fractions


def to_percent(metric, value):
    """A metrics.json value in percent (None when it is no number)."""
    if value is None or not isinstance(value, (int, float)):
        return None
    return float(value) if metric in PERCENT_ALREADY else 100.0 * float(value)


def summarize(values):
    """Mean, sample std (None when n < 2) and n of a list of numbers."""
    n = len(values)
    if not n:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if n > 1 else None, "n": n}


def optional_cell(finished, metric):
    """Mean ± std of an optional metric over finished runs ({folder: metrics}); ``absent``: finished
    runs without it."""
    values = [v for v in (to_percent(metric, m.get(metric)) for m in finished.values()) if v is not None]
    return dict(summarize(values), values=values, absent=len(finished) - len(values))


def kendall_tau(xs, ys):
    """Kendall's tau-b of two equally long sequences (None: fewer than two pairs or a constant one)."""
    from scipy.stats import kendalltau          # imported here: scipy.stats would slow every start of the CLI
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


def text_gains(rows):
    """The gains the paper's text reports (``paper_numbers.TEXT_GAINS``) beside ours, from Table 2's rows."""
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
