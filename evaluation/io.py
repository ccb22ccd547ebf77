"""Reading ground-truth and result files for the ActivityNet-style metrics.

Contract: turns the official ActivityNet GT schema (``database`` -> ``subset``, ``annotations``)
and the result schema (``results`` -> lists of ``{label, score, segment}``) into flat numpy
arrays, in file order, validating every field.  Both ``.json`` and gzip-compressed JSON
(``.json.gz``, detected by content) are read; an already-loaded ``dict`` is accepted too.
Limits: it computes no metric, and it never fixes a file: bad input raises
:class:`EvaluationError` with one line naming the file and the offending video/field.

Rules (identical to the official evaluator unless stated):
  * Only GT videos whose ``subset`` equals the requested one are used; classes are the GT
    labels of that subset, numbered in order of first appearance.
  * Video ids: a result key matches a GT video id if they are equal, or if one of them is the
    other with a leading ``v_`` (ActivityNet files come both ways); an exact match wins.
  * Result rows of videos that are not GT videos with annotations of the subset are kept
    (they are false positives for detection and count in the proposal budget, as officially)
    and reported in ``Predictions.unmatched_videos``.
  * A result label that is not a GT class makes the official code crash (``KeyError``); here it
    is an :class:`EvaluationError` by default, or dropped with a warning when
    ``unknown_labels="ignore"``.
  * Segments are two numbers (numeric strings are accepted, as the official ``float()`` does);
    they must be finite with ``end >= start`` (the official code accepts reversed or infinite
    segments and then produces meaningless tIoUs).  Zero-length segments, negative starts and
    ends past the video duration are kept as they are, exactly as officially.
  * Scores must be finite real numbers (not strings, booleans or NaN).
  * A result file with no rows at all is an error (the official proposal code divides by zero).
"""

import contextlib
import gc
import gzip
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class EvaluationError(ValueError):
    """Bad evaluation input; the message is one line naming the file and the video/field."""


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building many small objects.

    Parsing a result file creates ~1M dicts and lists, which triggers the collector over and
    over (3x slower parsing on the 472,800-row fixture); none of them form cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_json(source, role):
    """Return ``(data, name)`` for a path (``.json`` or gzip) or an already-loaded dict."""
    if isinstance(source, dict):
        return source, f"<{role} dict>"
    path = Path(source)
    if not path.is_file():
        raise EvaluationError(f"{path}: no such file ({role})")
    try:
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rt", encoding="utf-8") as fh, gc_paused():
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path}: malformed JSON ({role}) at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path}: cannot read {role} file: {exc}") from None
    if not isinstance(data, dict):
        raise EvaluationError(f"{path}: the {role} file must contain a JSON object, not {type(data).__name__}")
    return data, str(path)


def _segment_pair(value):
    """``[s, e]`` -> (float, float) or None when it is not two numbers."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        if any(isinstance(v, bool) for v in value):
            return None
        start, end = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    return start, end


@dataclass
class GroundTruth:
    """GT instances of one subset, as flat arrays (one entry per instance, file order)."""

    name: str
    subset: str
    video_ids: list          # GT videos of the subset that have >= 1 instance, first-appearance order
    class_names: list        # GT labels of the subset, first-appearance order
    video: np.ndarray        # int64 [n] index into video_ids
    label: np.ndarray        # int64 [n] index into class_names
    start: np.ndarray        # float64 [n]
    end: np.ndarray          # float64 [n]
    videos_without_instances: list = field(default_factory=list)

    @property
    def n_instances(self):
        return int(self.label.size)


def read_ground_truth(source, subset="validation"):
    """Read an ActivityNet-schema GT file (path, gzip path or dict) for one subset."""
    data, name = load_json(source, "ground-truth")
    database = data.get("database")
    if not isinstance(database, dict):
        raise EvaluationError(f"{name}: no 'database' object: not an ActivityNet ground-truth file")
    video_index, class_index = {}, {}
    videos, labels, starts, ends = [], [], [], []
    empty, subsets_seen = [], set()
    for vid, entry in database.items():
        if not isinstance(entry, dict):
            raise EvaluationError(f"{name}: database['{vid}'] is not an object")
        entry_subset = entry.get("subset")
        subsets_seen.add(str(entry_subset))
        if entry_subset != subset:
            continue
        annotations = entry.get("annotations")
        if not isinstance(annotations, list):
            raise EvaluationError(f"{name}: database['{vid}'] has no 'annotations' list")
        if not annotations:
            empty.append(vid)
            continue
        for k, ann in enumerate(annotations):
            where = f"{name}: database['{vid}'].annotations[{k}]"
            if not isinstance(ann, dict) or "label" not in ann or "segment" not in ann:
                raise EvaluationError(f"{where} needs 'segment' and 'label'")
            seg = _segment_pair(ann["segment"])
            if seg is None:
                raise EvaluationError(f"{where}.segment is not two numbers: {ann['segment']!r}")
            if not (np.isfinite(seg[0]) and np.isfinite(seg[1])) or seg[1] < seg[0]:
                raise EvaluationError(f"{where}.segment must be finite with end >= start: {ann['segment']!r}")
            label = ann["label"]
            if not isinstance(label, (str, int)) or isinstance(label, bool):
                raise EvaluationError(f"{where}.label must be a string: {label!r}")
            videos.append(video_index.setdefault(vid, len(video_index)))
            labels.append(class_index.setdefault(label, len(class_index)))
            starts.append(seg[0])
            ends.append(seg[1])
    if subset not in subsets_seen:
        present = ", ".join(sorted(subsets_seen)) or "none"
        raise EvaluationError(f"{name}: no video of subset '{subset}' (subsets present: {present})")
    if not labels:
        raise EvaluationError(f"{name}: subset '{subset}' has no ground-truth instance")
    return GroundTruth(
        name=name, subset=subset, video_ids=list(video_index), class_names=list(class_index),
        video=np.asarray(videos, dtype=np.int64), label=np.asarray(labels, dtype=np.int64),
        start=np.asarray(starts, dtype=np.float64), end=np.asarray(ends, dtype=np.float64),
        videos_without_instances=empty)


@dataclass
class Predictions:
    """Result rows as flat arrays in file order (one entry per row)."""

    name: str
    video: np.ndarray        # int64 [n] index into GroundTruth.video_ids, -1 for other videos
    label: np.ndarray        # int64 [n] index into GroundTruth.class_names (-1 when labels are not read)
    start: np.ndarray        # float64 [n]
    end: np.ndarray          # float64 [n]
    score: np.ndarray        # float64 [n]
    unmatched_videos: list = field(default_factory=list)   # result keys that are not GT videos
    n_unmatched_rows: int = 0
    dropped_labels: dict = field(default_factory=dict)      # label -> rows dropped (unknown_labels="ignore")

    @property
    def n_rows(self):
        return int(self.score.size)


def _resolve_video_ids(keys, gt_ids):
    """Map result keys to GT video indices with the ``v_`` rule (exact match first)."""
    lookup = {vid: i for i, vid in enumerate(gt_ids)}
    out = np.full(len(keys), -1, dtype=np.int64)
    for k, key in enumerate(keys):
        idx = lookup.get(key)
        if idx is None:
            idx = lookup.get("v_" + key)
        if idx is None and key.startswith("v_"):
            idx = lookup.get(key[2:])
        if idx is not None:
            out[k] = idx
    return out


def _is_score(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _locate_bad_row(name, keys, lengths, rows, need_label):
    """Slow path: find the first bad row and raise a one-line error about it."""
    offset = 0
    for key, count in zip(keys, lengths):
        for k in range(count):
            row = rows[offset + k]
            where = f"{name}: results['{key}'][{k}]"
            if not isinstance(row, dict):
                raise EvaluationError(f"{where} is not an object")
            for required in (("segment", "score", "label") if need_label else ("segment", "score")):
                if required not in row:
                    raise EvaluationError(f"{where} has no '{required}'")
            seg = _segment_pair(row["segment"])
            if seg is None:
                raise EvaluationError(f"{where}.segment is not two numbers: {row['segment']!r}")
            if not (np.isfinite(seg[0]) and np.isfinite(seg[1])):
                raise EvaluationError(f"{where}.segment is not finite: {row['segment']!r}")
            if seg[1] < seg[0]:
                raise EvaluationError(f"{where}.segment ends before it starts: {row['segment']!r}")
            if not _is_score(row["score"]):
                raise EvaluationError(f"{where}.score is not a number: {row['score']!r}")
            if not np.isfinite(float(row["score"])):
                raise EvaluationError(f"{where}.score is not finite: {row['score']!r}")
        offset += count
    raise EvaluationError(f"{name}: invalid result rows")  # pragma: no cover - fast path found a problem


def read_predictions(source, gt, need_label=True, unknown_labels="error"):
    """Read a result file (path, gzip path or dict) against ``gt`` (a :class:`GroundTruth`).

    ``need_label`` is False for proposals (labels are then not read at all).
    ``unknown_labels``: ``"error"`` (default) or ``"ignore"`` (drop those rows, listed in
    ``Predictions.dropped_labels``).
    """
    if unknown_labels not in ("error", "ignore"):
        raise ValueError(f"unknown_labels must be 'error' or 'ignore', not {unknown_labels!r}")
    data, name = load_json(source, "result")
    with gc_paused():
        return _read_predictions(data, name, gt, need_label, unknown_labels)


def _read_predictions(data, name, gt, need_label, unknown_labels):
    results = data.get("results")
    if not isinstance(results, dict):
        raise EvaluationError(f"{name}: no 'results' object: not an ActivityNet result file")
    keys, lengths, rows = [], [], []
    for key, entries in results.items():
        if not isinstance(entries, list):
            raise EvaluationError(f"{name}: results['{key}'] is not a list")
        keys.append(str(key))
        lengths.append(len(entries))
        rows.extend(entries)
    if not rows:
        raise EvaluationError(f"{name}: the result file contains no prediction")

    try:
        seg = np.array([row["segment"] for row in rows], dtype=np.float64)
        raw_scores = [row["score"] for row in rows]
        raw_labels = [row["label"] for row in rows] if need_label else None
        ok = seg.shape == (len(rows), 2)
        score_types = set(map(type, raw_scores))
        if ok and not score_types <= {float, int}:
            ok = all(_is_score(s) for s in raw_scores)
        score = np.array(raw_scores, dtype=np.float64) if ok else None
        ok = ok and bool(np.all(np.isfinite(seg))) and bool(np.all(seg[:, 1] >= seg[:, 0]))
        ok = ok and bool(np.all(np.isfinite(score)))
    except (KeyError, TypeError, ValueError, IndexError):
        ok = False
    if not ok:
        _locate_bad_row(name, keys, lengths, rows, need_label)

    key_video = _resolve_video_ids(keys, gt.video_ids)
    video = np.repeat(key_video, lengths)
    unmatched = [key for key, v in zip(keys, key_video) if v < 0]
    keep = np.ones(len(rows), dtype=bool)
    dropped = {}
    if need_label:
        class_index = {c: i for i, c in enumerate(gt.class_names)}
        label = np.empty(len(rows), dtype=np.int64)
        for i, lab in enumerate(raw_labels):
            try:
                label[i] = class_index[lab]
            except (KeyError, TypeError):
                if unknown_labels == "error":
                    offsets = np.cumsum(lengths)
                    kidx = int(np.searchsorted(offsets, i, side="right"))
                    k = i - (int(offsets[kidx - 1]) if kidx else 0)
                    raise EvaluationError(
                        f"{name}: results['{keys[kidx]}'][{k}].label {lab!r} is not a ground-truth class of "
                        f"subset '{gt.subset}' ({len(gt.class_names)} classes)") from None
                dropped[str(lab)] = dropped.get(str(lab), 0) + 1
                keep[i] = False
                label[i] = -1
    else:
        label = np.full(len(rows), -1, dtype=np.int64)
    if dropped:
        seg, score, video, label = seg[keep], score[keep], video[keep], label[keep]
    return Predictions(
        name=name, video=video, label=label, start=seg[:, 0].copy(), end=seg[:, 1].copy(), score=score,
        unmatched_videos=unmatched, n_unmatched_rows=int(np.sum(video < 0)), dropped_labels=dropped)


def descending_order(score, tie_break="later_first"):
    """Indices that sort ``score`` in descending order with a defined rule for ties.

    ``"later_first"``: among equal scores, later rows come first.  This is what the official
    ``argsort()[::-1]`` gives with numpy's classic (stable for small inputs) sort and for
    all-equal groups, and what ``expected.json`` calls ``stable_sort_later_rows_first``.
    ``"earlier_first"``: among equal scores, earlier rows come first.
    """
    score = np.asarray(score)
    if tie_break == "later_first":
        return np.argsort(score, kind="stable")[::-1]
    if tie_break == "earlier_first":
        return np.argsort(-score, kind="stable")
    raise ValueError(f"tie_break must be 'later_first' or 'earlier_first', not {tie_break!r}")
