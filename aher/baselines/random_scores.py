"""Chance-level references for a run's metrics, scored by the same evaluator.

  python -m aher.baselines.random_scores --config CFG --run RUN_DIR [--seed 0] [--repeats 5]

Two references on the evaluation videos of the config's dataset, each averaged over
``--repeats`` random draws and written to ``RUN_DIR/random_baselines.json``:

* ``random_segments``: 100 uniformly random segments per video (start and end uniform in
  the video), random moment-set labels, random scores -- what a model with no information scores;
* ``shuffled_scores``: the run's own detections (``metrics.json`` -> results file) with their
  scores randomly permuted within each video and labels replaced by random ones -- the same
  segments without the model's ranking and classification.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from aher.cli import run_main
from aher.errors import UserError
from aher.config import load_config
from aher.datasets import resolve_dataset
from aher.inference import score
from evaluation.cli_common import write_json_atomic


def random_segments(videos, classes, rng, per_video=100):
    results = {}
    for v in videos:
        a, b = rng.uniform(0, v.duration, size=(2, per_video))
        results[v.video_id] = [{"label": classes[rng.integers(len(classes))], "score": float(s),
                                "segment": [float(min(x, y)), float(max(x, y))]}
                               for x, y, s in zip(a, b, rng.random(per_video))]
    return {"version": "random", "results": results, "external_data": {}}


def shuffled_scores(results, classes, rng):
    out = {}
    for vid, rows in results["results"].items():
        scores = rng.permutation([r["score"] for r in rows]) if rows else []
        out[vid] = [{"label": classes[rng.integers(len(classes))], "score": float(s), "segment": r["segment"]}
                    for r, s in zip(rows, scores)]
    return {"version": "shuffled", "results": out, "external_data": {}}


def mean_metrics(runs):
    keys = ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP", "AR@100", "AUC")
    return {k: float(np.mean([r[k] for r in runs])) for k in keys} | {"repeats": len(runs)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--run", required=True, help="run folder with metrics.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    config = load_config(args.config, args.set)
    run = Path(args.run)
    if not (run / "metrics.json").is_file():
        raise UserError(f"{run}/metrics.json: missing (train and test the run first)")
    metrics = json.loads((run / "metrics.json").read_text())
    with open(run / metrics["results_file"]) as fh:
        results = json.load(fh)
    dataset = resolve_dataset(config, needed=("gt", "classes_moment", "eval"), log=lambda *a: None, progress=False)
    videos = [v for v in dataset.videos if v.subset == "validation"]
    classes = dataset.classes["moment"]
    rng = np.random.default_rng(args.seed)
    out = {
        "model": {k: metrics[k] for k in ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP", "AR@100", "AUC")},
        "random_segments": mean_metrics([score(random_segments(videos, classes, rng), dataset.path("gt"), config)
                                         for _ in range(args.repeats)]),
        "shuffled_scores": mean_metrics([score(shuffled_scores(results, classes, rng), dataset.path("gt"), config)
                                         for _ in range(args.repeats)]),
    }
    write_json_atomic(run / "random_baselines.json", out)
    for name, m in out.items():
        print(f"{name:16s} average mAP {100 * m['average_mAP']:6.2f}  mAP@0.5 {100 * m['mAP@0.5']:6.2f}  "
              f"AR@100 {m['AR@100']:6.2f}  AUC {m['AUC']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
