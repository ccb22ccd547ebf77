"""AherNet training losses, one small pure function of tensors per term (TF1 graph, ``tf.compat.v1``).

Provides
  ``classification_loss``  L_reg, pooled segment/moment classification (paper_vs_code §5.1).
  ``localization_losses``  the code's localization loss set (paper_vs_code §5.2): ``mine_hard_negatives``,
                           then ``actionness_loss``, ``offset_loss``, ``overlap_loss`` and a cell
                           classification term, composed as upstream's ``losses_complete``.
  ``adversarial_losses``   discriminator / generator terms on background anchors (paper_vs_code §5.3).

Paper-vs-code variants are chosen by tables (option value -> function): ``OFFSET_TARGETS``,
``OVERLAP_TARGETS`` and ``CLS_CELLS`` (fields of ``LossConfig``) and ``ADVERSARIAL_MASKS`` (the
``mask`` argument). The first key of each table is upstream's behaviour and the default; an
unknown value raises ``ValueError``. What every value computes, which is upstream's and which is
the paper's reading, the formulas, gradients and edge cases: ``docs/losses.md``.

Inputs: the flattened layouts of ``docs/model_contract.md`` (anchors ``[B, N_anc]`` in (layer,
cell, anchor) order, cells ``[B, N_cell]``, ``N_anc = 3 · N_cell``), float32 logits, int labels in
``[0, K)``. Outputs: float32 scalar losses and int32 counts. Every reduction is an explicit sum and
an explicit division; no variables are created and nothing joins ``GraphKeys.LOSSES``.

Limits: an empty normaliser gives 0 in value and gradient (upstream: NaN); values outside a mask
are selected away with ``tf.where`` (non-finite values inside a mask propagate); which candidates
tie in hard-negative mining is float noise of the softmax; ``label_smoothing`` is not exposed;
``B = 0`` is not supported.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from aher.config.sections import LossConfig
from aher.model.box_coder import PRIOR_SCALING, decode

# paper_vs_code §5.3: background for the adversarial mask is "not > 0.7 and < 0.3".
ADV_POSITIVE_THRESHOLD = 0.7
ADV_BACKGROUND_THRESHOLD = 0.3


class AnchorGeometry(NamedTuple):
    """What the decoding options need: unclipped anchors (float32 [N_anc]) and (p_c, p_w)."""

    centers: tf.Tensor
    widths: tf.Tensor
    prior_scaling: tuple


# ------------------------------------------------------------------------------------------------
# shared primitives
# ------------------------------------------------------------------------------------------------

def _check_option(name, value, allowed):
    """Raises ValueError unless ``value`` is a key of ``allowed`` (message names the option)."""
    if not (isinstance(value, str) and value in allowed):
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def _batch_size(tensor):
    """Dynamic leading dimension of ``tensor`` as (int32, float32) scalars."""
    batch = tf.shape(tensor)[0]
    return batch, tf.cast(batch, tf.float32)


def _count(mask):
    """Number of True entries of a bool mask, as a float32 scalar (a normaliser)."""
    return tf.reduce_sum(tf.cast(mask, tf.float32))


def _masked_sum(mask, values):
    """Σ values over ``mask`` (same shapes); values outside the mask never enter (no 0·inf)."""
    return tf.reduce_sum(tf.where(mask, values, tf.zeros_like(values)))


def _normalised_sum(mask, values, count, weight=None):
    """``weight · Σ_mask values / count`` (weight applied before the division, if given).

    0 when ``count`` is 0, in value and gradient (``tf.math.divide_no_nan``).
    """
    total = _masked_sum(mask, values)
    if weight is not None:
        total = weight * total
    return tf.math.divide_no_nan(total, count)


def _smooth_l1(x):
    """Elementwise smooth L1: 0.5 x² if |x| < 1 else |x| − 0.5 (paper_vs_code §5.2 item 7).

    Same values as upstream's ``0.5 · ((|x| − 1) · min(|x|, 1) + |x|)``.
    """
    absx = tf.abs(x)
    return tf.where(absx < 1.0, 0.5 * tf.square(x), absx - 0.5)


def _cross_entropy(logits, labels):
    """Softmax cross-entropy of logits [..., K] against int labels [...] -> [...]."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32),
                                                          logits=logits)


def _hits(logits, labels):
    """float32 [...]: 1 where the argmax of logits [..., K] equals labels [...], else 0."""
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.cast(tf.equal(predicted, tf.cast(labels, tf.int32)), tf.float32)


def _accuracy(logits, labels):
    """Fraction of rows of logits [..., K] whose argmax equals labels [...] (float32 scalar)."""
    return tf.reduce_mean(_hits(logits, labels))


def _center_width(start, end):
    """(centre, width) of boxes given by their ends."""
    return (start + end) / 2.0, end - start


def _interval_iou(start, end, g_start, g_end):
    """IoU of 1-D intervals (elementwise); 0 where the union is 0."""
    inter = tf.maximum(tf.minimum(end, g_end) - tf.maximum(start, g_start), 0.0)
    union = (end - start) + (g_end - g_start) - inter
    return tf.math.divide_no_nan(inter, union)


def _gt_ends(targets):
    """(start, end) float32 [B, N_anc] of the matched GT boxes ``targets["gboxes"]``."""
    gboxes = tf.cast(targets["gboxes"], tf.float32)
    return gboxes[..., 0], gboxes[..., 1]


def _decode(offsets, geometry):
    """(start, end) of the offsets decoded against the unclipped anchors (paper_vs_code §4.3)."""
    return decode(offsets, geometry.centers, geometry.widths, geometry.prior_scaling)


# ------------------------------------------------------------------------------------------------
# L_reg (paper_vs_code §5.1)
# ------------------------------------------------------------------------------------------------

def classification_loss(logits_per_layer, labels, weight=2.0, scope=None):
    """L_reg: pooled segment/moment classification over all anchor layers (paper_vs_code §5.1).

    Every (layer, sample) pair is one row with its video's label; upstream's mean
    (``tf.losses.softmax_cross_entropy(weights=weight)``) is divided by B once more::

        L_reg = weight · Σ_i CE_i / (L·B) / B        (= mean(CE) / 8 at weight 2, B = 16)

    Args:
      logits_per_layer: non-empty list of L float32 [B, K] pooled classifier logits.
      labels: int [B], one class index per video, in [0, K).
      weight: scalar loss weight (upstream ``cls_weights`` = 2.0); 0 gives 0.
      scope: optional name scope.

    Returns:
      (loss, accuracy): float32 scalars; accuracy over the L·B rows.
    """
    if not logits_per_layer:
        raise ValueError("classification_loss needs at least one layer of logits")
    with tf.compat.v1.name_scope(scope, "classification_loss", list(logits_per_layer) + [labels]):
        num_layers = len(logits_per_layer)
        logits = tf.concat(logits_per_layer, axis=0)                      # [L*B, K], layer-major
        rows_labels = tf.tile(labels, [num_layers])                        # [L*B]
        _, batch = _batch_size(labels)
        ce = _cross_entropy(logits, rows_labels)                           # [L*B]
        mean_ce = tf.reduce_sum(ce) / (float(num_layers) * batch)
        loss = tf.identity(weight * mean_ce / batch, name="loss")
        accuracy = tf.identity(_accuracy(logits, rows_labels), name="accuracy")
        return loss, accuracy


# ------------------------------------------------------------------------------------------------
# localization terms (paper_vs_code §5.2); positive / negative are bool [B, N_anc]
# ------------------------------------------------------------------------------------------------

def selected_count(positive, negative):
    """M = #(positives ∪ selected negatives): float32 normaliser of actionness and offset."""
    return _count(tf.logical_or(positive, negative))


def actionness_loss(proplogits, positive, negative, num_selected, weight):
    """Actionness: ``weight · Σ_{pos ∪ neg} CE(proplogits, 1[pos]) / M``.

    ``proplogits`` float32 [B, N_anc, 2] (index 1 = foreground); ``num_selected`` = M from
    ``selected_count``.
    """
    ce = _cross_entropy(proplogits, tf.cast(positive, tf.int32))         # [B, N_anc]
    return _normalised_sum(tf.logical_or(positive, negative), ce, num_selected, weight)


def encoded_offset_residual(offsets, targets, geometry, positive):
    """Upstream's L_of argument: ``Δ − t``, offsets minus ``targets["glocalisations"]``.

    [B, N_anc, 2] in the SSD-encoded space; ``geometry`` and ``positive`` are unused (the
    ``OFFSET_TARGETS`` signature).
    """
    del geometry, positive
    return offsets - targets["glocalisations"]


def decoded_offset_residual(offsets, targets, geometry, positive):
    """Paper's L_of argument: ``[(c − g_c) / w_a, (w − g_w) / w_a]``, [B, N_anc, 2].

    ``(c, w)``: the offsets decoded against the unclipped anchors of ``geometry``; ``(g_c, g_w)``:
    ``targets["gboxes"]``; ``w_a``: the anchor width. 0 off the positives, so unused gboxes reach
    neither the value nor the gradient.
    """
    pred_c, pred_w = _center_width(*_decode(offsets, geometry))
    g_c, g_w = _center_width(*_gt_ends(targets))
    widths = geometry.widths
    residual = tf.stack([(pred_c - g_c) / widths, (pred_w - g_w) / widths], axis=-1)
    return tf.where(positive[..., tf.newaxis], residual, tf.zeros_like(residual))


def offset_loss(residual, positive, num_selected, weight):
    """L_of: ``weight · Σ_pos [SL1(r_c) + SL1(r_w)] / M`` for a residual [B, N_anc, 2]."""
    sl1 = tf.reduce_sum(_smooth_l1(residual), axis=-1)                   # [B, N_anc]
    return _normalised_sum(positive, sl1, num_selected, weight)


def overlap_valid(giou):
    """bool [B, N_anc]: the anchors whose overlap is regressed, ``giou ≠ −1``."""
    return tf.not_equal(giou, -1.0)


def anchor_overlap_target(offsets, targets, geometry, valid):
    """Upstream's y_ov target: ``targets["giou"]``, IoU of the clipped default anchor with its
    best GT. ``offsets``, ``geometry`` and ``valid`` are unused (the ``OVERLAP_TARGETS``
    signature)."""
    del offsets, geometry, valid
    return targets["giou"]


def refined_overlap_target(offsets, targets, geometry, valid):
    """Paper's y_ov target: IoU of the decoded, unclipped box with ``targets["gboxes"]``.

    A constant for differentiation (``tf.stop_gradient`` on the decoded box); 0 off ``valid``.
    """
    start, end = _decode(offsets, geometry)
    g_start, g_end = _gt_ends(targets)
    iou = _interval_iou(tf.stop_gradient(start), tf.stop_gradient(end), g_start, g_end)
    return tf.where(valid, iou, tf.zeros_like(iou))


def overlap_loss(overlap, iou_target, valid, weight):
    """L_ov: ``weight · Σ_valid (y_ov − target)² / #valid``; ``overlap`` is y_ov [B, N_anc]."""
    return _normalised_sum(valid, tf.square(overlap - iou_target), _count(valid), weight)


def cell_labels(anchor_logits, labels):
    """int32 [B, N_cell]: the video's label (``labels`` [B]) broadcast to every cell."""
    return tf.broadcast_to(tf.cast(labels, tf.int32)[:, tf.newaxis], tf.shape(anchor_logits)[:2])


def foreground_cells(positive, anchor_logits):
    """bool [B, N_cell]: cells holding a positive anchor (anchor i lies in cell i // 3).

    Groups the anchors by reshaping [B, N_anc] to [B, N_cell, N_anc / N_cell].
    """
    cells_shape = tf.concat([tf.shape(anchor_logits)[:2], [-1]], axis=0)
    return tf.reduce_any(tf.reshape(positive, cells_shape), axis=-1)


def all_cells_classification(anchor_logits, labels, positive, weight):
    """Upstream's L_cls over every cell: (``weight · Σ_cells CE / B``, accuracy over all cells).

    ``anchor_logits`` float32 [B, N_cell, K], ``labels`` int [B]; ``positive`` is unused (the
    ``CLS_CELLS`` signature).
    """
    del positive
    label = cell_labels(anchor_logits, labels)
    _, batch = _batch_size(anchor_logits)
    loss = weight * tf.reduce_sum(_cross_entropy(anchor_logits, label)) / batch
    return loss, _accuracy(anchor_logits, label)


def foreground_cells_classification(anchor_logits, labels, positive, weight):
    """Paper-reading L_cls: (``weight · Σ_fg CE / #fg``, accuracy over the same cells).

    fg = ``foreground_cells(positive, anchor_logits)``; both values are 0 without such a cell.
    """
    label = cell_labels(anchor_logits, labels)
    foreground = foreground_cells(positive, anchor_logits)
    num_cells = _count(foreground)
    loss = _normalised_sum(foreground, _cross_entropy(anchor_logits, label), num_cells, weight)
    accuracy = _normalised_sum(foreground, _hits(anchor_logits, label), num_cells)
    return loss, accuracy


# Option tables of LossConfig (value -> function); the first key is upstream's and the default.
OFFSET_TARGETS = {"encoded": encoded_offset_residual, "decoded": decoded_offset_residual}
OVERLAP_TARGETS = {"anchor": anchor_overlap_target, "refined": refined_overlap_target}
CLS_CELLS = {"all": all_cells_classification, "foreground": foreground_cells_classification}
# The (field, value) pairs that decode offsets, hence need the anchors and targets["gboxes"].
GEOMETRY_OPTIONS = (("offset_target", "decoded"), ("overlap_target", "refined"))


# ------------------------------------------------------------------------------------------------
# hard-negative mining (paper_vs_code §5.2 items 1-3)
# ------------------------------------------------------------------------------------------------

def negative_budget(positive, candidate, negative_ratio):
    """int32 scalar ``n_neg = min(int(negative_ratio · n_pos) + B, #cand)`` (B dynamic)."""
    batch, _ = _batch_size(positive)
    n_pos = _count(positive)
    n_cand = tf.reduce_sum(tf.cast(candidate, tf.int32))
    n_neg = tf.cast(negative_ratio * n_pos, tf.int32) + batch
    return tf.maximum(tf.minimum(n_neg, n_cand), 0)


def hardest_negatives(proplogits, candidate, n_neg):
    """bool [B, N_anc]: the candidates with ``p_bg < τ`` (strict), over the whole batch.

    ``p_bg = softmax(proplogits)[..., 0]`` on candidates and 1.0 elsewhere; ``τ`` = the
    ``n_neg``-th smallest ``p_bg`` of all B·N_anc anchors. None when ``n_neg = 0`` (``top_k`` is
    not asked for k = 0).
    """
    p_bg = tf.nn.softmax(proplogits, axis=-1)[..., 0]                      # [B, N_anc]
    p_bg = tf.where(candidate, p_bg, tf.ones_like(p_bg))
    flat = tf.reshape(p_bg, [-1])
    k = tf.minimum(tf.maximum(n_neg, 1), tf.size(flat))                    # guard k = 0
    neg_values, _ = tf.nn.top_k(-flat, k=k, sorted=True)
    tau = -neg_values[k - 1]                                               # n_neg-th smallest
    negative = tf.logical_and(candidate, p_bg < tau)
    return tf.logical_and(negative, n_neg > 0)


def mine_hard_negatives(gscores, proplogits, config=LossConfig(), scope=None):
    """Positives and hard-mined negatives over the whole batch (paper_vs_code §5.2 items 1-3).

    Positives: ``gscores > match_threshold``; candidates: the other anchors with ``gscores <
    neg_match_threshold``; negatives: ``hardest_negatives`` of the candidates with the count of
    ``negative_budget`` (at most ``n_neg − 1`` are selected: docs/losses.md).

    Args:
      gscores: float32 [B, N_anc], best IoU of each anchor with a GT box.
      proplogits: float32 [B, N_anc, 2], actionness logits (index 1 = foreground).
      config: LossConfig.
      scope: optional name scope.

    Returns:
      (positive, negative, n_neg): bool [B, N_anc], bool [B, N_anc], int32 scalar (the requested
      count before the strict comparison).
    """
    with tf.compat.v1.name_scope(scope, "mine_hard_negatives", [gscores, proplogits]):
        positive = gscores > config.match_threshold
        candidate = tf.logical_and(tf.logical_not(positive), gscores < config.neg_match_threshold)
        n_neg = negative_budget(positive, candidate, config.negative_ratio)
        return positive, hardest_negatives(proplogits, candidate, n_neg), n_neg


# ------------------------------------------------------------------------------------------------
# localization loss set: composition
# ------------------------------------------------------------------------------------------------

def anchor_geometry(config, targets, anchor_centers, anchor_widths, prior_scaling):
    """AnchorGeometry when an option of ``config`` decodes offsets (GEOMETRY_OPTIONS), else None.

    Raises ValueError naming the option(s) when ``targets["gboxes"]`` or the anchors are missing.
    """
    option = " and ".join(f"LossConfig.{field}='{value}'" for field, value in GEOMETRY_OPTIONS
                          if getattr(config, field) == value)
    if not option:
        return None
    if "gboxes" not in targets:
        raise ValueError(f"{option} needs targets['gboxes'] (from matcher.match_anchors)")
    if anchor_centers is None or anchor_widths is None:
        raise ValueError(f"{option} needs the anchors: pass anchor_centers and anchor_widths "
                         "(unclipped, [N_anc]) to localization_losses")
    return AnchorGeometry(tf.cast(tf.convert_to_tensor(anchor_centers), tf.float32),
                          tf.cast(tf.convert_to_tensor(anchor_widths), tf.float32), prior_scaling)


def _localization_outputs(actionness, offset, overlap, classification, accuracy, positive,
                          negative):
    """The named output dict of ``localization_losses``."""
    prop = actionness + offset + overlap
    return {
        "actionness": tf.identity(actionness, name="actionness_loss"),
        "offset": tf.identity(offset, name="offset_loss"),
        "overlap": tf.identity(overlap, name="overlap_loss"),
        "classification": tf.identity(classification, name="classification_loss"),
        "prop": tf.identity(prop, name="prop_loss"),
        "total": tf.identity(prop + classification, name="total_loss"),
        "accuracy": tf.identity(accuracy, name="accuracy"),
        "num_positive": tf.reduce_sum(tf.cast(positive, tf.int32), name="num_positive"),
        "num_negative": tf.reduce_sum(tf.cast(negative, tf.int32), name="num_negative"),
    }


def localization_losses(anchor_logits, labels, proplogits, offsets, overlap, targets,
                        config=LossConfig(), scope=None, anchor_centers=None, anchor_widths=None,
                        prior_scaling=PRIOR_SCALING):
    """The code's localization loss set (paper_vs_code §5.2, ``losses_complete``), options per config.

    Args:
      anchor_logits: float32 [B, N_cell, K]; labels: int [B] in [0, K), one per video.
      proplogits: float32 [B, N_anc, 2] actionness logits; offsets: float32 [B, N_anc, 2],
        (Δc, Δw) encoded as in paper_vs_code §4.2; overlap: float32 [B, N_anc], y_ov after the sigmoid.
      targets: dict from ``matcher.match_anchors``: "gscores", "glocalisations", "giou" (−1 =
        unused), and "gboxes" when an option decodes (GEOMETRY_OPTIONS).
      config: LossConfig; scope: optional name scope.
      anchor_centers, anchor_widths, prior_scaling: unclipped anchors [N_anc] and the encoding's
        (p_c, p_w), used only by the options that decode (ValueError when missing).

    Returns:
      dict of float32 scalars "actionness", "offset", "overlap", "classification", "prop" (the
      first three summed), "total" (prop + classification), "accuracy" (over the cells of the
      classification term); int32 "num_positive", "num_negative" (selected negatives).
    """
    values = [anchor_logits, labels, proplogits, offsets, overlap, targets["gscores"],
              targets["glocalisations"], targets["giou"]]
    with tf.compat.v1.name_scope(scope, "localization_losses", values):
        geometry = anchor_geometry(config, targets, anchor_centers, anchor_widths, prior_scaling)
        positive, negative, _ = mine_hard_negatives(targets["gscores"], proplogits, config)
        num_selected = selected_count(positive, negative)
        with tf.compat.v1.name_scope("actionness"):
            actionness = actionness_loss(proplogits, positive, negative, num_selected,
                                         config.actionness_weight)
        with tf.compat.v1.name_scope("offset"):
            residual = OFFSET_TARGETS[config.offset_target](offsets, targets, geometry, positive)
            offset = offset_loss(residual, positive, num_selected, config.offset_weight)
        with tf.compat.v1.name_scope("overlap"):
            valid = overlap_valid(targets["giou"])
            iou_target = OVERLAP_TARGETS[config.overlap_target](offsets, targets, geometry, valid)
            overlap_term = overlap_loss(overlap, iou_target, valid, config.overlap_weight)
        with tf.compat.v1.name_scope("classification"):
            classification, accuracy = CLS_CELLS[config.cls_cells](anchor_logits, labels, positive,
                                                                   config.cls_weight)
        return _localization_outputs(actionness, offset, overlap_term, classification, accuracy,
                                     positive, negative)


# ------------------------------------------------------------------------------------------------
# adversarial terms (paper_vs_code §5.3, paper_vs_code §11.1 item 10)
# ------------------------------------------------------------------------------------------------

def background_anchors(gscores, positive_threshold=ADV_POSITIVE_THRESHOLD,
                       background_threshold=ADV_BACKGROUND_THRESHOLD):
    """bool: ``not gscores > positive_threshold and gscores < background_threshold``."""
    return tf.logical_and(tf.logical_not(gscores > positive_threshold),
                          gscores < background_threshold)


def joint_background(gscores_real, gscores_fake, positive_threshold, background_threshold):
    """Upstream's mask: ``bg_real AND bg_fake`` position-wise, for both batches -> (mask, mask)."""
    mask = tf.logical_and(
        background_anchors(gscores_real, positive_threshold, background_threshold),
        background_anchors(gscores_fake, positive_threshold, background_threshold))
    return mask, mask


def separate_background(gscores_real, gscores_fake, positive_threshold, background_threshold):
    """Paper's masks (b_u, b_m): each batch's own background -> (bg_real, bg_fake)."""
    return (background_anchors(gscores_real, positive_threshold, background_threshold),
            background_anchors(gscores_fake, positive_threshold, background_threshold))


def _masked_bce(logits, target, mask, weight):
    """``weight · Σ_mask BCE(logits, target) / #mask``; 0 for an empty mask."""
    bce = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), float(target)), logits=logits)
    return _normalised_sum(mask, bce, _count(mask), weight)


def discriminator_losses(d_logits_real, d_logits_fake, mask_real, mask_fake, weight):
    """L_adD terms: (``BCE(D_real, 1)`` over mask_real, ``BCE(D_fake, 0)`` over mask_fake).

    Each is ``weight · Σ_mask BCE / #mask``, 0 for an empty mask.
    """
    return (_masked_bce(d_logits_real, 1.0, mask_real, weight),
            _masked_bce(d_logits_fake, 0.0, mask_fake, weight))


def generator_loss(d_logits_fake, mask_fake, weight):
    """L_adG, non-saturating: ``weight · Σ_mask BCE(D_fake, 1) / #mask``, 0 for an empty mask."""
    return _masked_bce(d_logits_fake, 1.0, mask_fake, weight)


def _joint_counts(mask_real, mask_fake):
    """Count of the joint mask: {"num_background": n} (both masks are the joint one)."""
    del mask_fake
    return {"num_background": tf.reduce_sum(tf.cast(mask_real, tf.int32), name="num_background")}


def _separate_counts(mask_real, mask_fake):
    """Counts of the separate masks: "num_background_real", "num_background_fake", their sum
    "num_background"."""
    count_real = tf.reduce_sum(tf.cast(mask_real, tf.int32), name="num_background_real")
    count_fake = tf.reduce_sum(tf.cast(mask_fake, tf.int32), name="num_background_fake")
    return {"num_background_real": count_real, "num_background_fake": count_fake,
            "num_background": tf.add(count_real, count_fake, name="num_background")}


# Option table of adversarial_losses(mask=...); the first key is upstream's and the default.
ADVERSARIAL_MASKS = {"joint": joint_background, "separate": separate_background}
_BACKGROUND_COUNTS = {"joint": _joint_counts, "separate": _separate_counts}


def adversarial_losses(d_logits_real, d_logits_fake, gscores_real, gscores_fake, weight=0.1,
                       positive_threshold=ADV_POSITIVE_THRESHOLD,
                       background_threshold=ADV_BACKGROUND_THRESHOLD, scope=None, mask="joint"):
    """Discriminator and generator losses on background anchors (paper_vs_code §5.3, paper_vs_code §11.1 item 10).

    ``mask`` is a key of ADVERSARIAL_MASKS: "joint" (upstream, default; sample i of both batches
    paired) or "separate" (paper; the batches need not be paired). docs/losses.md.

    Args:
      d_logits_real, d_logits_fake: float32 [B, N_anc], discriminator logits on the real
        untrimmed and on the synthetic batch.
      gscores_real, gscores_fake: float32 [B, N_anc], matching gscores of those batches.
      weight: scalar (upstream dis_weights = gen_weights = 0.1).
      positive_threshold, background_threshold: the 0.7 / 0.3 of ``background_anchors``.
      scope: optional name scope; mask: "joint" | "separate".

    Returns:
      dict: float32 scalars "discriminator_real", "discriminator_fake", "discriminator" (their
      sum, L_adD), "generator" (L_adG); int32 "num_background" (n with "joint", n_real + n_fake
      with "separate", which adds "num_background_real" and "num_background_fake").
    """
    _check_option("adversarial_losses mask", mask, ADVERSARIAL_MASKS)
    values = [d_logits_real, d_logits_fake, gscores_real, gscores_fake]
    with tf.compat.v1.name_scope(scope, "adversarial_losses", values):
        mask_real, mask_fake = ADVERSARIAL_MASKS[mask](gscores_real, gscores_fake,
                                                       positive_threshold, background_threshold)
        d_real, d_fake = discriminator_losses(d_logits_real, d_logits_fake, mask_real, mask_fake,
                                              weight)
        generator = generator_loss(d_logits_fake, mask_fake, weight)
        result = {
            "discriminator_real": tf.identity(d_real, name="discriminator_real_loss"),
            "discriminator_fake": tf.identity(d_fake, name="discriminator_fake_loss"),
            "discriminator": tf.identity(d_real + d_fake, name="discriminator_loss"),
            "generator": tf.identity(generator, name="generator_loss"),
        }
        result.update(_BACKGROUND_COUNTS[mask](mask_real, mask_fake))
        return result
