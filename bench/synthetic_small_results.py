#!/usr/bin/env python
"""Train and test every setting on the small synthetic benchmark; write the results table.

For each setting: AherNet (Algorithm 1, ``configs/<setting>_synthetic_small.yaml``) and the
fully-supervised oracle AherNet* (the core issue's trainer on the moment classes' untrimmed
videos, ``train.method=oracle``), plus the chance references of ``aher.baselines.random_scores``
and the localization references of ``aher.inference`` (read from each run's ``metrics.json``:
detections relabelled with the GT video label; fixed prior windows labelled by the run's video
classifier and by the GT label; "–" for a run made before them).
A run whose ``metrics.json`` exists is reused (``--force`` retrains).

  python bench/synthetic_small_results.py [--runs runs/small] [--report reports/synthetic_small_results.md]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aher.data.synthetic import read_manifest  # noqa: E402
from aher.reproduce.plan import ENTRY_SCRIPTS as SETTINGS  # noqa: E402
from aher.reproduce.runner import train_once  # noqa: E402

METHODS = {"AherNet (Algorithm 1)": "algorithm1", "AherNet* (oracle, fully supervised)": "oracle"}


def run_one(script, config, out, method, force):
    """Reuse or train one run through ``aher.reproduce.runner.train_once`` (its output goes to ``out/reproduce.log``)."""
    result = train_once(script, ROOT / config, out, [f"train.method={method}"], force=force,
                        announce=lambda cmd: print("$", " ".join(cmd), flush=True))
    if result.status == "failed":
        raise SystemExit(f"error: {out}: {result.error} (see {out / 'reproduce.log'})")
    return result.metrics, (result.seconds if result.status == "done" else None)


def pct(metrics, key):
    """A fraction of ``metrics`` in percent, "–" when the run's metrics.json lacks it."""
    value = metrics.get(key)
    return "–" if value is None else f"{100 * value:.2f}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default="runs/small")
    p.add_argument("--report", default="reports/synthetic_small_results.md")
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    runs = ROOT / args.runs
    rows = []
    for setting in args.settings.split(","):
        config = f"configs/{setting}_synthetic_small.yaml"
        for label, method in METHODS.items():
            out = runs / f"{setting}_{method}"
            metrics, seconds = run_one(SETTINGS[setting], config, out, method, args.force)
            subprocess.run([sys.executable, "-m", "aher.baselines.random_scores", "--config", config, "--run", str(out)],
                           cwd=ROOT, check=True, capture_output=True)
            chance = json.loads((out / "random_baselines.json").read_text())
            rows.append((setting, label, metrics, seconds, chance))
            print(f"{setting:10s} {label:38s} average mAP {100 * metrics['average_mAP']:.2f}", flush=True)

    generators = sorted({str((read_manifest(ROOT / "data" / "synthetic" / f"{setting}_small") or {})
                             .get("generator_version", "?")) for setting in args.settings.split(",")})
    lines = ["# Results on the small synthetic benchmark (CPU)", "",
             f"Data: synthetic generator v{', v'.join(generators)} (`data/synthetic/<setting>_small`, seed 0; "
             "realism checks in `reports/synthetic_<setting>_small.md`).", "",
             f"Produced by `python bench/synthetic_small_results.py` ({os.cpu_count()} CPU cores). Each run: "
             "`python <setting script> --config configs/<setting>_synthetic_small.yaml --set train.method=<method>`, "
             "then the test on the evaluation videos (final snapshot). mAP in %, tIoU 0.5:0.05:0.95; AR@100 and AUC "
             "as the official proposal metric (percent). One seed; see the synthetic sanity reports for the data.", "",
             "| setting | method | mAP@0.5 | mAP@0.75 | mAP@0.95 | average mAP | AR@100 | AUC | video acc. | train+test s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for setting, label, m, seconds, _ in rows:
        took = f"{seconds:.0f}" if seconds else "(reused)"
        lines.append(f"| {setting} | {label} | {100 * m['mAP@0.5']:.2f} | {100 * m['mAP@0.75']:.2f} | "
                     f"{100 * m['mAP@0.95']:.2f} | **{100 * m['average_mAP']:.2f}** | {m['AR@100']:.2f} | {m['AUC']:.2f} | "
                     f"{100 * m['video_accuracy']:.1f} | {took} |")
    lines += ["", "Localization references through the same evaluator (average mAP in %; `aher.inference`): the run's "
              "detections relabelled with the video's GT label (localization only), and the same fixed class-agnostic "
              "windows on every video (k-means of the relative centre and length of the untrimmed training set's "
              "instances, scored by their frequency) labelled by the run's video classifier or by the GT label. A run "
              "localizes better than the fixed prior only where its average mAP beats the windows with its own video "
              "labels; \"–\": the run predates these references.", "",
              "| setting | method | average mAP | with GT labels | fixed windows + its video labels | "
              "fixed windows + GT labels | windows |", "|---|---|---:|---:|---:|---:|---:|"]
    for setting, label, m, _, _ in rows:
        lines.append(f"| {setting} | {label} | {pct(m, 'average_mAP')} | {pct(m, 'average_mAP_gt_labels')} | "
                     f"{pct(m, 'prior_average_mAP_video_labels')} | {pct(m, 'prior_average_mAP_gt_labels')} | "
                     f"{m.get('prior_n_windows', '–')} |")
    lines += ["", "Chance references through the same evaluator (mean of 5 draws; `aher.baselines.random_scores`):", "",
              "| setting | run | random segments: average mAP / AUC | model's segments, shuffled scores and random labels: average mAP / AUC |",
              "|---|---|---:|---:|"]
    for setting, label, _, _, chance in rows:
        r, s = chance["random_segments"], chance["shuffled_scores"]
        lines.append(f"| {setting} | {label} | {100 * r['average_mAP']:.2f} / {r['AUC']:.2f} | "
                     f"{100 * s['average_mAP']:.2f} / {s['AUC']:.2f} |")
    (ROOT / args.report).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
