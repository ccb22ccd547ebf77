"""SAL training (sal_paper_vs_code §7) with model selection on a held-out split, and testing (sal_paper_vs_code §8, sal_paper_vs_code §9).

Contract
--------
``train(config, out_dir, resume)`` (``config``: :class:`aher.baselines.sal.config.SALExperimentConfig`)
trains SAL on the ``train`` split of :class:`aher.baselines.sal.data.WeakData` (video-level labels
only) in a run folder (:class:`aher.train.run_dir.RunDir`: ``config.yaml``, ``train.log``,
``tb/``, ``checkpoints/``) with the shared loop :func:`aher.train.loop.run_loop`, and returns the
selected checkpoint:

* one sub-step ``sal`` per iteration: the sal_paper_vs_code §6.7 total, Adam (``train.learning_rate``,
  constant) with coupled L2 weight decay (``train.weight_decay`` · w added to every gradient,
  biases included, sal_paper_vs_code §7); the batch is fed to the placeholders by :class:`BatchFeed`;
* every ``train.eval_every`` iterations once ``train.eval_after_epochs`` epochs are done, and at
  the last iteration, :class:`PeriodicSelection` scores the model (sal_paper_vs_code §8 + detection mAP) on the
  selection split ``train.select_on``: ``val`` (default, the held-out split) or ``test``
  (upstream's protocol, inherited from ASL: the snapshot with the best *test* mAP is the one
  reported -- sal_paper_vs_code §1.3; use it only to reproduce upstream's numbers, and say so).  A better
  average mAP saves ``checkpoints/best/`` and is recorded in ``selection.json`` (history of every
  evaluation);
* snapshots ``checkpoints/model.ckpt-<it>`` every ``train.snapshot_every`` iterations and at the
  end; ``--resume`` restores the latest one (Adam slots, iteration counter and the sal_paper_vs_code §5.3 mask
  statistics included -- upstream keeps those only in memory) and ``selection.json``, and the
  batch stream continues at the restored iteration;
* TensorBoard scalars ``sal/<term>`` of every loss term and the mask statistics, and
  ``<select_on>/<metric>`` of each evaluation; a tqdm bar; a NaN/inf guard naming the loss.

``test(config, run_dir, checkpoint=None, out_dir=None)`` restores the selected snapshot
(``checkpoints/best``, else the latest) into an inference-only graph, runs sal_paper_vs_code §8.1 + post-processing
(``aher.model.snippet_grouping.detect``) on the ``test`` split and writes into ``out_dir``
(default: the run folder) ``results_<it>.json``, ``gt_test.json`` (the split's ground truth,
so ``evaluation/get_detection_performance.py gt_test.json results_<it>.json`` re-scores it) and
``metrics.json``: ``mAP@<t>`` for every ``eval.tiou_thresholds`` value, ``average_mAP``, ``mAP``,
``tiou_thresholds`` (fractions), ``AR@100`` / ``AUC`` (percent), ``video_accuracy`` (argmax p is a
label of the video: top-1, AherNet's ``video_accuracy``), ``video_exact_match`` (sal_paper_vs_code §8.1
step 6 with the real probabilities: the predicted class set equals the video's), ``gt_classes`` (classes with GT in the split: mAP averages over them),
``checkpoint``, ``iteration``, ``selection``, ``results_file``.
Limits: one process, feed_dict input (batches of 2 x T x D are small); no multi-GPU.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from aher.model import snippet_grouping as postprocess
from aher.baselines.sal.data import WeakData
from aher.baselines.sal.losses import sal_losses
from aher.baselines.sal.model import SAL, SALConfig, mask_state, model_variables
from aher.errors import UserError
from aher.train.checkpoints import checkpoint_iteration, latest_checkpoint, list_checkpoints, make_saver, restore
from aher.train.loop import (LoopGraph, SubStep, make_iteration_variable, open_session, restore_if_resuming,
                             run_loop)
from aher.train.run_dir import RunDir
from evaluation import ANETdetection, ANETproposal
from evaluation.cli_common import write_json_atomic

EVAL_CHUNK = 16                      # videos per inference session.run
STEP = "sal"                         # the one sub-step of an iteration (TensorBoard tags sal/<loss>)


# ----------------------------------------------------------------------------------- graphs


@dataclass
class InferenceGraph:
    features: object       # [N, T, D] placeholder
    scores: dict           # class_probs [N, C], combined [N, T, C]


def build_inference(model, length):
    features = tf.compat.v1.placeholder(tf.float32, [None, length, model.cfg.feature_dim], name="eval_features")
    return InferenceGraph(features, model.video_scores(model.forward(features, training=False)))


@dataclass
class TrainGraph:
    features: object
    labels: object
    train_op: object
    fetches: dict          # scalars logged every iteration
    iteration: object      # int64 iteration counter (saved in snapshots)
    inference: InferenceGraph
    saver: object          # every global variable (resume)
    best_saver: object     # model variables only (the selected snapshot)


def build_train_graph(config, num_classes):
    """SAL training graph and its inference branch (shared variables) in the default graph."""
    train = config.train
    tf.compat.v1.set_random_seed(train.seed)
    model = SAL(SALConfig.from_config(config, num_classes))
    length = config.data.temporal_length
    features = tf.compat.v1.placeholder(tf.float32, [None, length, model.cfg.feature_dim], name="features")
    labels = tf.compat.v1.placeholder(tf.float32, [None, num_classes], name="labels")
    out = model.forward(features, training=True)
    targets = model.aal_targets(out, mask_state(num_classes) if model.cfg.mask else None) if model.cfg.aal else {}
    losses = sal_losses(model, out, targets, labels, config.loss)
    with tf.name_scope("optimizer"):
        optimizer = tf.compat.v1.train.AdamOptimizer(train.learning_rate, beta1=train.adam_beta1,
                                                     beta2=train.adam_beta2, epsilon=train.adam_epsilon)
        variables = tf.compat.v1.trainable_variables()
        decay = train.weight_decay
        grads = [(g + decay * v if decay else g, v)
                 for g, v in optimizer.compute_gradients(losses["total"], var_list=variables) if g is not None]
        train_op = optimizer.apply_gradients(grads)
    fetches = dict(losses)
    for key in ("mask_mean", "mask_var"):
        if key in targets:
            fetches[key] = targets[key]
    if "labels" in targets:
        fetches["pseudo_positive_frac"] = tf.reduce_mean(targets["labels"])
    inference = build_inference(model, length)
    iteration = make_iteration_variable()
    saver = make_saver(tf.compat.v1.global_variables(), max_to_keep=train.keep_snapshots)
    best_saver = make_saver(model_variables(), max_to_keep=1)
    return TrainGraph(features, labels, train_op, fetches, iteration, inference, saver, best_saver)


# ----------------------------------------------------------------------------------- scoring


class SplitScorer:
    """Scores the model on one split: sal_paper_vs_code §8.1 in the graph, sal_paper_vs_code §8.2-8.6 in numpy, mAP by ``evaluation``."""

    def __init__(self, data: WeakData, split, config, gt_path):
        self.split = split
        self.videos = data.splits[split]
        if not self.videos:
            raise UserError(f"the {split} split is empty: adjust data.val_fraction / data.test_fraction")
        self.classes = data.classes
        self.thresholds = config.eval.tiou_thresholds
        self.pp = config.postprocess.resolved()
        self.gt_path = data.write_gt(split, gt_path)
        # uniform sampling is deterministic: read the split once, keep float16 in memory
        self.features = [data.features(v).astype(np.float16) for v in self.videos]

    def predict(self, session, graph: InferenceGraph):
        """Detections per video, the sal_paper_vs_code §8.1 step-6 video accuracy (exact multi-hot match) and the
        top-1 accuracy (argmax p is one of the video's labels; AherNet's ``video_accuracy``)."""
        detections, exact, top1 = {}, 0, 0
        for lo in range(0, len(self.videos), EVAL_CHUNK):
            chunk = self.videos[lo:lo + EVAL_CHUNK]
            batch = np.stack(self.features[lo:lo + EVAL_CHUNK]).astype(np.float32)
            out = session.run(graph.scores, {graph.features: batch})
            for i, video in enumerate(chunk):
                probs = out["class_probs"][i]
                detections[video.video_id] = postprocess.detect(probs, out["combined"][i], video.seconds, self.pp)
                predicted = np.zeros_like(video.labels)
                predicted[postprocess.predicted_classes(probs, self.pp.class_threshold)] = 1.0
                exact += int(np.array_equal(predicted, video.labels))
                top1 += int(video.labels[int(np.argmax(probs))] > 0)
        n = len(self.videos)
        return detections, exact / n, top1 / n

    def evaluate(self, session, graph, full=False):
        """``(metrics, results)``; ``full`` adds proposal AR@100 / AUC (percent), for the final test.

        mAP is over the classes present in the split's GT (a small split may miss some);
        detections of absent classes are dropped (``unknown_labels="ignore"``).
        """
        detections, exact, top1 = self.predict(session, graph)
        results = postprocess.results_dict(detections, self.classes)
        det = ANETdetection(str(self.gt_path), results, tiou_thresholds=self.thresholds, subset="validation",
                            unknown_labels="ignore")
        result = det.evaluate()
        metrics = {f"mAP@{round(float(t), 2):g}": float(v) for t, v in zip(result["tiou_thresholds"], result["mAP"])}
        metrics.update(average_mAP=float(result["average_mAP"]), mAP=[float(v) for v in result["mAP"]],
                       tiou_thresholds=[float(t) for t in result["tiou_thresholds"]],
                       gt_classes=len(det.ground_truth.class_names), video_accuracy=top1,
                       video_exact_match=exact)
        if full:
            prop = ANETproposal(str(self.gt_path), results, subset="validation").evaluate()
            metrics.update({"AR@100": 100.0 * prop["AR@100"], "AUC": prop["AUC"]})
        return metrics, results


def format_metrics(m):
    per = "  ".join(f"{k} {100 * v:5.2f}" for k, v in m.items() if k.startswith("mAP@"))
    extra = f"  |  AR@100 {m['AR@100']:.2f}  AUC {m['AUC']:.2f}" if "AR@100" in m else ""
    return (f"{per}  |  average mAP {100 * m['average_mAP']:5.2f}{extra}  |  video acc {100 * m['video_accuracy']:.1f}"
            f" (exact class set {100 * m['video_exact_match']:.1f})")


# ----------------------------------------------------------------------------------- training


class Selection:
    """``selection.json``: the selection split, every evaluation and the best one so far."""

    def __init__(self, path, split):
        self.path = Path(path)
        self.state = {"split": split, "metric": "average_mAP", "best": None, "history": []}
        if self.path.is_file():
            self.state = json.loads(self.path.read_text())

    @property
    def best_value(self):
        return -math.inf if self.state["best"] is None else self.state["best"]["average_mAP"]

    def record(self, iteration, metrics, checkpoint=None):
        entry = {"iteration": iteration, "average_mAP": metrics["average_mAP"],
                 "video_accuracy": metrics["video_accuracy"], "video_exact_match": metrics["video_exact_match"]}
        self.state["history"] = [h for h in self.state["history"] if h["iteration"] < iteration] + [entry]
        if checkpoint:
            self.state["best"] = dict(entry, checkpoint=str(checkpoint))
        write_json_atomic(self.path, self.state)


class BatchFeed:
    """``LoopGraph.feed``: the placeholders' feed of iteration ``it`` from ``data.batches``.

    The batch stream starts at the first iteration asked for (a resumed run continues where the
    snapshot stopped) and restarts whenever the iterations asked for are not consecutive.
    """

    def __init__(self, data: WeakData, graph: TrainGraph, batch_size, seed):
        self.data, self.graph, self.batch_size, self.seed = data, graph, batch_size, seed
        self._batches, self._next = None, None

    def __call__(self, it):
        if self._batches is None or it != self._next:
            self._batches = self.data.batches(self.batch_size, self.seed, it)
        features, labels, _ = next(self._batches)
        self._next = it + 1
        return {self.graph.features: features, self.graph.labels: labels}


class PeriodicSelection:
    """``LoopGraph.after_iteration``: scores the selection split every ``train.eval_every`` iterations
    once ``first_eval`` iterations are done, and at the last one; a better average mAP saves
    ``checkpoints/best/``; every evaluation is recorded in ``selection.json``."""

    def __init__(self, config, graph: TrainGraph, scorer: SplitScorer, selection: Selection, run, first_eval):
        self.graph, self.scorer, self.selection, self.run = graph, scorer, selection, run
        self.every, self.total, self.first_eval = config.train.eval_every, config.train.iterations, first_eval
        self.split = config.train.select_on
        self.best_prefix = str(run.checkpoint_dir / "best" / "model.ckpt")

    def __call__(self, session, done):
        if not ((done % self.every == 0 and done > self.first_eval) or done == self.total):
            return {}
        metrics, _ = self.scorer.evaluate(session, self.graph.inference)
        better = metrics["average_mAP"] > self.selection.best_value
        path = self.graph.best_saver.save(session, self.best_prefix, global_step=done) if better else None
        self.selection.record(done, metrics, path)
        self.run.log(f"[{self.split} @ {done}] {format_metrics(metrics)}" + ("  (best)" if better else ""))
        return {f"{self.split}/{k}": v for k, v in metrics.items() if k.startswith(("mAP@", "average", "video"))}


def train(config, out_dir, resume=False, progress=True, log=print):
    """Train SAL into ``out_dir``; return the path of the selected checkpoint."""
    t = config.train
    with WeakData(config, log=log, progress=progress) as data:
        run = RunDir(out_dir, config, resume=resume)
        try:
            run.log(f"SAL training on {data.dataset.root}: {data.summary()}; model selection on '{t.select_on}'")
            first_eval = t.eval_after_epochs * data.iterations_per_epoch(t.batch_size)
            scorer = SplitScorer(data, t.select_on, config, run.path / f"gt_{t.select_on}.json")
            selection = Selection(run.path / "selection.json", t.select_on)
            graph = tf.Graph()
            with graph.as_default():
                g = build_train_graph(config, len(data.classes))
                loop = LoopGraph(steps=[SubStep(STEP, g.train_op, g.fetches, feed_lr=False)], load_batches=None,
                                 lr=None, iteration=g.iteration, saver=g.saver, progress_keys=(f"{STEP}/total",),
                                 feed=BatchFeed(data, g, t.batch_size, t.seed),
                                 after_iteration=PeriodicSelection(config, g, scorer, selection, run, first_eval))
                with open_session(graph) as session:
                    session.run(tf.compat.v1.global_variables_initializer())
                    if restore_if_resuming(session, g.saver, run):
                        g.best_saver.recover_last_checkpoints(list_checkpoints(run.checkpoint_dir / "best"))
                    run_loop(session, loop, config, run, progress=progress)
            best = selection.state["best"]
            if best:
                run.log(f"selected iteration {best['iteration']} on {t.select_on}: "
                        f"average mAP {100 * best['average_mAP']:.2f}")
            return best["checkpoint"] if best else run.latest_checkpoint()
        finally:
            run.close()


# ----------------------------------------------------------------------------------- testing


def selected_checkpoint(run_dir):
    """The run's selected snapshot (``checkpoints/best``), else its latest one."""
    run_dir = Path(run_dir)
    for folder in (run_dir / "checkpoints" / "best", run_dir / "checkpoints"):
        latest = latest_checkpoint(folder)
        if latest:
            return latest
    raise UserError(f"{run_dir}: no checkpoint found (train first, or pass --checkpoint)")


def test(config, run_dir, checkpoint=None, out_dir=None, progress=True, log=print):
    """Score one snapshot on the test split; write results, ``gt_test.json`` and ``metrics.json``."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else run_dir
    checkpoint = str(checkpoint) if checkpoint else selected_checkpoint(run_dir)
    if Path(checkpoint).is_dir():
        checkpoint = tf.train.latest_checkpoint(checkpoint) or selected_checkpoint(checkpoint)
    if not Path(checkpoint + ".index").is_file():
        raise UserError(f"{checkpoint}: not a checkpoint")
    with WeakData(config, log=log, progress=progress) as data:
        scorer = SplitScorer(data, "test", config, out_dir / "gt_test.json")
        graph = tf.Graph()
        with graph.as_default():
            model = SAL(SALConfig.from_config(config, len(data.classes)))
            inference = build_inference(model, data.length)
            saver = tf.compat.v1.train.Saver(model_variables())
        with tf.compat.v1.Session(graph=graph) as session:
            restore(saver, session, checkpoint)
            metrics, results = scorer.evaluate(session, inference, full=True)
    iteration = checkpoint_iteration(checkpoint)
    name = f"results_{iteration}.json" if iteration >= 0 else "results.json"
    write_json_atomic(out_dir / name, results)
    selection_file = run_dir / "selection.json"
    selection = json.loads(selection_file.read_text()) if selection_file.is_file() else {}
    summary = dict(metrics, checkpoint=checkpoint, iteration=iteration, results_file=name, gt_file="gt_test.json",
                   test_videos=len(scorer.videos),
                   selection={"split": selection.get("split"), "best": selection.get("best")})
    write_json_atomic(out_dir / "metrics.json", summary)
    return summary
