"""aher_k600_test.py on a tiny trained run: the run's config.yaml decides what is tested, another
setting / dataset / model is a one-line error, the run's metrics.json only ever scores the run on
its own dataset, and unreadable checkpoints or NaN features are one-line errors.

Two cases run the script as a subprocess (exit code, stderr); the others call its ``main``
in-process through ``aher.cli.run_main`` to keep the module fast.
"""

import importlib.util
import json
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from aher.cli import run_main
from aher.data.features import escape_id
from aher.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "aher_k600_test.py"


def one_line_error(err, *words):
    """stderr ends with exactly one ``error: ...`` line naming ``words``, and holds no traceback."""
    lines = err.strip().splitlines()
    return (lines[-1].startswith("error: ") and "Traceback" not in err
            and sum(line.startswith("error:") for line in lines) == 1 and all(w in lines[-1] for w in words))


def script_main():
    spec = importlib.util.spec_from_file_location("aher_k600_test_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def run_in_process(capsys, *argv):
    """``aher_k600_test.py argv`` in this process: (exit code, stdout, stderr)."""
    try:
        code = run_main(script_main(), [str(a) for a in argv] + ["--quiet"])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def run_script(*argv):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, argv), "--quiet"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def run(tiny_k600_run):
    """The tiny run and the bytes of its metrics.json, checked unchanged after the test."""
    folder, data = tiny_k600_run
    before = (folder / "metrics.json").read_bytes()
    files = sorted(p.name for p in folder.iterdir())
    yield folder, data
    assert (folder / "metrics.json").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == files


def test_another_settings_config_is_refused_and_the_run_keeps_its_metrics(run):
    folder, data = run
    done = run_script("--config", "configs/anet_split_synthetic_tiny.yaml", "--set", f"data.root={data}",
                      "--checkpoint", folder)
    assert done.returncode == 2
    assert one_line_error(done.stderr, "setting 'anet_split' (run: 'k600')", "--other-data", str(folder))


def test_a_truncated_checkpoint_is_one_line(run, tmp_path):
    folder, data = run
    copy = tmp_path / "run"
    shutil.copytree(folder, copy)
    blob = next((copy / "checkpoints").glob("model.ckpt-1.data-*"))
    blob.write_bytes(blob.read_bytes()[:200])
    done = run_script("--checkpoint", copy)
    assert done.returncode == 2
    assert one_line_error(done.stderr, str(copy / "checkpoints" / "model.ckpt-1"), "truncated or corrupt")
    assert json.loads((copy / "metrics.json").read_text())["average_mAP"] == 0.1227


def test_the_runs_config_is_the_default_and_other_data_goes_elsewhere(run, tmp_path, capsys):
    folder, data = run
    code, out, err = run_in_process(capsys, "--checkpoint", folder, "--out", tmp_path / "again")
    assert code == 0, err
    own = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert own["label_space"] == "moment" and own["iteration"] == 1
    # another dataset of the same setting: refused, then allowed with --other-data and --out outside the run
    other = ["--checkpoint", folder, "--set", f"data.root={tmp_path / 'data'}", "--set", "data.seed=1"]
    code, _, err = run_in_process(capsys, *other)
    assert code == 2 and one_line_error(err, "data.seed 1 (run: 0)", "drop those --set", "--other-data")
    code, _, err = run_in_process(capsys, *other, "--other-data")
    assert code == 2 and one_line_error(err, "--other-data needs --out")
    code, _, err = run_in_process(capsys, *other, "--other-data", "--out", folder / "elsewhere")
    assert code == 2 and one_line_error(err, "inside the run folder")
    code, out, err = run_in_process(capsys, *other, "--other-data", "--out", tmp_path / "other")
    assert code == 0, err
    scored = json.loads((tmp_path / "other" / "metrics.json").read_text())
    assert scored["checkpoint"].endswith("model.ckpt-1") and scored["average_mAP"] != 0.1227


def test_another_model_is_one_line(run, tmp_path, capsys):
    folder, data = run
    code, _, err = run_in_process(capsys, "--checkpoint", folder, "--set", "model.conv1_width=16")
    assert code == 2 and one_line_error(err, "model.conv1_width 16 (run: 32)", "does not describe the model")
    # a bare checkpoint (no run folder) with a config of another shape: the variable is named
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in (folder / "checkpoints").glob("model.ckpt-1.*"):
        shutil.copy(path, bare)
    code, _, err = run_in_process(capsys, "--checkpoint", bare / "model.ckpt-1")
    assert code == 2 and one_line_error(err, "--config is needed", "no config.yaml")
    code, _, err = run_in_process(capsys, "--checkpoint", bare / "model.ckpt-1", "--config",
                                  "configs/k600_synthetic_tiny.yaml", "--set", f"data.root={data}",
                                  "--set", "model.conv1_width=16")
    assert code == 2 and one_line_error(err, "aher/g_conv1/weights", "[3, 32, 32]", "[3, 32, 16]")
    assert not (bare / "metrics.json").exists()
    # the results of a bare checkpoint never go into a run folder
    code, _, err = run_in_process(capsys, "--checkpoint", bare / "model.ckpt-1", "--config",
                                  "configs/k600_synthetic_tiny.yaml", "--set", f"data.root={data}", "--out", folder)
    assert code == 2 and one_line_error(err, "the folder of another run")


def test_nan_in_evaluation_features_names_store_video_and_step(run, tmp_path, capsys):
    folder, data = run
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    store = copy / "k600_tiny" / "eval.h5"
    with h5py.File(store, "r+") as fh:
        video = fh["index"].asstr()[1]
        fh["features"][escape_id(video)][17, 3] = np.nan
    code, _, err = run_in_process(capsys, "--checkpoint", folder, "--set", f"data.root={copy}",
                                  "--out", tmp_path / "out")
    assert code == 2 and one_line_error(err, str(store), repr(video), "NaN at step 17 (of 128)")
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_a_checkpoint_path_that_does_not_exist_is_one_line(tmp_path):
    from aher.errors import UserError
    from aher.evaluate import main

    with pytest.raises(UserError, match=f"^{tmp_path / 'nope'}: no such run folder or checkpoint$"):
        main(["--checkpoint", str(tmp_path / "nope")])


def test_another_scoring_is_refused_in_the_run_folder_and_goes_elsewhere(run, tmp_path, capsys):
    folder, data = run
    rescored = ["--checkpoint", folder, "--set", "inference.keep_top_k=5", "--set", "eval.tiou_thresholds=0.3:0.7:0.1"]
    code, _, err = run_in_process(capsys, *rescored)
    assert code == 2 and one_line_error(err, "inference.keep_top_k 5 (run: 100)", "eval.tiou_thresholds",
                                        "--out DIR outside the run folder")
    code, _, err = run_in_process(capsys, *rescored, "--out", tmp_path / "rescored")
    assert code == 0, err
    scored = json.loads((tmp_path / "rescored" / "metrics.json").read_text())
    assert scored["tiou_thresholds"] == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7])
    assert scored["mAP@0.95"] is None and scored["inference"]["keep_top_k"] == 5
