"""Build every file of a real-data folder from one GT file, one feature folder and a class split.

    python -m aher.data.prepare --gt GT.json [--gt MORE ...] --features FEATS \\
        --classes-untrimmed U.txt --classes-moment M.txt --out DIR \\
        [--format npy|csv] [--train-subset training] [--eval-subset validation] \\
        [--untrimmed-train-subset S] [--untrimmed-eval-subset S] [--length 512] \\
        [--dtype float16|float32] [--fps F] [--strip-prefix v_] [--transpose] [--skip-missing]

Inputs:

* ``--gt``: the videos of both class sets, in an ActivityNet-style GT JSON (``{"database": {id:
  {"subset", "duration", "annotations": [{"segment", "label"}]}}}``) or any other file
  ``aher.data.annotations.load_videos`` reads; several ``--gt`` files are merged (a video id in
  two files is an error).  ``gt.json`` keeps the official fields (subset, duration, annotations):
  frame counts and fps of the source serve the resizing and cutting only;
* ``--features``: a folder with one feature file per video (``.npy`` ``[N, D]`` or ``.csv`` with
  a header line, file stem = video id, one row per 8 frames, as ``aher.data.import_features``
  reads them), or a feature store written by ``import_features`` without ``--resize``;
* ``--classes-untrimmed`` / ``--classes-moment``: the class split, one name per line (the
  untrimmed set has full temporal annotations; the moment set is learned from moments).  The
  two lists must be disjoint; their lengths are the label spaces' sizes.

Every GT video is put in one part by its class set and its subset.  Its class set is that of
its first instance whose label is in a list (the video's label is its first instance's, as in the
input pipelines); instances of classes outside that set are dropped (ActivityNet has one video
labelled with classes of both ANet-UN and ANet-AM), and a video with no label of either list, or
of another subset, is left out.  The subsets are ``--train-subset`` /
``--eval-subset``; the untrimmed-set classes' videos may use others (``--untrimmed-train-subset`` /
``--untrimmed-eval-subset``, e.g. THUMOS14's ``validation`` / ``test`` beside ActivityNet's
``training`` / ``validation``):

==================  ==========================================  ===============================
file                videos                                      content
==================  ==========================================  ===============================
untrimmed_train.h5  ``--train-subset``, untrimmed-set classes   whole videos resized to L
foreground_train.h5 the same videos                             instances >= 32 features -> L
moments_train.h5    ``--train-subset``, moment-set classes      instances >= 8 features -> L/2
oracle_train.h5     the same videos                             whole videos resized to L
eval.h5             ``--eval-subset``, moment-set classes       whole videos resized to L
eval_untrimmed.h5   ``--eval-subset``, untrimmed-set classes    whole videos resized to L
gt.json             the training videos (subset ``training``) and ``eval.h5``'s (``validation``)
gt_untrimmed.json   ``eval_untrimmed.h5``'s videos (subset ``validation``)
classes_*.txt       the two class lists
==================  ==========================================  ===============================

(``L`` = ``--length``, 512 as ``model.temporal_length``.)  ``eval_untrimmed.h5`` and
``gt_untrimmed.json`` are written only when the GT has evaluation videos of the untrimmed-set
classes (otherwise an older copy in ``--out`` is removed).  Resizing and cutting are those of
``aher.data.import_features`` (:func:`~aher.data.import_features.video_entry`, timing from the GT:
``duration``; frames from its frame count or ``fps``, else ``--fps``, else the features are
assumed to span the video)
and ``aher.data.moments`` (:func:`~aher.data.moments.add_segments`); each feature file is read
once.

Errors: a bad file, field or flag stops the command with one line naming the file and the
video or field (:class:`aher.errors.UserError`); a selected video without features is an error
unless ``--skip-missing`` leaves it out of every file.  Every file is written atomically and the
stores are moved into place only after every video was read, so a failed or interrupted run
leaves the files of ``--out`` as they were; temporary files of an earlier run that was killed
are removed first.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from aher.cli import run_main
from aher.errors import UserError
from aher.data.annotations import Video, load_videos, read_class_list, write_activitynet_gt, write_class_list
from aher.data.dataset_files import FILES
from aher.data.features import FeatureStore, FeatureStoreWriter
from aher.data.import_features import (feature_files, missing_duration_error, read_features, remove_stale_temporaries,
                                       video_entry, video_timing)
from aher.data.moments import FOREGROUND, MOMENTS, add_segments
from aher.progress import progress_bar

#: the parts of the GT (subset role, class set)
PARTS = ("untrimmed_train", "moment_train", "moment_eval", "untrimmed_eval")
#: feature store -> (part whose videos it holds, segment preset or None for whole videos)
STORES = {
    "untrimmed_train": ("untrimmed_train", None),
    "foreground_train": ("untrimmed_train", FOREGROUND),
    "moments_train": ("moment_train", MOMENTS),
    "oracle_train": ("moment_train", None),
    "eval": ("moment_eval", None),
    "eval_untrimmed": ("untrimmed_eval", None),
}
#: what the parts are called in messages
PART_NAMES = {"untrimmed_train": "training videos of the untrimmed-set classes",
              "moment_train": "training videos of the moment-set classes",
              "moment_eval": "evaluation videos of the moment-set classes",
              "untrimmed_eval": "evaluation videos of the untrimmed-set classes"}
OPTIONAL_PART = "untrimmed_eval"


@dataclass
class Split:
    """The GT videos of each part, in GT order, relabelled with the output subset
    (``training`` / ``validation``) and without instances of classes outside their set."""

    parts: dict = field(default_factory=lambda: {part: [] for part in PARTS})
    left_out: Counter = field(default_factory=Counter)      # reason -> videos
    dropped_instances: int = 0

    def videos(self):
        """``(part, video)`` of every selected video."""
        return [(part, video) for part in PARTS for video in self.parts[part]]


def read_class_split(untrimmed_path, moment_path):
    """``(untrimmed names, moment names)``; one-line error if a class is in both lists."""
    untrimmed = read_class_list(untrimmed_path)
    moment = read_class_list(moment_path)
    shared = [name for name in moment if name in set(untrimmed)]
    if shared:
        raise UserError(f"{moment_path}: class {shared[0]!r} is also in {untrimmed_path}; the untrimmed and moment "
                        f"class sets must be disjoint ({len(shared)} shared)")
    return untrimmed, moment


def split_videos(videos, untrimmed, moment, subsets=None) -> Split:
    """Put every video of ``videos`` in its part (see the module docstring).

    ``subsets`` maps each class set (``untrimmed``,
    ``moment``) to its ``(training subset, evaluation subset)`` (default ``training``, ``validation``).
    """
    sets = {"untrimmed": set(untrimmed), "moment": set(moment)}
    subsets = subsets or {name: ("training", "validation") for name in sets}
    known = {name for pair in subsets.values() for name in pair}
    split = Split()
    for video in videos:
        if video.subset not in known:
            split.left_out[f"of subset {video.subset!r}"] += 1
            continue
        class_set = next((name for inst in video.instances for name, names in sets.items() if inst.label in names),
                         None)
        if class_set is None:
            split.left_out["with no class of either list"] += 1
            continue
        train, evaluation = subsets[class_set]
        if video.subset not in (train, evaluation):
            split.left_out[f"of subset {video.subset!r} ({class_set}-set classes)"] += 1
            continue
        role, subset = ("train", "training") if video.subset == train else ("eval", "validation")
        instances = [inst for inst in video.instances if inst.label in sets[class_set]]
        split.dropped_instances += len(video.instances) - len(instances)
        split.parts[f"{class_set}_{role}"].append(replace(video, subset=subset, instances=instances))
    return split


# --------------------------------------------------------------------------- feature sources


class _FolderSource:
    """Per-video ``.npy`` / ``.csv`` files of a folder."""

    def __init__(self, folder: Path, fmt: str, strip_prefix: str, transpose: bool):
        self.fmt, self.transpose = fmt, transpose
        self.files = feature_files(folder, fmt, strip_prefix)
        self.where = folder

    def __contains__(self, vid):
        return vid in self.files

    def read(self, vid):
        """``(features [N, D], file named in errors, fps fallback or None)``."""
        path = self.files[vid]
        return read_features(path, self.fmt, self.transpose), path, None

    def close(self):
        pass


class _StoreSource:
    """A feature store of unresized videos (``import_features`` without ``--resize``)."""

    def __init__(self, path: Path):
        self.store = FeatureStore(path)
        self.fmt, self.where = "store", path
        resized = self.store.attrs.get("resized") or 0
        if resized:
            self.store.close()
            raise UserError(f"{path}: features were resized to {resized} steps; prepare needs the original "
                            "features (one row per 8 frames): import them without --resize")

    def __contains__(self, vid):
        return vid in self.store

    def read(self, vid):
        return self.store.get(vid), f"{self.where}: video {vid!r}", self.store.meta(vid).get("fps")

    def close(self):
        self.store.close()


def _folder_format(folder: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    kinds = sorted({p.suffix.lower()[1:] for p in folder.iterdir() if p.is_file()} & {"npy", "csv"})
    if not kinds:
        raise UserError(f"{folder}: no .npy or .csv feature files")
    if len(kinds) > 1:
        raise UserError(f"{folder}: holds both .npy and .csv files; pass --format npy or --format csv")
    return kinds[0]


def open_source(path, fmt=None, strip_prefix="", transpose=False):
    """The feature source of ``--features``: a folder of per-video files or an unresized store."""
    path = Path(path)
    if path.is_dir():
        fmt = _folder_format(path, fmt)
        if transpose and fmt != "npy":
            raise UserError("--transpose applies to .npy features only")
        return _FolderSource(path, fmt, strip_prefix, transpose)
    if path.is_file():
        if fmt or transpose or strip_prefix:
            raise UserError(f"{path}: --format, --transpose and --strip-prefix apply to a folder of feature files, "
                            "not to a feature store")
        return _StoreSource(path)
    raise UserError(f"{path}: feature folder or store not found")


# --------------------------------------------------------------------------- writing


def _power_of_two(value: int) -> bool:
    return value >= 8 and not value & (value - 1)


def _store_attrs(key, preset, source, length):
    kind = {"untrimmed_train": "untrimmed", "eval": "eval", "oracle_train": "oracle",
            "eval_untrimmed": "eval"}.get(key, "segments")
    attrs = {"kind": kind, "source": str(Path(source.where).resolve()), "source_format": source.fmt}
    if preset is None:
        attrs["resized"] = int(length)
    else:
        attrs.update(min_features=int(preset["min_features"]), length=int(_segment_length(preset, length)))
    return attrs


def _segment_length(preset, length):
    return length if preset is FOREGROUND else length // 2


class _Stores:
    """The feature stores of one run, created when the feature dimension is known."""

    def __init__(self, out: Path, keys, source, length, dtype):
        self.out, self.keys, self.source, self.length, self.dtype = out, keys, source, length, dtype
        self.writers: dict[str, FeatureStoreWriter] = {}

    def writer(self, key, dim):
        """The writer of store ``key`` (every writer is opened at the first call, for ``dim``-d features)."""
        if not self.writers:
            for k in self.keys:
                self.writers[k] = FeatureStoreWriter(self.out / FILES[k], dim, self.dtype,
                                                     attrs=_store_attrs(k, STORES[k][1], self.source, self.length))
        return self.writers[key]

    def counts(self):
        return {key: len(writer) for key, writer in self.writers.items()}

    def close(self):
        for writer in self.writers.values():
            writer.close()

    def abort(self):
        for writer in self.writers.values():
            writer.abort()


def _write_features(split, source, out, length, dtype, fps, gt_files, progress=True):
    """Every store of the split; returns ``({store: entries}, feature dim)``.  A video whose GT gave
    no duration gets the one of its features and the fps, in the stores and in ``split``."""
    keys = [key for key, (part, _) in STORES.items() if split.parts[part]]
    by_part = {part: [(key, preset) for key, (p, preset) in STORES.items() if p == part] for part in PARTS}
    stores = _Stores(out, keys, source, length, dtype)
    dim = first = None
    measured = {}
    try:
        for part, video in progress_bar(split.videos(), enabled=progress, desc=f"prepare {out}", unit="video"):
            feats, where, fps_store = source.read(video.video_id)
            if dim is None:
                dim, first = feats.shape[1], where
            elif feats.shape[1] != dim:
                raise UserError(f"{where}: feature dim {feats.shape[1]}, but {first} has {dim}")
            timing = video_timing(video, feats.shape[0], fps or fps_store)
            if timing is None:
                raise missing_duration_error(", ".join(map(str, gt_files)), video.video_id, where)
            if video.duration_missing:          # every store places the features on the measured duration
                video = replace(video, duration=timing[0], duration_missing=False)
                measured[video.video_id] = timing[0]
            for key, preset in by_part[part]:
                if preset is None:
                    resized, meta = video_entry(where, video.video_id, feats, video, length=length,
                                                fps=fps or fps_store, dtype=dtype)
                    stores.writer(key, dim).add(video.video_id, resized, **meta)
                else:
                    add_segments(stores.writer(key, dim), feats, video, timing[1], preset["min_features"],
                                 _segment_length(preset, length))
        counts = stores.counts()
        for key in keys:
            part, preset = STORES[key]
            if counts[key] == 0:
                raise UserError(f"{FILES[key]}: none of the {len(split.parts[part])} {PART_NAMES[part]} has an "
                                f"instance of at least {preset['min_features']} features (one per 8 frames)")
        stores.close()
    except BaseException:
        stores.abort()
        raise
    for part in PARTS:
        split.parts[part] = [replace(v, duration=measured[v.video_id], duration_missing=False)
                             if v.video_id in measured else v for v in split.parts[part]]
    return counts, dim


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m aher.data.prepare",
        description="Build a real-data folder (gt.json, class lists, every feature store) from one ActivityNet-style "
                    "GT file, one feature folder and the untrimmed/moment class split.")
    p.add_argument("--gt", required=True, action="append", metavar="FILE",
                   help="GT with the videos of both sets: an ActivityNet-style JSON, or any annotation file "
                        "aher.data.annotations.load_videos reads; repeat to merge several files")
    p.add_argument("--features", required=True, metavar="PATH",
                   help="folder of per-video .npy/.csv files (stem = video id), or an unresized feature store (.h5)")
    p.add_argument("--classes-untrimmed", required=True, metavar="FILE",
                   help="classes of the untrimmed (fully annotated) set, one per line")
    p.add_argument("--classes-moment", required=True, metavar="FILE", help="classes of the moment set, one per line")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder (data.dataset_dir of the config)")
    p.add_argument("--format", choices=["npy", "csv"], default=None, dest="fmt",
                   help="kind of feature files (default: the one kind in the folder)")
    p.add_argument("--train-subset", default="training", metavar="NAME",
                   help="GT subset of the training videos (default training)")
    p.add_argument("--eval-subset", default="validation", metavar="NAME",
                   help="GT subset of the evaluation videos (default validation)")
    p.add_argument("--untrimmed-train-subset", default=None, metavar="NAME",
                   help="GT subset of the untrimmed-set classes' training videos (default: --train-subset)")
    p.add_argument("--untrimmed-eval-subset", default=None, metavar="NAME",
                   help="GT subset of the untrimmed-set classes' evaluation videos (default: --eval-subset)")
    p.add_argument("--length", type=int, default=512, metavar="L",
                   help="steps of untrimmed videos (model.temporal_length; moments get L/2), default 512")
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"], help="storage dtype (default float16)")
    p.add_argument("--fps", type=float, default=None,
                   help="frames per second of videos whose GT entry has no fps (default: features span the video)")
    p.add_argument("--strip-prefix", default="", metavar="S",
                   help="remove this prefix from file stems to get video ids (e.g. 'v_')")
    p.add_argument("--transpose", action="store_true", help="npy arrays are [D, N]: transpose them")
    p.add_argument("--skip-missing", action="store_true",
                   help="leave selected videos without a feature file out of every file (default: error)")
    return p


def _check_args(args) -> None:
    if not _power_of_two(args.length):
        raise UserError(f"--length must be a power of two >= 8 (as model.temporal_length), got {args.length}")
    if args.fps is not None and not (args.fps > 0 and args.fps < float("inf")):
        raise UserError(f"--fps must be positive, got {args.fps}")
    for prefix, (train, evaluation) in (("--", _subsets(args)["moment"]), ("--untrimmed-", _subsets(args)["untrimmed"])):
        if train == evaluation:
            raise UserError(f"{prefix}train-subset and {prefix}eval-subset are both {train!r}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")


def _subsets(args):
    """``{class set: (training subset, evaluation subset)}`` of the command line."""
    return {"untrimmed": (args.untrimmed_train_subset or args.train_subset,
                          args.untrimmed_eval_subset or args.eval_subset),
            "moment": (args.train_subset, args.eval_subset)}


def read_gt(paths) -> list[Video]:
    """The videos of every GT file (any format ``load_videos`` reads), in file order; ids must be unique."""
    seen, videos = {}, []
    for path in paths:
        if not Path(path).is_file():
            raise UserError(f"{path}: GT file not found")
        for video in load_videos(path):
            if video.video_id in seen:
                raise UserError(f"{path}: video {video.video_id} is also in {seen[video.video_id]}")
            seen[video.video_id] = path
            videos.append(video)
    return videos


def _drop_missing(split, source, args) -> None:
    """Remove the videos without features (``--skip-missing``) or raise."""
    selected = split.videos()
    missing = [video.video_id for _, video in selected if video.video_id not in source]
    if not missing:
        return
    hint = f"e.g. {missing[0]!r}; feature ids (file stems minus --strip-prefix) must equal the GT ids"
    if len(missing) == len(selected):
        raise UserError(f"{source.where}: none of the {len(selected)} selected GT videos has features ({hint})")
    if not args.skip_missing:
        raise UserError(f"{source.where}: {len(missing)} of the {len(selected)} selected GT videos "
                        f"{'has' if len(missing) == 1 else 'have'} no "
                        f"features ({hint}); pass --skip-missing to leave them out of every file")
    gone = set(missing)
    for part in PARTS:
        split.parts[part] = [v for v in split.parts[part] if v.video_id not in gone]
    split.left_out["without features"] += len(missing)


def _check_parts(split, args, present) -> None:
    files = {"untrimmed": args.classes_untrimmed, "moment": args.classes_moment}
    for part in PARTS:
        if part == OPTIONAL_PART or split.parts[part]:
            continue
        class_set, role = part.split("_")
        subset = _subsets(args)[class_set][0 if role == "train" else 1]
        with_features = " with features" if split.left_out["without features"] else ""
        raise UserError(f"{', '.join(args.gt)}: no video of subset {subset!r}{with_features} has a class of "
                        f"{files[class_set]} (subsets in the GT: {', '.join(sorted(present))})")


def _output_files(out: Path) -> list[Path]:
    return [out / name for name in FILES.values()]


def _plural(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _summary(split, counts, dim, args, removed) -> list[str]:
    parts = split.parts
    lines = [f"{Path(args.out) / FILES['gt']}: {len(parts['untrimmed_train'])} + {len(parts['moment_train'])} training "
             f"videos (untrimmed set + moment set), {len(parts['moment_eval'])} evaluation videos"
             + (f"; {FILES['gt_untrimmed']}: {len(parts['untrimmed_eval'])} videos" if parts["untrimmed_eval"] else "")]
    stores = ", ".join(f"{FILES[key]} {count}" for key, count in counts.items())
    lines.append(f"{stores} (dim {dim}, {args.dtype}, videos {args.length} steps, moments {args.length // 2})")
    left = [f"{_plural(n, 'video')} {reason}" for reason, n in split.left_out.items() if n]
    if split.dropped_instances:
        left.append(f"{_plural(split.dropped_instances, 'instance')} of classes outside their video's set")
    if left:
        lines.append("left out: " + "; ".join(left))
    lines.extend(f"removed {path} (no evaluation videos of the untrimmed-set classes this time)" for path in removed)
    return lines


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _check_args(args)
    untrimmed, moment = read_class_split(args.classes_untrimmed, args.classes_moment)
    videos = read_gt(args.gt)
    split = split_videos(videos, untrimmed, moment, _subsets(args))
    source = open_source(args.features, args.fmt, args.strip_prefix, args.transpose)
    try:
        if split.videos():
            _drop_missing(split, source, args)
        _check_parts(split, args, {v.subset for v in videos})
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None
        for path in _output_files(out):
            remove_stale_temporaries(path)
        counts, dim = _write_features(split, source, out, args.length, args.dtype, args.fps, args.gt)
    finally:
        source.close()
    gt_videos = split.parts["untrimmed_train"] + split.parts["moment_train"] + split.parts["moment_eval"]
    order = {video.video_id: k for k, video in enumerate(videos)}
    write_activitynet_gt(sorted(gt_videos, key=lambda v: order[v.video_id]), out / FILES["gt"])
    removed = []
    if split.parts["untrimmed_eval"]:
        write_activitynet_gt(split.parts["untrimmed_eval"], out / FILES["gt_untrimmed"])
    else:
        for key in ("gt_untrimmed", "eval_untrimmed"):
            if (out / FILES[key]).is_file():
                (out / FILES[key]).unlink()
                removed.append(out / FILES[key])
    write_class_list(untrimmed, out / FILES["classes_untrimmed"])
    write_class_list(moment, out / FILES["classes_moment"])
    for line in _summary(split, counts, dim, args, removed):
        print(line)
    for line in _classes_without_training_videos(split, {"untrimmed": (untrimmed, args.classes_untrimmed),
                                                         "moment": (moment, args.classes_moment)}):
        print(line, file=sys.stderr)
    return 0


def _classes_without_training_videos(split, lists, shown=5):
    """``warning:`` lines naming the listed classes that no training video of their set has (a typo
    in a class list, e.g. another case, leaves a class with nothing to learn from)."""
    lines = []
    for class_set, (names, path) in lists.items():
        seen = {inst.label for video in split.parts[f"{class_set}_train"] for inst in video.instances}
        empty = [name for name in names if name not in seen]
        if empty:
            more = f" and {len(empty) - shown} more" if len(empty) > shown else ""
            lines.append(f"warning: {path}: {len(empty)} of {len(names)} classes have no training video in the GT "
                         f"(names must match exactly, case included): {', '.join(map(repr, empty[:shown]))}{more}")
    return lines


if __name__ == "__main__":
    sys.exit(run_main(main))
