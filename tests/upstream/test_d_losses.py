"""The project's losses against the released code's ``losses_complete`` / ``reg_losses`` / adversary.

Trace ``d_losses.npz`` (B = 2, K = 200, T = 512). For each of the six stored cases the stored
network outputs (anchor_logits, proplogits, offsets, overlap, pooled_logits) are fed to the
project's own functions, with the GT encoded by the project's own encoder
(``matcher.match_anchors``, anchor layers of T = 512, prior scaling (0.1, 0.1)):

* every loss value of ``localization_losses(LossConfig())`` and of
  ``classification_loss(weight=2.0)`` (rel 1e-6) and the number of selected anchors
  ``num_positive + num_negative`` (exact);
* the gradient statistics [Σg, Σg², Σ|g|] of each loss term with respect to its input.

Adversarial part: the per-layer discriminators (recipe weights) on the stored real / synthetic end
points, the encoder's gscores of both GT sets, and ``adversarial_losses(weight=0.1, mask="joint")``.
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.model.anchors import anchor_layers
from aher.model.discriminator import discriminator_logits
from aher.model.losses import LossConfig, adversarial_losses, classification_loss, localization_losses
from aher.model.matcher import match_anchors
from tests.upstream.support import assert_norm_close, assert_rel_close, fill_from_recipe, load_trace

pytestmark = pytest.mark.needs_shared

T = 512
B = 2
K = 200
N_CELL = 255
N_ANC = 765
N_LAYERS = 8
MAX_GT = 25
PRIOR_SCALING = (0.1, 0.1)
CASES = ("random", "dense", "synthetic", "ties", "few_levels", "saturated")

LOSS_RTOL = 1e-6        # README: observed rel <= 4.5e-7
GRAD_RTOL = 1e-5        # README: Σg², Σ|g| observed rel <= 3.3e-7

# Trace loss name -> the project's key. "reg" / "reg_accuracy" come from classification_loss,
# the others from localization_losses (upstream loss_prop = actionness, loss_loc = offset,
# loss_iou = overlap, loss_cls = classification, acc_cls = accuracy, Prop_loss = prop,
# Total_loss = total).
LOC_KEYS = {
    "actionness": "actionness",
    "offset": "offset",
    "overlap": "overlap",
    "classification": "classification",
    "accuracy": "accuracy",
    "prop": "prop",
    "total": "total",
}
REG_KEYS = {"reg": "reg", "reg_accuracy": "reg_accuracy"}


@pytest.fixture(scope="module")
def trace():
    data = load_trace("d_losses")
    assert tuple(str(n) for n in data["case_names"]) == CASES
    assert int(data["K"]) == K
    return data


@pytest.fixture(scope="module")
def loss_graph():
    """One graph of the project's loss set on placeholders; yields (session, inputs, fetches)."""
    graph = tf.Graph()
    with graph.as_default():
        inputs = {
            "anchor_logits": tf.compat.v1.placeholder(tf.float32, [B, N_CELL, K]),
            "proplogits": tf.compat.v1.placeholder(tf.float32, [B, N_ANC, 2]),
            "offsets": tf.compat.v1.placeholder(tf.float32, [B, N_ANC, 2]),
            "overlap": tf.compat.v1.placeholder(tf.float32, [B, N_ANC]),
            "pooled_logits": tf.compat.v1.placeholder(tf.float32, [N_LAYERS, B, K]),
            "gt": tf.compat.v1.placeholder(tf.float32, [B, MAX_GT, 2]),
            "labels": tf.compat.v1.placeholder(tf.int32, [B]),
        }
        targets = match_anchors(inputs["gt"], anchor_layers(T), T, prior_scaling=PRIOR_SCALING)
        loc = localization_losses(inputs["anchor_logits"], inputs["labels"], inputs["proplogits"],
                                  inputs["offsets"], inputs["overlap"], targets, LossConfig())
        reg, reg_accuracy = classification_loss(
            [inputs["pooled_logits"][j] for j in range(N_LAYERS)], inputs["labels"], weight=2.0)
        losses = {name: loc[key] for name, key in LOC_KEYS.items()}
        losses.update(reg=reg, reg_accuracy=reg_accuracy)
        fetches = {
            "losses": losses,
            "n_selected": loc["num_positive"] + loc["num_negative"],
            "grads": {},
        }
        for pair in ("actionness:proplogits", "offset:offsets", "overlap:overlap",
                     "classification:anchor_logits", "reg:pooled_logits"):
            term, wrt = pair.split(":")
            (grad,) = tf.gradients(losses[term], [inputs[wrt]])
            fetches["grads"][pair] = grad
    # Not a ``with`` block: that would keep the session on the default-session stack while
    # other tests run.
    session = tf.compat.v1.Session(graph=graph)
    try:
        yield session, inputs, fetches
    finally:
        session.close()


@pytest.mark.parametrize("case", range(len(CASES)), ids=CASES)
def test_losses_and_gradients_match_upstream(trace, loss_graph, case):
    """Loss values, n_selected and gradient stats [Σg, Σg², Σ|g|] of one stored case."""
    session, inputs, fetches = loss_graph
    prefix = f"c{case}_"
    result = session.run(fetches, {ph: trace[prefix + name] for name, ph in inputs.items()})

    assert set(str(n) for n in trace["loss_names"]) == set(LOC_KEYS) | set(REG_KEYS) | {"n_selected"}
    for name, value in result["losses"].items():
        assert_rel_close(value, trace[f"{prefix}loss_{name}"], LOSS_RTOL, f"{CASES[case]} loss_{name}")
    assert int(result["n_selected"]) == int(trace[prefix + "loss_n_selected"]), "n_selected (|pos ∪ neg|)"

    assert [str(t) for t in trace["grad_terms"]] == list(result["grads"])
    for pair, grad in result["grads"].items():
        term = pair.split(":")[0]
        g = np.asarray(grad, np.float64)
        stats = np.array([g.sum(), np.square(g).sum(), np.abs(g).sum()])
        expected = trace[f"{prefix}grad_{term}_stats"]
        what = f"{CASES[case]} d {pair}"
        # Σg is a sum of terms that cancel (each softmax row's gradient sums to 0), so its
        # reference value can be ~1e-9 while the terms are ~1: a relative bound on it would only
        # measure float32 summation noise. The bound is absolute, on the scale of the summed
        # magnitudes Σ|g| (observed |ΔΣg| <= 2.3e-7).
        assert abs(stats[0] - expected[0]) <= GRAD_RTOL * expected[2] + 1e-7, (
            f"{what}: Σg {stats[0]!r} vs upstream {expected[0]!r}")
        assert_rel_close(stats[1], expected[1], GRAD_RTOL, f"{what}: Σg²")
        assert_rel_close(stats[2], expected[2], GRAD_RTOL, f"{what}: Σ|g|")


def test_adversarial_losses_match_upstream(trace):
    """Encoder gscores of both batches, discriminator logits (recipe weights) and the joint-mask
    adversarial losses and background count."""
    # Inputs are fed through placeholders, not tf.constant: Grappler would constant-fold the
    # matcher and can then round some IoUs 1 ulp differently from the kernels run at training time.
    graph = tf.Graph()
    with graph.as_default():
        feeds = {}

        def placeholder(key):
            tensor = tf.compat.v1.placeholder(tf.float32, trace[key].shape)
            feeds[tensor] = trace[key]
            return tensor

        real = [placeholder(f"adv_real_end_point_L{j}") for j in range(1, N_LAYERS + 1)]
        fake = [placeholder(f"adv_fake_end_point_L{j}") for j in range(1, N_LAYERS + 1)]
        logits_real = discriminator_logits(real)
        logits_fake = discriminator_logits(fake)
        layers = anchor_layers(T)
        gscores_real = match_anchors(placeholder("adv_gt_real"), layers, T, prior_scaling=PRIOR_SCALING)["gscores"]
        gscores_fake = match_anchors(placeholder("adv_gt_fake"), layers, T, prior_scaling=PRIOR_SCALING)["gscores"]
        losses = adversarial_losses(logits_real, logits_fake, gscores_real, gscores_fake,
                                    weight=0.1, mask="joint")
        with tf.compat.v1.Session() as session:
            filled = fill_from_recipe(session)
            result = session.run({"logits_real": logits_real, "logits_fake": logits_fake,
                                  "gscores_real": gscores_real, "gscores_fake": gscores_fake,
                                  "losses": losses}, feeds)
    assert sorted(filled) == sorted(f"conv_a{j}_adv/d_conv_adv/{v}"
                                    for j in range(1, N_LAYERS + 1) for v in ("weights", "biases"))

    np.testing.assert_array_equal(result["gscores_real"], trace["adv_gscores_real"])
    np.testing.assert_array_equal(result["gscores_fake"], trace["adv_gscores_fake"])
    assert_norm_close(result["logits_real"], trace["adv_D_logits_real"], 1e-6, "D logits (real)")
    assert_norm_close(result["logits_fake"], trace["adv_D_logits_fake"], 1e-6, "D logits (synthetic)")
    losses = result["losses"]
    assert_rel_close(losses["discriminator_real"], trace["adv_d_loss_real"], LOSS_RTOL, "L_D real")
    assert_rel_close(losses["discriminator_fake"], trace["adv_d_loss_fake"], LOSS_RTOL, "L_D fake")
    assert_rel_close(losses["generator"], trace["adv_g_loss"], LOSS_RTOL, "L_adG")
    assert int(losses["num_background"]) == int(trace["adv_n_joint_background"])
