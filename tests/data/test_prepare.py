"""``python -m aher.data.prepare``: a whole real-data folder from GT files, a feature folder and a class split."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from aher.data.annotations import read_activitynet_json, read_class_list
from aher.data.dataset_files import FILES
from aher.data.features import FeatureStore, FeatureStoreWriter, resize
from aher.data.prepare import main
from aher.errors import UserError
from tests.data.fake_real_data import EXPECTED, FPS, MOMENT, killed_at_read, write_fake_inputs

DIM = 32


@pytest.fixture
def inputs(tmp_path, project_root):
    paths = write_fake_inputs(tmp_path / "in", dim=DIM)
    paths["untrimmed_list"] = project_root / "data" / "meta" / "anet_classes_200.txt"
    return paths


def prepare_args(paths, out, *extra):
    args = []
    for gt in paths["gt"]:
        args += ["--gt", str(gt)]
    return args + ["--features", str(paths["features"]), "--classes-untrimmed", str(paths["untrimmed_list"]),
                   "--classes-moment", str(paths["category"]), "--out", str(out), *map(str, extra)]


def listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_every_file_of_the_folder(inputs, tmp_path, capsys):
    out = tmp_path / "k600"
    assert main(prepare_args(inputs, out)) == 0
    printed = capsys.readouterr().out
    assert "left out: 1 video of subset 'testing'; 1 video with no class of either list; " \
           "1 instance of classes outside their video's set" in printed
    assert listing(out) == sorted(FILES.values())
    gt = {v.video_id: v for v in read_activitynet_json(out / "gt.json")}
    training = [v for v in gt.values() if v.subset == "training"]
    validation = [v for v in gt.values() if v.subset == "validation"]
    assert len(training) == EXPECTED["untrimmed_train"] + EXPECTED["moment_train"]
    assert sorted(v.video_id for v in validation) == [f"kval{k:02d}" for k in range(4)]
    assert [i.label for i in gt["mixed00"].instances] == ["Long jump"]               # unlisted instance dropped
    assert "other00" not in gt and "atest00" not in gt
    untrimmed_eval = read_activitynet_json(out / "gt_untrimmed.json")
    assert sorted(v.video_id for v in untrimmed_eval) == ["aval00", "aval01"]
    assert {v.subset for v in untrimmed_eval} == {"validation"}
    assert read_class_list(out / "classes_moment.txt") == MOMENT
    assert len(read_class_list(out / "classes_untrimmed.txt")) == 200
    with FeatureStore(out / "untrimmed_train.h5") as store:
        assert len(store) == EXPECTED["untrimmed_train"] and store.dim == DIM
        raw = np.load(inputs["features"] / "anet00.npy")
        duration = gt["anet00"].duration
        want = resize(raw, raw.shape[0] * 8, duration, 512)         # no fps in the GT: the features span the video
        np.testing.assert_allclose(store.get("anet00"), want, rtol=2e-3, atol=2e-3)
        assert store.meta("anet00")["subset"] == "training" and store.meta("anet00")["n_features"] == raw.shape[0]
    with FeatureStore(out / "foreground_train.h5") as store:
        assert store.ids() and all(store.shape(i) == (512, DIM) for i in store.ids())
        assert all(store.meta(i)["n_features"] >= 32 for i in store.ids())
        assert {store.meta(i)["video"] for i in store.ids()} <= {v.video_id for v in training}
    with FeatureStore(out / "moments_train.h5") as store:
        assert sorted(store.ids()) == [f"clip{k:02d}#0" for k in range(9)]
        assert store.shape("clip00#0") == (256, DIM) and store.meta("clip03#0")["label"] == MOMENT[0]
        assert store.meta("clip00#0")["n_features"] == round(10.0 * FPS / 8)        # the whole clip
    for key, n in (("oracle_train", 9), ("eval", 4), ("eval_untrimmed", 2)):
        with FeatureStore(out / FILES[key]) as store:
            assert len(store) == n and store.shape(store.ids()[0]) == (512, DIM)


def test_folder_opens_as_a_dataset_and_streams(inputs, tmp_path):
    from aher.data.pipeline import eval_dataset, untrimmed_dataset
    from aher.datasets import FILES as ALL, open_dataset

    out = tmp_path / "k600"
    main(prepare_args(inputs, out))
    dataset = open_dataset("k600", "real", "unused", "small", 0, (), str(out), DIM, needed=tuple(ALL))
    assert {k: len(v) for k, v in dataset.classes.items()} == {"untrimmed": 200, "moment": 3}
    untrimmed_dataset(dataset.path("untrimmed_train"), dataset.videos, dataset.classes["untrimmed"], 2)
    eval_dataset(dataset.path("eval"), dataset.videos, dataset.classes["moment"])
    eval_dataset(dataset.path("eval_untrimmed"), dataset.untrimmed_eval_videos, dataset.classes["untrimmed"])


def test_skip_missing_leaves_videos_out_of_every_file(inputs, tmp_path, capsys):
    (inputs["features"] / "kval00.npy").unlink()
    (inputs["features"] / "anet03.npy").unlink()
    out = tmp_path / "k600"
    with pytest.raises(UserError, match=r"2 of the 24 selected GT videos have no features .*--skip-missing"):
        main(prepare_args(inputs, out))
    assert listing(out) == []
    assert main(prepare_args(inputs, out, "--skip-missing")) == 0
    assert "2 videos without features" in capsys.readouterr().out
    ids = {v.video_id for v in read_activitynet_json(out / "gt.json")}
    assert "kval00" not in ids and "anet03" not in ids and "kval01" in ids
    with FeatureStore(out / "eval.h5") as store:
        assert "kval00" not in store and len(store) == 3


def test_a_video_with_classes_of_both_sets_goes_with_its_first_listed_label(inputs, tmp_path, capsys):
    anet = json.loads(inputs["anet"].read_text())["database"]
    anet["mixed00"]["annotations"] = [{"segment": [1.0, 2.0], "label": "Unlisted class"},
                                      {"segment": [3.0, 20.0], "label": "archery"},
                                      {"segment": [30.0, 40.0], "label": "Long jump"}]
    _write_json(inputs["anet"], anet)
    out = tmp_path / "k600"
    main(prepare_args(inputs, out))
    assert "2 instances of classes outside their video's set" in capsys.readouterr().out
    mixed = {v.video_id: v for v in read_activitynet_json(out / "gt.json")}["mixed00"]
    assert [i.label for i in mixed.instances] == ["archery"]
    with FeatureStore(out / "oracle_train.h5") as store:
        assert "mixed00" in store


def test_optional_files_of_an_earlier_run_are_removed(inputs, tmp_path, capsys):
    out = tmp_path / "k600"
    main(prepare_args(inputs, out))
    assert (out / "eval_untrimmed.h5").is_file()
    main(prepare_args(inputs, out, "--untrimmed-eval-subset", "none"))
    printed = capsys.readouterr().out
    assert "2 videos of subset 'validation' (untrimmed-set classes)" in printed
    assert f"removed {out / 'eval_untrimmed.h5'}" in printed
    assert listing(out) == sorted(set(FILES.values()) - {"eval_untrimmed.h5", "gt_untrimmed.json"})


def _write_json(path, database):
    path.write_text(json.dumps({"database": database}))
    return path


BAD = {
    "shared class": "{category}: class 'Long jump' is also in",
    "missing field": "{anet}: video anet00: missing field 'subset'",
    "duplicate id": "{clips}: video anet00 is also in {anet}",
    "nan features": "anet02.npy: row 3: NaN or inf value",
    "other width": "kval01.npy: feature dim 7, but",
    "same subsets": "--train-subset and --eval-subset are both 'training'",
    "no eval videos": "no video of subset 'val' has a class of {category} (subsets in the GT: testing, training, validation)",
    "short instances": "foreground_train.h5: none of the 9 training videos of the untrimmed-set classes has an instance of "
                       "at least 32 features",
    "bad length": "--length must be a power of two >= 8",
    "no features at all": "none of the 24 selected GT videos has features (e.g. 'anet00'",
    "resized store": "features were resized to 64 steps",
    "bad class list": "{category}: line 3: class 'abseiling' already on line 1",
    "no duration": "video 'anet00': no 'duration', and the features of",
}


def _break(case, paths, tmp_path):
    """Make input ``case`` bad; returns extra arguments."""
    anet = json.loads(paths["anet"].read_text())["database"]
    if case == "shared class":
        paths["category"].write_text("abseiling\nLong jump\n")
    elif case == "missing field":
        del anet["anet00"]["subset"]
        _write_json(paths["anet"], anet)
    elif case == "duplicate id":
        clips = json.loads(paths["clips"].read_text())["database"]
        clips["anet00"] = clips.pop("clip00")
        _write_json(paths["clips"], clips)
    elif case == "nan features":
        feats = np.load(paths["features"] / "anet02.npy")
        feats[3, 5] = np.nan
        np.save(paths["features"] / "anet02.npy", feats)
    elif case == "other width":
        np.save(paths["features"] / "kval01.npy", np.ones((40, 7), np.float32))
    elif case == "same subsets":
        return ["--eval-subset", "training"]
    elif case == "no eval videos":
        return ["--eval-subset", "val", "--untrimmed-eval-subset", "validation"]
    elif case == "short instances":
        for entry in anet.values():
            for ann in entry["annotations"]:
                ann["segment"][1] = ann["segment"][0] + 5.0               # 19 features < 32
        _write_json(paths["anet"], anet)
    elif case == "bad length":
        return ["--length", "100"]
    elif case == "no features at all":
        return ["--features", str(_renamed_features(paths, tmp_path))]
    elif case == "resized store":
        store = tmp_path / "resized.h5"
        with FeatureStoreWriter(store, DIM, attrs={"resized": 64}) as writer:
            writer.add("anet00", np.ones((64, DIM)))
        return ["--features", str(store)]
    elif case == "bad class list":
        paths["category"].write_text("abseiling\narchery\nabseiling\n")
    elif case == "no duration":
        del anet["anet00"]["duration"]
        _write_json(paths["anet"], anet)
    return []


def _renamed_features(paths, tmp_path):
    folder = tmp_path / "prefixed"
    folder.mkdir()
    for path in paths["features"].iterdir():
        (folder / f"v_{path.name}").write_bytes(path.read_bytes())
    return folder


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs_are_one_line_errors_and_leave_the_folder_as_it_was(inputs, tmp_path, case):
    out = tmp_path / "k600"
    main(prepare_args(inputs, out))
    before = snapshot(out)
    extra = _break(case, inputs, tmp_path)
    with pytest.raises(UserError) as err:
        main(prepare_args(inputs, out, *extra))
    message = str(err.value)
    assert "\n" not in message
    assert BAD[case].format(anet=inputs["anet"], clips=inputs["clips"], category=inputs["category"]) in message
    assert snapshot(out) == before                                   # nothing replaced, no temporary file


def test_command_line_error_is_one_line_with_exit_code_2(inputs, tmp_path, project_root):
    np.save(inputs["features"] / "clip04.npy", np.full((20, DIM), np.inf, np.float32))
    res = subprocess.run([sys.executable, "-m", "aher.data.prepare", *prepare_args(inputs, tmp_path / "k600")],
                         cwd=project_root, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "clip04.npy: row 0: NaN or inf value" in lines[0]
    assert [p for p in (tmp_path / "k600").iterdir()] == []


KILL_AT_FIFTH_READ = killed_at_read("aher.data.prepare", 5)


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(inputs, tmp_path, project_root):
    out = tmp_path / "k600"
    killed = subprocess.run([sys.executable, "-c", KILL_AT_FIFTH_READ, *prepare_args(inputs, out)],
                            cwd=project_root, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    left = listing(out)
    assert left and all(".tmp-" in name for name in left)           # no store was moved into place
    res = subprocess.run([sys.executable, "-m", "aher.data.prepare", *prepare_args(inputs, out)],
                         cwd=project_root, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("temporary file of an interrupted run") == len(left)
    assert listing(out) == sorted(FILES.values())


def test_real_activitynet_videos_with_the_87_113_split(shared, project_root, tmp_path, capsys):
    """A few real ActivityNet videos (BSN annotation files read by path), fake features, ANet-UN -> ANet-AM."""
    from aher.data.annotations import load_videos
    from tests.data.fake_real_data import write_features

    anno = shared / "data" / "activitynet" / "anet_anno_action.json"
    videos = load_videos(anno)
    meta = project_root / "data" / "meta"
    untrimmed, moment = set(read_class_list(meta / "anet_untrimmed_87.txt")), set(read_class_list(meta / "anet_moment_113.txt"))

    def pick(subset, classes, n):
        chosen = [v for v in videos if v.subset == subset and v.labels and set(v.labels) <= classes
                  and min(i.end - i.start for i in v.instances) > 10 and v.duration < 150]
        return chosen[:n]

    picked = pick("training", untrimmed, 3) + pick("training", moment, 3) + pick("validation", moment, 2) \
        + pick("validation", untrimmed, 1)
    write_features(tmp_path / "features", {v.video_id: v.duration for v in picked}, 16, 0)
    out = tmp_path / "anet_split"
    assert main(["--gt", str(anno), "--features", str(tmp_path / "features"),
                 "--classes-untrimmed", str(meta / "anet_untrimmed_87.txt"),
                 "--classes-moment", str(meta / "anet_moment_113.txt"), "--out", str(out), "--skip-missing"]) == 0
    assert "videos without features" in capsys.readouterr().out
    gt = {v.video_id: v for v in read_activitynet_json(out / "gt.json")}
    assert sorted(gt) == sorted(v.video_id for v in picked[:8])
    with FeatureStore(out / "eval.h5") as store:
        assert sorted(store.ids()) == sorted(v.video_id for v in picked[6:8])
    with FeatureStore(out / "moments_train.h5") as store:
        assert {store.meta(i)["video"] for i in store.ids()} == {v.video_id for v in picked[3:6]}
    assert [v.video_id for v in read_activitynet_json(out / "gt_untrimmed.json")] == [picked[8].video_id]


def test_a_gt_video_without_duration_takes_it_from_its_features_and_the_fps(inputs, tmp_path):
    """Every store and gt.json: the same as with the duration given as rows x 8 / fps."""
    rows = np.load(inputs["features"] / "anet00.npy").shape[0]
    anet = json.loads(inputs["anet"].read_text())["database"]
    anet["anet00"]["duration"] = rows * 8 / 25
    _write_json(inputs["anet"], anet)
    given = tmp_path / "given"
    assert main(prepare_args(inputs, given, "--fps", "25")) == 0
    del anet["anet00"]["duration"]
    _write_json(inputs["anet"], anet)
    out = tmp_path / "k600"
    assert main(prepare_args(inputs, out, "--fps", "25")) == 0
    gt = {v.video_id: v for v in read_activitynet_json(out / "gt.json")}
    assert gt["anet00"].duration == pytest.approx(rows * 8 / 25) and not gt["anet00"].duration_missing
    assert (out / "gt.json").read_text() == (given / "gt.json").read_text()
    for name in ("untrimmed_train.h5", "foreground_train.h5"):
        with FeatureStore(out / name) as store, FeatureStore(given / name) as other:
            ids = [i for i in store.ids() if i.split("#")[0] == "anet00"]
            assert ids and ids == [i for i in other.ids() if i.split("#")[0] == "anet00"]
            for i in ids:
                assert store.meta(i) == other.meta(i)
                np.testing.assert_array_equal(store.get(i), other.get(i))


def test_a_listed_class_without_training_videos_is_a_warning(inputs, tmp_path, capsys):
    classes = inputs["category"].read_text().splitlines()
    inputs["category"].write_text("\n".join([classes[0].upper(), *classes[1:]]) + "\n")
    assert main(prepare_args(inputs, tmp_path / "k600")) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if str(inputs["category"]) in line]
    assert len(err) == 1 and err[0].startswith(f"warning: {inputs['category']}: 1 of {len(classes)} classes have no "
                                               "training video in the GT")
    assert err[0].endswith(repr(classes[0].upper()))
