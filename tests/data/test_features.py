"""Feature store round trip, atomic writes, and the paper_vs_code §1.2 resampling against a direct implementation."""

import h5py
import numpy as np
import pytest
from scipy.interpolate import interp1d

from aher.errors import UserError
from aher.data.features import (FeatureStore, FeatureStoreWriter, MissingVideoError, describe_non_finite, escape_id,
                                first_non_finite, resize, unescape_id)


# --------------------------------------------------------------------------- slow reference


def slow_resize(feat, n_frames, duration, length):
    """paper_vs_code §1.2 written out bin by bin (the test's independent reading of the formula)."""
    n = feat.shape[0]
    if n == 1:
        return np.repeat(feat.astype(np.float64), length, axis=0)
    fps = n_frames / duration
    st = 8.0 / fps
    covered = n * 8.0 / n_frames * duration
    x = st / 2 + np.arange(n) * st
    f = interp1d(x, feat, axis=0)
    out = np.zeros((length, feat.shape[1]))
    for i in range(length):
        lo = max(x[0] + 1e-4, i / length * covered)
        hi = min(x[-1] - 1e-4, (i + 1) / length * covered)
        if hi < x[0] or lo > x[-1]:
            continue
        pts = [lo + k * (hi - lo) / 2 for k in range(3)]
        out[i] = np.mean(f(pts), axis=0)
    return out


@pytest.mark.parametrize("n,length,duration,n_frames", [
    (37, 256, 10.0, 300),        # reference example: 37 -> 256
    (2, 16, 2.0, 16),
    (2, 5, 1.0, 16),
    (3, 512, 3.3, 25),
    (100, 512, 120.5, 3612),     # upsample
    (700, 512, 200.0, 5601),     # downsample
    (2000, 100, 66.0, 16000),    # strong downsample
    (512, 512, 17.0, 4100),      # same length
    (9, 7, 0.9, 72),
])
def test_resize_matches_direct_formula(n, length, duration, n_frames):
    rng = np.random.default_rng(n * 1000 + length)
    feat = rng.normal(size=(n, 6)).astype(np.float32)
    got = resize(feat, n_frames, duration, length)
    want = slow_resize(feat, n_frames, duration, length)
    assert got.shape == (length, 6) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_resize_random_cases_match_direct_formula():
    rng = np.random.default_rng(7)
    for _ in range(25):
        n = int(rng.integers(2, 300))
        length = int(rng.integers(1, 400))
        fps = float(rng.uniform(10, 60))
        n_frames = float(rng.integers(n * 8, n * 8 + 16))
        duration = n_frames / fps
        feat = rng.normal(size=(n, 3))
        np.testing.assert_allclose(resize(feat, n_frames, duration, length),
                                   slow_resize(feat, n_frames, duration, length), rtol=1e-5, atol=1e-5)


def test_resize_upsampling_edge_bins_are_zero():
    feat = np.arange(1, 38, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)
    out = resize(feat, 37 * 8, 37 * 8 / 30.0, 256)
    zero_rows = np.flatnonzero(~out.any(axis=1)).tolist()
    assert zero_rows == [0, 1, 2, 253, 254, 255]
    assert (out[3:253] > 0).all()
    # a linear ramp resampled stays monotone and within the original range
    assert np.all(np.diff(out[3:253, 0]) > 0)
    assert out[3:253].min() >= 1.0 and out[3:253].max() <= 37.0


def test_resize_single_row_tiles():
    feat = np.array([[1.5, -2.0, 3.0]])
    out = resize(feat, 8, 0.3, 5)
    assert out.shape == (5, 3) and out.dtype == np.float32
    assert (out == np.float32([1.5, -2.0, 3.0])).all()


def test_resize_two_rows_and_constant_input():
    feat = np.array([[0.0], [1.0]])
    out = resize(feat, 16, 1.0, 4)
    np.testing.assert_allclose(out, slow_resize(feat, 16, 1.0, 4), atol=1e-6)
    const = np.full((50, 3), 2.5)
    out = resize(const, 400, 16.0, 40)   # downsampling: no empty bins
    np.testing.assert_allclose(out, 2.5, rtol=1e-6)


def test_resize_rejects_bad_input():
    with pytest.raises(ValueError):
        resize(np.zeros((0, 3)), 8, 1.0, 4)
    with pytest.raises(ValueError):
        resize(np.zeros(5), 8, 1.0, 4)
    with pytest.raises(ValueError):
        resize(np.zeros((5, 3)), 0, 1.0, 4)
    with pytest.raises(ValueError):
        resize(np.zeros((5, 3)), 40, 1.0, 0)


# --------------------------------------------------------------------------- store

ODD_IDS = ["v_abc", "a/b/c", "..", ".hidden", "100%/x", "%2F", "space id #3", "ünï©ødé", "x" * 200]


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_store_round_trip(tmp_path, dtype):
    rng = np.random.default_rng(0)
    data = {vid: rng.normal(size=(i + 1, 5)).astype(np.float32) for i, vid in enumerate(ODD_IDS)}
    path = tmp_path / "store.h5"
    with FeatureStoreWriter(path, 5, dtype, attrs={"setting": "k600", "classes": ["a", "b"]}) as w:
        for i, (vid, feats) in enumerate(data.items()):
            w.add(vid, feats, duration=1.5 * i, n_frames=8 * (i + 1), fps=29.97, label=f"class {i}",
                  feature_frame=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.h5"]
    with FeatureStore(path) as store:
        assert store.ids() == ODD_IDS
        assert len(store) == len(ODD_IDS) and store.dim == 5 and store.dtype == dtype
        assert "a/b/c" in store and "a" not in store
        attrs = store.attrs
        assert attrs["dim"] == 5 and attrs["dtype"] == dtype and attrs["feature_stride"] == 8
        assert attrs["setting"] == "k600" and attrs["classes"] == ["a", "b"]
        for i, (vid, feats) in enumerate(data.items()):
            got = store.get(vid)
            assert got.dtype == np.float32 and got.shape == feats.shape
            if dtype == "float32":
                np.testing.assert_array_equal(got, feats)
            else:
                np.testing.assert_allclose(got, feats, rtol=1e-3, atol=1e-3)
            meta = store.meta(vid)
            assert meta == {"duration": 1.5 * i, "n_frames": 8 * (i + 1), "fps": 29.97, "label": f"class {i}"}
            assert isinstance(meta["label"], str) and isinstance(meta["n_frames"], int)
    # the HDF5 layout of the contract
    with h5py.File(path, "r") as f:
        assert [s.decode() for s in f["index"][()]] == ODD_IDS
        ds = f["features"][escape_id("a/b/c")]
        assert ds.dtype == np.dtype(dtype) and ds.chunks is not None


def test_escape_is_reversible_and_slash_free():
    for vid in ODD_IDS + ["%25", "%2E", ".", "a%2Fb"]:
        key = escape_id(vid)
        assert "/" not in key and key not in (".", "..") and unescape_id(key) == vid
    assert escape_id("plain_id-1") == "plain_id-1"
    assert len({escape_id(v) for v in ["a/b", "a%2Fb", "a%252Fb"]}) == 3


def test_missing_id_and_bad_files(tmp_path):
    path = tmp_path / "s.h5"
    with FeatureStoreWriter(path, 2) as w:
        w.add("one", np.ones((3, 2)))
    with FeatureStore(path) as store:
        with pytest.raises(MissingVideoError, match="no video 'two'") as info:
            store.get("two")
        assert isinstance(info.value, KeyError) and isinstance(info.value, UserError)
        assert str(path) in str(info.value)
        with pytest.raises(KeyError):
            store.meta("two")
    with pytest.raises(UserError, match="not found"):
        FeatureStore(tmp_path / "nope.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(UserError, match="junk.h5"):
        FeatureStore(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(UserError, match="not an aher feature store"):
        FeatureStore(tmp_path / "other.h5")


def test_empty_store(tmp_path):
    with FeatureStoreWriter(tmp_path / "e.h5", 3, "float32"):
        pass
    with FeatureStore(tmp_path / "e.h5") as store:
        assert store.ids() == [] and len(store) == 0 and store.dim == 3


def test_writer_is_atomic_on_exception(tmp_path):
    path = tmp_path / "s.h5"
    with pytest.raises(RuntimeError, match="boom"):
        with FeatureStoreWriter(path, 2) as w:
            w.add("a", np.ones((2, 2)))
            assert any(p.name.startswith("s.h5.tmp-") for p in tmp_path.iterdir())
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_keeps_previous_file_on_failure(tmp_path):
    path = tmp_path / "s.h5"
    with FeatureStoreWriter(path, 2) as w:
        w.add("old", np.ones((2, 2)))
    with pytest.raises(UserError):
        with FeatureStoreWriter(path, 2) as w:
            w.add("new", np.ones((2, 2)))
            w.add("new", np.ones((2, 2)))          # duplicate
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]
    with FeatureStore(path) as store:
        assert store.ids() == ["old"]


@pytest.mark.parametrize("features,match", [
    (np.ones((2, 3)), "dim 3"),
    (np.array([[1.0, np.nan]]), "NaN or inf"),
    (np.array([[1.0, np.inf]]), "NaN or inf"),
    (np.array([[1.0, 1e6]]), "overflow float16"),
    (np.ones((0, 2)), "shape"),
    (np.ones(2), "shape"),
])
def test_writer_rejects_bad_features(tmp_path, features, match):
    with pytest.raises(UserError, match=match) as info:
        with FeatureStoreWriter(tmp_path / "s.h5", 2) as w:
            w.add("vid/7", features)
    assert "'vid/7'" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_duplicates_and_bad_ids(tmp_path):
    with FeatureStoreWriter(tmp_path / "s.h5", 2) as w:
        w.add("a", np.ones((1, 2)))
        with pytest.raises(UserError, match="duplicate video id 'a'"):
            w.add("a", np.ones((1, 2)))
        with pytest.raises(UserError, match="non-empty"):
            w.add("", np.ones((1, 2)))
        with pytest.raises(TypeError):
            w.add("b", np.ones((1, 2)), bad={"x": 1})
    with FeatureStore(tmp_path / "s.h5") as store:
        assert store.ids() == ["a"]


def test_writer_float32_keeps_large_values(tmp_path):
    with FeatureStoreWriter(tmp_path / "s.h5", 2, "float32") as w:
        w.add("a", np.array([[1e6, -3.25]]))
    with FeatureStore(tmp_path / "s.h5") as store:
        np.testing.assert_array_equal(store.get("a"), [[1e6, -3.25]])


def test_writer_output_folder_must_exist(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        FeatureStoreWriter(tmp_path / "no" / "s.h5", 2)


def test_first_non_finite_names_the_step_and_the_value():
    x = np.zeros((6, 3), np.float32)
    assert first_non_finite(x) is None
    x[4, 1], x[2, 2] = np.inf, np.nan
    assert first_non_finite(x)[0] == 2 and np.isnan(first_non_finite(x)[1])
    assert describe_non_finite(first_non_finite(x), 6) == "NaN at step 2 (of 6)"
    x[2, 2] = 0
    assert first_non_finite(x) == (4, np.inf) and describe_non_finite((4, -np.inf), 6) == "-inf at step 4 (of 6)"
    assert first_non_finite(np.array([1.0, np.nan])) == (1, pytest.approx(np.nan, nan_ok=True))


def test_writer_names_the_step_of_a_nan(tmp_path):
    features = np.ones((5, 2))
    features[3, 0] = np.nan
    with pytest.raises(UserError, match=r"'v': features contain NaN or inf \(NaN at step 3 \(of 5\)\)"):
        with FeatureStoreWriter(tmp_path / "s.h5", 2) as w:
            w.add("v", features)
