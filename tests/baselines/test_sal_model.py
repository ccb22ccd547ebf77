"""SAL graph pieces against numpy and hand-built cases: bilinear pooling (sal_paper_vs_code §4.1), top-k MIL,
pseudo labels (sal_paper_vs_code §5.2), adaptive mask (sal_paper_vs_code §5.3), mix-up (sal_paper_vs_code §5.4), losses (sal_paper_vs_code §6), sal_paper_vs_code §8.1 scores, and the
weak-label data helpers (sal_paper_vs_code §2.4 sampling, hashed split)."""

import numpy as np
import pytest
import tensorflow as tf

from aher.baselines.sal import losses as L
from aher.baselines.sal.config import LossWeights
from aher.baselines.sal.data import random_perturb_indices, split_of, uniform_indices
from aher.baselines.sal.model import (SAL, SALConfig, adaptive_mask, bilinear_pool, mask_state, mixup_targets,
                                      model_variables, pseudo_labels, topk_mean)


def run(build, feeds=None, seed=0):
    """Build with ``build()`` in a fresh graph, initialise, return its evaluated result."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        fetches = build()
        with tf.compat.v1.Session(graph=graph) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            return s.run(fetches, feeds(graph) if feeds else None)


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_bilinear_pool_matches_numpy():
    rng = np.random.default_rng(0)
    z = np.maximum(rng.normal(size=(2, 7, 5)), 0).astype(np.float32)
    z[1, :, 3] = 0.0                                   # an all-zero channel: its Gram entries map to 0
    got = run(lambda: bilinear_pool(tf.constant(z)))
    gram = np.einsum("btk,btl->bkl", z.astype(np.float64), z) / 7 ** 2
    g = (np.sign(gram) * np.sqrt(np.abs(gram) + 1e-5)).reshape(2, 25)
    want = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert np.count_nonzero(got[1].reshape(5, 5)[3]) == 0                 # sign(0) = 0, not sqrt(1e-5)
    np.testing.assert_array_equal(got == 0, gram.reshape(2, 25) == 0)


def test_topk_mean_pools_values_at_the_score_topk():
    values = np.arange(12, dtype=np.float32).reshape(1, 6, 2)          # [B, T, C]
    scores = np.array([[[0, 5], [9, 4], [1, 3], [8, 2], [2, 1], [3, 0]]], np.float32)
    got = run(lambda: topk_mean(tf.constant(values), tf.constant(scores), 2))
    # class 0: top-2 scores at t=1, 3 -> values 2, 6; class 1: t=0, 1 -> values 1, 3
    np.testing.assert_allclose(got, [[4.0, 2.0]])


def test_pseudo_labels_are_topk_actionness_and_confidence_gate():
    a = np.array([[0.9, 0.8, 0.1, 0.7, 0.2, 0.6]], np.float32)             # top-3: t = 0, 1, 3
    cas = np.zeros((1, 6, 2), np.float32)
    cas[0, :, 0] = [-1.0, 2.0, 3.0, 1.0, 0.5, -2.0]                        # conf = sum ReLU: 0, 2, 3, 1, .5, 0
    cas[0, :, 1] = [-1.0, 0.0, 0.0, 0.5, 0.0, 0.0]                         # conf t=3 -> 1.5
    plain, gated = run(lambda: (pseudo_labels(tf.constant(a), tf.constant(cas), 3),
                                pseudo_labels(tf.constant(a), tf.constant(cas), 3, k_gate=3)))
    np.testing.assert_array_equal(plain, [[1, 1, 0, 1, 0, 0]])
    # gate top-3 of conf: t = 2 (3), 1 (2), 3 (1.5): t=0 leaves the positives and becomes a negative
    np.testing.assert_array_equal(gated, [[0, 1, 0, 1, 0, 0]])


def test_adaptive_mask_updates_the_ema_first_then_weights_low_confidence_steps():
    cas = np.zeros((2, 3, 4), np.float32)
    cas[0, 0] = [5, 0, 0, 0]                       # confident step
    cas[1, 2] = [1, 0, 0, 0]
    p_max = np_softmax(cas.astype(np.float64)).max(-1)

    def build():
        state = mask_state(4)
        mask, mean, var = adaptive_mask(tf.constant(cas), state, momentum=0.7, variance_factor=0.5)
        with tf.control_dependencies([mask]):
            again = adaptive_mask(tf.constant(cas), state, momentum=0.7, variance_factor=0.5)
        return mask, mean, var, again

    mask, mean, var, (mask2, mean2, var2) = run(build)
    mu = 0.7 * 0.25 + 0.3 * p_max.mean()
    s2 = 0.7 * 1.0 + 0.3 * p_max.var(ddof=1)
    np.testing.assert_allclose([mean, var], [mu, s2], rtol=1e-6)
    np.testing.assert_allclose(mask, np.exp(-np.minimum(p_max - mu, 0) ** 2 / (0.5 * s2)), rtol=1e-5)
    assert mask[0, 0] == 1.0 and mask[0, 1] < 1.0                           # above the mean: weight 1
    np.testing.assert_allclose(mean2, 0.7 * mu + 0.3 * p_max.mean(), rtol=1e-6)   # the statistics persist


def test_mixup_ors_labels_and_averages_masks_with_the_previous_video():
    y = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0]], np.float32)
    m = np.array([[1.0, 0.5, 0.2, 1.0], [0.0, 1.0, 1.0, 0.4], [1.0, 1.0, 1.0, 1.0]], np.float32)
    labels, mask = run(lambda: mixup_targets(tf.constant(y), tf.constant(m)))
    prev = [2, 0, 1]                                                       # video b is mixed with (b - 1) mod B
    np.testing.assert_array_equal(labels, np.maximum(y, y[prev]))
    np.testing.assert_allclose(mask, (m + m[prev]) / 2)


def test_masked_gce_and_label_ce_match_the_formulas():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.01, 0.99, (2, 5)).astype(np.float32)
    y = np.array([[1, 1, 0, 0, 0], [0, 0, 0, 1, 0]], np.float32)
    m = rng.uniform(0.2, 1.0, (2, 5)).astype(np.float32)
    logits = rng.normal(size=(2, 3)).astype(np.float32)
    yv = np.array([[1, 0, 1], [0, 1, 0]], np.float32)
    gce, ce = run(lambda: (L.masked_gce(tf.constant(a), tf.constant(y), tf.constant(m), q=0.5),
                           L.label_ce(tf.constant(logits), tf.constant(yv))))
    q, eps = 0.5, 1e-7
    pos = (m * y * (1 - (a + eps) ** q) / q).sum(1) / ((m * y).sum(1) + eps)
    neg = (m * (1 - y) * (1 - (1 - a + eps) ** q) / q).sum(1) / ((m * (1 - y)).sum(1) + eps)
    np.testing.assert_allclose(gce, pos.mean() + neg.mean(), rtol=1e-5)
    y_hat = yv / yv.sum(1, keepdims=True)
    np.testing.assert_allclose(ce, -(y_hat * np.log(np_softmax(logits))).sum(1).mean(), rtol=1e-5)


def small_config(**kw):
    return SALConfig(feature_dim=12, num_classes=4, hidden_dim=6, **kw)


@pytest.mark.parametrize("streams", ["split", "duplicate", "single"])
def test_forward_losses_and_video_scores(streams):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 24, 12)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[[0, 1, 3]]

    def build():
        model = SAL(small_config(streams=streams))
        xs = tf.constant(x)
        out = model.forward(xs, training=True)
        targets = model.aal_targets(out, mask_state(4))
        losses = L.sal_losses(model, out, targets, tf.constant(y), LossWeights())
        test = model.forward(xs, training=False)
        return {"losses": losses, "test": {k: test[k] for k in ("cas", "a_flow", "a_rgb", "bilinear_logits")},
                "scores": model.video_scores(test), "names": tf.constant([v.op.name for v in model_variables()])}

    got = run(build)
    losses, test, scores = got["losses"], got["test"], got["scores"]
    w = LossWeights()
    expected = (losses["mil"] + w.background * losses["background"] + losses["gce"] + losses["mixup"]
                + w.second_order * losses["second_order"] + w.consistency * losses.get("consistency", 0.0))
    np.testing.assert_allclose(losses["total"], expected, rtol=1e-5)
    assert ("consistency" in losses) == (streams != "single")
    names = {n.decode() for n in got["names"]}
    heads = {"single"} if streams == "single" else {"rgb", "flow"}
    assert {f"sal/action_{h}/weights" for h in heads} | {"sal/fc1/weights", "sal/fc/weights", "sal/cls/weights",
                                                       "sal/encoder/weights"} <= names
    # sal_paper_vs_code §8.1 on the inference outputs, in numpy
    cas, af, ar = test["cas"], test["a_flow"], test["a_rgb"]
    combined = (np_softmax(cas) + af[..., None] + ar[..., None]) / 3
    np.testing.assert_allclose(scores["combined"], combined, rtol=1e-5, atol=1e-6)
    k = 24 // 8
    idx = np.argsort(-combined, axis=1)[:, :k, :]
    z = np.take_along_axis(cas, idx, axis=1).mean(1)
    p = np_softmax(0.35 * z + 0.65 * test["bilinear_logits"])
    np.testing.assert_allclose(scores["class_probs"], p, rtol=1e-4, atol=1e-6)
    if streams == "single":
        np.testing.assert_array_equal(af, ar)


def test_ablation_switches_remove_their_terms():
    def build():
        model = SAL(small_config(streams="single", msl=False, mixup=False, mask=False))
        out = model.forward(tf.zeros([2, 16, 12]), training=True)
        targets = model.aal_targets(out)
        losses = L.sal_losses(model, out, targets, tf.constant(np.eye(4, dtype=np.float32)[:2]), LossWeights())
        return {"losses": losses, "mask": targets["mask"], "mixed": tf.constant("mixed_streams" in out),
                "names": tf.constant([v.op.name for v in model_variables()])}

    got = run(build)
    assert set(got["losses"]) == {"mil", "background", "gce", "total"}
    np.testing.assert_array_equal(got["mask"], np.ones((2, 16)))
    assert not got["mixed"] and not any(b"fc" in n for n in got["names"])

    def build_no_aal():
        model = SAL(small_config(streams="split", aal=False, mixup=False, mask=False, confidence_gate=False))
        out = model.forward(tf.zeros([2, 16, 12]), training=True)
        return L.sal_losses(model, out, {}, tf.constant(np.eye(4, dtype=np.float32)[:2]), LossWeights())

    assert set(run(build_no_aal)) == {"mil", "background", "consistency", "second_order", "total"}


def test_torch_initialisation_bounds():
    def build():
        model = SAL(SALConfig(feature_dim=40, num_classes=3, hidden_dim=10, streams="split"))
        model.forward(tf.zeros([1, 8, 40]), training=False)
        return {v.op.name: v for v in model_variables()}

    v = run(build)
    assert np.abs(v["sal/encoder/weights"]).max() <= 1 / np.sqrt(3 * 40)
    assert np.abs(v["sal/action_rgb/biases"]).max() <= 1 / np.sqrt(3 * 20) and v["sal/action_rgb/biases"].any()
    assert v["sal/fc1/weights"].shape == (100, 10) and not v["sal/fc1/biases"].any()
    assert abs(v["sal/fc1/weights"].std() - np.sqrt(2 / 100)) < 0.05


def test_random_perturb_and_uniform_sampling():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(random_perturb_indices(10, 10, rng), np.arange(10))
    down = random_perturb_indices(100, 8, rng)                             # bins of 12.5 rows
    lo = (np.arange(8) * 100) // 8
    hi = np.append((np.arange(1, 8) * 100) // 8, 99)
    assert ((down >= lo) & (down <= hi)).all()
    up = random_perturb_indices(5, 12, rng)                                # upsampling repeats rows
    assert len(up) == 12 and up.min() >= 0 and up.max() <= 4 and (np.diff(up) >= -1).all()
    np.testing.assert_array_equal(uniform_indices(5, 10), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(uniform_indices(7, 7), np.arange(7))


def test_split_is_a_seeded_hash_of_the_id():
    ids = [f"video_{i}" for i in range(2000)]
    splits = [split_of(v, 0, 0.2, 0.25) for v in ids]
    assert splits == [split_of(v, 0, 0.2, 0.25) for v in ids]
    counts = {s: splits.count(s) / len(ids) for s in ("train", "val", "test")}
    assert abs(counts["test"] - 0.25) < 0.04 and abs(counts["val"] - 0.2) < 0.04
    assert splits != [split_of(v, 1, 0.2, 0.25) for v in ids]
