"""Cut annotated segments (moments, foreground) out of per-video features.

paper_vs_code §8.3 (K600 moments) and paper_vs_code §8.4 (ANet foreground), with the upstream indentation bug
fixed: every annotation of a video is considered, not only the first.

For each instance of a video with N feature rows:

1. normalise start/end by the seconds covered by features (``Video.covered_seconds``) and clip
   to [0, 1];
2. keep the instance if ``(end - start) * N >= min_features``;
3. take rows ``[int(start * N), int(end * N))``;
4. resample them to ``length`` steps with :func:`aher.data.features.resize`, giving the slice
   its own frame count (``rows * 8``) and seconds (``rows * 8 / fps``).

Settings used by the project: foreground of untrimmed videos ``min_features=32, length=512``;
moments ``min_features=8, length=256``.

This module only slices features; labels are copied from the annotations as strings.
:func:`add_segments` writes one video's segments into an open store (used by
:func:`write_segment_store` and by ``python -m aher.data.prepare``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from aher.data.annotations import Instance, Video
from aher.data.features import FEATURE_STRIDE, FeatureStore, FeatureStoreError, FeatureStoreWriter, resize
from aher.progress import progress_bar

FOREGROUND = {"min_features": 32, "length": 512}
MOMENTS = {"min_features": 8, "length": 256}


def _video_frames(video: Video, n_rows: int, n_frames=None) -> float:
    """Frames in the whole video: explicit value, annotation fields, else the features' span."""
    for value in (n_frames, video.duration_frame):
        if value is not None and float(value) > 0:
            return float(value)
    if video.fps and video.duration:
        return float(video.fps) * float(video.duration)
    return float(n_rows * FEATURE_STRIDE)          # features assumed to span the video


def _iter_segments(features, video: Video, n_frames, min_features,
                   length) -> Iterator[tuple[int, Instance, np.ndarray, dict]]:
    feats = np.asarray(features)
    if feats.ndim != 2:
        raise ValueError(f"video {video.video_id!r}: features must be [N, D], got shape {feats.shape}")
    n = feats.shape[0]
    if n == 0 or not video.instances:
        return
    covered = float(video.covered_seconds)
    if not (covered > 0 and math.isfinite(covered)):
        raise ValueError(f"video {video.video_id!r}: covered seconds must be positive, got {covered}")
    frames = _video_frames(video, n, n_frames)
    duration = float(video.duration) if video.duration and video.duration > 0 else n * FEATURE_STRIDE
    seconds_per_frame = duration / frames
    for k, inst in enumerate(video.instances):
        start = min(max(inst.start / covered, 0.0), 1.0)
        end = min(max(inst.end / covered, 0.0), 1.0)
        if (end - start) * n < min_features:
            continue
        first, stop = int(start * n), int(end * n)
        if stop <= first:
            continue
        rows = stop - first
        seg_frames = rows * FEATURE_STRIDE
        seg = resize(feats[first:stop], seg_frames, seg_frames * seconds_per_frame, length)
        info = {"start_row": first, "n_features": rows, "seconds": (end - start) * covered}
        yield k, inst, seg, info


def extract_segments(features, video: Video, n_frames, min_features, length) -> list[tuple[Instance, np.ndarray]]:
    """``[(instance, segment [length, D] float32), ...]`` for every kept instance of ``video``.

    ``features`` are the video's original (unresized) rows, one per 8 frames; ``n_frames`` is the
    number of frames in the whole video (``None``: take ``video.duration_frame``, else
    ``fps * duration``, else assume the features span the video).  Instances come back in
    annotation order; exact duplicates are kept (one segment each).
    """
    return [(inst, seg) for _, inst, seg, _ in _iter_segments(features, video, n_frames, min_features, length)]


def add_segments(writer: FeatureStoreWriter, features, video: Video, n_frames, min_features, length) -> int:
    """Add the kept segments of one video to ``writer``; returns how many.

    Ids ``"<video>#<k>"`` with ``k`` the instance's index in ``video.instances``; metadata as
    described in :func:`write_segment_store`.
    """
    count = 0
    for k, inst, seg, info in _iter_segments(features, video, n_frames, min_features, length):
        writer.add(f"{video.video_id}#{k}", seg, label=inst.label, video=video.video_id,
                   start=float(inst.start), end=float(inst.end), duration=info["seconds"],
                   n_features=info["n_features"], start_row=info["start_row"])
        count += 1
    return count


def write_segment_store(src, videos: Iterable[Video], out_path, min_features, length, *,
                        dtype=None, missing="skip", progress=True) -> int:
    """Write the kept segments of ``videos`` (features read from ``src``) to a new store.

    ``src`` is a :class:`FeatureStore` or a path to one, holding the original (unresized)
    features; a store whose root attr ``resized`` is non-zero is refused.  Segment ids are ``"<video>#<k>"`` where
    ``k`` is the instance's index in ``video.instances`` (stable, so gaps mean dropped
    instances).  Metadata per segment: ``label``, ``video``, ``start``/``end`` (annotation
    seconds), ``duration`` (seconds of the clipped segment), ``n_features`` (rows before
    resampling), ``start_row``.  Videos absent from ``src`` are skipped (``missing="skip"``) or
    raise ``KeyError`` (``missing="error"``).  Returns the number of segments written.
    """
    if missing not in ("skip", "error"):
        raise ValueError(f"missing must be 'skip' or 'error', got {missing!r}")
    own = not isinstance(src, FeatureStore)
    store = FeatureStore(src) if own else src
    try:
        resized = store.attrs.get("resized") or 0
        if resized:
            raise FeatureStoreError(f"{store.path}: features were resized to {resized} steps; segments must be "
                                    "cut from the original (unresized) features, one row per 8 frames")
        videos = list(videos)
        attrs = {"kind": "segments", "source": str(store.path), "min_features": int(min_features),
                 "length": int(length)}
        count = 0
        with FeatureStoreWriter(out_path, store.dim, dtype or store.dtype, attrs=attrs) as writer:
            for video in progress_bar(videos, enabled=progress, desc=f"segments -> {out_path}",
                                      unit="video"):
                if video.video_id not in store:
                    if missing == "error":
                        store.get(video.video_id)   # raises MissingVideoError naming the id
                    continue
                meta = store.meta(video.video_id)
                n_frames = video.duration_frame or meta.get("n_frames")
                count += add_segments(writer, store.get(video.video_id), video, n_frames, min_features, length)
        return count
    finally:
        if own:
            store.close()


def main(argv=None) -> int:
    """``python -m aher.data.moments --src RAW.h5 --annotations FILE --out OUT.h5 --kind moments|foreground``"""
    import argparse

    from aher.cli import run_main
    from aher.data.annotations import load_videos
    from aher.data.import_features import remove_stale_temporaries
    from aher.errors import UserError

    def run(args_list):
        p = argparse.ArgumentParser(
            prog="python -m aher.data.moments",
            description="Cut annotated segments out of an UNRESIZED feature store into a segment store "
                        "(ids '<video>#<k>', meta label/video/start/end): moments (>= 8 features -> 256 steps) "
                        "or foreground segments (>= 32 features -> 512 steps).")
        p.add_argument("--src", required=True, help="feature store of the videos at the extractor rate (not resized)")
        p.add_argument("--annotations", required=True, help="annotation file (any format load_videos reads)")
        p.add_argument("--out", required=True, help="output segment store (.h5, written atomically)")
        p.add_argument("--kind", choices=["moments", "foreground"], required=True)
        p.add_argument("--subset", default=None, help="only videos of this subset (e.g. training)")
        p.add_argument("--length", type=int, default=None, help="override the output length (default 256 / 512)")
        p.add_argument("--min-features", type=int, default=None, help="override the minimum length (default 8 / 32)")
        p.add_argument("--dtype", choices=["float16", "float32"], default="float16")
        args = p.parse_args(args_list)
        preset = MOMENTS if args.kind == "moments" else FOREGROUND
        videos = load_videos(args.annotations)
        if args.subset:
            subsets = sorted({v.subset for v in videos})
            videos = [v for v in videos if v.subset == args.subset]
            if not videos:
                raise UserError(f"{args.annotations}: no video of subset {args.subset!r} "
                                f"(subsets: {', '.join(subsets) or 'none'})")
        with FeatureStore(args.src) as src:
            remove_stale_temporaries(args.out)
            count = write_segment_store(src, videos, args.out,
                                        args.min_features or preset["min_features"], args.length or preset["length"],
                                        dtype=args.dtype)
        print(f"wrote {count} {args.kind} segments of {len(videos)} videos to {args.out}")
        return 0

    return run_main(run, argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
