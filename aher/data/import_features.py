"""Import a folder of per-video feature files into one HDF5 feature store.

    python -m aher.data.import_features --src DIR --format npy|csv --out FILE.h5 \\
        [--resize 512] [--annotations FILE] [--dtype float16|float32] [--fps F] \\
        [--transpose] [--strip-prefix v_] [--only-annotated]

Formats (ecosystem survey §1):

* ``npy``: ActionFormer/TriDet/OpenTAD style, one ``[N, D]`` array per video, file stem = video
  id.  ``[D, N]`` arrays are accepted only with ``--transpose``.
* ``csv``: BSN/BMN/AherNet style, one header line (skipped) then one row of ``D``
  comma-separated floats per time step.

Features are assumed to be one row per 8 frames.  With ``--resize L`` every video is resampled
to ``L`` steps (paper_vs_code §1.2), which needs each video's duration and frame count:

* from ``--annotations`` (any file ``aher.data.annotations.load_videos`` reads): ``duration``,
  frames = ``duration_frame``, else ``fps * duration``, else ``--fps * duration``, else the
  features are assumed to span the whole video (frames = ``N * 8``);
* for videos not in the annotations, from ``--fps``: frames = ``N * 8``,
  duration = frames / fps.

Per-video metadata written: ``n_features`` (rows in the source file), and when known
``duration``, ``n_frames`` (frames in the video), ``fps``, ``feature_frame``, ``subset``,
``label`` (first instance's label).  Any bad input (unreadable file, ragged CSV row,
non-numeric cell, NaN/inf, inconsistent dimension) stops the import with one line naming the
file (and line for CSV); the output is written atomically, so nothing half-written is left.
Temporary files ``<out>.tmp-<pid>`` left by an import that was killed (its process no longer
runs) are removed before writing (:func:`remove_stale_temporaries`).

Functions shared with ``python -m aher.data.prepare``: :func:`read_features`,
:func:`feature_files`, :func:`video_timing`, :func:`video_entry`, :func:`remove_stale_temporaries`.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from aher.cli import run_main
from aher.errors import UserError
from aher.data.features import FEATURE_STRIDE, FeatureStoreWriter, resize
from aher.progress import progress_bar

_FLOAT16_MAX = float(np.finfo(np.float16).max)


# --------------------------------------------------------------------------- readers


def _csv_diagnose(path: Path) -> str | None:
    """Slow pass, used only after the fast reader failed: describe the first bad line."""
    expected = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1:
                continue                                  # header
            text = line.strip()
            if not text:
                continue
            cells = text.split(",")
            if expected is None:
                expected = len(cells)
            elif len(cells) != expected:
                return f"{path}: line {lineno}: ragged row with {len(cells)} values, expected {expected}"
            for col, cell in enumerate(cells, start=1):
                try:
                    value = float(cell)
                except ValueError:
                    return f"{path}: line {lineno}, column {col}: {cell.strip()!r} is not a number"
                if not np.isfinite(value):
                    return f"{path}: line {lineno}, column {col}: {cell.strip()!r} is not a finite number"
    return None


def read_csv_features(path) -> np.ndarray:
    """Read a BSN/AherNet feature CSV (header line skipped) as float64 ``[N, D]``."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")              # "input contained no data"
            arr = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    except ValueError as exc:
        detail = _csv_diagnose(path)
        raise UserError(detail or f"{path}: {str(exc).splitlines()[0]}") from None
    if arr.size == 0:
        raise UserError(f"{path}: no feature rows after the header line")
    if not np.isfinite(arr).all():
        raise UserError(_csv_diagnose(path) or f"{path}: NaN or inf value")
    return arr


def read_npy_features(path, transpose=False) -> np.ndarray:
    """Read an ActionFormer-style ``.npy`` feature array as ``[N, D]``."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if magic != b"\x93NUMPY":
        raise UserError(f"{path}: not a .npy file (no NumPy header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: cannot read as .npy ({reason})") from None
    if not isinstance(arr, np.ndarray):
        raise UserError(f"{path}: expected one array, found an archive")
    if arr.ndim != 2:
        raise UserError(f"{path}: expected a 2-D [N, D] array, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise UserError(f"{path}: features are not real numbers (dtype {arr.dtype})")
    if transpose:
        arr = arr.T
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise UserError(f"{path}: empty feature array, shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad.any(axis=1))[0, 0])
        raise UserError(f"{path}: row {row}: NaN or inf value")
    return arr


def read_features(path, fmt: str, transpose: bool = False) -> np.ndarray:
    """One video's features ``[N, D]`` from a ``.npy`` (``fmt="npy"``) or ``.csv`` file."""
    return read_npy_features(path, transpose) if fmt == "npy" else read_csv_features(path)


# --------------------------------------------------------------------------- timing


def missing_duration_error(annotations, vid: str, path) -> UserError:
    """The one-line error of a video whose annotations give no duration for its features at ``path``."""
    return UserError(f"{annotations}: video {vid!r}: no 'duration', and the features of {path} need it to line "
                     "up with the segments (add it, or pass --fps to take it from the features: rows x 8 frames / fps)")


def video_timing(video, n_rows: int, fps_flag: float | None):
    """(duration seconds, frames in video, fps or None) for one video, or None if unknown.

    The estimated duration of an ActivityNet-schema entry that lacks one (``Video.duration_missing``)
    is not used: it would put the features on a made-up time axis; the video's fps or ``fps_flag``
    give it from the features instead (the formats without durations keep their documented estimate)."""
    if video is not None and video.duration_missing:
        fps_flag = video.fps or fps_flag
    elif video is not None and video.duration and video.duration > 0:
        duration = float(video.duration)
        if video.duration_frame:
            frames = float(video.duration_frame)
        elif video.fps:
            frames = float(video.fps) * duration
        elif fps_flag:
            frames = fps_flag * duration
        else:
            frames = float(n_rows * FEATURE_STRIDE)   # features span the whole video
        fps = video.fps or (frames / duration)
        return duration, frames, float(fps)
    if fps_flag:
        frames = float(n_rows * FEATURE_STRIDE)
        return frames / fps_flag, frames, float(fps_flag)
    return None


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m aher.data.import_features",
        description="Import a folder of per-video feature files (.npy or .csv) into one HDF5 feature store.")
    p.add_argument("--src", required=True, help="folder with one feature file per video (file stem = video id)")
    p.add_argument("--format", required=True, choices=["npy", "csv"], dest="fmt",
                   help="npy: ActionFormer-style [N,D] arrays; csv: BSN/AherNet-style, one header line")
    p.add_argument("--out", required=True, help="output .h5 file (written atomically)")
    p.add_argument("--resize", type=int, default=None, metavar="L",
                   help="resample every video to L steps (paper_vs_code §1.2); needs --annotations or --fps")
    p.add_argument("--annotations", default=None, metavar="FILE",
                   help="annotation file (any format aher.data.annotations.load_videos reads) giving "
                        "duration, frames, fps and labels")
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"],
                   help="storage dtype (default float16)")
    p.add_argument("--fps", type=float, default=None,
                   help="frames per second, for videos without timing in --annotations "
                        "(frames = N*8, duration = frames/fps)")
    p.add_argument("--transpose", action="store_true", help="npy arrays are [D, N]: transpose them")
    p.add_argument("--strip-prefix", default="", metavar="S",
                   help="remove this prefix from file stems to get video ids (e.g. 'v_')")
    p.add_argument("--only-annotated", action="store_true",
                   help="import only the files whose video id is in --annotations")
    return p


def _load_annotations(path: str) -> dict:
    from aher.data.annotations import load_videos   # imported lazily: only needed with --annotations

    if not Path(path).is_file():
        raise UserError(f"{path}: annotation file not found")
    return {v.video_id: v for v in load_videos(path)}


def _check_args(args, src: Path, out: Path) -> None:
    """Reject inconsistent or impossible command-line arguments."""
    if not src.is_dir():
        raise UserError(f"{src}: source folder not found")
    if args.resize is not None and args.resize < 1:
        raise UserError(f"--resize must be >= 1, got {args.resize}")
    if args.fps is not None and not (args.fps > 0 and np.isfinite(args.fps)):
        raise UserError(f"--fps must be positive, got {args.fps}")
    if args.transpose and args.fmt != "npy":
        raise UserError("--transpose applies to --format npy only")
    if args.only_annotated and not args.annotations:
        raise UserError("--only-annotated needs --annotations")
    if args.resize is not None and args.annotations is None and args.fps is None:
        raise UserError("--resize needs each video's duration and frame count: pass --annotations FILE or --fps F")
    if not out.parent.is_dir():
        raise UserError(f"{out}: output folder {out.parent} does not exist")


def _source_files(src: Path, fmt: str) -> list[Path]:
    """The ``.fmt`` files in ``src``, sorted; at least one."""
    files = sorted(p for p in src.iterdir() if p.suffix.lower() == f".{fmt}" and p.is_file())
    if not files:
        raise UserError(f"{src}: no .{fmt} files")
    return files


def _video_id(path: Path, strip_prefix: str) -> str:
    stem = path.stem
    if strip_prefix and stem.startswith(strip_prefix):
        stem = stem[len(strip_prefix):]
    return stem


def feature_files(src, fmt: str, strip_prefix: str = "") -> dict[str, Path]:
    """``{video id: file}`` of the ``.fmt`` files in ``src`` (sorted by file name; at least one).

    The id is the file stem without ``strip_prefix``; two files giving one id are an error."""
    seen: dict[str, Path] = {}
    for path in _source_files(Path(src), fmt):
        vid = _video_id(path, strip_prefix)
        if vid in seen:
            raise UserError(f"{path}: video id {vid!r} also comes from {seen[vid]}")
        seen[vid] = path
    return seen


def _jobs(args, src: Path, annotations: dict | None):
    """``(jobs, seen)``: the ``(path, video id)`` pairs to import and a ``{video id: path}`` map."""
    seen = feature_files(src, args.fmt, args.strip_prefix)
    jobs = [(path, vid) for vid, path in seen.items()]
    if annotations is not None:
        annotated = [(p, v) for p, v in jobs if v in annotations]
        if not annotated:
            raise UserError(f"{args.annotations}: none of the {len(jobs)} feature files in {src} matches "
                            f"a video id (e.g. file id {jobs[0][1]!r}; see --strip-prefix)")
        if args.only_annotated:
            jobs = annotated
            seen = {vid: path for path, vid in jobs}
    return jobs, seen


def video_entry(path, vid: str, feats: np.ndarray, video, *, length: int | None, fps: float | None, dtype: str,
                annotations=None):
    """``(features to store, metadata)`` of one video: resized to ``length`` steps (``None``: kept
    as they are) and range-checked for ``dtype``.

    ``video`` is its :class:`aher.data.annotations.Video` (or ``None``), ``fps`` the ``--fps``
    fallback of :func:`video_timing`; ``annotations`` names the annotation file in the error
    raised when resizing a video of unknown duration.
    """
    n_rows = feats.shape[0]
    timing = video_timing(video, n_rows, fps)
    if length is not None:
        if timing is None and video is not None:
            raise missing_duration_error(annotations, vid, path)
        if timing is None:
            raise UserError(f"{path}: video {vid!r} is not in {annotations}, so its duration "
                            "is unknown (pass --fps, or --only-annotated to skip it)")
        feats = resize(feats, timing[1], timing[0], length)
    if dtype == "float16" and np.abs(feats).max() > _FLOAT16_MAX:
        raise UserError(f"{path}: values exceed the float16 range (|x| > {_FLOAT16_MAX:g}); "
                        "use --dtype float32")
    meta = {"n_features": n_rows}
    if timing is not None:
        meta.update(duration=timing[0], n_frames=timing[1], fps=timing[2])
    if video is not None:
        meta.update(subset=video.subset, feature_frame=video.feature_frame,
                    label=video.instances[0].label if video.instances else None)
    return feats, meta


# --------------------------------------------------------------------------- temporary files


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (a process of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path, log=print) -> list[Path]:
    """Delete ``<path>.tmp-<pid>`` files whose process no longer runs; returns them.

    Atomic writers (:class:`aher.data.features.FeatureStoreWriter`, the JSON/text writers) write
    to such a file and rename it at the end; a writer killed before that leaves it behind.  Files
    of running processes (another import writing the same output) and this process's own are kept.
    """
    path = Path(path)
    prefix = f"{path.name}.tmp-"
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in sorted(path.parent.glob(glob.escape(prefix) + "*")):
        pid = tmp.name[len(prefix):]
        if not pid.isdigit() or int(pid) <= 0 or int(pid) == os.getpid() or _running(int(pid)):
            continue
        try:
            tmp.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UserError(f"{tmp}: cannot remove this temporary file of an interrupted run "
                            f"({exc.strerror or exc})") from None
        removed.append(tmp)
        log(f"removed {tmp} (temporary file of an interrupted run, process {pid})")
    return removed


def _write_store(args, src: Path, out: Path, jobs, annotations: dict | None):
    """Read, check and write every job to ``out``; returns the feature dimension."""
    attrs = {"source": str(src.resolve()), "source_format": args.fmt, "resized": int(args.resize or 0)}
    writer = None
    dim = None
    first_file = None
    try:
        for path, vid in progress_bar(jobs, desc=f"import {src.name}", unit="video"):
            feats = read_features(path, args.fmt, args.transpose)
            if dim is None:
                dim, first_file = feats.shape[1], path
                writer = FeatureStoreWriter(out, dim, args.dtype, attrs=attrs)
            elif feats.shape[1] != dim:
                raise UserError(f"{path}: feature dim {feats.shape[1]}, but {first_file.name} has {dim}")
            video = annotations.get(vid) if annotations is not None else None
            feats, meta = video_entry(path, vid, feats, video, length=args.resize, fps=args.fps, dtype=args.dtype,
                                      annotations=args.annotations)
            writer.add(vid, feats, **meta)
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return dim


def _summary(args, out: Path, n_jobs: int, dim, annotations: dict | None, seen: dict) -> str:
    extra = ""
    if annotations is not None:
        missing = len(set(annotations) - set(seen))
        if missing:
            extra = f"; {missing} annotated videos have no feature file"
    resized = f", resized to {args.resize}" if args.resize else ""
    return f"wrote {n_jobs} videos (dim {dim}, {args.dtype}{resized}) to {out}{extra}"


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    src = Path(args.src)
    out = Path(args.out)
    _check_args(args, src, out)
    annotations = _load_annotations(args.annotations) if args.annotations else None
    jobs, seen = _jobs(args, src, annotations)
    remove_stale_temporaries(out)
    dim = _write_store(args, src, out, jobs, annotations)
    print(_summary(args, out, len(jobs), dim, annotations, seen))
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
