"""``aher.reproduce``: run plan, reuse, failures, table writer, dry run; ``aher.paper_numbers`` vs the reference.

Nothing here trains: the runs' launchers (``runner.TRAIN``, ``python -m aher.experiment``, and
``runner.TEST``, ``python -m aher.evaluate``) are replaced by a fake script that writes a metrics.json (or fails like an unknown
``train.method``), except the one ``slow`` smoke test.
"""

import hashlib
import json
import re
import shlex
import subprocess
import sys
import textwrap
import types

import pytest
import yaml

from aher import paper_numbers
from aher.errors import UserError
from aher.paths import shared_dir
from aher.paths import PROJECT_ROOT
from aher.reproduce import cli, runner
from aher.reproduce.document import collect_table
from aher.reproduce.markdown import render_markdown
from aher.config.sections import SETTINGS
from aher.reproduce.plan import RunSpec, build_plan, effective_overrides
from aher.reproduce.report import plot_fig6, write_table, write_tables
from aher.reproduce.runner import RunResult, command, execute, inspect_run, logged_seconds
from aher.reproduce.stats import kendall_tau, orderings
from aher.reproduce.tables import TABLE_NAMES, expand_tables

FAKE_ENTRY = textwrap.dedent("""
    import json, sys
    import yaml
    from pathlib import Path
    args = sys.argv[1:]
    out = Path(args[args.index("--out") + 1])
    sets = {}
    for i, a in enumerate(args):
        if a == "--set":
            k, v = args[i + 1].split("=", 1)
            sets[k] = v
    if sets["train.method"] not in ("algorithm1", "oracle", "zero", "oracle_untrimmed"):
        print("some log line", file=sys.stderr)
        print(f"error: train.method must be one of algorithm1, oracle, pretrain, not '{sets['train.method']}'",
              file=sys.stderr)
        sys.exit(2)
    seed = int(sets["train.seed"])
    out.mkdir(parents=True, exist_ok=True)
    config = {}
    for key, value in sets.items():             # the run's record: every --set value, nested
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    (out / "config.yaml").write_text(json.dumps(config))
    m = 0.1 + 0.01 * seed + (0.3 if "--label-space" in args else 0.0)     # a test on the untrimmed-set classes
    metrics = {"mAP@0.5": m + 0.2, "mAP@0.75": m + 0.1, "mAP@0.95": m - 0.05, "average_mAP": m,
               "AR@100": 50.0 + seed, "AUC": 40.0 + seed, "video_accuracy": 0.5,
               "iteration": int(sets.get("train.iterations", 600))}
    if sets["train.method"] != "zero":          # AherNet^0 stands for a run made before the references
        metrics.update({"average_mAP_gt_labels": m + 0.25, "mAP@0.5_gt_labels": m + 0.4,
                        "prior_average_mAP_video_labels": 0.05, "prior_average_mAP_gt_labels": 0.3,
                        "prior_mAP@0.5_gt_labels": 0.6, "prior_mAP@0.75_gt_labels": 0.3, "prior_mAP@0.95_gt_labels": 0.01,
                        "prior_n_windows": 16})
    (out / "metrics.json").write_text(json.dumps(metrics))
    print("average mAP", m)
""")


def committed_fingerprint():
    """{path below reports/reproduce: sha256 of its bytes} of every committed table, plot and README."""
    return {str(p.relative_to(cli.COMMITTED_DIR)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(cli.COMMITTED_DIR.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def committed_reports_unchanged():
    """Every test leaves the committed tables in reports/reproduce byte-identical."""
    before = committed_fingerprint()
    yield
    assert committed_fingerprint() == before


def install_entry(tmp_path, monkeypatch, text, name="fake_entry.py"):
    """Write ``text`` as a script and make it the runs' train and test launcher."""
    script = tmp_path / name
    script.write_text(text)
    monkeypatch.setattr(runner, "TRAIN", [sys.executable, str(script)])
    monkeypatch.setattr(runner, "TEST", [sys.executable, str(script)])
    return script


@pytest.fixture
def fake_entry(tmp_path, monkeypatch):
    return install_entry(tmp_path, monkeypatch, FAKE_ENTRY)


def configs_for(tmp_path):
    return {s: tmp_path / f"{s}.yaml" for s in SETTINGS}


def by_spec(plan):
    return {(r.spec.setting, r.spec.slug, r.spec.seed): r for r in plan}


# ---------------------------------------------------------------- plan


def test_plan_all_deduplicates_across_tables_and_seeds(tmp_path):
    plan = build_plan(expand_tables(["all"]), range(3), configs_for(tmp_path), tmp_path, "small")
    # per ANet-like setting: 6 methods + AherNet with the paper switches + 6 transfer variants (2-fc ELU is
    # AherNet) + 4 fractions (1.0 is AherNet*) + AherNet* of the untrimmed-set classes = 18, twice, plus 5 methods
    # and AherNet with the paper switches on k600 = 42 configurations, x 3 seeds
    assert len(plan) == 126
    assert len({r.out for r in plan}) == 126
    runs = by_spec(plan)
    ahernet = runs[("anet_split", "ahernet", 1)]
    assert {t for t, _ in ahernet.uses} == {"table1", "table2", "fig6"}
    assert {t for t, _ in runs[("th14_anet", "ahernet", 0)].uses} == {"table1", "table2", "table3", "fig6"}
    assert ("table1", "2-fc, ELU (= AherNet)") in ahernet.uses
    assert ("table1", "AherNet (untrimmed-set classes)") in ahernet.uses and ahernet.evals == ["untrimmed"]
    untrimmed_oracle = runs[("th14_anet", "ahernet-oracle-untrimmed", 0)]
    assert untrimmed_oracle.uses == [("table1", "AherNet* (untrimmed-set classes)")] and untrimmed_oracle.evals == []
    assert untrimmed_oracle.overrides == ["train.method=oracle_untrimmed", "train.seed=0"]
    assert all(r.evals == [] for r in plan if r.spec.method != "algorithm1" or r.spec.extra or r.spec.setting == "k600")
    oracle = runs[("th14_anet", "ahernet-oracle", 2)]
    assert {t for t, _ in oracle.uses} == {"table1", "table2", "fig6"}
    assert oracle.overrides == ["train.method=oracle", "train.seed=2"]
    assert oracle.out == tmp_path / "small" / "th14_anet" / "ahernet-oracle" / "seed2"
    relu = runs[("anet_split", "ahernet-fc1-relu", 0)]
    assert relu.overrides == ["train.method=algorithm1", "model.transfer.num_fc=1",
                              "model.transfer.activation=relu", "train.seed=0"]
    frac = runs[("anet_split", "ahernet-oracle-frac0.25", 0)]
    assert "data.annotation_fraction=0.25" in frac.overrides and frac.uses == [("fig6", "AherNet* (25 % annotations)")]
    assert {r.spec.seed for r in plan} == {0, 1, 2}
    assert [r.spec.seed for r in plan] == sorted(r.spec.seed for r in plan)        # seed-major order
    assert {r.spec.method for r in plan if r.spec.setting == "k600"} == {
        "zero", "minus", "moments_only", "no_adversary", "algorithm1"}
    switches = runs[("k600", "ahernet-paper-switches", 1)]
    assert switches.spec.label == "AherNet (paper switches)"
    assert switches.uses == [("table4", "AherNet (paper switches)")] and switches.evals == []
    assert switches.overrides[0] == "train.method=algorithm1" and switches.overrides[-1] == "train.seed=1"
    assert {"adversarial.mask=separate", "context.mode=concat", "model.prior_scaling=[1.0,1.0]",
            "inference.scoring=paper"} <= set(switches.overrides)
    assert {t for t, _ in runs[("th14_anet", "ahernet-paper-switches", 0)].uses} == {"table2"}
    assert plan[0].spec.setting == "anet_split"


def test_plan_single_tables():
    cfg = {s: "x.yaml" for s in SETTINGS}
    assert len(build_plan(["table3"], [0], cfg, "r", "tiny")) == 1
    assert len(build_plan(["table4"], [0, 1], cfg, "r", "tiny")) == 12
    assert len(build_plan(["table1"], [0], cfg, "r", "tiny")) == 22
    assert len(build_plan(["table2"], [0], cfg, "r", "tiny")) == 14
    assert len(build_plan(["fig6"], [0], cfg, "r", "tiny")) == 12
    assert len(build_plan(["table1", "table2"], [0], cfg, "r", "tiny")) == 28
    assert expand_tables(["table2", "all", "table1"])[:2] == ["table2", "table1"]


def test_passthrough_overrides_never_replace_the_rows():
    got = effective_overrides(["train.method=zero", "train.seed=1"],
                              ["train.iterations=6", "train.seed=9", "data.root=/tmp/x"])
    assert got == ["train.iterations=6", "data.root=/tmp/x", "train.method=zero", "train.seed=1"]


# ---------------------------------------------------------------- reuse and running


def write_run(out, metrics, config):
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(json.dumps(metrics))
    if config is not None:
        (out / "config.yaml").write_text(yaml.safe_dump(config))


def test_inspect_run_reuse_stale_resume_force(tmp_path):
    overrides = ["train.method=algorithm1", "model.transfer.num_fc=1", "train.seed=0"]
    ok = tmp_path / "ok"
    write_run(ok, {"average_mAP": 0.1}, {"train": {"method": "algorithm1", "seed": 0},
                                          "model": {"transfer": {"num_fc": 1}}})
    assert inspect_run(ok, overrides) == ("reuse", None)
    assert inspect_run(ok, overrides, force=True) == ("retrain", None)
    stale = tmp_path / "stale"
    write_run(stale, {"average_mAP": 0.1}, {"train": {"method": "algorithm1", "seed": 1},
                                             "model": {"transfer": {"num_fc": 1}}})
    state, reason = inspect_run(stale, overrides)
    assert state == "stale" and "train.seed is 1" in reason and "--force" in reason
    bare = tmp_path / "bare"                 # metrics without config.yaml: reused
    write_run(bare, {"average_mAP": 0.1}, None)
    assert inspect_run(bare, overrides)[0] == "reuse"
    interrupted = tmp_path / "interrupted" / "checkpoints"
    interrupted.mkdir(parents=True)
    (interrupted / "model.ckpt-6.index").write_text("")
    assert inspect_run(interrupted.parent, overrides)[0] == "resume"
    assert inspect_run(tmp_path / "none", overrides, force=True)[0] == "train"
    cmd = command("k600", tmp_path / "c.yaml", interrupted.parent, overrides, resume=True)
    assert cmd[1:5] == ["-m", "aher.experiment", "--setting", "k600"]
    assert cmd[-2:] == ["--quiet", "--resume"] and cmd.count("--set") == 3


def test_execute_reuses_trains_and_survives_failures(tmp_path, fake_entry):
    plan = build_plan(["table4"], [0, 1], configs_for(tmp_path), tmp_path / "runs", "tiny")
    reused = by_spec(plan)[("k600", "ahernet", 0)].out
    write_run(reused, {"average_mAP": 0.5, "mAP@0.5": 0.6, "mAP@0.75": 0.5, "mAP@0.95": 0.1, "AUC": 50.0},
              {"train": {"method": "algorithm1", "seed": 0}})
    lines = []
    results = execute(plan, log=lambda text, **kw: lines.append(text))
    assert lines[0] == "plan: 12 runs; 1 reused, 11 to train"
    assert lines[1].startswith("[1/11] k600 · AherNet^0 · seed 0 (table4) · elapsed 0:00:00 · ETA ?")
    assert lines[2].startswith("    k600 · AherNet^0 · seed 0 done in 0:00:0") and "average mAP 10.00, AUC 40.00" in lines[2]
    assert lines[3].startswith("[2/11]") and "ETA 0:00:" in lines[3]      # mean of the finished runs x 10
    assert lines[4].startswith("    k600 · AherNet^- · seed 0 FAILED after") and "train.method must be one of" in lines[4]
    spec = RunSpec
    assert results[spec("k600", "algorithm1", (), 0)].status == "reused"
    assert results[spec("k600", "algorithm1", (), 0)].metrics["average_mAP"] == 0.5
    assert results[spec("k600", "algorithm1", (), 1)].status == "done"
    failed = results[spec("k600", "no_adversary", (), 1)]
    assert failed.status == "failed" and failed.error.startswith("train.method must be one of")
    log = (tmp_path / "runs" / "tiny" / "k600" / "ahernet-a-minus" / "seed1" / "reproduce.log").read_text()
    assert "--set train.method=no_adversary" in log and "some log line" in log
    # second pass: the finished run is reused, the failed ones are tried again
    lines.clear()
    again = execute(plan, log=lambda text, **kw: lines.append(text))
    assert lines[0] == "plan: 12 runs; 6 reused, 6 to train"
    # a reused run keeps the duration logged when it was trained; a run made elsewhere has none
    first = results[spec("k600", "algorithm1", (), 1)].seconds
    assert again[spec("k600", "algorithm1", (), 1)].seconds == pytest.approx(first, abs=0.05) and first > 0
    assert again[spec("k600", "algorithm1", (), 0)].seconds is None


def test_logged_seconds(tmp_path):
    assert logged_seconds(tmp_path) is None                     # no reproduce.log
    (tmp_path / "reproduce.log").write_text("$ python x.py\n# exit code 0, 73.4 s\n--- stdout\n# exit code 0, 9 s\n")
    assert logged_seconds(tmp_path) == 73.4
    (tmp_path / "reproduce.log").write_text("$ python x.py\n# exit code 2, 3.0 s\n--- stdout\n")
    assert logged_seconds(tmp_path) is None                     # the logged command failed


def test_cli_writes_tables_and_exits_nonzero_on_failed_rows(tmp_path, fake_entry, capsys):
    code = cli.run(["table4", "table3", "--scale", "tiny", "--seeds", "2", "--runs", str(tmp_path / "runs"),
                    "--out", str(tmp_path / "out"), "--set", "train.iterations=6"])
    assert code == 1
    doc = json.loads((tmp_path / "out" / "table4.json").read_text())
    assert doc["scale"] == "tiny" and doc["seeds"] == [0, 1] and "--seeds 2" in doc["command"]
    assert doc["iterations"] == [6] and "; runs of 6 iterations; seeds 0, 1." in (tmp_path / "out" / "table4.md").read_text()
    ahernet = next(r for r in doc["rows"] if r["name"] == "AherNet")
    cell = ahernet["cells"]["k600/average_mAP"]
    assert cell["n"] == 2 and cell["mean"] == pytest.approx(10.5) and cell["std"] == pytest.approx(0.7071, abs=1e-4)
    assert cell["paper"] == 24.43 and ahernet["cells"]["k600/mAP@0.95"]["paper"] == 6.55
    assert len(doc["failures"]) == 6 and all("train.method must be one of" in f["error"] for f in doc["failures"])
    md = (tmp_path / "out" / "table4.md").read_text()
    assert "| AherNet | 30.50 ± 0.71 (n=2) | 36.19 |" in md
    assert "| AherNet^- | failed [1] | 21.76 |" in md and "| AherNet^0 | 30.50 ± 0.71 (n=2) | 19.26 |" in md and "1. `train.method must be one of" in md
    # the references: AherNet's runs carry them, AherNet^0's (an older run) show "–" and do not fail
    assert [c["key"] for c in doc["reference_columns"]] == [
        "k600/average_mAP_gt_labels", "k600/prior_average_mAP_video_labels", "k600/video_accuracy"]
    assert ahernet["cells"]["k600/average_mAP_gt_labels"]["mean"] == pytest.approx(35.5)
    assert ("| AherNet | 30.50 ± 0.71 (n=2) | 36.19 | 20.50 ± 0.71 (n=2) | 26.96 | 5.50 ± 0.71 (n=2) | 6.55 | "
            "10.50 ± 0.71 (n=2) | 24.43 | 35.50 ± 0.71 (n=2) | 5.00 ± 0.00 (n=2) | 50.00 ± 0.00 (n=2) |") in md
    zero = next(r for r in doc["rows"] if r["name"] == "AherNet^0")
    assert zero["cells"]["k600/average_mAP_gt_labels"] == {"mean": None, "std": None, "n": 0, "values": [],
                                                           "absent": 2}
    assert "| 10.50 ± 0.71 (n=2) | 14.18 | – | – | 50.00 ± 0.00 (n=2) |" in md   # AherNet^0: video accuracy only
    prior = doc["reference_rows"][0]
    assert prior["n_windows"] == [16] and prior["cells"]["k600/mAP@0.5"]["mean"] == pytest.approx(60.0)
    assert prior["cells"]["k600/mAP@0.5"]["n"] == 4      # AherNet's and its paper-switches row's; AherNet^0's lack it
    assert ("| Fixed windows + GT labels (16 windows; reference) | 60.00 |  | 30.00 |  | "
            "1.00 |  | 30.00 |  |  |  |  |") in md
    switches = next(r for r in doc["rows"] if r["name"] == "AherNet (paper switches)")
    assert switches["paper_row"] is None and switches["cells"]["k600/average_mAP"]["paper"] is None
    assert "| AherNet (paper switches) | 30.50 ± 0.71 (n=2) |  | 20.50 ± 0.71 (n=2) |  |" in md
    # Table 3: AherNet on th14_anet and the other papers' rows from the paper only
    md3 = (tmp_path / "out" / "table3.md").read_text()
    assert "| AherNet (partial) | 30.50 ± 0.71 (n=2) | 40.33 |" in md3
    assert "| BSN (full) (paper only) | — | 52.50 | — | 33.53 | — | 8.85 | — | 33.72 |" in md3
    assert "STPN (weak) (paper only)" in md3
    # the runs were given the passthrough override; a rerun reuses them all
    log = next((tmp_path / "runs").rglob("reproduce.log")).read_text()
    assert "--set train.iterations=6" in log
    capsys.readouterr()
    assert cli.run(["table3", "--scale", "tiny", "--seeds", "2", "--runs", str(tmp_path / "runs"),
                    "--out", str(tmp_path / "out")]) == 0
    assert "plan: 2 runs; 2 reused, 0 to train" in capsys.readouterr().out


def test_no_train_reports_the_finished_runs_only(tmp_path, fake_entry, capsys):
    runs = tmp_path / "runs"
    write_run(runs / "tiny" / "th14_anet" / "ahernet" / "seed0",
              {"average_mAP": 0.2, "mAP@0.5": 0.4, "mAP@0.75": 0.2, "mAP@0.95": 0.05, "AUC": 50.0},
              {"train": {"method": "algorithm1", "seed": 0}})
    code = cli.run(["table3", "--scale", "tiny", "--seeds", "2", "--runs", str(runs), "--out",
                    str(tmp_path / "out"), "--no-train"])
    assert code == 0 and not (runs / "tiny" / "th14_anet" / "ahernet" / "seed1").exists()
    assert "1 to train (--no-train: left out of the tables as 'not run')" in capsys.readouterr().out
    doc = json.loads((tmp_path / "out" / "table3.json").read_text())
    cell = doc["rows"][0]["cells"]["th14_anet/average_mAP"]
    assert (cell["n"], cell["missing"], cell["failed"], doc["failures"]) == (1, 1, 0, [])
    assert ("| AherNet (partial) | 40.00 (n=1; 1 not run) | 40.33 | 20.00 (n=1; 1 not run) | 25.04 | "
            "5.00 (n=1; 1 not run) | 3.92 | 20.00 (n=1; 1 not run) | 24.31 |") in (tmp_path / "out" / "table3.md").read_text()


def test_dry_run_lists_runs_and_commands(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_run(runs / "tiny" / "k600" / "ahernet" / "seed1", {"average_mAP": 0.1},
              {"train": {"method": "algorithm1", "seed": 1}})
    assert cli.run(["table4", "--scale", "tiny", "--seeds", "2", "--runs", str(runs), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-2] == "dry run: 12 runs (6 row configurations × 2 seeds): 1 reuse, 11 train"
    assert "[reuse] k600 · AherNet · seed 1  (table4: AherNet)" in out
    assert ("-m aher.experiment --setting k600 --config configs/k600_synthetic_tiny.yaml --out "
            f"{runs / 'tiny' / 'k600' / 'ahernet-m' / 'seed1'} --set train.method=moments_only --set train.seed=1 "
            "--quiet") in out
    assert not (tmp_path / "out").exists() and not (runs / "tiny" / "k600" / "ahernet0").exists()


def test_real_data_configs(tmp_path, capsys):
    with pytest.raises(UserError, match="k600_paper.yaml"):
        cli.run(["table4", "--data", "real", "--config-dir", str(tmp_path), "--dry-run"])
    (tmp_path / "k600_paper.yaml").write_text("base: x.yaml\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: x.yaml\n")
    assert cli.run(["table4", "table3", "--data", "real", "--config-dir", str(tmp_path), "--config",
                    f"th14_anet={mine}", "--runs", str(tmp_path / "runs"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"--config {tmp_path / 'k600_paper.yaml'}" in out and f"--config {mine}" in out
    assert str(tmp_path / "runs" / "real" / "th14_anet" / "ahernet" / "seed0") in out
    with pytest.raises(UserError, match="SETTING=FILE"):
        cli.run(["table4", "--config", "nowhere.yaml", "--dry-run"])
    with pytest.raises(UserError, match="--data real"):
        cli.run(["table4", "--config-dir", str(tmp_path), "--dry-run"])


# ---------------------------------------------------------------- where the tables go


def finished_table3_run(runs, seed, scale="small"):
    """A finished AherNet run of Table 3 (th14_anet) in ``runs``."""
    write_run(runs / scale / "th14_anet" / "ahernet" / f"seed{seed}",
              {"average_mAP": 0.2, "mAP@0.5": 0.4, "mAP@0.75": 0.2, "mAP@0.95": 0.05, "AUC": 50.0},
              {"train": {"method": "algorithm1", "seed": seed}})


def test_committed_plan_is_what_the_committed_tables_were_made_from():
    docs = [json.loads(p.read_text()) for p in sorted(cli.COMMITTED_DIR.glob("*.json"))]
    docs = [d for d in docs if "table" in d]
    assert sorted(d["table"] for d in docs) == sorted(TABLE_NAMES)
    plan = cli.COMMITTED_PLAN
    for doc in docs:
        assert (doc["data"], doc["scale"], doc["seeds"]) == (plan["data"], plan["scale"], list(range(plan["seeds"])))
        assert doc.get("precision", "float32") == plan["precision"]
        assert doc["configs"] == {s: f"configs/{s}_synthetic_{plan['scale']}.yaml" for s in doc["configs"]}


def test_tiny_scale_writes_its_tables_beside_its_runs(tmp_path, fake_entry, capsys):
    runs = tmp_path / "runs"
    assert cli.run(["table3", "--scale", "tiny", "--seeds", "1", "--runs", str(runs)]) == 0
    tables = (runs / "tiny" / "tables").resolve()
    assert sorted(p.name for p in tables.iterdir()) == ["table3.json", "table3.md"]
    out = capsys.readouterr().out
    assert f"tables: {tables} (not the committed plan: --scale tiny; committed: --scale small)" in out
    assert out.strip().splitlines()[-1] == f"tables written to {tables}"
    # --no-train of another plan writes its partial tables there too
    assert cli.run(["table3", "--scale", "tiny", "--seeds", "2", "--runs", str(runs), "--no-train"]) == 0
    cell = json.loads((tables / "table3.json").read_text())["rows"][0]["cells"]["th14_anet/average_mAP"]
    assert (cell["n"], cell["missing"]) == (1, 1)


def test_precision_runs_in_their_own_folders_and_is_recorded(tmp_path, fake_entry, capsys):
    runs = tmp_path / "runs"
    assert cli.run(["table3", "--scale", "tiny", "--seeds", "1", "--runs", str(runs), "--dry-run",
                    "--precision", "mixed_bfloat16"]) == 0
    out = capsys.readouterr().out
    folder = runs / "tiny-mixed_bfloat16" / "th14_anet" / "ahernet" / "seed0"
    assert f"--out {folder} --set train.precision=mixed_bfloat16 --set train.method=algorithm1" in out
    assert f"tables would be written to {(runs / 'tiny-mixed_bfloat16' / 'tables').resolve()}" in out
    assert cli.run(["table3", "--scale", "tiny", "--seeds", "1", "--runs", str(runs), "--precision",
                    "mixed_bfloat16"]) == 0
    doc = json.loads((runs / "tiny-mixed_bfloat16" / "tables" / "table3.json").read_text())
    assert doc["precision"] == "mixed_bfloat16"
    assert "; precision `mixed_bfloat16`; runs of 600 iterations; seeds 0." in (runs / "tiny-mixed_bfloat16" / "tables" / "table3.md").read_text()
    args = cli.build_parser().parse_args(["all", "--precision", "mixed_bfloat16"])
    assert cli.committed_plan_mismatch(args, cli.default_configs(args, SETTINGS)) == \
        "--precision mixed_bfloat16; committed: --precision float32"


def test_report_dir_is_honoured_and_out_is_its_old_name(tmp_path, fake_entry, capsys):
    runs = tmp_path / "runs"
    for flag in ("--report-dir", "--out"):
        folder = tmp_path / flag.strip("-")
        assert cli.run(["table3", "--scale", "tiny", "--seeds", "1", "--runs", str(runs), flag, str(folder)]) == 0
        assert (folder / "table3.json").is_file() and (folder / "table3.md").is_file()
        out = capsys.readouterr().out
        assert f"tables: {folder.resolve()} (--report-dir)" in out and f"tables written to {folder.resolve()}" in out
    assert not (runs / "tiny" / "tables").exists()


@pytest.mark.parametrize("argv, where", [
    ([], "committed"),
    (["--data", "synthetic", "--scale", "small", "--seeds", "3"], "committed"),
    (["--config", f"k600={PROJECT_ROOT / 'configs' / 'k600_synthetic_small.yaml'}"], "committed"),
    (["--scale", "tiny"], "tiny: --scale tiny"),
    (["--seeds", "1"], "small: --seeds 1"),
    (["--set", "train.iterations=6"], "small: --set"),
    (["--config", f"k600={PROJECT_ROOT / 'configs' / 'k600_synthetic_tiny.yaml'}"], "small: --config"),
    (["--data", "real"], "real: --data real"),
])
def test_only_the_committed_plan_writes_to_reports_by_default(tmp_path, capsys, argv, where):
    runs = tmp_path / "runs"
    assert cli.run(["all", "--runs", str(runs), "--dry-run", *argv]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    if where == "committed":
        assert last == "tables would be written to reports/reproduce (the committed plan)"
    else:
        scale, reason = where.split(": ")
        assert last.startswith(f"tables would be written to {(runs / scale / 'tables').resolve()} "
                               f"(not the committed plan: {reason}")
    assert not runs.exists()


def test_no_train_never_replaces_committed_tables_by_partial_ones(tmp_path, monkeypatch, capsys):
    committed = tmp_path / "committed"
    monkeypatch.setattr(cli, "COMMITTED_DIR", committed)
    runs = tmp_path / "runs"
    for seed in (0, 1):
        finished_table3_run(runs, seed)
    argv = ["table3", "--no-train", "--runs", str(runs)]
    with pytest.raises(UserError) as err:
        cli.run(argv)
    message = str(err.value)
    assert "\n" not in message and message.startswith("--no-train: 1 of the 3 runs the committed tables need are not finished (first: ")
    assert "seed2 has no metrics.json" in message and "--report-dir DIR" in message
    assert not committed.exists() and not (runs / "small" / "tables").exists()
    # a run of other settings in the folder (stale) is not finished either
    write_run(runs / "small" / "th14_anet" / "ahernet" / "seed2", {"average_mAP": 0.1},
              {"train": {"method": "oracle", "seed": 2}})
    with pytest.raises(UserError, match="train.method is 'oracle'"):
        cli.run(argv)
    # with --report-dir the partial table is written where asked
    assert cli.run([*argv, "--report-dir", str(tmp_path / "partial")]) == 1          # the stale run is a failure
    assert json.loads((tmp_path / "partial" / "table3.json").read_text())["rows"][0]["cells"][
        "th14_anet/average_mAP"]["n"] == 2
    assert not committed.exists()
    # every run finished: the committed folder gets the whole table
    (runs / "small" / "th14_anet" / "ahernet" / "seed2" / "metrics.json").unlink()
    (runs / "small" / "th14_anet" / "ahernet" / "seed2" / "config.yaml").unlink()
    (runs / "small" / "th14_anet" / "ahernet" / "seed2").rmdir()
    finished_table3_run(runs, 2)
    capsys.readouterr()
    assert cli.run(argv) == 0
    cell = json.loads((committed / "table3.json").read_text())["rows"][0]["cells"]["th14_anet/average_mAP"]
    assert (cell["n"], cell["missing"], cell["failed"]) == (3, 0, 0)
    assert f"tables written to {committed}" in capsys.readouterr().out
    with pytest.raises(UserError, match="--force retrains and --no-train trains nothing"):
        cli.run([*argv, "--force"])


def test_committed_table1_and_fig6_need_seed_0_of_their_own_runs_only(tmp_path, monkeypatch, capsys):
    install_entry(tmp_path, monkeypatch, FAKE_ENTRY.replace(
        'if sets["train.method"] not in ("algorithm1", "oracle", "zero", "oracle_untrimmed"):', "if False:"))
    committed = tmp_path / "committed"
    monkeypatch.setattr(cli, "COMMITTED_DIR", committed)
    runs = tmp_path / "runs"
    assert cli.run(["table1", "fig6", "--seeds", "1", "--runs", str(runs)]) == 0     # seed 0 of every row
    assert not committed.exists()                                                      # --seeds 1: not committed
    capsys.readouterr()
    assert cli.run(["table1", "fig6", "--no-train", "--runs", str(runs)]) == 0
    doc = json.loads((committed / "table1.json").read_text())
    cell = next(r for r in doc["rows"] if r["name"] == "3-fc, ELU")["cells"]["anet_split/average_mAP"]
    assert (cell["n"], cell["missing"], cell["failed"]) == (1, 2, 0)
    assert "(n=1; 2 not run)" in (committed / "fig6.md").read_text()
    # Table 2 needs all three seeds of its 14 row configurations (42 runs, 28 missing, the ones it shares with
    # Table 1 included) and seed 0 of AherNet_M, AherNet_A- and the paper switches (6 missing); Table 1 alone 14 more
    (committed / "table1.json").unlink()
    with pytest.raises(UserError, match=r"--no-train: 34 of the 56 runs the committed tables need are not finished"):
        cli.run(["table1", "table2", "--no-train", "--runs", str(runs)])
    assert not (committed / "table1.json").exists() and not (committed / "table2.json").exists()


def test_no_train_refusal_is_one_line_and_writes_nothing(tmp_path):
    """The real command against the real committed folder (checked byte for byte by the fixture)."""
    proc = subprocess.run([sys.executable, "-m", "aher.reproduce", "table3", "--no-train", "--runs",
                           str(tmp_path / "runs")], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: --no-train: 3 of the 3 runs the committed tables need are not finished")
    assert "replace the committed ones in reports/reproduce with partial ones; nothing written" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_dry_run_prints_runnable_module_commands(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert cli.run(["table1", "--scale", "tiny", "--seeds", "1", "--runs", str(runs), "--dry-run"]) == 0
    out = capsys.readouterr().out
    commands = [shlex.split(line.split("$ ", 1)[1]) for line in out.splitlines() if "$ " in line]
    assert len(commands) == 22 + 2                                     # the runs and the two untrimmed-set tests
    assert all(c[:2] == [sys.executable, "-m"] and c[2] in ("aher.experiment", "aher.evaluate") for c in commands)
    assert not any(arg.endswith(".py") for c in commands for arg in c)
    trains = [c for c in commands if c[2] == "aher.experiment"]
    tests = [c[3:] for c in commands if c[2] == "aher.evaluate"]
    assert len(trains) == 22 and all((PROJECT_ROOT / c[c.index("--config") + 1]).is_file() for c in trains)
    assert len(tests) == 2 and all(t[t.index("--label-space") + 1] == "untrimmed" for t in tests)
    assert all(t[t.index("--out") + 1].endswith("eval_untrimmed") for t in tests)
    first_test = next(c for c in commands if c[2] == "aher.evaluate")
    for cmd, flag in ((commands[0], "--resume"), (first_test, "--label-space")):
        helped = subprocess.run(cmd + ["--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
        assert helped.returncode == 0 and flag in helped.stdout, helped.stderr
    assert f"tables would be written to {(runs / 'tiny' / 'tables').resolve()}" in out and not runs.exists()


def test_the_train_module_checks_the_setting_before_training(tmp_path, capsys):
    from aher.experiment import module_main

    with pytest.raises(SystemExit) as exit_:
        module_main(["--setting", "k600", "--out", str(tmp_path / "run"),
                     "--config", str(PROJECT_ROOT / "configs" / "anet_split_synthetic_tiny.yaml")])
    assert exit_.value.code == 2 and not (tmp_path / "run").exists()
    assert capsys.readouterr().err.strip().endswith("setting is 'anet_split', this script trains 'k600'")


def test_execute_tests_ahernet_on_the_untrimmed_set_classes(tmp_path, fake_entry):
    """Table 1's text comparison: AherNet runs are tested again on the untrimmed-set classes (into
    <run>/eval_untrimmed), once; the untrimmed-set oracle is a training run of its own."""
    plan = build_plan(["table1"], [0], configs_for(tmp_path), tmp_path / "runs", "tiny")
    lines = []
    results = execute(plan, log=lambda text, **kw: lines.append(text))
    spec = RunSpec("th14_anet", "algorithm1", (), 0)
    tested = results[("untrimmed", spec)]
    assert tested.status == "done" and tested.metrics["average_mAP"] == pytest.approx(0.4)
    folder = tmp_path / "runs" / "tiny" / "th14_anet" / "ahernet" / "seed0" / "eval_untrimmed"
    log = (folder / "reproduce.log").read_text()
    assert "--label-space untrimmed" in log and f"--out {folder}" in log and "--set train.method=algorithm1" in log
    assert f"fake_entry.py --config {tmp_path / 'th14_anet.yaml'} --checkpoint " in log
    assert any(line.startswith("[test] th14_anet · AherNet · seed 0 on the untrimmed-set classes: average mAP 40.00")
               for line in lines)
    doc = collect_table("table1", [0], results, {"data": "synthetic"})
    ours = doc["text_untrimmed_classes"][1]["ours"]
    assert ours["AherNet"]["mean"] == pytest.approx(40.0) and ours["AherNet*"]["mean"] == pytest.approx(10.0)
    # the failing variants' runs (fake: only some methods train) are not tested; the second pass reuses the tests
    lines.clear()
    again = execute(plan, log=lambda text, **kw: lines.append(text))
    assert again[("untrimmed", spec)].status == "reused" and not any(line.startswith("[test]") for line in lines)


# ---------------------------------------------------------------- writer


def fake_results(table, seeds, value, fail=()):
    """Every run of ``table``: metrics from value(setting, method, seed); methods in ``fail`` fail."""
    results = {}
    for run in build_plan([table], seeds, {s: "c" for s in SETTINGS}, "r", "s"):
        s = run.spec
        if s.method in fail:
            results[s] = RunResult("failed", error=f"{s.method} is not implemented", out=str(run.out))
        else:
            v = value(s.setting, s.method, s.seed)
            results[s] = RunResult("done", {"average_mAP": v / 100, "AUC": 3 * v, "mAP@0.5": v / 50,
                                            "mAP@0.75": v / 100, "mAP@0.95": v / 200}, 1.0, None,
                                   str(run.out))
    return results


def test_writer_mean_std_paper_column_failures_and_gains(tmp_path):
    rank = {"zero": 1, "minus": 2, "moments_only": 3, "no_adversary": 4, "algorithm1": 6, "oracle": 9}
    results = fake_results("table2", [0, 1, 2], lambda setting, method, seed: rank[method] + seed, fail={"minus"})
    # one seed of AherNet_M failed on th14_anet only
    results[RunSpec("th14_anet", "moments_only", (), 2)] = RunResult("failed", error="NaN loss")
    doc = collect_table("table2", [0, 1, 2], results, {"data": "synthetic", "scale": "small"})
    rows = {r["name"]: r for r in doc["rows"]}
    cell = rows["AherNet"]["cells"]["anet_split/average_mAP"]
    assert (cell["mean"], cell["std"], cell["n"], cell["values"]) == (pytest.approx(7.0), pytest.approx(1.0), 3,
                                                                     pytest.approx([6.0, 7.0, 8.0]))
    assert cell["paper"] == 17.2 and rows["AherNet"]["cells"]["th14_anet/AUC"]["paper"] == 55.5
    assert rows["AherNet"]["cells"]["anet_split/AUC"]["mean"] == pytest.approx(21.0)   # AUC stays in percent
    assert rows["AherNet^0"]["paper_row"] == "AherNet^U" and rows["AherNet^0"]["cells"]["anet_split/AUC"]["paper"] == 41.8
    m = rows["AherNet_M"]["cells"]["th14_anet/average_mAP"]
    assert (m["n"], m["failed"], m["mean"]) == (2, 1, pytest.approx(3.5))
    assert len(doc["failures"]) == 7 and doc["paper_only_rows"] == []
    gains = {(g["better"], g["setting"]): g for g in doc["text_gains"]}
    assert gains[("AherNet", "th14_anet")]["paper"] == 5.2
    assert gains[("AherNet", "th14_anet")]["ours"] == pytest.approx(7.0 - 5.0)
    assert gains[("AherNet_A-", "anet_split")]["ours"] == pytest.approx(1.0)
    json_path, md_path = write_table(doc, tmp_path)
    assert json.loads(json_path.read_text())["rows"][4]["name"] == "AherNet"
    md = md_path.read_text()
    assert "| AherNet | 21.00 ± 3.00 (n=3) | 58.3 |" not in md                  # paper printed with 2 decimals
    assert "| AherNet | 21.00 ± 3.00 (n=3) | 58.30 | 7.00 ± 1.00 (n=3) | 17.20 |" in md
    assert "| AherNet^0 (paper: AherNet^U) |" in md
    assert "| AherNet^- | failed [1] | 52.60 | failed [1] | 12.80 |" in md
    assert "3.50 ± 0.71 (n=2; 1 failed [2])" in md
    assert "1. `minus is not implemented` — AherNet^- on anet_split (seed 0, 1, 2); AherNet^- on th14_anet" in md
    assert "2. `NaN loss` — AherNet_M on th14_anet (seed 2)" in md
    assert "| AherNet over AherNet_A- | TH14→ANet-FG | +2.00 | +5.2 |" in md
    # orderings: ours by mean (AherNet^- failed: left out), the paper's by its numbers
    order = {o["key"]: o for o in doc["orderings"]}
    assert [o["key"] for o in doc["orderings"]] == [c["key"] for c in doc["columns"]]
    assert order["th14_anet/average_mAP"]["ours"] == ["AherNet^0", "AherNet_M", "AherNet_A-", "AherNet", "AherNet*"]
    assert order["th14_anet/average_mAP"]["paper"] == ["AherNet^0", "AherNet_M", "AherNet_A-", "AherNet", "AherNet*"]
    assert order["th14_anet/average_mAP"]["kendall_tau"] == pytest.approx(1.0)
    assert ("| TH14→ANet-FG average mAP | AherNet^0 < AherNet_M < AherNet_A- < AherNet < AherNet* | "
            "AherNet^0 < AherNet_M < AherNet_A- < AherNet < AherNet* | +1.00 |") in md
    # the paper-switches row has no paper number: in the table, not in the orderings
    assert rows["AherNet (paper switches)"]["cells"]["th14_anet/average_mAP"]["n"] == 3
    assert all("AherNet (paper switches)" not in o["ours"] for o in doc["orderings"])
    # run time: the 35 finished runs of 1 s each (6 + 1 failed runs are not counted)
    assert doc["run_time"] == {"seconds": 35.0, "timed": 35, "untimed": 0}
    assert "Run time: 0:00:35 for the 35 timed runs and tests of this table" in md


def test_writer_mechanism_diagnostics_of_the_rows(tmp_path):
    results = fake_results("table2", [0, 1, 2], lambda setting, method, seed: 5.0)
    for seed in (0, 1, 2):
        spec = RunSpec("anet_split", "algorithm1", (), seed)
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        if seed == 2:                                         # seed 2: no number the tables can show
            (folder / "diagnostics.json").write_text('{"1500": {"probe": {"input": {"auc": NaN}}}}')
        else:
            layers = [{"accuracy": 0.6 + 0.1 * seed}, {"accuracy": 0.8 + 0.1 * seed}]
            (folder / "diagnostics.json").write_text(json.dumps({
                "500": {"probe": {"input": {"auc": 0.5}}},
                "1500": {"discriminator": {"layers": layers}, "probe": {"input": {"auc": 1.0 - 0.02 * seed}},
                         "generator": {"generated": {"norm": 12.0 + 2 * seed, "zero_fraction": 0.75},
                                       "real_background": {"norm": 5.0, "zero_fraction": 0.45}}}}))
        results[spec] = RunResult("done", {**results[spec].metrics, "iteration": 1500}, 1.0, None, str(folder))
    doc = collect_table("table2", [0, 1, 2], results, {"data": "synthetic"})
    rows = {r["name"]: r for r in doc["rows"]}
    cells = rows["AherNet"]["mechanism"]["anet_split"]
    assert cells["probe_auc_input"]["values"] == pytest.approx([1.0, 0.98])     # the tested snapshot's, n = 2
    assert cells["discriminator_accuracy"]["mean"] == pytest.approx(0.75)
    assert "probe_auc_layer_1" not in cells and "th14_anet" not in rows["AherNet"]["mechanism"]
    assert rows["AherNet_M"]["mechanism"] == {}
    md = render_markdown(doc)
    assert cells["generated_norm"]["values"] == [12.0, 14.0] and cells["real_zero_fraction"]["mean"] == 0.45
    assert "generated_temporal_std" not in cells
    assert ("| AherNet | ANet-UN→ANet-AM | 0.75 ± 0.07 (n=2) | 0.99 ± 0.01 (n=2) | – | 13.00 / 5.00 | 0.75 / 0.45 "
            "| – / – |") in md
    assert md.index("Mechanism diagnostics") < md.index("Orderings")
    assert "Mechanism diagnostics" not in render_markdown(collect_table("table2", [0], fake_results(
        "table2", [0], lambda setting, method, seed: 5.0), {"data": "synthetic"}))


def test_kendall_tau_matches_scipy_and_orderings_need_two_rows():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = __import__("numpy").random.default_rng(0)
    for n in (2, 5, 9):
        for _ in range(20):
            xs, ys = rng.integers(0, 4, n).tolist(), rng.integers(0, 4, n).tolist()   # with ties
            want = scipy_stats.kendalltau(xs, ys).statistic
            got = kendall_tau(xs, ys)
            assert (got is None) if want != want else got == pytest.approx(want)
    assert kendall_tau([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    cols = [{"key": "s/m", "title": "S m"}]
    one = [{"name": "A", "cells": {"s/m": {"n": 1, "mean": 2.0, "paper": 3.0}}},
           {"name": "B", "cells": {"s/m": {"n": 0, "mean": None, "paper": 4.0}}}]
    assert orderings(one, cols) == []                     # one row with both numbers: no ordering


def test_writer_table1_text_and_fig6_series(tmp_path):
    results = fake_results("table1", [0], lambda s, m, k: 5.0)
    doc = collect_table("table1", [0], results, {"data": "synthetic"})
    assert [r["name"] for r in doc["rows"]][2:4] == ["1-fc, none", "1-fc, ReLU"]
    assert doc["rows"][7]["cells"]["th14_anet/average_mAP"]["paper"] == 24.3
    assert doc["rows"][0]["cells"]["anet_split/average_mAP"]["std"] is None
    text = doc["text_untrimmed_classes"]
    assert text[1]["paper"] == {"AherNet": 27.7, "AherNet*": 26.9}
    # AherNet's test on the untrimmed-set classes was not run; AherNet* of those classes was (its own metrics)
    assert text[0]["ours"]["AherNet"]["n"] == 0 and text[0]["ours"]["AherNet*"]["mean"] == pytest.approx(5.0)
    assert doc["failures"] == []                                  # not run is not a failure
    assert doc["text_untrimmed_classes"][0]["runs"][0] == {"row": "AherNet", "seed": 0, "status": "missing",
                                                           "dir": None, "seconds": None, "error": "not run"}
    md = render_markdown(doc)
    assert "| 1-fc, none | 5.00 (n=1) | 16.10 | 5.00 (n=1) | 23.20 |" in md
    assert "| ANet-UN→ANet-AM | — | 5.00 (n=1) | 25.4 vs 25.2 |" in md
    assert "* AherNet on anet_split (seed 0): `not run`" in md
    spec = RunSpec("anet_split", "algorithm1", (), 0)
    results[("untrimmed", spec)] = RunResult("done", {"average_mAP": 0.25}, 1.0, None, "x")
    doc = collect_table("table1", [0], results, {"data": "synthetic"})
    assert doc["text_untrimmed_classes"][0]["ours"]["AherNet"]["mean"] == pytest.approx(25.0)

    results = fake_results("fig6", [0, 1], lambda s, m, k: 4.0 + k if m == "oracle" else 6.0)
    doc = collect_table("fig6", [0, 1], results, {"data": "synthetic"})
    series = doc["series"]["th14_anet"]["average_mAP"]
    assert series["fractions"] == [0.1, 0.25, 0.5, 0.75, 1.0]
    assert series["AherNet*"][0] == {"mean": pytest.approx(4.5), "std": pytest.approx(0.7071, abs=1e-4), "n": 2}
    assert series["AherNet"]["mean"] == pytest.approx(6.0)
    assert "50 %" in doc["paper_text"]
    assert "| AherNet* (10 % annotations) | 4.50 ± 0.71 (n=2) |" in render_markdown(doc)


def test_writer_references_with_and_without_the_new_keys():
    """Runs made before the references show "–"; the rows, columns and series keep their schema."""
    results = fake_results("table1", [0, 1], lambda s, m, k: 5.0 + k)
    for spec, res in results.items():
        if spec.method == "oracle" or (spec.method == "oracle_untrimmed" and spec.seed == 0):
            res.metrics.update(average_mAP_gt_labels=0.20 + spec.seed / 100, prior_average_mAP_video_labels=0.04,
                               prior_average_mAP_gt_labels=0.12, prior_n_windows=16, video_accuracy=0.9)
    spec = RunSpec("anet_split", "algorithm1", (), 0)
    results[("untrimmed", spec)] = RunResult("done", {"average_mAP": 0.25, "average_mAP_gt_labels": 0.3,
                                                      "prior_average_mAP_gt_labels": 0.1}, 1.0, None, "u")
    doc = collect_table("table1", [0, 1], results, {"data": "synthetic"})
    assert [r["name"] for r in doc["rows"]][-1] == "AherNet*" and len(doc["columns"]) == 2
    assert doc["failures"] == []                                 # missing references are no failure
    rows = {r["name"]: r for r in doc["rows"]}
    oracle = rows["AherNet*"]["cells"]
    assert (oracle["th14_anet/average_mAP_gt_labels"]["mean"], oracle["th14_anet/average_mAP_gt_labels"]["n"]) == (
        pytest.approx(20.5), 2)
    assert oracle["th14_anet/video_accuracy"]["mean"] == pytest.approx(90.0)
    assert rows["AherNet^0"]["cells"]["anet_split/average_mAP_gt_labels"]["absent"] == 2
    prior = doc["reference_rows"][0]["cells"]["anet_split/average_mAP"]
    assert (prior["mean"], prior["n"], prior["absent"]) == (pytest.approx(12.0), 2, 18)
    md = render_markdown(doc)
    assert "| AherNet* | 5.50 ± 0.71 (n=2) | 22.60 | 5.50 ± 0.71 (n=2) | 28.90 | 20.50 ± 0.71 (n=2) | 4.00 ± 0.00 (n=2) | " \
           "90.00 ± 0.00 (n=2) | 20.50 ± 0.71 (n=2) | 4.00 ± 0.00 (n=2) | 90.00 ± 0.00 (n=2) |" in md
    assert "| AherNet^0 | 5.50 ± 0.71 (n=2) | 10.20 | 5.50 ± 0.71 (n=2) | 9.30 | – | – | – | – | – | – |" in md
    assert "| Fixed windows + GT labels (16 windows; reference) | 12.00 |  | 12.00 |  |" in md
    # the text's comparison on the untrimmed-set classes: AherNet's test has them, AherNet* seed 0 only
    text = doc["text_untrimmed_classes"][0]
    assert text["ours_gt_labels"]["AherNet"]["mean"] == pytest.approx(30.0)
    assert (text["ours_gt_labels"]["AherNet*"]["n"], text["ours_gt_labels"]["AherNet*"]["absent"]) == (1, 1)
    assert text["prior_gt_labels"]["mean"] == pytest.approx(11.0) and text["prior_gt_labels"]["n"] == 2
    assert "| ANet-UN→ANet-AM | 25.00 (n=1) | 5.50 ± 0.71 (n=2) | 25.4 vs 25.2 | 30.00 (n=1) | 20.00 (n=1) | " \
           "11.00 ± 1.41 (n=2) |" in md
    assert "| TH14→ANet-FG | — | 5.50 ± 0.71 (n=2) | 27.7 vs 26.9 | — | 20.00 (n=1) | 12.00 (n=1) |" in md


def test_fig6_plot_reports_the_plot_or_its_error(tmp_path, monkeypatch):
    calls = []
    module = types.ModuleType("aher.plots")
    module.fig6 = lambda j, p: calls.append((j, p))
    monkeypatch.setitem(sys.modules, "aher.plots", module)
    assert plot_fig6(tmp_path / "fig6.json", tmp_path / "fig6.png") == ("[fig6.png](fig6.png)", True)
    assert calls == [(str(tmp_path / "fig6.json"), str(tmp_path / "fig6.png"))]
    module.fig6 = lambda j, p: 1 / 0
    note, ok = plot_fig6(tmp_path / "fig6.json", tmp_path / "fig6.png")
    assert not ok and "ZeroDivisionError" in note


def test_write_tables_draws_fig6_from_its_json(tmp_path):
    """The real ``aher.plots.fig6`` reads the written fig6.json; the tables link the plot."""
    results = fake_results("fig6", [0, 1], lambda s, m, k: 4.0 + k if m == "oracle" else 6.0)
    lines = []
    failed = write_tables(["fig6"], [0, 1], results, {"data": "synthetic"}, tmp_path,
                          log=lambda text, **kw: lines.append(text))
    assert not failed and (tmp_path / "fig6.png").stat().st_size > 0
    assert json.loads((tmp_path / "fig6.json").read_text())["plot"] == "[fig6.png](fig6.png)"
    assert "\nPlot: [fig6.png](fig6.png)\n" in (tmp_path / "fig6.md").read_text()
    assert lines[-1] == "    Fig. 6 plot: [fig6.png](fig6.png)"


# ---------------------------------------------------------------- paper numbers


def test_paper_numbers_spot_checks():
    v = paper_numbers.value
    assert v("table1", "AherNet^0", "anet_split", "average_mAP") == 10.2
    assert v("table1", "2-fc, ELU", "th14_anet", "average_mAP") == 24.3
    assert v("table1", "1-fc, LeakyReLU", "th14_anet", "average_mAP") == 23.5
    assert v("table1", "AherNet* (oracle)", "anet_split", "average_mAP") == 22.6
    assert v("table2", "AherNet_M", "th14_anet", "AUC") == 49.7
    assert v("table2", "AherNet^-", "anet_split", "AUC") == 52.6
    assert v("table2", "AherNet*", "th14_anet", "average_mAP") == 28.9
    assert v("table3", "BSN (full)", "th14_anet", "mAP@0.95") == 8.85
    assert v("table3", "AherNet (partial)", "th14_anet", "average_mAP") == 24.31
    assert v("table3", "STPN (weak)", "th14_anet", "average_mAP") is None
    assert v("table4", "AherNet^-", "k600", "mAP@0.75") == 17.85
    assert v("table4", "AherNet", "k600", "mAP@0.5") == 36.19
    assert paper_numbers.TEXT_UNTRIMMED_CLASSES["anet_split"] == {"AherNet": 25.4, "AherNet*": 25.2}
    with pytest.raises(KeyError):
        v("table4", "AherNet*", "k600", "average_mAP")
    # internal consistency: the text's gains are differences of Table 2's rows; AherNet^U repeats Table 1's ^0
    for gain in paper_numbers.TEXT_GAINS:
        for setting, g in gain["gain"].items():
            diff = v("table2", gain["better"], setting, "average_mAP") - v("table2", gain["worse"], setting,
                                                                           "average_mAP")
            assert round(diff, 1) == g
    for setting in ("anet_split", "th14_anet"):
        assert v("table2", "AherNet^U", setting, "average_mAP") == v("table1", "AherNet^0", setting, "average_mAP")
        assert v("table2", "AherNet", setting, "average_mAP") == v("table1", "2-fc, ELU", setting, "average_mAP")


def test_paper_numbers_match_every_cell_of_the_reference():
    spec = shared_dir() / "spec" / "ahernet-reference.md"
    if not spec.is_file():
        pytest.skip(f"{spec} is absent (set AHER_SHARED)")
    text = spec.read_text()
    section = text[text.index("## 12. Headline numbers"):text.index("## 13.")]
    found = 0
    for name, table in (("Table 1", "table1"), ("Table 2", "table2"), ("Table 3", "table3"), ("Table 4", "table4")):
        block = section[section.index(f"**{name}**"):]
        rows = []
        for line in block.splitlines()[1:]:
            if line.startswith("|"):
                rows.append([re.sub(r"^\*\*(.*)\*\*$", r"\1", c.strip()) for c in line.strip("|").split("|")])
            elif rows:
                break
        rows = rows[2:]                                             # header and rule
        ours = paper_numbers.TABLES[table]["rows"]
        assert len(rows) == len(ours), name
        for cells, (row_name, values) in zip(rows, ours):
            assert re.sub(r" \(=\^0\?\)$", "", cells[0]) == row_name
            assert [None if c == "–" else float(c) for c in cells[1:]] == list(values), (name, row_name)
            found += 1
    assert found == 31


# ---------------------------------------------------------------- slow smoke test


@pytest.mark.slow
def test_table4_tiny_smoke(project_root, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aher.reproduce", "table4", "--scale", "tiny", "--seeds", "1",
                           "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                           "--set", "train.iterations=6", "--set", "train.snapshot_every=6",
                           "--set", f"data.root={tmp_path / 'data'}"],
                          cwd=project_root, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "out" / "table4.json").read_text())
    assert proc.returncode == (1 if doc["failures"] else 0), proc.stdout + proc.stderr[-2000:]
    ahernet = next(r for r in doc["rows"] if r["name"] == "AherNet")
    assert ahernet["runs"][0]["status"] == "done" and ahernet["cells"]["k600/average_mAP"]["n"] == 1
    assert 0.0 <= ahernet["cells"]["k600/average_mAP"]["mean"] <= 100.0
    assert (tmp_path / "runs" / "tiny" / "k600" / "ahernet" / "seed0" / "metrics.json").is_file()
    config = yaml.safe_load((tmp_path / "runs" / "tiny" / "k600" / "ahernet" / "seed0" / "config.yaml").read_text())
    assert config["train"]["iterations"] == 6 and config["train"]["seed"] == 0
    for failure in doc["failures"]:                                  # a failed run's error is one line
        assert "\n" not in failure["error"] and failure["error"]
    runs = {run["dir"] for row in doc["rows"] for run in row["runs"]}      # one run per row here (one seed)
    assert len(runs) == len(doc["rows"])
    assert f"plan: {len(runs)} runs; 0 reused, {len(runs)} to train" in proc.stdout
    assert f"[1/{len(runs)}]" in proc.stdout and f"[{len(runs)}/{len(runs)}]" in proc.stdout
    assert f"tables written to {tmp_path / 'out'}" in proc.stdout


def test_an_ordering_joins_neighbours_inside_their_spread():
    from aher.reproduce.markdown import ordering_text
    cells = {"A": {"mean": 1.0, "std": 0.2}, "B": {"mean": 1.1, "std": 0.5}, "C": {"mean": 3.0, "std": 0.5},
             "D": {"mean": 3.001, "std": None}, "E": {"mean": 5.0, "std": None}}
    assert ordering_text(["A", "B", "C", "D", "E"], cells) == "A ≈ B < C ≈ D < E"
    assert ordering_text(["E"], cells) == "E"


def test_reference_cells_tell_no_run_from_a_run_that_predates_them():
    from aher.reproduce.markdown import _dataset_reference_text, _reference_text
    assert _reference_text({"n": 0, "absent": 0, "values": []}) == "—"
    assert _reference_text({"n": 0, "absent": 2, "values": []}) == "–"
    assert _reference_text({"n": 2, "mean": 1.0, "std": 0.5, "values": [0.5, 1.5]}).startswith("1.00 ± 0.50 (n=2)")
    assert _dataset_reference_text({"n": 4, "mean": 19.72, "std": 0.0, "values": [19.72] * 4}) == "19.72"
