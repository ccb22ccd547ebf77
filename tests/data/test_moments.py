"""Segment (moment / foreground) extraction, paper_vs_code §8.3-8.4 without the upstream first-annotation bug."""

import numpy as np
import pytest

from aher.errors import UserError
from aher.data.annotations import Instance, Video
from aher.data.features import FeatureStore, FeatureStoreWriter, resize
from aher.data.moments import FOREGROUND, MOMENTS, extract_segments, write_segment_store

N = 100


def time_features(n=N):
    """Row k = [k, -k, 1]: the values say which rows were taken."""
    k = np.arange(n, dtype=np.float32)
    return np.stack([k, -k, np.ones_like(k)], axis=1)


def make_video(instances, vid="vid", duration=34.0, duration_frame=850, feature_frame=800, fps=25.0):
    # covered seconds = 800 / 850 * 34 = 32 s = 100 features of 8 frames at 25 fps
    return Video(vid, duration, "training", [Instance(s, e, lab) for s, e, lab in instances], fps=fps,
                 duration_frame=duration_frame, feature_frame=feature_frame)


def test_rows_and_resampling_of_kept_segments():
    feats = time_features()
    video = make_video([(0.0, 2.0, "short"),          # 6.25 features < 8: dropped
                        (3.2, 12.8, "a"),             # [0.1, 0.4] -> rows 10..39
                        (28.0, 40.0, "b"),            # end clipped to 1 -> rows 87..99
                        (-5.0, 3.2, "c")])            # start clipped to 0 -> rows 0..9
    assert video.covered_seconds == pytest.approx(32.0)
    out = extract_segments(feats, video, 850, min_features=8, length=256)
    assert [inst.label for inst, _ in out] == ["a", "b", "c"]       # not only the first annotation
    assert out[0][0] == video.instances[1]
    spans = {"a": (10, 40), "b": (87, 100), "c": (0, 10)}
    for inst, seg in out:
        first, stop = spans[inst.label]
        assert seg.shape == (256, 3) and seg.dtype == np.float32
        rows = stop - first
        want = resize(feats[first:stop], rows * 8, rows * 8 * 34.0 / 850, 256)
        np.testing.assert_allclose(seg, want, rtol=1e-6)
        nz = seg[seg[:, 2] > 0]                               # non-empty bins
        assert nz[:, 0].min() >= first and nz[:, 0].max() <= stop - 1
        assert nz[:, 0].min() < first + 1 and nz[:, 0].max() > stop - 2     # both ends reached


def test_min_features_threshold_is_inclusive():
    feats = time_features(128)
    # 128 features over 32 s: 0.25 s each; [16, 18] s is exactly 8 features (rows 64..71)
    video = make_video([(16.0, 18.0, "edge"), (16.0, 17.875, "below")],
                       duration=32.0, duration_frame=1024, feature_frame=1024)
    out = extract_segments(feats, video, 1024, min_features=8, length=16)
    assert [inst.label for inst, _ in out] == ["edge"]
    nz = out[0][1][out[0][1][:, 2] > 0]
    assert nz[:, 0].min() >= 64 and nz[:, 0].max() <= 71


def test_foreground_settings_and_duplicates():
    feats = time_features(200)
    video = make_video([(10.0, 30.0, "x"), (10.0, 30.0, "x"), (0.0, 5.0, "y")],
                       duration=64.0, duration_frame=1600, feature_frame=1600)
    out = extract_segments(feats, video, 1600, **FOREGROUND)
    # 20 s of 64 s = 62.5 features >= 32 (kept twice); 5 s = 15.6 features < 32 (dropped)
    assert [inst.label for inst, _ in out] == ["x", "x"]
    assert out[0][1].shape == (512, 3)
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert MOMENTS == {"min_features": 8, "length": 256}


def test_video_without_instances_or_with_none_kept():
    feats = time_features()
    assert extract_segments(feats, make_video([]), 850, 8, 256) == []
    assert extract_segments(feats, make_video([(1.0, 1.5, "tiny"), (40.0, 50.0, "after")]), 850, 8, 256) == []


def test_n_frames_fallbacks():
    feats = time_features()
    video = Video("v", 32.0, "training", [Instance(3.2, 12.8, "a")])   # no frame counts, no fps
    (inst, seg), = extract_segments(feats, video, None, 8, 64)
    np.testing.assert_allclose(seg, resize(feats[10:40], 240, 9.6, 64), rtol=1e-6)


def test_write_segment_store(tmp_path):
    src_path = tmp_path / "src.h5"
    feats_a = time_features()
    feats_b = time_features(60) + 1000
    with FeatureStoreWriter(src_path, 3, "float32") as w:
        w.add("a/1", feats_a, n_frames=850)
        w.add("b", feats_b)
    videos = [make_video([(0.0, 2.0, "short"), (3.2, 12.8, "run"), (16.0, 32.0, "jump")], vid="a/1"),
              make_video([(0.0, 19.2, "swim")], vid="b", duration=19.2, duration_frame=480, feature_frame=480),
              make_video([(0.0, 10.0, "gone")], vid="not_in_store")]
    out = tmp_path / "moments.h5"
    count = write_segment_store(src_path, videos, out, 8, 256, progress=False)
    assert count == 3
    with FeatureStore(out) as store:
        assert store.ids() == ["a/1#1", "a/1#2", "b#0"]
        assert store.dim == 3 and store.attrs["length"] == 256
        meta = store.meta("a/1#2")
        assert meta["label"] == "jump" and meta["video"] == "a/1"
        assert meta["start"] == 16.0 and meta["end"] == 32.0 and meta["duration"] == pytest.approx(16.0)
        expected = dict(extract_segments(feats_a, videos[0], 850, 8, 256)[1:2])
        np.testing.assert_allclose(store.get("a/1#2"), expected[videos[0].instances[2]], rtol=1e-6)
        assert store.get("b#0").shape == (256, 3) and store.get("b#0")[:, 0].max() >= 1000
        assert store.meta("b#0")["label"] == "swim"

    with FeatureStore(src_path) as src, pytest.raises(KeyError, match="not_in_store"):
        write_segment_store(src, videos, tmp_path / "strict.h5", 8, 256, missing="error", progress=False)
    assert not (tmp_path / "strict.h5").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moments.h5", "src.h5"]


def test_resized_source_is_refused(tmp_path):
    with FeatureStoreWriter(tmp_path / "r.h5", 3, attrs={"resized": 512}) as w:
        w.add("a", time_features())
    with pytest.raises(UserError, match="resized to 512"):
        write_segment_store(tmp_path / "r.h5", [make_video([(0.0, 30.0, "a")], vid="a")],
                            tmp_path / "seg.h5", 8, 256, progress=False)
    assert not (tmp_path / "seg.h5").exists()
