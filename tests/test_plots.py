"""Figures (aher.plots), the numpy t-SNE (aher.analysis.tsne) and the Fig. 5 anchor kinds.

Fast tests: t-SNE / PCA on hand-made data, anchor kinds / layer choice / separability on hand-made
features, the timeline, Fig. 6, Fig. 5 and Fig. 4 drawn from hand-made numbers, the one-line
errors of the command line, and that no figure module imports TensorFlow.  Slow tests
(``-m slow``): the checkpoint probes (aher.analysis.probes), Fig. 5 (t-SNE) and Fig. 4 on a tiny
run trained for 4 iterations in a session fixture.
"""

import json
import struct
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from aher import plots
from aher.analysis import anchor_kinds
from aher.analysis.probe_inputs import eval_instances
from aher.analysis.tsne import conditional_affinities, joint_affinities, pca, squared_distances, tsne
from aher.cli import run_main
from aher.config import load_config
from aher.errors import UserError
from aher.plots.cli import main as plots_main


def png_size(path):
    """(width, height) in pixels from the PNG header."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def one_line_error(err, *words):
    """stderr ends with exactly one ``error: ...`` line naming ``words``, and holds no traceback."""
    last = err.strip().splitlines()[-1]
    return (last.startswith("error: ") and "Traceback" not in err and err.count("error:") == 1
            and all(w in last for w in words))


def run_cli(argv, capsys):
    """Run ``python -m aher.plots argv`` in-process: (exit code, stdout, stderr)."""
    try:
        code = run_main(plots_main, argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------- t-SNE

def clusters(k=4, m=40, d=20, distance=8.0, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    centers *= distance / np.linalg.norm(centers, axis=1, keepdims=True)
    x = np.concatenate([c + rng.normal(size=(m, d)) for c in centers])
    return x, np.repeat(np.arange(k), m)


def knn(z, k):
    d = squared_distances(z)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1)[:, :k]


def test_tsne_separates_clusters_and_keeps_neighbours():
    x, labels = clusters()
    result = tsne(x, perplexity=15, n_iter=400)
    y = result.embedding
    assert y.shape == (len(x), 2) and np.all(np.isfinite(y))
    near_y, near_x = knn(y, 10), knn(x, 10)
    assert np.mean(labels[near_y] == labels[:, None]) > 0.99            # clusters stay pure
    kept = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(near_x, near_y)])
    assert kept > 0.35                                                   # chance is 10 / 159
    centroids = np.array([y[labels == c].mean(axis=0) for c in range(4)])
    radius = max(np.sqrt(((y[labels == c] - centroids[c]) ** 2).sum(axis=1).mean()) for c in range(4))
    gaps = np.sqrt(squared_distances(centroids))[np.triu_indices(4, 1)]
    assert gaps.min() > 3 * radius                                       # clearly separable
    assert 0 < result.kl_divergence < 2
    assert np.array_equal(tsne(x, perplexity=15, n_iter=400).embedding, y)   # deterministic (PCA init)


def test_perplexity_calibration_and_joint_affinities():
    x, _ = clusters(k=3, m=30, d=5, seed=1)
    p_cond, beta = conditional_affinities(squared_distances(x), perplexity=12.0, tol=1e-6)
    assert np.allclose(p_cond.sum(axis=1), 1.0) and np.all(np.diag(p_cond) == 0) and np.all(beta > 0)
    entropy = -np.sum(np.where(p_cond > 0, p_cond * np.log(np.where(p_cond > 0, p_cond, 1.0)), 0.0), axis=1)
    assert np.allclose(entropy, np.log(12.0), atol=1e-5)
    p, _ = joint_affinities(x, perplexity=12.0)
    assert np.allclose(p, p.T) and p.sum() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="perplexity"):
        conditional_affinities(squared_distances(x), perplexity=200)


def test_pca_projects_on_leading_axes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)) * [5.0, 1.0, 0.1] @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    z, ratio = pca(x, 2)
    assert z.shape == (300, 2) and np.all(np.diff(ratio) <= 0)
    assert ratio.sum() > 0.99 and abs(z.mean(axis=0)).max() < 1e-9
    assert pca(x, 10)[0].shape == (300, 3)                                 # capped at the data's dims


def test_tsne_random_init_and_tiny_inputs():
    x, _ = clusters(k=2, m=5, d=3)
    y = tsne(x, n_iter=100, init="random", seed=3).embedding              # perplexity lowered to (n - 1) / 3
    assert y.shape == (10, 2) and np.all(np.isfinite(y))
    with pytest.raises(ValueError):
        tsne(x[:3])
    with pytest.raises(ValueError, match="init"):
        tsne(x, init="spectral")


# ------------------------------------------------------------------------------------ timeline

@pytest.fixture
def detection_files(tmp_path):
    gt = {"version": "VERSION 1.3", "database": {
        "v_vid1": {"subset": "validation", "duration": 60.0,
                   "annotations": [{"segment": [5.0, 20.0], "label": "jump"},
                                   {"segment": [30.0, 50.0], "label": "jump"}]},
        "vid2": {"subset": "validation", "duration": 30.0, "annotations": [{"segment": [2.0, 28.0], "label": "run"}]},
        "vid3": {"subset": "validation", "duration": 10.0, "annotations": [{"segment": [1.0, 9.0], "label": "run"}]}}}
    results = {"version": "VERSION 1.3", "external_data": {}, "results": {
        "vid1": [{"label": "jump", "score": s, "segment": [a, b]}
                 for s, a, b in [(0.9, 4.0, 21.0), (0.2, 40.0, 58.0), (0.7, 31.0, 49.0), (0.1, 0.0, 60.0),
                                 (0.05, 10.0, 12.0), (0.6, 25.0, 35.0), (0.3, 50.0, 70.0)]],
        "vid2": [{"label": "jump", "score": 0.4, "segment": [0.0, 29.0]}]}}
    gt_path, res_path = tmp_path / "gt.json", tmp_path / "results.json"
    gt_path.write_text(json.dumps(gt))
    res_path.write_text(json.dumps(results))
    return res_path, gt_path


def test_timeline_data_picks_top_detections(detection_files):
    res, gt = detection_files
    vid1, vid3 = plots.timeline_data(res, gt, ["vid1", "vid3"], top=5)
    assert vid1.video_id == "v_vid1" and vid1.duration == 60.0 and len(vid1.gt) == 2
    assert [d[3] for d in vid1.detections] == [0.9, 0.7, 0.6, 0.3, 0.2]
    assert vid1.detections[0][4] == pytest.approx(15 / 17)                # tIoU with [5, 20]
    assert vid3.detections == [] and not vid3.in_results


def test_timeline_png(detection_files, tmp_path):
    res, gt = detection_files
    out = plots.timeline(res, gt, ["vid1", "v_vid2", "vid3"], tmp_path / "t.png", top=5)
    heights = 3 * (0.32 * 6 + 0.9) + 0.4
    assert out.stat().st_size > 10_000
    assert png_size(out) == (11 * plots.DPI, round(heights * plots.DPI))


def test_timeline_cli_and_errors(detection_files, tmp_path, capsys):
    res, gt = detection_files
    code, out, err = run_cli(["timeline", str(res), str(gt), "--videos", "vid2", "--top", "2",
                              "--out", str(tmp_path / "one.png")], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "one.png") and png_size(tmp_path / "one.png")[0] == 1320
    code, _, err = run_cli(["timeline", str(res), str(gt), "--videos", "nope"], capsys)
    assert code == 2 and one_line_error(err, "no video 'nope'")
    code, _, err = run_cli(["timeline", str(tmp_path / "missing.json"), str(gt), "--videos", "vid1"], capsys)
    assert code == 2 and one_line_error(err, "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    code, _, err = run_cli(["timeline", str(res), str(tmp_path / "bad.json"), "--videos", "vid1"], capsys)
    assert code == 2 and one_line_error(err, "malformed JSON")


# ---------------------------------------------------------------------------------------- Fig. 6

FIG6 = {"settings": {
    "anet_split": {"aherNet": {"mean": 0.172, "std": 0.004},
                   "oracle": {"0.1": {"mean": 0.121, "std": 0.006}, "0.25": {"mean": 0.148, "std": 0.005},
                              "0.5": {"mean": 0.171}, "0.75": {"mean": 0.201, "std": None}, "1.0": {"mean": 0.226}}},
    "th14_anet": {"aherNet": {"mean": 0.243, "n": 3},
                  "oracle": {"1.0": {"mean": 0.289}, "0.1": {"mean": 0.17}, "0.5": {"mean": None}}}}}


def test_fig6_numbers_are_validated_and_in_percent():
    numbers = plots.load_fig6_numbers(FIG6)
    assert numbers["anet_split"]["aherNet"] == (pytest.approx(17.2), pytest.approx(0.4), None)
    assert [p[0] for p in numbers["th14_anet"]["oracle"]] == [0.1, 1.0]      # sorted, null mean left out
    percent = {"unit": "percent", "settings": {"k600": {"aherNet": {"mean": 24.4}, "oracle": {"1": {"mean": 30.0}}}}}
    assert plots.load_fig6_numbers(percent)["k600"]["oracle"] == [(1.0, 30.0, None, None)]
    for bad, match in [({"settings": {}}, "non-empty"),
                       ({"settings": {"x": {"aherNet": {"mean": 17.2}, "oracle": {"0.1": {"mean": 0.1}}}}}, "percent"),
                       ({"settings": {"x": {"aherNet": {"mean": 0.1}, "oracle": {"1.5": {"mean": 0.1}}}}}, r"\(0, 1\]"),
                       ({"settings": {"x": {"oracle": {"0.1": {"mean": 0.1}}}}}, "missing 'aherNet'")]:
        with pytest.raises(plots.PlotError, match=match):
            plots.load_fig6_numbers(bad)


def test_fig6_png_from_both_schemas(tmp_path):
    path = tmp_path / "fig6.json"
    path.write_text(json.dumps(FIG6))
    out = plots.fig6(str(path), str(tmp_path / "fig6.png"))            # the function aher.reproduce calls
    assert out.stat().st_size > 10_000
    assert png_size(out) == (round((4.6 * 2 + 0.4) * plots.DPI), round(3.9 * plots.DPI))
    series = {"table": "fig6", "series": {"anet_split": {"average_mAP": {
        "fractions": [0.1, 0.25, 0.5, 0.75, 1.0],
        "AherNet*": [{"mean": 8.0 + k, "std": 0.5, "n": 2} for k in range(4)] + [{"mean": None, "std": None, "n": 0}],
        "AherNet": {"mean": 10.0, "std": None, "n": 1}}}}}
    path.write_text(json.dumps(series))
    out = plots.fig6(path, tmp_path / "fig6b.png")
    assert png_size(out) == (round(5.0 * plots.DPI), round(3.9 * plots.DPI))
    with pytest.raises(plots.PlotError, match=r"no 'AUC' series \(--metric one of: average_mAP\)"):
        plots.fig6(path, tmp_path / "fig6c.png", metric="AUC")


def test_fig6_cli_errors(tmp_path, capsys):
    code, _, err = run_cli(["fig6", str(tmp_path / "none.json")], capsys)
    assert code == 2 and one_line_error(err, "none.json")
    (tmp_path / "n.json").write_text(json.dumps({"settings": {"a": {"aherNet": {"mean": "x"}, "oracle": {}}}}))
    code, _, err = run_cli(["fig6", str(tmp_path / "n.json")], capsys)
    assert code == 2 and one_line_error(err)
    (tmp_path / "ok.json").write_text(json.dumps(FIG6))
    code, out, _ = run_cli(["fig6", str(tmp_path / "ok.json")], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "ok.png") and (tmp_path / "ok.png").is_file()


def test_pretty_label():
    assert plots.pretty_label("AherNet^-") == "AherNet$^{-}$"
    assert plots.pretty_label("AherNet*") == "AherNet*"
    assert plots.pretty_label("$x^2$") == "$x^2$"


# ------------------------------------------------------- Fig. 5 anchor kinds, Fig. 5 and Fig. 4 drawing

def hand_made_features(n_syn=6, n_real=5, seed=0):
    """Two layers.  Layer 1 (4 cells): no foreground anchor.  Layer 2 (2 cells): cell 0 of every
    synthetic video is foreground and synthetic background (anchors 0.8 / 0.4 / 0.2), cell 1 is
    neither; cell 0 of every real video is real background, cell 1 is not (all anchors 0.6).
    Real features are shifted far from the synthetic ones."""
    rng = np.random.default_rng(seed)
    width = 8
    layers = [types.SimpleNamespace(index=1), types.SimpleNamespace(index=2)]
    syn1 = (rng.normal(size=(n_syn, 4, width)), np.full((n_syn, 4, 3), 0.1))
    real1 = (rng.normal(size=(n_real, 4, width)) + 20.0, np.full((n_real, 4, 3), 0.1))
    syn2_scores = np.tile(np.array([[0.8, 0.4, 0.2], [0.4, 0.4, 0.4]]), (n_syn, 1, 1))
    real2_scores = np.tile(np.array([[0.1, 0.1, 0.1], [0.6, 0.6, 0.6]]), (n_real, 1, 1))
    syn2 = (rng.normal(size=(n_syn, 2, width)), syn2_scores)
    real2 = (rng.normal(size=(n_real, 2, width)) + 20.0, real2_scores)
    return types.SimpleNamespace(layers=layers, synthetic=[syn1, syn2], real=[real1, real2], n_moments=1,
                                 n_real=n_real)


def test_anchor_kinds_per_layer_and_layer_choice():
    features = hand_made_features()
    assert anchor_kinds.kind_counts(features) == [(1, {"foreground": 0, "synthetic_bg": 24, "real_bg": 20}),
                                                  (2, {"foreground": 6, "synthetic_bg": 6, "real_bg": 5})]
    cells = anchor_kinds.anchor_cells(features, 1)
    feats, videos, where = cells["foreground"]
    assert feats.shape == (6, 8) and list(where) == [0] * 6 and list(videos) == list(range(6))
    assert np.array_equal(feats, features.synthetic[1][0][:, 0])           # the cell's end-point feature
    assert anchor_kinds.choose_layer(features) == 1                        # layer 1 has no foreground
    assert anchor_kinds.choose_layer(features, "2") == 1
    with pytest.raises(UserError, match="--layer 1 has no foreground anchor"):
        anchor_kinds.choose_layer(features, "1")
    with pytest.raises(UserError, match=r"anchor layers 1\.\.2"):
        anchor_kinds.choose_layer(features, "3")
    features.synthetic[1] = (features.synthetic[1][0], np.full((6, 2, 3), 0.1))
    with pytest.raises(UserError, match="no anchor layer holds all three kinds"):
        anchor_kinds.choose_layer(features)


def test_knn_accuracy_is_balanced_and_measures_separation():
    rng = np.random.default_rng(0)
    labels = np.array(["a"] * 150 + ["b"] * 40)
    same = rng.normal(size=(190, 5))
    apart = same + np.where(labels == "b", 10.0, 0.0)[:, None]
    assert anchor_kinds.knn_accuracy(apart, labels) == 1.0
    assert anchor_kinds.knn_accuracy(same, labels) < 0.6          # balanced: not the 79 % of always saying "a"


def test_embed_anchor_kinds_samples_each_kind(tmp_path):
    embedding = anchor_kinds.embed_anchor_kinds(hand_made_features(30, 20), n_anchors=25, n_iter=250)
    assert embedding.layer == 2 and embedding.width == 8 and embedding.pca_dims == 8
    assert embedding.counts == {"foreground": 25, "synthetic_bg": 25, "real_bg": 20}
    assert embedding.available == {"foreground": 30, "synthetic_bg": 30, "real_bg": 20}
    assert embedding.points.shape == (70, 2) and np.all(np.isfinite(embedding.points))
    assert embedding.separability == 1.0                                 # real features shifted by 20
    again = anchor_kinds.embed_anchor_kinds(hand_made_features(30, 20), n_anchors=25, n_iter=250)
    assert np.array_equal(again.points, embedding.points)               # deterministic
    out = plots.tsne_figure(embedding, tmp_path / "fig5.png", source="model.ckpt-4")
    assert out.stat().st_size > 10_000
    assert png_size(out) == (round(7.2 * plots.DPI), round(6.6 * plots.DPI))
    with pytest.raises(UserError, match="only 3 anchors"):
        anchor_kinds.embed_anchor_kinds(hand_made_features(), n_anchors=1)


def test_fig4_png_from_accuracies(tmp_path):
    models = [("AherNet", [0.5, 0.6, 0.7, 0.4, 0.3, 0.2], 0.65), ("AherNet^-", [0.4] * 6, 0.45)]
    groups, values = plots.fig4_layers.layer_percentages(models)
    assert groups[0] == "conv_a1" and len(groups) == 7 and groups[-1].startswith("all layers")
    assert values.shape == (2, 7) and values[0, -1] == pytest.approx(65.0) and values[1, 0] == pytest.approx(40.0)
    out = plots.fig4(models, tmp_path / "fig4.png", n_instances=30, n_classes=5)
    assert out.stat().st_size > 10_000
    assert png_size(out) == (round((7 + 2.6) * plots.DPI), round(4.2 * plots.DPI))
    with pytest.raises(plots.PlotError, match="two names"):
        plots.fig4(models[:1], tmp_path / "x.png", n_instances=30, n_classes=5)
    with pytest.raises(plots.PlotError, match="6 and 5 anchor layers"):
        plots.fig4([models[0], ("B", [0.4] * 5, 0.4)], tmp_path / "x.png", n_instances=30, n_classes=5)
    with pytest.raises(plots.PlotError, match="output folder"):
        plots.fig4(models, tmp_path / "missing" / "x.png", n_instances=30, n_classes=5)


PLOT_MODULES = sorted(f"aher.plots.{p.stem}" for p in Path(plots.__file__).parent.glob("*.py")
                      if p.stem not in ("__init__", "__main__"))


def test_figure_modules_do_not_import_tensorflow(project_root):
    """Import every plots module (and the numpy analyses the CLI imports) one by one in a fresh
    interpreter; the first that brings in TensorFlow is named."""
    modules = ["aher.plots", *PLOT_MODULES, "aher.analysis.tsne", "aher.analysis.anchor_kinds",
               "aher.analysis.probe_inputs"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n"
            "    importlib.import_module(m)\n"
            "    assert 'tensorflow' not in sys.modules, m + ' imports tensorflow'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=project_root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert subprocess.run([sys.executable, "-c", "import aher.analysis.probes, sys; "
                           "assert 'tensorflow' in sys.modules"], cwd=project_root).returncode == 0


def test_plot_modules_are_found():
    assert {"aher.plots.cli", "aher.plots.common", "aher.plots.fig4_layers", "aher.plots.fig5_tsne",
            "aher.plots.fig6_annotation", "aher.plots.fig7_timeline"} <= set(PLOT_MODULES)


# ------------------------------------------------------------------------ Fig. 5 and Fig. 4 (slow)

@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, project_root):
    """A k600 run on the tiny synthetic benchmark, 4 iterations of Algorithm 1 (no testing)."""
    root = tmp_path_factory.mktemp("plots_run")
    cmd = [sys.executable, "aher_k600_train.py", "--config", "configs/k600_synthetic_tiny.yaml", "--out",
           str(root / "run"), "--set", f"data.root={root / 'data'}", "--set", "train.iterations=4", "--quiet",
           "--no-test"]
    done = subprocess.run(cmd, cwd=project_root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return root


def _model_args(tiny_run, project_root):
    return ["--config", str(project_root / "configs/k600_synthetic_tiny.yaml"),
            "--set", f"data.root={tiny_run / 'data'}"]


@pytest.mark.slow
def test_tsne_figure_on_a_tiny_run(tiny_run, project_root, tmp_path, capsys):
    from aher.analysis.probes import collect_anchor_features      # TensorFlow
    from aher.train.checkpoints import resolve_checkpoint         # TensorFlow

    config = load_config(project_root / "configs/k600_synthetic_tiny.yaml", [f"data.root={tiny_run / 'data'}"])
    features = collect_anchor_features(config, resolve_checkpoint(tiny_run / "run"), n_moments=8)
    assert len(features.synthetic) == len(features.layers) == 6 and features.n_moments == 8
    feats, scores = features.synthetic[3]
    assert feats.shape == (48, 4, 16) and scores.shape == (48, 4, 3)     # 8 moments x 6 lengths, T_4 = 4 cells
    counts = dict(anchor_kinds.kind_counts(features))
    assert counts[1]["foreground"] == 0 and counts[6]["synthetic_bg"] == 0   # kinds live in different layers
    layer = features.layers[anchor_kinds.choose_layer(features)].index
    assert min(counts[layer].values()) == max(min(c.values()) for c in counts.values())

    out = tmp_path / "fig5.png"
    code, stdout, err = run_cli(["tsne", *_model_args(tiny_run, project_root), "--checkpoint", str(tiny_run / "run"),
                                 "--moments", "12", "--anchors", "60", "--iterations", "250", "--out", str(out)],
                                capsys)
    assert code == 0, err
    assert stdout.strip() == str(out) and png_size(out) == (round(7.2 * plots.DPI), round(6.6 * plots.DPI))
    assert "layer conv_a" in err
    code, _, err = run_cli(["tsne", *_model_args(tiny_run, project_root), "--checkpoint", str(tiny_run / "nope")],
                           capsys)
    assert code == 2 and one_line_error(err, "nope")


@pytest.mark.slow
def test_fig4_on_a_tiny_run(tiny_run, project_root, tmp_path, capsys):
    config = load_config(project_root / "configs/k600_synthetic_tiny.yaml", [f"data.root={tiny_run / 'data'}"])
    instances = eval_instances(config)
    feats = np.concatenate(list(instances.batches(size=4)))
    assert feats.shape == (len(instances.spans), 64, 32) and len(instances.spans) > 0
    assert instances.labels.max() < len(instances.classes)
    assert all(0 <= lo < hi <= 128 and hi - lo >= 2 for _, lo, hi, _ in instances.spans)
    run = tiny_run / "run"
    ckpts = sorted((run / "checkpoints").glob("*.index"))
    out = tmp_path / "fig4.png"
    code, stdout, err = run_cli(["fig4", *_model_args(tiny_run, project_root), "--checkpoint", str(run),
                                 "--checkpoint-b", str(ckpts[0]).removesuffix(".index"), "--out", str(out)], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out) and png_size(out) == (round((7 + 2.6) * plots.DPI), round(4.2 * plots.DPI))
    assert "per-layer accuracy (%): AherNet: " in err and "; AherNet^-: " in err
    # a checkpoint without the moment-set classifier is a one-line error
    bad = _checkpoint_without_classifier(tmp_path, config)
    code, _, err = run_cli(["fig4", *_model_args(tiny_run, project_root), "--checkpoint", str(run),
                            "--checkpoint-b", bad], capsys)
    assert code == 2 and one_line_error(err, "cls_moment")


def _checkpoint_without_classifier(tmp_path, config):
    """Backbone-only checkpoint of the tiny model (no pooled classifier, no generators)."""
    import tensorflow as tf

    from aher.model.graph import AherNet

    model = config.model
    graph = tf.Graph()
    with graph.as_default():
        AherNet(model, {}).end_points(tf.zeros([1, model.temporal_length, model.feature_dim]))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, str(tmp_path / "backbone" / "model.ckpt"))


def test_runs_as_a_module(project_root):
    done = subprocess.run([sys.executable, "-m", "aher.plots", "--help"], cwd=project_root, capture_output=True,
                          text=True)
    assert done.returncode == 0 and all(f in done.stdout for f in ("timeline", "tsne", "fig6", "fig4"))
