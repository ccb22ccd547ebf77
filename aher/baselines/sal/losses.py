"""SAL losses (sal_paper_vs_code §6): every term of the sal_paper_vs_code §6.7 total, each one function, with its weight.

    L = CE_mil + 5 MSE(a_r, a_f) + 10 KL_bg + GCEm(a_f) + GCEm(a_r)
        + 3 [CE(s) + CE(s_f) + CE(s_r)] + GCEm(ã_f) + GCEm(ã_r)

Contract: ``sal_losses(model, out, targets, labels, weights)`` (``weights``: the config's ``loss``
section, :class:`aher.baselines.sal.config.LossWeights`) takes a training forward pass of
:class:`aher.baselines.sal.model.SAL`, its AAL targets and the video labels (multi-hot
``[B, C]``) and returns ``{"mil", "background", "gce", "mixup", "consistency", "second_order",
"total"}`` (scalars; unweighted terms, ``total`` weighted).  Terms that an ablation switch or
the single-stream mode removes are absent from the dict and from the total (``aal.enabled:
false``: no ``gce`` / ``mixup``, and ``targets`` may be empty).
Limits: no regularisation (weight decay is the trainer's: coupled L2 added to the gradients,
sal_paper_vs_code §7), no optimizer.
"""

from __future__ import annotations

import math

import tensorflow as tf

from aher.baselines.sal.config import LossWeights
from aher.baselines.sal.model import mil_k, topk_mean


def label_ce(logits, labels):
    """sal_paper_vs_code §6.1 CE(z, y) = -mean_b sum_c ŷ_c log softmax(z)_c with ŷ = y / sum(y) (+1e-10, upstream)."""
    with tf.name_scope("label_ce"):
        y_hat = tf.math.divide_no_nan(labels, tf.reduce_sum(labels, axis=-1, keepdims=True)) + 1e-10
        return -tf.reduce_mean(tf.reduce_sum(y_hat * tf.nn.log_softmax(logits, axis=-1), axis=-1))


def mil_loss(model, out, labels):
    """sal_paper_vs_code §6.1: CE of the top-k MIL video logits (mean raw CAS over the top-k of the combined score)."""
    with tf.name_scope("mil_loss"):
        return label_ce(model.mil_scores(out), labels)


def background_loss(model, out):
    """sal_paper_vs_code §6.2: KL(U || softmax(z_bg)) averaged over videos; z_bg = mean CAS_bg over the top-k
    steps per class ranked by softmax_c(CAS_bg)."""
    with tf.name_scope("background_loss"):
        cas_bg = out["cas_bg"]
        k = mil_k(tf.shape(cas_bg)[1], model.cfg.topk_divisor)
        z_bg = topk_mean(cas_bg, tf.nn.softmax(cas_bg, axis=-1), k)
        num_classes = model.cfg.num_classes
        log_p = tf.nn.log_softmax(z_bg, axis=-1)
        kl = -math.log(num_classes) - tf.reduce_mean(log_p, axis=-1)     # sum_c U_c (log U_c - log p_c)
        return tf.reduce_mean(kl)


def masked_gce(actionness, labels, mask, q=0.5, eps=1e-7):
    """sal_paper_vs_code §6.3 GCEm(a, y, m), all [B, T]: mean_b(pos) + mean_b(neg) with

    pos = sum_t m y (1 - (a + eps)^q) / q / (sum_t m y + eps),
    neg = sum_t m (1 - y) (1 - (1 - a + eps)^q) / q / (sum_t m (1 - y) + eps).
    """
    with tf.name_scope("masked_gce"):
        pos_w, neg_w = mask * labels, mask * (1.0 - labels)
        pos = tf.reduce_sum(pos_w * (1.0 - tf.pow(actionness + eps, q)) / q, axis=1) / (tf.reduce_sum(pos_w, 1) + eps)
        neg = (tf.reduce_sum(neg_w * (1.0 - tf.pow(1.0 - actionness + eps, q)) / q, axis=1)
               / (tf.reduce_sum(neg_w, 1) + eps))
        return tf.reduce_mean(pos) + tf.reduce_mean(neg)


def consistency_loss(out):
    """sal_paper_vs_code §6.5: MSE(a_r, a_f) over all B*T steps, no stop-gradient on either side."""
    with tf.name_scope("consistency_loss"):
        return tf.reduce_mean(tf.square(out["streams"]["rgb"] - out["streams"]["flow"]))


def second_order_loss(out, labels):
    """sal_paper_vs_code §6.6: CE(s, y) + sum over streams CE(s_s, y) (one shared fc classifier)."""
    with tf.name_scope("second_order_loss"):
        total = label_ce(out["bilinear_logits"], labels)
        for logits in out["stream_bilinear_logits"].values():
            total += label_ce(logits, labels)
        return total


def sal_losses(model, out, targets, labels, weights: LossWeights):
    """Every sal_paper_vs_code §6 term of a training pass and their weighted sum (``total``)."""
    cfg = model.cfg
    with tf.name_scope("sal_losses"):
        terms = {"mil": (weights.mil, mil_loss(model, out, labels)),
                 "background": (weights.background, background_loss(model, out))}
        if cfg.aal:
            terms["gce"] = (weights.gce, tf.add_n([masked_gce(a, targets["labels"], targets["mask"], weights.gce_q)
                                                   for a in out["streams"].values()]))
        if cfg.mixup:
            terms["mixup"] = (weights.mixup, tf.add_n([
                masked_gce(a, targets["mixed_labels"], targets["mixed_mask"], weights.gce_q)
                for a in out["mixed_streams"].values()]))
        if len(out["streams"]) == 2:
            terms["consistency"] = (weights.consistency, consistency_loss(out))
        if cfg.msl:
            terms["second_order"] = (weights.second_order, second_order_loss(out, labels))
        result = {name: value for name, (_, value) in terms.items()}
        result["total"] = tf.add_n([w * value for w, value in terms.values()], name="total")
        return result
