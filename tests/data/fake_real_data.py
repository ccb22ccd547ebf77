"""Small fake inputs of the README's real-data commands (ANet -> Kinetics-600), for tests.

``write_fake_inputs(root)`` writes, under ``root``, the files the README names:

* ``activity_net.v1-3.min.json``: ActivityNet-style GT (no ``fps``: the features span each video)
  with training videos of three ActivityNet classes, two validation videos, a ``testing`` video
  and a video of an unlisted class (both left out), and a video with one instance of an unlisted
  class (dropped);
* ``kinetics600_clips.json``: Kinetics-like training clips, one instance spanning each clip;
* ``k600_val_annotation.txt`` + ``k600_category.txt``: AherNet's K600 evaluation format;
* ``features/<id>.npy``: random non-negative ``[N, dim]`` float32, one row per 8 frames at 30 fps.

It returns the paths and the expected sizes of the parts.  ``write_gt_and_features`` writes the
feature files of any ``{id: database entry}`` mapping.  ``killed_at_read(module, n)`` is the
source of a ``python -c`` program that runs ``module``'s CLI and SIGKILLs itself at its ``n``-th
feature read (a run killed mid-write).
"""

import json
import math

import numpy as np

FPS = 30.0
UNTRIMMED = ["Long jump", "Shot put", "Surfing"]          # names of data/meta/anet_classes_200.txt
MOMENT = ["abseiling", "archery", "juggling_balls"]       # written as k600_category.txt


def _rows(duration):
    return int(round(duration * FPS / 8))


def _entry(subset, duration, segments):
    return {"subset": subset, "duration": round(float(duration), 2),
            "annotations": [{"segment": [round(s, 2), round(e, 2)], "label": label} for s, e, label in segments]}


def anet_database(rng):
    database = {}
    for k in range(8):                        # untrimmed-set training videos: 1-2 instances of 10-20 s
        duration = rng.uniform(45, 80)
        label = UNTRIMMED[k % 3]
        start = rng.uniform(2, 10)
        segments = [(start, start + rng.uniform(10, 20), label)]
        if k % 2:
            s2 = segments[0][1] + rng.uniform(2, 5)
            segments.append((s2, min(s2 + rng.uniform(10, 15), duration - 1), label))
        database[f"anet{k:02d}"] = _entry("training", duration, segments)
    for k in range(2):                        # evaluation videos of the untrimmed-set classes
        database[f"aval{k:02d}"] = _entry("validation", 50.0, [(5.0, 25.0, UNTRIMMED[k])])
    database["atest00"] = _entry("testing", 40.0, [])                                  # left out: subset
    database["other00"] = _entry("training", 40.0, [(3.0, 20.0, "Unlisted class")])   # left out: class
    database["mixed00"] = _entry("training", 60.0, [(3.0, 20.0, UNTRIMMED[0]), (30.0, 40.0, "Unlisted class")])
    return database


def clip_database():
    return {f"clip{k:02d}": _entry("training", 10.0, [(0.0, 10.0, MOMENT[k % 3])]) for k in range(9)}


def k600_rows(rng):
    """``[(id, start, end, class index)]`` of the evaluation videos and their durations (ceil(max end) + 5)."""
    rows = []
    for k in range(4):
        start = round(rng.uniform(2, 8), 1)
        rows.append((f"kval{k:02d}", start, round(start + rng.uniform(6, 15), 1), k % 3))
    return rows, {vid: math.ceil(end) + 5.0 for vid, _, end, _ in rows}


#: sizes of the parts of the fake inputs (untrimmed_train counts mixed00)
EXPECTED = {"untrimmed_train": 9, "moment_train": 9, "moment_eval": 4, "untrimmed_eval": 2,
            "left_out": 2, "dropped_instances": 1}


def write_features(folder, durations, dim, seed):
    """One ``<id>.npy`` per ``{id: duration}``: rows = duration * 30 fps / 8."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for vid, duration in durations.items():
        feats = np.maximum(rng.normal(size=(_rows(duration), dim)), 0.0).astype(np.float32)
        np.save(folder / f"{vid}.npy", feats)


def write_fake_inputs(root, dim=32, seed=0):
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    anet, clips = anet_database(rng), clip_database()
    rows, k600_durations = k600_rows(rng)
    paths = {"anet": root / "activity_net.v1-3.min.json", "clips": root / "kinetics600_clips.json",
             "k600": root / "k600_val_annotation.txt", "category": root / "k600_category.txt",
             "features": root / "features"}
    for key, database in (("anet", anet), ("clips", clips)):
        paths[key].write_text(json.dumps({"version": "VERSION 1.3", "taxonomy": [], "database": database}))
    paths["k600"].write_text("".join(f"{vid}\t{s}\t{e}\t{c}\n" for vid, s, e, c in rows))
    paths["category"].write_text("".join(f"{name}\n" for name in MOMENT))
    durations = {vid: entry["duration"] for vid, entry in {**anet, **clips}.items()}
    write_features(paths["features"], {**durations, **k600_durations}, dim, seed + 1)
    paths["gt"] = [paths["anet"], paths["clips"], paths["k600"]]
    return paths


def killed_at_read(module, n):
    """``python -c`` source: run ``module.main(argv)``, SIGKILL the process at the ``n``-th ``read_features``."""
    return f"""
import os, signal, sys
import {module} as target
read, calls = target.read_features, []
def read_then_die(*args):
    calls.append(args)
    if len(calls) == {n}:
        os.kill(os.getpid(), signal.SIGKILL)
    return read(*args)
target.read_features = read_then_die
sys.exit(target.main(sys.argv[1:]))
"""
