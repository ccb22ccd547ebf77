"""Synthetic benchmark (aher.data.synthetic, its CLI python -m aher.data.synthesize, layout_fit):
determinism, on-disk layout of the contract, GT consistency, real layouts, the paper-scale code
path, the knob overrides, the CLI and the sanity report.  Everything runs at ``tiny`` scale
(whole file: a few seconds)."""

import hashlib
import json
import math
import re
import time

import h5py
import numpy as np
import pytest
import yaml

from aher.errors import UserError
from aher.data.annotations import load_videos, read_activitynet_json, read_class_list
from aher.data.features import FeatureStore, resize
from aher.data.synthetic import (FILES, GENERATOR_VERSION, KNOBS, LAYOUT_PARAMS, SETTINGS, LayoutSource, World,
                                 build_dataset, load_layout_params, make_plan, render_features,
                                 resolve_config, roles_for, video_rng, write_folder_atomically)
from aher.data.synthetic import writer
from aher.data.synthetic.cli import main as synthesize_main
from aher.data.synthetic.diagnostics import PROFILE_RADIUS, diagnostics
from aher.data.synthetic.probes import effective_rank, fit_probe, roc_auc
from aher.data.synthetic.realism import feature_stores, realism, realism_checks

QUIET = {"progress": False, "log": lambda *a: None}
STORES = ("untrimmed_train", "foreground_train", "moments_train", "eval", "oracle_train", "eval_untrimmed")


def _digests(folder):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES.values()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The three settings at tiny scale, seed 0 (built once for the module)."""
    root = tmp_path_factory.mktemp("syn")
    return {s: build_dataset(s, "tiny", root, seed=0, **QUIET).path for s in SETTINGS}


# ------------------------------------------------------------------------------ determinism


def test_same_seed_same_bytes_different_seed_different(tiny, tmp_path):
    first = _digests(tiny["k600"])
    time.sleep(1.1)                      # HDF5 object timestamps have 1 s resolution
    again = build_dataset("k600", "tiny", tmp_path / "a", seed=0, **QUIET)
    assert not again.reused
    assert _digests(again.path) == first
    other = _digests(build_dataset("k600", "tiny", tmp_path / "b", seed=1, **QUIET).path)
    for name in ("gt.json", "untrimmed_train.h5", "foreground_train.h5", "moments_train.h5", "eval.h5",
                 "oracle_train.h5", "dataset.yaml"):
        assert other[name] != first[name], name


def test_h5_objects_carry_no_timestamps(tiny):
    """No object of any store records a creation/modification time (h5py's default, relied on
    for byte-identical files; a writer that turned ``track_times`` on would break it)."""
    for key in STORES:
        with h5py.File(tiny["anet_split"] / FILES[key], "r") as f:
            objects = [f["index"], f["features"]] + [f["features"][k] for k in list(f["features"])[:5]]
            for obj in objects:
                info = h5py.h5o.get_info(obj.id)
                assert (info.ctime, info.mtime) == (0, 0), (key, obj.name)


def test_video_generation_does_not_depend_on_order(tiny):
    """Each video has its own seeded generator: re-rendering one video alone gives the stored bytes."""
    folder = tiny["k600"]
    manifest = yaml.safe_load((folder / "dataset.yaml").read_text())
    cfg = manifest["config"]
    world = World("k600", cfg, 0)
    layouts = {d: LayoutSource(d, load_layout_params(), 0) for d in ("anet", "k600", "thumos")}
    role = [r for r in roles_for("k600", cfg) if r.name == "eval"][0]
    rng = video_rng(0, "k600", "eval", 3)
    plan = make_plan(world, layouts, "k600", role, 3, cfg, 0, rng)
    raw = render_features(world, plan, cfg, rng)
    assert raw.shape == (plan.feature_frame // 8, cfg["dim"])
    with FeatureStore(folder / "eval.h5") as store:
        stored = store.get(plan.video_id)
        meta = store.meta(plan.video_id)
    expected = resize(raw, plan.duration_frame, plan.duration, 512).astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(stored, expected)
    assert meta["n_frames"] == plan.duration_frame == meta["feature_frame"]
    assert meta["fps"] == pytest.approx(meta["n_frames"] / meta["duration"])


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_gt_json_alone_aligns_with_features(tiny, setting):
    """Features cover every frame, so GT normalised by the gt.json duration (no frame counts)
    equals GT normalised by the covered seconds of the store metadata."""
    videos = {v.video_id: v for v in read_activitynet_json(tiny[setting] / "gt.json")}
    for key in ("untrimmed_train", "eval", "oracle_train"):
        with FeatureStore(tiny[setting] / FILES[key]) as store:
            for vid in store.ids():
                m = store.meta(vid)
                assert m["feature_frame"] / m["n_frames"] * m["duration"] == pytest.approx(videos[vid].covered_seconds)


# ------------------------------------------------------------------------------ on-disk layout


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_files_shapes_dtypes_attrs(tiny, setting):
    folder = tiny[setting]
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES.values())
    manifest = yaml.safe_load((folder / "dataset.yaml").read_text())
    assert manifest["setting"] == setting and manifest["scale"] == "tiny" and manifest["seed"] == 0
    assert manifest["files"] == {k: v for k, v in FILES.items() if k != "manifest"}
    dim = manifest["dim"]
    lengths = {"untrimmed_train": 512, "foreground_train": 512, "moments_train": 256, "eval": 512,
               "oracle_train": 512, "eval_untrimmed": 512}
    for key in STORES:
        with FeatureStore(folder / FILES[key]) as store:
            assert store.dim == dim and store.dtype == "float16"
            assert len(store) == manifest["counts"][key] > 0
            attrs = store.attrs
            assert attrs["setting"] == setting and attrs["length"] == lengths[key] and attrs["feature_stride"] == 8
            for vid in store.ids():
                x = store.get(vid)
                assert x.shape == (lengths[key], dim) and x.dtype == np.float32
                assert np.isfinite(x).all()
            meta = store.meta(store.ids()[0])
            if key in ("foreground_train", "moments_train"):
                assert {"label", "video", "start", "end"} <= set(meta)
                assert store.ids()[0].startswith(meta["video"] + "#")
            else:
                assert {"duration", "n_frames", "fps", "feature_frame", "label"} <= set(meta)
    assert read_class_list(folder / "classes_untrimmed.txt") == manifest["classes"]["untrimmed"]
    assert read_class_list(folder / "classes_moment.txt") == manifest["classes"]["moment"]
    assert len(manifest["classes"]["untrimmed"]) == manifest["counts"]["classes_untrimmed"] == 4
    assert len(manifest["classes"]["moment"]) == manifest["counts"]["classes_moment"] == 6


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_gt_consistent_with_stores_and_manifest(tiny, setting):
    folder = tiny[setting]
    manifest = yaml.safe_load((folder / "dataset.yaml").read_text())
    videos = {v.video_id: v for v in read_activitynet_json(folder / "gt.json")}
    gt = json.loads((folder / "gt.json").read_text())
    assert gt["version"] == "VERSION 1.3" and gt["taxonomy"]
    cls_u, cls_m = set(manifest["classes"]["untrimmed"]), set(manifest["classes"]["moment"])
    assert not cls_u & cls_m
    for v in videos.values():
        assert v.subset in ("training", "validation") and v.instances
        for inst in v.instances:
            assert 0.0 <= inst.start <= inst.end <= v.duration
    assert manifest["gt_subsets"]["validation"] == manifest["counts"]["eval"]
    assert sum(v.subset == "validation" for v in videos.values()) == manifest["counts"]["eval"]
    with FeatureStore(folder / "untrimmed_train.h5") as s:
        un = s.ids()
        assert all(videos[v].subset == "training" and {i.label for i in videos[v].instances} <= cls_u for v in un)
        assert sum(len(videos[v].instances) for v in un) == manifest["counts"]["instances"]["untrimmed_train"]
        for v in un:
            assert s.meta(v)["duration"] == pytest.approx(videos[v].duration)
            assert s.meta(v)["label"] == videos[v].instances[0].label
    for key in ("eval", "oracle_train"):
        with FeatureStore(folder / FILES[key]) as s:
            for v in s.ids():
                assert {i.label for i in videos[v].instances} <= cls_m
                assert videos[v].subset == ("validation" if key == "eval" else "training")
    # foreground: every instance with >= 32 features of an untrimmed video, ids "<video>#<k>"
    with FeatureStore(folder / "foreground_train.h5") as fg, FeatureStore(folder / "untrimmed_train.h5") as s:
        expected = set()
        for v in s.ids():
            m = s.meta(v)
            n = m["feature_frame"] // 8
            cov = m["feature_frame"] / m["n_frames"] * m["duration"]
            for k, inst in enumerate(videos[v].instances):
                a, b = min(max(inst.start / cov, 0), 1), min(max(inst.end / cov, 0), 1)
                if (b - a) * n >= 32 and int(b * n) > int(a * n):
                    expected.add(f"{v}#{k}")
        assert set(fg.ids()) == expected
        for seg in fg.ids():
            vid, k = seg.rsplit("#", 1)
            assert fg.meta(seg)["label"] == videos[vid].instances[int(k)].label
    with FeatureStore(folder / "moments_train.h5") as mo:
        for seg in mo.ids():
            assert mo.meta(seg)["label"] in cls_m
            assert mo.meta(seg)["video"] in videos
    # gt_untrimmed.json: held-out videos of the untrimmed-set classes, nowhere else
    held_out = {v.video_id: v for v in read_activitynet_json(folder / "gt_untrimmed.json")}
    assert len(held_out) == manifest["counts"]["eval_untrimmed"] == 6 and not set(held_out) & set(videos)
    with FeatureStore(folder / "eval_untrimmed.h5") as s:
        assert sorted(s.ids()) == sorted(held_out)
        assert s.attrs["domain"] == manifest["domains"]["untrimmed"]
        for v in s.ids():
            assert held_out[v].subset == "validation" and held_out[v].instances
            assert {i.label for i in held_out[v].instances} <= cls_u
            assert s.meta(v)["duration"] == pytest.approx(held_out[v].duration)
    assert sum(len(v.instances) for v in held_out.values()) == manifest["counts"]["instances"]["eval_untrimmed"]


def test_setting_structure(tiny):
    """k600 moments are ~10 s clips of their own; the other settings cut them from oracle videos."""
    k = yaml.safe_load((tiny["k600"] / "dataset.yaml").read_text())
    assert k["domains"] == {"untrimmed": "anet", "moment": "k600", "eval": "k600", "oracle": "k600",
                            "eval_untrimmed": "anet"}
    videos = {v.video_id: v for v in read_activitynet_json(tiny["k600"] / "gt.json")}
    with FeatureStore(tiny["k600"] / "moments_train.h5") as mo:
        assert len(mo) == k["config"]["n_moments"]
        for seg in mo.ids():
            v = videos[mo.meta(seg)["video"]]
            assert v.duration == pytest.approx(10.0) and len(v.instances) == 1
    for setting in ("anet_split", "th14_anet"):
        with FeatureStore(tiny[setting] / "moments_train.h5") as mo, \
                FeatureStore(tiny[setting] / "oracle_train.h5") as orc:
            assert {mo.meta(s)["video"] for s in mo.ids()} <= set(orc.ids())
    split = yaml.safe_load((tiny["anet_split"] / "dataset.yaml").read_text())
    assert not set(split["class_groups"]["untrimmed"]) & set(split["class_groups"]["moment"])
    th = yaml.safe_load((tiny["th14_anet"] / "dataset.yaml").read_text())
    assert set(th["class_groups"]["untrimmed"]) < set(th["class_groups"]["moment"])
    assert th["domains"]["untrimmed"] == "thumos" and th["domains"]["eval"] == "anet"


def test_world_mechanisms():
    """Onset/offset signatures are mostly shared across sets; prototypes of one group are closer
    than across groups; the extractor (v4) gives non-negative, sparse activations whose energy
    does not depend on which latent direction is seen."""
    cfg = resolve_config("k600", "small")
    w = World("k600", cfg, 0)
    u, m = w.sets["untrimmed"], w.sets["moment"]
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert min(cos(u.onsets[i], m.onsets[j]) for i in range(3) for j in range(3)) > 0.8
    same = [cos(m.protos[i], m.protos[j]) for i in range(12) for j in range(i) if m.groups[i] == m.groups[j]]
    diff = [cos(m.protos[i], m.protos[j]) for i in range(12) for j in range(i) if m.groups[i] != m.groups[j]]
    assert np.mean(same) > 0.6 > 0.4 > np.mean(diff)
    z = np.concatenate([m.protos, u.protos, w.scenes["anet"], w.context_vec])      # norm sqrt(latent) each
    g = w.activations(z)
    assert g.shape == (len(z), cfg["dim"]) and (g >= 0).all()
    assert 0.5 < np.mean(g == 0) < 0.85                 # sparse per frame (a feature pools four: ~44 % zeros)
    norms = np.linalg.norm(g, axis=1)
    assert norms.std() / norms.mean() < 0.1                              # what, not how much
    assert np.std(g.mean(1)) / np.mean(g.mean(1)) < 0.1
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert cos(g[0], g[1]) < 0.95                                        # different content, different units
    # one extractor for every setting of a seed; another seed, another network
    assert np.array_equal(World("anet_split", cfg, 0).w2, w.w2)
    assert not np.array_equal(World("k600", cfg, 1).w2, w.w2)


# ------------------------------------------------------------------------------ real layouts


@pytest.mark.needs_shared
def test_real_layout_is_honoured(shared, tmp_path):
    anet = shared / "data" / "activitynet" / "anet_anno_action.json"
    k600 = shared / "data" / "ahernet" / "k600_val_annotation.txt"
    res = build_dataset("k600", "tiny", tmp_path, layouts=[str(anet), f"k600={k600}"], **QUIET)
    manifest = res.manifest
    assert manifest["layouts"]["anet"]["file"] == "anet_anno_action.json"
    assert manifest["layouts"]["k600"]["file"] == "k600_val_annotation.txt"
    real = {v.video_id: v for v in load_videos(anet) + load_videos(k600)}
    synth = {v.video_id: v for v in read_activitynet_json(res.path / "gt.json")}
    checked = 0
    for key in ("untrimmed_train", "eval", "oracle_train"):
        with FeatureStore(res.path / FILES[key]) as store:
            for vid in store.ids():
                meta = store.meta(vid)
                tpl = real[meta["template"]]
                v = synth[vid]
                assert v.duration == pytest.approx(tpl.duration)
                assert len(v.instances) == len(tpl.instances) == meta["n_instances"]
                for a, b in zip(v.instances, tpl.instances):
                    assert a.start == pytest.approx(min(b.start, tpl.duration))
                    assert a.end == pytest.approx(min(b.end, tpl.duration))
                assert meta["feature_frame"] == meta["n_frames"] and meta["n_frames"] % 8 == 0
                if tpl.fps:
                    assert abs(meta["n_frames"] - tpl.duration * tpl.fps) <= 4
                checked += 1
    assert checked == sum(manifest["counts"][k] for k in ("untrimmed_train", "eval", "oracle_train"))
    # the eval set samples validation templates of K600, the untrimmed set ANet training videos
    with FeatureStore(res.path / "untrimmed_train.h5") as store:
        assert all(real[store.meta(v)["template"]].subset == "training" for v in store.ids())


def test_layout_params_are_the_committed_fit():
    params = json.loads(LAYOUT_PARAMS.read_text())
    assert params["command"].startswith("python -m aher.data.layout_fit")
    assert set(params["domains"]) == {"anet", "thumos", "k600"}
    assert params["counts"]["anet_train_untrimmed_87"] + params["counts"]["anet_train_moment_113"] == \
        params["counts"]["anet_train"]


@pytest.mark.needs_shared
def test_layout_fit_reproduces_committed_file(shared, tmp_path):
    from aher.data import layout_fit
    out = tmp_path / "lp.json"
    assert layout_fit.main(["--shared", str(shared), "--out", str(out)]) == 0
    assert out.read_bytes() == LAYOUT_PARAMS.read_bytes()


# ------------------------------------------------------------------------------ paper scale


@pytest.mark.slow
def test_paper_scale_code_path_with_tiny_overrides(tmp_path):
    overrides = ["dim=24", "n_untrimmed_train=2", "n_moments=3", "n_oracle_train=2", "n_eval=2",
                 "length_untrimmed=64", "length_moment=32"]
    res = build_dataset("anet_split", "paper", tmp_path, overrides=overrides, **QUIET)
    m = res.manifest
    assert m["scale"] == "paper" and m["dim"] == 24
    assert m["counts"]["classes_untrimmed"] == 87 and m["counts"]["classes_moment"] == 113
    assert m["counts"]["groups"] == 53
    with FeatureStore(res.path / "eval.h5") as store:
        assert store.get(store.ids()[0]).shape == (64, 24)
    cfg = resolve_config("k600", "paper")
    params = load_layout_params()
    assert cfg["dim"] == 2048 and cfg["n_eval"] == params["counts"]["k600_val"]
    assert cfg["n_untrimmed_train"] == params["counts"]["anet_train"]


def test_disk_check_refuses_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(writer.shutil, "disk_usage", lambda p: type("U", (), {"free": 1000})())
    with pytest.raises(UserError, match="GB"):
        build_dataset("k600", "tiny", tmp_path, **QUIET)
    assert not any(tmp_path.iterdir()) or not (tmp_path / "k600_tiny").exists()


# ------------------------------------------------------------------------------ reuse / atomicity


def test_reuse_refuse_force(tmp_path):
    first = build_dataset("th14_anet", "tiny", tmp_path, **QUIET)
    again = build_dataset("th14_anet", "tiny", tmp_path, **QUIET)
    assert again.reused and not first.reused
    with pytest.raises(UserError, match="--force"):
        build_dataset("th14_anet", "tiny", tmp_path, overrides=["noise_std=2"], **QUIET)
    forced = build_dataset("th14_anet", "tiny", tmp_path, overrides=["noise_std=2"], force=True, **QUIET)
    assert not forced.reused and forced.manifest["config"]["noise_std"] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["th14_anet_tiny"]
    (tmp_path / "th14_anet_tiny" / "eval.h5").unlink()                # incomplete -> refused, then rebuilt
    with pytest.raises(UserError, match="incomplete"):
        build_dataset("th14_anet", "tiny", tmp_path, overrides=["noise_std=2"], **QUIET)
    other = tmp_path / "k600_tiny"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a synthetic dataset"):
        build_dataset("k600", "tiny", tmp_path, force=True, **QUIET)
    assert (other / "notes.txt").read_text() == "mine"


def test_older_generator_version_is_regenerated(tmp_path):
    first = build_dataset("k600", "tiny", tmp_path, overrides=["n_eval=3"], **QUIET)
    manifest = first.path / "dataset.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace(f"generator_version: {GENERATOR_VERSION}", "generator_version: 0", 1).replace(
        first.manifest["request_sha256"], "0" * 64))
    messages = []
    again = build_dataset("k600", "tiny", tmp_path, overrides=["n_eval=3"], progress=False, log=messages.append)
    assert not again.reused and "regenerating" in messages[0]
    assert manifest.read_text() == text


def test_held_out_untrimmed_videos_leave_the_other_files_unchanged(tmp_path):
    """The held-out role (v3) is generated last with its own generators: without it
    (n_eval_untrimmed=0) every other file has the same bytes."""
    with_it = _digests(build_dataset("anet_split", "tiny", tmp_path / "a", **QUIET).path)
    without = build_dataset("anet_split", "tiny", tmp_path / "b", overrides=["n_eval_untrimmed=0"], **QUIET).path
    for name in FILES.values():
        if name not in ("dataset.yaml", "eval_untrimmed.h5", "gt_untrimmed.json"):
            assert hashlib.sha256((without / name).read_bytes()).hexdigest() == with_it[name], name
    assert read_activitynet_json(without / "gt_untrimmed.json") == []


def test_v2_dataset_without_the_new_files_is_regenerated(tmp_path):
    """A v2 folder (no n_eval_untrimmed knob, no eval_untrimmed.h5 / gt_untrimmed.json) is
    regenerated in place, not refused as incomplete or foreign."""
    first = build_dataset("k600", "tiny", tmp_path, **QUIET)
    manifest = first.path / "dataset.yaml"
    text = manifest.read_text()
    old = yaml.safe_load(text)
    old["generator_version"], old["request_sha256"] = 2, "0" * 64
    del old["config"]["n_eval_untrimmed"]
    manifest.write_text(yaml.safe_dump(old))
    for name in ("eval_untrimmed.h5", "gt_untrimmed.json"):
        (first.path / name).unlink()
    messages = []
    again = build_dataset("k600", "tiny", tmp_path, progress=False, log=messages.append)
    assert not again.reused and "regenerating" in messages[0]
    assert manifest.read_text() == text and (first.path / "eval_untrimmed.h5").is_file()
    old["config"]["noise_std"] = 9.0                                    # a changed knob is another request
    manifest.write_text(yaml.safe_dump(old))
    with pytest.raises(UserError, match="--force"):
        build_dataset("k600", "tiny", tmp_path, **QUIET)


def test_v3_dataset_with_the_old_default_is_regenerated(tmp_path):
    """A v3 folder (action_shared 0.3, the old default; no hidden_dim / output_bias knobs) is the
    same request and regenerated; one that set action_shared explicitly is another request."""
    first = build_dataset("anet_split", "tiny", tmp_path, overrides=["n_eval=3"], **QUIET)
    manifest = first.path / "dataset.yaml"
    text = manifest.read_text()
    old = yaml.safe_load(text)
    assert old["config"]["action_shared"] == KNOBS["action_shared"][0] == 0.6
    old["generator_version"], old["request_sha256"] = 3, "0" * 64
    old["config"]["action_shared"] = 0.3
    del old["config"]["hidden_dim"], old["config"]["output_bias"]
    manifest.write_text(yaml.safe_dump(old))
    messages = []
    again = build_dataset("anet_split", "tiny", tmp_path, overrides=["n_eval=3"], progress=False,
                          log=messages.append)
    assert not again.reused and "made by generator v3, regenerating with v4" in messages[0]
    assert manifest.read_text() == text
    old["command"] += " --set action_shared=0.3"
    manifest.write_text(yaml.safe_dump(old))
    with pytest.raises(UserError, match="--force"):
        build_dataset("anet_split", "tiny", tmp_path, overrides=["n_eval=3"], **QUIET)


def test_failure_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = writer.render_features

    def boom(*a, **k):
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("disk on fire")
        return real(*a, **k)

    monkeypatch.setattr(writer, "render_features", boom)
    with pytest.raises(RuntimeError):
        build_dataset("k600", "tiny", tmp_path, **QUIET)
    assert list(tmp_path.iterdir()) == []


def test_write_folder_atomically_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "d"
    assert write_folder_atomically(target, lambda folder: (folder / "a.txt").write_text("1")) == 1

    def fail(folder):
        (folder / "b.txt").write_text("2")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_folder_atomically(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["d"] and [p.name for p in target.iterdir()] == ["a.txt"]
    write_folder_atomically(target, lambda folder: (folder / "b.txt").write_text("2"))
    assert [p.name for p in tmp_path.iterdir()] == ["d"] and [p.name for p in target.iterdir()] == ["b.txt"]


def test_synthetic_package_does_not_import_the_dataset_resolver():
    """aher.datasets builds synthetic datasets on demand; the generator only shares the leaf
    aher.data.dataset_files with it (no import cycle)."""
    import subprocess
    import sys
    code = "import sys, aher.data.synthetic; print('aher.datasets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_config_overrides_and_errors():
    cfg = resolve_config("k600", "tiny", ["noise_std=0.5", "amplitude=[0.5, 1]", "dim=16", ("white_std", 1)])
    assert cfg["noise_std"] == 0.5 and cfg["amplitude"] == [0.5, 1.0] and cfg["dim"] == 16
    assert type(cfg["amplitude"][1]) is float and type(cfg["white_std"]) is float     # as the manifest stores them
    assert list(cfg) == list(KNOBS)
    assert resolve_config("k600", "tiny", ["noise_std=1e-4"])["noise_std"] == 1e-4     # aher.config's parser
    for bad, message in [
            ("nosuch=1", "--set nosuch=1: unknown knob 'nosuch'; knobs: dim, length_untrimmed, "),
            ("dim=1.5", "--set dim=1.5: dim: 1.5 is not an integer"),
            ("noise_std", "--set 'noise_std': expected KNOB=VALUE"),
            ("noise_std=abc", "--set noise_std=abc: noise_std: 'abc' is not a number"),
            ("amplitude=[1]", "--set amplitude=[1]: amplitude: [1] is not a list of 2 values"),
            ("amplitude=[2, 1]", "amplitude: [2, 1] is not allowed; allowed: [low, high] with low <= high"),
            ("noise_std=-1", "--set noise_std=-1: noise_std: -1 is not allowed; allowed: >= 0"),
            ("untrimmed_group_frac=1", "untrimmed_group_frac: 1 is not allowed; allowed: > 0 and < 1"),
            ("dtype=int8", "--set dtype=int8: dtype: 'int8' is not allowed; allowed: one of float16, float32")]:
        with pytest.raises(UserError, match=re.escape(message)) as info:
            resolve_config("k600", "tiny", [bad])
        assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="unknown setting"):
        resolve_config("nope", "tiny")


# ------------------------------------------------------------------------------ CLI and report


def test_cli_writes_and_reports(tmp_path, capsys):
    out, reports = tmp_path / "out", tmp_path / "rep"
    argv = ["--setting", "anet_split", "--scale", "tiny", "--out", str(out), "--report", "--report-dir",
            str(reports), "--no-progress", "--set", "n_eval=6"]
    assert synthesize_main(argv) == 0
    text = capsys.readouterr().out
    assert f"wrote {out / 'anet_split_tiny'}" in text and "eval.h5" in text
    report = (reports / "synthetic_anet_split_tiny.md").read_text()
    assert "--setting anet_split --scale tiny" in report and "--set n_eval=6" in report
    assert "actionness ROC AUC" in report and "linear probe" in report
    assert "## Realism" in report and "max(AUC, 1 - AUC) <= 0.70" in report
    for key in STORES:                                   # one row and a non-negativity check per store
        assert f"| {key} |" in report.split("## Realism")[1]
        assert f"PASS  {key:17s} negative entries = 0" in report
    assert "realism:" in report
    manifest = yaml.safe_load((out / "anet_split_tiny" / "dataset.yaml").read_text())
    n, k = manifest["counts"]["eval_untrimmed"], manifest["counts"]["instances"]["eval_untrimmed"]
    assert n == 6 and f"| eval_untrimmed videos (instances) | {n} ({k}) |" in report
    assert synthesize_main(argv) == 0
    assert "reused" in capsys.readouterr().out


def test_cli_user_errors_are_one_line(tmp_path):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "aher.data.synthesize", "--setting", "k600", "--scale", "tiny",
                          "--out", str(tmp_path), "--set", "bogus=1"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("error: --set bogus=1: unknown knob 'bogus'; knobs: dim,")
    assert out.stderr.count("\n") == 1


def test_diagnostics_range(tiny):
    d = diagnostics(tiny["k600"])
    for key in ("moment_probe_acc", "actionness_auc_heldout", "actionness_auc_transfer", "change_auc_start",
                "detector_auc_start", "detector_auc_end"):
        assert 0.0 <= d[key] <= 1.0, key
    assert d["actionness_auc_heldout"] > 0.6            # tiny, but the actions are visible
    assert len(d["change_profile_start"]) == 2 * PROFILE_RADIUS + 1


# ------------------------------------------------------------------------------ realism (generator v4)


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_features_are_non_negative_and_sparse(tiny, setting):
    """Like pooled post-ReLU activations: no negative entry in any store, a share of exact zeros."""
    for key in STORES:
        with FeatureStore(tiny[setting] / FILES[key]) as store:
            x = np.stack([store.get(i) for i in store.ids()])
        assert x.min() == 0.0, key
        assert 0.1 < np.mean(x == 0) < 0.7, key


def test_realism_thresholds_on_a_tiny_build(tmp_path):
    """The realism criteria of the report hold: per-step L2 norm and mean activation do not
    separate action from background (max(AUC, 1 - AUC) <= 0.70), a linear probe does.  Built
    at D=128 (the small scale's) with 40 videos per role: at D=32 with a handful of videos the
    AUC estimate alone spreads by +-0.1."""
    res = build_dataset("anet_split", "tiny", tmp_path, overrides=[
        "dim=128", "n_untrimmed_train=40", "n_oracle_train=40", "n_eval=40", "n_eval_untrimmed=40"], **QUIET)
    real = realism(res.path)
    assert set(real) == set(STORES) == set(feature_stores())
    with_gt = [k for k, r in real.items() if "norm_auc" in r]
    assert sorted(with_gt) == sorted(["untrimmed_train", "eval", "oracle_train", "eval_untrimmed"])
    for key in with_gt:
        r = real[key]
        assert r["neg_frac"] == 0.0
        assert max(r["norm_auc"], 1 - r["norm_auc"]) <= 0.70, (key, r["norm_auc"])
        assert max(r["mean_auc"], 1 - r["mean_auc"]) <= 0.70, (key, r["mean_auc"])
        assert r["probe_auc"] >= 0.75, (key, r["probe_auc"])
        assert 10 < r["eff_rank"] <= 128
    checks = realism_checks(real)
    assert len(checks) == 6 + 3 * 4 and all(ok for *_, ok in checks)


def test_realism_checks_flag_failures():
    real = {"eval": {"neg_frac": 0.01, "norm_auc": 0.2, "mean_auc": 0.65, "probe_auc": 0.6},
            "moments_train": {"neg_frac": 0.0}}
    verdict = {(k, c.split(":")[0].split(" ")[1]): ok for k, c, _, ok in realism_checks(real)}
    assert verdict == {("eval", "entries"): False, ("eval", "L2-norm"): False, ("eval", "mean-activation"): True,
                       ("eval", "actionness"): False, ("moments_train", "entries"): True}


def test_effective_rank():
    rng = np.random.default_rng(0)
    assert effective_rank(np.outer(rng.standard_normal(500), rng.standard_normal(20))) == pytest.approx(1, abs=1e-6)
    assert 17 < effective_rank(rng.standard_normal((5000, 20))) <= 20
    low = rng.standard_normal((2000, 3)) @ rng.standard_normal((3, 50))
    assert effective_rank(low) < 3.01


def test_roc_auc_and_ridge():
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert math.isnan(roc_auc(np.ones(3), np.zeros(3)))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5))
    y = (x[:, 0] > 0).astype(int)
    probe = fit_probe(x, y, 2)
    assert np.mean(probe.predict(x).argmax(1) == y) > 0.9
