"""Fully-supervised localization training: Algorithm 1's pre-training and the AherNet* oracle.

Contract: ``train_supervised(config, out_dir, role, resume)`` trains, on untrimmed videos with
temporal annotations, the two sub-steps that need full supervision (reference §7.3, §7.5):

* **S2** -- pooled segment classification ``L_reg`` (reference §5.1) on segments of the label
  space: for ``pretrain`` over ``W_regv`` only (backbone frozen, Algorithm 1's S2); for ``oracle``
  over backbone + ``W~_regv`` (Algorithm 1's S1 group), so the oracle receives every training
  signal AherNet receives on the moment classes, plus full temporal annotations;
* **S3** -- the localization loss set (§5.2) through the transferred anchor classifier
  ``T(W_regv)`` over backbone + box heads + transfer, as two Adam optimizers with their own
  slots (one on ``L_prop``, one on ``L_cls``) built from the same forward pass.

Roles:
  ``pretrain``  model M of Algorithm 1 line 1: untrimmed-set videos, label space ``untrimmed``,
                S2 on their foreground segments (``foreground_train``);
  ``oracle``    AherNet*: the untrimmed videos *of the moment classes* (``oracle_train``), label
                space ``moment`` (so the test script uses it like AherNet), S2 on the moment
                set's segments (``moments_train``).
  ``oracle_untrimmed``  the same recipe on the untrimmed set (``untrimmed_train``, ``foreground_train``,
                label space ``untrimmed``): the AherNet* the paper's text compares with AherNet on the
                untrimmed-set classes (tested with ``eval.label_space: untrimmed``).
Limits: no context generation, no adversary (Algorithm 1, ``aher.train.algorithm1``).
"""

import tensorflow as tf

from aher.data.pipeline import segment_dataset, untrimmed_dataset
from aher.datasets import resolve_dataset
from aher.model import losses as losses_lib
from aher.model import variable_groups
from aher.model.anchors import flat_anchors
from aher.model.graph import AherNet, ModelConfig
from aher.model.matcher import match_anchors
from aher.train.batch_cache import BatchCache
from aher.train.loop import LoopGraph, SubStep, make_iteration_variable, restore_if_resuming, run_loop
from aher.train.run_dir import RunDir

ROLES = {
    # role: (label space, untrimmed store, segment store, sub-step whose group the classification step trains)
    "pretrain": ("untrimmed", "untrimmed_train", "foreground_train", "S2"),   # W_regv only, as Algorithm 1's S2
    "oracle": ("moment", "oracle_train", "moments_train", "S1"),              # backbone + W~_regv, as S1
    "oracle_untrimmed": ("untrimmed", "untrimmed_train", "foreground_train", "S1"),
}


def loss_config(config):
    section = dict(config["loss"])
    section.pop("reg_weight", None)
    return losses_lib.LossConfig(**section)


def adam(lr, train, name):
    return tf.compat.v1.train.AdamOptimizer(lr, beta1=float(train["adam_beta1"]), beta2=float(train["adam_beta2"]),
                                            epsilon=float(train["adam_epsilon"]), name=name)


def localization_loss_set(net, loc, labels, targets, config):
    """The §5.2 loss set of a Loc branch output, with the config's paper/upstream options."""
    centers, widths = flat_anchors(net.layers)
    return losses_lib.localization_losses(loc["anchor_logits"], labels, loc["proplogits"], loc["offsets"],
                                          loc["overlap"], targets, loss_config(config), anchor_centers=centers,
                                          anchor_widths=widths, prior_scaling=net.config.prior_scaling)


def localization_step(net, features, gt, labels, label_space, config, lr, var_list, name):
    """Build the §5.2 loss set on ``features`` and its two-Adam update over ``var_list``.

    Returns ``(SubStep, losses dict)``.
    """
    with tf.compat.v1.name_scope(name):
        loc = net.localize(features, label_space)
        targets = match_anchors(gt, net.layers, net.config.temporal_length, prior_scaling=net.config.prior_scaling)
        losses = localization_loss_set(net, loc, labels, targets, config)
        train = config["train"]
        op_prop = adam(lr, train, f"{name}_adam_prop").minimize(losses["prop"], var_list=var_list)
        op_cls = adam(lr, train, f"{name}_adam_cls").minimize(losses["classification"], var_list=var_list)
        fetches = {k: losses[k] for k in ("actionness", "offset", "overlap", "classification", "total", "accuracy")}
    return SubStep(name, tf.group(op_prop, op_cls), fetches), losses


def classification_step(net, features, labels, label_space, config, lr, var_list, name):
    """L_reg (reference §5.1) on pooled features and its Adam update over ``var_list``."""
    with tf.compat.v1.name_scope(name):
        cls = net.classify(features, label_space)
        loss, accuracy = losses_lib.classification_loss(cls["logits"], labels, weight=float(config["loss"]["reg_weight"]))
        op = adam(lr, config["train"], f"{name}_adam").minimize(loss, var_list=var_list)
    return SubStep(name, op, {"loss": loss, "accuracy": accuracy})


def annotated_subset(dataset, store_key, config):
    """The dataset's videos with only ``data.annotation_fraction`` of the store's videos annotated.

    The kept videos are the first ``ceil(f * n)`` of a permutation seeded by ``data.seed`` (so the
    sets are nested across fractions); the others lose their instances, and the input pipeline
    skips training videos without instances (Fig. 6: AherNet* with fewer annotated videos).
    """
    import math

    import numpy as np

    from aher.data.annotations import Video
    from aher.data.features import FeatureStore

    fraction = float(config["data"].get("annotation_fraction", 1.0))
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"data.annotation_fraction must be in (0, 1], not {fraction}")
    if fraction == 1.0:
        return dataset.videos
    with FeatureStore(dataset.path(store_key)) as store:
        ids = list(store.ids())
    order = np.random.default_rng(int(config["data"].get("seed", 0))).permutation(len(ids))
    keep = {ids[i] for i in order[: max(1, math.ceil(fraction * len(ids)))]}
    store_ids = set(ids)
    return [v if v.video_id in keep or v.video_id not in store_ids else
            Video(v.video_id, v.duration, v.subset, [], v.fps, v.duration_frame, v.feature_frame)
            for v in dataset.videos]


def build_supervised_graph(config, dataset, role):
    """Build the graph of the supervised trainer in the current default graph."""
    label_space, untrimmed_key, segment_key, cls_step = ROLES[role]
    train = config["train"]
    model = ModelConfig.from_dict(config["model"])
    classes = dataset.classes[label_space]
    seed = int(train["seed"])
    tf.compat.v1.set_random_seed(seed)
    batch = int(train["batch_size"])
    untrimmed = untrimmed_dataset(dataset.path(untrimmed_key), annotated_subset(dataset, untrimmed_key, config), classes, batch,
                                  length=model.temporal_length, max_gt=int(config["data"]["max_gt"]), seed=seed)
    segments = segment_dataset(dataset.path(segment_key), classes, batch, seed=seed + 1)
    cache = BatchCache({
        "untrimmed": tf.compat.v1.data.make_one_shot_iterator(untrimmed).get_next(),
        "segments": tf.compat.v1.data.make_one_shot_iterator(segments).get_next(),
    })
    net = AherNet(model, {label_space: len(classes)})
    lr = tf.compat.v1.placeholder(tf.float32, [], name="learning_rate")
    seg, unt = cache.tensors["segments"], cache.tensors["untrimmed"]
    # Build both branches once so every variable exists before var lists are collected.
    net.classify(tf.zeros([1, model.moment_length, model.feature_dim]), label_space)
    net.localize(tf.zeros([1, model.temporal_length, model.feature_dim]), label_space)
    s2 = classification_step(net, seg["features"], seg["label"], label_space, config, lr,
                             variable_groups.step_var_list(cls_step), "S2")
    s3, _ = localization_step(net, unt["features"], unt["gt"], unt["label"], label_space, config, lr,
                              variable_groups.step_var_list("S3"), "S3")
    iteration = make_iteration_variable()
    saver = tf.compat.v1.train.Saver(tf.compat.v1.global_variables(), max_to_keep=int(train["keep_snapshots"]))
    return LoopGraph(steps=[s2, s3], load_batches=cache.load, lr=lr, iteration=iteration, saver=saver,
                     progress_keys=("S2/loss", "S3/total", "S3/accuracy"))


def train_supervised(config, out_dir, role="oracle", resume=False, progress=True, log=print):
    """Train and return ``(run_dir, last checkpoint path)``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, not {role!r}")
    _, untrimmed_key, segment_key, _ = ROLES[role]
    dataset = resolve_dataset(config, needed=("gt", "classes_untrimmed", "classes_moment", untrimmed_key,
                                              segment_key, "eval"), log=log, progress=progress)
    run = RunDir(out_dir, config, resume=resume)
    run.log(f"supervised training ({role}) on {dataset.root}")
    graph = tf.Graph()
    with graph.as_default():
        loop = build_supervised_graph(config, dataset, role)
        init = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
        with tf.compat.v1.Session(graph=graph, config=session_config()) as session:
            session.run(init)
            if resume:
                restore_if_resuming(session, loop.saver, run)
            last = run_loop(session, loop, config, run, progress=progress)
    run.log(f"finished: {last}")
    run.close()
    return run, last


def session_config():
    """Session options: let TF use every core (CPU) and grow GPU memory on demand."""
    cfg = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    cfg.gpu_options.allow_growth = True
    return cfg
