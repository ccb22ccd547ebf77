"""``aher.reproduce.records``: finished runs saved to one file and restored into run folders.

The runs are made by the fake launcher of ``test_reproduce`` (nothing trains): the tables written
from restored folders must equal the tables written from the folders that were saved.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from aher.reproduce import cli, records
from aher.reproduce.claim import Claim
from aher.reproduce.curves import read_curve
from aher.reproduce.plan import PlannedRun, RunSpec
from aher.reproduce.process import RunResult
from tests.test_reproduce import FAKE_ENTRY, install_entry
from tests.test_reproduce import fake_entry, committed_reports_unchanged  # noqa: F401  (fixtures)

TABLES = ["table1", "table3", "table4"]


def make_tables(runs, out, *extra):
    return cli.run([*TABLES, "--scale", "tiny", "--seeds", "2", "--runs", str(runs), "--out", str(out), *extra])


def tables_content(out, runs):
    """{file name: text} of the tables in ``out``, the runs folder written as RUNS and the line or key
    that holds the invocation (command line, date) left out."""
    content = {}
    for path in sorted(out.iterdir()):
        text = path.read_text().replace(str(runs), "RUNS")
        if path.suffix == ".md":
            content[path.name] = [line for line in text.splitlines() if not line.startswith("Produced by ")]
        elif path.suffix == ".json":
            content[path.name] = {k: v for k, v in json.loads(text).items() if k not in ("command", "date")}
    return content


def test_tables_from_restored_folders_equal_the_tables_from_the_saved_ones(tmp_path, monkeypatch, capsys):
    succeeding = FAKE_ENTRY.replace('if sets["train.method"] not in', 'if "every method trains" in')
    assert succeeding != FAKE_ENTRY
    install_entry(tmp_path, monkeypatch, succeeding)
    saved, restored, file = tmp_path / "a", tmp_path / "b", tmp_path / "records.json"
    make_tables(saved, tmp_path / "out_a")
    planned = int(re.search(r"plan: (\d+) runs; 0 reused", capsys.readouterr().out).group(1))
    counts = records.save(saved, file)
    finished = records.finished_runs(saved)
    assert counts == {"added": len(finished), "updated": 0, "unchanged": 0, "total": len(finished)}
    # the untrimmed-set tests (Table 1) travel with their runs
    ahernet = json.loads(file.read_text())["runs"]["tiny/th14_anet/ahernet/seed0"]["files"]
    assert sorted(ahernet) == ["config.yaml", "eval_untrimmed/config.yaml", "eval_untrimmed/metrics.json",
                               "eval_untrimmed/reproduce.log", "metrics.json", "reproduce.log"]
    assert ahernet["reproduce.log"].count("\n") == 2 and "# exit code 0, " in ahernet["reproduce.log"]

    counts, notes = records.restore(restored, file)
    assert counts == {"restored": len(finished), "present": 0, "differs": 0, "busy": 0} and notes == []
    assert make_tables(restored, tmp_path / "out_b", "--no-train") == 0
    assert f"plan: {planned} runs; {planned} reused, 0 to train" in capsys.readouterr().out
    assert planned == len(finished)
    make_tables(saved, tmp_path / "out_a", "--no-train")           # tables of reused runs (durations as logged)
    assert tables_content(tmp_path / "out_b", restored) == tables_content(tmp_path / "out_a", saved)


def test_save_is_stable_keeps_absent_runs_and_updates_changed_ones(tmp_path, fake_entry):
    runs, file = tmp_path / "runs", tmp_path / "records.json"
    make_tables(runs, tmp_path / "out")
    records.save(runs, file)
    first = file.read_text()
    assert records.save(runs, file)["unchanged"] == len(records.finished_runs(runs))
    assert file.read_text() == first                                        # byte-identical when nothing changed
    one = runs / "tiny" / "k600" / "ahernet" / "seed1"
    metrics = json.loads((one / "metrics.json").read_text())
    metrics["average_mAP"] = 0.99
    (one / "metrics.json").write_text(json.dumps(metrics))
    gone = runs / "tiny" / "k600" / "ahernet" / "seed0"
    (gone / "metrics.json").unlink()                                        # this folder no longer holds a finished run
    counts = records.save(runs, file)
    assert counts["updated"] == 1 and counts["added"] == 0 and counts["total"] == len(records.finished_runs(runs)) + 1
    doc = json.loads(file.read_text())["runs"]
    assert doc["tiny/k600/ahernet/seed1"]["files"]["metrics.json"]["average_mAP"] == 0.99
    assert "tiny/k600/ahernet/seed0" in doc                                 # kept from the file


def test_a_record_holds_only_the_files_the_reports_read(tmp_path):
    run = tmp_path / "runs" / "small" / "k600" / "ahernet" / "seed0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "model.ckpt-5.index").write_bytes(b"\0\1")
    (run / "tb").mkdir()
    (run / "results_k600.json").write_text('{"results": {}}')
    (run / "train.log").write_text("step 1\n")
    (run / "config.yaml").write_text("train:\n  seed: 0\n")
    (run / "metrics.json").write_text('{"average_mAP": 0.1}')
    (run / "diagnostics.json").write_text('{"500": {"probe": {"input": {"auc": 1.0}}}}')
    (run / "reproduce.log").write_text("$ python -m aher.experiment\n# exit code 0, 12.5 s\n\nstdout\nmany lines\n")
    (run / "eval_untrimmed").mkdir()                                        # a test still running: no metrics yet
    (run / "eval_untrimmed" / "reproduce.stdout.part").write_text("")
    record = records.record_of(run)
    assert record == {"files": {"config.yaml": "train:\n  seed: 0\n", "metrics.json": {"average_mAP": 0.1},
                                "diagnostics.json": {"500": {"probe": {"input": {"auc": 1.0}}}},
                                "reproduce.log": "$ python -m aher.experiment\n# exit code 0, 12.5 s\n"}}
    assert list(records.finished_runs(tmp_path / "runs")) == ["small/k600/ahernet/seed0"]


def test_restore_keeps_finished_folders_skips_busy_ones_and_writes_metrics_last(tmp_path, monkeypatch):
    file = tmp_path / "records.json"
    rec = {"files": {"config.yaml": "train:\n  seed: 0\n", "metrics.json": {"average_mAP": 0.3},
                     "reproduce.log": "$ cmd\n# exit code 0, 3.0 s\n"}}
    records.dump_records(file, {"s/a/seed0": rec, "s/b/seed0": rec, "s/c/seed0": rec, "s/d/seed0": rec})
    runs = tmp_path / "runs"
    records.write_record(runs / "s" / "a" / "seed0", rec)                                    # present
    other = {"files": {**rec["files"], "metrics.json": {"average_mAP": 0.5}}}
    records.write_record(runs / "s" / "b" / "seed0", other)                                  # differs: kept
    (runs / "s" / "c" / "seed0").mkdir(parents=True)
    claim = Claim(runs / "s" / "c" / "seed0")                                                # busy: left out
    claim.acquire("inline")
    order = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append(b.name), real_replace(a, b)))
    try:
        counts, notes = records.restore(runs, file)
    finally:
        claim.release()
    assert counts == {"restored": 1, "present": 1, "differs": 1, "busy": 1}
    assert any("s/b/seed0: holds a finished run unlike its record" in n for n in notes)
    assert any("s/c/seed0: left out (" in n and "claimed by" in n for n in notes)
    assert json.loads((runs / "s" / "b" / "seed0" / "metrics.json").read_text())["average_mAP"] == 0.5
    assert not (runs / "s" / "c" / "seed0" / "metrics.json").exists()
    assert order == ["config.yaml", "reproduce.log", "metrics.json"]                         # s/d: metrics last
    assert records.record_of(runs / "s" / "d" / "seed0") == rec


def test_restored_curve_run_gives_the_same_curve(tmp_path):
    run = tmp_path / "runs" / "small" / "curves" / "k600" / "ahernet" / "seed0"
    (run / "eval_curve").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"train": {"method": "algorithm1", "seed": 0}}))
    (run / "metrics.json").write_text(json.dumps({"average_mAP": 0.09, "iteration": 500}))
    (run / "diagnostics.json").write_text(json.dumps({
        "250": {"discriminator": {"layers": [{"accuracy": 0.5}, {"accuracy": 0.7}]},
                "probe": {"input": {"auc": 0.98}, "layer_1": {"auc": 0.9}}}}))
    snapshots = {"250": {"average_mAP": 0.05, "AUC": 50.0}, "500": {"average_mAP": 0.09, "AUC": 55.0}}
    (run / "eval_curve" / "metrics.json").write_text(json.dumps({"snapshots": snapshots, "average_mAP": 0.09}))
    file = tmp_path / "records.json"
    records.save(tmp_path / "runs", file)
    records.restore(tmp_path / "elsewhere", file)
    copy = tmp_path / "elsewhere" / "small" / "curves" / "k600" / "ahernet" / "seed0"

    def curve(folder):
        planned = PlannedRun(RunSpec("k600", "algorithm1", (), 0), tmp_path / "k600.yaml", folder, [], [])
        tested = RunResult("reused", json.loads((folder / "eval_curve" / "metrics.json").read_text()))
        return read_curve(planned, tested)

    assert curve(copy) == curve(run)
    assert curve(copy)["points"][0]["discriminator_accuracy"] == pytest.approx(0.6)


@pytest.mark.parametrize("content, message", [
    ("{", "unreadable"),
    ('{"runs": {}}', "not a run records file"),
    ('{"format": 1, "runs": {"a/seed0": {"files": {"config.yaml": ""}}}}', "run 'a/seed0' has no 'files' with metrics.json"),
    ('{"format": 1, "runs": {"../x": {"files": {"metrics.json": {}}}}}', "run '../x' is not a path below"),
    ('{"format": 1, "runs": {"a": {"files": {"metrics.json": {}, "checkpoints/m.index": ""}}}}',
     "'checkpoints/m.index' is not a recorded file name"),
])
def test_bad_records_file_is_a_one_line_error_and_writes_nothing(tmp_path, capsys, content, message):
    file = tmp_path / "records.json"
    file.write_text(content)
    with pytest.raises(SystemExit) as exc:
        records.main(["restore", "--runs", str(tmp_path / "runs"), "--file", str(file)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and message in err and str(file) in err
    assert not (tmp_path / "runs").exists()


def test_missing_inputs_are_one_line_errors(tmp_path, capsys):
    for argv, message in ((["save", "--runs", str(tmp_path / "none")], "no such runs folder"),
                          (["restore", "--file", str(tmp_path / "none.json")], "no such records file")):
        with pytest.raises(SystemExit) as exc:
            records.main([*argv, "--file", str(tmp_path / "r.json")] if argv[0] == "save" else argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "r.json").exists()


def test_command_line_round_trip_prints_counts(tmp_path, capsys):
    run = tmp_path / "runs" / "small" / "k600" / "ahernet0" / "seed0"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("train:\n  method: zero\n")
    (run / "metrics.json").write_text('{"average_mAP": 0.2}')
    file = tmp_path / "records.json"
    assert records.main(["save", "--runs", str(tmp_path / "runs"), "--file", str(file)]) == 0
    assert "1 runs (1 added, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert records.main(["restore", "--runs", str(tmp_path / "copy"), "--file", str(file)]) == 0
    assert "1 runs restored" in capsys.readouterr().out
    assert (tmp_path / "copy" / "small" / "k600" / "ahernet0" / "seed0" / "config.yaml").read_text() == \
        "train:\n  method: zero\n"


def test_a_sweep_records_each_run_as_it_ends(tmp_path, fake_entry, monkeypatch, capsys):
    runs, file, at_once = tmp_path / "runs", tmp_path / "records.json", tmp_path / "saved.json"
    calls = []
    real = records.record_run

    def spy(runs_root, folder, path):
        held = set(records.load_records(path))
        assert records.is_finished(folder)                      # called once the run (or a test of it) ended
        calls.append((folder.relative_to(runs_root).as_posix(), len(held)))
        return real(runs_root, folder, path)

    monkeypatch.setattr(records, "record_run", spy)
    make_tables(runs, tmp_path / "out", "--records", str(file))
    out = capsys.readouterr().out
    assert f"records: each run finished here is added to {file}" in out
    trained = int(re.search(r"trained (\d+) runs", out).group(1))
    tests = out.count("[test] ")
    assert trained > 0 and tests > 0 and len(calls) == trained + tests
    keys = [key for key, _ in calls]
    assert [n for _, n in calls[:trained]] == list(range(trained))        # the file grew run by run
    assert len(set(keys)) == trained                                      # a test re-records its run
    records.save(runs, at_once)
    assert file.read_text() == at_once.read_text()                        # the same as a save at the end
    make_tables(runs, tmp_path / "out", "--records", str(file), "--no-train")
    assert file.read_text() == at_once.read_text() and len(calls) == trained + tests   # reused: nothing written


def test_records_file_defaults_to_the_committed_file_for_the_committed_runs_only(tmp_path):
    def dest(*argv):
        args = cli.build_parser().parse_args(["table2", *argv])
        configs = cli.resolve_configs(args, ["anet_split", "th14_anet"])
        runs_root = os.path.abspath(args.runs) if args.runs else records.DEFAULT_RUNS
        committed = cli.committed_plan_mismatch(args, configs, ignore=("seeds",)) is None
        return records.records_file(args, runs_root, committed)

    assert dest() == dest("--seeds", "1") == records.DEFAULT_FILE
    assert dest("--scale", "tiny") is None and dest("--precision", "mixed_bfloat16") is None
    assert dest("--set", "train.iterations=5") is None and dest("--runs", str(tmp_path)) is None
    assert dest("--records", "none") is None
    assert dest("--runs", str(tmp_path), "--records", str(tmp_path / "r.json")) == tmp_path / "r.json"


WRITER = """
import sys
from pathlib import Path
from aher.reproduce import records
runs, file = Path(sys.argv[1]), Path(sys.argv[2])
for key in sys.argv[3:]:
    records.record_run(runs, runs / key, file)
"""


def test_concurrent_writers_keep_every_record(tmp_path):
    runs, file = tmp_path / "runs", tmp_path / "records.json"
    keys = [f"small/k600/row{i}/seed0" for i in range(60)]
    for i, key in enumerate(keys):
        records.write_record(runs / key, {"files": {"config.yaml": f"i: {i}\n", "metrics.json": {"average_mAP": i}}})
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(records.PROJECT_ROOT)}
    procs = [subprocess.Popen([sys.executable, str(script), str(runs), str(file), *keys[k::3]], env=env)
             for k in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert sorted(records.load_records(file)) == sorted(keys)
    assert (runs / records.LOCK_FILE).is_file()


def test_an_unusable_records_file_is_logged_and_the_sweep_goes_on(tmp_path):
    run = tmp_path / "runs" / "small" / "k600" / "ahernet0" / "seed0"
    records.write_record(run, {"files": {"config.yaml": "a: 1\n", "metrics.json": {"average_mAP": 0.2}}})
    file = tmp_path / "records.json"
    file.write_text("{not json")
    lines = []
    records.recorder(tmp_path / "runs", file, log=lambda text, **_: lines.append(text))(run)
    assert len(lines) == 1 and "not recorded in" in lines[0] and "unreadable" in lines[0]
    assert file.read_text() == "{not json"
