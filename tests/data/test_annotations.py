"""Tests of aher.data.annotations and aher.data.make_meta.

Part 1 parses every annotation file of ../shared/data with its reader and checks the counts of
shared/data/SOURCES.md (skipped when ../shared is absent); part 2 uses tiny hand-written files.
"""

import collections
import csv
import dataclasses
import errno
import json
import os

import pytest

from aher.cli import run_main
from aher.errors import UserError
from aher.data import make_meta
from aher.data.annotations import (AnnotationError, Instance, Video, anet_class_split, load_videos,
                                   read_actionformer_classes, read_actionformer_json, read_activitynet_json,
                                   read_bsn_annotations, read_class_list, read_k600_annotations,
                                   read_kinetics_csv, read_thumos_csv, write_activitynet_gt, write_class_list)
from aher.paths import PROJECT_ROOT
from evaluation.cli_common import OutputError

needs_shared = pytest.mark.needs_shared


def n_instances(videos, subset=None):
    return sum(len(v.instances) for v in videos if subset is None or v.subset == subset)


def all_labels(videos):
    return {label for v in videos for label in v.labels}


def assert_same_database(written_path, expected_path):
    """Same ids in the same order, same subsets, durations, segments and labels."""
    got = json.loads(written_path.read_text())["database"]
    want = json.loads(expected_path.read_text())["database"]
    assert list(got) == list(want)
    for vid, entry in want.items():
        mine = got[vid]
        assert mine["subset"] == entry["subset"], vid
        assert mine["duration"] == float(entry["duration"]), vid
        assert [(a["label"], [float(x) for x in a["segment"]]) for a in mine["annotations"]] == \
               [(a["label"], [float(x) for x in a["segment"]]) for a in entry["annotations"]], vid


# ============================================================================================
# part 1: the real files of ../shared/data


@pytest.fixture(scope="module")
def data(shared):
    return shared / "data"


@pytest.fixture(scope="module")
def bsn(data):
    return read_bsn_annotations(data / "activitynet/anet_anno_action.json",
                                data / "activitynet/video_info_new.csv")


@pytest.fixture(scope="module")
def k600(data):
    return read_k600_annotations(data / "ahernet/k600_val_annotation.txt", data / "ahernet/k600_category.txt")


@pytest.fixture(scope="module")
def thumos(data):
    return read_actionformer_json(data / "thumos14/thumos14.json")


@pytest.fixture(scope="module")
def thumos_classes(data):
    return read_actionformer_classes(data / "thumos14/thumos14.json")


@needs_shared
def test_bsn_counts(bsn, data):
    assert len(bsn) == 19228
    assert collections.Counter(v.subset for v in bsn) == {"training": 9649, "validation": 4728, "testing": 4851}
    assert n_instances(bsn) == 22152
    assert (n_instances(bsn, "training"), n_instances(bsn, "validation"), n_instances(bsn, "testing")) == \
           (14859, 7293, 0)
    assert len(all_labels(bsn)) == 200
    with open(data / "activitynet/video_info_new.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [v.video_id for v in bsn] == [r["video"] for r in rows]           # CSV order, v_ kept
    assert all(v.video_id.startswith("v_") for v in bsn)
    for v, r in zip(bsn[:200], rows[:200]):
        assert v.fps == float(r["rfps"]) and v.duration_frame == int(r["numFrame"])


@needs_shared
def test_bsn_frame_fields(bsn):
    by_id = {v.video_id: v for v in bsn}
    first = by_id["v_QOlSCBRmfWY"]
    assert (first.duration, first.duration_frame, first.feature_frame) == (82.730000000000004, 2067, 2064)
    assert first.covered_seconds == pytest.approx(2064 / 2067 * 82.73)
    assert first.instances[0] == Instance(6.195294851794072, 77.73085420904837, "Ballet")
    # one of the 23 videos where JSON feature_frame (4464) and CSV featureFrame (4448) differ: JSON wins
    assert by_id["v_-rwKyNnz89s"].feature_frame == 4464
    assert all(v.fps == pytest.approx(v.duration_frame / v.duration, rel=1e-6) for v in bsn)


@needs_shared
def test_bsn_val_equals_fixture_and_official_sample(bsn, shared, data, tmp_path):
    val = [dataclasses.replace(v, video_id=v.video_id[2:]) for v in bsn if v.subset == "validation"]
    out = tmp_path / "anet_val.json"
    write_activitynet_gt(val, out)
    assert_same_database(out, shared / "eval_fixtures/anet_val_gt.json")
    # the official sample submission is the full val GT with score 1.0
    sample = json.loads((data / "activitynet/sample_detection_prediction.json").read_text())["results"]
    assert len(sample) == 4926 and sum(map(len, sample.values())) == 7654
    for v in val:
        assert [(p["segment"], p["label"]) for p in sample[v.video_id]] == \
               [([i.start, i.end], i.label) for i in v.instances]


@needs_shared
def test_k600_counts_and_rules(k600, data):
    assert len(k600) == 6461
    assert n_instances(k600) == 9625
    rows = (data / "ahernet/k600_val_annotation.txt").read_text().splitlines()
    assert len(rows) == 9638 and len(rows) - n_instances(k600) == 13 == len(rows) - len(set(rows))
    assert len(all_labels(k600)) == 600
    assert {v.subset for v in k600} == {"validation"}
    two = next(v for v in k600 if v.video_id == "xnC3nngvLCo")
    assert two.labels == ["cracking_knuckles", "cracking_neck"] and two.duration == 98.0
    assert sum(len(v.labels) > 1 for v in k600) == 1
    assert k600[0].video_id == "bd6eUL9prjI" and k600[0].duration == 115.0     # ceil(109.17) + 5


@needs_shared
def test_k600_written_gt_equals_fixture(k600, shared, tmp_path):
    out = tmp_path / "k600_val_gt.json"
    write_activitynet_gt(k600, out)
    assert_same_database(out, shared / "eval_fixtures/k600_val_gt.json")


@needs_shared
def test_thumos14_actionformer(thumos, thumos_classes, shared, tmp_path):
    assert len(thumos) == 412
    assert collections.Counter(v.subset for v in thumos) == {"validation": 200, "test": 212}
    assert (n_instances(thumos, "validation"), n_instances(thumos, "test")) == (3007, 3358)
    assert len(all_labels(thumos)) == 20 and set(thumos_classes) == all_labels(thumos)
    assert collections.Counter(v.fps for v in thumos) == {30.0: 381, 29.97: 18, 25.0: 11, 24.0: 2}
    assert "video_test_0001292" not in {v.video_id for v in thumos}
    assert thumos_classes[:3] == ["BaseballPitch", "BasketballDunk", "Billiards"]
    test = [dataclasses.replace(v, subset="validation") for v in thumos if v.subset == "test"]
    out = tmp_path / "th14.json"
    write_activitynet_gt(test, out)
    assert_same_database(out, shared / "eval_fixtures/thumos14_test_gt.json")


@needs_shared
def test_gtad_thumos_gt_json(data):
    videos = read_activitynet_json(data / "thumos14/gtad_thumos_gt.json")     # string segments, no durations
    assert len(videos) == 410
    assert collections.Counter(v.subset for v in videos) == {"train": 200, "test": 210}
    assert n_instances(videos) == 6318 and len(all_labels(videos)) == 20
    ids = {v.video_id for v in videos}
    assert not ids & {"video_test_0000270", "video_test_0001292", "video_test_0001496"}
    first = videos[0]
    assert first.instances[0] == Instance(18.6, 24.8, "HighJump") and first.duration == 100.0   # ceil(94.8)+5


@needs_shared
def test_gtad_thumos_csvs(data, thumos, thumos_classes):
    val = read_thumos_csv(data / "thumos14/gtad_val_Annotation.csv")
    assert len(val) == 200 and {v.subset for v in val} == {"validation"}
    assert n_instances(val) == 3096 - 89 == 3007 and len(all_labels(val)) == 20
    val_all = read_thumos_csv(data / "thumos14/gtad_val_Annotation.csv", keep_ambiguous=True)
    assert n_instances(val_all) == 3096 and "Ambiguous" in all_labels(val_all)
    assert [v.duration for v in val_all] == [v.duration for v in val]
    test = read_thumos_csv(data / "thumos14/gtad_test_Annotation.csv")
    assert len(test) == 213 and n_instances(test) == 3457 - 99 == 3358
    assert [v for v in test if v.video_id == "video_test_0001292"][0].instances == []
    gt = read_thumos_csv(data / "thumos14/gtad_thumos14_test_groundtruth.csv", class_names=thumos_classes)
    assert len(gt) == 213 and n_instances(gt) == 3358
    assert {round(v.fps, 2) for v in gt} == {30.0, 29.97, 25.0, 24.0} and all(v.duration_frame for v in gt)
    # same test instances as ActionFormer's file (as multisets per video)
    af = {v.video_id: collections.Counter(v.instances) for v in thumos if v.subset == "test"}
    assert {v.video_id: collections.Counter(v.instances) for v in gt if v.instances} == af
    with pytest.raises(AnnotationError, match="class_names"):
        read_thumos_csv(data / "thumos14/gtad_thumos14_test_groundtruth.csv")


@needs_shared
def test_kinetics_csvs(data, k600):
    categories = read_class_list(data / "ahernet/k600_category.txt")
    old = read_kinetics_csv(data / "kinetics600/kinetics-600_val_2018-04.csv", underscore_labels=True)
    new = load_videos(data / "kinetics600/kinetics-600_val.csv", underscore_labels=True)
    for videos in (old, new):
        assert n_instances(videos) == 30000 and {v.subset for v in videos} == {"val"}
        assert all_labels(videos) == set(categories)
    assert len(new) == 29994
    k600_ids = {v.video_id for v in k600}
    assert k600_ids <= {v.video_id for v in old}
    assert len(k600_ids & {v.video_id for v in new}) == 3086
    assert " " in next(iter(all_labels(read_kinetics_csv(data / "kinetics600/kinetics-600_val.csv"))
                            - set(categories)))


@needs_shared
def test_class_lists(data, bsn):
    k600_names = read_class_list(data / "ahernet/k600_category.txt")
    assert len(k600_names) == 600
    assert k600_names.index("ironing_hair") < k600_names.index("ironing")          # file order kept
    anet_names = read_class_list(data / "ahernet/activitynet_category_name.txt")
    assert anet_names[:3] == ["Drinking coffee", "Zumba", "Doing kickboxing"]
    action_csv = read_class_list(data / "activitynet/action_name.csv")               # header skipped
    assert len(anet_names) == len(action_csv) == 200 and "action" not in action_csv
    assert set(anet_names) == set(action_csv) == all_labels(bsn)


@needs_shared
def test_anet_class_split_real(data, bsn):
    untrimmed, moment = anet_class_split(data / "activitynet/derived_anet_taxonomy_v1-3.json")
    assert (len(untrimmed), len(moment)) == (87, 113)
    assert untrimmed == sorted(untrimmed) and moment == sorted(moment)
    with open(data / "activitynet/derived_anet_class_split_87_113.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(untrimmed) == {r["class_name"] for r in rows if r["ahernet_split"] == "untrimmed_87"}
    assert set(moment) == {r["class_name"] for r in rows if r["ahernet_split"] == "moment_113"}
    assert set(untrimmed) | set(moment) == all_labels(bsn)
    assert anet_class_split(data / "activitynet/simple_activitynet_hierarchy.json") == (untrimmed, moment)


@needs_shared
def test_load_videos_auto_detects_every_file(data):
    checks = {
        "thumos14/thumos14.json": (412, 6365),
        "thumos14/gtad_thumos_gt.json": (410, 6318),
        "thumos14/gtad_val_Annotation.csv": (200, 3007),
        "thumos14/gtad_test_Annotation.csv": (213, 3358),
        "ahernet/k600_val_annotation.txt": (6461, 9625),
        "activitynet/anet_anno_action.json": (19228, 22152),
    }
    for rel, (n_videos, n_inst) in checks.items():
        videos = load_videos(data / rel)
        assert (len(videos), n_instances(videos)) == (n_videos, n_inst), rel
    assert load_videos(data / "thumos14/thumos14.json")[0].fps == 30.0                # actionformer branch
    for rel, match in [("activitynet/sample_detection_prediction.json", "prediction"),
                       ("activitynet/derived_anet_taxonomy_v1-3.json", "taxonomy"),
                       ("activitynet/video_info_new.csv", "video-info"),
                       ("ahernet/k600_category.txt", "class list")]:
        with pytest.raises(AnnotationError, match=match):
            load_videos(data / rel)


@needs_shared
def test_meta_lists_are_current_and_not_copies(shared, tmp_path, capsys):
    assert run_main(make_meta.main, ["--shared", str(shared), "--out", str(tmp_path)]) == 0
    meta = PROJECT_ROOT / "data" / "meta"
    expected = {"anet_untrimmed_87.txt": 87, "anet_moment_113.txt": 113,
                "anet_classes_200.txt": 200, "thumos14_classes_20.txt": 20}
    readme = (meta / "README.md").read_text()
    for name, count in expected.items():
        fresh = (tmp_path / name).read_bytes()
        assert (meta / name).read_bytes() == fresh, f"data/meta/{name} is stale: rerun make_meta"
        assert len(read_class_list(meta / name)) == count
        assert make_meta.identical_shared_files(fresh, shared) == []
        assert name in readme
    assert not list(tmp_path.glob(".*.tmp"))                   # no temporary file left behind


# ============================================================================================
# part 2: tiny hand-written files


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_video_properties():
    v = Video("a", 100.0, "training", [Instance(1, 2, "X"), Instance(3, 4, "Y"), Instance(5, 6, "X")])
    assert v.labels == ["X", "Y"] and v.covered_seconds == 100.0
    v2 = Video("b", 10.0, "training", [], duration_frame=300, feature_frame=288)
    assert v2.covered_seconds == pytest.approx(9.6) and v2.labels == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.instances[0].start = 0.0


def test_activitynet_json_tiny(tmp_path):
    path = write_json(tmp_path / "gt.json", {
        "version": "x", "taxonomy": [{"nodeId": 0}],
        "database": {
            "a": {"subset": "Training", "duration": 60, "annotations": [{"segment": [1, 2.5], "label": "X"}]},
            "b": {"subset": "test", "annotations": [{"segment": ["3.5", " 10.2 "], "label": "Y"},
                                                     {"segment": ["0", "0"], "label": "X"}]},
            "c": {"subset": "testing", "duration": "12.5", "annotations": [], "fps": 25},
        }})
    a, b, c = read_activitynet_json(path)
    assert a == Video("a", 60.0, "training", [Instance(1.0, 2.5, "X")])
    assert b.duration == 16.0 and b.instances == [Instance(3.5, 10.2, "Y"), Instance(0.0, 0.0, "X")]
    assert c.duration == 12.5 and c.fps == 25.0 and c.instances == []
    assert load_videos(path) == [a, b, c]


def test_round_trip(tmp_path):
    videos = [Video("v1", 30.5, "validation", [Instance(0.0, 3.25, "Zumba"), Instance(4.0, 30.0, "Ballet")]),
              Video("v0", 12.0, "training", []),
              Video("v2", 7.0, "testing", [Instance(1.0, 1.0, "Café")])]
    out = tmp_path / "sub" / "gt.json"
    write_activitynet_gt(videos, out, version="test", taxonomy=[{"nodeId": 0}])
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == "test" and doc["taxonomy"] == [{"nodeId": 0}]
    assert doc["database"]["v1"] == {"subset": "validation", "duration": 30.5, "annotations": [
        {"segment": [0.0, 3.25], "label": "Zumba"}, {"segment": [4.0, 30.0], "label": "Ballet"}]}
    assert read_activitynet_json(out) == videos
    assert os.listdir(out.parent) == ["gt.json"]
    write_activitynet_gt(videos[:1], out)
    assert json.loads(out.read_text())["taxonomy"] == [] and len(read_activitynet_json(out)) == 1
    with pytest.raises(AnnotationError, match="v1.*twice"):
        write_activitynet_gt(videos + videos[:1], out)


def test_write_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "gt.json"
    out.write_text("old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RuntimeError):
        write_activitynet_gt([Video("a", 1.0, "training", [])], out)
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["gt.json"]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError) as info:
        write_class_list(["a", "b"], out)
    assert str(info.value).startswith(f"{out}: cannot write: no space left") and "\n" not in str(info.value)
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["gt.json"]


def test_bsn_tiny(tmp_path):
    anno = write_json(tmp_path / "anno.json", {
        "v_b": {"duration_second": 20.0, "duration_frame": 500, "feature_frame": 496,
                "annotations": [{"segment": [2.0, 8.0], "label": "X"}]},
        "v_a": {"duration_second": 10.0, "annotations": []},
        "v_only_json": {"duration_second": 5.0, "annotations": []},
    })
    info = tmp_path / "video_info_new.csv"
    info.write_text("video,numFrame,seconds,fps,rfps,subset,featureFrame\n"
                    "v_a,300,10.0,30.0,30.0,Testing,288\n"
                    "v_missing,100,4.0,25.0,25.0,training,96\n"
                    "v_b,500,20.0,25.0,25.0,training,480\n")
    a, b = read_bsn_annotations(anno, info)
    assert a == Video("v_a", 10.0, "testing", [], fps=30.0, duration_frame=300, feature_frame=288)
    assert b == Video("v_b", 20.0, "training", [Instance(2.0, 8.0, "X")], fps=25.0,
                      duration_frame=500, feature_frame=496)                       # JSON wins
    assert load_videos(anno) == [a, b]                                             # sibling CSV
    assert load_videos(anno, fmt="bsn", video_info_csv=info) == [a, b]
    info.write_text("video,subset\nv_b,training\n")                                # minimal CSV
    (b2,) = read_bsn_annotations(anno, info)
    assert b2.fps == 25.0 and b2.feature_frame == 496


def test_actionformer_tiny(tmp_path):
    doc = {"version": "x", "database": {
        "video_validation_1": {"subset": "Validation", "duration": 30.0, "fps": 29.97, "annotations": [
            {"label": "B", "label_id": 1, "segment": [1.0, 2.0], "segment(frames)": [30, 60]}]},
        "video_test_1": {"subset": "Test", "duration": 40.0, "fps": 30, "annotations": [
            {"label": "A", "label_id": 0, "segment": [3.0, 4.0]}]}}}
    path = write_json(tmp_path / "af.json", doc)
    v, t = read_actionformer_json(path)
    assert (v.subset, v.fps, t.subset, t.fps) == ("validation", 29.97, "test", 30.0)
    assert read_actionformer_classes(path) == ["A", "B"]
    assert load_videos(path) == [v, t]
    doc["database"]["video_test_1"]["annotations"][0]["label_id"] = 1
    with pytest.raises(AnnotationError, match="video_test_1.*label_id 1"):
        read_actionformer_json(write_json(tmp_path / "bad.json", doc))
    del doc["database"]["video_test_1"]["fps"]
    with pytest.raises(AnnotationError, match="video_test_1: missing field 'fps'"):
        read_actionformer_json(write_json(tmp_path / "bad2.json", doc))


def test_k600_tiny(tmp_path):
    cats = tmp_path / "k600_category.txt"
    cats.write_text("abseiling\nacting_in_play\n")
    txt = tmp_path / "k600_val_annotation.txt"
    txt.write_text("vid1\t10.5\t20.25\t0\n"
                   "vid2\t1\t2\t1\n"
                   "vid1\t10.5\t20.25\t0\n"          # exact duplicate: dropped
                   "vid1\t10.50\t20.25\t0\n"         # same values: dropped too
                   "vid1\t30\t31.2\t1\n"             # same id, other class: kept
                   "vid1\t10.5\t20.25\t1\n"          # same times, other class: kept
                   "\n")
    v1, v2 = read_k600_annotations(txt, cats)
    assert v1 == Video("vid1", 37.0, "validation", [Instance(10.5, 20.25, "abseiling"),
                                                   Instance(30.0, 31.2, "acting_in_play"),
                                                   Instance(10.5, 20.25, "acting_in_play")])
    assert v1.labels == ["abseiling", "acting_in_play"]
    assert v2 == Video("vid2", 7.0, "validation", [Instance(1.0, 2.0, "acting_in_play")])
    assert load_videos(txt) == [v1, v2]
    txt.write_text("vid1\t10\t20\t2\n")
    with pytest.raises(AnnotationError, match=r"line 1: video vid1: class_idx 2 is not in 0\.\.1"):
        read_k600_annotations(txt, cats)
    txt.write_text("vid1\t10\t20\t0\nvid2 10 20 0\n")
    with pytest.raises(AnnotationError, match="line 2: expected 4 tab-separated fields"):
        read_k600_annotations(txt, cats)


def test_thumos_and_kinetics_csv_tiny(tmp_path):
    path = tmp_path / "val_Annotation.csv"
    path.write_text("video,type,type_idx,start,end,startFrame,endFrame\n"
                    "video_validation_9,Diving,26,1.0,2.0,30,60\n"
                    "video_validation_9,Ambiguous,0,3.0,12.2,90,366\n"
                    "video_test_3,Ambiguous,0,0.0,4.0,0,120\n")
    v, t = read_thumos_csv(path)
    assert v == Video("video_validation_9", 18.0, "validation", [Instance(1.0, 2.0, "Diving")])
    assert t == Video("video_test_3", 9.0, "test", [])
    assert read_thumos_csv(path, keep_ambiguous=True, subset="Train")[0].subset == "train"
    gt = tmp_path / "gt.csv"
    gt.write_text("video-name,t-init,t-end,f-init,f-end,video-duration,frame-rate,video-frames,label-idx\n"
                  "video_test_1,1.0,2.0,30,60,50.5,30.0,1515,1\n"
                  "video_test_1,3.0,4.0,90,120,50.5,30.0,1515,-1\n")
    (g,) = read_thumos_csv(gt, class_names=["A", "B"])
    assert g == Video("video_test_1", 50.5, "test", [Instance(1.0, 2.0, "B")], fps=30.0, duration_frame=1515)
    gt.write_text(gt.read_text() + "video_test_1,5.0,6.0,150,180,60.0,30.0,1515,0\n")
    with pytest.raises(AnnotationError, match="line 4: video video_test_1: duration"):
        read_thumos_csv(gt, class_names=["A", "B"])
    kin = tmp_path / "k.csv"
    kin.write_text("label,youtube_id,time_start,time_end,split\n"
                   "playing chess,y1,10,20,val\nplaying chess,y1,10,20,val\ncooking egg,y1,40,50,val\n"
                   "tai chi,y2,0,10,val\n")
    y1, y2 = load_videos(kin)
    assert y1 == Video("y1", 55.0, "val", [Instance(10.0, 20.0, "playing chess"),
                                          Instance(40.0, 50.0, "cooking egg")])
    assert read_kinetics_csv(kin, underscore_labels=True)[1].labels == ["tai_chi"]


def test_class_list_tiny(tmp_path):
    path = tmp_path / "names.txt"
    path.write_bytes(b"Zumba\r\n  Ballet \r\n\r\nArm wrestling\n")
    assert read_class_list(path) == ["Zumba", "Ballet", "Arm wrestling"]
    csv_path = tmp_path / "names.csv"
    csv_path.write_text('action\nZumba\n"Sports, and more"\n')
    assert read_class_list(csv_path) == ["Zumba", "Sports, and more"]
    path.write_text("A\nB\nA\n")
    with pytest.raises(AnnotationError, match="line 3: class 'A' already on line 1"):
        read_class_list(path)
    out = tmp_path / "out" / "list.txt"
    write_class_list(["b", "a"], out)
    assert out.read_text() == "b\na\n" and read_class_list(out) == ["b", "a"]
    with pytest.raises(AnnotationError, match="invalid class name"):
        write_class_list(["ok", "bad\nname"], out)


def taxonomy_nodes():
    return [
        {"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None},
        {"nodeId": 1, "nodeName": "Sports, Exercise, and Recreation", "parentId": 0},
        {"nodeId": 2, "nodeName": "Household Activities", "parentId": 0},
        {"nodeId": 3, "nodeName": "Playing sports ", "parentId": 1},
        {"nodeId": 10, "nodeName": "Zumba", "parentId": 1},
        {"nodeId": 11, "nodeName": "Archery", "parentId": 3},
        {"nodeId": 12, "nodeName": "Ironing clothes", "parentId": 2},
        {"nodeId": 13, "nodeName": "BMX", "parentId": 3},
    ]


def test_anet_class_split_tiny(tmp_path):
    expected = (["Archery", "BMX", "Zumba"], ["Ironing clothes"])
    nodes = taxonomy_nodes()
    assert anet_class_split(write_json(tmp_path / "t.json", {"taxonomy": nodes})) == expected
    assert anet_class_split(nodes) == expected
    assert anet_class_split({str(n["nodeId"]): n for n in nodes}) == expected       # ovqa dict shape
    assert anet_class_split(nodes, untrimmed_top_node="Household Activities") == expected[::-1]
    with pytest.raises(AnnotationError, match="no top-level node 'Nope'"):
        anet_class_split(nodes, untrimmed_top_node="Nope")
    cyclic = taxonomy_nodes()
    cyclic[3] = dict(cyclic[3], parentId=11)
    with pytest.raises(AnnotationError, match="cycle"):
        anet_class_split(cyclic)
    with pytest.raises(AnnotationError, match="parentId 99"):
        anet_class_split(nodes + [{"nodeId": 20, "nodeName": "Lost", "parentId": 99}])


# --------------------------------------------------------------------------------------------
# error cases: one line, naming the file and the video/field


def one_line_error(func, *args, **kwargs) -> str:
    with pytest.raises(AnnotationError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert isinstance(info.value, UserError)
    return message


GOOD_ENTRY = {"subset": "training", "duration": 10.0, "annotations": [{"segment": [1.0, 2.0], "label": "X"}]}


@pytest.mark.parametrize("entry, expected", [
    ({"duration": 10.0, "annotations": []}, "video vidX: missing field 'subset'"),
    ({"subset": "training", "duration": 10.0}, "video vidX: missing field 'annotations'"),
    (dict(GOOD_ENTRY, annotations=[{"segment": ["a", 2.0], "label": "X"}]),
     "video vidX: annotation 0: segment start: not a number: 'a'"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [1.0, 2.0], "label": "X"}, {"segment": [5.0, 3.0], "label": "X"}]),
     "video vidX: annotation 1: segment end 3.0 is before start 5.0"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [1.0, 2.0, 3.0], "label": "X"}]),
     "video vidX: annotation 0: 'segment' must be [start, end]"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [-1.0, 2.0], "label": "X"}]),
     "video vidX: annotation 0: segment start -1.0 is negative"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [1.0, "nan"], "label": "X"}]),
     "video vidX: annotation 0: segment end: not a finite number"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [1.0, 2.0]}]), "video vidX: annotation 0: missing field 'label'"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [1.0, 2.0], "label": 7}]),
     "video vidX: annotation 0: label must be a non-empty string"),
    (dict(GOOD_ENTRY, duration=0), "video vidX: duration: must be > 0"),
    (dict(GOOD_ENTRY, duration=True), "video vidX: duration: expected a number"),
    ({"subset": "testing", "annotations": []}, "video vidX: no 'duration' and no annotations"),
    (dict(GOOD_ENTRY, annotations=[{"segment": [1.0, 2.0], "label": "X"}, "oops"]),
     "video vidX: annotation 1: expected an object"),
])
def test_activitynet_errors(tmp_path, entry, expected):
    path = write_json(tmp_path / "bad.json", {"database": {"ok": GOOD_ENTRY, "vidX": entry}})
    message = one_line_error(read_activitynet_json, path)
    assert message.startswith(f"{path}: ") and expected in message


def test_file_level_errors(tmp_path):
    missing = tmp_path / "missing.json"
    assert one_line_error(read_activitynet_json, missing) == f"{missing}: no such file"
    bad = tmp_path / "bad.json"
    bad.write_text('{"database": {"a": \n {"subset": "x",, }}}')
    assert "malformed JSON" in one_line_error(read_activitynet_json, bad) and "line 2" in \
           one_line_error(read_activitynet_json, bad)
    bad.write_text('{"database": {"a": {"subset": "x", "annotations": []}, "a": {}}}')
    assert "duplicate key 'a'" in one_line_error(read_activitynet_json, bad)
    bad.write_text('{"version": "1"}')
    assert one_line_error(read_activitynet_json, bad) == f"{bad}: missing field 'database'"
    bad.write_text("[1, 2]")
    assert "top level" in one_line_error(read_activitynet_json, bad)
    bad.write_bytes(b'{"database": "\xff"}')
    assert "not UTF-8" in one_line_error(read_activitynet_json, bad)
    assert "is a directory" in one_line_error(read_activitynet_json, tmp_path)
    cats = tmp_path / "cats.txt"
    cats.write_text("a\n")
    assert one_line_error(read_k600_annotations, tmp_path / "nope.txt", cats).endswith("nope.txt: no such file")
    csv_path = tmp_path / "v.csv"
    csv_path.write_text("video,subset\nv_a,training\n")
    anno = write_json(tmp_path / "anno.json", {"v_a": {"annotations": []}})
    assert one_line_error(read_bsn_annotations, anno, csv_path) == \
           f"{anno}: video v_a: missing field 'duration_second'"
    csv_path.write_text("video,numFrame\nv_a,3\n")
    assert "missing column(s) subset" in one_line_error(read_bsn_annotations, anno, csv_path)
    csv_path.write_text("video,subset\nv_a,training,extra\n")
    assert "line 2: expected 2 fields, got 3" in one_line_error(read_bsn_annotations, anno, csv_path)


def test_load_videos_errors(tmp_path):
    odd = tmp_path / "gt.yaml"
    odd.write_text("a: 1\n")
    assert "unknown extension '.yaml'" in one_line_error(load_videos, odd)
    assert one_line_error(load_videos, tmp_path / "x.dat") == f"{tmp_path / 'x.dat'}: no such file"
    assert "unknown annotation format 'xml'" in one_line_error(load_videos, odd, fmt="xml")
    js = write_json(tmp_path / "x.json", {"foo": 1})
    assert "cannot tell the annotation format of this JSON (top-level keys 'foo'): an ActivityNet-style ground " \
           "truth has a 'database' object of videos" in one_line_error(load_videos, js)
    listed = write_json(tmp_path / "list.json", [1, 2])
    assert "(a JSON list at the top level)" in one_line_error(load_videos, listed)
    assert "'database' must map video ids to their entries, got [1]" in one_line_error(
        load_videos, write_json(tmp_path / "db.json", {"database": [1]}))
    other = tmp_path / "x.csv"
    other.write_text("a,b\n1,2\n")
    assert "cannot tell the annotation format from header 'a,b'" in one_line_error(load_videos, other)
    gt = write_json(tmp_path / "gt.json", {"database": {"a": GOOD_ENTRY}})
    assert "do not apply to format 'activitynet'" in one_line_error(load_videos, gt, video_info_csv="x.csv")
    bsn = write_json(tmp_path / "anno.json", {"v_a": {"duration_second": 1.0, "annotations": []}})
    assert "pass video_info_csv=" in one_line_error(load_videos, bsn)
    txt = tmp_path / "ann.txt"
    txt.write_text("a\t1\t2\t0\n")
    assert "pass category_txt=" in one_line_error(load_videos, txt)


def test_make_meta_reports_missing_shared(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run_main(make_meta.main, ["--shared", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "reference folder not found" in err
