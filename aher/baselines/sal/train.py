"""SAL training (sal_paper_vs_code §7) with model selection on a held-out split, and testing (sal_paper_vs_code §8, sal_paper_vs_code §9).

Contract
--------
``train(config, out_dir, resume)`` trains SAL on the ``train`` split of
:class:`aher.baselines.sal.data.WeakData` (video-level labels only) in a run folder
(:class:`aher.train.run_dir.RunDir`: ``config.yaml``, ``train.log``, ``tb/``, ``checkpoints/``):

* one step per iteration: the sal_paper_vs_code §6.7 total, Adam (``train.learning_rate``, constant) with coupled
  L2 weight decay (``train.weight_decay`` · w added to every gradient, biases included, sal_paper_vs_code §7);
* every ``train.eval_every`` iterations once ``train.eval_after_epochs`` epochs are done, and at
  the last iteration, the model is scored (sal_paper_vs_code §8 + detection mAP) on the selection split
  ``train.select_on``: ``val`` (default, the held-out split) or ``test`` (upstream's protocol,
  inherited from ASL: the snapshot with the best *test* mAP is the one reported -- sal_paper_vs_code §1.3; use it
  only to reproduce upstream's numbers, and say so).  A better average mAP saves
  ``checkpoints/best/`` and is recorded in ``selection.json`` (history of every evaluation);
* snapshots ``checkpoints/model.ckpt-<it>`` every ``train.snapshot_every`` iterations and at the
  end; ``--resume`` restores the latest one (Adam slots, iteration counter and the sal_paper_vs_code §5.3 mask
  statistics included -- upstream keeps those only in memory) and ``selection.json``;
* TensorBoard scalars of every loss term, the mask statistics and each evaluation; a tqdm bar;
  a NaN/inf guard naming the loss (:class:`aher.train.run_dir.NanGuard`).

``test(config, run_dir, checkpoint=None, out_dir=None)`` restores the selected snapshot
(``checkpoints/best``, else the latest) into an inference-only graph, runs sal_paper_vs_code §8.1 + post-processing
(``aher.model.snippet_grouping.detect``) on the ``test`` split and writes into ``out_dir``
(default: the run folder) ``results_<it>.json``, ``gt_test.json`` (the split's ground truth,
so ``evaluation/get_detection_performance.py gt_test.json results_<it>.json`` re-scores it) and
``metrics.json``: ``mAP@<t>`` for every ``eval.tiou_thresholds`` value, ``average_mAP``, ``mAP``,
``tiou_thresholds`` (fractions), ``AR@100`` / ``AUC`` (percent), ``video_accuracy`` (sal_paper_vs_code §8.1 step
6 with the real probabilities: exact multi-hot match), ``video_top1_accuracy`` (argmax p is a
label of the video), ``gt_classes`` (classes with GT in the split: mAP averages over them),
``checkpoint``, ``iteration``, ``selection``, ``results_file``.
Limits: one process, feed_dict input (batches of 2 x T x D are small); no multi-GPU.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from aher.model import snippet_grouping as postprocess
from aher.baselines.sal.data import WeakData
from aher.baselines.sal.losses import LossWeights, sal_losses
from aher.baselines.sal.model import SAL, SALConfig, mask_state, model_variables
from aher.errors import UserError
from aher.train.checkpoints import checkpoint_iteration, latest_checkpoint
from aher.train.run_dir import NanGuard, RunDir
from evaluation import ANETdetection, ANETproposal
from evaluation.cli_common import write_json_atomic

SELECT_ON = ("val", "test")
EVAL_CHUNK = 16                      # videos per inference session.run


def postprocess_config(config):
    """``SALPostprocessConfig`` from the ``postprocess`` section (null = the module's default)."""
    section = {k: v for k, v in config["postprocess"].items() if v is not None}
    try:
        return postprocess.SALPostprocessConfig(**section)
    except (TypeError, ValueError) as exc:
        raise UserError(f"postprocess section: {exc}") from None


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
    iteration: object
    set_iteration: object
    new_iteration: object  # int64 placeholder fed to set_iteration
    inference: InferenceGraph
    saver: object          # every global variable (resume)
    best_saver: object     # model variables only (the selected snapshot)


def build_train_graph(config, num_classes):
    """SAL training graph and its inference branch (shared variables) in the default graph."""
    train = config["train"]
    tf.compat.v1.set_random_seed(int(train["seed"]))
    model = SAL(SALConfig.from_config(config, num_classes))
    length = int(config["data"]["temporal_length"])
    features = tf.compat.v1.placeholder(tf.float32, [None, length, model.cfg.feature_dim], name="features")
    labels = tf.compat.v1.placeholder(tf.float32, [None, num_classes], name="labels")
    out = model.forward(features, training=True)
    targets = model.aal_targets(out, mask_state(num_classes) if model.cfg.mask else None) if model.cfg.aal else {}
    losses = sal_losses(model, out, targets, labels, LossWeights.from_config(config["loss"]))
    with tf.name_scope("optimizer"):
        optimizer = tf.compat.v1.train.AdamOptimizer(float(train["learning_rate"]), beta1=float(train["adam_beta1"]),
                                                     beta2=float(train["adam_beta2"]),
                                                     epsilon=float(train["adam_epsilon"]))
        variables = tf.compat.v1.trainable_variables()
        decay = float(train["weight_decay"])
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
    iteration = tf.compat.v1.get_variable("train/iteration", shape=[], dtype=tf.int64, trainable=False,
                                          initializer=tf.compat.v1.zeros_initializer())
    new_iteration = tf.compat.v1.placeholder(tf.int64, [], name="new_iteration")
    set_iteration = iteration.assign(new_iteration)
    saver = tf.compat.v1.train.Saver(tf.compat.v1.global_variables(), max_to_keep=int(train["keep_snapshots"]))
    best_saver = tf.compat.v1.train.Saver(model_variables(), max_to_keep=1)
    return TrainGraph(features, labels, train_op, fetches, iteration, set_iteration, new_iteration, inference, saver,
                      best_saver)


# ----------------------------------------------------------------------------------- scoring


class SplitScorer:
    """Scores the model on one split: sal_paper_vs_code §8.1 in the graph, sal_paper_vs_code §8.2-8.6 in numpy, mAP by ``evaluation``."""

    def __init__(self, data: WeakData, split, config, gt_path):
        self.split = split
        self.videos = data.splits[split]
        if not self.videos:
            raise UserError(f"the {split} split is empty: adjust data.val_fraction / data.test_fraction")
        self.classes = data.classes
        self.thresholds = config["eval"]["tiou_thresholds"]
        self.pp = postprocess_config(config)
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
        detections, accuracy, top1 = self.predict(session, graph)
        results = postprocess.results_dict(detections, self.classes)
        det = ANETdetection(str(self.gt_path), results, tiou_thresholds=self.thresholds, subset="validation",
                            unknown_labels="ignore")
        result = det.evaluate()
        metrics = {f"mAP@{round(float(t), 2):g}": float(v) for t, v in zip(result["tiou_thresholds"], result["mAP"])}
        metrics.update(average_mAP=float(result["average_mAP"]), mAP=[float(v) for v in result["mAP"]],
                       tiou_thresholds=[float(t) for t in result["tiou_thresholds"]],
                       gt_classes=len(det.ground_truth.class_names), video_accuracy=accuracy,
                       video_top1_accuracy=top1)
        if full:
            prop = ANETproposal(str(self.gt_path), results, subset="validation").evaluate()
            metrics.update({"AR@100": 100.0 * prop["AR@100"], "AUC": prop["AUC"]})
        return metrics, results


def format_metrics(m):
    per = "  ".join(f"{k} {100 * v:5.2f}" for k, v in m.items() if k.startswith("mAP@"))
    extra = f"  |  AR@100 {m['AR@100']:.2f}  AUC {m['AUC']:.2f}" if "AR@100" in m else ""
    return (f"{per}  |  average mAP {100 * m['average_mAP']:5.2f}{extra}  |  video acc {100 * m['video_accuracy']:.1f}"
            f" (top-1 {100 * m['video_top1_accuracy']:.1f})")


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
                 "video_accuracy": metrics["video_accuracy"]}
        self.state["history"] = [h for h in self.state["history"] if h["iteration"] < iteration] + [entry]
        if checkpoint:
            self.state["best"] = dict(entry, checkpoint=str(checkpoint))
        write_json_atomic(self.path, self.state)


def _summary(values, step, writer):
    writer.add_summary(tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=k, simple_value=float(v))
                                                   for k, v in values.items()]), step)


def train(config, out_dir, resume=False, progress=True, log=print):
    """Train SAL into ``out_dir``; return ``(RunDir, path of the selected checkpoint)``."""
    t = config["train"]
    select_on = t["select_on"]
    if select_on not in SELECT_ON:
        raise UserError(f"train.select_on must be one of {SELECT_ON}, not {select_on!r}")
    with WeakData(config, log=log, progress=progress) as data:
        run = RunDir(out_dir, config, resume=resume)
        run.log(f"SAL training on {data.dataset.root}: {data.summary()}; model selection on '{select_on}'")
        first_eval = int(t["eval_after_epochs"]) * data.iterations_per_epoch(int(t["batch_size"]))
        scorer = SplitScorer(data, select_on, config, run.path / f"gt_{select_on}.json")
        selection = Selection(run.path / "selection.json", select_on)
        graph = tf.Graph()
        with graph.as_default():
            g = build_train_graph(config, len(data.classes))
            session = tf.compat.v1.Session(graph=graph)
            try:
                _train_loop(session, g, graph, config, data, run, scorer, selection, first_eval, progress)
            finally:
                session.close()
        best = selection.state["best"]
        if best:
            run.log(f"selected iteration {best['iteration']} on {select_on}: "
                    f"average mAP {100 * best['average_mAP']:.2f}")
        return run, (best["checkpoint"] if best else run.latest_checkpoint())


def _train_loop(session, g, graph, config, data, run, scorer, selection, first_eval, progress):
    t = config["train"]
    total, batch_size, select_on = int(t["iterations"]), int(t["batch_size"]), t["select_on"]
    eval_every, snapshot_every = max(1, int(t["eval_every"])), max(1, int(t["snapshot_every"]))
    log_every = max(1, int(t["log_every"]))
    session.run(tf.compat.v1.global_variables_initializer())
    latest = run.latest_checkpoint()
    if latest:
        g.saver.restore(session, latest)
    start = int(session.run(g.iteration))
    if start:
        run.log(f"resumed at iteration {start} from {Path(latest).name}")
    best_dir = run.checkpoint_dir / "best"
    writer = tf.compat.v1.summary.FileWriter(str(run.tb_dir), None if start else graph)
    guard, batches = NanGuard(), data.batches(batch_size, int(t["seed"]), start)
    bar = tqdm(total=total, initial=start, disable=not progress, dynamic_ncols=True, desc="SAL train")
    t0 = time.perf_counter()
    try:
        for it in range(start, total):
            features, labels, _ = next(batches)
            out = session.run({"op": g.train_op, **g.fetches}, {g.features: features, g.labels: labels})
            out.pop("op")
            guard.check(out, it)
            done = it + 1
            session.run(g.set_iteration, {g.new_iteration: done})
            _summary({f"loss/{k}": v for k, v in out.items()}, done, writer)
            bar.update(1)
            bar.set_postfix({"loss": f"{out['total']:.3f}", "best": f"{100 * max(selection.best_value, 0):.1f}"},
                            refresh=False)
            if done % log_every == 0 or done == total:
                rate = (done - start) / max(time.perf_counter() - t0, 1e-9)
                run.log(f"it {done}/{total} {rate:.2f} it/s "
                        + " ".join(f"{k}={float(v):.4f}" for k, v in sorted(out.items())))
            if done % snapshot_every == 0 or done == total:
                g.saver.save(session, run.checkpoint_prefix, global_step=done)
            if (done % eval_every == 0 and done > first_eval) or done == total:
                metrics, _ = scorer.evaluate(session, g.inference)
                _summary({f"{select_on}/{k}": v for k, v in metrics.items()
                          if k.startswith(("mAP@", "average", "video"))}, done, writer)
                better = metrics["average_mAP"] > selection.best_value
                path = g.best_saver.save(session, str(best_dir / "model.ckpt"), global_step=done) if better else None
                selection.record(done, metrics, path)
                run.log(f"[{select_on} @ {done}] {format_metrics(metrics)}" + ("  (best)" if better else ""))
    finally:
        bar.close()
        writer.flush()
        writer.close()


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
            saver.restore(session, checkpoint)
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
