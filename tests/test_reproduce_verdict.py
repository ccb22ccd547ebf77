"""``python -m aher.reproduce.verdict``: the decision rule, the claims built from table documents and
curves, missing inputs, and the committed tables read as they are."""

import json

import numpy as np
import pytest

from aher.errors import UserError
from aher.paths import PROJECT_ROOT
from aher.reproduce import verdict
from aher.reproduce.verdict import DECISIONS, build_verdict, compare, run

HOLDS, NOT, UNDECIDED = DECISIONS


def test_compare_decides_by_welch_test_in_the_claimed_direction():
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b = [10.0, 11.0, 12.0], [5.0, 6.0, 7.5]
    got = compare(a, b)
    assert got["decision"] == HOLDS and got["difference"] == pytest.approx(np.mean(a) - np.mean(b))
    assert got["p"] == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert compare(b, a)["decision"] == NOT
    close = compare([10.0, 11.0, 12.0], [10.5, 11.5, 9.0])
    assert close["decision"] == UNDECIDED and close["p"] > 0.05 and "n = 3 vs 3" in close["why"]
    one = compare([20.0], [1.0, 2.0, 3.0])
    assert one["decision"] == UNDECIDED and one["p"] is None and one["difference"] == pytest.approx(18.0)
    assert "no test below 2 seeds" in one["why"]
    assert compare([], [1.0, 2.0])["decision"] == UNDECIDED
    assert compare([3.0, 3.0], [1.0, 1.0])["decision"] == HOLDS          # no spread, different means
    assert compare([3.0, 3.0], [3.0, 3.0])["decision"] == UNDECIDED


def _table(table, settings, means, spread=0.5, seeds=3, tau=0.5):
    """A table document: rows with per-seed values around ``means[name][setting]``."""
    columns = [{"key": f"{s}/average_mAP", "setting": s, "metric": "average_mAP", "title": f"{s} average mAP"}
               for s in settings]
    rows = [{"name": name, "cells": {f"{s}/average_mAP": {"values": [m[s] + spread * (k - 1) for k in range(seeds)]}
                                     for s in settings}} for name, m in means.items()]
    return {"table": table, "seeds": list(range(seeds)), "iterations": [1500], "columns": columns, "rows": rows,
            "orderings": [{"key": c["key"], "kendall_tau": tau} for c in columns]}


PAPER_ORDERED = {"AherNet^0": 1.0, "AherNet^-": 5.0, "AherNet_M": 9.0, "AherNet_A-": 13.0, "AherNet": 17.0,
                 "AherNet*": 21.0}


def _mechanism(doc, name, probe, accuracy=None):
    """Give row ``name`` the tables' ``mechanism``: per setting the probe AUCs (and a discriminator accuracy)."""
    row = next(r for r in doc["rows"] if r["name"] == name)
    row["mechanism"] = {}
    for setting, values in probe.items():
        cells = {"probe_auc_input": {"mean": sum(values) / len(values), "n": len(values), "values": values}}
        if accuracy is not None:
            cells["discriminator_accuracy"] = {"mean": accuracy, "n": len(values), "values": [accuracy] * len(values)}
            cells["generated_norm"], cells["real_norm"] = {"mean": 13.5, "n": 1}, {"mean": 4.8, "n": 1}
        row["mechanism"][setting] = cells


def write_inputs(folder, curves=True):
    folder.mkdir(parents=True, exist_ok=True)
    t2 = {name: {"anet_split": v, "th14_anet": v} for name, v in PAPER_ORDERED.items()}
    t2["AherNet_A-"]["th14_anet"] = 30.0                          # th14: AherNet_A- above AherNet
    t2["AherNet (paper switches)"] = {"anet_split": 12.0, "th14_anet": 17.2}
    table2 = _table("table2", ["anet_split", "th14_anet"], t2)
    _mechanism(table2, "AherNet", {"anet_split": [1.0, 0.99, 1.0], "th14_anet": [0.5, 0.55, 0.58]}, accuracy=0.7)
    _mechanism(table2, "AherNet_A-", {"anet_split": [0.9, 0.95, 0.92]})
    (folder / "table2.json").write_text(json.dumps(table2))
    t4 = {name: {"k600": v} for name, v in PAPER_ORDERED.items() if name != "AherNet*"}
    t4["AherNet_A-"]["k600"], t4["AherNet"]["k600"] = 13.3, 13.5     # k600: within each other's spread
    table4 = _table("table4", ["k600"], t4)
    _mechanism(table4, "AherNet", {"k600": [0.5, 0.9]})
    (folder / "table4.json").write_text(json.dumps(table4))
    f6 = {f"AherNet* ({p} % annotations)": {"anet_split": v} for p, v in ((10, 5.0), (50, 10.0), (75, 20.0),
                                                                           (100, 25.0))}
    f6["AherNet"] = {"anet_split": 15.0}
    (folder / "fig6.json").write_text(json.dumps(_table("fig6", ["anet_split"], f6)))
    if curves:
        points = [{"iteration": 250, "probe_auc_input": 0.5, "discriminator_accuracy": 0.5},
                  {"iteration": 500, "probe_auc_input": None}]
        doc = {"curves": [
            {"setting": "k600", "method": "algorithm1", "seed": 0, "status": "finished",
             "points": [{"iteration": 250, "probe_auc_input": 1.0, "probe_auc_layer_1": 0.99,
                         "discriminator_accuracy": 0.66}]},
            {"setting": "anet_split", "method": "algorithm1", "seed": 0, "status": "finished", "points": points},
            {"setting": "th14_anet", "method": "algorithm1", "seed": 0, "status": "finished",
             "points": [{"iteration": 250, "probe_auc_input": 0.7}]},
            {"setting": "th14_anet", "method": "moments_only", "seed": 0, "status": "finished", "points": []},
            {"setting": "k600", "method": "algorithm1", "seed": 1, "status": "not run"}]}
        (folder / "curves.json").write_text(json.dumps(doc))
    return folder


def _by(doc):
    return {(c["claim"], c["where"]): c for c in doc["claims"]}


def test_claims_from_tables_and_curves(tmp_path):
    doc = build_verdict(write_inputs(tmp_path / "in"), tmp_path / "in" / "curves.json")
    claims = _by(doc)
    order = "ordering AherNet^0 < AherNet^- < AherNet_M < AherNet_A- < AherNet < AherNet*"
    anet = claims[(order, "table2 anet_split average mAP")]
    assert anet["decision"] == HOLDS and anet["kendall_tau"] == 0.5 and len(anet["parts"]) == 5
    th14 = claims[(order, "table2 th14_anet average mAP")]
    assert th14["decision"] == NOT
    assert [p["decision"] for p in th14["parts"]] == [HOLDS, HOLDS, HOLDS, NOT, HOLDS]
    assert claims[("context gain", "table2 th14_anet average mAP")]["decision"] == HOLDS
    assert claims[("adversarial gain", "table2 th14_anet average mAP")]["decision"] == NOT
    assert claims[("weight-transfer gain", "table2 anet_split average mAP")]["decision"] == HOLDS
    switches = claims[("paper switches (no paper claim)", "table2 anet_split average mAP")]
    assert switches["decision"] == NOT and switches["difference"] == pytest.approx(12.0 - 17.0)
    assert claims[("paper switches (no paper claim)", "table2 th14_anet average mAP")]["decision"] == UNDECIDED
    # Table 4 has no AherNet*: the ordering stops at AherNet; A- vs AherNet within the spread
    k600 = claims[("ordering AherNet^0 < AherNet^- < AherNet_M < AherNet_A- < AherNet", "table4 k600 average mAP")]
    assert k600["decision"] == UNDECIDED and k600["parts"][-1]["decision"] == UNDECIDED
    assert claims[("adversarial gain", "table4 k600 average mAP")]["decision"] == UNDECIDED
    # Fig. 6: below at 10 and 50 %, above at 75 and 100 %
    fig6 = claims[("Fig. 6: AherNet* overtakes AherNet only above 50 % of the annotations", "anet_split average mAP")]
    assert fig6["decision"] == HOLDS and [p["fraction"] for p in fig6["parts"]] == [0.1, 0.5, 0.75, 1.0]
    # Fig. 5: per AherNet curve, its last snapshot with a probe
    fig5 = {c["where"]: c for c in doc["claims"] if c["claim"].startswith("Fig. 5")}
    assert fig5["k600 (curve, seed 0)"]["decision"] == NOT and fig5["k600 (curve, seed 0)"]["probe_auc_input"] == 1.0
    assert fig5["anet_split (curve, seed 0)"]["decision"] == HOLDS and fig5["anet_split (curve, seed 0)"]["iteration"] == 250
    assert fig5["th14_anet (curve, seed 0)"]["decision"] == UNDECIDED
    assert fig5["k600 (curve, seed 1)"]["decision"] == UNDECIDED and "not run" in fig5["k600 (curve, seed 1)"]["why"]
    # and per setting of Tables 2 and 4, the AherNet row's seeds: all separable / all at chance / mixed
    anet = fig5["table2 ANet-UN→ANet-AM (AherNet, 3 seeds)"]
    assert anet["decision"] == NOT and anet["probe_auc_values"] == [1.0, 0.99, 1.0]
    assert anet["discriminator_accuracy"] == 0.7 and anet["generator"]["generated_norm"] == 13.5
    assert ("discriminator accuracy 0.70; generated context vs real background: norm 13.50 vs 4.80; means over the "
            "seeds |") in verdict.claim_line(anet)
    assert fig5["table2 TH14→ANet-FG (AherNet, 3 seeds)"]["decision"] == HOLDS
    assert fig5["table4 ANet→K600 (AherNet, 2 seeds)"]["decision"] == UNDECIDED
    assert len(fig5) == 7                                                  # AherNet curves and rows only
    # the context and adversarial gains carry both rows' diagnostics of their setting
    adversarial = claims[("adversarial gain", "table2 anet_split average mAP")]
    assert adversarial["diagnostics"]["AherNet"]["probe_auc_input"]["values"] == [1.0, 0.99, 1.0]
    assert adversarial["diagnostics"]["AherNet_A-"]["probe_auc_input"]["n"] == 3
    assert claims[("context gain", "table2 th14_anet average mAP")]["diagnostics"]["AherNet_M"] == {}
    assert "diagnostics" not in claims[("weight-transfer gain", "table2 anet_split average mAP")]
    # a table written without the rows' diagnostics: no Fig. 5 lines from it, no diagnostics clause
    old = {**json.loads((tmp_path / "in" / "table4.json").read_text())}
    for row in old["rows"]:
        row.pop("mechanism", None)
    assert verdict.fig5_table_claims(old, "table4") == []
    assert all("diagnostics" not in c for c in verdict.table_claims(old, "k600/average_mAP", "t4")[1])
    line = verdict.claim_line(adversarial)
    assert line.endswith("; diagnostics: AherNet discriminator accuracy 0.70, probe AUC 1.00 (n = 3); "
                         "AherNet_A- probe AUC 0.92 (n = 3) |")
    assert [o["table"] for o in doc["orderings"]] == ["table2", "table2", "table4"]


def test_cli_writes_markdown_and_json_and_missing_inputs_are_undecided(tmp_path, capsys):
    folder = write_inputs(tmp_path / "in", curves=False)
    (folder / "table4.json").unlink()
    out = tmp_path / "out" / "verdict.md"
    assert run(["--tables", str(folder), "--curves", str(folder / "curves.json"), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    doc = json.loads(out.with_suffix(".json").read_text())
    missing = [c for c in doc["claims"] if c["where"] in ("table4", "curves")]
    assert [c["decision"] for c in missing] == [UNDECIDED, UNDECIDED]
    assert all("unreadable" in c["why"] for c in missing)
    md = out.read_text()
    assert md.startswith("# Verdict on the paper's claims") and f"--out {out}" in md
    assert ("| weight-transfer gain | table2 anet_split average mAP | **holds** | AherNet 17.00 vs AherNet^- 5.00 "
            "(difference 12.00, n = 3 vs 3, p = ") in md
    assert "| table2 | anet_split average mAP | 0.50 | 0, 1, 2 | 1500 |" in md
    assert md.rstrip().endswith("cannot be decided.")
    with pytest.raises(UserError, match="--tables .*nowhere: no such folder"):
        run(["--tables", str(tmp_path / "nowhere"), "--out", str(tmp_path / "other" / "v.md")])
    assert not (tmp_path / "other").exists()


def test_the_committed_tables_and_curves_give_every_claim(tmp_path):
    tables, curves = PROJECT_ROOT / "reports" / "reproduce", PROJECT_ROOT / "reports" / "curves" / "curves.json"
    if not (tables / "table2.json").is_file() or not curves.is_file():
        pytest.skip("no committed tables or curves")
    doc = build_verdict(tables, curves)
    names = [c["claim"] for c in doc["claims"]]
    assert all("unreadable" not in (c.get("why") or "") for c in doc["claims"])
    for claim in ("context gain", "adversarial gain", "weight-transfer gain"):
        assert names.count(claim) == 3                                     # two Table 2 settings + Table 4
    assert sum(n.startswith("ordering") for n in names) == 3
    assert sum(n.startswith("Fig. 6") for n in names) == 2
    assert any(n.startswith("Fig. 5") for n in names)
    assert all(c["decision"] in DECISIONS for c in doc["claims"])
    assert verdict.render_markdown(doc, "cmd").count("\n| ") >= len(doc["claims"])


def test_curves_of_another_scale_are_not_used(tmp_path):
    folder = write_inputs(tmp_path / "in")
    curves = json.loads((folder / "curves.json").read_text())

    def verdict_with(table_scale, curve_scale):
        for name in ("table2.json", "table4.json"):
            doc = json.loads((folder / name).read_text())
            (folder / name).write_text(json.dumps({**doc, "scale": table_scale}))
        (folder / "curves.json").write_text(json.dumps({**curves, "scale": curve_scale}))
        claims = build_verdict(folder, folder / "curves.json")["claims"]
        return [c for c in claims if c["where"] == "curves" or "(curve," in c["where"]]

    from_curves = verdict_with("tiny", "small")
    assert [(c["decision"], c["where"]) for c in from_curves] == [(UNDECIDED, "curves")]
    assert "curves of scale 'small', the tables are of scale 'tiny': not used" in from_curves[0]["why"]
    assert "the tables are of real data: not used" in verdict_with(None, "small")[0]["why"]
    assert len(verdict_with("tiny", "tiny")) == 4


def test_gains_are_split_into_localization_and_video_accuracy(tmp_path):
    folder = write_inputs(tmp_path / "in")
    table2 = json.loads((folder / "table2.json").read_text())
    extra = {"AherNet": {"average_mAP_gt_labels": [20.0, 20.5, 21.0], "video_accuracy": [40.0, 41.0, 42.0]},
             "AherNet_A-": {"average_mAP_gt_labels": [15.0, 15.5, 16.0], "video_accuracy": [40.5, 41.5, 39.0]}}
    for row in table2["rows"]:
        for metric, values in extra.get(row["name"], {}).items():
            row["cells"][f"anet_split/{metric}"] = {"values": values}
    (folder / "table2.json").write_text(json.dumps(table2))
    claims = _by(build_verdict(folder, folder / "curves.json"))
    adversarial = claims[("adversarial gain", "table2 anet_split average mAP")]
    assert adversarial["split"]["with GT labels"]["decision"] == HOLDS
    assert adversarial["split"]["with GT labels"]["difference"] == pytest.approx(5.0)
    assert adversarial["split"]["video accuracy"]["decision"] == UNDECIDED
    line = verdict.claim_line(adversarial)
    assert "; with GT labels: 20.50 vs 15.50 (holds, p = " in line
    assert "; video accuracy: 41.00 vs 40.33 (cannot be decided, p = " in line
    # only where both rows have the column: AherNet^- has neither, th14_anet neither row
    assert claims[("weight-transfer gain", "table2 anet_split average mAP")]["split"] == {}
    assert claims[("adversarial gain", "table2 th14_anet average mAP")]["split"] == {}
    assert "with GT labels" not in verdict.claim_line(claims[("context gain", "table2 anet_split average mAP")])
