"""Probes of a trained checkpoint (TF1 graphs): anchor features per layer and per-layer accuracy.

Contract
--------
* :func:`restore_variables` restores the variables a probe built from a checkpoint; every one
  must exist there with its shape, else a one-line :class:`aher.errors.UserError` naming the first
  missing variable and what the probe needs.
* :func:`collect_anchor_features` (Fig. 5) builds the AherNet backbone and the context generators
  (:func:`aher.model.context.synthesize_untrimmed`, the config's ``context`` section), restores
  both, and runs the backbone on the synthetic and real videos of
  :func:`aher.analysis.probe_inputs.sample_anchor_inputs`.  Synthetic anchors are labelled against
  the *true* moment span (``fix_odd_gt`` forced on: it changes the recorded GT only, never the
  video).  Result: per layer ``j``, the end point ``conv_a{j}`` [n_videos, T_j, C_j] and the
  matcher's ``gscores`` [n_videos, T_j, A] (:func:`aher.model.matcher.match_anchors_np`).  A
  checkpoint without generators (e.g. an oracle run) is an error.
* :func:`layer_accuracy` (Fig. 4) classifies the evaluation instances
  (:class:`aher.analysis.probe_inputs.EvalInstances`) with the pooled classifier of each anchor
  layer and the **moment-set** classifier ``W~_regv`` (the Cls branch, :meth:`AherNet.classify`):
  top-1 accuracy per layer, plus "all layers" = the argmax of the layers' averaged softmax.

A checkpoint argument is a run folder, its ``checkpoints/`` folder or a snapshot prefix
(:func:`aher.train.checkpoints.resolve_checkpoint`).  Limits: inference only, on CPU in batches
(Fig. 5 at paper scale: 1,200 synthetic videos of 2048-d features, a GPU is advisable).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from aher.analysis.probe_inputs import read_rows, sample_anchor_inputs
from aher.datasets import resolve_dataset
from aher.errors import UserError
from aher.model.context import synthesize_untrimmed
from aher.model.graph import AherNet
from aher.model.matcher import match_anchors_np
from aher.train.checkpoints import resolve_checkpoint


def _silent(*_):
    return None


def restore_variables(session, variables, checkpoint, purpose):
    """Restore ``variables`` from ``checkpoint``; every one must exist there with its shape."""
    try:
        stored = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as exc:
        raise UserError(f"{checkpoint}: cannot read the checkpoint ({str(exc).splitlines()[0]})") from None
    missing = [v.op.name for v in variables if v.op.name not in stored]
    if missing:
        raise UserError(f"{checkpoint}: has no {missing[0]} ({len(missing)} variable(s) missing); {purpose}")
    for v in variables:
        if list(stored[v.op.name]) != v.shape.as_list():
            raise UserError(f"{checkpoint}: {v.op.name} has shape {stored[v.op.name]}, the config gives "
                            f"{v.shape.as_list()} (is --config the run's config?)")
    with session.graph.as_default():
        tf.compat.v1.train.Saver(variables).restore(session, checkpoint)


def _batches(n, size):
    for start in range(0, n, size):
        yield start, min(start + size, n)


# ------------------------------------------------------------------------ Fig. 5: anchor features

@dataclasses.dataclass
class AnchorFeatures:
    """Per-layer cell features and anchor gscores of the synthetic and the real videos.

    ``synthetic[j]`` / ``real[j]``: (features [n_videos, T_j, C_j], gscores [n_videos, T_j, A]).
    """

    layers: list
    synthetic: list
    real: list
    n_moments: int
    n_real: int


@dataclasses.dataclass
class _AnchorGraph:
    """The Fig. 5 graph in its session: placeholders and the end points they feed."""

    session: object
    variables: list
    layers: list
    batch: int
    moments: object
    ratio_id: object
    pos_id: object
    real: object
    synthetic_points: list
    synthetic_gt: object
    real_points: list


def _anchor_graph(model, ctx, batch):
    """Backbone + context generators; ``batch`` synthetic videos per run (even: parity = position)."""
    graph = tf.Graph()
    with graph.as_default():
        moments = tf.compat.v1.placeholder(tf.float32, [batch, model.moment_length, model.feature_dim], name="moments")
        ratio_id = tf.compat.v1.placeholder(tf.int32, [batch], name="ratio_id")
        pos_id = tf.compat.v1.placeholder(tf.int32, [batch], name="pos_id")
        real = tf.compat.v1.placeholder(tf.float32, [None, model.temporal_length, model.feature_dim],
                                        name="real_videos")
        net = AherNet(model, {})
        video, gt = synthesize_untrimmed(moments, ratio_id, pos_id, ctx, model.temporal_length)
        synthetic_points = net.end_points(video)
        real_points = net.end_points(real)
        variables = tf.compat.v1.global_variables()
        session = tf.compat.v1.Session(graph=graph)
    return _AnchorGraph(session=session, variables=variables, layers=net.layers, batch=batch, moments=moments,
                        ratio_id=ratio_id, pos_id=pos_id, real=real, synthetic_points=synthetic_points,
                        synthetic_gt=gt, real_points=real_points)


def _run_synthetic(g, moments, plan):
    """End points per layer [n, T_j, C_j] and GT boxes [n, 1, 2] of the planned synthetic videos."""
    feats, boxes = [[] for _ in g.layers], []
    for lo, hi in _batches(len(plan), g.batch):
        rows = plan[lo:hi] + [plan[0]] * (g.batch - (hi - lo))       # pad: parity of the pads is unused
        feed = {g.moments: moments[[r[0] for r in rows]], g.ratio_id: [r[1] for r in rows],
                g.pos_id: [r[2] for r in rows]}
        points, gt = g.session.run([g.synthetic_points, g.synthetic_gt], feed)
        for j, p in enumerate(points):
            feats[j].append(p[: hi - lo])
        boxes.append(gt[: hi - lo])
    return [np.concatenate(f) for f in feats], np.concatenate(boxes)


def _run_real(g, store, ids, shape):
    """End points per layer of the real videos ``ids``, read batch by batch (memory)."""
    feats = [[] for _ in g.layers]
    for lo, hi in _batches(len(ids), g.batch):
        rows = read_rows(store, ids[lo:hi], shape)
        for j, p in enumerate(g.session.run(g.real_points, {g.real: rows})):
            feats[j].append(p)
    return [np.concatenate(f) for f in feats]


def _padded_boxes(gts):
    """GT box lists of different lengths -> [n, max(k, 1), 2] padded with -1 (the matcher's "none")."""
    width = max(len(g) for g in gts)
    padded = np.full((len(gts), max(width, 1), 2), -1.0, np.float32)
    for k, g in enumerate(gts):
        padded[k, : len(g)] = g
    return padded


def _layer_gscores(boxes, layers, total):
    """The matcher's gscores of every anchor, split per layer: [n, T_j, A] each."""
    scores = match_anchors_np(boxes, layers, total)["gscores"]
    out, offset = [], 0
    for layer in layers:
        n = layer.length * len(layer.widths)
        out.append(scores[:, offset:offset + n].reshape(len(scores), layer.length, len(layer.widths)))
        offset += n
    return out


def collect_anchor_features(config, checkpoint, n_moments=200, seed=0, batch_size=16, log=None):
    """Run the checkpoint's backbone on synthetic and real videos (module docstring) -> :class:`AnchorFeatures`.

    ``config``: the run's :class:`aher.config.Config`; ``checkpoint``: any of the three forms.
    """
    log = log or _silent
    if n_moments < 1:
        raise UserError(f"--moments must be >= 1, got {n_moments}")
    checkpoint = resolve_checkpoint(checkpoint)
    dataset = resolve_dataset(config, needed=("gt", "moments_train", "untrimmed_train"), log=log, progress=False)
    model = config.model
    ctx = config.with_overrides("context.fix_odd_gt=true").context    # labels against the true span
    g = _anchor_graph(model, ctx, batch_size + batch_size % 2)
    try:
        restore_variables(g.session, g.variables, checkpoint,
                          "Fig. 5 needs the backbone and the context generators of an Algorithm-1 run")
        inputs = sample_anchor_inputs(dataset, model, n_moments, np.random.default_rng(seed))
        log(f"{len(inputs.plan)} synthetic videos from {len(inputs.moments)} moments, "
            f"{len(inputs.real_ids)} real videos")
        syn_feats, syn_gt = _run_synthetic(g, inputs.moments, inputs.plan)
        real_feats = _run_real(g, inputs.real_store, inputs.real_ids, (model.temporal_length, model.feature_dim))
    finally:
        g.session.close()
    syn_scores = _layer_gscores(syn_gt, g.layers, model.temporal_length)
    real_scores = _layer_gscores(_padded_boxes(inputs.real_gt), g.layers, model.temporal_length)
    return AnchorFeatures(layers=g.layers, synthetic=list(zip(syn_feats, syn_scores)),
                          real=list(zip(real_feats, real_scores)), n_moments=len(inputs.moments),
                          n_real=len(inputs.real_ids))


# ------------------------------------------------------------------ Fig. 4: per-layer accuracy

@dataclasses.dataclass
class _ClassifierGraph:
    """The Fig. 4 graph in its session: instances in, softmax of every layer out ([L, B, K])."""

    session: object
    variables: list
    instances: object
    probs: object
    n_layers: int


def _classifier_graph(model, n_classes):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, model.moment_length, model.feature_dim], name="instances")
        logits = AherNet(model, {"moment": n_classes}).classify(x, "moment")["logits"]
        probs = tf.stack([tf.nn.softmax(t) for t in logits], axis=0)          # [L, B, K]
        variables = tf.compat.v1.global_variables()
        session = tf.compat.v1.Session(graph=graph)
    return _ClassifierGraph(session=session, variables=variables, instances=x, probs=probs, n_layers=len(logits))


def _predict(g, batches):
    """Top-1 predictions [n] of every layer, then of the layer-averaged softmax ([L + 1] arrays)."""
    predictions = [[] for _ in range(g.n_layers + 1)]
    for feats in batches:
        p = g.session.run(g.probs, {g.instances: feats})
        for j in range(g.n_layers):
            predictions[j].append(np.argmax(p[j], axis=1))
        predictions[-1].append(np.argmax(p.mean(axis=0), axis=1))
    return [np.concatenate(pred) for pred in predictions]


def layer_accuracy(config, checkpoint, instances, batch_size=64):
    """Top-1 accuracy per anchor layer (and of the layer-averaged softmax) of one checkpoint.

    Args:
      instances: :class:`aher.analysis.probe_inputs.EvalInstances`.
    Returns ``(per-layer accuracies [L], mean-softmax accuracy)``, fractions.
    """
    checkpoint = resolve_checkpoint(checkpoint)
    g = _classifier_graph(config.model, len(instances.classes))
    try:
        restore_variables(g.session, g.variables, checkpoint,
                          "Fig. 4 needs the backbone and the moment-set classifier (cls_moment)")
        predictions = _predict(g, instances.batches(batch_size))
    finally:
        g.session.close()
    accuracy = [float(np.mean(pred == instances.labels)) for pred in predictions]
    return accuracy[:-1], accuracy[-1]
