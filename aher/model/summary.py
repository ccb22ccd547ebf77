"""Parameter counts of every variable group of a config's model.

  python -m aher.model.summary --config configs/k600_paper.yaml [--json]

Builds the graph of both label spaces (placeholders only: no session, no initialisation, so
paper scale is instant) and prints the parameters of each group of paper_vs_code §7.2
(``aher.model.variable_groups.GROUPS``) and the total.  Class counts come from
``model.num_classes`` or, when null, from the dataset (synthetic: its generator config).
"""

import argparse
import json
import sys

import numpy as np
import tensorflow as tf

from aher.cli import run_main
from aher.config import load_config
from aher.model import variable_groups
from aher.model.context import generators
from aher.model.discriminator import discriminator_logits
from aher.model.graph import AherNet


def class_counts(config):
    """``{"untrimmed": K_u, "moment": K_m}`` from the config, or the dataset it names."""
    given = config.model.num_classes
    if given.untrimmed and given.moment:
        return {"untrimmed": given.untrimmed, "moment": given.moment}
    data = config.data
    if data.source == "synthetic":
        from aher.data.synthetic import resolve_config

        cfg = resolve_config(config.setting, data.scale, data.synthetic_overrides)
        return {"untrimmed": int(cfg["n_classes_untrimmed"]), "moment": int(cfg["n_classes_moment"])}
    from aher.datasets import resolve_dataset

    dataset = resolve_dataset(config, needed=("classes_untrimmed", "classes_moment"))
    return {k: len(v) for k, v in dataset.classes.items()}


def build_adversarial_variables(net, features, config):
    """Create G1/G2 and the per-layer discriminators on ``features``-shaped inputs (to count them)."""
    model = net.config
    generators(tf.zeros([1, model.moment_length, model.feature_dim]), config.context)
    discriminator_logits(net.end_points(features))


def count_parameters(config, build_extra=None):
    """Return ``{group: parameters}`` plus ``"total"`` for the config's model."""
    model = config.model
    counts = class_counts(config)
    graph = tf.Graph()
    with graph.as_default():
        net = AherNet(model, counts)
        x = tf.compat.v1.placeholder(tf.float32, [None, model.temporal_length, model.feature_dim])
        for space in ("untrimmed", "moment"):
            net.localize(x, space)
        if build_extra is not None:
            build_extra(net, x, config)
        out = {}
        for group in variable_groups.GROUPS:
            out[group] = int(sum(np.prod(v.shape.as_list()) for v in variable_groups.collect(group, graph)))
        out["total"] = int(sum(np.prod(v.shape.as_list()) for v in tf.compat.v1.trainable_variables()))
    return out, counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    config = load_config(args.config, args.set)
    counts, classes = count_parameters(config, build_adversarial_variables)
    if args.json:
        print(json.dumps({"config": args.config, "num_classes": classes, "parameters": counts}, indent=1))
        return 0
    print(f"{args.config}: T={config.model.temporal_length}, D={config.model.feature_dim}, "
          f"classes untrimmed={classes['untrimmed']} moment={classes['moment']}")
    for group, n in counts.items():
        print(f"  {group:<16s} {n:>14,d}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
