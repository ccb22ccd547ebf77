"""Fully-supervised localization training: Algorithm 1's pre-training and the AherNet* oracle.

Contract: ``build_supervised_graph(config, dataset)`` builds, for a method of ``aher.methods``
whose trainer is ``supervised``, the two sub-steps that need full supervision on untrimmed videos
with temporal annotations (paper_vs_code §7.3, paper_vs_code §7.5):

* **S2** -- pooled segment classification ``L_reg`` (paper_vs_code §5.1) on the method's segment store, over
  the variable group of its ``classification_group`` (``S2``: ``W_regv`` only, backbone frozen,
  as Algorithm 1's S2; ``S1``: backbone + the classifier, as Algorithm 1's S1, so the oracle
  receives every training signal AherNet receives on the moment classes);
* **S3** -- the localization loss set (paper_vs_code §5.2) through the transferred anchor classifier on the
  method's untrimmed store, over backbone + box heads + transfer (two Adams, as Algorithm 1's S3).

Methods: ``pretrain`` (model M of Algorithm 1 line 1: untrimmed set, label space ``untrimmed``),
``oracle`` (AherNet*: the untrimmed videos of the moment classes, label space ``moment``) and
``oracle_untrimmed`` (the same recipe on the untrimmed set).  ``data.annotation_fraction`` < 1
keeps the temporal annotations of only that share of the training videos (Fig. 6).
Both streams yield one batch per iteration and start at the loop's first iteration
(``LoopGraph.start_streams``), so a resumed run trains on the batches of an uninterrupted one.
Limits: no context generation, no adversary (``aher.train.algorithm1``).
"""

import math

import numpy as np
import tensorflow as tf

from aher.data.annotations import Video
from aher.data.features import FeatureStore
from aher.data.pipeline import segment_dataset, untrimmed_dataset
from aher.methods import METHODS
from aher.model import variable_groups
from aher.model.graph import AherNet
from aher.model.layers import compute_precision
from aher.train.batch_cache import BatchCache, stream_batches
from aher.train.checkpoints import make_saver
from aher.train.loop import LoopGraph, make_iteration_variable, make_start_iteration
from aher.train.run_dir import TrainingError
from aher.train.steps import classification_step, localization_step


def annotated_subset(dataset, store_key, config):
    """The dataset's videos with only ``data.annotation_fraction`` of the store's videos annotated.

    The kept videos are the first ``ceil(f * n)`` of a permutation seeded by ``data.seed`` (so the
    sets are nested across fractions); the others lose their instances, and the input pipeline
    skips training videos without instances (Fig. 6: AherNet* with fewer annotated videos).
    """
    fraction = config.data.annotation_fraction
    if fraction == 1.0:
        return dataset.videos
    with FeatureStore(dataset.path(store_key)) as store:
        ids = list(store.ids())
    order = np.random.default_rng(config.data.seed).permutation(len(ids))
    keep = {ids[i] for i in order[: max(1, math.ceil(fraction * len(ids)))]}
    store_ids = set(ids)
    return [v if v.video_id in keep or v.video_id not in store_ids else
            Video(v.video_id, v.duration, v.subset, [], v.fps, v.duration_frame, v.feature_frame)
            for v in dataset.videos]


def _batches(config, dataset, data, classes, start_iteration):
    """The batch cache of the two streams (one batch each per iteration, both starting at the batch
    of ``start_iteration``) and the op that starts them."""
    train, model = config.train, config.model
    start = start_iteration * train.batch_size
    untrimmed = untrimmed_dataset(dataset.path(data.untrimmed_store),
                                  annotated_subset(dataset, data.untrimmed_store, config), classes,
                                  train.batch_size, length=model.temporal_length, max_gt=config.data.max_gt,
                                  seed=train.seed, start=start)
    segments = segment_dataset(dataset.path(data.segment_store), classes, train.batch_size, seed=train.seed + 1,
                               start=start)
    batches, start_streams = stream_batches({"untrimmed": untrimmed, "segments": segments}, startable=True)
    return BatchCache(batches), start_streams


def build_supervised_graph(config, dataset, method=None):
    """Build the supervised trainer's graph (method default: ``train.method``) in the default graph."""
    spec = METHODS[method or config.train.method]
    if spec.trainer != "supervised":
        raise TrainingError(f"train.method {spec.name!r} is not a supervised method")
    space, data, model = spec.label_space, spec.supervised, config.model
    classes = dataset.classes[space]
    tf.compat.v1.set_random_seed(config.train.seed)
    start_iteration = make_start_iteration()
    cache, start_streams = _batches(config, dataset, data, classes, start_iteration)
    net = AherNet(model, {space: len(classes)})
    lr = tf.compat.v1.placeholder(tf.float32, [], name="learning_rate")
    seg, unt = cache.tensors["segments"], cache.tensors["untrimmed"]
    # Build both branches once so every variable exists before var lists are collected.
    net.classify(tf.zeros([1, model.moment_length, model.feature_dim]), space)
    net.localize(tf.zeros([1, model.temporal_length, model.feature_dim]), space)
    with compute_precision(config.train.precision):
        s2 = classification_step(net, seg["features"], seg["label"], space, config, lr,
                                 variable_groups.step_var_list(data.classification_group), "S2")
        s3 = localization_step(net, unt["features"], unt["gt"], unt["label"], space, config, lr,
                               variable_groups.step_var_list("S3"), "S3")
    iteration = make_iteration_variable()
    saver = make_saver(max_to_keep=config.train.keep_snapshots)
    return LoopGraph(steps=[s2, s3], load_batches=cache.load, lr=lr, iteration=iteration, saver=saver,
                     progress_keys=spec.progress, start_streams=start_streams, start_iteration=start_iteration)


def needed_files(method):
    """Dataset files the supervised ``method`` reads (``aher.datasets.FILES`` keys)."""
    data = method.supervised
    return ("gt", "classes_untrimmed", "classes_moment", data.untrimmed_store, data.segment_store, "eval")
