"""``aher.reproduce`` executors and claims: the same tables inline and local, parallel runs pinned to
their own resources, claims that refuse a second invocation and take over stale ones (dead process,
ended Slurm job), busy runs left out.  Runs are the fake entry script of ``tests/test_reproduce.py``
(with a pause and a record of its environment); the real-Slurm test is ``tests/test_slurm.py``."""

import json
import os
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

from aher.errors import UserError
from aher.reproduce import cli, executors, runner
from aher.reproduce.claim import CLAIM_FILE, Claim, RunBusy, busy_reason
from aher.reproduce.executors import InlineExecutor, LocalExecutor, cpu_slots, gpu_slots, parse_slurm_args
from aher.reproduce.plan import build_plan
from aher.reproduce.process import RunResult
from aher.train.run_lock import RunLock
from tests.test_reproduce import FAKE_ENTRY, committed_reports_unchanged, install_entry  # noqa: F401 (autouse fixture)

PAUSED_ENTRY = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    args = sys.argv[1:]
    out = Path(args[args.index("--out") + 1])
    if "--label-space" not in args:
        out.mkdir(parents=True, exist_ok=True)
        start = time.time()
        time.sleep(0.6)
        (out / "env.json").write_text(json.dumps({
            "start": start, "end": time.time(), "cpus": sorted(os.sched_getaffinity(0)),
            **{k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")}}))
""") + FAKE_ENTRY


@pytest.fixture
def paused_entry(tmp_path, monkeypatch):
    return install_entry(tmp_path, monkeypatch, PAUSED_ENTRY, "paused_entry.py")


def comparable_tables(folder):
    """{file: document} of a tables folder without what differs between two invocations of one
    plan: times, folders, and whether a run was trained by this invocation or collected ("finished")."""
    def strip(node):
        if isinstance(node, dict):
            return {k: "finished" if k == "status" and v in ("done", "reused") else strip(v) for k, v in node.items()
                    if k not in ("seconds", "run_time", "date", "command", "dir", "runs_root")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return {p.name: strip(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))}


def _run_cli(*argv):
    return cli.run(["table3", "table4", "--scale", "tiny", "--seeds", "2", *argv])


# ---------------------------------------------------------------- executors


def test_local_executor_gives_the_inline_tables_and_runs_side_by_side(tmp_path, paused_entry, capsys):
    assert _run_cli("--runs", str(tmp_path / "inline"), "--report-dir", str(tmp_path / "t_inline")) == 1
    assert _run_cli("--runs", str(tmp_path / "local"), "--report-dir", str(tmp_path / "t_local"),
                    "--executor", "local", "--max-parallel", "2") == 1        # one row fails in both (fake entry)
    out = capsys.readouterr().out
    inline, local = comparable_tables(tmp_path / "t_inline"), comparable_tables(tmp_path / "t_local")
    assert set(inline) == {"table3.json", "table4.json"} and inline == local
    assert "local: up to 2 runs at once" in out

    records = [json.loads(p.read_text()) for p in (tmp_path / "local").rglob("env.json")]
    assert len(records) == 14                                         # table4 x 2 seeds + table3 x 2 seeds
    overlaps = sum(a["start"] < b["end"] and b["start"] < a["end"] for i, a in enumerate(records)
                   for b in records[i + 1:])
    assert overlaps >= len(records) // 2                              # two at a time
    available = sorted(os.sched_getaffinity(0))
    for rec in records:
        assert rec["CUDA_VISIBLE_DEVICES"] == ""
        assert rec["OMP_NUM_THREADS"] == rec["TF_NUM_INTRAOP_THREADS"] == str(len(rec["cpus"]))
        if len(available) >= 2:
            assert len(rec["cpus"]) == len(available) // 2
    if len(available) >= 2:
        assert len({tuple(r["cpus"]) for r in records}) == 2          # two disjoint shares
    log = next((tmp_path / "local").rglob("reproduce.log")).read_text().splitlines()[0]
    assert log.startswith("$ env CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=") and "paused_entry.py" in log
    inline_log = next((tmp_path / "inline").rglob("reproduce.log")).read_text().splitlines()[0]
    assert not inline_log.startswith("$ env")
    assert not list((tmp_path / "local").rglob(CLAIM_FILE)) or all(
        p.read_text() == "" for p in (tmp_path / "local").rglob(CLAIM_FILE))   # every claim released


def test_cpu_and_gpu_slots():
    slots = cpu_slots(2, [0, 1, 2, 3])
    assert [s.label for s in slots] == ["CPUs 0,1", "CPUs 2,3"]
    assert slots[0].env == {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "2", "TF_NUM_INTRAOP_THREADS": "2"}
    assert [s.label for s in cpu_slots(3, [0, 1])] == ["CPUs 0", "CPUs 1", "CPUs 0"]    # more runs than CPUs
    slots = gpu_slots(2, ["0", "1", "2", "3", "4"], max_parallel=8)
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0,1", "2,3"]
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in gpu_slots(1, ["5", "7"], max_parallel=1)] == ["5"]
    with pytest.raises(UserError, match="--gpus-per-run 2: only 1 GPU"):
        gpu_slots(2, ["0"], max_parallel=4)
    assert LocalExecutor(4, gpus_per_run=1, gpus=["0", "1"]).parallel == 2
    with pytest.raises(UserError, match="--max-parallel"):
        LocalExecutor(0)


def test_executor_options_are_checked(tmp_path, capsys):
    assert parse_slurm_args(["account=proj", "--qos=high"]) == {"account": "proj", "qos": "high"}
    with pytest.raises(UserError, match="--slurm-arg 'account' is not KEY=VALUE"):
        parse_slurm_args(["account"])
    for argv, message in ((["--no-wait"], "options of --executor slurm"),
                          (["--executor", "local", "--slurm-mem", "4G"], "options of --executor slurm"),
                          (["--gpus-per-run", "1"], "--gpus-per-run is an option of --executor local")):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["table3", "--scale", "tiny", "--runs", str(tmp_path), *argv])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- claims


def test_claim_refuses_a_second_claimant_and_takes_over_a_dead_one(tmp_path):
    folder = tmp_path / "run"
    first = Claim(folder)
    assert first.acquire("local") is None
    record = json.loads((folder / CLAIM_FILE).read_text())
    assert record["pid"] == os.getpid() and record["executor"] == "local" and record["slurm_job_id"] is None
    with pytest.raises(RunBusy, match=f"claimed by pid {os.getpid()} on .* \\(local executor\\)"):
        Claim(folder).acquire("inline")
    assert "claimed by" in busy_reason(folder)
    first.release()
    assert (folder / CLAIM_FILE).read_text() == "" and busy_reason(folder) is None

    # a claimant that died: its record stays, its flock went with it
    dead = {"host": "elsewhere", "pid": 999999, "executor": "inline", "slurm_job_id": None, "since": "then"}
    (folder / CLAIM_FILE).write_text(json.dumps(dead))
    assert busy_reason(folder) is None
    second = Claim(folder)
    assert second.acquire("inline") == dead
    second.release()


def test_claim_respects_a_live_trainer(tmp_path):
    folder = tmp_path / "run"
    lock = RunLock(folder)
    lock.acquire()
    try:
        with pytest.raises(RunBusy, match="in use by pid"):
            Claim(folder).acquire("inline")
        assert "in use by pid" in busy_reason(folder)
        assert runner.inspect_run(folder, [])[0] == "busy"
    finally:
        lock.release()
    assert runner.inspect_run(folder, [])[0] == "train"


@pytest.fixture
def fake_squeue(tmp_path, monkeypatch):
    """A ``squeue`` on PATH that reports the state written into ``state``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "state"
    script = bin_dir / "squeue"
    script.write_text(f"#!/bin/sh\nif [ \"$(cat {state})\" = gone ]; then\n"
                      "  echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1\nfi\n"
                      f"cat {state}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return state


@pytest.mark.parametrize("squeue_says, busy", [("PENDING", True), ("RUNNING", True), ("CANCELLED", False),
                                                ("COMPLETED", False), ("gone", False)])
def test_claim_of_a_slurm_job_lasts_while_the_job_is_active(tmp_path, fake_squeue, squeue_says, busy):
    folder = tmp_path / "run"
    claim = Claim(folder)
    claim.acquire("slurm")
    claim.set_job(4242)
    claim.hand_over()                  # --no-wait: the submitting process is gone, the job holds the claim
    assert json.loads((folder / CLAIM_FILE).read_text())["slurm_job_id"] == "4242"
    fake_squeue.write_text(squeue_says)
    if busy:
        assert f"claimed by Slurm job 4242 ({squeue_says})" in busy_reason(folder)
        with pytest.raises(RunBusy, match="Slurm job 4242"):
            Claim(folder).acquire("slurm")
    else:
        assert busy_reason(folder) is None
        taken = Claim(folder)
        assert taken.acquire("inline")["slurm_job_id"] == "4242"
        taken.release()


def test_busy_runs_are_left_out_and_collected_later(tmp_path, paused_entry, capsys):
    runs = tmp_path / "runs"
    plan = build_plan(["table3"], [0], cli.default_configs(type("A", (), {"data": "synthetic", "scale": "tiny"}),
                                                           ["th14_anet"]), runs, "tiny")
    held = Claim(plan[0].out)
    held.acquire("local")                        # another invocation is training it
    try:
        lines = []
        results = runner.execute(plan, log=lambda text, **kw: lines.append(text))
        assert plan[0].spec not in results
        assert any(line.startswith("[busy] th14_anet") and "claimed by pid" in line for line in lines)
        assert any(line.startswith("1 runs were busy") and "rerun the same command" in line for line in lines)
        assert not (plan[0].out / "reproduce.log").exists()
        assert runner.train_once("th14_anet", plan[0].config, plan[0].out, plan[0].overrides).status == "failed"
        # the committed-style refusal: a plan with busy runs writes no tables where they would be partial
        assert cli.run(["table3", "--scale", "tiny", "--seeds", "1", "--runs", str(runs), "--no-train",
                        "--report-dir", str(tmp_path / "tables")]) == 0
    finally:
        held.release()
    results = runner.execute(plan, log=lambda text, **kw: None)
    assert results[plan[0].spec].status == "done"


def test_two_invocations_never_train_the_same_run(tmp_path, paused_entry):
    plan = build_plan(["table4"], [0, 1], cli.default_configs(type("A", (), {"data": "synthetic", "scale": "tiny"}),
                                                              ["k600"]), tmp_path / "runs", "tiny")
    results = [None, None]

    def invoke(i):
        results[i] = runner.execute(plan, log=lambda text, **kw: None,
                                    executor=LocalExecutor(2) if i else InlineExecutor())

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(2)]
    threads[0].start()
    first, deadline = plan[0].out, time.monotonic() + 120
    while busy_reason(first) is None and not (first / "metrics.json").is_file():   # the first run is taken
        assert time.monotonic() < deadline, "the first invocation never started its first run"
        time.sleep(0.01)
    threads[1].start()                          # starts while the first holds (or has finished) plan[0]
    for t in threads:
        t.join()
    trained = [{spec for spec, r in res.items() if r.status == "done" and not isinstance(spec, tuple)}
               for res in results]
    succeeding = {r.spec for r in plan if r.spec.method in ("algorithm1", "zero")}   # the fake entry fails the others
    assert plan[0].spec in succeeding and plan[0].spec in trained[0]
    assert not trained[0] & trained[1]                                # no run trained by both
    assert trained[0] | trained[1] == succeeding
    for res in results:                                               # the other one reused it, or left it busy
        assert all(res[spec].status == "reused" for spec in succeeding if spec in res and spec not in trained[0] | trained[1]
                   or (spec in res and res[spec].status != "done"))


def test_local_executor_starts_no_run_after_an_interruption(tmp_path, monkeypatch):
    """Ctrl-C reaches the running trainer (it stops with its snapshot) and this process: the
    executor raises it once the running job has ended, and the queued jobs never start."""
    started = []

    def fake_run_logged(cmd, out, env=None):
        if out.name == "job0":
            raise KeyboardInterrupt
        return RunResult("done", {"average_mAP": 0.1}, 1.0, out=str(out))

    monkeypatch.setattr(executors, "run_logged", fake_run_logged)
    jobs = [SimpleNamespace(out=tmp_path / f"job{i}", command_now=lambda: ["true"]) for i in range(4)]
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(1, cpus=[0]).run(jobs, lambda job: True, lambda job, where: started.append(job.out.name),
                                       lambda job, result: None)
    assert started == ["job0"]


def test_interrupted_and_failed_runs_are_not_counted_as_trained(tmp_path, monkeypatch):
    plan = build_plan(["table3"], [0, 1], cli.default_configs(type("A", (), {"data": "synthetic", "scale": "tiny"}),
                                                              ["th14_anet"]), tmp_path / "runs", "tiny")

    def fake_run_logged(cmd, out, env=None):
        if out == plan[0].out:
            return RunResult("failed", seconds=3.0, error="interrupted: stopped by SIGINT", out=str(out),
                             interrupted=True)
        return RunResult("failed", seconds=1.0, error="boom", out=str(out))

    monkeypatch.setattr(executors, "run_logged", fake_run_logged)
    lines = []
    runner.execute(plan, log=lambda text, **kw: lines.append(text))
    assert any(f"{plan[0].spec.setting} · {plan[0].spec.label} · seed 0 interrupted after 0:00:03, its snapshot kept: "
               "rerun the same command to resume it" in line for line in lines), lines
    assert any(line.endswith("FAILED after 0:00:01: boom") for line in lines)      # no log was written: none named
    assert any(line.startswith("trained 0 runs in ") and line.endswith(f"; {len(plan)} failed") for line in lines)


@pytest.mark.parametrize("accepted_first", [False, True])
def test_slurm_stops_submitting_when_the_first_job_is_refused(tmp_path, monkeypatch, accepted_first):
    monkeypatch.setattr(executors.shutil, "which", lambda name: "/usr/bin/" + name)
    slurm = executors.SlurmExecutor(wait=False)
    tried, ended = [], {}

    def submit(job):
        tried.append(job.out.name)
        if accepted_first and job.out.name == "job0":
            return "101"
        raise RuntimeError("sbatch: error: Batch job submission failed: Unable to contact slurm controller")

    monkeypatch.setattr(slurm, "submit", submit)
    jobs = [SimpleNamespace(out=tmp_path / f"job{i}", claim=SimpleNamespace(hand_over=lambda: None))
            for i in range(3)]
    slurm.run(jobs, lambda job: True, lambda job, where: None, lambda job, result: ended.update({job.out.name: result}))
    if accepted_first:                           # a refusal after an accepted job fails that run only
        assert tried == ["job0", "job1", "job2"] and sorted(ended) == ["job1", "job2"]
        assert all(r.error.startswith("sbatch refused the job: ") for r in ended.values())
    else:
        assert tried == ["job0"] and sorted(ended) == ["job0", "job1", "job2"]
        assert ended["job1"].error == ("not submitted: sbatch refused the first job (sbatch: error: Batch job "
                                       "submission failed: Unable to contact slurm controller)")
