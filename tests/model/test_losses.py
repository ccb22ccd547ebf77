"""Tests of aher/model/losses.py against independent numpy re-computations of paper_vs_code §5.1-paper_vs_code §5.3.

The numpy functions below are written from the reference's formulas, not from the module: the
hard-negative threshold uses a full sort instead of top_k, masks are multiplied instead of
selected, and every reduction is spelt out.
"""

import ast
import inspect
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from aher.model import losses as losses_module
from aher.model.losses import (ADVERSARIAL_MASKS, CLS_CELLS, OFFSET_TARGETS, OVERLAP_TARGETS,
                               AnchorGeometry, LossConfig, actionness_loss, adversarial_losses,
                               anchor_geometry, background_anchors, cell_labels, classification_loss,
                               discriminator_losses, foreground_cells, generator_loss,
                               hardest_negatives, localization_losses, mine_hard_negatives,
                               negative_budget, offset_loss, overlap_loss, overlap_valid,
                               selected_count)

RTOL = 1e-5
ATOL = 1e-6


# ------------------------------------------------------------------------------------------------
# numpy re-computation of the reference formulas
# ------------------------------------------------------------------------------------------------

def np_log_softmax(x):
    x = np.asarray(x, np.float64)
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_ce(logits, labels):
    logp = np_log_softmax(logits)
    return -np.take_along_axis(logp, np.asarray(labels)[..., None], axis=-1)[..., 0]


def np_smooth_l1(x):
    ax = np.abs(x)
    return np.where(ax < 1.0, 0.5 * x * x, ax - 0.5)


def np_bce(logits, target):
    p = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64)))
    return -(target * np.log(p) + (1.0 - target) * np.log(1.0 - p))


def np_classification(logits_per_layer, labels, weight=2.0):
    batch = len(labels)
    rows = np.concatenate(logits_per_layer, axis=0)
    row_labels = np.concatenate([labels] * len(logits_per_layer))
    ce = np_ce(rows, row_labels)
    loss = weight * ce.sum() / (len(logits_per_layer) * batch) / batch
    acc = np.mean(rows.argmax(-1) == row_labels)
    return loss, acc


def np_negatives(gscores, proplogits, ratio=1.0, pos_thr=0.8, neg_thr=0.3):
    batch = gscores.shape[0]
    pos = gscores > np.float32(pos_thr)
    cand = (~pos) & (gscores < np.float32(neg_thr))
    p = np.exp(np_log_softmax(proplogits))[..., 0]
    p_bg = np.where(cand, p, 1.0)
    n_neg = min(int(ratio * pos.sum()) + batch, int(cand.sum()))
    if n_neg == 0:
        return pos, np.zeros_like(pos), n_neg
    tau = np.sort(p_bg.ravel())[n_neg - 1]
    return pos, cand & (p_bg < tau), n_neg


def np_localization(anchor_logits, labels, proplogits, offsets, overlap, gscores, gloc, giou,
                    ratio=1.0):
    batch = gscores.shape[0]
    pos, neg, _ = np_negatives(gscores, proplogits, ratio)
    mask = (pos | neg).astype(np.float64)
    m = mask.sum()
    act_ce = np_ce(proplogits, pos.astype(np.int64))
    actionness = (2.0 * act_ce * mask).sum() / m if m else 0.0
    sl1 = np_smooth_l1(offsets.astype(np.float64) - gloc).sum(-1)
    offset = (1.0 * sl1 * pos).sum() / m if m else 0.0
    valid = giou != -1
    ov = 25.0 * (overlap.astype(np.float64) - giou) ** 2
    overlap_loss = (ov * valid).sum() / valid.sum() if valid.sum() else 0.0
    cell_labels = np.repeat(np.asarray(labels)[:, None], anchor_logits.shape[1], axis=1)
    classification = (2.0 * np_ce(anchor_logits, cell_labels)).sum() / batch
    accuracy = np.mean(anchor_logits.argmax(-1) == cell_labels)
    prop = actionness + offset + overlap_loss
    return {"actionness": actionness, "offset": offset, "overlap": overlap_loss,
            "classification": classification, "prop": prop, "total": prop + classification,
            "accuracy": accuracy, "num_positive": int(pos.sum()), "num_negative": int(neg.sum())}


def np_adversarial(d_real, d_fake, g_real, g_fake, weight=0.1):
    def bg(g):
        return (~(g > np.float32(0.7))) & (g < np.float32(0.3))
    mask = (bg(g_real) & bg(g_fake)).astype(np.float64)
    n = mask.sum()
    if not n:
        return {"discriminator_real": 0.0, "discriminator_fake": 0.0, "discriminator": 0.0,
                "generator": 0.0, "num_background": 0}
    real = weight * (np_bce(d_real, 1.0) * mask).sum() / n
    fake = weight * (np_bce(d_fake, 0.0) * mask).sum() / n
    gen = weight * (np_bce(d_fake, 1.0) * mask).sum() / n
    return {"discriminator_real": real, "discriminator_fake": fake, "discriminator": real + fake,
            "generator": gen, "num_background": int(n)}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

def run(fetches):
    with tf.compat.v1.Session() as sess:
        return sess.run(fetches)


def const(x, dtype=tf.float32):
    return tf.constant(np.asarray(x), dtype=dtype)


def giou_of(gscores):
    return np.where(gscores > 0, gscores, -1.0).astype(np.float32)


def build_localization(inputs, config=LossConfig()):
    """Constants from a numpy dict -> (tensors dict, losses dict)."""
    t = {k: const(v, tf.int32 if k == "labels" else tf.float32) for k, v in inputs.items()}
    targets = {"gscores": t["gscores"], "glocalisations": t["gloc"], "giou": t["giou"]}
    losses = localization_losses(t["anchor_logits"], t["labels"], t["proplogits"], t["offsets"],
                                 t["overlap"], targets, config)
    return t, losses


def assert_losses_equal(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert np.isfinite(got[key]), key
        np.testing.assert_allclose(got[key], value, rtol=RTOL, atol=ATOL, err_msg=key)


def prop_row(p_bg):
    """Actionness logits with background probability p_bg; p_bg = 0 is exact ([-100, 0]).

    TF's CPU softmax is not bit-stable across positions for identical rows (0.5 vs 0.49999997),
    but a saturated row gives exactly 0 everywhere, so exact ties are built only at p_bg = 0 and
    every other candidate value is distinct.
    """
    if p_bg == 0.0:
        return [-100.0, 0.0]
    return [np.log(p_bg), np.log1p(-p_bg)]


def hand_batch():
    """Two videos, 3 cells each (9 anchors), K = 3."""
    gscores = np.array([[0.90, 0.10, 0.00, 0.50, 0.20, 0.85, 0.00, 0.30, 0.05],
                        [0.00, 0.29, 0.95, 0.00, 0.10, 0.80, 0.60, 0.00, 0.25]], np.float32)
    # positives: (0,0) (0,5) (1,2) -> n_pos = 3; (1,5) has 0.80, not > 0.8
    # candidates (< 0.3, not positive): (0,1) (0,2) (0,4) (0,6) (0,8) (1,0) (1,1) (1,3) (1,4)
    #   (1,7) (1,8) -> 11; (0,7) = 0.30 is not a candidate
    # n_neg = min(int(1.0 * 3) + 2, 11) = 5
    p_bg = np.array([[0.7, 0.0, 0.2, 0.6, 0.45, 0.3, 0.9, 0.5, 0.8],
                     [0.35, 0.0, 0.4, 0.05, 0.95, 0.55, 0.65, 0.75, 0.85]])
    # candidate p_bg: 0 (0,1), .2 (0,2), .45 (0,4), .9 (0,6), .8 (0,8), .35 (1,0), 0 (1,1),
    #   .05 (1,3), .95 (1,4), .75 (1,7), .85 (1,8); sorted 0 0 .05 .2 .35 | ... -> tau = 0.35
    # selected negatives (p_bg < 0.35): (0,1) (1,1) (1,3) (0,2) -> 4 = n_neg - 1 (tau excluded)
    proplogits = np.array([[prop_row(p) for p in row] for row in p_bg], np.float32)
    rng = np.random.default_rng(7)
    offsets = rng.normal(0.0, 1.5, (2, 9, 2)).astype(np.float32)
    gloc = rng.normal(0.0, 1.5, (2, 9, 2)).astype(np.float32)
    overlap = rng.uniform(0.05, 0.95, (2, 9)).astype(np.float32)
    anchor_logits = rng.normal(0.0, 1.0, (2, 3, 3)).astype(np.float32)
    return {"anchor_logits": anchor_logits, "labels": np.array([2, 0], np.int32),
            "proplogits": proplogits, "offsets": offsets, "overlap": overlap,
            "gscores": gscores, "gloc": gloc, "giou": giou_of(gscores)}


# ------------------------------------------------------------------------------------------------
# L_reg (paper_vs_code §5.1)
# ------------------------------------------------------------------------------------------------

def test_classification_loss_matches_numpy_and_upstream_reduction():
    rng = np.random.default_rng(0)
    logits = [rng.normal(0, 2, (2, 3)).astype(np.float32) for _ in range(4)]
    labels = np.array([1, 2], np.int32)
    with tf.Graph().as_default():
        tl = [const(x) for x in logits]
        loss, acc = classification_loss(tl, const(labels, tf.int32))
        # upstream: tf.losses.softmax_cross_entropy(weights=2.0) (SUM_BY_NONZERO_WEIGHTS) / B
        onehot = tf.one_hot(tf.tile(const(labels, tf.int32), [4]), 3)
        upstream = tf.compat.v1.losses.softmax_cross_entropy(onehot, tf.concat(tl, 0), weights=2.0) / 2.0
        got_loss, got_acc, got_up = run([loss, acc, upstream])
    exp_loss, exp_acc = np_classification(logits, labels)
    np.testing.assert_allclose(got_loss, exp_loss, rtol=RTOL)
    np.testing.assert_allclose(got_up, exp_loss, rtol=RTOL)
    np.testing.assert_allclose(got_acc, exp_acc)


def test_classification_accuracy_counts_rows():
    # 2 layers x 2 samples; rows 0, 1, 3 correct -> 3/4
    logits = [np.array([[5, 0, 0], [0, 5, 0]], np.float32), np.array([[0, 5, 0], [0, 5, 0]], np.float32)]
    with tf.Graph().as_default():
        loss, acc = classification_loss([const(x) for x in logits], const([0, 1], tf.int32), weight=0.0)
        got_loss, got_acc = run([loss, acc])
    assert got_acc == pytest.approx(0.75)
    assert got_loss == 0.0


# ------------------------------------------------------------------------------------------------
# localization loss set (paper_vs_code §5.2)
# ------------------------------------------------------------------------------------------------

def test_hand_batch_values_and_counts():
    inputs = hand_batch()
    with tf.Graph().as_default():
        _, losses = build_localization(inputs)
        got = run(losses)
    expected = np_localization(**inputs)
    assert expected["num_positive"] == 3 and expected["num_negative"] == 4     # hand count above
    assert_losses_equal(got, expected)
    np.testing.assert_allclose(got["prop"], got["actionness"] + got["offset"] + got["overlap"], rtol=1e-6)
    np.testing.assert_allclose(got["total"], got["prop"] + got["classification"], rtol=1e-6)


@pytest.mark.parametrize("ratio, n_pos, p_bg, expected_n_neg, expected_sel", [
    # n_neg = int(1.0 * 2) + B(2) = 4 < #cand 6: tau = 4th smallest = .4 -> .1 .2 .3
    (1.0, 2, [.1, .2, .3, .4, .6, .7], 4, 3),
    # capped by #cand: n_neg = min(2 + 2, 3) = 3: tau = largest candidate -> 2 selected
    (1.0, 2, [.1, .2, .3], 3, 2),
    # int() truncation: int(0.5 * 3) + 2 = 3
    (0.5, 3, [.1, .2, .3, .4, .6, .7], 3, 2),
    # ties below tau are kept: 0 0 0 .4 -> tau = .4 -> 3 zeros
    (1.0, 2, [0., 0., 0., .4, .6, .7], 4, 3),
    # ties with tau are excluded: 4th smallest is 0, shared by 5 candidates -> none
    (1.0, 2, [0., 0., 0., 0., 0., .7], 4, 0),
    # no positive: n_neg = 0 + B = 2; tau = 0 (tie) -> none
    (1.0, 0, [0., 0., .5, .6, .7], 2, 0),
    # no candidates: n_neg = 0, no top_k(k=0) failure
    (1.0, 2, [], 0, 0),
])
def test_hard_negative_count_rule(ratio, n_pos, p_bg, expected_n_neg, expected_sel):
    batch, n_anc = 2, 8
    gscores = np.full(batch * n_anc, 0.5, np.float32)          # ignored by default
    proplogits = np.zeros((batch * n_anc, 2), np.float32)
    gscores[:n_pos] = 0.9
    for i, p in enumerate(p_bg):
        j = n_pos + i
        gscores[j] = 0.1
        proplogits[j] = prop_row(p)
    gscores = gscores.reshape(batch, n_anc)
    proplogits = proplogits.reshape(batch, n_anc, 2)
    config = LossConfig(negative_ratio=ratio)
    with tf.Graph().as_default():
        pos, neg, n_neg = mine_hard_negatives(const(gscores), const(proplogits), config)
        got_pos, got_neg, got_n = run([pos, neg, n_neg])
    np_pos, np_neg, np_n = np_negatives(gscores, proplogits, ratio)
    assert got_n == np_n == expected_n_neg
    assert got_pos.sum() == n_pos
    assert got_neg.sum() == np_neg.sum() == expected_sel
    np.testing.assert_array_equal(got_neg, np_neg)
    np.testing.assert_array_equal(got_pos, np_pos)


def test_negative_threshold_is_global_over_batch():
    # video 0 holds all the hardest candidates: mining is over B*N_anc, not per video
    gscores = np.array([[0.9, 0.1, 0.1, 0.1], [0.5, 0.1, 0.1, 0.1]], np.float32)
    p = np.array([[.5, .1, .2, .3], [.5, .7, .8, .9]])
    proplogits = np.stack([np.log(p), np.log(1 - p)], -1).astype(np.float32)
    with tf.Graph().as_default():
        _, neg, n_neg = mine_hard_negatives(const(gscores), const(proplogits))
        got_neg, got_n = run([neg, n_neg])
    assert got_n == 3                      # min(1 + 2, 6)
    np.testing.assert_array_equal(got_neg, [[False, True, True, False], [False] * 4])


def test_empty_masks_give_finite_zeros():
    inputs = hand_batch()
    cases = {}
    # no positive, no candidate: M = 0 -> actionness = offset = 0
    g = np.full_like(inputs["gscores"], 0.5)
    cases["no_mask"] = dict(inputs, gscores=g, giou=giou_of(g))
    # no positive but candidates: n_neg = B = 2; offset = 0, actionness from 1 mined negative
    g = np.where(inputs["gscores"] > 0.8, 0.5, inputs["gscores"]).astype(np.float32)
    prop = inputs["proplogits"].copy()
    prop[0, 1], prop[1, 1] = prop_row(0.01), prop_row(0.02)
    cases["no_positive"] = dict(inputs, gscores=g, giou=giou_of(g), proplogits=prop)
    # same, but the two hardest candidates are saturated (p_bg = 0, an exact tie at tau = 0):
    # the strict rule selects nothing, so M = 0 although candidates exist
    cases["no_positive_tied"] = dict(inputs, gscores=g, giou=giou_of(g))
    # no giou >= 0: overlap = 0
    cases["no_giou"] = dict(inputs, giou=np.full_like(inputs["giou"], -1.0))
    with tf.Graph().as_default():
        fetch = {}
        for name, case in cases.items():
            t, losses = build_localization(case)
            grads = tf.compat.v1.gradients(losses["total"], [t["proplogits"], t["offsets"], t["overlap"]],
                                           unconnected_gradients="zero")
            fetch[name] = (losses, grads)
        got = run(fetch)
    for name, (losses, grads) in got.items():
        for key, value in losses.items():
            assert np.isfinite(value), (name, key)
        for grad in grads:
            assert np.all(np.isfinite(grad)), name
        assert_losses_equal(losses, np_localization(**cases[name]))
    assert got["no_mask"][0]["actionness"] == 0.0 and got["no_mask"][0]["offset"] == 0.0
    assert got["no_mask"][0]["num_negative"] == 0
    assert got["no_positive"][0]["offset"] == 0.0 and got["no_positive"][0]["actionness"] > 0.0
    assert got["no_positive"][0]["num_negative"] == 1
    assert got["no_positive_tied"][0]["num_negative"] == 0
    assert got["no_positive_tied"][0]["actionness"] == 0.0
    assert got["no_giou"][0]["overlap"] == 0.0
    assert np.all(got["no_mask"][1][0] == 0.0)          # d total / d proplogits with M = 0


def test_non_finite_targets_outside_masks_do_not_leak():
    inputs = hand_batch()
    gloc = inputs["gloc"].copy()
    gloc[inputs["gscores"] <= 0.8] = np.inf                 # garbage on non-positive anchors
    case = dict(inputs, gloc=gloc)
    with tf.Graph().as_default():
        _, losses = build_localization(case)
        got = run(losses)
    np.testing.assert_allclose(got["offset"], np_localization(**inputs)["offset"], rtol=RTOL)


def test_gradient_supports():
    inputs = hand_batch()
    with tf.Graph().as_default():
        t, losses = build_localization(inputs)
        wrt = [t["proplogits"], t["offsets"], t["overlap"], t["anchor_logits"]]

        def grads(name):
            return tf.compat.v1.gradients(losses[name], wrt, unconnected_gradients="zero")

        got = run({name: grads(name) for name in ("overlap", "offset", "classification", "actionness")})
    pos, neg, _ = np_negatives(inputs["gscores"], inputs["proplogits"])
    valid = inputs["giou"] != -1

    g_prop, g_off, g_ov, g_cls = got["overlap"]
    assert np.all(g_prop == 0) and np.all(g_off == 0) and np.all(g_cls == 0)
    np.testing.assert_array_equal(g_ov != 0, valid)
    # d/d y_ov = 2 * 25 * (y_ov - giou) / #valid
    expected = np.where(valid, 50.0 * (inputs["overlap"] - inputs["giou"]) / valid.sum(), 0.0)
    np.testing.assert_allclose(g_ov, expected, rtol=1e-5, atol=1e-7)

    g_prop, g_off, g_ov, g_cls = got["offset"]
    assert np.all(g_prop == 0) and np.all(g_ov == 0) and np.all(g_cls == 0)
    np.testing.assert_array_equal(np.any(g_off != 0, axis=-1), pos)

    g_prop, g_off, g_ov, g_cls = got["actionness"]
    np.testing.assert_array_equal(np.any(g_prop != 0, axis=-1), pos | neg)
    assert np.all(g_off == 0) and np.all(g_ov == 0) and np.all(g_cls == 0)

    g_prop, g_off, g_ov, g_cls = got["classification"]
    assert np.all(np.any(g_cls != 0, axis=-1))                # every cell, background included
    assert np.all(g_prop == 0) and np.all(g_off == 0) and np.all(g_ov == 0)


# ------------------------------------------------------------------------------------------------
# randomised comparison
# ------------------------------------------------------------------------------------------------

GSCORE_POOL = np.array([0.0, 0.0, 0.05, 0.1, 0.2, 0.29, 0.3, 0.5, 0.7, 0.8, 0.81, 0.9, 1.0], np.float32)


def random_batch(rng):
    """Random inputs; gscores on a grid with the threshold values, p_bg distinct or exactly 0."""
    batch, n_cell, k = int(rng.integers(1, 4)), int(rng.integers(2, 7)), int(rng.integers(2, 6))
    n_anc = 3 * n_cell
    gscores = rng.choice(GSCORE_POOL, (batch, n_anc)).astype(np.float32)
    proplogits = rng.normal(0, 2, (batch, n_anc, 2)).astype(np.float32)
    proplogits[rng.uniform(size=(batch, n_anc)) < 0.2] = prop_row(0.0)   # exact ties at p_bg = 0
    p_bg = np.exp(np_log_softmax(proplogits))[..., 0]
    distinct = np.sort(p_bg[p_bg > 1e-30])             # [-100, 0] rows: ~4e-44 in float64
    assert np.all(np.diff(distinct) > 1e-5), "near-tie in the random data: change the seed"
    return {"anchor_logits": rng.normal(0, 2, (batch, n_cell, k)).astype(np.float32),
            "labels": rng.integers(0, k, batch).astype(np.int32),
            "proplogits": proplogits,
            "offsets": rng.normal(0, 2, (batch, n_anc, 2)).astype(np.float32),
            "overlap": rng.uniform(0, 1, (batch, n_anc)).astype(np.float32),
            "gscores": gscores,
            "gloc": rng.normal(0, 2, (batch, n_anc, 2)).astype(np.float32),
            "giou": giou_of(gscores)}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_random_batches_match_numpy(seed):
    rng = np.random.default_rng(seed)
    batches = [random_batch(rng) for _ in range(3)]
    ratio = float(rng.choice([0.5, 1.0, 3.0]))
    with tf.Graph().as_default():
        fetch = [build_localization(b, LossConfig(negative_ratio=ratio))[1] for b in batches]
        got = run(fetch)
    for b, g in zip(batches, got):
        assert_losses_equal(g, np_localization(**b, ratio=ratio))


# ------------------------------------------------------------------------------------------------
# adversarial losses (paper_vs_code §5.3)
# ------------------------------------------------------------------------------------------------

def adversarial_inputs(seed):
    rng = np.random.default_rng(seed)
    pool = np.array([0.0, 0.1, 0.29, 0.3, 0.5, 0.7, 0.75, 0.9], np.float32)
    shape = (2, 12)
    return (rng.normal(0, 2, shape).astype(np.float32), rng.normal(0, 2, shape).astype(np.float32),
            rng.choice(pool, shape).astype(np.float32), rng.choice(pool, shape).astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adversarial_matches_numpy(seed):
    d_real, d_fake, g_real, g_fake = adversarial_inputs(seed)
    with tf.Graph().as_default():
        got = run(adversarial_losses(const(d_real), const(d_fake), const(g_real), const(g_fake)))
    expected = np_adversarial(d_real, d_fake, g_real, g_fake)
    assert expected["num_background"] > 0
    assert_losses_equal(got, expected)


def test_adversarial_mask_is_joint_and_position_wise():
    g_real = np.array([[0.1, 0.1, 0.5, 0.1]], np.float32)
    g_fake = np.array([[0.1, 0.9, 0.1, 0.3]], np.float32)
    d_real = np.array([[0.3, -1.0, 2.0, 1.0]], np.float32)
    d_fake = np.array([[-0.7, 1.0, 0.5, -2.0]], np.float32)
    with tf.Graph().as_default():
        got = run(adversarial_losses(const(d_real), const(d_fake), const(g_real), const(g_fake)))
    assert got["num_background"] == 1                        # only position 0
    np.testing.assert_allclose(got["discriminator_real"], 0.1 * np_bce(0.3, 1.0), rtol=RTOL)
    np.testing.assert_allclose(got["discriminator_fake"], 0.1 * np_bce(-0.7, 0.0), rtol=RTOL)
    np.testing.assert_allclose(got["generator"], 0.1 * np_bce(-0.7, 1.0), rtol=RTOL)


def test_adversarial_empty_mask_gives_finite_zeros():
    d_real, d_fake, g_real, _ = adversarial_inputs(0)
    g_fake = np.full_like(g_real, 0.5)                       # no background in the synthetic batch
    with tf.Graph().as_default():
        dr, df = const(d_real), const(d_fake)
        losses = adversarial_losses(dr, df, const(g_real), const(g_fake))
        grads = tf.compat.v1.gradients([losses["discriminator"], losses["generator"]], [dr, df])
        got, got_grads = run([losses, grads])
    assert got["num_background"] == 0
    for key in ("discriminator_real", "discriminator_fake", "discriminator", "generator"):
        assert got[key] == 0.0
    for grad in got_grads:
        assert np.all(grad == 0.0)


# ------------------------------------------------------------------------------------------------
# paper-vs-code options (paper_vs_code §11.1 items 3, 4, 6, 10)
# ------------------------------------------------------------------------------------------------

PAPER = LossConfig(offset_target="decoded", overlap_target="refined", cls_cells="foreground")


def np_decode_cw(offsets, centers, widths, scaling=(0.1, 0.1)):
    """Eq. 5 / paper_vs_code §4.3 decoding to (centre, width), float64."""
    offsets = np.asarray(offsets, np.float64)
    center = offsets[..., 0] * widths * scaling[0] + centers
    width = widths * np.exp(offsets[..., 1] * scaling[1])
    return center, width


def np_localization_options(inputs, geometry, offset_target="encoded", overlap_target="anchor",
                            cls_cells="all", ratio=1.0):
    """np_localization with the offset / overlap / classification rows replaced per option."""
    out = np_localization(**inputs, ratio=ratio)
    centers = np.asarray(geometry["centers"], np.float64)
    widths = np.asarray(geometry["widths"], np.float64)
    gboxes = np.asarray(geometry["gboxes"], np.float64)
    pos, neg, _ = np_negatives(inputs["gscores"], inputs["proplogits"], ratio)
    m = (pos | neg).sum()
    c, w = np_decode_cw(inputs["offsets"], centers, widths)
    if offset_target == "decoded":
        total = 0.0
        for b, i in zip(*np.nonzero(pos)):
            g_s, g_e = gboxes[b, i]
            total += np_smooth_l1((c[b, i] - (g_s + g_e) / 2) / widths[i])
            total += np_smooth_l1((w[b, i] - (g_e - g_s)) / widths[i])
        out["offset"] = 1.0 * total / m if m else 0.0
    if overlap_target == "refined":
        valid = list(zip(*np.nonzero(inputs["giou"] != -1)))
        total = 0.0
        for b, i in valid:
            s, e = c[b, i] - w[b, i] / 2, c[b, i] + w[b, i] / 2
            g_s, g_e = gboxes[b, i]
            inter = max(0.0, min(e, g_e) - max(s, g_s))
            iou = inter / ((e - s) + (g_e - g_s) - inter)
            total += 25.0 * (float(inputs["overlap"][b, i]) - iou) ** 2
        out["overlap"] = total / len(valid) if valid else 0.0
    if cls_cells == "foreground":
        logits, labels = inputs["anchor_logits"], inputs["labels"]
        cells = sorted({(b, i // 3) for b, i in zip(*np.nonzero(pos))})
        ce = [np_ce(logits[b, j], labels[b]) for b, j in cells]
        hits = [logits[b, j].argmax() == labels[b] for b, j in cells]
        out["classification"] = 2.0 * sum(ce) / len(cells) if cells else 0.0
        out["accuracy"] = float(np.mean(hits)) if cells else 0.0
    out["prop"] = out["actionness"] + out["offset"] + out["overlap"]
    out["total"] = out["prop"] + out["classification"]
    return out


def hand_geometry(inputs):
    """Unclipped anchors of the 9-anchor hand batch (3 cells x 3 widths) and matched GT boxes.

    Valid anchors (giou != -1) get a GT near the anchor, except (1, 6), whose GT is disjoint from
    any decoded box (refined IoU 0); the others keep the placeholder [0, 1].
    """
    rng = np.random.default_rng(11)
    centers = np.repeat([10.5, 31.5, 52.5], 3).astype(np.float32)
    widths = np.tile([16.0, 20.16, 25.39], 3).astype(np.float32)
    gboxes = np.tile(np.array([0.0, 1.0], np.float32), (2, 9, 1))
    for b, i in zip(*np.nonzero(inputs["giou"] != -1)):
        gc = centers[i] + rng.uniform(-4, 4)
        gw = widths[i] * rng.uniform(0.6, 1.4)
        gboxes[b, i] = (gc - gw / 2, gc + gw / 2)
    gboxes[1, 6] = (200.0, 210.0)
    return {"centers": centers, "widths": widths, "gboxes": gboxes}


def build_with_geometry(inputs, geometry, config, pass_anchors=True):
    """Like build_localization, with targets["gboxes"] and (optionally) the anchors passed."""
    t = {k: const(v, tf.int32 if k == "labels" else tf.float32) for k, v in inputs.items()}
    targets = {"gscores": t["gscores"], "glocalisations": t["gloc"], "giou": t["giou"],
               "gboxes": const(geometry["gboxes"])}
    anchors = {}
    if pass_anchors:
        anchors = {"anchor_centers": geometry["centers"], "anchor_widths": geometry["widths"]}
    losses = localization_losses(t["anchor_logits"], t["labels"], t["proplogits"], t["offsets"],
                                 t["overlap"], targets, config, **anchors)
    return t, losses


OPTION_CONFIGS = {
    "decoded": dict(offset_target="decoded"),
    "refined": dict(overlap_target="refined"),
    "foreground": dict(cls_cells="foreground"),
    "paper": dict(offset_target="decoded", overlap_target="refined", cls_cells="foreground"),
}


def test_options_hand_batch_match_numpy():
    inputs = hand_batch()
    logits = inputs["anchor_logits"].copy()
    logits[0, 0] = [0.0, 0.5, 3.0]            # foreground cell (0, 0) right (label 2): acc 1/3 vs 1/6
    inputs = dict(inputs, anchor_logits=logits)
    geometry = hand_geometry(inputs)
    with tf.Graph().as_default():
        fetch = {name: build_with_geometry(inputs, geometry, LossConfig(**opts))[1]
                 for name, opts in OPTION_CONFIGS.items()}
        fetch["default"] = build_with_geometry(inputs, geometry, LossConfig())[1]
        got = run(fetch)
    default = np_localization(**inputs)
    assert_losses_equal(got["default"], default)                # anchors given but unused
    for name, opts in OPTION_CONFIGS.items():
        expected = np_localization_options(inputs, geometry, **opts)
        assert_losses_equal(got[name], expected)
        # each option changes its own rows and nothing else
        changed = {"offset_target": {"offset"}, "overlap_target": {"overlap"},
                   "cls_cells": {"classification", "accuracy"}}
        rows = set().union(*(changed[k] for k in opts))
        for key in ("actionness", "offset", "overlap", "classification", "accuracy"):
            if key in rows:
                assert not np.isclose(got[name][key], default[key]), (name, key)
            else:
                np.testing.assert_allclose(got[name][key], default[key], rtol=RTOL, err_msg=name)
    # hand count: positives (0,0) (0,5) (1,2) -> foreground cells (0,0) (0,1) (1,0)
    logits, labels = inputs["anchor_logits"], inputs["labels"]
    cells = [(0, 0), (0, 1), (1, 0)]
    hand_cls = 2.0 * sum(np_ce(logits[b, j], labels[b]) for b, j in cells) / 3
    np.testing.assert_allclose(got["foreground"]["classification"], hand_cls, rtol=RTOL)
    assert got["default"]["accuracy"] == pytest.approx(1 / 6)
    assert got["foreground"]["accuracy"] == pytest.approx(1 / 3)


def test_decoded_and_refined_perfect_prediction():
    # offsets = SSD encoding of the matched GT (written out here) -> decoded offset 0, IoU 1
    inputs = hand_batch()
    geometry = hand_geometry(inputs)
    g = geometry["gboxes"].astype(np.float64)
    centers, widths = geometry["centers"], geometry["widths"]
    t_c = ((g[..., 0] + g[..., 1]) / 2 - centers) / widths / 0.1
    t_w = np.log((g[..., 1] - g[..., 0]) / widths) / 0.1
    case = dict(inputs, offsets=np.stack([t_c, t_w], -1).astype(np.float32))
    with tf.Graph().as_default():
        got = run(build_with_geometry(case, geometry, PAPER)[1])
    valid = inputs["giou"] != -1
    assert got["offset"] == pytest.approx(0.0, abs=1e-9)
    expected_ov = 25.0 * np.mean((inputs["overlap"][valid] - 1.0) ** 2)
    np.testing.assert_allclose(got["overlap"], expected_ov, rtol=1e-4)


def test_option_gradients():
    inputs = hand_batch()
    geometry = hand_geometry(inputs)
    with tf.Graph().as_default():
        t, losses = build_with_geometry(inputs, geometry, PAPER)
        wrt = [t["proplogits"], t["offsets"], t["overlap"], t["anchor_logits"]]
        got = run({name: tf.compat.v1.gradients(losses[name], wrt, unconnected_gradients="zero")
                   for name in ("offset", "overlap", "classification")})
    pos, _, _ = np_negatives(inputs["gscores"], inputs["proplogits"])
    valid = inputs["giou"] != -1

    g_prop, g_off, g_ov, g_cls = got["offset"]                # through the decoding
    assert np.all(g_prop == 0) and np.all(g_ov == 0) and np.all(g_cls == 0)
    np.testing.assert_array_equal(np.any(g_off != 0, axis=-1), pos)

    g_prop, g_off, g_ov, g_cls = got["overlap"]               # stop_gradient on the decoded box
    assert np.all(g_prop == 0) and np.all(g_off == 0) and np.all(g_cls == 0)
    np.testing.assert_array_equal(g_ov != 0, valid)

    g_prop, g_off, g_ov, g_cls = got["classification"]       # foreground cells only
    assert np.all(g_prop == 0) and np.all(g_off == 0) and np.all(g_ov == 0)
    fg_cells = np.zeros((2, 3), bool)
    fg_cells[0, 0] = fg_cells[0, 1] = fg_cells[1, 0] = True
    np.testing.assert_array_equal(np.any(g_cls != 0, axis=-1), fg_cells)


def test_option_empty_sets_give_finite_zeros():
    inputs = hand_batch()
    geometry = hand_geometry(inputs)
    g_none = np.full_like(inputs["gscores"], 0.5)            # no positive, no candidate: M = 0
    cases = {"no_mask": dict(inputs, gscores=g_none, giou=giou_of(g_none)),
             "no_giou": dict(inputs, giou=np.full_like(inputs["giou"], -1.0))}
    garbage = dict(geometry, gboxes=np.where((inputs["giou"] == -1)[..., None], np.inf,
                                             geometry["gboxes"]).astype(np.float32))
    with tf.Graph().as_default():
        fetch = {}
        for name, case in cases.items():
            t, losses = build_with_geometry(case, geometry, PAPER)
            grads = tf.compat.v1.gradients(losses["total"], [t["offsets"], t["overlap"], t["anchor_logits"]],
                                           unconnected_gradients="zero")
            fetch[name] = (losses, grads)
        # non-finite gboxes on unused anchors reach neither the value nor the gradient
        t, losses = build_with_geometry(inputs, garbage, PAPER)
        fetch["garbage"] = (losses, tf.compat.v1.gradients(losses["total"], [t["offsets"], t["overlap"]]))
        got = run(fetch)
    for name, (losses, grads) in got.items():
        for key, value in losses.items():
            assert np.isfinite(value), (name, key)
        for grad in grads:
            assert np.all(np.isfinite(grad)), name
    assert_losses_equal(got["no_mask"][0], np_localization_options(cases["no_mask"], geometry, **OPTION_CONFIGS["paper"]))
    assert_losses_equal(got["no_giou"][0], np_localization_options(cases["no_giou"], geometry, **OPTION_CONFIGS["paper"]))
    assert_losses_equal(got["garbage"][0], np_localization_options(inputs, geometry, **OPTION_CONFIGS["paper"]))
    no_mask = got["no_mask"][0]
    assert no_mask["offset"] == 0.0 and no_mask["classification"] == 0.0 and no_mask["accuracy"] == 0.0
    assert np.all(got["no_mask"][1][0] == 0) and np.all(got["no_mask"][1][2] == 0)
    assert got["no_giou"][0]["overlap"] == 0.0 and np.all(got["no_giou"][1][1] == 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_batches_options_match_numpy(seed):
    rng = np.random.default_rng(100 + seed)
    cases = []
    for _ in range(3):
        b = random_batch(rng)
        batch, n_anc = b["gscores"].shape
        centers = rng.uniform(0, 64, n_anc).astype(np.float32)
        widths = rng.uniform(4, 40, n_anc).astype(np.float32)
        gc = centers + rng.normal(0, 5, (batch, n_anc))
        gw = widths * rng.uniform(0.5, 2.0, (batch, n_anc))
        gboxes = np.stack([gc - gw / 2, gc + gw / 2], -1).astype(np.float32)
        opts = {k: str(rng.choice(v)) for k, v in (("offset_target", ["encoded", "decoded"]),
                                                   ("overlap_target", ["anchor", "refined"]),
                                                   ("cls_cells", ["all", "foreground"]))}
        cases.append((b, {"centers": centers, "widths": widths, "gboxes": gboxes}, opts))
    with tf.Graph().as_default():
        got = run([build_with_geometry(b, geo, LossConfig(**opts))[1] for b, geo, opts in cases])
    for (b, geo, opts), g in zip(cases, got):
        assert_losses_equal(g, np_localization_options(b, geo, **opts))


def test_invalid_options_and_missing_anchors_raise():
    for field, allowed in (("offset_target", "encoded, decoded"), ("overlap_target", "anchor, refined"),
                           ("cls_cells", "all, foreground")):
        with pytest.raises(ValueError, match=f"{field}.*{allowed}"):
            LossConfig(**{field: "paper"})
    inputs = hand_batch()
    geometry = hand_geometry(inputs)
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="mask.*'joint', 'separate'"):
            adversarial_losses(*[const(x) for x in adversarial_inputs(0)], mask="both")
        for field, value in (("offset_target", "decoded"), ("overlap_target", "refined")):
            config = LossConfig(**{field: value})
            with pytest.raises(ValueError, match=f"{field}='{value}'.*anchor_centers"):
                build_with_geometry(inputs, geometry, config, pass_anchors=False)
            with pytest.raises(ValueError, match=f"{field}='{value}'.*gboxes"):
                build_localization(inputs, config)
        build_with_geometry(inputs, geometry, LossConfig(cls_cells="foreground"), pass_anchors=False)


def np_adversarial_separate(d_real, d_fake, g_real, g_fake, weight=0.1):
    def bg(g):
        return (~(g > np.float32(0.7))) & (g < np.float32(0.3))

    def term(logits, target, mask):
        n = int(mask.sum())
        return (weight * np_bce(logits[mask], target).sum() / n if n else 0.0), n

    real, n_real = term(d_real, 1.0, bg(g_real))
    fake, n_fake = term(d_fake, 0.0, bg(g_fake))
    gen, _ = term(d_fake, 1.0, bg(g_fake))
    return {"discriminator_real": real, "discriminator_fake": fake, "discriminator": real + fake,
            "generator": gen, "num_background": n_real + n_fake,
            "num_background_real": n_real, "num_background_fake": n_fake}


@pytest.mark.parametrize("seed", [0, 1])
def test_adversarial_separate_matches_numpy(seed):
    d_real, d_fake, g_real, g_fake = adversarial_inputs(seed)
    with tf.Graph().as_default():
        args = [const(x) for x in (d_real, d_fake, g_real, g_fake)]
        got = run({"separate": adversarial_losses(*args, mask="separate"),
                   "joint": adversarial_losses(*args, mask="joint")})
    expected = np_adversarial_separate(d_real, d_fake, g_real, g_fake)
    assert expected["num_background_real"] > got["joint"]["num_background"] > 0
    assert_losses_equal(got["separate"], expected)
    assert_losses_equal(got["joint"], np_adversarial(d_real, d_fake, g_real, g_fake))


def test_adversarial_separate_masks_by_hand_and_empty_sides():
    # same data as the joint test: bg_real = {0, 1, 3}, bg_fake = {0, 2} (0.3 is not < 0.3)
    g_real = np.array([[0.1, 0.1, 0.5, 0.1]], np.float32)
    g_fake = np.array([[0.1, 0.9, 0.1, 0.3]], np.float32)
    d_real = np.array([[0.3, -1.0, 2.0, 1.0]], np.float32)
    d_fake = np.array([[-0.7, 1.0, 0.5, -2.0]], np.float32)
    none = np.full_like(g_real, 0.5)
    with tf.Graph().as_default():
        dr, df = const(d_real), const(d_fake)
        hand = adversarial_losses(dr, df, const(g_real), const(g_fake), mask="separate")
        fetch = {"hand": hand}
        for name, (gr, gf) in {"no_real": (none, g_fake), "no_fake": (g_real, none)}.items():
            losses = adversarial_losses(dr, df, const(gr), const(gf), mask="separate")
            grads = tf.compat.v1.gradients([losses["discriminator"], losses["generator"]], [dr, df],
                                           unconnected_gradients="zero")
            fetch[name] = (losses, grads)
        got = run(fetch)
    hand = got["hand"]
    assert (hand["num_background_real"], hand["num_background_fake"], hand["num_background"]) == (3, 2, 5)
    real = 0.1 * (np_bce(0.3, 1.0) + np_bce(-1.0, 1.0) + np_bce(1.0, 1.0)) / 3
    np.testing.assert_allclose(hand["discriminator_real"], real, rtol=RTOL)
    np.testing.assert_allclose(hand["discriminator_fake"], 0.1 * (np_bce(-0.7, 0.0) + np_bce(0.5, 0.0)) / 2, rtol=RTOL)
    np.testing.assert_allclose(hand["generator"], 0.1 * (np_bce(-0.7, 1.0) + np_bce(0.5, 1.0)) / 2, rtol=RTOL)

    losses, (g_dr, g_df) = got["no_real"]
    assert losses["num_background_real"] == 0 and losses["discriminator_real"] == 0.0
    assert np.all(g_dr == 0) and np.all(np.isfinite(g_df))
    np.testing.assert_allclose(losses["generator"], hand["generator"], rtol=RTOL)
    losses, (g_dr, g_df) = got["no_fake"]
    assert losses["num_background_fake"] == 0
    assert losses["discriminator_fake"] == 0.0 and losses["generator"] == 0.0
    assert np.all(g_df == 0) and np.all(np.isfinite(g_dr))
    np.testing.assert_allclose(losses["discriminator_real"], real, rtol=RTOL)


# ------------------------------------------------------------------------------------------------
# each term alone, on tiny inputs computed by hand
# ------------------------------------------------------------------------------------------------

def test_option_tables_hold_upstream_first_and_match_the_defaults():
    assert list(OFFSET_TARGETS) == ["encoded", "decoded"]
    assert list(OVERLAP_TARGETS) == ["anchor", "refined"]
    assert list(CLS_CELLS) == ["all", "foreground"]
    assert list(ADVERSARIAL_MASKS) == ["joint", "separate"]
    default = LossConfig()
    assert (default.offset_target, default.overlap_target, default.cls_cells) == ("encoded", "anchor", "all")
    assert inspect.signature(adversarial_losses).parameters["mask"].default == "joint"


def test_compositions_dispatch_through_the_tables(monkeypatch):
    # replacing a table entry changes exactly the term it feeds
    inputs = hand_batch()
    monkeypatch.setitem(OFFSET_TARGETS, "encoded", lambda offsets, targets, geometry, positive: tf.zeros_like(offsets))
    monkeypatch.setitem(OVERLAP_TARGETS, "anchor", lambda offsets, targets, geometry, valid: tf.ones_like(targets["giou"]))
    monkeypatch.setitem(CLS_CELLS, "all", lambda logits, labels, positive, weight: (tf.constant(7.0), tf.constant(0.5)))
    monkeypatch.setitem(ADVERSARIAL_MASKS, "joint", lambda g_real, g_fake, pos_thr, bg_thr: (g_real < 2.0, g_fake < 2.0))
    d_real, d_fake, g_real, g_fake = adversarial_inputs(0)
    with tf.Graph().as_default():
        _, losses = build_localization(inputs)
        adv = adversarial_losses(const(d_real), const(d_fake), const(g_real), const(g_fake))
        got, got_adv = run([losses, adv])
    expected = np_localization(**inputs)
    assert got["offset"] == 0.0
    valid = inputs["giou"] != -1
    np.testing.assert_allclose(got["overlap"], 25.0 * np.mean((inputs["overlap"][valid] - 1.0) ** 2), rtol=RTOL)
    assert (got["classification"], got["accuracy"]) == (7.0, 0.5)
    np.testing.assert_allclose(got["actionness"], expected["actionness"], rtol=RTOL)
    assert got_adv["num_background"] == d_real.size                # every position in the patched mask


def test_negative_budget_and_hardest_negatives_alone():
    # positive: 0; candidates: 1..4 (p_bg .1 .4 .2 .3); 5 is neither (gscores .5)
    positive = np.array([[True, False, False, False, False, False]])
    candidate = np.array([[False, True, True, True, True, False]])
    proplogits = np.array([[prop_row(p) for p in (.9, .1, .4, .2, .3, .05)]], np.float32)
    with tf.Graph().as_default():
        pos, cand = tf.constant(positive), tf.constant(candidate)
        budgets = [negative_budget(pos, cand, r) for r in (1.0, 2.5, 9.0)]
        negatives = [hardest_negatives(const(proplogits), cand, tf.constant(n)) for n in (2, 4, 0)]
        got_budgets, got_neg = run([budgets, negatives])
    # int(r * 1) + B(1), capped by #cand = 4
    assert list(got_budgets) == [min(int(1.0) + 1, 4), min(int(2.5) + 1, 4), 4]
    # n_neg = 2: tau = .2 -> {.1}; n_neg = 4: tau = .4 -> {.1, .2, .3}; n_neg = 0: none
    np.testing.assert_array_equal(got_neg[0], [[False, True, False, False, False, False]])
    np.testing.assert_array_equal(got_neg[1], [[False, True, False, True, True, False]])
    assert not got_neg[2].any()


def test_selected_count_and_actionness_loss_alone():
    proplogits = np.array([[[0.5, 1.5], [2.0, -1.0], [0.0, 3.0], [1.0, 1.0]]], np.float32)
    positive = np.array([[True, False, False, False]])
    negative = np.array([[False, True, False, False]])
    none = np.zeros_like(positive)
    with tf.Graph().as_default():
        p, n, z = tf.constant(positive), tf.constant(negative), tf.constant(none)
        m = selected_count(p, n)
        loss = actionness_loss(const(proplogits), p, n, m, 2.0)
        empty = actionness_loss(const(proplogits), z, z, selected_count(z, z), 2.0)
        got_m, got_loss, got_empty = run([m, loss, empty])
    # anchor 0 is foreground (class 1), anchor 1 background (class 0); anchors 2, 3 unselected
    expected = 2.0 * (np_ce(proplogits[0, 0], 1) + np_ce(proplogits[0, 1], 0)) / 2
    assert got_m == 2.0
    np.testing.assert_allclose(got_loss, expected, rtol=RTOL)
    assert got_empty == 0.0


def tiny_geometry():
    """Two anchors (centre 10, width 20) and (centre 40, width 8), prior scaling 0.1."""
    return np.array([10.0, 40.0], np.float32), np.array([20.0, 8.0], np.float32)


def test_offset_target_table_residuals():
    centers, widths = tiny_geometry()
    offsets = np.array([[[1.0, 0.0], [0.5, -2.0]]], np.float32)
    gloc = np.array([[[0.25, -1.0], [np.inf, 0.0]]], np.float32)
    gboxes = np.array([[[0.0, 16.0], [np.inf, np.inf]]], np.float32)   # garbage on anchor 1
    positive = np.array([[True, False]])
    with tf.Graph().as_default():
        geometry = AnchorGeometry(const(centers), const(widths), (0.1, 0.1))
        targets = {"glocalisations": const(gloc), "gboxes": const(gboxes)}
        off = const(offsets)
        residuals = {name: fn(off, targets, geometry, tf.constant(positive)) for name, fn in OFFSET_TARGETS.items()}
        grad = tf.gradients(tf.reduce_sum(residuals["decoded"]), off)[0]
        got, got_grad = run([residuals, grad])
    np.testing.assert_array_equal(got["encoded"], offsets - gloc)
    # decoded anchor 0: c = 1 * 20 * 0.1 + 10 = 12, w = 20; GT [0, 16]: g_c = 8, g_w = 16
    np.testing.assert_allclose(got["decoded"][0, 0], [(12 - 8) / 20, (20 - 16) / 20], rtol=RTOL)
    np.testing.assert_array_equal(got["decoded"][0, 1], [0.0, 0.0])    # not positive
    assert np.all(np.isfinite(got_grad)) and np.all(got_grad[0, 1] == 0)


def test_offset_loss_alone():
    residual = np.array([[[0.5, 2.0], [3.0, 3.0], [-0.2, 0.0]]], np.float32)
    positive = np.array([[True, False, True]])
    with tf.Graph().as_default():
        loss = offset_loss(const(residual), tf.constant(positive), tf.constant(4.0), 1.5)
        empty = offset_loss(const(residual), tf.constant(positive), tf.constant(0.0), 1.5)
        got, got_empty = run([loss, empty])
    # SL1: 0.5 -> 0.125, 2.0 -> 1.5, -0.2 -> 0.02, 0 -> 0; anchor 1 is not positive
    np.testing.assert_allclose(got, 1.5 * (0.125 + 1.5 + 0.02) / 4, rtol=RTOL)
    assert got_empty == 0.0


def test_overlap_target_table_targets():
    centers, widths = tiny_geometry()
    offsets = np.array([[[0.0, 0.0], [0.0, 0.0]]], np.float32)
    giou = np.array([[0.6, -1.0]], np.float32)
    gboxes = np.array([[[10.0, 30.0], [np.inf, np.inf]]], np.float32)
    with tf.Graph().as_default():
        geometry = AnchorGeometry(const(centers), const(widths), (0.1, 0.1))
        targets = {"giou": const(giou), "gboxes": const(gboxes)}
        off = const(offsets)
        valid = overlap_valid(targets["giou"])
        got_targets = {name: fn(off, targets, geometry, valid) for name, fn in OVERLAP_TARGETS.items()}
        grad = tf.gradients(tf.reduce_sum(got_targets["refined"]), off, unconnected_gradients="zero")[0]
        got, got_valid, got_grad = run([got_targets, valid, grad])
    np.testing.assert_array_equal(got_valid, [[True, False]])
    np.testing.assert_array_equal(got["anchor"], giou)
    # refined anchor 0: decoded box [0, 20] vs GT [10, 30]: inter 10, union 30
    np.testing.assert_allclose(got["refined"][0, 0], 10.0 / 30.0, rtol=RTOL)
    assert got["refined"][0, 1] == 0.0                                # giou = -1
    assert np.all(got_grad == 0)                                      # stop_gradient


def test_overlap_loss_alone():
    overlap = np.array([[0.5, 0.2, 0.9]], np.float32)
    target = np.array([[0.3, 0.9, -1.0]], np.float32)
    with tf.Graph().as_default():
        loss = overlap_loss(const(overlap), const(target), tf.constant([[True, True, False]]), 25.0)
        empty = overlap_loss(const(overlap), const(target), tf.zeros([1, 3], tf.bool), 25.0)
        got, got_empty = run([loss, empty])
    np.testing.assert_allclose(got, 25.0 * (0.2 ** 2 + 0.7 ** 2) / 2, rtol=RTOL)
    assert got_empty == 0.0


def test_cell_labels_and_foreground_cells():
    logits = np.zeros((2, 2, 4), np.float32)
    positive = np.array([[False, False, True, False, False, False],      # anchor 2 -> cell 0
                         [False, False, False, True, False, False]])     # anchor 3 -> cell 1
    with tf.Graph().as_default():
        got_labels, got_cells = run([cell_labels(const(logits), const([3, 1], tf.int32)),
                                     foreground_cells(tf.constant(positive), const(logits))])
    np.testing.assert_array_equal(got_labels, [[3, 3], [1, 1]])
    np.testing.assert_array_equal(got_cells, [[True, False], [False, True]])


def test_cls_cells_table_terms():
    logits = np.array([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.5]],
                       [[0.0, 0.0, 3.0], [1.0, 0.0, 0.0]]], np.float32)
    labels = np.array([0, 2], np.int32)
    positive = np.array([[False, False, False, True, False, False],     # cell (0, 1)
                         [True, False, False, False, False, False]])    # cell (1, 0)
    with tf.Graph().as_default():
        args = (const(logits), const(labels, tf.int32))
        terms = {name: fn(*args, tf.constant(positive), 2.0) for name, fn in CLS_CELLS.items()}
        empty = CLS_CELLS["foreground"](*args, tf.zeros([2, 6], tf.bool), 2.0)
        got, got_empty = run([terms, empty])
    ce = np_ce(logits, np.array([[0, 0], [2, 2]]))
    # all: 2 · Σ CE / B; argmax hits (0,0) and (1,0) of 4 cells
    np.testing.assert_allclose(got["all"][0], 2.0 * ce.sum() / 2, rtol=RTOL)
    assert got["all"][1] == pytest.approx(0.5)
    # foreground: cells (0, 1) (wrong) and (1, 0) (right)
    np.testing.assert_allclose(got["foreground"][0], 2.0 * (ce[0, 1] + ce[1, 0]) / 2, rtol=RTOL)
    assert got["foreground"][1] == pytest.approx(0.5)
    assert tuple(got_empty) == (0.0, 0.0)


def test_background_anchors_and_adversarial_mask_table():
    g_real = np.array([[0.1, 0.1, 0.5, 0.1, 0.29]], np.float32)
    g_fake = np.array([[0.1, 0.9, 0.1, 0.3, 0.0]], np.float32)
    with tf.Graph().as_default():
        gr, gf = const(g_real), const(g_fake)
        got_bg = run(background_anchors(gf))
        got = run({name: fn(gr, gf, 0.7, 0.3) for name, fn in ADVERSARIAL_MASKS.items()})
    np.testing.assert_array_equal(got_bg, [[True, False, True, False, True]])   # 0.3 is not < 0.3
    bg_real = [[True, True, False, True, True]]
    bg_fake = [[True, False, True, False, True]]
    for mask in got["joint"]:
        np.testing.assert_array_equal(mask, [[True, False, False, False, True]])
    np.testing.assert_array_equal(got["separate"][0], bg_real)
    np.testing.assert_array_equal(got["separate"][1], bg_fake)


def test_discriminator_and_generator_terms_alone():
    d_real = np.array([[0.3, -1.0, 2.0]], np.float32)
    d_fake = np.array([[-0.7, 1.0, 0.5]], np.float32)
    mask_real = np.array([[True, True, False]])
    mask_fake = np.array([[False, True, True]])
    with tf.Graph().as_default():
        dr, df = const(d_real), const(d_fake)
        terms = (discriminator_losses(dr, df, tf.constant(mask_real), tf.constant(mask_fake), 0.1),
                 generator_loss(df, tf.constant(mask_fake), 0.1),
                 generator_loss(df, tf.zeros([1, 3], tf.bool), 0.1))
        (got_real, got_fake), got_gen, got_empty = run(terms)
    np.testing.assert_allclose(got_real, 0.1 * (np_bce(0.3, 1.0) + np_bce(-1.0, 1.0)) / 2, rtol=RTOL)
    np.testing.assert_allclose(got_fake, 0.1 * (np_bce(1.0, 0.0) + np_bce(0.5, 0.0)) / 2, rtol=RTOL)
    np.testing.assert_allclose(got_gen, 0.1 * (np_bce(1.0, 1.0) + np_bce(0.5, 1.0)) / 2, rtol=RTOL)
    assert got_empty == 0.0


def test_anchor_geometry_only_for_the_decoding_options():
    centers, widths = tiny_geometry()
    with tf.Graph().as_default():
        assert anchor_geometry(LossConfig(), {}, None, None, (0.1, 0.1)) is None
        assert anchor_geometry(LossConfig(cls_cells="foreground"), {}, None, None, (0.1, 0.1)) is None
        both = LossConfig(offset_target="decoded", overlap_target="refined")
        with pytest.raises(ValueError, match="offset_target='decoded' and .*overlap_target='refined'.*gboxes"):
            anchor_geometry(both, {}, centers, widths, (0.1, 0.1))
        geometry = anchor_geometry(both, {"gboxes": None}, centers, widths, (0.2, 0.3))
        got = run([geometry.centers, geometry.widths])
    assert geometry.prior_scaling == (0.2, 0.3)
    np.testing.assert_array_equal(got[0], centers)
    np.testing.assert_array_equal(got[1], widths)


def test_module_functions_stay_short():
    tree = ast.parse(pathlib.Path(losses_module.__file__).read_text())
    lengths = {node.name: node.end_lineno - node.lineno + 1 for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef)}
    assert max(lengths.values()) <= 60, lengths
