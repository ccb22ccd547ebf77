"""``python -m aher.data.import_features``: npy/csv folders -> HDF5 store, with and without resizing."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from aher.errors import UserError
from aher.data.features import FeatureStore, resize
from aher.data.import_features import main
from tests.data.fake_real_data import killed_at_read

DIM = 16


def run_cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "aher.data.import_features", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def write_csv(path, arr, header=True):
    lines = [",".join(f"f{j}" for j in range(arr.shape[1]))] if header else []
    lines += [",".join(repr(float(x)) for x in row) for row in arr]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def source(tmp_path):
    """Three videos with different lengths, as both a .npy folder and a .csv folder."""
    rng = np.random.default_rng(3)
    data = {"v_alpha": rng.normal(size=(40, DIM)).astype(np.float32),
            "v_beta": rng.normal(size=(7, DIM)).astype(np.float32),
            "v_gamma.1": rng.normal(size=(300, DIM)).astype(np.float32)}
    npy, csv = tmp_path / "npy", tmp_path / "csv"
    npy.mkdir()
    csv.mkdir()
    for vid, arr in data.items():
        np.save(npy / f"{vid}.npy", arr)
        write_csv(csv / f"{vid}.csv", arr)
    (npy / "notes.txt").write_text("ignored")
    return data, npy, csv


def actionformer_json(path, fps=30.0, prefix=""):
    """Durations chosen so that frames = fps * duration is N*8 + 5 for each video."""
    database = {}
    for vid, n in (("alpha", 40), ("beta", 7), ("gamma.1", 300)):
        duration = (n * 8 + 5) / fps
        database[prefix + vid] = {"subset": "Validation", "duration": duration, "fps": fps,
                                  "annotations": [{"label": f"cls_{vid}", "label_id": len(database),
                                                   "segment": [0.0, duration / 2]}]}
    path.write_text(json.dumps({"version": "test", "database": database}))
    return path


def test_npy_round_trip_cli(source, tmp_path, project_root):
    data, npy, _ = source
    out = tmp_path / "out.h5"
    res = run_cli(["--src", npy, "--format", "npy", "--out", out], project_root)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().count("\n") == 0
    assert "wrote 3 videos" in res.stdout and f"dim {DIM}" in res.stdout and "float16" in res.stdout
    assert str(out) in res.stdout
    with FeatureStore(out) as store:
        assert store.ids() == sorted(data) and store.dtype == "float16"
        for vid, arr in data.items():
            np.testing.assert_allclose(store.get(vid), arr, rtol=1e-3, atol=1e-3)
            assert store.meta(vid) == {"n_features": arr.shape[0]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv", "npy", "out.h5"]


def test_csv_round_trip_float32(source, tmp_path, capsys):
    data, _, csv = source
    out = tmp_path / "out.h5"
    assert main(["--src", str(csv), "--format", "csv", "--out", str(out), "--dtype", "float32"]) == 0
    assert "wrote 3 videos (dim 16, float32)" in capsys.readouterr().out
    with FeatureStore(out) as store:
        assert store.dtype == "float32"
        for vid, arr in data.items():
            np.testing.assert_array_equal(store.get(vid), arr)


def test_resize_with_fps(source, tmp_path):
    data, _, csv = source
    out = tmp_path / "out.h5"
    main(["--src", str(csv), "--format", "csv", "--out", str(out), "--resize", "64", "--fps", "25"])
    with FeatureStore(out) as store:
        assert store.attrs["resized"] == 64
        for vid, arr in data.items():
            n = arr.shape[0]
            want = resize(arr, n * 8, n * 8 / 25.0, 64)
            np.testing.assert_allclose(store.get(vid), want, rtol=2e-3, atol=2e-3)
            meta = store.meta(vid)
            assert meta["n_features"] == n and meta["fps"] == 25.0
            assert meta["n_frames"] == n * 8 and meta["duration"] == pytest.approx(n * 8 / 25.0)


def test_resize_with_annotations_and_prefix(source, tmp_path, capsys):
    data, npy, _ = source
    anno = actionformer_json(tmp_path / "anno.json")
    out = tmp_path / "out.h5"
    main(["--src", str(npy), "--format", "npy", "--out", str(out), "--resize", "128",
          "--annotations", str(anno), "--strip-prefix", "v_", "--dtype", "float32"])
    assert "resized to 128" in capsys.readouterr().out
    with FeatureStore(out) as store:
        assert store.ids() == ["alpha", "beta", "gamma.1"]
        for vid, arr in data.items():
            vid = vid[2:]
            n = arr.shape[0]
            duration = (n * 8 + 5) / 30.0
            np.testing.assert_allclose(store.get(vid), resize(arr, n * 8 + 5, duration, 128), rtol=1e-6)
            meta = store.meta(vid)
            assert meta["label"] == f"cls_{vid}" and meta["subset"] == "validation"
            assert meta["duration"] == pytest.approx(duration) and meta["fps"] == 30.0
            assert meta["n_frames"] == pytest.approx(n * 8 + 5)


def test_bsn_annotations_give_frame_counts(tmp_path):
    src = tmp_path / "csv"
    src.mkdir()
    arr = np.arange(20 * 4, dtype=np.float32).reshape(20, 4)
    write_csv(src / "v_x.csv", arr)
    anno_dir = tmp_path / "anno"
    anno_dir.mkdir()
    (anno_dir / "anno.json").write_text(json.dumps({"v_x": {
        "duration_second": 7.0, "duration_frame": 175, "feature_frame": 160,
        "annotations": [{"segment": [1.0, 2.0], "label": "Run"}]}}))
    (anno_dir / "video_info_new.csv").write_text(
        "video,numFrame,seconds,fps,rfps,subset,featureFrame\nv_x,175,7.0,25,25,training,160\n")
    out = tmp_path / "out.h5"
    main(["--src", str(src), "--format", "csv", "--out", str(out), "--resize", "32",
          "--annotations", str(anno_dir / "anno.json"), "--dtype", "float32"])
    with FeatureStore(out) as store:
        np.testing.assert_allclose(store.get("v_x"), resize(arr, 175, 7.0, 32), rtol=1e-6)
        meta = store.meta("v_x")
        assert meta["n_frames"] == 175 and meta["feature_frame"] == 160 and meta["label"] == "Run"


def test_transpose_and_only_annotated(tmp_path, capsys):
    src = tmp_path / "npy"
    src.mkdir()
    arr = np.random.default_rng(0).normal(size=(30, 5)).astype(np.float32)
    np.save(src / "alpha.npy", arr.T)
    np.save(src / "extra.npy", arr.T)
    anno = actionformer_json(tmp_path / "anno.json")
    out = tmp_path / "out.h5"
    main(["--src", str(src), "--format", "npy", "--out", str(out), "--transpose", "--dtype", "float32",
          "--annotations", str(anno), "--only-annotated"])
    assert "2 annotated videos have no feature file" in capsys.readouterr().out
    with FeatureStore(out) as store:
        assert store.ids() == ["alpha"]
        np.testing.assert_array_equal(store.get("alpha"), arr)


def test_in_process_errors_are_user_errors(source, tmp_path):
    _, npy, csv = source
    out = tmp_path / "o.h5"
    with pytest.raises(UserError, match="--transpose applies to --format npy only"):
        main(["--src", str(csv), "--format", "csv", "--out", str(out), "--transpose"])
    with pytest.raises(UserError, match="none of the 3 feature files"):
        main(["--src", str(npy), "--format", "npy", "--out", str(out),
              "--annotations", str(actionformer_json(tmp_path / "a.json", prefix="zz"))])
    with pytest.raises(UserError, match="no .csv files"):
        main(["--src", str(tmp_path), "--format", "csv", "--out", str(out)])
    assert not out.exists()


def _bad_case(tmp_path, case):
    """Build a source folder with one bad file; return (args, the name the error must contain)."""
    src = tmp_path / "src"
    src.mkdir()
    good = np.ones((5, 4), np.float32)
    fmt = "csv"
    name = None
    if case == "ragged_csv":
        write_csv(src / "a_ok.csv", good)
        (src / "b_bad.csv").write_text("h1,h2,h3,h4\n1,2,3,4\n1,2,3\n")
        name = "b_bad.csv: line 3"
    elif case == "non_numeric_csv":
        (src / "b_bad.csv").write_text("h1,h2\n1,2\n3,abc\n")
        name = "b_bad.csv: line 3, column 2"
    elif case == "nan_csv":
        (src / "b_bad.csv").write_text("h1,h2\n1,2\n3,nan\n")
        name = "b_bad.csv: line 3"
    elif case == "empty_csv":
        (src / "b_bad.csv").write_text("h1,h2\n")
        name = "b_bad.csv"
    elif case == "dim_mismatch_csv":
        write_csv(src / "a_ok.csv", good)
        write_csv(src / "b_bad.csv", np.ones((5, 3)))
        name = "b_bad.csv: feature dim 3"
    else:
        fmt = "npy"
        np.save(src / "a_ok.npy", good)
        if case == "corrupt_npy":
            (src / "b_bad.npy").write_bytes(b"\x93NUMPY garbage")
        elif case == "not_npy":
            (src / "b_bad.npy").write_text("1,2,3,4\n")
        elif case == "3d_npy":
            np.save(src / "b_bad.npy", np.ones((2, 3, 4)))
        elif case == "nan_npy":
            np.save(src / "b_bad.npy", np.array([[1, 2, 3, np.nan]]))
        elif case == "float16_overflow_npy":
            np.save(src / "b_bad.npy", np.full((3, 4), 1e6))
        elif case == "string_npy":
            np.save(src / "b_bad.npy", np.array([["a"] * 4]))
        name = "b_bad.npy"
    return ["--src", src, "--format", fmt, "--out", tmp_path / "out.h5"], name


BAD_CASES = ["ragged_csv", "non_numeric_csv", "nan_csv", "empty_csv", "dim_mismatch_csv",
             "corrupt_npy", "not_npy", "3d_npy", "nan_npy", "float16_overflow_npy", "string_npy"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_inputs_exit_2_with_one_line(tmp_path, project_root, case):
    args, name = _bad_case(tmp_path, case)
    res = run_cli(args, project_root)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert name in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]        # nothing written, no temp file


@pytest.mark.parametrize("extra,needle", [
    (["--resize", "64"], "--annotations FILE or --fps F"),
    (["--resize", "64", "--annotations", "{anno}"], "'beta' is not in"),
    (["--annotations", "{tmp}/missing.json"], "missing.json"),
])
def test_missing_timing_or_annotations(tmp_path, project_root, extra, needle):
    src = tmp_path / "src"
    src.mkdir()
    np.save(src / "alpha.npy", np.ones((5, 4), np.float32))
    np.save(src / "beta.npy", np.ones((5, 4), np.float32))
    anno = tmp_path / "anno.json"
    anno.write_text(json.dumps({"database": {"alpha": {"subset": "training", "duration": 2.0, "fps": 20.0,
                                                       "annotations": []}}}))
    extra = [e.format(anno=anno, tmp=tmp_path) for e in extra]
    res = run_cli(["--src", src, "--format", "npy", "--out", tmp_path / "out.h5", *extra], project_root)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert needle in res.stderr
    assert not (tmp_path / "out.h5").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


KILL_AT_SECOND_READ = killed_at_read("aher.data.import_features", 2)


def test_temporary_file_of_a_killed_import_is_removed_by_the_next(source, tmp_path, project_root):
    _, npy, _ = source
    out = tmp_path / "out.h5"
    args = ["--src", str(npy), "--format", "npy", "--out", str(out)]
    killed = subprocess.run([sys.executable, "-c", KILL_AT_SECOND_READ, *args], cwd=project_root,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in tmp_path.iterdir() if p.name.startswith("out.h5.tmp-")]
    assert len(left) == 1 and not out.exists()
    res = run_cli(args, project_root)
    assert res.returncode == 0, res.stderr
    assert f"removed {left[0]}" in res.stdout and not left[0].exists()
    with FeatureStore(out) as store:
        assert len(store) == 3


def test_temporary_files_of_running_processes_are_kept(tmp_path):
    from aher.data.import_features import remove_stale_temporaries

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as running:
        try:
            out = tmp_path / "store.h5"
            names = [f"store.h5.tmp-{dead}", f"store.h5.tmp-{running.pid}", "store.h5.tmp-notapid",
                     f"other.h5.tmp-{dead}"]
            for name in names:
                (tmp_path / name).write_bytes(b"partial")
            assert remove_stale_temporaries(out, log=lambda *a: None) == [tmp_path / names[0]]
            assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
        finally:
            running.kill()
