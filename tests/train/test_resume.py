"""Resume that never destroys: intact-snapshot fallback, moved/copied folders, interrupted
iterations, the run lock, disk-full snapshots (small graphs, in process)."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from aher.train.checkpoints import (CheckpointError, list_checkpoints, make_saver, read_partial, save_partial,
                                    save_snapshot)
from aher.train.interrupts import TrainingInterrupted
from aher.train.loop import LoopGraph, SubStep, make_iteration_variable, restore_if_resuming, run_loop
from aher.train.run_dir import RunDir, TrainingError
from aher.train.run_lock import RunLock, RunLockedError

CONFIG = {"train": {"iterations": 5}}


class Counter:
    """A graph with one counter and three sub-steps adding 1, 10 and 100 (order-revealing)."""

    def __init__(self):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.value = tf.compat.v1.get_variable("counter", shape=[], dtype=tf.float64,
                                                   initializer=tf.compat.v1.zeros_initializer())
            self.steps = [SubStep(f"S{k}", self.value.assign_add(10.0 ** k), feed_lr=False) for k in range(3)]
            self.iteration = make_iteration_variable()
            self.saver = make_saver(max_to_keep=10)
            self.init = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.session.run(self.init)

    def loop(self, feed=None):
        return LoopGraph(steps=self.steps, load_batches=None, lr=None, iteration=self.iteration, saver=self.saver,
                         feed=feed)

    def set(self, value, iteration):
        with self.graph.as_default():
            self.session.run([self.value.assign(value), self.iteration.assign(iteration)])

    def get(self):
        return float(self.session.run(self.value))


def _config(iterations):
    return SimpleNamespace(train=SimpleNamespace(iterations=iterations, snapshot_every=2, log_every=1))


def _snapshots(tmp_path, values):
    """A run folder with one snapshot per (iteration, value)."""
    run = RunDir(tmp_path / "run", CONFIG)
    model = Counter()
    for iteration, value in values:
        model.set(value, iteration)
        with model.graph.as_default():
            save_snapshot(model.saver, model.session, run.checkpoint_prefix, iteration)
    run.close()
    return tmp_path / "run"


def _resume(folder):
    run = RunDir(folder, CONFIG, resume=True)
    model = Counter()
    logged = []
    try:
        with model.graph.as_default():
            return restore_if_resuming(model.session, model.saver, run, log=logged.append), model.get(), logged
    finally:
        run.close()


def test_a_truncated_newest_snapshot_falls_back_to_the_previous_one_with_a_warning(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0), (4, 4.0)])
    data = next((folder / "checkpoints").glob("model.ckpt-4.data-*"))
    data.write_bytes(data.read_bytes()[:3])
    iteration, value, logged = _resume(folder)
    assert (iteration, value) == (2, 2.0)
    assert len(logged) == 1 and "model.ckpt-4" in logged[0] and "resuming from model.ckpt-2" in logged[0]


def test_no_readable_snapshot_is_one_line_error(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0)])
    for data in (folder / "checkpoints").glob("model.ckpt-2.data-*"):
        data.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="no snapshot can be restored") as err:
        _resume(folder)
    assert "\n" not in str(err.value)


def test_a_copied_run_with_an_absolute_index_resumes_from_its_own_files(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0), (4, 4.0)])
    index = folder / "checkpoints" / "checkpoint"     # the index of older runs named absolute paths
    index.write_text("".join(f'{key}: "{folder}/checkpoints/model.ckpt-{i}"\n'
                             for key, i in [("model_checkpoint_path", 4), ("all_model_checkpoint_paths", 2),
                                            ("all_model_checkpoint_paths", 4)]))
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "run.lock").write_text("")
    shutil.rmtree(folder / "checkpoints")              # the original is gone
    assert list_checkpoints(copy / "checkpoints") == [str(copy / "checkpoints" / f"model.ckpt-{i}") for i in (2, 4)]
    assert _resume(copy)[:2] == (4, 4.0)


def test_a_garbled_index_file_does_not_hide_the_snapshots(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0), (4, 4.0)])
    (folder / "checkpoints" / "checkpoint").write_text("\x00\x01 not a proto {{{")
    assert _resume(folder)[:2] == (4, 4.0)


def test_new_indexes_name_snapshots_relative_to_their_folder(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0)])
    assert str(tmp_path) not in (folder / "checkpoints" / "checkpoint").read_text()


def _interrupt_at(iteration):
    def feed(it):
        if it == iteration:
            os.kill(os.getpid(), signal.SIGINT)   # handled by the loop: stop after the current sub-step
        return {}
    return feed


def test_an_interrupted_iteration_resumes_with_its_remaining_sub_steps(tmp_path):
    handler = signal.getsignal(signal.SIGINT)       # default_int_handler, or SIG_IGN in a background job
    reference = Counter()
    run = RunDir(tmp_path / "ref", CONFIG)
    with reference.graph.as_default():
        run_loop(reference.session, reference.loop(), _config(5), run, progress=False)
    run.close()
    assert reference.get() == 5 * 111.0

    model = Counter()
    run = RunDir(tmp_path / "run", CONFIG)
    with model.graph.as_default(), \
            pytest.raises(TrainingInterrupted, match="stopped by SIGINT in iteration 4 after sub-step S0") as err:
        run_loop(model.session, model.loop(_interrupt_at(3)), _config(5), run, progress=False)
    run.close()
    assert err.value.exit_code == 130 and f"--out {tmp_path / 'run'} --resume" in str(err.value)
    partial = read_partial(tmp_path / "run" / "checkpoints")
    assert (partial["iteration"], partial["substeps_done"], partial["signal"]) == (3, 1, "SIGINT")
    assert signal.getsignal(signal.SIGINT) is handler                     # handlers restored

    resumed = Counter()
    run = RunDir(tmp_path / "run", CONFIG, resume=True)
    with resumed.graph.as_default():
        assert restore_if_resuming(resumed.session, resumed.saver, run) == 3
        assert resumed.get() == 3 * 111.0 + 1.0
        run_loop(resumed.session, resumed.loop(), _config(5), run, progress=False)
    run.close()
    assert resumed.get() == reference.get()                                   # nothing repeated or skipped
    assert read_partial(tmp_path / "run" / "checkpoints") is None
    assert "resumed at iteration 3 after sub-step S0" in (tmp_path / "run" / "train.log").read_text()


def test_an_interrupted_snapshot_older_than_a_regular_one_is_ignored(tmp_path):
    folder = _snapshots(tmp_path, [(4, 4.0)])
    model = Counter()
    model.set(1.5, 1)
    with model.graph.as_default():
        save_partial(make_saver(max_to_keep=None), model.session, folder / "checkpoints", 1, 2, "SIGTERM")
    assert _resume(folder)[:2] == (4, 4.0)
    assert read_partial(folder / "checkpoints") is None


def test_a_full_disk_while_saving_is_one_line_and_keeps_the_previous_snapshot(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0)])

    class FullDisk:
        def save(self, *args, **kwargs):
            raise tf.errors.ResourceExhaustedError(None, None, "write failed: No space left on device")

    with pytest.raises(CheckpointError, match="no space left on device for snapshot 4") as err:
        save_snapshot(FullDisk(), None, folder / "checkpoints" / "model.ckpt", 4)
    assert str(folder / "checkpoints") in str(err.value) and "model.ckpt-2 is intact" in str(err.value)
    assert _resume(folder)[:2] == (2, 2.0)


def test_run_folder_rules(tmp_path):
    with pytest.raises(TrainingError, match="nothing to resume"):
        RunDir(tmp_path / "new", CONFIG, resume=True)
    assert not (tmp_path / "new").exists()                  # nothing half-made
    run = RunDir(tmp_path / "run", CONFIG)
    with pytest.raises(RunLockedError, match=f"in use by pid {os.getpid()}"):
        RunDir(tmp_path / "run", CONFIG)
    run.close()
    RunDir(tmp_path / "run", CONFIG).close()                 # free again after close


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path):
    code = ("import sys, time; from aher.train.run_lock import RunLock; RunLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(RunLockedError, match=f"pid {proc.pid}"):
        RunLock(tmp_path).acquire()
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).check_free()
    proc.kill()
    proc.wait()
    lock = RunLock(tmp_path)
    previous = lock.acquire()
    assert previous["pid"] == proc.pid
    assert json.loads((tmp_path / "run.lock").read_text())["pid"] == os.getpid()
    lock.release()
    assert (tmp_path / "run.lock").read_text() == "" and RunLock(tmp_path).acquire() is None


def test_restored_iteration_counter_matches_the_snapshot(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0), (4, 4.0)])
    run = RunDir(folder, CONFIG, resume=True)
    model = Counter()
    with model.graph.as_default():
        restore_if_resuming(model.session, model.saver, run)
    assert int(model.session.run(model.iteration)) == 4 and np.isclose(model.get(), 4.0)
    run.close()


def test_resuming_past_the_configured_iterations_is_one_line(tmp_path):
    folder = _snapshots(tmp_path, [(4, 4.0)])
    run = RunDir(folder, CONFIG, resume=True)
    model = Counter()
    try:
        with model.graph.as_default():
            assert restore_if_resuming(model.session, model.saver, run, log=lambda m: None) == 4
            with pytest.raises(TrainingError, match=r"the run is at iteration 4, past train.iterations=3; resume with "
                                                    r"--set train.iterations=4 or more"):
                run_loop(model.session, model.loop(), _config(3), run, progress=False)
            assert model.get() == 4.0
            assert run_loop(model.session, model.loop(), _config(4), run, progress=False).endswith("model.ckpt-4")
    finally:
        run.close()


def test_a_failed_check_after_a_takeover_leaves_the_dead_owners_record(tmp_path):
    folder = _snapshots(tmp_path, [(2, 2.0)])
    dead = {"host": "elsewhere", "pid": 999999, "slurm_job_id": None, "since": "2026-01-01 00:00:00", "command": "x"}
    (folder / "run.lock").write_text(json.dumps(dead))
    with pytest.raises(TrainingError, match="already holds checkpoints"):
        RunDir(folder, CONFIG)                                        # forgot --resume: nothing starts
    assert json.loads((folder / "run.lock").read_text()) == dead
    run = RunDir(folder, CONFIG, resume=True)
    run.close()
    assert "took the run folder over from pid 999999 on elsewhere" in (folder / "train.log").read_text()
    assert (folder / "run.lock").read_text() == ""


def test_resuming_past_the_configured_iterations_leaves_the_run_folder_alone(tmp_path):
    folder = _snapshots(tmp_path, [(4, 4.0)])
    before = (folder / "config.yaml").read_text()
    with pytest.raises(TrainingError, match=r"newest snapshot is at iteration 4, past train.iterations=3; resume "
                                            r"with --set train.iterations=4 or more"):
        RunDir(folder, {"train": {"iterations": 3}}, resume=True)
    assert (folder / "config.yaml").read_text() == before
    RunDir(folder, {"train": {"iterations": 4}}, resume=True).close()


def _scalar_steps(folder):
    steps = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
    return steps


def test_the_sub_steps_of_an_interrupted_iteration_reach_tensorboard(tmp_path):
    model = Counter()
    model.steps = [SubStep(step.name, step.train_op, fetches={"value": model.value}, feed_lr=False)
                   for step in model.steps]
    run = RunDir(tmp_path / "run", CONFIG)
    with model.graph.as_default(), pytest.raises(TrainingInterrupted):
        run_loop(model.session, model.loop(_interrupt_at(3)), _config(5), run, progress=False)
    run.close()
    resumed = Counter()
    resumed.steps = [SubStep(step.name, step.train_op, fetches={"value": resumed.value}, feed_lr=False)
                     for step in resumed.steps]
    run = RunDir(tmp_path / "run", CONFIG, resume=True)
    with resumed.graph.as_default():
        restore_if_resuming(resumed.session, resumed.saver, run)
        run_loop(resumed.session, resumed.loop(), _config(5), run, progress=False)
    run.close()
    steps = _scalar_steps(tmp_path / "run" / "tb")
    assert sorted(steps["S0/value"]) == [1, 2, 3, 4, 5]                  # S0 of iteration 4 ran before the stop
    assert sorted(steps["S1/value"]) == sorted(steps["S2/value"]) == [1, 2, 3, 4, 5]
