"""AherNet training losses as pure functions of tensors (TF1 graph style, ``tf.compat.v1``).

Three families, each by default a faithful re-statement of what the released code computes
(reference §5.1-§5.3), with one deliberate deviation: empty normalisers give 0, never NaN (see
"Limits").

``classification_loss``   L_reg, pooled segment/moment classification (reference §5.1).
``localization_losses``   the code's localization loss set: actionness with hard-negative mining,
                          offsets, overlap, anchor-level classification (reference §5.2).
``adversarial_losses``    discriminator / generator losses on background anchors (reference §5.3).

Equation numbers: the reference cites no paper equation for any loss term, so none is given
here. The only related paper equation is Eq. 5 (box decoding with α1 = α2 = 1, reference §4.3):
the paper defines L_of on decoded boxes, the code (and this module, by default) on SSD-encoded
offsets with prior scaling 0.1 (reference §11.1 items 2-3).

Paper-vs-code options (reference §11.1; the first value, the default, is upstream's)
-------------------------------------------------------------------------------------
=====================================  ==========================================================
``LossConfig.offset_target``           ``"encoded"`` (upstream, §5.2 item 7): SL1 on the SSD-
                                       encoded offsets, ``Δ − t``. ``"decoded"`` (paper, Eq. 5
                                       reading, §11.1 item 3): SL1 between the decoded predicted
                                       box and the matched GT box, as (centre, width) differences
                                       divided by the unclipped anchor width ``w_a``::

                                         SL1((c − g_c) / w_a) + SL1((w − g_w) / w_a)

                                       with ``(c, w)`` = ``box_coder.decode(offsets, anchor,
                                       prior_scaling)`` and ``(g_c, g_w)`` from ``gboxes``. Same
                                       positives, same weight, same normaliser M. Dividing by
                                       ``w_a`` is this module's choice (the paper gives no scale):
                                       it makes the term independent of the anchor's size
                                       (widths 4..813 grid steps at T = 512), as the encoded
                                       targets are. Note ``(c − g_c) / w_a = p_c · (Δc − t_c)``:
                                       at prior scaling 0.1 the centre argument is 10× smaller
                                       than upstream's (the term ~100× in the quadratic range).
``LossConfig.overlap_target``          ``"anchor"`` (upstream, §5.2 item 8): y_ov regresses
                                       ``giou``, the IoU of the default (clipped) anchor with its
                                       best GT. ``"refined"`` (paper, §11.1 item 4): y_ov regresses
                                       the IoU of the decoded box (unclipped, under
                                       ``tf.stop_gradient``) with the matched GT ``gboxes``. Same
                                       anchor set (``giou ≠ −1``), weight and normaliser.
``LossConfig.cls_cells``               ``"all"`` (upstream, §5.2 item 6): anchor-level
                                       classification over every cell, background included,
                                       ``Σ / B``. ``"foreground"`` (paper reading, §11.1 item 6):
                                       only cells holding at least one positive anchor
                                       (``gscores > match_threshold``; anchor ``i`` lies in cell
                                       ``i // 3``), ``Σ / #cells`` (0 when there is none). The
                                       accuracy is taken over the same cells as the loss.
``adversarial_losses(mask=...)``       ``"joint"`` (upstream, §5.3): one position-wise mask
                                       ``bg_real AND bg_fake`` for all terms. ``"separate"``
                                       (paper, §11.1 item 10): L_D_real over the real batch's
                                       background anchors, L_D_fake and L_adG over the synthetic
                                       batch's, each normalised by its own count.
=====================================  ==========================================================

``"decoded"`` and ``"refined"`` need the anchors: ``localization_losses(...,
anchor_centers=..., anchor_widths=...)`` (unclipped, ``[N_anc]``, e.g.
``anchors.flat_anchors(layers)``), ``targets["gboxes"]`` (from ``matcher.match_anchors``) and
the ``prior_scaling`` used to encode the targets. Invalid option strings raise ``ValueError``
(``LossConfig`` at construction, ``adversarial_losses`` at call).

Contract
--------
* Flattened layouts of ``docs/model_contract.md``: anchors ``[B, N_anc]`` in (layer, cell,
  anchor) order, cells ``[B, N_cell]`` in (layer, cell) order, ``N_anc = 3 * N_cell``. The cell of
  anchor ``i`` is ``i // 3``; only ``cls_cells="foreground"`` needs it, because labels are per
  video (``[B]``, broadcast to every cell).
* Every reduction is an explicit sum followed by an explicit division; nothing is added to the
  ``tf.compat.v1.GraphKeys.LOSSES`` collection and no variables are created.
* Values, at the reference's hyper-parameters and defaults (``LossConfig()``), with
  ``M = #(pos ∪ neg)`` (the options above change the offset, overlap and classification rows):

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
* Gradients: the masks (positives, mined negatives, ``giou ≠ −1``, foreground cells, background)
  are boolean and carry no gradient; the normalisers ``M``, ``#(giou ≠ −1)``, ``#cells``, ``n``
  and ``B`` are constants for differentiation. ``"decoded"`` differentiates through the decoding
  (w.r.t. the offsets); ``"refined"`` does not (the IoU target is a constant, as ``giou`` is).

Limits
------
* **Empty normalisers** (deviation from upstream, which divides by zero and returns NaN):
  ``M = 0`` → actionness = offset = 0; ``#(giou ≠ −1) = 0`` → overlap = 0; no foreground
  cell (``cls_cells="foreground"``) → classification = accuracy = 0; adversarial ``n = 0`` →
  all four adversarial losses = 0 (``"separate"``: ``n_real = 0`` → discriminator_real = 0,
  ``n_fake = 0`` → discriminator_fake = generator = 0). Implemented with
  ``tf.math.divide_no_nan``, whose gradient is 0 as well, so an empty mask yields finite zeros in
  both the value and the gradient. ``M = 0``
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
* ``cls_cells="foreground"`` groups anchors into cells by reshaping ``[B, N_anc]`` to
  ``[B, N_cell, N_anc / N_cell]`` (``i // 3`` for the model's 3 anchors per cell).
* ``overlap_target="refined"`` takes the IoU of the *unclipped* decoded box (no temporal length
  is passed to the losses), whereas ``giou`` uses the anchor clipped to ``[0, T − 1]``; the two
  differ only for boxes reaching outside the window. The decoded width ``w_a · exp(p_w Δw)`` is
  positive, so the IoU is finite (it is 0 for a box that misses the GT, and an overflowing
  ``exp`` gives 0 as well).
* No option changes the actionness loss or the hard-negative mining.
* With ``"decoded"`` / ``"refined"`` the targets are set to 0 outside their masks before the
  loss, so non-finite ``gboxes`` on unused anchors reach neither the value nor the gradient (the
  default paths keep upstream's arithmetic: there only the value is protected).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from aher.model.box_coder import PRIOR_SCALING, decode

# Allowed option values; the first one is upstream's behaviour and the default.
OFFSET_TARGETS = ("encoded", "decoded")
OVERLAP_TARGETS = ("anchor", "refined")
CLS_CELLS = ("all", "foreground")
ADVERSARIAL_MASKS = ("joint", "separate")

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
    offset_target:       "encoded" (upstream) | "decoded" (paper Eq. 5 reading), module docstring.
    overlap_target:      "anchor" (upstream) | "refined" (paper), module docstring.
    cls_cells:           "all" (upstream) | "foreground" (paper reading), module docstring.
    """

    match_threshold: float = 0.8
    neg_match_threshold: float = 0.3
    negative_ratio: float = 1.0
    actionness_weight: float = 2.0
    offset_weight: float = 1.0
    cls_weight: float = 2.0
    overlap_weight: float = 25.0
    offset_target: str = "encoded"
    overlap_target: str = "anchor"
    cls_cells: str = "all"

    def __post_init__(self):
        _check_option("LossConfig.offset_target", self.offset_target, OFFSET_TARGETS)
        _check_option("LossConfig.overlap_target", self.overlap_target, OVERLAP_TARGETS)
        _check_option("LossConfig.cls_cells", self.cls_cells, CLS_CELLS)


def _check_option(name, value, allowed):
    """Raises ValueError unless ``value`` is one of ``allowed`` (message names the option)."""
    if not (isinstance(value, str) and value in allowed):
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


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


def _anchor_geometry(anchor_centers, anchor_widths, option):
    """float32 tensors of the unclipped anchors; ValueError naming ``option`` when missing."""
    if anchor_centers is None or anchor_widths is None:
        raise ValueError(f"{option} needs the anchors: pass anchor_centers and anchor_widths "
                         "(unclipped, [N_anc]) to localization_losses")
    return (tf.cast(tf.convert_to_tensor(anchor_centers), tf.float32),
            tf.cast(tf.convert_to_tensor(anchor_widths), tf.float32))


def _center_width(start, end):
    """(centre, width) of boxes given by their ends."""
    return (start + end) / 2.0, end - start


def _interval_iou(start, end, g_start, g_end):
    """IoU of 1-D intervals (elementwise); 0 where the union is 0."""
    inter = tf.maximum(tf.minimum(end, g_end) - tf.maximum(start, g_start), 0.0)
    union = (end - start) + (g_end - g_start) - inter
    return tf.math.divide_no_nan(inter, union)


def localization_losses(anchor_logits, labels, proplogits, offsets, overlap, targets,
                        config=LossConfig(), scope=None, anchor_centers=None, anchor_widths=None,
                        prior_scaling=PRIOR_SCALING):
    """The code's localization loss set (reference §5.2, ``losses_complete``), with the options.

    Args:
      anchor_logits: float32 [B, N_cell, K], anchor-level (per-cell) class logits.
      labels: int [B], one class index per video in [0, K), broadcast to every cell.
      proplogits: float32 [B, N_anc, 2], actionness logits (index 0 = background).
      offsets: float32 [B, N_anc, 2], predicted (Δc, Δw) in the encoded space of reference §4.2.
      overlap: float32 [B, N_anc], predicted overlap y_ov (after the sigmoid).
      targets: dict from ``matcher.match_anchors``; uses ``"gscores"`` [B, N_anc],
        ``"glocalisations"`` [B, N_anc, 2] (t_c, t_w) and ``"giou"`` [B, N_anc] (−1 = unused);
        ``"gboxes"`` [B, N_anc, 2] (matched GT [start, end]) with ``offset_target="decoded"`` or
        ``overlap_target="refined"``.
      config: LossConfig (hyper-parameters and the paper-vs-code options).
      scope: optional name scope.
      anchor_centers, anchor_widths: unclipped anchor centres and widths, [N_anc] numpy arrays
        or tensors (broadcast against [B, N_anc]); required by ``offset_target="decoded"`` and
        ``overlap_target="refined"`` (ValueError otherwise), ignored by the defaults.
      prior_scaling: (p_c, p_w) for decoding the offsets, the value ``glocalisations`` were
        encoded with (upstream 0.1, 0.1); used only with those two options.

    Returns:
      dict of scalars: float32 ``"actionness"``, ``"offset"``, ``"overlap"``,
      ``"classification"``, ``"prop"`` (actionness + offset + overlap), ``"total"`` (prop +
      classification), ``"accuracy"`` (over the cells of the classification loss: all B·N_cell
      by default); int32 ``"num_positive"`` and ``"num_negative"`` (selected negatives). Empty
      masks give 0 terms (module docstring).
    """
    gscores = targets["gscores"]
    glocalisations = targets["glocalisations"]
    giou = targets["giou"]
    decoded_offset = config.offset_target == "decoded"
    refined_overlap = config.overlap_target == "refined"
    if decoded_offset or refined_overlap:
        option = " and ".join(name for name, on in (
            ("LossConfig.offset_target='decoded'", decoded_offset),
            ("LossConfig.overlap_target='refined'", refined_overlap)) if on)
        if "gboxes" not in targets:
            raise ValueError(f"{option} needs targets['gboxes'] (from matcher.match_anchors)")
    values = [anchor_logits, labels, proplogits, offsets, overlap, gscores, glocalisations, giou]
    with tf.compat.v1.name_scope(scope, "localization_losses", values):
        _, batch = _batch_size(gscores)
        positive, negative, _ = mine_hard_negatives(gscores, proplogits, config)
        mask = tf.logical_or(positive, negative)
        num_mask = tf.reduce_sum(tf.cast(mask, tf.float32))               # M
        if decoded_offset or refined_overlap:
            centers, widths = _anchor_geometry(anchor_centers, anchor_widths, option)
            gboxes = tf.cast(targets["gboxes"], tf.float32)
            g_start, g_end = gboxes[..., 0], gboxes[..., 1]

        with tf.compat.v1.name_scope("actionness"):
            ce = _cross_entropy(proplogits, tf.cast(positive, tf.int32))  # [B, N_anc]
            actionness = tf.math.divide_no_nan(
                config.actionness_weight * _masked_sum(mask, ce), num_mask)

        with tf.compat.v1.name_scope("offset"):
            if decoded_offset:
                pred_c, pred_w = _center_width(*decode(offsets, centers, widths, prior_scaling))
                g_c, g_w = _center_width(g_start, g_end)
                diff = tf.stack([(pred_c - g_c) / widths, (pred_w - g_w) / widths], axis=-1)
                # 0 off the positives, so unused gboxes cannot reach the gradient as 0·inf
                diff = tf.where(positive[..., tf.newaxis], diff, tf.zeros_like(diff))
            else:
                diff = offsets - glocalisations
            sl1 = tf.reduce_sum(_smooth_l1(diff), axis=-1)                 # [B, N_anc]
            offset = tf.math.divide_no_nan(
                config.offset_weight * _masked_sum(positive, sl1), num_mask)

        with tf.compat.v1.name_scope("overlap"):
            valid = tf.not_equal(giou, -1.0)
            num_valid = tf.reduce_sum(tf.cast(valid, tf.float32))
            if refined_overlap:
                start, end = decode(offsets, centers, widths, prior_scaling)
                iou_target = _interval_iou(tf.stop_gradient(start), tf.stop_gradient(end),
                                           g_start, g_end)
                iou_target = tf.where(valid, iou_target, tf.zeros_like(iou_target))
            else:
                iou_target = giou
            overlap_loss = tf.math.divide_no_nan(
                config.overlap_weight * _masked_sum(valid, tf.square(overlap - iou_target)),
                num_valid)

        with tf.compat.v1.name_scope("classification"):
            cell_labels = tf.broadcast_to(tf.cast(labels, tf.int32)[:, tf.newaxis],
                                          tf.shape(anchor_logits)[:2])     # [B, N_cell]
            cell_ce = _cross_entropy(anchor_logits, cell_labels)
            if config.cls_cells == "foreground":
                cells_shape = tf.concat([tf.shape(anchor_logits)[:2], [-1]], axis=0)
                foreground = tf.reduce_any(tf.reshape(positive, cells_shape), axis=-1)
                num_cells = tf.reduce_sum(tf.cast(foreground, tf.float32))
                classification = tf.math.divide_no_nan(
                    config.cls_weight * _masked_sum(foreground, cell_ce), num_cells)
                hits = tf.cast(tf.equal(tf.argmax(anchor_logits, axis=-1, output_type=tf.int32),
                                        cell_labels), tf.float32)
                accuracy = tf.math.divide_no_nan(_masked_sum(foreground, hits), num_cells)
            else:
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
                       background_threshold=ADV_BACKGROUND_THRESHOLD, scope=None, mask="joint"):
    """Discriminator and generator losses on background anchors (reference §5.3, §11.1 item 10).

    ``bg = (not gscores > positive_threshold) and gscores < background_threshold`` for each batch.

    ``mask="joint"`` (upstream): ``mask = bg_real AND bg_fake`` position-wise (sample i of the
    real batch is paired with sample i of the synthetic batch), ``n = Σ mask``::

        discriminator_real = weight · Σ_mask BCE(D_real, 1) / n
        discriminator_fake = weight · Σ_mask BCE(D_fake, 0) / n
        discriminator      = discriminator_real + discriminator_fake      (L_adD)
        generator          = weight · Σ_mask BCE(D_fake, 1) / n          (L_adG, non-saturating)

    With ``n = 0`` all four are 0 (upstream: NaN).

    ``mask="separate"`` (paper's b_u, b_m): ``discriminator_real`` is taken over ``bg_real``
    and normalised by ``n_real = Σ bg_real``; ``discriminator_fake`` and ``generator`` over
    ``bg_fake``, normalised by ``n_fake = Σ bg_fake``. Each term is 0 when its count is 0. The
    two batches need not be paired (their shapes may differ).

    Args:
      d_logits_real: float32 [B, N_anc], discriminator logits on the real untrimmed batch.
      d_logits_fake: float32 [B, N_anc], discriminator logits on the synthetic batch.
      gscores_real: float32 [B, N_anc], matching gscores of the real batch.
      gscores_fake: float32 [B, N_anc], matching gscores of the synthetic batch.
      weight: scalar (upstream dis_weights = gen_weights = 0.1).
      positive_threshold, background_threshold: the 0.7 / 0.3 of the background test.
      scope: optional name scope.
      mask: "joint" (upstream, default) or "separate" (paper).

    Returns:
      dict: float32 scalars ``"discriminator_real"``, ``"discriminator_fake"``,
      ``"discriminator"``, ``"generator"``; int32 ``"num_background"``: n with ``"joint"``,
      ``n_real + n_fake`` with ``"separate"``, which also returns int32
      ``"num_background_real"`` (n_real) and ``"num_background_fake"`` (n_fake).
    """
    _check_option("adversarial_losses mask", mask, ADVERSARIAL_MASKS)
    values = [d_logits_real, d_logits_fake, gscores_real, gscores_fake]
    with tf.compat.v1.name_scope(scope, "adversarial_losses", values):
        def background(g):
            return tf.logical_and(tf.logical_not(g > positive_threshold), g < background_threshold)

        if mask == "joint":
            mask_real = mask_fake = tf.logical_and(background(gscores_real),
                                                   background(gscores_fake))
        else:
            mask_real, mask_fake = background(gscores_real), background(gscores_fake)
        n_real = tf.reduce_sum(tf.cast(mask_real, tf.float32))
        n_fake = n_real if mask == "joint" else tf.reduce_sum(tf.cast(mask_fake, tf.float32))

        def masked_bce(logits, target, where, n):
            bce = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=tf.fill(tf.shape(logits), float(target)), logits=logits)
            return tf.math.divide_no_nan(weight * _masked_sum(where, bce), n)

        d_real = masked_bce(d_logits_real, 1.0, mask_real, n_real)
        d_fake = masked_bce(d_logits_fake, 0.0, mask_fake, n_fake)
        generator = masked_bce(d_logits_fake, 1.0, mask_fake, n_fake)
        result = {
            "discriminator_real": tf.identity(d_real, name="discriminator_real_loss"),
            "discriminator_fake": tf.identity(d_fake, name="discriminator_fake_loss"),
            "discriminator": tf.identity(d_real + d_fake, name="discriminator_loss"),
            "generator": tf.identity(generator, name="generator_loss"),
        }
        if mask == "joint":
            result["num_background"] = tf.reduce_sum(tf.cast(mask_real, tf.int32),
                                                     name="num_background")
        else:
            count_real = tf.reduce_sum(tf.cast(mask_real, tf.int32), name="num_background_real")
            count_fake = tf.reduce_sum(tf.cast(mask_fake, tf.int32), name="num_background_fake")
            result["num_background_real"] = count_real
            result["num_background_fake"] = count_fake
            result["num_background"] = tf.add(count_real, count_fake, name="num_background")
        return result
