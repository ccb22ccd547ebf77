"""Building blocks shared by the trainers' graphs: the paper_vs_code §5.2 loss set and supervised sub-steps.

Contract: ``localization_loss_set(net, loc, labels, targets, loss_config)`` is the loss set of a
Loc branch output (paper_vs_code §5.2) with the config's paper/upstream options;
``classification_step`` / ``localization_step`` build a named sub-step (its own name scope and
optimizers) on given features for the fully-supervised trainer.
Limits: graph construction only.
"""

import tensorflow as tf

from aher.model import losses as losses_lib
from aher.model.anchors import flat_anchors
from aher.model.matcher import match_anchors
from aher.train.loop import SubStep
from aher.train.optim import adam, two_adams

LOC_FETCHES = ("actionness", "offset", "overlap", "classification", "total", "accuracy")


def localization_loss_set(net, loc, labels, targets, loss_config):
    """The paper_vs_code §5.2 loss set of a Loc branch output (``net.localize``) against matched ``targets``."""
    centers, widths = flat_anchors(net.layers)
    return losses_lib.localization_losses(loc["anchor_logits"], labels, loc["proplogits"], loc["offsets"],
                                          loc["overlap"], targets, loss_config, anchor_centers=centers,
                                          anchor_widths=widths, prior_scaling=net.config.prior_scaling)


def anchor_targets(net, gt):
    """Matched training targets of every anchor for GT boxes ``gt`` [B, G, 2] (grid units)."""
    model = net.config
    return match_anchors(gt, net.layers, model.temporal_length, prior_scaling=model.prior_scaling)


def localization_step(net, features, gt, labels, label_space, config, lr, var_list, name):
    """The paper_vs_code §5.2 loss set on ``features`` and its two-Adam update over ``var_list``: a SubStep."""
    with tf.compat.v1.name_scope(name):
        loc = net.localize(features, label_space)
        losses = localization_loss_set(net, loc, labels, anchor_targets(net, gt), config.loss)
        op = two_adams(losses, var_list, lr, config.train, name)
    return SubStep(name, op, {k: losses[k] for k in LOC_FETCHES})


def classification_step(net, features, labels, label_space, config, lr, var_list, name):
    """L_reg (paper_vs_code §5.1) on pooled features and its Adam update over ``var_list``."""
    with tf.compat.v1.name_scope(name):
        cls = net.classify(features, label_space)
        loss, accuracy = losses_lib.classification_loss(cls["logits"], labels, weight=config.loss.reg_weight)
        op = adam(lr, config.train, f"{name}_adam").minimize(loss, var_list=var_list)
    return SubStep(name, op, {"loss": loss, "accuracy": accuracy})
