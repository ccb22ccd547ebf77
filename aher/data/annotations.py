"""Annotation files -> one record type (:class:`Video` / :class:`Instance`), and back.

Contract
--------
This module reads temporal-action annotation files of the formats used around AherNet into a
list of :class:`Video` records, writes such a list as an official ActivityNet ground-truth JSON,
and derives class lists (including the ActivityNet 87/113 taxonomy split).  It knows nothing of
features: it never opens a feature file and never resizes anything.  It does not download,
does not cache, and does not rename video ids (``v_`` prefixes stay as they are in the file).

Readers (all return videos in file order, instances in file order):

* :func:`read_activitynet_json` -- official ActivityNet schema ``{"database": {id: {"subset",
  "duration", "annotations": [{"segment", "label"}]}}, "taxonomy"?}``.  Segments may be
  numbers or numeric strings (G-TAD's ``thumos_gt.json``).  ``fps`` is read when present.
* :func:`read_bsn_annotations` -- BSN/BMN ``anet_anno_action.json`` + ``video_info_new.csv``.
* :func:`read_actionformer_json` -- ActionFormer/TriDet JSON (``duration`` and ``fps`` required,
  ``label_id`` checked for consistency).
* :func:`read_k600_annotations` -- AherNet's ``k600_val_annotation.txt`` + ``k600_category.txt``.
* :func:`read_thumos_csv` -- G-TAD's THUMOS14 CSVs (``*_Annotation.csv`` and
  ``thumos14_test_groundtruth.csv``).
* :func:`read_kinetics_csv` -- the Kinetics crawler lists (``label,youtube_id,time_start,...``).
* :func:`read_class_list` / :func:`read_actionformer_classes` -- class-name lists.
* :func:`load_videos` -- dispatcher on extension and content.

Rules
-----
* **Subsets** are lower-cased and otherwise kept as in the source ("Validation" -> "validation",
  G-TAD "train"/"test" stay "train"/"test", Kinetics "val" stays "val").  The K600 annotation
  TXT has no subset column: its videos get ``"validation"``.
* **Durations.**  When the source gives no duration (G-TAD ``thumos_gt.json``, the K600 TXT,
  the G-TAD ``*_Annotation.csv`` and the Kinetics CSVs), ``duration = ceil(max end) + 5``
  seconds, the rule of ``shared/eval_fixtures/README.md``; a video without annotations and
  without a duration is an error.  A given duration must be > 0.
* **Duplicates** (K600 TXT and Kinetics CSV): a row whose parsed values (id, start, end, class)
  equal an earlier row is dropped; the first occurrence is kept, file order otherwise
  unchanged.  On the real K600 file this drops 13 of 9,638 rows.  Nothing else is deduplicated
  (e.g. the 17 duplicate ActivityNet val instances in the JSON are kept, as the official
  evaluator keeps them).
* **Several classes per video** are kept: an id annotated under two classes (K600
  ``xnC3nngvLCo``) is one :class:`Video` with instances of both labels
  (``Video.labels`` lists them in first-appearance order).
* **Segments** must be two finite numbers with ``0 <= start <= end``; zero-length segments are
  allowed (ActivityNet val has three), ends past the duration are allowed (71 in ActivityNet
  val); nothing is clipped.
* **BSN/BMN files**: videos come in CSV order with the CSV ``subset``; CSV rows absent from the
  JSON are skipped (as the upstream loaders do) and JSON videos absent from the CSV are ignored.
  ``duration`` = JSON ``duration_second``; ``duration_frame``/``feature_frame`` = JSON values
  when present, CSV ``numFrame``/``featureFrame`` otherwise (on the real files the JSON
  ``feature_frame`` is 16 frames larger than the CSV's for 23 videos; the JSON wins because
  that is what the BSN/BMN/AherNet loaders read); ``fps`` = CSV ``rfps`` (= frames / seconds,
  the rate upstream's resampling uses), else ``duration_frame / duration``.
* **Errors**: a missing file, malformed JSON/CSV, a missing field, a non-numeric or reversed
  segment, an unknown class index, ... raise :class:`AnnotationError` (a
  :class:`aher.cli.UserError`) with a one-line message naming the file and the video/field.

Limits: the whole file is read into memory (the largest real file is 4 MB); JSON duplicate keys
are rejected; ``write_activitynet_gt`` writes only the official fields (subset, duration,
annotations), so ``fps``/frame counts do not survive a round trip.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from aher.errors import UserError
from evaluation.cli_common import write_text_atomic

__all__ = [
    "Instance",
    "Video",
    "AnnotationError",
    "DURATION_MARGIN",
    "estimate_duration",
    "read_activitynet_json",
    "read_bsn_annotations",
    "read_actionformer_json",
    "read_actionformer_classes",
    "read_k600_annotations",
    "read_thumos_csv",
    "read_kinetics_csv",
    "read_class_list",
    "write_class_list",
    "load_videos",
    "write_activitynet_gt",
    "anet_class_split",
    "FORMATS",
]

#: seconds added to ``ceil(max end)`` when a source has no durations
DURATION_MARGIN = 5

#: format names accepted by :func:`load_videos`
FORMATS = ("activitynet", "bsn", "actionformer", "k600", "thumos_csv", "kinetics_csv")


# --------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True)
class Instance:
    """One annotated action: ``[start, end]`` seconds and a class name."""

    start: float
    end: float
    label: str


@dataclass
class Video:
    """One video and its annotated instances (file order)."""

    video_id: str
    duration: float                    # seconds
    subset: str                        # lower-cased as in the source
    instances: list[Instance]          # file order
    fps: float | None = None
    duration_frame: int | None = None  # frames in the video
    feature_frame: int | None = None   # frames covered by features
    duration_missing: bool = False     # an ActivityNet-schema entry without its duration (estimated here)

    @property
    def covered_seconds(self) -> float:
        """Seconds covered by features: ``feature_frame / duration_frame * duration`` when both
        frame counts are known, else ``duration``."""
        if self.feature_frame is not None and self.duration_frame:
            return self.feature_frame / self.duration_frame * self.duration
        return self.duration

    @property
    def labels(self) -> list[str]:
        """Distinct instance labels in first-appearance order."""
        return list(dict.fromkeys(inst.label for inst in self.instances))


class AnnotationError(UserError):
    """A bad annotation file; the message is one line naming the file and the video/field."""

    def __init__(self, message: str):
        super().__init__(str(message).replace("\r", " ").replace("\n", " "))


# --------------------------------------------------------------------------------------------
# small helpers


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _err(path, *parts: str) -> AnnotationError:
    return AnnotationError(": ".join([str(path), *parts]))


def _read_text(path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _err(p, "no such file") from None
    except IsADirectoryError:
        raise _err(p, "is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise _err(p, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    except OSError as exc:
        raise _err(p, f"cannot read ({exc.strerror or exc})") from None


class _DuplicateKey(Exception):
    pass


def _no_duplicate_keys(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _load_json(path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise _err(path, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _DuplicateKey as exc:
        raise _err(path, f"malformed JSON: duplicate key {_short(exc.args[0])}") from None


def _number(value: Any, path, *where: str) -> float:
    """A finite float from a JSON number or a numeric string."""
    if isinstance(value, bool):
        raise _err(path, *where, f"expected a number, got {_short(value)}")
    if isinstance(value, (int, float)):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise _err(path, *where, f"not a number: {_short(value)}") from None
    else:
        raise _err(path, *where, f"expected a number, got {_short(value)}")
    if not math.isfinite(out):
        raise _err(path, *where, f"not a finite number: {_short(value)}")
    return out


def _count(value: Any, path, *where: str) -> int:
    """A non-negative integer (frame count) from a number or numeric string."""
    out = _number(value, path, *where)
    if out < 0 or out != int(out):
        raise _err(path, *where, f"expected a non-negative integer, got {_short(value)}")
    return int(out)


def _positive(value: Any, path, *where: str) -> float:
    out = _number(value, path, *where)
    if out <= 0:
        raise _err(path, *where, f"must be > 0, got {_short(value)}")
    return out


def _label(value: Any, path, *where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err(path, *where, f"label must be a non-empty string, got {_short(value)}")
    return value


def _instance(start: Any, end: Any, label: str, path, *where: str) -> Instance:
    s = _number(start, path, *where, "segment start")
    e = _number(end, path, *where, "segment end")
    if s < 0:
        raise _err(path, *where, f"segment start {s} is negative")
    if e < s:
        raise _err(path, *where, f"segment end {e} is before start {s}")
    return Instance(s, e, label)


def _segment_instance(ann: Any, path, vid: str, k: int) -> Instance:
    where = (f"video {vid}", f"annotation {k}")
    if not isinstance(ann, Mapping):
        raise _err(path, *where, f"expected an object, got {_short(ann)}")
    for key in ("segment", "label"):
        if key not in ann:
            raise _err(path, *where, f"missing field '{key}'")
    seg = ann["segment"]
    if not isinstance(seg, (list, tuple)) or len(seg) != 2:
        raise _err(path, *where, f"'segment' must be [start, end], got {_short(seg)}")
    label = _label(ann["label"], path, *where)
    return _instance(seg[0], seg[1], label, path, *where)


def estimate_duration(instances: Sequence[Instance]) -> float:
    """``ceil(max end) + 5`` seconds: the duration used when a source gives none."""
    return float(math.ceil(max(inst.end for inst in instances)) + DURATION_MARGIN)


def _duration_or_estimate(instances: Sequence[Instance], path, vid: str) -> float:
    if not instances:
        raise _err(path, f"video {vid}", "no 'duration' and no annotations to estimate it from")
    return estimate_duration(instances)


def _require_columns(path, header: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise _err(path, f"missing column(s) {', '.join(missing)} in header {_short(','.join(header), 120)}")


def _read_csv(path, required: Sequence[str] = ()) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header and ``(line number, row dict)`` pairs (blank lines skipped); checks the required
    columns and the field count of every row."""
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise _err(path, "empty file (no header line)")
        header = [h.strip() for h in header]
        _require_columns(path, header, required)
        rows = []
        for fields in reader:
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise _err(path, f"line {reader.line_num}",
                           f"expected {len(header)} fields, got {len(fields)}")
            rows.append((reader.line_num, dict(zip(header, fields))))
    except csv.Error as exc:
        raise _err(path, f"malformed CSV at line {reader.line_num}: {exc}") from None
    return header, rows


# --------------------------------------------------------------------------------------------
# readers


def _videos_from_database(data: Any, path, actionformer: bool) -> list[Video]:
    if not isinstance(data, Mapping):
        raise _err(path, "expected a JSON object at the top level")
    if "database" not in data:
        raise _err(path, "missing field 'database'")
    database = data["database"]
    if not isinstance(database, Mapping):
        raise _err(path, "'database' must be an object keyed by video id")
    label_ids: dict[str, int] = {}
    id_labels: dict[int, str] = {}
    videos = []
    for vid, entry in database.items():
        if not isinstance(entry, Mapping):
            raise _err(path, f"video {vid}", f"expected an object, got {_short(entry)}")
        required = ("subset", "annotations") + (("duration", "fps") if actionformer else ())
        for key in required:
            if key not in entry:
                raise _err(path, f"video {vid}", f"missing field '{key}'")
        subset = entry["subset"]
        if not isinstance(subset, str) or not subset.strip():
            raise _err(path, f"video {vid}", f"'subset' must be a non-empty string, got {_short(subset)}")
        anns = entry["annotations"]
        if not isinstance(anns, list):
            raise _err(path, f"video {vid}", f"'annotations' must be a list, got {_short(anns)}")
        instances = [_segment_instance(ann, path, vid, k) for k, ann in enumerate(anns)]
        if actionformer:
            for k, ann in enumerate(anns):
                if "label_id" not in ann:
                    continue
                lid = _count(ann["label_id"], path, f"video {vid}", f"annotation {k}", "label_id")
                lab = ann["label"]
                if label_ids.setdefault(lab, lid) != lid or id_labels.setdefault(lid, lab) != lab:
                    raise _err(path, f"video {vid}", f"annotation {k}",
                               f"label_id {lid} of {_short(lab)} conflicts with an earlier annotation")
        if entry.get("duration") is not None:
            duration = _positive(entry["duration"], path, f"video {vid}", "duration")
        else:
            duration = _duration_or_estimate(instances, path, vid)
        fps = entry.get("fps")
        fps = None if fps is None else _positive(fps, path, f"video {vid}", "fps")
        videos.append(Video(str(vid), duration, subset.strip().lower(), instances, fps=fps,
                            duration_missing=entry.get("duration") is None))
    return videos


def read_activitynet_json(path) -> list[Video]:
    """Read an official ActivityNet-format ground-truth JSON.

    ``database`` -> ``{id: {subset, duration?, annotations: [{segment, label}], fps?}}``; the
    optional ``taxonomy`` is ignored here (see :func:`anet_class_split`).  Segments may be numeric
    strings.  A missing/null duration becomes ``ceil(max end) + 5`` seconds, flagged
    ``duration_missing`` (importing features takes it from the features and an fps instead).
    """
    return _videos_from_database(_load_json(path), path, actionformer=False)


def read_actionformer_json(path) -> list[Video]:
    """Read an ActionFormer/TriDet-style JSON (e.g. ``thumos14.json``).

    Like :func:`read_activitynet_json` but ``duration`` and ``fps`` are required (``fps`` goes to
    ``Video.fps``), subsets are lower-cased ("Validation"/"Test" -> "validation"/"test"), and each
    ``label_id`` must map to one label and back.  ``segment(frames)`` is ignored.
    """
    return _videos_from_database(_load_json(path), path, actionformer=True)


def read_actionformer_classes(path) -> list[str]:
    """Class names of an ActionFormer-style JSON ordered by ``label_id`` (ids must be 0..K-1)."""
    data = _load_json(path)
    _videos_from_database(data, path, actionformer=True)      # validates ids <-> labels
    by_id: dict[int, str] = {}
    for vid, entry in data["database"].items():
        for k, ann in enumerate(entry["annotations"]):
            if "label_id" not in ann:
                raise _err(path, f"video {vid}", f"annotation {k}", "missing field 'label_id'")
            by_id[_count(ann["label_id"], path, f"video {vid}", f"annotation {k}", "label_id")] = ann["label"]
    if sorted(by_id) != list(range(len(by_id))):
        raise _err(path, f"label_id values are not 0..{len(by_id) - 1}: {_short(sorted(by_id), 120)}")
    return [by_id[i] for i in range(len(by_id))]


def _videos_from_bsn(anno: Any, anno_path, video_info_csv) -> list[Video]:
    if not isinstance(anno, Mapping):
        raise _err(anno_path, "expected a JSON object keyed by video id")
    _, rows = _read_csv(video_info_csv, ("video", "subset"))
    videos = []
    for line, row in rows:
        vid = row["video"].strip()
        if vid not in anno:
            continue                                       # upstream skips these
        entry = anno[vid]
        if not isinstance(entry, Mapping):
            raise _err(anno_path, f"video {vid}", f"expected an object, got {_short(entry)}")
        for key in ("duration_second", "annotations"):
            if key not in entry:
                raise _err(anno_path, f"video {vid}", f"missing field '{key}'")
        anns = entry["annotations"]
        if not isinstance(anns, list):
            raise _err(anno_path, f"video {vid}", f"'annotations' must be a list, got {_short(anns)}")
        instances = [_segment_instance(ann, anno_path, vid, k) for k, ann in enumerate(anns)]
        duration = _positive(entry["duration_second"], anno_path, f"video {vid}", "duration_second")

        def frames(json_key, csv_key):
            if entry.get(json_key) is not None:
                return _count(entry[json_key], anno_path, f"video {vid}", json_key)
            if (row.get(csv_key) or "").strip():
                return _count(row[csv_key], video_info_csv, f"line {line}", f"video {vid}", csv_key)
            return None

        duration_frame = frames("duration_frame", "numFrame")
        feature_frame = frames("feature_frame", "featureFrame")
        if (row.get("rfps") or "").strip():
            fps = _positive(row["rfps"], video_info_csv, f"line {line}", f"video {vid}", "rfps")
        elif duration_frame:
            fps = duration_frame / duration
        else:
            fps = None
        subset = row["subset"].strip().lower()
        if not subset:
            raise _err(video_info_csv, f"line {line}", f"video {vid}", "empty 'subset'")
        videos.append(Video(vid, duration, subset, instances, fps=fps,
                            duration_frame=duration_frame, feature_frame=feature_frame))
    return videos


def read_bsn_annotations(anno_json, video_info_csv) -> list[Video]:
    """Read BSN/BMN ``anet_anno_action.json`` + ``video_info_new.csv`` (ids keep ``v_``).

    Videos come in CSV order with the CSV subset; see the module docstring for which file gives
    ``duration``, ``duration_frame``, ``feature_frame`` and ``fps``.
    """
    return _videos_from_bsn(_load_json(anno_json), anno_json, video_info_csv)


def read_class_list(path) -> list[str]:
    """Class names, one per line, file order kept.

    Surrounding whitespace and blank lines are ignored; a ``.csv`` file is read with the csv
    module, its header line skipped and its first column used (``action_name.csv``).  Duplicate
    names are an error.
    """
    text = _read_text(path)
    if str(path).lower().endswith(".csv"):
        try:
            lines = [row[0] if row else "" for row in csv.reader(io.StringIO(text, newline=""))][1:]
        except csv.Error as exc:
            raise _err(path, f"malformed CSV: {exc}") from None
        first_line = 2
    else:
        lines = text.splitlines()
        first_line = 1
    names: list[str] = []
    where: dict[str, int] = {}
    for n, line in enumerate(lines, first_line):
        name = line.strip()
        if not name:
            continue
        if name in where:
            raise _err(path, f"line {n}", f"class {_short(name)} already on line {where[name]}")
        where[name] = n
        names.append(name)
    if not names:
        raise _err(path, "no class names")
    return names


def write_class_list(names: Iterable[str], path) -> None:
    """Write class names one per line (no header), atomically."""
    names = list(names)
    for name in names:
        if not isinstance(name, str) or not name.strip() or "\n" in name or "\r" in name:
            raise _err(path, f"invalid class name {_short(name)}")
    write_text_atomic(path, "".join(f"{name}\n" for name in names))


def read_k600_annotations(annotation_txt, category_txt) -> list[Video]:
    """Read AherNet's ``k600_val_annotation.txt`` + ``k600_category.txt``.

    Rows: ``youtube_id<TAB>start<TAB>end<TAB>class_idx`` (no header), class_idx indexes the
    category file (file order).  Exact duplicate rows are dropped (first kept), an id under two
    classes keeps both instances, duration = ``ceil(max end) + 5`` s, subset ``"validation"``.
    Videos are in order of first appearance.
    """
    classes = read_class_list(category_txt)
    text = _read_text(annotation_txt)
    per_video: dict[str, list[Instance]] = {}
    seen: set[tuple] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise _err(annotation_txt, f"line {n}",
                       f"expected 4 tab-separated fields (youtube_id, start, end, class_idx), got {len(fields)}")
        vid = fields[0].strip()
        if not vid:
            raise _err(annotation_txt, f"line {n}", "empty youtube_id")
        where = (f"line {n}", f"video {vid}")
        cls = _number(fields[3], annotation_txt, *where, "class_idx")
        if cls != int(cls) or not 0 <= cls < len(classes):
            raise _err(annotation_txt, *where,
                       f"class_idx {fields[3].strip()} is not in 0..{len(classes) - 1} of {category_txt}")
        inst = _instance(fields[1], fields[2], classes[int(cls)], annotation_txt, *where)
        key = (vid, inst.start, inst.end, int(cls))
        if key in seen:
            continue
        seen.add(key)
        per_video.setdefault(vid, []).append(inst)
    if not per_video:
        raise _err(annotation_txt, "no annotation rows")
    return [Video(vid, estimate_duration(insts), "validation", insts) for vid, insts in per_video.items()]


_THUMOS_ANNOTATION_COLUMNS = ("video", "type", "start", "end")
_THUMOS_GROUNDTRUTH_COLUMNS = ("video-name", "t-init", "t-end", "video-duration", "frame-rate",
                               "video-frames", "label-idx")


def _thumos_subset(vid: str, path) -> str:
    for prefix, subset in (("video_validation_", "validation"), ("video_test_", "test")):
        if vid.startswith(prefix):
            return subset
    raise _err(path, f"video {vid}", "cannot tell the subset from the id; pass subset=...")


def _thumos_groundtruth_row(row: dict, line: int, path, class_names: Sequence[str], meta: dict):
    """``(vid, where, label, start, end)`` of a groundtruth-CSV row; records the video's timing in ``meta``."""
    vid = row["video-name"].strip()
    where = (f"line {line}", f"video {vid}")
    idx = _number(row["label-idx"], path, *where, "label-idx")
    if idx == -1:
        label = "Ambiguous"
    elif idx == int(idx) and 0 <= idx < len(class_names):
        label = class_names[int(idx)]
    else:
        raise _err(path, *where, f"label-idx {row['label-idx'].strip()} is not -1 "
                                 f"or 0..{len(class_names) - 1}")
    info = (_positive(row["video-duration"], path, *where, "video-duration"),
            _positive(row["frame-rate"], path, *where, "frame-rate"),
            _count(row["video-frames"], path, *where, "video-frames"))
    if meta.setdefault(vid, info) != info:
        raise _err(path, *where, "duration/frame-rate/frames differ from an earlier row of this video")
    return vid, where, label, row["t-init"], row["t-end"]


def _thumos_annotation_row(row: dict, line: int, path):
    """``(vid, where, label, start, end)`` of an ``*_Annotation.csv`` row."""
    vid = row["video"].strip()
    where = (f"line {line}", f"video {vid}")
    label = _label(row["type"].strip(), path, *where, "type")
    return vid, where, label, row["start"], row["end"]


def _thumos_videos(per_video: dict, meta: dict, max_end: dict, subset: str | None,
                   groundtruth: bool, path) -> list[Video]:
    """One :class:`Video` per id, in first-appearance order."""
    videos = []
    for vid, insts in per_video.items():
        sub = subset.strip().lower() if subset else _thumos_subset(vid, path)
        if groundtruth:
            duration, fps, frames = meta[vid]
            videos.append(Video(vid, duration, sub, insts, fps=fps, duration_frame=frames))
        else:
            duration = float(math.ceil(max_end[vid]) + DURATION_MARGIN)
            videos.append(Video(vid, duration, sub, insts))
    return videos


def read_thumos_csv(path, class_names: Sequence[str] | None = None, keep_ambiguous: bool = False,
                    subset: str | None = None) -> list[Video]:
    """Read G-TAD's THUMOS14 CSVs.

    * ``val_Annotation.csv`` / ``test_Annotation.csv`` (``video,type,type_idx,start,end,...``):
      label = ``type``; no durations, so ``ceil(max end) + 5`` s, max over all the video's rows
      (ambiguous ones included, so the duration does not depend on ``keep_ambiguous``).
    * ``thumos14_test_groundtruth.csv`` (``video-name,t-init,t-end,...,label-idx``): needs
      ``class_names`` (``label-idx`` 0..K-1 indexes it; -1 = "Ambiguous"); duration, fps and frame
      count from the file (they must agree across a video's rows).

    "Ambiguous" rows are dropped unless ``keep_ambiguous``; a video whose rows are all ambiguous
    is still listed (with no instances).  Subset from the id prefix (``video_validation_`` ->
    "validation", ``video_test_`` -> "test") unless given.  Videos in first-appearance order.
    """
    header, rows = _read_csv(path)
    groundtruth = "video-name" in header
    if groundtruth:
        _require_columns(path, header, _THUMOS_GROUNDTRUTH_COLUMNS)
        if class_names is None:
            raise _err(path, "label-idx needs class_names (the 20 THUMOS14 names in label-id order)")
    else:
        _require_columns(path, header, _THUMOS_ANNOTATION_COLUMNS)
    per_video: dict[str, list[Instance]] = {}
    meta: dict[str, tuple] = {}
    max_end: dict[str, float] = {}
    for line, row in rows:
        if groundtruth:
            vid, where, label, start, end = _thumos_groundtruth_row(row, line, path, class_names, meta)
        else:
            vid, where, label, start, end = _thumos_annotation_row(row, line, path)
        if not vid:
            raise _err(path, f"line {line}", "empty video id")
        inst = _instance(start, end, label, path, *where)
        max_end[vid] = max(max_end.get(vid, 0.0), inst.end)
        insts = per_video.setdefault(vid, [])
        if keep_ambiguous or label != "Ambiguous":
            insts.append(inst)
    if not per_video:
        raise _err(path, "no annotation rows")
    return _thumos_videos(per_video, meta, max_end, subset, groundtruth, path)


def read_kinetics_csv(path, underscore_labels: bool = False) -> list[Video]:
    """Read a Kinetics crawler list (``label,youtube_id,time_start,time_end,split``).

    One :class:`Video` per YouTube id (an id listed twice gets both instances, exact duplicate
    rows dropped), instance = the clip window ``[time_start, time_end]`` in the full video,
    subset = ``split`` lower-cased, duration ``ceil(max end) + 5`` s.  With
    ``underscore_labels`` spaces in labels become ``_`` (the naming of ``k600_category.txt``).
    """
    _, rows = _read_csv(path, ("label", "youtube_id", "time_start", "time_end", "split"))
    per_video: dict[str, list[Instance]] = {}
    subsets: dict[str, str] = {}
    seen: set[tuple] = set()
    for line, row in rows:
        vid = row["youtube_id"].strip()
        if not vid:
            raise _err(path, f"line {line}", "empty youtube_id")
        where = (f"line {line}", f"video {vid}")
        label = _label(row["label"].strip(), path, *where, "label")
        if underscore_labels:
            label = label.replace(" ", "_")
        inst = _instance(row["time_start"], row["time_end"], label, path, *where)
        split = row["split"].strip().lower()
        if subsets.setdefault(vid, split) != split:
            raise _err(path, *where, f"split {split!r} differs from an earlier row ({subsets[vid]!r})")
        key = (vid, inst)
        if key in seen:
            continue
        seen.add(key)
        per_video.setdefault(vid, []).append(inst)
    if not per_video:
        raise _err(path, "no rows")
    return [Video(vid, estimate_duration(insts), subsets[vid], insts) for vid, insts in per_video.items()]


# --------------------------------------------------------------------------------------------
# dispatcher


def _sibling(path, name: str, what: str, keyword: str) -> Path:
    candidate = Path(path).with_name(name)
    if not candidate.is_file():
        raise _err(path, f"{what}: pass {keyword}=... (no {name} next to it)")
    return candidate


def _json_format(data: Any, path) -> str:
    if isinstance(data, Mapping):
        if "database" in data and isinstance(data["database"], Mapping):
            entries = [e for e in data["database"].values() if isinstance(e, Mapping)]
            if entries and all("fps" in e and "duration" in e for e in entries):
                return "actionformer"
            return "activitynet"
        if "results" in data:
            raise _err(path, "is a prediction/results file, not ground truth")
        entries = list(data.values())[:20]
        if entries and all(isinstance(e, Mapping) and "duration_second" in e for e in entries):
            return "bsn"
        if "taxonomy" in data:
            raise _err(path, "is a taxonomy file, not annotations (see anet_class_split)")
    if isinstance(data, Mapping) and "database" in data:
        raise _err(path, f"'database' must map video ids to their entries, got {_short(data['database'])}")
    top = (f"top-level keys {_short(', '.join(map(str, list(data)[:8])), 100)}" if isinstance(data, Mapping)
           else f"a JSON {type(data).__name__} at the top level")
    raise _err(path, f"cannot tell the annotation format of this JSON ({top}): an ActivityNet-style ground truth "
                     "has a 'database' object of videos, a BSN one videos with 'duration_second' (load_videos also "
                     "takes fmt= one of " + ", ".join(FORMATS) + ")")


def _csv_format(path) -> str:
    lines = _read_text(path).splitlines()
    header = next((ln for ln in lines if ln.strip()), "").strip()
    columns = {c.strip() for c in header.split(",")}
    if {"video", "type", "start", "end"} <= columns or {"video-name", "t-init", "t-end"} <= columns:
        return "thumos_csv"
    if {"label", "youtube_id", "time_start", "time_end"} <= columns:
        return "kinetics_csv"
    if {"video", "numFrame", "subset"} <= columns:
        raise _err(path, "is a BSN video-info list; load the annotation JSON with video_info_csv=this file")
    raise _err(path, f"cannot tell the annotation format from header {_short(header, 100)}; "
                     "pass fmt= one of " + ", ".join(FORMATS))


#: keyword options :func:`load_videos` passes on, per format
_OPTIONS = {
    "activitynet": (),
    "actionformer": (),
    "bsn": ("video_info_csv",),
    "k600": ("category_txt",),
    "thumos_csv": ("class_names", "keep_ambiguous", "subset"),
    "kinetics_csv": ("underscore_labels",),
}


def load_videos(path, fmt: str = "auto", **kw) -> list[Video]:
    """Read any supported annotation file; ``fmt`` is one of :data:`FORMATS` or ``"auto"``.

    Auto-detection: ``.json`` by content (``database`` with ``fps`` + ``duration`` on every video
    -> actionformer, other ``database`` -> activitynet, values with ``duration_second`` -> bsn),
    ``.txt`` with four tab-separated fields -> k600, ``.csv`` by header.  Extra keywords go to
    the reader; ``bsn`` defaults ``video_info_csv`` to ``video_info_new.csv`` next to the file,
    ``k600`` defaults ``category_txt`` to ``k600_category.txt`` next to it.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise AnnotationError(f"{path}: unknown annotation format {fmt!r} "
                              f"(choose from auto, {', '.join(FORMATS)})")
    data = None
    if fmt == "auto":
        suffix = Path(path).suffix.lower()
        if suffix == ".json":
            data = _load_json(path)
            fmt = _json_format(data, path)
        elif suffix == ".csv":
            fmt = _csv_format(path)
        elif suffix == ".txt":
            first = next((ln for ln in _read_text(path).splitlines() if ln.strip()), "")
            if len(first.split("\t")) == 4:
                fmt = "k600"
            else:
                raise _err(path, "not a K600 annotation TXT (4 tab-separated fields); "
                                 "for a class list use read_class_list")
        else:
            if not Path(path).exists():
                raise _err(path, "no such file")
            raise _err(path, f"unknown extension {suffix or '(none)'!r}; pass fmt= one of " + ", ".join(FORMATS))
    unknown = sorted(set(kw) - set(_OPTIONS[fmt]))
    if unknown:
        raise _err(path, f"option(s) {', '.join(unknown)} do not apply to format {fmt!r}"
                         f" (it takes: {', '.join(_OPTIONS[fmt]) or 'none'})")
    if fmt in ("activitynet", "actionformer"):
        return _videos_from_database(data if data is not None else _load_json(path), path,
                                     actionformer=fmt == "actionformer")
    if fmt == "bsn":
        info = kw.get("video_info_csv") or _sibling(path, "video_info_new.csv",
                                                    "BSN annotations need the video-info CSV", "video_info_csv")
        return _videos_from_bsn(data if data is not None else _load_json(path), path, info)
    if fmt == "k600":
        cats = kw.get("category_txt") or _sibling(path, "k600_category.txt",
                                                  "K600 annotations need the category list", "category_txt")
        return read_k600_annotations(path, cats)
    if fmt == "thumos_csv":
        return read_thumos_csv(path, **kw)
    return read_kinetics_csv(path, **kw)


# --------------------------------------------------------------------------------------------
# writer


def write_activitynet_gt(videos: Iterable[Video], path, version: str = "VERSION 1.3",
                         taxonomy: list | None = None) -> None:
    """Write ``{version, taxonomy, database: {id: {subset, duration, annotations: [{segment,
    label}]}}}`` (the official ground-truth schema), atomically, compact JSON, videos and
    instances in the given order.  ``taxonomy`` defaults to ``[]``.  Duplicate ids are an error.
    """
    database: dict[str, dict] = {}
    for video in videos:
        if video.video_id in database:
            raise _err(path, f"video {video.video_id}", "appears twice in the list to write")
        database[video.video_id] = {
            "subset": video.subset,
            "duration": float(video.duration),
            "annotations": [{"segment": [float(i.start), float(i.end)], "label": i.label}
                            for i in video.instances],
        }
    doc = {"version": version, "taxonomy": [] if taxonomy is None else taxonomy, "database": database}
    write_text_atomic(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


# --------------------------------------------------------------------------------------------
# taxonomy split


def _taxonomy_nodes(data: Any, source) -> list[Mapping]:
    if isinstance(data, Mapping) and "taxonomy" in data:
        data = data["taxonomy"]
    if isinstance(data, Mapping):            # simple_activitynet_hierarchy.json: {nodeId: node}
        data = list(data.values())
    if not isinstance(data, list) or not data:
        raise _err(source, "expected a taxonomy: a list of nodes, {'taxonomy': [...]} or {nodeId: node}")
    for k, node in enumerate(data):
        if not isinstance(node, Mapping):
            raise _err(source, f"taxonomy node {k}", f"expected an object, got {_short(node)}")
        for key in ("nodeId", "nodeName", "parentId"):
            if key not in node:
                raise _err(source, f"taxonomy node {k}", f"missing field '{key}'")
    return data


def anet_class_split(taxonomy_json, untrimmed_top_node: str = "Sports, Exercise, and Recreation"
                     ) -> tuple[list[str], list[str]]:
    """Split the ActivityNet leaf classes by their top-level taxonomy node.

    ``taxonomy_json`` is a path (or the loaded object) in any of these shapes: ``{"taxonomy":
    [nodes]}`` (``derived_anet_taxonomy_v1-3.json``, or the official ``activity_net.v1-3.min.json``),
    a list of nodes, or ``{nodeId: node}`` (``simple_activitynet_hierarchy.json``).  Nodes need
    ``nodeId``, ``nodeName``, ``parentId`` (null for the root).  Leaves = nodes that are nobody's
    parent; each leaf is walked up its parent links to the node just below the root.  Returns
    ``(untrimmed, moment)``: leaves under ``untrimmed_top_node`` (compared without surrounding
    spaces) and all other leaves, each sorted with Python's ``sorted`` (Unicode code-point order,
    case-sensitive).  On ActivityNet v1.3: 87 and 113 classes.
    """
    source = taxonomy_json if isinstance(taxonomy_json, (str, os.PathLike)) else "<taxonomy>"
    data = _load_json(taxonomy_json) if isinstance(taxonomy_json, (str, os.PathLike)) else taxonomy_json
    nodes = _taxonomy_nodes(data, source)
    by_id: dict[Any, Mapping] = {}
    for node in nodes:
        if node["nodeId"] in by_id:
            raise _err(source, f"taxonomy node {_short(node['nodeId'])}", "duplicate nodeId")
        by_id[node["nodeId"]] = node
    roots = [n for n in nodes if n["parentId"] is None]
    if len(roots) != 1:
        raise _err(source, f"expected exactly one root node (parentId null), found {len(roots)}")
    root_id = roots[0]["nodeId"]
    parents = {n["parentId"] for n in nodes if n["parentId"] is not None}
    for pid in parents:
        if pid not in by_id:
            raise _err(source, f"parentId {_short(pid)} is not a nodeId")
    top_names = {str(by_id[n["nodeId"]]["nodeName"]).strip() for n in nodes if n["parentId"] == root_id}
    if untrimmed_top_node.strip() not in top_names:
        raise _err(source, f"no top-level node {untrimmed_top_node!r} "
                           f"(top-level nodes: {', '.join(sorted(top_names))})")
    untrimmed, moment = [], []
    seen: set[str] = set()
    for node in nodes:
        if node["nodeId"] in parents or node["nodeId"] == root_id:
            continue
        name = str(node["nodeName"])
        if name in seen:
            raise _err(source, f"taxonomy leaf {name!r}", "appears twice")
        seen.add(name)
        current = node
        for _ in range(len(nodes)):
            if current["parentId"] == root_id:
                break
            current = by_id[current["parentId"]]
        else:
            raise _err(source, f"taxonomy leaf {name!r}", "parent links form a cycle")
        top = str(current["nodeName"]).strip()
        (untrimmed if top == untrimmed_top_node.strip() else moment).append(name)
    return sorted(untrimmed), sorted(moment)
