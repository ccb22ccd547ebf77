"""Inference and scoring of a trained model on the evaluation videos (paper_vs_code §9).

Contract: ``evaluate_run(config, checkpoint_or_run_dir, out_dir, all_snapshots)`` builds the
Loc branch with a label space's transferred classifier ``T(W~_regv)`` on that label space's
evaluation stream (batch 1) -- ``eval.label_space``: ``moment`` (the default for every method
that learns the moment classes: ``eval.h5`` and ``gt.json``) or ``untrimmed`` (the untrimmed-set
classes' held-out videos, ``eval_untrimmed.h5`` and ``gt_untrimmed.json``; the default for
``pretrain`` and ``oracle_untrimmed``) --, restores the model variables, decodes + scores + NMS every video
(``aher.model.postprocess``), writes the ActivityNet result JSON, scores it with
``evaluation`` (detection mAP at ``eval.tiou_thresholds``, proposal AR@AN / AUC) and writes
``metrics.json``:

    mAP@0.5, mAP@0.75, mAP@0.95, average_mAP   fractions in [0, 1] (as the official evaluator)
    AR@100, AUC                                percent (as the official proposal script prints)
    video_accuracy                             argmax of the mean cell probability == GT label
    mAP, tiou_thresholds, checkpoint, iteration, label_space
    inference                                  the ``inference`` settings the detections were made with

and the references that tell localization from classification (:func:`reference_metrics`),
every one scored by the same evaluator at the same tIoU thresholds, fractions in [0, 1]:

    <m>_gt_labels                   the run's own detections (segments and scores unchanged), each
                                    relabelled with its video's GT label: localization only
    prior_<m>_video_labels          ``prior_n_windows`` fixed class-agnostic windows
                                    (``aher.priors``, fitted on the untrimmed training set's GT)
                                    on every video, labelled by the run's video classifier
                                    (argmax of the mean cell probability, as ``video_accuracy``)
    prior_<m>_gt_labels             the same windows labelled with the GT label
    prior_n_windows, prior_windows  their number and ``[[start, end, score], ...]`` (fractions
                                    of the duration; score = frequency in training)

for ``<m>`` in ``mAP@0.5``, ``mAP@0.75``, ``mAP@0.95``, ``average_mAP``.  The GT label of a video
is its first instance's (one label per video, paper_vs_code §1.4); a video without one (no GT
instance, label -1) keeps the run's own labels, so its detections stay false positives of the
classes the run gave them (dropping them would flatter the reference).  With several classes
in one video, instances of the other classes cannot be matched by the relabelled detections.
Under ``inference.scoring: upstream`` a detection's score still carries the video classifier's
confidence, which orders detections across videos.  The prior keys are ``None`` (and
``prior_n_windows`` 0) when the training set has no instance.

With ``all_snapshots`` every snapshot of the run (or those listed in ``eval.snapshots``) is
evaluated and the best by average mAP is reported, like upstream's test script -- note that
this selects the model on the evaluation set, as upstream did.

A run folder's ``config.yaml`` is the record of what its checkpoints are: :func:`load_run_config`
reads it, :func:`run_differences` names the keys where a test config differs from it (setting and
dataset; method and model shape; inference and tIoU settings), and ``evaluate_run`` never writes
into a run folder a score of another run's checkpoint, or of another dataset, model or scoring
(:func:`check_output_folder`).
Limits: no training; G, D and the other label space's classifier are not loaded (not needed).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import yaml

from aher.config import build_config, load_config, load_yaml_config, merge
from aher.config.loader import flatten
from aher.data.pipeline import eval_dataset, read_error
from aher.datasets import resolve_dataset
from aher.errors import ConfigError, UserError
from aher.methods import METHODS
from aher.model import postprocess
from aher.model.graph import AherNet
from aher.model.heads import anchor_classifier
from aher.model.snippet_grouping import SALPostprocessConfig, detect
from aher.priors import DEFAULT_WINDOWS, fit_windows, place, relative_instances, training_videos
from aher.paths import PROJECT_ROOT
from aher.progress import progress_bar
from aher.train.checkpoints import checkpoint_iteration, resolve_checkpoints, restore, run_folder
from evaluation import ANETdetection, ANETproposal, EvaluationError
from evaluation.segments import parse_tiou_thresholds
from evaluation.cli_common import write_json_atomic


#: label space -> (feature store, GT file) of its evaluation videos (``aher.datasets.FILES`` keys)
EVAL_FILES = {"moment": ("eval", "gt"), "untrimmed": ("eval_untrimmed", "gt_untrimmed")}

#: the resolved config a training run writes into its folder (``aher.train.run_dir``)
RUN_CONFIG = "config.yaml"
DEFAULTS_CONFIG = PROJECT_ROOT / "configs" / "defaults.yaml"


class InferenceError(UserError):
    """Testing cannot go on or would write where it must not (one-line message)."""


# --------------------------------------------------------------------------------------------
# the run a checkpoint belongs to


def run_config_file(checkpoint):
    """``RUN/config.yaml`` of the run folder ``checkpoint`` belongs to (None when there is none)."""
    path = run_folder(checkpoint) / RUN_CONFIG
    return path if path.is_file() else None


def _read_run_mapping(path):
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise InferenceError(f"{path}: unreadable run config ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InferenceError(f"{path}: not a config (a YAML mapping expected)")
    return data


def load_run_config(path, overrides=()):
    """The :class:`~aher.config.Config` saved in a run folder's ``config.yaml``, with ``overrides``.

    The file is a full resolved config (``_source`` names the file it came from).  A run written
    before a key existed lacks that key: it then takes the value of ``configs/defaults.yaml``."""
    try:
        return load_config(path, overrides)
    except ConfigError as first:
        try:
            raw = merge(load_yaml_config(DEFAULTS_CONFIG), _read_run_mapping(path), source=str(path), strict=False)
            return build_config(raw).with_overrides(*overrides)
        except (ConfigError, ValueError):
            raise first from None


def _dataset_dir(value):
    if not value:
        return value
    path = Path(value)
    return str((path if path.is_absolute() else PROJECT_ROOT / path).resolve())


#: prefixes of the keys that decide how detections are made and scored (not which model)
SCORING_KEYS = ("inference.", "eval.tiou_thresholds")


def _dataset_keys(ours, theirs):
    """The keys that say which evaluation videos and classes a config scores."""
    keys = ["setting", "data.source"]
    if ours.get("data.source") == theirs.get("data.source") == "synthetic":
        keys += ["data.scale", "data.seed", "data.synthetic_overrides"]   # data.root: where, not what
    elif ours.get("data.source") == theirs.get("data.source") == "real":
        keys += ["data.dataset_dir"]
    return keys


@dataclass(frozen=True)
class ConfigDifferences:
    """Keys where a test config differs from the run's: ``dataset`` (setting, data source and
    dataset: other evaluation videos and classes), ``model`` (method and model shape: the
    checkpoint holds another model) and ``scoring`` (``SCORING_KEYS``: the same model scored
    another way).  Each entry reads ``key <ours> (run: <theirs>)``."""

    dataset: tuple
    model: tuple
    scoring: tuple = ()

    def __bool__(self):
        return bool(self.dataset or self.model or self.scoring)

    @staticmethod
    def describe(entries, limit=6):
        shown = ", ".join(entries[:limit])
        return shown + (f" and {len(entries) - limit} more" if len(entries) > limit else "")


def _short(value, width=40):
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _scored_as(key, flat):
    """The value of ``key`` as it acts: tIoU thresholds as their numbers, ``inference.mode: auto`` as
    the method's mode; other keys as they are."""
    value = flat.get(key)
    if key == "eval.tiou_thresholds" and value is not None:
        try:
            return tuple(round(float(t), 9) for t in parse_tiou_thresholds(value))
        except ValueError:
            return value
    if key == "inference.mode" and value == "auto" and flat.get("train.method") in METHODS:
        return METHODS[flat["train.method"]].inference_mode
    return value


def run_differences(config, run_config_path):
    """:class:`ConfigDifferences` of ``config`` against the run config file ``run_config_path``.

    Compared: ``setting``, ``data.source`` and the dataset it names (synthetic: scale, seed and
    generator overrides; real: ``data.dataset_dir``), ``train.method``, every ``model`` key and
    the scoring keys (every ``inference`` key and ``eval.tiou_thresholds``).  Keys missing from
    the run's file (written before they existed) are not compared."""
    ours = flatten(config.to_dict())
    theirs = flatten(_read_run_mapping(run_config_path))
    for flat in (ours, theirs):
        if "data.dataset_dir" in flat:
            flat["data.dataset_dir"] = _dataset_dir(flat["data.dataset_dir"])
    model_keys = ["train.method"] + sorted(k for k in set(ours) | set(theirs) if k.startswith("model."))

    def differing(keys):
        return tuple(f"{k} {_short(ours.get(k))} (run: {_short(theirs[k])})"
                     for k in keys if k in theirs and _scored_as(k, ours) != _scored_as(k, theirs))

    scoring_keys = sorted(k for k in set(ours) | set(theirs) if k.startswith(SCORING_KEYS))
    return ConfigDifferences(dataset=differing(_dataset_keys(ours, theirs)), model=differing(model_keys),
                             scoring=differing(scoring_keys))


def is_inside(path, folder):
    """True when ``path`` is ``folder`` or lies under it (after resolving both)."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def check_output_folder(config, checkpoint, out_dir):
    """Refuse to write ``metrics.json`` where it would be taken for another score.

    A folder holding a run's ``config.yaml`` takes the scores of its own checkpoints only, and
    the run folder (with every folder inside it, e.g. ``eval_untrimmed``) only scores made with
    the run's own setting, dataset, model, inference and tIoU settings: results made any other
    way go elsewhere, so that the run's ``metrics.json`` always means its ``config.yaml``."""
    out_dir = Path(out_dir)
    run = run_folder(checkpoint)
    if (out_dir / RUN_CONFIG).is_file() and run.resolve() != out_dir.resolve():
        raise InferenceError(f"{out_dir} is the folder of another run (it holds {RUN_CONFIG}); its metrics.json "
                             f"scores that run: write the results of {checkpoint} elsewhere (--out DIR)")
    record = run / RUN_CONFIG
    if not (record.is_file() and is_inside(out_dir, run)):
        return
    diff = run_differences(config, record)
    if diff:
        raise InferenceError(f"{out_dir} holds the scores of the run as configured in {record}; the test config "
                             f"differs from it in {ConfigDifferences.describe(diff.dataset + diff.model + diff.scoring)}"
                             ": write these results elsewhere (--out DIR outside the run folder)")


def write_output(path, payload):
    """``write_json_atomic`` with any failure (a full disk included) as a one-line :class:`InferenceError`."""
    try:
        write_json_atomic(path, payload)
    except OSError as exc:
        raise InferenceError(str(exc)) from None


def postprocess_config(config):
    """The post-processing settings of the ``inference`` section and the model's prior scaling."""
    section = config.inference
    return postprocess.PostprocessConfig(scoring=section.scoring, nms_threshold=section.nms_threshold,
                                         keep_top_k=section.keep_top_k, select_top_k=section.select_top_k,
                                         prior_scaling=config.model.prior_scaling, box_clip=section.box_clip)


def snippet_detect(cell_probs, duration, temporal_length):
    """AherNet^0: group the finest layer's snippet class probabilities into instances.

    ``cell_probs`` [T_1, K] are the moment-set classifier ``W~_regv`` applied to every cell of the
    finest anchor layer (no transfer).  The video's classes and the multi-threshold grouping with
    the outer-inner-contrast score are SAL's post-processing (thresholds 0.1..0.9, the common
    choice of the weakly-supervised literature, since the paper gives none), with the mean of
    the snippet probabilities as the video-level class probabilities.
    """
    class_probs = cell_probs.mean(axis=0)
    return [postprocess.Detection(float(d[0]), float(d[1]), float(d[2]), int(d[3]))
            for d in detect(class_probs, cell_probs, duration, SALPostprocessConfig(keep_top_k=100))]


@dataclass(frozen=True)
class VideoLabels:
    """One evaluation video: duration (s), GT label index (-1: none) and the video classifier's label."""

    duration: float
    gt_label: int
    video_label: int


def video_accuracy(videos):
    """Share of the videos with a GT label whose classifier label is right (0 when none has one)."""
    known = [v for v in videos.values() if v.gt_label >= 0]
    return sum(v.video_label == v.gt_label for v in known) / max(len(known), 1)


class Evaluator:
    """The inference graph, built once, evaluable for several checkpoints."""

    def __init__(self, config, dataset):
        self.config = config
        self.dataset = dataset
        self.model = config.model
        self.label_space = space = config.eval_label_space
        self.classes = dataset.classes[space]
        store, gt = EVAL_FILES[space]
        self.gt_path = dataset.path(gt)
        videos = dataset.videos if space == "moment" else dataset.untrimmed_eval_videos
        self.n_videos = len(videos)
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.set_random_seed(config.train.seed)   # initial values are restored; needed by deterministic mode
            ds = eval_dataset(dataset.path(store), videos, self.classes,
                              length=self.model.temporal_length, max_gt=config.data.max_gt)
            self.iterator = tf.compat.v1.data.make_initializable_iterator(ds)
            batch = self.iterator.get_next()
            net = AherNet(self.model, {space: len(self.classes)})
            self.mode = config.inference_mode
            self.layers = net.layers
            self.fetches = {"video_id": batch["video_id"][0], "duration": batch["duration"][0],
                            "label": batch["label"][0]}
            if self.mode == "snippet":
                w, b = net.classifier_weights(space)[0]
                first = net.end_points(batch["features"])[0]
                self.fetches["cell_probs"] = tf.nn.softmax(anchor_classifier(first, w, b))[0]
            else:
                loc = net.localize(batch["features"], space, transfer=self.mode == "transfer")
                self.fetches.update(offsets=loc["offsets"][0], overlap=loc["overlap"][0],
                                    cell_probs=loc["cell_probs"][0])
            model_vars = [v for v in tf.compat.v1.global_variables() if v.op.name.startswith("aher/")]
            self.saver = tf.compat.v1.train.Saver(model_vars)
        self.session = tf.compat.v1.Session(graph=self.graph)

    def predict(self, checkpoint, progress=True):
        """Restore ``checkpoint`` and return ``(detections per video, video accuracy)``."""
        detections, videos = self.predict_videos(checkpoint, progress=progress)
        return detections, video_accuracy(videos)

    def predict_videos(self, checkpoint, progress=True):
        """Restore ``checkpoint``; return ``(detections per video, {video_id: VideoLabels})``."""
        with self.graph.as_default():
            restore(self.saver, self.session, checkpoint)
        self.session.run(self.iterator.initializer)
        pp = postprocess_config(self.config)
        detections, videos = {}, {}
        bar = progress_bar(total=self.n_videos, enabled=progress, desc="test", dynamic_ncols=True, unit="video")
        while True:
            try:
                out = self.session.run(self.fetches)
            except tf.errors.OutOfRangeError:
                break
            except tf.errors.OpError as exc:
                error = read_error(exc)
                if error is None:
                    raise
                raise error from None
            video = out["video_id"].decode() if isinstance(out["video_id"], bytes) else str(out["video_id"])
            for key in ("cell_probs", "offsets", "overlap"):
                if key in out and not np.isfinite(out[key]).all():
                    raise InferenceError(f"{checkpoint}: the model's {key} on video {video!r} are NaN or inf "
                                         "(finite features, so the checkpoint's weights are not finite)")
            if self.mode == "snippet":
                detections[video] = snippet_detect(out["cell_probs"], float(out["duration"]), self.model.temporal_length)
            else:
                detections[video] = postprocess.detect(out["offsets"], out["overlap"], out["cell_probs"], self.layers,
                                                       self.model.temporal_length, float(out["duration"]), pp)
            videos[video] = VideoLabels(float(out["duration"]), int(out["label"]),
                                        int(np.argmax(out["cell_probs"].mean(axis=0))))
            bar.update(1)
        bar.close()
        return detections, videos

    def close(self):
        self.session.close()


def score(results, gt_path, config):
    """Detection and proposal metrics of a result dict against ``gt_path`` (subset validation)."""
    thresholds = config.eval.tiou_thresholds
    det = ANETdetection(str(gt_path), results, tiou_thresholds=thresholds, subset="validation").evaluate()
    prop = ANETproposal(str(gt_path), results, subset="validation").evaluate()
    thr = np.array(det["tiou_thresholds"])

    def at(t):
        hit = np.flatnonzero(np.isclose(thr, t))
        return float(det["mAP"][hit[0]]) if hit.size else None

    return {"mAP@0.5": at(0.5), "mAP@0.75": at(0.75), "mAP@0.95": at(0.95), "average_mAP": det["average_mAP"],
            "AR@100": 100.0 * prop["AR@100"], "AUC": prop["AUC"], "mAP": det["mAP"],
            "tiou_thresholds": det["tiou_thresholds"]}


MAP_KEYS = ("mAP@0.5", "mAP@0.75", "mAP@0.95", "average_mAP")


def detection_maps(results, gt_path, config):
    """``MAP_KEYS`` of a result dict: the detection part of :func:`score` (no proposal metrics).
    No detection at all scores 0 (every class's AP is 0), where the evaluator refuses the file."""
    if not any(results["results"].values()):
        return dict.fromkeys(MAP_KEYS, 0.0)
    det = ANETdetection(str(gt_path), results, tiou_thresholds=config.eval.tiou_thresholds,
                        subset="validation").evaluate()
    thr = np.array(det["tiou_thresholds"])
    out = {}
    for key in MAP_KEYS[:-1]:
        hit = np.flatnonzero(np.isclose(thr, float(key.split("@")[1])))
        out[key] = float(det["mAP"][hit[0]]) if hit.size else None
    out["average_mAP"] = det["average_mAP"]
    return out


def with_gt_labels(detections, videos):
    """``detections`` with every class index replaced by its video's GT label (kept where it is -1)."""
    out = {}
    for video_id, rows in detections.items():
        label = videos[video_id].gt_label
        out[video_id] = [(d[0], d[1], d[2], label if label >= 0 else d[3]) for d in rows]
    return out


def prior_detections(windows, videos, labels="video"):
    """The prior ``windows`` on every video, labelled by the video classifier (``labels="video"``) or
    the GT label (``"gt"``; the classifier's where the GT label is -1)."""
    if labels not in ("video", "gt"):
        raise ValueError(f"labels must be 'video' or 'gt', not {labels!r}")
    out = {}
    for video_id, v in videos.items():
        label = v.gt_label if labels == "gt" and v.gt_label >= 0 else v.video_label
        out[video_id] = place(windows, v.duration, label)
    return out


def fit_prior_windows(dataset, n_windows=None):
    """The prior windows of ``dataset`` (``aher.priors``, from its untrimmed training set's GT)."""
    return fit_windows(relative_instances(training_videos(dataset)), n_windows or DEFAULT_WINDOWS)


def reference_metrics(detections, videos, classes, gt_path, config, windows, prior_gt=None):
    """The localization references of the module docstring as a flat dict of new metrics.json keys.

    ``detections`` {video_id: [(start_s, end_s, score, class_index), ...]}, ``videos``
    {video_id: VideoLabels}, ``classes`` the label space's names, ``windows`` :class:`PriorWindows`.
    ``prior_gt``: the ``prior_<m>_gt_labels`` entries when already computed (they do not depend on
    the model), else they are computed here.
    """
    def maps(dets):
        return detection_maps(postprocess.results_dict(dets, classes), gt_path, config)

    out = {f"{k}_gt_labels": v for k, v in maps(with_gt_labels(detections, videos)).items()}
    if len(windows):
        out.update({f"prior_{k}_video_labels": v for k, v in maps(prior_detections(windows, videos, "video")).items()})
        if prior_gt is None:
            prior_gt = {f"prior_{k}_gt_labels": v for k, v in maps(prior_detections(windows, videos, "gt")).items()}
        out.update(prior_gt)
    else:
        out.update({f"prior_{k}_{labels}_labels": None for k in MAP_KEYS for labels in ("video", "gt")})
    out.update(prior_n_windows=len(windows), prior_windows=windows.as_rows())
    return out


def format_metrics(m):
    """One line of a metrics dict, every number in percent (metrics.json keeps mAP as fractions)."""
    def pct(v):
        return "  -  " if v is None else f"{100 * v:5.2f}%"

    return (f"mAP@0.5 {pct(m['mAP@0.5'])}  mAP@0.75 {pct(m['mAP@0.75'])}  mAP@0.95 {pct(m['mAP@0.95'])}  "
            f"average mAP {pct(m['average_mAP'])}  |  AR@100 {m['AR@100']:.2f}%  AUC {m['AUC']:.2f}%  "
            f"|  video acc {100 * m['video_accuracy']:.1f}%"
            + (f"  |  GT labels: average mAP {pct(m['average_mAP_gt_labels'])}" if "average_mAP_gt_labels" in m else "")
            + (f"  |  {m['prior_n_windows']} fixed windows: average mAP {pct(m['prior_average_mAP_video_labels'])}"
               f" (video labels), {pct(m['prior_average_mAP_gt_labels'])} (GT labels)"
               if m.get("prior_n_windows") else ""))


def evaluate_run(config, checkpoint, out_dir, all_snapshots=False, progress=True, log=print):
    """Evaluate one or several snapshots; write results JSON + ``metrics.json`` into ``out_dir``.

    ``out_dir`` must not be another run's folder, nor this run's (or inside it) when ``config``
    differs from the run's in setting, dataset, method, model or scoring (:func:`check_output_folder`).  Failures to read a
    snapshot, NaN/inf features and failed writes are one-line user errors."""
    out_dir = Path(out_dir)
    check_output_folder(config, checkpoint, out_dir)
    store, gt = EVAL_FILES[config.eval_label_space]
    needed = tuple(dict.fromkeys((gt, "gt", "untrimmed_train", "classes_untrimmed", "classes_moment", store)))
    dataset = resolve_dataset(config, needed=needed, log=log, progress=progress)
    paths = resolve_checkpoints(checkpoint, all_snapshots, config.eval.snapshots)
    windows = fit_prior_windows(dataset)
    evaluator = Evaluator(config, dataset)
    per_snapshot, best, prior_gt = {}, None, None
    try:
        for path in paths:
            detections, videos = evaluator.predict_videos(path, progress=progress)
            results = postprocess.results_dict(detections, evaluator.classes)
            try:
                metrics = score(results, evaluator.gt_path, config)
            except EvaluationError as exc:
                raise InferenceError(f"scoring {Path(path).name} against {evaluator.gt_path}: {exc}") from None
            metrics.update(video_accuracy=video_accuracy(videos), checkpoint=str(path),
                           iteration=checkpoint_iteration(path), label_space=evaluator.label_space)
            metrics.update(reference_metrics(detections, videos, evaluator.classes, evaluator.gt_path, config,
                                             windows, prior_gt))
            prior_gt = {k: v for k, v in metrics.items() if k.startswith("prior_") and k.endswith("_gt_labels")}
            log(f"[{Path(path).name}] {format_metrics(metrics)}")
            per_snapshot[metrics["iteration"]] = metrics
            if best is None or metrics["average_mAP"] > best[0]["average_mAP"]:
                best = (metrics, results)
    finally:
        evaluator.close()
    metrics, results = best
    name = f"results_{metrics['iteration']}.json" if metrics["iteration"] >= 0 else "results.json"
    write_output(out_dir / name, results)
    summary = dict(metrics, results_file=name, inference=config.to_dict()["inference"])
    if len(per_snapshot) > 1:
        summary["snapshots"] = {str(k): {kk: v.get(kk) for kk in ("average_mAP", "mAP@0.5", "AUC", "average_mAP_gt_labels",
                                                           "video_accuracy")}
                                for k, v in per_snapshot.items()}
    write_output(out_dir / "metrics.json", summary)
    return summary


def load_metrics(path):
    with open(path) as fh:
        return json.load(fh)
