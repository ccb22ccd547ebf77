"""AherNet training losses as pure functions of tensors (TF1 graph style, ``tf.compat.v1``).

Three families, each a faithful re-statement of what the released code computes (reference
§5.1-§5.3), with one deliberate deviation: empty normalisers give 0, never NaN (see "Limits").

``classification_loss``   L_reg, pooled segment/moment classification (reference §5.1).
``localization_losses``   the code's localization loss set: actionness with hard-negative mining,
                          offsets, overlap, anchor-level classification (reference §5.2).
``adversarial_losses``    discriminator / generator losses on joint background anchors
                          (reference §5.3).

Equation numbers: the reference cites no paper equation for any loss term, so none is given
here. The only related paper equation is Eq. 5 (box decoding with α1 = α2 = 1, reference §4.3):
the paper defines L_of on decoded boxes, the code (and this module) on SSD-encoded offsets with
prior scaling 0.1 (reference §11.1 items 2-3).

Contract
--------
* Flattened layouts of ``docs/model_contract.md``: anchors ``[B, N_anc]`` in (layer, cell,
  anchor) order, cells ``[B, N_cell]`` in (layer, cell) order, ``N_anc = 3 * N_cell``. The cell of
  anchor ``i`` is ``i // 3``; the losses never need it because labels are per video (``[B]``,
  broadcast to every cell).
* Every reduction is an explicit sum followed by an explicit division; nothing is added to the
  ``tf.compat.v1.GraphKeys.LOSSES`` collection and no variables are created.
* Values, at the reference's hyper-parameters (``LossConfig()``), with ``M = #(pos ∪ neg)``:

  =================  ===========================================================================
  L_reg              ``weight · Σ_rows CE / (L·B) / B`` (SUM_BY_NONZERO_WEIGHTS, then ÷ B again)
  actionness         ``Σ_{pos ∪ neg} 2 · CE(proplogits, 1[pos]) / M``   (class 1 = foreground)
  offset (L_of)      ``Σ_pos 1 · [SL1(Δc − t_c) + SL1(Δw − t_w)] / M``
  overlap (L_ov)     ``Σ_{giou ≠ −1} 25 · (y_ov − giou)² / #(giou ≠ −1)``
  classification     ``Σ_{all cells} 2 · CE(anchor_logits, label) / B``   (L_cls, not a mean)
  prop               actionness + offset + overlap   (upstream ``Prop_loss``, the code's L_prop)
  total              prop + classification
  =================  ===========================================================================

* Hard-negative mining runs over the whole batch at once (all ``B · N_anc`` anchors), as upstream
  does after flattening: ``n_neg = min(int(negative_ratio · n_pos) + B, #cand)``, ``τ`` = the
  ``n_neg``-th smallest background probability, negatives = candidates with ``p_bg < τ``
  (strictly). Consequence, kept on purpose: at most ``n_neg − 1`` negatives are selected, fewer
  when several candidates tie with ``τ`` (none at all when ``n_neg`` or more candidates have
  ``p_bg = 0``). ``B`` is the dynamic batch size (upstream hard-codes 16).
* Gradients: the masks (positives, mined negatives, ``giou ≠ −1``, background) are boolean and
  carry no gradient; the normalisers ``M``, ``#(giou ≠ −1)``, ``n`` and ``B`` are constants for
  differentiation.

Limits
------
* **Empty normalisers** (deviation from upstream, which divides by zero and returns NaN):
  ``M = 0`` → actionness = offset = 0; ``#(giou ≠ −1) = 0`` → overlap = 0; adversarial ``n = 0`` →
  all four adversarial losses = 0. Implemented with ``tf.math.divide_no_nan``, whose gradient is
  0 as well, so an empty mask yields finite zeros in both the value and the gradient. ``M = 0``
  happens only when there is no positive and no negative candidate.
* Masked terms are selected with ``tf.where``, not multiplied by a 0/1 mask, so non-finite values
  on anchors outside a mask (e.g. garbage targets of unmatched anchors) cannot leak in as
  ``0 · inf = NaN``. Non-finite values *inside* a mask propagate.
* Labels must lie in ``[0, K)`` (sparse cross-entropy; an out-of-range label is an error on CPU).
  Videos whose label is unknown (``-1`` in the evaluation stream) must not reach these losses.
  Upstream's encoder leaves the cell labels at 0 for a video without any valid GT box
  (reference §4.1); here the given label is used as is, so that quirk is the caller's choice.
* Ties with ``τ`` are bit-exact comparisons of softmax outputs. TensorFlow's CPU softmax does not
  return bit-identical values for identical logit rows at different positions of a tensor (the
  vectorised and the remainder code paths differ in the last ulp: a ``[0, 0]`` row gives 0.5 or
  0.49999997), so apart from saturated values (``p_bg = 0`` exactly) which near-equal candidates
  count as ties is float noise, as it was upstream. The rule is reproduced; the tie set is not a
  stable property of the inputs.
* ``label_smoothing`` (accepted, never applied upstream) is not exposed.
* Inputs are float32 logits/probabilities; no shape is hard-coded except the trailing 2 of
  ``proplogits`` / ``offsets``. An empty batch (``B = 0``) is not supported.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

# Reference §5.3: background for the adversarial mask is "not > 0.7 and < 0.3".
ADV_POSITIVE_THRESHOLD = 0.7
ADV_BACKGROUND_THRESHOLD = 0.3


@dataclass(frozen=True)
class LossConfig:
    """Hyper-parameters of the localization loss set (reference §5.2, values used in training).

    match_threshold:     positives are anchors with gscores > match_threshold.
    neg_match_threshold: negative candidates are non-positives with gscores < neg_match_threshold.
    negative_ratio:      n_neg = min(int(negative_ratio * n_pos) + B, #cand); must be >= 0.
    actionness_weight:   weight of the actionness cross-entropy (upstream cls_weights).
    offset_weight:       weight of the smooth-L1 offset loss (upstream loss_alpha).
    cls_weight:          weight of the anchor-level classification loss (upstream cls_weights).
    overlap_weight:      weight of the overlap regression (upstream iou_weights).
    """

    match_threshold: float = 0.8
    neg_match_threshold: float = 0.3
    negative_ratio: float = 1.0
    actionness_weight: float = 2.0
    offset_weight: float = 1.0
    cls_weight: float = 2.0
    overlap_weight: float = 25.0


def _batch_size(tensor):
    """Dynamic leading dimension of ``tensor`` as (int32, float32) scalars."""
    batch = tf.shape(tensor)[0]
    return batch, tf.cast(batch, tf.float32)


def _masked_sum(mask, values):
    """Σ values over ``mask`` (same shapes); values outside the mask never enter (no 0·inf)."""
    return tf.reduce_sum(tf.where(mask, values, tf.zeros_like(values)))


def _smooth_l1(x):
    """Elementwise smooth L1: 0.5 x² if |x| < 1 else |x| − 0.5 (reference §5.2 item 7).

    Same values as upstream's ``0.5 · ((|x| − 1) · min(|x|, 1) + |x|)``.
    """
    absx = tf.abs(x)
    return tf.where(absx < 1.0, 0.5 * tf.square(x), absx - 0.5)


def _cross_entropy(logits, labels):
    """Softmax cross-entropy of logits [..., K] against int labels [...] -> [...]."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32),
                                                          logits=logits)


def _accuracy(logits, labels):
    """Fraction of rows of logits [..., K] whose argmax equals labels [...] (float32 scalar)."""
    hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), tf.cast(labels, tf.int32))
    return tf.reduce_mean(tf.cast(hits, tf.float32))


def classification_loss(logits_per_layer, labels, weight=2.0, scope=None):
    """L_reg: pooled segment/moment classification over all anchor layers (reference §5.1).

    Every (layer, sample) pair is one row with the video's label. Upstream feeds the L·B rows to
    ``tf.losses.softmax_cross_entropy(weights=weight)`` (SUM_BY_NONZERO_WEIGHTS, i.e. a scalar
    weight gives ``weight · mean``) and divides the result by the batch size once more::

        L_reg = weight · Σ_i CE_i / (L·B) / B        (= mean(CE) / 8 at weight 2, B = 16)

    As with SUM_BY_NONZERO_WEIGHTS, ``weight = 0`` gives 0.

    Args:
      logits_per_layer: list of L float32 tensors [B, K] (pooled classifier logits per layer).
      labels: int tensor [B], one class index per video, in [0, K).
      weight: scalar loss weight (upstream ``cls_weights`` = 2.0).
      scope: optional name scope.

    Returns:
      (loss, accuracy): float32 scalars; accuracy = fraction of the L·B rows whose argmax equals
      the label.
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


def mine_hard_negatives(gscores, proplogits, config=LossConfig(), scope=None):
    """Positives and hard-mined negatives over the whole batch (reference §5.2 items 1-3).

    ``p_bg = softmax(proplogits)[..., 0]`` on candidates and 1.0 elsewhere; ``n_neg = min(
    int(negative_ratio · n_pos) + B, #cand)``; ``τ`` = the ``n_neg``-th smallest ``p_bg`` over all
    B·N_anc anchors; negatives = candidates with ``p_bg < τ`` (strict). With ``n_neg = 0``
    (which for B ≥ 1 means no candidate) no negative is selected and ``top_k`` is not asked for
    k = 0 (upstream would fail there).

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
        batch, _ = _batch_size(gscores)
        positive = gscores > config.match_threshold
        candidate = tf.logical_and(tf.logical_not(positive), gscores < config.neg_match_threshold)
        n_pos = tf.reduce_sum(tf.cast(positive, tf.float32))
        n_cand = tf.reduce_sum(tf.cast(candidate, tf.int32))
        n_neg = tf.cast(config.negative_ratio * n_pos, tf.int32) + batch
        n_neg = tf.maximum(tf.minimum(n_neg, n_cand), 0)

        p_bg = tf.nn.softmax(proplogits, axis=-1)[..., 0]                  # [B, N_anc]
        p_bg = tf.where(candidate, p_bg, tf.ones_like(p_bg))
        flat = tf.reshape(p_bg, [-1])
        k = tf.minimum(tf.maximum(n_neg, 1), tf.size(flat))                # guard k = 0
        neg_values, _ = tf.nn.top_k(-flat, k=k, sorted=True)
        tau = -neg_values[k - 1]                                           # n_neg-th smallest
        negative = tf.logical_and(candidate, p_bg < tau)
        negative = tf.logical_and(negative, n_neg > 0)
        return positive, negative, n_neg


def localization_losses(anchor_logits, labels, proplogits, offsets, overlap, targets,
                        config=LossConfig(), scope=None):
    """The code's localization loss set (reference §5.2, ``losses_complete``).

    Args:
      anchor_logits: float32 [B, N_cell, K], anchor-level (per-cell) class logits.
      labels: int [B], one class index per video in [0, K), broadcast to every cell.
      proplogits: float32 [B, N_anc, 2], actionness logits (index 0 = background).
      offsets: float32 [B, N_anc, 2], predicted (Δc, Δw) in the encoded space of reference §4.2.
      overlap: float32 [B, N_anc], predicted overlap y_ov (after the sigmoid).
      targets: dict from ``matcher.match_anchors``; uses ``"gscores"`` [B, N_anc],
        ``"glocalisations"`` [B, N_anc, 2] (t_c, t_w) and ``"giou"`` [B, N_anc] (−1 = unused).
      config: LossConfig.
      scope: optional name scope.

    Returns:
      dict of scalars: float32 ``"actionness"``, ``"offset"``, ``"overlap"``,
      ``"classification"``, ``"prop"`` (actionness + offset + overlap), ``"total"`` (prop +
      classification), ``"accuracy"`` (over all B·N_cell cells); int32 ``"num_positive"`` and
      ``"num_negative"`` (selected negatives). Empty masks give 0 terms (module docstring).
    """
    gscores = targets["gscores"]
    glocalisations = targets["glocalisations"]
    giou = targets["giou"]
    values = [anchor_logits, labels, proplogits, offsets, overlap, gscores, glocalisations, giou]
    with tf.compat.v1.name_scope(scope, "localization_losses", values):
        _, batch = _batch_size(gscores)
        positive, negative, _ = mine_hard_negatives(gscores, proplogits, config)
        mask = tf.logical_or(positive, negative)
        num_mask = tf.reduce_sum(tf.cast(mask, tf.float32))               # M

        with tf.compat.v1.name_scope("actionness"):
            ce = _cross_entropy(proplogits, tf.cast(positive, tf.int32))  # [B, N_anc]
            actionness = tf.math.divide_no_nan(
                config.actionness_weight * _masked_sum(mask, ce), num_mask)

        with tf.compat.v1.name_scope("offset"):
            sl1 = tf.reduce_sum(_smooth_l1(offsets - glocalisations), axis=-1)   # [B, N_anc]
            offset = tf.math.divide_no_nan(
                config.offset_weight * _masked_sum(positive, sl1), num_mask)

        with tf.compat.v1.name_scope("overlap"):
            valid = tf.not_equal(giou, -1.0)
            num_valid = tf.reduce_sum(tf.cast(valid, tf.float32))
            overlap_loss = tf.math.divide_no_nan(
                config.overlap_weight * _masked_sum(valid, tf.square(overlap - giou)), num_valid)

        with tf.compat.v1.name_scope("classification"):
            cell_labels = tf.broadcast_to(tf.cast(labels, tf.int32)[:, tf.newaxis],
                                          tf.shape(anchor_logits)[:2])     # [B, N_cell]
            cell_ce = _cross_entropy(anchor_logits, cell_labels)
            classification = config.cls_weight * tf.reduce_sum(cell_ce) / batch
            accuracy = _accuracy(anchor_logits, cell_labels)

        prop = actionness + offset + overlap_loss
        return {
            "actionness": tf.identity(actionness, name="actionness_loss"),
            "offset": tf.identity(offset, name="offset_loss"),
            "overlap": tf.identity(overlap_loss, name="overlap_loss"),
            "classification": tf.identity(classification, name="classification_loss"),
            "prop": tf.identity(prop, name="prop_loss"),
            "total": tf.identity(prop + classification, name="total_loss"),
            "accuracy": tf.identity(accuracy, name="accuracy"),
            "num_positive": tf.reduce_sum(tf.cast(positive, tf.int32), name="num_positive"),
            "num_negative": tf.reduce_sum(tf.cast(negative, tf.int32), name="num_negative"),
        }


def adversarial_losses(d_logits_real, d_logits_fake, gscores_real, gscores_fake, weight=0.1,
                       positive_threshold=ADV_POSITIVE_THRESHOLD,
                       background_threshold=ADV_BACKGROUND_THRESHOLD, scope=None):
    """Discriminator and generator losses on joint background anchors (reference §5.3).

    ``bg = (not gscores > positive_threshold) and gscores < background_threshold`` for each batch;
    ``mask = bg_real AND bg_fake`` position-wise (sample i of the real batch is paired with sample
    i of the synthetic batch, reference §11.1 item 10); ``n = Σ mask``::

        discriminator_real = weight · Σ_mask BCE(D_real, 1) / n
        discriminator_fake = weight · Σ_mask BCE(D_fake, 0) / n
        discriminator      = discriminator_real + discriminator_fake      (L_adD)
        generator          = weight · Σ_mask BCE(D_fake, 1) / n          (L_adG, non-saturating)

    With ``n = 0`` all four are 0 (upstream: NaN).

    Args:
      d_logits_real: float32 [B, N_anc], discriminator logits on the real untrimmed batch.
      d_logits_fake: float32 [B, N_anc], discriminator logits on the synthetic batch.
      gscores_real: float32 [B, N_anc], matching gscores of the real batch.
      gscores_fake: float32 [B, N_anc], matching gscores of the synthetic batch.
      weight: scalar (upstream dis_weights = gen_weights = 0.1).
      positive_threshold, background_threshold: the 0.7 / 0.3 of the background test.
      scope: optional name scope.

    Returns:
      dict: float32 scalars ``"discriminator_real"``, ``"discriminator_fake"``,
      ``"discriminator"``, ``"generator"``; int32 ``"num_background"`` (n).
    """
    values = [d_logits_real, d_logits_fake, gscores_real, gscores_fake]
    with tf.compat.v1.name_scope(scope, "adversarial_losses", values):
        def background(g):
            return tf.logical_and(tf.logical_not(g > positive_threshold), g < background_threshold)

        mask = tf.logical_and(background(gscores_real), background(gscores_fake))
        n = tf.reduce_sum(tf.cast(mask, tf.float32))

        def masked_bce(logits, target):
            bce = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.fill(tf.shape(logits), float(target)), logits=logits)
            return tf.math.divide_no_nan(weight * _masked_sum(mask, bce), n)

        d_real = masked_bce(d_logits_real, 1.0)
        d_fake = masked_bce(d_logits_fake, 0.0)
        generator = masked_bce(d_logits_fake, 1.0)
        return {
            "discriminator_real": tf.identity(d_real, name="discriminator_real_loss"),
            "discriminator_fake": tf.identity(d_fake, name="discriminator_fake_loss"),
            "discriminator": tf.identity(d_real + d_fake, name="discriminator_loss"),
            "generator": tf.identity(generator, name="generator_loss"),
            "num_background": tf.reduce_sum(tf.cast(mask, tf.int32), name="num_background"),
        }
