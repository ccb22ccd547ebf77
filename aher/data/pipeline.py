"""tf.data input pipelines: feature stores + annotations -> batched tensors (no model code).

The three training streams of Algorithm 1 (paper_vs_code §7.3, paper_vs_code §8) and the evaluation stream:

``untrimmed_dataset``  untrimmed videos resized to ``length`` steps, with their GT boxes on the
                       ``length``-step grid and one label per video.
``segment_dataset``    foreground segments / moments (ids ``"<video>#<k>"``, meta ``label`` = class
                       name); optionally with the context-generation ids ``ratio_id`` and ``pos_id``.
``eval_dataset``       evaluation videos, batch 1, store order, plus ``video_id`` and ``duration``.

Contract (fixed by ``docs/data_layer_contract.md``)
---------------------------------------------------
* Outputs are dicts of tensors with static shapes: ``features [B, T, D] float32``,
  ``gt [B, max_gt, 2] float32`` (grid units, ``-1`` padding), ``label [B] int32``,
  ``duration [B] float32`` (seconds), ``ratio_id``/``pos_id [B] int32``, ``video_id [B] string``.
  The batch dimension is static whenever the remainder is dropped: always for ``repeat=True``
  (training: epochs are chained before batching, so no sample is ever lost) and for the eval
  stream (batch 1). With ``repeat=False`` the last, possibly short, batch is kept and B is
  ``None``: a single pass then sees every sample exactly once.
* GT on the grid: ``g = clip(t / covered_seconds, 0, 1) * T`` with ``covered_seconds`` taken from
  the annotation (``feature_frame / duration_frame * duration`` when both are known), reference
  paper_vs_code §1.4. A video with more than ``max_gt`` instances keeps its ``max_gt`` longest instances (length
  measured on the grid after clipping; ties: earlier instance first), which are then put in time
  order (by start, then end). One ``logging`` warning per dataset build reports how many videos
  were truncated.
* Label of a video = index in ``class_names`` of its first instance's label (paper_vs_code §1.4).
  Label of a segment = index of its store meta ``label``.
* The samples are the entries of the store (in ``/index`` order); ``videos`` is only where their
  annotations are looked up, so it may hold more videos than the store (e.g. the whole GT file).
  A store entry without an annotation, or whose label is not in ``class_names``, is a user error
  (:class:`aher.cli.UserError`, raised when the dataset is built). Training videos without any
  instance are skipped (one warning); in the eval stream they get label ``-1`` and an all ``-1`` GT.
* Every sample read is checked: NaN/inf or a wrong shape stops the stream with a
  :class:`SampleError` naming the store, the video and the first bad time step. It reaches the
  consumer as the ``tf.errors.OpError`` of ``session.run``; :func:`read_error` turns that back into
  the one-line error (the check costs one ``np.isfinite`` pass, about a tenth of a read).

Order and randomness
--------------------
The sample order of epoch ``e`` is ``np.random.default_rng([seed, e]).permutation(n)`` (identity
when ``shuffle=False``); ``ratio_id``/``pos_id`` are drawn from the same generator, one per sample,
uniformly in the inclusive ranges. The order is therefore a pure function of ``(seed, epoch)``:
reshuffled every epoch, reproducible across runs, identical in eager and graph mode, independent of
TensorFlow's global seed and of the number of parallel readers. Every sample is seen exactly once
per epoch; iterating a dataset again starts again from its start position.

Start position: the training streams take ``start`` (default 0), a scalar int64 -- a Python int or
a tensor, e.g. a placeholder fed when an initializable iterator is initialized.  The stream then
yields the elements ``start, start + 1, ...`` of the stream that starts at 0 (batches of ``B``
consecutive elements, so ``start = k * B`` begins at its batch ``k``): it begins at epoch
``start // n`` and skips ``start % n`` entries of that epoch's order before any feature is read
(``aher.train.loop`` starts a run's streams at the iteration it begins with).

Reading and memory
------------------
Only an index is held in memory: ids, labels, durations and GT arrays, O(#samples) small arrays
(about 220 bytes per video, 4 bytes + the id per segment). Features are read one sample at a time
from HDF5 inside ``tf.numpy_function`` in a parallel ``map`` (``num_parallel_calls=READ_PARALLELISM``
= 2, ordered), then batched and prefetched (``PREFETCH_BATCHES`` batches). Each OS thread that runs a
read opens its own read-only :class:`FeatureStore` handle lazily and keeps it (one per thread,
keyed by thread id), so no h5py object is shared across threads. h5py serialises HDF5 calls with
its global lock and holds the GIL, so parallel reads mainly overlap a read with the
float16->float32 conversion, the batching copy and the consumer's compute: at the real moment
shape ([256, 2048] float16, 2 cores) a micro-benchmark gave 1.3-1.5 ms/sample with 2 reads in
flight vs 1.7 ms serial (0.85 vs 1.35 ms on a quieter machine); the full bench
(``reports/bench_input.md``) reads 400-670 samples/s on the shared machine, where the settings
are within run-to-run noise. Peak memory is bounded by the samples in
flight (parallel calls + the batch being assembled + the prefetched batches) and a capped HDF5
metadata cache (``METADATA_CACHE_BYTES``), not by the store size: peak RSS was the same with
1,000 and 10,000 moments.

Process exit: an ``atexit`` hook stops the reads and lets the pipelines go idle before the
interpreter tears down (see :class:`_ReadGate`); without it a process that exits with a live
prefetching iterator can deadlock in teardown. Reads requested after that return zeros.

Works eagerly and in ``tf.compat.v1`` graph mode (``make_one_shot_iterator`` /
``make_initializable_iterator`` + ``Session``).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from aher.errors import UserError
from aher.data.features import FeatureStore, describe_non_finite, first_non_finite

__all__ = ["untrimmed_dataset", "segment_dataset", "eval_dataset", "read_error", "PipelineError", "SampleError",
           "PREFETCH_BATCHES", "READ_PARALLELISM", "METADATA_CACHE_BYTES"]

logger = logging.getLogger(__name__)

#: batches kept ready ahead of the consumer (a fixed number, so peak memory is predictable).
PREFETCH_BATCHES = 2
#: parallel per-sample reads (``num_parallel_calls`` of the read ``map``), read when a dataset is
#: built. A fixed number, not ``tf.data.AUTOTUNE``: reads hold the GIL, so more than 2 in flight
#: buys little, and the autotuner raised the parallelism of a loaded machine enough to add
#: ~400 MiB of peak RSS in ``bench/bench_input.py`` (which compares the settings).
READ_PARALLELISM = 2


#: cap of HDF5's metadata cache per open store (bytes). HDF5's default (adaptive, up to 32 MiB of
#: entries) let a process's RSS grow with the number of distinct videos/moments it touched, by
#: ~215 MiB after 20k of them (the RSS cost is ~7-10x the cache's own accounting). With a 1 MiB
#: cap the growth was +6 MiB and reads were not slower (measured on a 20k-entry store; each
#: sample opens one dataset once, so a large cache buys nothing).
METADATA_CACHE_BYTES = 1 << 20


class PipelineError(UserError):
    """A store or its annotations cannot be turned into a dataset (one-line message)."""


class SampleError(PipelineError):
    """One sample read by a pipeline is unusable (NaN/inf, wrong shape); names the store and the video."""


#: the last sample errors raised inside ``tf.numpy_function`` (message -> error), for :func:`read_error`
_SAMPLE_ERRORS = {}
_SAMPLE_ERRORS_KEPT = 16
_SAMPLE_ERRORS_LOCK = threading.Lock()


def _sample_error(message):
    """Record and return a :class:`SampleError` (TensorFlow re-raises it as an ``OpError`` carrying its text)."""
    error = SampleError(message)
    with _SAMPLE_ERRORS_LOCK:
        _SAMPLE_ERRORS.pop(message, None)
        _SAMPLE_ERRORS[message] = error
        while len(_SAMPLE_ERRORS) > _SAMPLE_ERRORS_KEPT:
            _SAMPLE_ERRORS.pop(next(iter(_SAMPLE_ERRORS)))
    return error


def read_error(exc):
    """The :class:`SampleError` behind ``exc`` (a ``tf.errors.OpError`` of a pipeline read), or None.

    A read that finds a bad sample raises inside ``tf.numpy_function``; TensorFlow hands the
    consumer an ``OpError`` whose message embeds the Python traceback.  Consumers catch the
    ``OpError`` of ``session.run`` / ``next`` and raise this one-line error instead."""
    text = str(getattr(exc, "message", "") or exc)
    with _SAMPLE_ERRORS_LOCK:
        found = [error for message, error in _SAMPLE_ERRORS.items() if message in text]
    return found[-1] if found else None


def _open_store(path):
    """Open a :class:`FeatureStore` with a small HDF5 metadata cache (see METADATA_CACHE_BYTES).

    FeatureStore has no option for it, so this reaches its h5py file (``_file``) when present and
    silently keeps HDF5's defaults otherwise.
    """
    store = FeatureStore(path)
    fid = getattr(getattr(store, "_file", None), "id", None)
    if fid is not None and hasattr(fid, "get_mdc_config"):
        try:
            config = fid.get_mdc_config()
            config.set_initial_size = True
            config.initial_size = METADATA_CACHE_BYTES // 2
            config.min_size = min(config.min_size, METADATA_CACHE_BYTES // 4)
            config.max_size = METADATA_CACHE_BYTES
            fid.set_mdc_config(config)
        except Exception as exc:  # noqa: BLE001 - an optimisation only: keep the defaults
            logger.debug("%s: could not cap the HDF5 metadata cache (%s)", path, exc)
    return store


# --------------------------------------------------------------------------------------------
# index building (plain numpy, O(#samples) small arrays)
# --------------------------------------------------------------------------------------------

@dataclass
class _VideoIndex:
    ids: list            # store ids, store order
    gt: np.ndarray       # [n, max_gt, 2] float32, grid units, -1 padded
    label: np.ndarray    # [n] int32
    duration: np.ndarray  # [n] float32, seconds
    length: int
    dim: int


def _class_index(class_names, where):
    names = [str(c) for c in class_names]
    index = {}
    for i, name in enumerate(names):
        if name in index:
            raise PipelineError(f"{where}: class {name!r} appears twice in class_names")
        index[name] = i
    if not index:
        raise PipelineError(f"{where}: class_names is empty")
    return index


def _as_str(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _as_str(value.item())
    return str(value)


def _gt_boxes(video, length, max_gt, where):
    """GT of one video on the grid: ([k, 2] float32 with k <= max_gt, truncated?)."""
    covered = float(video.covered_seconds)
    if not np.isfinite(covered) or covered <= 0:
        raise PipelineError(f"{where}: video {video.video_id!r} has covered_seconds={covered!r} "
                            f"(duration/duration_frame/feature_frame must be > 0)")
    t = np.array([[inst.start, inst.end] for inst in video.instances], dtype=np.float64).reshape(-1, 2)
    g = np.clip(t / covered, 0.0, 1.0) * length
    truncated = len(g) > max_gt
    if truncated:
        # max_gt longest (stable: ties keep the earlier instance), then in time order
        longest = np.argsort(-(g[:, 1] - g[:, 0]), kind="stable")[:max_gt]
        keep = sorted(longest.tolist(), key=lambda i: (t[i, 0], t[i, 1], i))
        g = g[keep]
    return g.astype(np.float32), truncated


def _check_positive(name, value):
    if isinstance(value, bool) or int(value) != value or int(value) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _first_entry_shape(store, path):
    ids = store.ids()
    if not ids:
        raise PipelineError(f"{path}: the feature store is empty")
    return tuple(store.get(ids[0]).shape)


def _video_index(store_path, videos, class_names, length, max_gt, training):
    path = str(store_path)
    length = _check_positive("length", length)
    max_gt = _check_positive("max_gt", max_gt)
    classes = _class_index(class_names, path)
    by_id = {}
    for video in videos:
        by_id.setdefault(video.video_id, video)

    with _open_store(path) as store:
        first = _first_entry_shape(store, path)
        dim = int(store.dim)
        if first != (length, dim):
            raise PipelineError(f"{path}: features have shape {list(first)}, expected [{length}, {dim}] "
                                f"(untrimmed/eval stores must be resized to length={length})")
        store_ids = list(store.ids())

    ids, gts, labels, durations = [], [], [], []
    n_truncated = 0
    empty = []
    for vid in store_ids:
        video = by_id.get(vid)
        if video is None:
            raise PipelineError(f"{path}: video {vid!r} is in the store but not in the annotations")
        if not video.instances:
            if training:
                empty.append(vid)
                continue
            label = -1
            boxes = np.zeros((0, 2), np.float32)
        else:
            first_label = str(video.instances[0].label)
            if first_label not in classes:
                raise PipelineError(f"{path}: video {vid!r} has label {first_label!r}, which is not in class_names")
            label = classes[first_label]
            boxes, truncated = _gt_boxes(video, length, max_gt, path)
            n_truncated += int(truncated)
        gt = np.full((max_gt, 2), -1.0, np.float32)
        gt[: len(boxes)] = boxes
        ids.append(vid)
        gts.append(gt)
        labels.append(label)
        durations.append(float(video.duration))

    if n_truncated:
        logger.warning("%s: %d video(s) have more than %d instances; kept the %d longest of each",
                       path, n_truncated, max_gt, max_gt)
    if empty:
        logger.warning("%s: skipped %d video(s) without any instance (e.g. %r)", path, len(empty), empty[0])
    if not ids:
        raise PipelineError(f"{path}: no usable video (every store entry lacks instances)")
    return _VideoIndex(ids=ids, gt=np.stack(gts), label=np.asarray(labels, np.int32),
                       duration=np.asarray(durations, np.float32), length=length, dim=dim)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------

class _ReadGate:
    """Admits HDF5 reads until the interpreter starts to exit, then drains the pipelines.

    Why: (1) a tf.data thread can be switched out by the GIL while it holds h5py's global lock
    (``phil``); once the interpreter finalises, that thread never gets the GIL back and the main
    thread deadlocks as soon as it frees any h5py object (module teardown does). (2) Destroying a
    live tf.data iterator at teardown waits for the Python calls in flight, which can no longer
    get the GIL either. Both were seen here (a script that exits with a live training iterator
    hung in most runs). So an ``atexit`` hook, which runs while other threads can still take the
    GIL, stops the reads: later calls return zeros without touching HDF5, so the pipelines run
    into their (bounded) buffers and go idle; it waits for the reads in flight and for the
    pipelines to stay idle for ``settle`` seconds, then closes the reader handles.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0
        self._closed = False
        self._last_call = time.monotonic()
        self._stores = weakref.WeakSet()

    def enter(self):
        """True if the caller may read (and must call :meth:`leave`), False after shutdown."""
        with self._cond:
            self._last_call = time.monotonic()
            if self._closed:
                return False
            self._active += 1
            return True

    def leave(self):
        with self._cond:
            self._active -= 1
            self._last_call = time.monotonic()
            self._cond.notify_all()

    def register(self, store):
        with self._cond:
            self._stores.add(store)

    def shutdown(self, timeout=30.0, settle=0.3):
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            self._cond.wait_for(lambda: self._active == 0, timeout=timeout)
            stores = list(self._stores)
        while time.monotonic() < deadline:
            with self._cond:
                idle = time.monotonic() - self._last_call
            if idle >= settle:
                break
            time.sleep(settle / 4)
        for store in stores:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass


_GATE = _ReadGate()
atexit.register(_GATE.shutdown)


class _Reader:
    """Reads one sample by index, with one lazily opened read-only store handle per OS thread.

    Handles are keyed by ``threading.get_ident()``, not kept in ``threading.local``: tf.data
    threads are not Python threads, and ``numpy_function`` gives each call a fresh Python thread
    state, so a ``threading.local`` is empty at every call (the store would be reopened per
    sample). The dict is bounded by the size of TensorFlow's thread pools.
    """

    def __init__(self, path, ids, shape):
        self.path = str(path)
        self.ids = ids
        self.shape = tuple(shape)
        self._stores = {}
        self._lock = threading.Lock()

    def _store(self):
        tid = threading.get_ident()
        store = self._stores.get(tid)
        if store is None:
            store = _open_store(self.path)
            with self._lock:
                self._stores[tid] = store
            _GATE.register(store)
        return store

    def __call__(self, index):
        vid = self.ids[int(index)]
        if not _GATE.enter():                    # interpreter exiting: do not touch HDF5
            return np.zeros(self.shape, np.float32)
        try:
            x = self._store().get(vid)
        finally:
            _GATE.leave()
        if tuple(x.shape) != self.shape:
            raise _sample_error(f"{self.path}: features of video {vid!r} have shape {list(x.shape)}, "
                                f"expected {list(self.shape)}")
        bad = first_non_finite(x)
        if bad is not None:
            raise _sample_error(f"{self.path}: features of video {vid!r} are {describe_non_finite(bad, x.shape[0])}; "
                                "re-extract or re-import this video's features")
        return np.asarray(x, dtype=np.float32)


def _read_features(reader, index):
    x = tf.numpy_function(reader, [index], tf.float32, stateful=False, name="read_features")
    x.set_shape(reader.shape)
    return x


def _start_position(start):
    """``start`` as a scalar int64 tensor; a Python value must be a non-negative integer."""
    if tf.is_tensor(start):
        return tf.cast(start, tf.int64)
    if isinstance(start, bool) or int(start) != start or int(start) < 0:
        raise ValueError(f"start must be a non-negative integer, got {start!r}")
    return tf.constant(int(start), tf.int64)


def _sample_plan(n, seed, shuffle, repeat, ratio_range=(14, 19), pos_range=(1, 19), start=0):
    """Dataset of (index int64, ratio_id int32, pos_id int32): epoch after epoch, each epoch a
    permutation of range(n) drawn from default_rng([seed, epoch]).

    ``start`` (scalar int64, a Python int or a tensor such as a placeholder fed when an
    initializable iterator is initialized): the plan begins at its element ``start``, i.e. at
    epoch ``start // n`` after skipping ``start % n`` elements of that epoch.  Skipped elements
    are only plan entries (nothing is read for them)."""
    if isinstance(seed, bool) or int(seed) != seed or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    (r_lo, r_hi), (p_lo, p_hi) = ratio_range, pos_range
    start = _start_position(start)

    def plan(epoch):
        rng = np.random.default_rng([seed, int(epoch)])
        order = rng.permutation(n) if shuffle else np.arange(n)
        ratio = rng.integers(r_lo, r_hi + 1, size=n)
        pos = rng.integers(p_lo, p_hi + 1, size=n)
        return order.astype(np.int64), ratio.astype(np.int32), pos.astype(np.int32)

    def one_epoch(epoch):
        order, ratio, pos = tf.numpy_function(plan, [epoch], (tf.int64, tf.int32, tf.int32),
                                              stateful=False, name="epoch_plan")
        for t in (order, ratio, pos):
            t.set_shape([n])
        return tf.data.Dataset.from_tensor_slices((order, ratio, pos))

    first_epoch = start // n
    epochs = (tf.data.Dataset.counter(first_epoch, dtype=tf.int64) if repeat
              else tf.data.Dataset.range(first_epoch, 1))
    return epochs.flat_map(one_epoch).skip(start % n)


def _finish(ds, batch_size, drop_remainder):
    """Batches, prefetched; tf.data's autotuner off: parallelism and prefetch are fixed numbers
    here, and its thread kept closing a session waiting for up to a minute (``~IteratorResource``)."""
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(PREFETCH_BATCHES)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def _range(name, value):
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of integers (lo, hi), got {value!r}") from None
    if lo > hi:
        raise ValueError(f"{name} must have lo <= hi, got {value!r}")
    return lo, hi


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------

def untrimmed_dataset(store_path, videos, class_names, batch_size, length=512, max_gt=25, seed=0,
                      shuffle=True, repeat=True, start=0):
    """Untrimmed training stream: dicts ``features [B,length,D] f32, gt [B,max_gt,2] f32,
    label [B] i32, duration [B] f32``. ``start``: the sample position to begin at (scalar int64,
    Python int or tensor). See the module docstring for order, start, GT and errors."""
    batch_size = _check_positive("batch_size", batch_size)
    index = _video_index(store_path, videos, class_names, length, max_gt, training=True)
    reader = _Reader(store_path, index.ids, (index.length, index.dim))
    gt, label, duration = index.gt, index.label, index.duration

    def load(i, _ratio, _pos):
        return {"features": _read_features(reader, i),
                "gt": tf.gather(gt, i),
                "label": tf.gather(label, i),
                "duration": tf.gather(duration, i)}

    ds = _sample_plan(len(index.ids), seed, shuffle, repeat, start=start)
    ds = ds.map(load, num_parallel_calls=READ_PARALLELISM, deterministic=True)
    return _finish(ds, batch_size, drop_remainder=repeat)


def segment_dataset(store_path, class_names, batch_size, seed=0, shuffle=True, repeat=True,
                    with_context_ids=False, ratio_range=(14, 19), pos_range=(1, 19), start=0):
    """Foreground / moment stream: dicts ``features [B,T,D] f32, label [B] i32`` and, with
    ``with_context_ids``, ``ratio_id``/``pos_id [B] i32`` drawn uniformly in the inclusive ranges
    (one draw per sample, reproducible from ``seed``). T and D are those of the store.
    ``start``: the sample position to begin at (scalar int64, Python int or tensor)."""
    path = str(store_path)
    batch_size = _check_positive("batch_size", batch_size)
    ratio_range = _range("ratio_range", ratio_range)
    pos_range = _range("pos_range", pos_range)
    classes = _class_index(class_names, path)
    with _open_store(path) as store:
        shape = _first_entry_shape(store, path)
        if len(shape) != 2 or shape[1] != int(store.dim):
            raise PipelineError(f"{path}: features have shape {list(shape)}, expected [T, {int(store.dim)}]")
        ids = list(store.ids())
        labels = np.empty(len(ids), np.int32)
        for k, sid in enumerate(ids):
            meta = store.meta(sid)
            if "label" not in meta:
                raise PipelineError(f"{path}: segment {sid!r} has no 'label' meta")
            name = _as_str(meta["label"])
            if name not in classes:
                raise PipelineError(f"{path}: segment {sid!r} has label {name!r}, which is not in class_names")
            labels[k] = classes[name]
    reader = _Reader(path, ids, shape)

    def load(i, ratio, pos):
        out = {"features": _read_features(reader, i), "label": tf.gather(labels, i)}
        if with_context_ids:
            out["ratio_id"] = ratio
            out["pos_id"] = pos
        return out

    ds = _sample_plan(len(ids), seed, shuffle, repeat, ratio_range, pos_range, start=start)
    ds = ds.map(load, num_parallel_calls=READ_PARALLELISM, deterministic=True)
    return _finish(ds, batch_size, drop_remainder=repeat)


def eval_dataset(store_path, videos, class_names, length=512, max_gt=25):
    """Evaluation stream: batch 1, store order, one pass. Dicts ``features [1,length,D] f32,
    gt [1,max_gt,2] f32, label [1] i32 (-1 for a video without instances), duration [1] f32,
    video_id [1] string``."""
    index = _video_index(store_path, videos, class_names, length, max_gt, training=False)
    reader = _Reader(store_path, index.ids, (index.length, index.dim))
    gt, label, duration = index.gt, index.label, index.duration
    video_ids = np.array(index.ids, dtype=object)

    def load(i, _ratio, _pos):
        return {"features": _read_features(reader, i),
                "gt": tf.gather(gt, i),
                "label": tf.gather(label, i),
                "duration": tf.gather(duration, i),
                "video_id": tf.gather(tf.constant(video_ids, dtype=tf.string), i)}

    ds = _sample_plan(len(index.ids), 0, shuffle=False, repeat=False)
    ds = ds.map(load, num_parallel_calls=READ_PARALLELISM, deterministic=True)
    return _finish(ds, 1, drop_remainder=True)
