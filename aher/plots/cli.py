"""Figures of the paper (Figs. 4, 5, 6 and the Fig. 7-style detection timeline), as PNG files.

Run as ``python -m aher.plots <figure> ...``; every subcommand writes one PNG and prints its path.
Bad input (a missing file, an unknown video id, a checkpoint that lacks the needed variables, a
malformed numbers file) is one line on stderr with exit code 2 (:func:`aher.cli.run_main`).

``timeline RESULT.json GT.json --videos ID [ID ...] [--top 5] [--out FILE.png]``
    Fig. 7 style (:mod:`aher.plots.fig7_timeline`); default output ``<result>_timeline.png``
    beside the result file.
``tsne --config CFG --checkpoint RUN [--moments 200] [--anchors 500] [--layer auto] [--out FILE.png]``
    (also ``--seed 0``, ``--iterations 1000`` of t-SNE, ``--set key=value`` config overrides)
    Fig. 5: probes the checkpoint (:func:`aher.analysis.probes.collect_anchor_features`), embeds
    the anchor kinds (:func:`aher.analysis.anchor_kinds.embed_anchor_kinds`) and draws them
    (:mod:`aher.plots.fig5_tsne`); default output ``<run>/fig5_tsne.png``.  Logs the layer, the
    counts drawn / available per kind and the background separability on stderr.
``fig6 NUMBERS.json [--metric average_mAP] [--out FILE.png]``
    Fig. 6 from a numbers file (schemas: :mod:`aher.plots.fig6_annotation`); default output:
    the JSON path with ``.png``.
``fig4 --config CFG --checkpoint RUN_A --checkpoint-b RUN_B [--config-b CFG_B] [--labels A B] [--out FILE.png]``
    Fig. 4: per-layer accuracy of two checkpoints on one set of evaluation instances
    (:func:`aher.analysis.probe_inputs.eval_instances`, :func:`aher.analysis.probes.layer_accuracy`),
    drawn by :mod:`aher.plots.fig4_layers`; default output ``<run A>/fig4_layer_accuracy.png``.
    Logs the accuracies on stderr.  Two configs must give the same instances.

A checkpoint is a run folder, its ``checkpoints/`` folder or a snapshot prefix
(:mod:`aher.train.checkpoints`).  Limits: plotting and feature extraction only (no training, no
scoring); TensorFlow is imported only by ``tsne`` and ``fig4`` (its start-up takes seconds), inside
their command functions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aher.analysis.anchor_kinds import embed_anchor_kinds
from aher.analysis.probe_inputs import eval_instances
from aher.config import load_config
from aher.plots.common import PlotError
from aher.plots.fig4_layers import fig4, layer_percentages
from aher.plots.fig5_tsne import tsne_figure
from aher.plots.fig6_annotation import fig6
from aher.plots.fig7_timeline import timeline


def _log(msg):
    print(msg, file=sys.stderr)


def _existing(path, what):
    if not Path(path).exists():
        raise PlotError(f"{path}: no such {what}")
    return path


def _load(config_path, sets):
    return load_config(_existing(config_path, "config file"), sets)


def _quiet_tensorflow():
    """No Python deprecation notices from TensorFlow (its C++ log level is set by ``aher``)."""
    import tensorflow as tf   # only the checkpoint subcommands pay TensorFlow's start-up

    tf.get_logger().setLevel("ERROR")


# ---------------------------------------------------------------------------------- subcommands

def timeline_command(args):
    result = Path(_existing(args.result, "result file"))
    _existing(args.gt, "ground-truth file")
    out = args.out or result.with_name(result.name.split(".")[0] + "_timeline.png")
    return timeline(result, args.gt, args.videos, out, top=args.top)


def fig6_command(args):
    numbers = Path(_existing(args.numbers, "numbers file"))
    return fig6(numbers, args.out or numbers.with_suffix(".png"), metric=args.metric)


def tsne_command(args):
    """Probe the checkpoint, embed the anchor kinds, draw Fig. 5 (flags and config checked before TensorFlow)."""
    if args.anchors < 2:
        raise PlotError(f"--anchors must be >= 2, got {args.anchors}")
    config = _load(args.config, args.set)
    _quiet_tensorflow()
    from aher.analysis.probes import collect_anchor_features      # TensorFlow
    from aher.train.checkpoints import resolve_checkpoint, run_folder

    checkpoint = resolve_checkpoint(args.checkpoint)
    out = args.out or run_folder(args.checkpoint) / "fig5_tsne.png"
    features = collect_anchor_features(config, checkpoint, args.moments, args.seed, log=_log)
    embedding = embed_anchor_kinds(features, n_anchors=args.anchors, layer=args.layer, seed=args.seed,
                                   n_iter=args.iterations)
    path = tsne_figure(embedding, out, source=Path(checkpoint).name)
    _log(f"layer conv_a{embedding.layer}: " + ", ".join(f"{k} {v}/{embedding.available[k]}"
                                                        for k, v in embedding.counts.items())
         + f"; background 10-NN separability {100 * embedding.separability:.1f} %")
    return path


def fig4_command(args):
    """Per-layer accuracy of both checkpoints on the same evaluation instances, then Fig. 4."""
    config = _load(args.config, args.set)
    config_b = _load(args.config_b, args.set) if args.config_b else config
    _quiet_tensorflow()
    from aher.analysis.probes import layer_accuracy                 # TensorFlow
    from aher.train.checkpoints import resolve_checkpoint, run_folder

    checkpoints = [resolve_checkpoint(args.checkpoint), resolve_checkpoint(args.checkpoint_b)]
    out = args.out or run_folder(args.checkpoint) / "fig4_layer_accuracy.png"
    inst_a = eval_instances(config, _log)
    inst_b = inst_a if config_b is config else eval_instances(config_b, _log)
    if inst_a.spans != inst_b.spans:
        raise PlotError("the two configs give different evaluation instances; Fig. 4 compares models on one set")
    models = [(label, *layer_accuracy(cfg, ck, inst))
              for label, cfg, ck, inst in zip(args.labels, (config, config_b), checkpoints, (inst_a, inst_b))]
    path = fig4(models, out, n_instances=len(inst_a.spans), n_classes=len(inst_a.classes))
    _, values = layer_percentages(models)
    _log("per-layer accuracy (%): " + "; ".join(
        f"{name}: " + " ".join(f"{v:.1f}" for v in row) for name, row in zip(args.labels, values)))
    return path


COMMANDS = {"timeline": timeline_command, "tsne": tsne_command, "fig6": fig6_command, "fig4": fig4_command}


# ---------------------------------------------------------------------------------- parser

def _add_timeline(sub):
    t = sub.add_parser("timeline", help="Fig. 7 style: GT and top detections per video")
    t.add_argument("result", help="ActivityNet result JSON (.json or .json.gz)")
    t.add_argument("gt", help="ActivityNet ground-truth JSON")
    t.add_argument("--videos", nargs="+", required=True, metavar="ID", help="video ids to draw")
    t.add_argument("--top", type=int, default=5, help="detections per video (default 5)")
    t.add_argument("--out", help="PNG path (default: <result>_timeline.png beside the result file)")


def _add_tsne(sub):
    s = sub.add_parser("tsne", help="Fig. 5: t-SNE of foreground / synthetic / real background anchors")
    s.add_argument("--config", required=True, help="the run's YAML config")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    s.add_argument("--checkpoint", required=True, help="run folder, its checkpoints/ folder, or a checkpoint prefix")
    s.add_argument("--moments", type=int, default=200, help="moments of the moment set (default 200)")
    s.add_argument("--anchors", type=int, default=500, help="anchors (cells) of each kind (default 500)")
    s.add_argument("--layer", default="auto", help="anchor layer j, or auto (default)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--iterations", type=int, default=1000, help="t-SNE iterations (default 1000)")
    s.add_argument("--out", help="PNG path (default: <run>/fig5_tsne.png)")


def _add_fig6(sub):
    f = sub.add_parser("fig6", help="Fig. 6: annotation-ratio curves from a numbers JSON")
    f.add_argument("numbers", help="numbers JSON, e.g. fig6.json of aher.reproduce "
                                   "(schemas: docstring of aher.plots.fig6_annotation)")
    f.add_argument("--metric", default="average_mAP", help="series of an aher.reproduce document (default average_mAP)")
    f.add_argument("--out", help="PNG path (default: beside the JSON, .png)")


def _add_fig4(sub):
    g = sub.add_parser("fig4", help="Fig. 4: per-layer classification accuracy of two models")
    g.add_argument("--config", required=True, help="config of model A (and of B unless --config-b)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    g.add_argument("--checkpoint", required=True, help="model A: run folder or checkpoint prefix")
    g.add_argument("--checkpoint-b", required=True, help="model B: run folder or checkpoint prefix")
    g.add_argument("--config-b", help="config of model B (default: --config)")
    g.add_argument("--labels", nargs=2, default=["AherNet", "AherNet^-"], metavar=("A", "B"))
    g.add_argument("--out", help="PNG path (default: <run A>/fig4_layer_accuracy.png)")


def build_parser():
    p = argparse.ArgumentParser(prog="python -m aher.plots", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="figure", required=True, metavar="FIGURE")
    for add in (_add_timeline, _add_tsne, _add_fig6, _add_fig4):
        add(sub)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    print(COMMANDS[args.figure](args))
    return 0
