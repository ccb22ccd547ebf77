"""Feature storage and fixed-length resampling.

This module stores per-video feature matrices and resamples them to a fixed number of steps.
It knows nothing about labels, classes or models: whatever metadata a caller passes is stored
as-is and handed back unchanged.

Contract (see ``docs/data_layer_contract.md``)
-------------------------------------------
``resize(features, n_frames, duration, length)``
    The fixed-length resampling of the reference (paper_vs_code §1.2, upstream ``pool_fea_interpolate_th``):
    ``[N, D] -> [length, D]`` float32, vectorised over bins and feature columns.

``FeatureStore(path)``
    Read-only, lazy view of an HDF5 feature store.  Opening it reads only the index of ids;
    ``get(video_id)`` reads one video's dataset and returns float32 ``[N, D]``.

``first_non_finite(features)``
    ``(step, value)`` of the first time step holding NaN or inf (None when all are finite); the
    writer refuses such features and the input pipelines check every sample they read with it.

``FeatureStoreWriter(path, dim, dtype="float16", attrs=None)``
    Context manager that writes a store atomically: everything goes to
    ``<path>.tmp-<pid>`` in the same folder, which is moved over ``path`` with ``os.replace``
    when the ``with`` block ends normally.  If the block raises, the temporary file is deleted
    and ``path`` is left untouched.

HDF5 layout
-----------
``/features/<key>``
    One dataset per video, ``[N, D]``, dtype float16 or float32, chunked along time (chunks of
    at most ~1 MiB, whole rows), uncompressed unless ``compression=`` is passed.  Dataset
    attrs are the metadata given to ``add`` (numbers and strings; ``None`` values are skipped).
    ``<key>`` is the video id escaped for HDF5 (see below).
``/index``
    1-D variable-length UTF-8 string dataset with the (unescaped) video ids in insertion
    order, so that listing does not walk the group.
root attrs
    ``dim``, ``dtype``, ``feature_stride`` (= 8), ``format`` (= "aher-features"),
    ``format_version`` (= 1), ``count``, plus the caller's ``attrs``.

Video-id escaping
-----------------
Any non-empty string without NUL characters is a valid video id.  HDF5 uses ``/`` as the path separator and gives
``.`` a special meaning, so the dataset name is the id with ``%`` -> ``%25``, ``/`` -> ``%2F``
and a leading ``.`` -> ``%2E`` (an injective, reversible percent-escape; ids
without those characters are stored verbatim).  Callers never see escaped names: ``ids()``
returns the ids exactly as written.

Limits
------
* float16 storage keeps ~3 significant digits and overflows above 65504; the writer rejects
  non-finite values both before and after the cast (use float32 for large-magnitude features).
* A store holds one dimension ``D`` for all videos.
* The reader holds the HDF5 file open; h5py serialises reads within one process.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from aher.errors import UserError

FEATURE_STRIDE = 8
FORMAT_NAME = "aher-features"
FORMAT_VERSION = 1
_DTYPES = ("float16", "float32")
_CHUNK_BYTES = 1 << 20
_EDGE_EPS = 1e-4
_UNESCAPE = {"25": "%", "2F": "/", "2E": "."}


class FeatureStoreError(UserError):
    """A feature store cannot be read or written as asked (one-line message naming the file)."""


class MissingVideoError(FeatureStoreError, KeyError):
    """The requested video id is not in the store (also a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------- resampling


def resize(features: np.ndarray, n_frames: float, duration: float, length: int) -> np.ndarray:
    """Resample ``features`` ``[N, D]`` (one row per 8 frames) to ``[length, D]`` float32.

    paper_vs_code §1.2: feature k sits at ``x_k = st/2 + k*st`` seconds with ``st = 8 / fps`` and
    ``fps = n_frames / duration``; the covered span is ``N*st``.  Output bin i spans
    ``[i, i+1] / length * covered``, clamped to ``[x_0 + 1e-4, x_{N-1} - 1e-4]``; the bin is the
    mean of the linear interpolation at 3 equally spaced points from ``lo`` to ``hi``
    (inclusive), or all zeros when ``hi < x_0`` or ``lo > x_{N-1}``.  ``N == 1`` tiles the row.

    All ``3 * length`` sample positions are computed at once; each is turned into a pair of
    neighbouring rows and a weight, and the rows are blended for all columns together.
    """
    feats = np.asarray(features)
    if feats.ndim != 2:
        raise ValueError(f"resize: features must be 2-D [N, D], got shape {feats.shape}")
    n, dim = feats.shape
    length = int(length)
    if n < 1:
        raise ValueError("resize: features have no rows")
    if length < 1:
        raise ValueError(f"resize: length must be >= 1, got {length}")
    if n == 1:
        return np.tile(feats.astype(np.float32), (length, 1))
    n_frames = float(n_frames)
    duration = float(duration)
    if not (np.isfinite(n_frames) and n_frames > 0 and np.isfinite(duration) and duration > 0):
        raise ValueError(f"resize: need positive n_frames and duration, got {n_frames}, {duration}")

    step = FEATURE_STRIDE * duration / n_frames          # seconds per feature (st)
    covered = n * step
    first = step / 2.0                                   # x_0
    last = first + (n - 1) * step                        # x_{N-1}

    edges = np.arange(length + 1, dtype=np.float64) / length * covered
    lo = np.maximum(first + _EDGE_EPS, edges[:-1])
    hi = np.minimum(last - _EDGE_EPS, edges[1:])
    valid = ~((hi < first) | (lo > last))

    # [length, 3] sample times: lo, (lo+hi)/2, hi
    samples = lo[:, None] + (hi - lo)[:, None] * np.array([0.0, 0.5, 1.0])
    pos = np.clip((samples - first) / step, 0.0, n - 1)  # fractional row index
    left = np.minimum(np.floor(pos).astype(np.int64), n - 2)
    weight = pos - left                                  # in [0, 1]

    out = np.zeros((length, dim), dtype=np.float64)
    for k in range(3):                                   # 3 samples per bin, all bins at once
        w = weight[:, k:k + 1]
        out += feats[left[:, k]] * (1.0 - w)             # only the needed rows are gathered
        out += feats[left[:, k] + 1] * w
    out /= 3.0
    out[~valid] = 0.0
    return out.astype(np.float32)


# --------------------------------------------------------------------------- value checks


def first_non_finite(features) -> tuple[int, float] | None:
    """``(step, value)`` of the first row (time step) of ``features`` ``[N, D]`` that holds NaN or
    inf, with the first such value; None when every value is finite (one vectorised pass)."""
    arr = np.asarray(features)
    finite = np.isfinite(arr)
    if finite.all():
        return None
    bad_rows = ~finite.reshape(arr.shape[0], -1).all(axis=1) if arr.ndim > 1 else ~finite
    step = int(np.argmax(bad_rows))
    row = np.atleast_1d(arr[step])
    return step, float(row[~np.isfinite(row)][0])


def describe_non_finite(found, n_steps) -> str:
    """``"NaN at step 3 (of 128)"`` for a :func:`first_non_finite` result."""
    step, value = found
    return f"{'NaN' if np.isnan(value) else value} at step {step} (of {n_steps})"


# --------------------------------------------------------------------------- id escaping


def escape_id(video_id: str) -> str:
    """HDF5-safe dataset name for ``video_id`` (see module docstring)."""
    if not isinstance(video_id, str) or not video_id:
        raise ValueError(f"video id must be a non-empty string, got {video_id!r}")
    key = video_id.replace("%", "%25").replace("/", "%2F")
    if key.startswith("."):
        key = "%2E" + key[1:]
    return key


def unescape_id(key: str) -> str:
    """Inverse of :func:`escape_id`."""
    out = []
    i = 0
    while i < len(key):
        code = key[i + 1:i + 3]
        if key[i] == "%" and code in _UNESCAPE:
            out.append(_UNESCAPE[code])
            i += 3
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def _plain(value):
    """HDF5 attribute value -> plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype == object else value.tolist()
    return value


def _check_attr(name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, str, np.integer, np.floating)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str)) for v in value):
        if value and all(isinstance(v, str) for v in value):
            return np.array(value, dtype=h5py.string_dtype())
        return np.asarray(value)
    raise TypeError(f"metadata {name!r} must be a number or a string, got {type(value).__name__}")


# --------------------------------------------------------------------------- reader


class FeatureStore:
    """Read-only, lazy view of a feature store written by :class:`FeatureStoreWriter`."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FeatureStoreError(f"{self.path}: feature store not found")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise FeatureStoreError(f"{self.path}: not a readable HDF5 file ({exc})") from None
        try:
            if "features" not in self._file or "index" not in self._file or "dim" not in self._file.attrs:
                raise FeatureStoreError(f"{self.path}: not an aher feature store (no /features, /index or dim); "
                                        "features in another layout (e.g. one HDF5 dataset per video) are read from "
                                        "a folder of per-video .npy or .csv files (python -m aher.data.prepare "
                                        "--features FOLDER, or python -m aher.data.import_features)")
            self._ids = [str(v) for v in self._file["index"].asstr()[()]]
            self.dim = int(self._file.attrs["dim"])
            self.dtype = str(_plain(self._file.attrs.get("dtype", "float32")))
        except BaseException:
            self._file.close()
            raise
        self._id_set = set(self._ids)
        self._group = self._file["features"]

    # -- container protocol
    def ids(self) -> list[str]:
        """Video ids in the order they were written."""
        return list(self._ids)

    def __contains__(self, video_id) -> bool:
        return video_id in self._id_set

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self):
        return iter(list(self._ids))

    @property
    def attrs(self) -> dict:
        """Root attributes (dim, dtype, feature_stride, ... and the writer's ``attrs``)."""
        return {k: _plain(v) for k, v in self._file.attrs.items()}

    def _dataset(self, video_id):
        if video_id not in self._id_set:
            raise MissingVideoError(f"{self.path}: no video {video_id!r} in the feature store")
        return self._group[escape_id(video_id)]

    def get(self, video_id) -> np.ndarray:
        """Features of one video, float32 ``[N, D]``."""
        return self._dataset(video_id)[()].astype(np.float32, copy=False)

    def meta(self, video_id) -> dict:
        """Metadata written with the video (plain Python numbers/strings)."""
        return {k: _plain(v) for k, v in self._dataset(video_id).attrs.items()}

    def shape(self, video_id) -> tuple[int, int]:
        """``(N, D)`` of one video without reading its data."""
        return tuple(self._dataset(video_id).shape)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.path)!r}, videos={len(self._ids)}, dim={self.dim})"


# --------------------------------------------------------------------------- writer


class FeatureStoreWriter:
    """Write a feature store atomically (use as a context manager).

    ``add(video_id, features, **meta)`` stores one ``[N, D]`` matrix.  Duplicate ids, a wrong
    ``D``, empty or non-2-D arrays and NaN/inf values raise :class:`FeatureStoreError` naming the
    id.  On normal exit the temporary file replaces ``path``; on an exception it is deleted.
    """

    def __init__(self, path, dim, dtype="float16", attrs=None, *, compression=None):
        if str(dtype) not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
        self.path = Path(path)
        self.dim = int(dim)
        if self.dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dtype = str(dtype)
        self._np_dtype = np.dtype(self.dtype)
        self._compression = compression
        self._attrs = {k: _check_attr(k, v) for k, v in (attrs or {}).items()}
        if not self.path.parent.is_dir():
            raise FeatureStoreError(f"{self.path}: output folder {self.path.parent} does not exist")
        self._tmp = self.path.parent / f"{self.path.name}.tmp-{os.getpid()}"
        try:
            self._file = h5py.File(self._tmp, "w")
        except OSError as exc:
            raise FeatureStoreError(f"{self.path}: cannot write ({exc})") from None
        self._group = self._file.create_group("features")
        self._ids: list[str] = []
        self._id_set: set[str] = set()
        self._done = False

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, video_id) -> bool:
        return video_id in self._id_set

    def add(self, video_id, features, **meta):
        """Store ``features`` ``[N, D]`` under ``video_id`` with ``meta`` as dataset attrs."""
        if self._done:
            raise RuntimeError("FeatureStoreWriter is closed")
        if not isinstance(video_id, str) or not video_id or "\x00" in video_id:
            raise FeatureStoreError(
                f"{self.path}: video id must be a non-empty string without NUL, got {video_id!r}")
        if video_id in self._id_set:
            raise FeatureStoreError(f"{self.path}: duplicate video id {video_id!r}")
        where = f"{self.path}: video {video_id!r}"
        arr = np.asarray(features)
        if arr.ndim != 2 or arr.shape[0] < 1:
            raise FeatureStoreError(f"{where}: features must be [N>=1, D], got shape {arr.shape}")
        if arr.shape[1] != self.dim:
            raise FeatureStoreError(f"{where}: feature dim {arr.shape[1]}, store dim {self.dim}")
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise FeatureStoreError(f"{where}: features are not real numbers ({arr.dtype})")
        bad = first_non_finite(arr)
        if bad is not None:
            raise FeatureStoreError(f"{where}: features contain NaN or inf ({describe_non_finite(bad, arr.shape[0])})")
        with np.errstate(over="ignore"):
            stored = arr.astype(self._np_dtype)
        if not np.isfinite(stored).all():
            raise FeatureStoreError(
                f"{where}: values overflow {self.dtype} (|x| > "
                f"{float(np.finfo(self._np_dtype).max):g}); write with dtype float32")
        attrs = {k: _check_attr(k, v) for k, v in meta.items() if v is not None}
        rows = max(1, min(arr.shape[0], _CHUNK_BYTES // (self.dim * self._np_dtype.itemsize)))
        ds = self._group.create_dataset(escape_id(video_id), data=stored, chunks=(rows, self.dim),
                                        compression=self._compression)
        for k, v in attrs.items():
            ds.attrs[k] = v
        self._ids.append(video_id)
        self._id_set.add(video_id)

    def close(self):
        """Finish the file and move it into place (idempotent)."""
        if self._done:
            return
        try:
            index = self._file.create_dataset("index", shape=(len(self._ids),), dtype=h5py.string_dtype())
            if self._ids:
                index[...] = self._ids
            root = self._file.attrs
            root["format"] = FORMAT_NAME
            root["format_version"] = FORMAT_VERSION
            root["dim"] = self.dim
            root["dtype"] = self.dtype
            root["feature_stride"] = FEATURE_STRIDE
            root["count"] = len(self._ids)
            for k, v in self._attrs.items():
                root[k] = v
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self):
        """Discard everything written so far (the temporary file is removed)."""
        self._done = True
        try:
            self._file.close()
        except Exception:  # noqa: BLE001 - already closed or broken: nothing to keep anyway
            pass
        try:
            self._tmp.unlink()
        except FileNotFoundError:
            pass

    def __del__(self):  # forgotten writer: never leave the temporary file behind
        if not getattr(self, "_done", True):
            self.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False
