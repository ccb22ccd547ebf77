"""Tests of aher.data.pipeline on tiny stores written with the real FeatureStoreWriter.

Every video/segment of a store has constant features equal to its number (1, 2, ...), so a
batch tells which samples it holds: ``features[:, 0, 0]``.
"""

import logging

import h5py
import numpy as np
import pytest
import tensorflow as tf

from aher.errors import UserError
from aher.data.annotations import Instance, Video
from aher.data.features import FeatureStoreWriter, escape_id
from aher.data.pipeline import SampleError, eval_dataset, read_error, segment_dataset, untrimmed_dataset

D = 8
T = 512
CLASSES = ["run", "jump", "swim"]


def _constant(value, length=T, dim=D):
    return np.full((length, dim), float(value), np.float32)


def _video(vid, instances, duration=100.0, **kw):
    return Video(video_id=vid, duration=duration, subset="training",
                 instances=[Instance(s, e, lab) for s, e, lab in instances], **kw)


def _write(path, entries, length=T, dtype="float16"):
    """entries: list of (id, value, meta dict)."""
    with FeatureStoreWriter(path, dim=D, dtype=dtype) as w:
        for vid, value, meta in entries:
            w.add(vid, _constant(value, length), **meta)
    return path


def _numbers(batch):
    return [int(round(float(v))) for v in np.asarray(batch["features"])[:, 0, 0]]


def _eager(ds, n_batches=None):
    it = ds if n_batches is None else ds.take(n_batches)
    return [{k: v.numpy() for k, v in b.items()} for b in it]


@pytest.fixture
def videos():
    # v1: covered seconds from feature_frame / duration_frame (= 0.8 * 100 = 80 s)
    return [
        _video("v1", [(8.0, 20.0, "jump"), (40.0, 90.0, "run")], duration=100.0,
               fps=25.0, duration_frame=2500, feature_frame=2000),
        _video("v2", [(0.0, 30.0, "swim")], duration=60.0),
        _video("v3", [(5.0, 10.0, "run")], duration=50.0),
        _video("v4", [(1.0, 2.0, "jump")], duration=10.0),
        _video("v5", [(0.0, 10.0, "swim")], duration=20.0),
        _video("v6", [(3.0, 4.0, "run")], duration=30.0),
        _video("other", [(0.0, 1.0, "not-a-training-class")], duration=5.0),  # not in the store
    ]


@pytest.fixture
def store(tmp_path, videos):
    ids = [v.video_id for v in videos if v.video_id != "other"]
    return _write(tmp_path / "untrimmed.h5", [(vid, i + 1, {}) for i, vid in enumerate(ids)])


# ------------------------------------------------------------------------------- untrimmed

def test_untrimmed_shapes_dtypes_gt_and_labels(store, videos):
    ds = untrimmed_dataset(store, videos, CLASSES, batch_size=3, seed=0, shuffle=False)
    spec = ds.element_spec
    assert spec["features"].shape.as_list() == [3, T, D] and spec["features"].dtype == tf.float32
    assert spec["gt"].shape.as_list() == [3, 25, 2] and spec["gt"].dtype == tf.float32
    assert spec["label"].shape.as_list() == [3] and spec["label"].dtype == tf.int32
    assert spec["duration"].shape.as_list() == [3] and spec["duration"].dtype == tf.float32

    batches = _eager(ds, 2)
    assert [n for b in batches for n in _numbers(b)] == [1, 2, 3, 4, 5, 6]   # store order
    b0 = batches[0]
    np.testing.assert_array_equal(b0["features"][1], _constant(2))
    # v1: covered = 2000 / 2500 * 100 = 80 s; 90 s is past the covered span -> clipped to T
    np.testing.assert_allclose(b0["gt"][0, :2], [[8 / 80 * T, 20 / 80 * T], [40 / 80 * T, T]], rtol=1e-6)
    np.testing.assert_array_equal(b0["gt"][0, 2:], -1.0)
    # v2: no frame counts -> covered = duration = 60 s
    np.testing.assert_allclose(b0["gt"][1, 0], [0.0, 30 / 60 * T], rtol=1e-6)
    np.testing.assert_array_equal(b0["gt"][1, 1:], -1.0)
    np.testing.assert_allclose(b0["gt"][2, 0], [5 / 50 * T, 10 / 50 * T], rtol=1e-6)
    # label = class index of the first instance's label
    assert b0["label"].tolist() == [1, 2, 0]
    assert batches[1]["label"].tolist() == [1, 2, 0]
    np.testing.assert_allclose(b0["duration"], [100.0, 60.0, 50.0])


def test_untrimmed_more_than_max_gt_keeps_longest_in_time_order(tmp_path, caplog):
    # 30 instances at 10 s spacing, lengths 1..30 s in a shuffled order; v_b has 26, v_c has 3
    rng = np.random.default_rng(3)
    lengths = rng.permutation(np.arange(1, 31)) * 0.25
    many = [(10.0 * k, 10.0 * k + lengths[k], "run") for k in range(30)]
    vids = [_video("v_a", many, duration=400.0),
            _video("v_b", many[:26], duration=400.0),
            _video("v_c", many[:3], duration=400.0)]
    path = _write(tmp_path / "many.h5", [("v_a", 1, {}), ("v_b", 2, {}), ("v_c", 3, {})])
    with caplog.at_level(logging.WARNING, logger="aher.data.pipeline"):
        ds = untrimmed_dataset(path, vids, CLASSES, batch_size=3, shuffle=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 video(s)" in warnings[0].getMessage()

    gt = _eager(ds, 1)[0]["gt"]
    keep = sorted(np.argsort(-lengths, kind="stable")[:25])              # the 25 longest, time order
    expected = np.array([[many[k][0], many[k][1]] for k in keep]) / 400.0 * T
    np.testing.assert_allclose(gt[0], expected, rtol=1e-6)
    assert np.all(np.diff(gt[0][:, 0]) > 0)
    keep_b = sorted(np.argsort(-lengths[:26], kind="stable")[:25])
    np.testing.assert_allclose(gt[1], np.array([many[k][:2] for k in keep_b]) / 400.0 * T, rtol=1e-6)
    np.testing.assert_array_equal(gt[2, 3:], -1.0)


def test_untrimmed_order_reproducible_reshuffled_and_complete(store, videos):
    def order(seed, n_epochs=3):
        ds = untrimmed_dataset(store, videos, CLASSES, batch_size=4, seed=seed)
        flat = [n for b in _eager(ds, -(-n_epochs * 6 // 4)) for n in _numbers(b)]
        return [flat[e * 6:(e + 1) * 6] for e in range(n_epochs)]

    a, b, c = order(0), order(0), order(1)
    assert a == b                                       # same seed -> same order
    assert a != c                                       # another seed -> another order
    for epoch in a + c:
        assert sorted(epoch) == [1, 2, 3, 4, 5, 6]      # each video once per epoch
    assert len({tuple(e) for e in a}) > 1               # reshuffled every epoch


def test_untrimmed_single_pass_keeps_last_partial_batch(store, videos):
    ds = untrimmed_dataset(store, videos, CLASSES, batch_size=4, seed=5, repeat=False)
    batches = _eager(ds)
    assert [len(b["label"]) for b in batches] == [4, 2]
    assert sorted(n for b in batches for n in _numbers(b)) == [1, 2, 3, 4, 5, 6]


def test_untrimmed_user_errors(tmp_path, store, videos):
    with pytest.raises(UserError, match="'v3'.*not in the annotations"):
        untrimmed_dataset(store, [v for v in videos if v.video_id != "v3"], CLASSES, batch_size=2)
    with pytest.raises(UserError, match="'v2'.*'swim'.*not in class_names"):
        untrimmed_dataset(store, videos, ["run", "jump"], batch_size=2)
    short = _write(tmp_path / "short.h5", [("v1", 1, {})], length=100)
    with pytest.raises(UserError, match=r"shape \[100, 8\], expected \[512, 8\]"):
        untrimmed_dataset(short, videos, CLASSES, batch_size=2)


def test_untrimmed_skips_videos_without_instances(tmp_path, videos, caplog):
    vids = videos + [_video("empty", [], duration=10.0)]
    path = _write(tmp_path / "e.h5", [("v1", 1, {}), ("empty", 2, {}), ("v2", 3, {})])
    with caplog.at_level(logging.WARNING, logger="aher.data.pipeline"):
        ds = untrimmed_dataset(path, vids, CLASSES, batch_size=2, shuffle=False, repeat=False)
    assert [_numbers(b) for b in _eager(ds)] == [[1, 3]]
    assert any("without any instance" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------------- segments

@pytest.fixture
def moments(tmp_path):
    labels = ["swim", "run", "jump", "run", "swim"]
    entries = [(f"clip{k // 2}#{k % 2}", k + 1, {"label": lab, "video": f"clip{k // 2}", "start": 0.0, "end": 1.0})
               for k, lab in enumerate(labels)]
    return _write(tmp_path / "moments.h5", entries, length=256)


def test_segment_stream_shapes_labels_and_context_ids(moments):
    ds = segment_dataset(moments, CLASSES, batch_size=4, seed=7, with_context_ids=True)
    spec = ds.element_spec
    assert set(spec) == {"features", "label", "ratio_id", "pos_id"}
    assert spec["features"].shape.as_list() == [4, 256, D]
    assert spec["ratio_id"].shape.as_list() == [4] and spec["ratio_id"].dtype == tf.int32
    assert spec["pos_id"].dtype == tf.int32 and spec["label"].dtype == tf.int32

    batches = _eager(ds, 150)                         # 600 samples = 120 epochs of 5
    numbers = np.array([n for b in batches for n in _numbers(b)])
    labels = np.concatenate([b["label"] for b in batches])
    expected_label = {1: 2, 2: 0, 3: 1, 4: 0, 5: 2}   # swim, run, jump, run, swim
    assert all(expected_label[n] == lab for n, lab in zip(numbers, labels))
    for e in range(120):
        assert sorted(numbers[e * 5:(e + 1) * 5]) == [1, 2, 3, 4, 5]
    ratio = np.concatenate([b["ratio_id"] for b in batches])
    pos = np.concatenate([b["pos_id"] for b in batches])
    assert set(ratio.tolist()) == set(range(14, 20))   # inclusive at both ends
    assert set(pos.tolist()) == set(range(1, 20))

    again = _eager(segment_dataset(moments, CLASSES, batch_size=4, seed=7, with_context_ids=True), 150)
    np.testing.assert_array_equal(ratio, np.concatenate([b["ratio_id"] for b in again]))
    np.testing.assert_array_equal(pos, np.concatenate([b["pos_id"] for b in again]))
    other = _eager(segment_dataset(moments, CLASSES, batch_size=4, seed=8, with_context_ids=True), 150)
    assert not np.array_equal(ratio, np.concatenate([b["ratio_id"] for b in other]))


def test_segment_stream_without_context_ids_and_errors(moments):
    ds = segment_dataset(moments, CLASSES, batch_size=2, shuffle=False, repeat=False)
    assert set(ds.element_spec) == {"features", "label"}
    assert [_numbers(b) for b in _eager(ds)] == [[1, 2], [3, 4], [5]]
    with pytest.raises(UserError, match="'clip0#0'.*'swim'.*not in class_names"):
        segment_dataset(moments, ["run", "jump"], batch_size=2)
    with pytest.raises(ValueError, match="ratio_range"):
        segment_dataset(moments, CLASSES, batch_size=2, ratio_range=(19, 14))


# ------------------------------------------------------------------------------- start position

def _plan(seed, n, count, ratio_range=(14, 19), pos_range=(1, 19)):
    """The first ``count`` (sample, ratio_id, pos_id) of the documented order: epoch e is
    ``default_rng([seed, e]).permutation(n)``, then one ratio and one pos draw per sample."""
    rows = []
    for epoch in range(-(-count // n)):
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(n)
        ratio = rng.integers(ratio_range[0], ratio_range[1] + 1, size=n)
        pos = rng.integers(pos_range[0], pos_range[1] + 1, size=n)
        rows += list(zip(order.tolist(), ratio.tolist(), pos.tolist()))
    return rows[:count]


def _segment_rows(batches):
    return [(n - 1, int(r), int(p)) for b in batches
            for n, r, p in zip(_numbers(b), b["ratio_id"], b["pos_id"])]


def test_stream_from_position_zero_follows_the_documented_order(moments):
    batches = _eager(segment_dataset(moments, CLASSES, batch_size=1, seed=7, with_context_ids=True), 23)
    assert _segment_rows(batches) == _plan(7, 5, 23)        # 4+ epochs of 5


@pytest.mark.parametrize("start", [1, 3, 5, 9, 12])
def test_stream_started_at_s_yields_the_elements_s_onwards_across_epochs(moments, start):
    reference = _plan(7, 5, start + 11)
    batches = _eager(segment_dataset(moments, CLASSES, batch_size=1, seed=7, with_context_ids=True, start=start), 11)
    assert _segment_rows(batches) == reference[start:]


def test_untrimmed_stream_started_at_a_batch_yields_the_following_batches(store, videos):
    straight = _eager(untrimmed_dataset(store, videos, CLASSES, batch_size=4, seed=3), 6)      # 4 epochs of 6
    later = _eager(untrimmed_dataset(store, videos, CLASSES, batch_size=4, seed=3, start=2 * 4), 4)
    for a, b in zip(straight[2:], later):
        for key in ("features", "gt", "label", "duration"):
            np.testing.assert_array_equal(a[key], b[key])


def test_start_placeholder_of_an_initializable_iterator(moments):
    reference = _plan(7, 5, 30)
    with tf.Graph().as_default():
        start = tf.compat.v1.placeholder(tf.int64, [])
        iterator = tf.compat.v1.data.make_initializable_iterator(
            segment_dataset(moments, CLASSES, batch_size=2, seed=7, with_context_ids=True, start=start * 2))
        nxt = iterator.get_next()
        with tf.compat.v1.Session() as sess:
            seen = {}
            for batch_index in (6, 0, 2):
                sess.run(iterator.initializer, {start: batch_index})
                seen[batch_index] = _segment_rows([sess.run(nxt) for _ in range(3)])
    for batch_index, rows in seen.items():
        assert rows == reference[2 * batch_index:2 * batch_index + 6], batch_index


def test_skipped_samples_are_not_read(tmp_path, monkeypatch):
    from aher.data import pipeline
    n = 200                                                      # read-ahead stays inside the 4th epoch
    store = _write(tmp_path / "many.h5", [(f"c{k}#0", k + 1, {"label": "run"}) for k in range(n)], length=4)
    reads = []
    original = pipeline._Reader.__call__

    def counting(self, index):
        reads.append(int(index))
        return original(self, index)

    monkeypatch.setattr(pipeline._Reader, "__call__", counting)
    start = 3 * n + 37                                           # 3 epochs, then 37 of the 4th
    batch = _eager(segment_dataset(store, CLASSES, batch_size=1, seed=7, with_context_ids=True, start=start), 1)
    plan = _plan(7, n, start + 1)
    assert _segment_rows(batch) == plan[start:]
    skipped = {sample for sample, _, _ in plan[3 * n:start]}    # the 37 samples of the 4th epoch before start
    assert reads and not skipped & set(reads)
    # the element and a bounded read-ahead (parallel reads, prefetch; more under load), not the epoch's rest
    assert len(reads) <= 32


def test_start_must_be_a_non_negative_integer(moments):
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="start must be a non-negative integer"):
            segment_dataset(moments, CLASSES, batch_size=2, start=bad)


# ------------------------------------------------------------------------------- eval

def test_eval_stream_file_order_batch_one(tmp_path, videos):
    vids = videos + [_video("no_gt", [], duration=7.0)]
    order = ["v5", "v1", "no_gt", "v3"]                   # file order != annotation order
    path = _write(tmp_path / "eval.h5", [(vid, i + 1, {}) for i, vid in enumerate(order)])
    ds = eval_dataset(path, vids, CLASSES)
    spec = ds.element_spec
    assert spec["features"].shape.as_list() == [1, T, D]
    assert spec["video_id"].shape.as_list() == [1] and spec["video_id"].dtype == tf.string
    batches = _eager(ds)
    assert [b["video_id"][0].decode() for b in batches] == order
    assert [_numbers(b) for b in batches] == [[1], [2], [3], [4]]
    assert [b["label"][0] for b in batches] == [2, 1, -1, 0]
    np.testing.assert_allclose([b["duration"][0] for b in batches], [20.0, 100.0, 7.0, 50.0])
    np.testing.assert_array_equal(batches[2]["gt"][0], -1.0)
    np.testing.assert_allclose(batches[0]["gt"][0, 0], [0.0, 10 / 20 * T])
    assert [b["video_id"][0].decode() for b in _eager(ds)] == order   # same again: no shuffle


# ------------------------------------------------------------------------------- graph mode

def test_graph_mode_one_shot_and_initializable(store, videos, moments):
    eager_order = [n for b in _eager(untrimmed_dataset(store, videos, CLASSES, batch_size=4, seed=3), 3)
                   for n in _numbers(b)]
    eager_ctx = _eager(segment_dataset(moments, CLASSES, batch_size=4, seed=3, with_context_ids=True), 2)
    with tf.Graph().as_default():
        ds = untrimmed_dataset(store, videos, CLASSES, batch_size=4, seed=3)
        nxt = tf.compat.v1.data.make_one_shot_iterator(ds).get_next()
        assert nxt["features"].shape.as_list() == [4, T, D]
        assert nxt["gt"].shape.as_list() == [4, 25, 2]
        seg = segment_dataset(moments, CLASSES, batch_size=4, seed=3, with_context_ids=True)
        seg_it = tf.compat.v1.data.make_initializable_iterator(seg)
        seg_next = seg_it.get_next()
        assert seg_next["features"].shape.as_list() == [4, 256, D]
        ev = tf.compat.v1.data.make_one_shot_iterator(eval_dataset(store, videos, CLASSES)).get_next()
        with tf.compat.v1.Session() as sess:
            graph_order = [n for _ in range(3) for n in _numbers(sess.run(nxt))]
            sess.run(seg_it.initializer)
            ctx = [sess.run(seg_next) for _ in range(2)]
            sess.run(seg_it.initializer)                       # re-initialising restarts epoch 0
            first_again = sess.run(seg_next)
            ids = []
            while True:
                try:
                    ids.append(sess.run(ev)["video_id"][0].decode())
                except tf.errors.OutOfRangeError:
                    break
    assert graph_order == eager_order
    for g, e in zip(ctx, eager_ctx):
        for key in ("features", "label", "ratio_id", "pos_id"):
            np.testing.assert_array_equal(g[key], e[key])
    np.testing.assert_array_equal(first_again["ratio_id"], ctx[0]["ratio_id"])
    assert ids == ["v1", "v2", "v3", "v4", "v5", "v6"]


# ------------------------------------------------------------------------------- memory

def test_reader_handles_cap_the_hdf5_metadata_cache(moments):
    """Without the cap a reader's RSS grows with the number of distinct moments read (HDF5's
    metadata cache, up to ~230 MiB); the cap relies on FeatureStore's h5py file (``_file``)."""
    from aher.data.pipeline import METADATA_CACHE_BYTES, _open_store
    with _open_store(moments) as store:
        assert store._file.id.get_mdc_config().max_size == METADATA_CACHE_BYTES


# ------------------------------------------------------------------------------- process exit

_EXIT_SCRIPT = """
import sys
import tensorflow as tf
from aher.data.pipeline import segment_dataset
# three prefetching streams as in training, eager and in a compat.v1 graph + Session, all alive
# when the interpreter exits
its = [iter(segment_dataset(sys.argv[1], ["run"], 16, seed=s)) for s in range(3)]
for it in its:
    next(it)
graph = tf.Graph()
with graph.as_default():
    nxt = [tf.compat.v1.data.make_one_shot_iterator(segment_dataset(sys.argv[1], ["run"], 16, seed=s)).get_next()
           for s in range(3)]
sess = tf.compat.v1.Session(graph=graph)
sess.run(nxt)
print("done", flush=True)
"""


def test_process_exits_with_live_iterators(tmp_path):
    """Exiting with live (prefetching) iterators deadlocked in interpreter teardown without the
    atexit drain of the pipeline (tf.data threads stuck on the GIL while holding h5py's lock, or
    an iterator destructor waiting for them). Without the drain this script hung in most runs here."""
    import os
    import subprocess
    import sys
    from aher.paths import PROJECT_ROOT

    rng = np.random.default_rng(0)
    path = tmp_path / "big.h5"        # real moment shape: reads of ~1 MiB are in flight at exit
    with FeatureStoreWriter(path, dim=2048, dtype="float16") as w:
        for k in range(32):
            w.add(f"c{k}#0", rng.standard_normal((256, 2048)).astype(np.float16), label="run")
    script = tmp_path / "exit.py"
    script.write_text(_EXIT_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(script), str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the process hung at exit with live pipeline iterators")
    assert proc.returncode == 0 and "done" in out, err[-2000:]


# ------------------------------------------------------------------------------- bad samples

def _poison(path, video, step, value=np.nan):
    with h5py.File(path, "r+") as fh:
        fh["features"][escape_id(video)][step, 1] = value


def _stream(kind, store, videos, moments):
    """(store, the dataset maker) of one kind of stream."""
    if kind == "segment":
        return moments, lambda: segment_dataset(moments, CLASSES, batch_size=2, shuffle=False)
    if kind == "untrimmed":
        return store, lambda: untrimmed_dataset(store, videos, CLASSES, batch_size=2, shuffle=False)
    return store, lambda: eval_dataset(store, videos, CLASSES)


@pytest.mark.parametrize("stream, video, step, value, where", [
    ("eval", "v3", 7, np.nan, "NaN at step 7 (of 512)"),
    ("untrimmed", "v3", 7, np.nan, "NaN at step 7 (of 512)"),
    ("segment", "clip1#0", 40, -np.inf, "-inf at step 40 (of 256)"),
])
def test_nan_or_inf_in_a_sample_is_one_line_naming_store_video_and_step(store, videos, moments, stream, video, step,
                                                                         value, where):
    path, make = _stream(stream, store, videos, moments)
    _poison(path, video, step, value)
    with tf.Graph().as_default():
        nxt = tf.compat.v1.data.make_one_shot_iterator(make()).get_next()
        with tf.compat.v1.Session() as sess, pytest.raises(tf.errors.OpError) as info:
            for _ in range(8):
                sess.run(nxt)
    error = read_error(info.value)
    assert isinstance(error, SampleError) and isinstance(error, UserError)
    assert str(error) == (f"{path}: features of video {video!r} are {where}; "
                          "re-extract or re-import this video's features")
    with pytest.raises(tf.errors.OpError) as eager:                  # eagerly too
        _eager(make())
    assert read_error(eager.value) is not None and str(read_error(eager.value)) == str(error)
    assert read_error(tf.errors.InvalidArgumentError(None, None, "something else")) is None
