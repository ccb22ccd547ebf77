"""Anchor matching: every anchor takes its best-overlapping GT box as training target.

paper_vs_code §4.1 (matching) and paper_vs_code §4.2 (target encoding), upstream's ``bboxes_encode_layer``
re-implemented for any batch size and any number of GT slots, in one vectorised graph.

Contract
--------
For each video ``b`` and each anchor ``n`` (flat (layer, cell, anchor) order, see
:mod:`aher.model.anchors`):

* GT rows equal to ``[-1, -1]`` are padding and are ignored.
* ``IoU(n, g) = inter / (len_clipped(n) - inter + (g_e - g_s))`` with
  ``inter = max(0, min(hi_n, g_e) - max(lo_n, g_s))``, where ``[lo_n, hi_n]`` is the anchor
  clipped to ``[0, T - 1]`` (:func:`aher.model.anchors.clipped_anchor_bounds`). Computed in
  float32, in upstream's operation order.
* ``gscores`` is the best IoU over the valid GTs, starting from 0; a GT replaces the current best
  only if its IoU is **strictly greater**, so the first GT wins ties and an anchor whose best IoU
  is 0 keeps the placeholder box ``[0, 1]`` in ``gboxes``.
* ``glocalisations = encode(gboxes, unclipped anchor)`` for **every** anchor, including
  unmatched ones, whose target is the encoded placeholder ``[0, 1]`` (as upstream; the losses
  only read it at positive anchors).
* ``giou = gscores`` where ``gscores > 0``, else ``-1`` (marks anchors left out of L_ov).

Implementation: the placeholder is prepended as GT column 0 with IoU 0, padding columns get IoU 0,
and the first maximum over the columns is taken explicitly (``tf.argmax`` does not guarantee
which index it returns on ties). This is exactly the sequential strictly-greater update.

:func:`match_anchors_np` is the numpy reference written as upstream's per-GT loop.

Limits
------
* A row with a single ``-1`` is not padding; it is matched as given (upstream would misalign the
  remaining coordinates). The data pipeline only produces full ``[-1, -1]`` padding rows.
* No guard against degenerate GTs: ``e <= s`` gives non-finite ``glocalisations`` (as upstream)
  and ``e < s`` can give meaningless IoUs.
* Memory is ``O(B * N_anc * G)`` (16 * 765 * 25 floats at paper scale).
* Video labels (upstream's ``gclasses``) are not produced here; the losses use the ``[B]`` label.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from aher.model.anchors import clipped_anchor_bounds, flat_anchors
from aher.model.box_coder import PRIOR_SCALING, encode, encode_np

PLACEHOLDER_BOX = (0.0, 1.0)   # matched box of anchors that overlap no GT (paper_vs_code §4.1)
PADDING = -1.0                 # value of padding GT slots (paper_vs_code §1.4)


def _anchor_arrays(anchor_layers, temporal_length):
    """float32 numpy [N_anc] centres, widths, clipped lo, hi and clipped length."""
    centers, widths = flat_anchors(anchor_layers)
    centers = centers.astype(np.float32)
    widths = widths.astype(np.float32)
    lo, hi = clipped_anchor_bounds(centers, widths, np.float32(temporal_length))
    lo = lo.astype(np.float32)
    hi = hi.astype(np.float32)
    return centers, widths, lo, hi, (hi - lo).astype(np.float32)


def match_anchors(gt_boxes, anchor_layers, temporal_length, name=None, prior_scaling=PRIOR_SCALING):
    """Matches GT boxes to anchors and encodes the targets (paper_vs_code §4.1-4.2).

    Args:
      gt_boxes: [B, G, 2] float32 ``[start, end]`` in grid units, padding rows ``[-1, -1]``.
        B and G may be dynamic; G may be 0.
      anchor_layers: list of :class:`aher.model.anchors.AnchorLayer` (N_anc anchors in all).
      temporal_length: T of the grid (the IoU clip is ``T - 1``).
      name: name scope (default ``match_anchors``).
      prior_scaling: SSD prior scaling of the encoded targets (upstream 0.1; the paper's alpha = 1.0).

    Returns:
      dict of
        "gscores":        [B, N_anc] float32, best IoU with a valid GT, 0 if none.
        "gboxes":         [B, N_anc, 2] float32, matched GT, ``[0, 1]`` when gscores is 0.
        "glocalisations": [B, N_anc, 2] float32, ``encode(gboxes, unclipped anchor)``.
        "giou":           [B, N_anc] float32, gscores where > 0, else -1.
    """
    centers, widths, lo, hi, vol = _anchor_arrays(anchor_layers, temporal_length)
    with tf.name_scope(name or "match_anchors"):
        gt_boxes = tf.cast(tf.convert_to_tensor(gt_boxes, dtype_hint=tf.float32), tf.float32)
        batch = tf.shape(gt_boxes)[0]
        g_s = gt_boxes[..., 0]                                             # [B, G]
        g_e = gt_boxes[..., 1]
        valid = tf.logical_not(tf.logical_and(tf.equal(g_s, PADDING), tf.equal(g_e, PADDING)))

        with tf.name_scope("iou"):
            a_lo = tf.constant(lo)[None, :, None]                          # [1, N, 1]
            a_hi = tf.constant(hi)[None, :, None]
            a_vol = tf.constant(vol)[None, :, None]
            s = g_s[:, None, :]                                            # [B, 1, G]
            e = g_e[:, None, :]
            inter = tf.maximum(tf.minimum(a_hi, e) - tf.maximum(a_lo, s), 0.0)   # [B, N, G]
            union = a_vol - inter + (e - s)
            ratio = inter / union
            # Padding and 0/0 (zero-length GT on a zero-length anchor) never update the best.
            keep = tf.logical_and(valid[:, None, :], tf.logical_not(tf.math.is_nan(ratio)))
            iou = tf.where(keep, ratio, tf.zeros_like(ratio))

        with tf.name_scope("best_gt"):
            # Column 0 is the placeholder with IoU 0: the first maximum over the columns is the
            # result of the sequential strictly-greater update starting from (0, [0, 1]).
            num_anchors = centers.shape[0]
            placeholder = tf.broadcast_to(tf.constant(PLACEHOLDER_BOX, tf.float32), [batch, 1, 2])
            candidates = tf.concat([placeholder, gt_boxes], axis=1)         # [B, 1 + G, 2]
            iou = tf.concat([tf.zeros([batch, num_anchors, 1], tf.float32), iou], axis=2)
            gscores = tf.reduce_max(iou, axis=2)                            # [B, N]
            columns = tf.range(tf.shape(iou)[2])
            first_max = tf.reduce_min(
                tf.where(tf.equal(iou, gscores[..., None]), columns[None, None, :],
                         tf.shape(iou)[2]), axis=2)                         # [B, N]
            gboxes = tf.gather(candidates, first_max, batch_dims=1)        # [B, N, 2]

        glocalisations = encode(gboxes[..., 0], gboxes[..., 1], centers, widths, prior_scaling)
        giou = tf.where(gscores > 0.0, gscores, -tf.ones_like(gscores))
        return {"gscores": gscores, "gboxes": gboxes,
                "glocalisations": glocalisations, "giou": giou}


def match_anchors_np(gt_boxes, anchor_layers, temporal_length):
    """Numpy reference of :func:`match_anchors`, written as upstream's per-GT loop.

    Args:
      gt_boxes: [B, G, 2] ``[start, end]`` grid units, padding rows ``[-1, -1]``.
      anchor_layers: list of :class:`aher.model.anchors.AnchorLayer`.
      temporal_length: T.

    Returns:
      dict of numpy float32 arrays with the keys and shapes of :func:`match_anchors`.
    """
    centers, widths, lo, hi, vol = _anchor_arrays(anchor_layers, temporal_length)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float32).reshape(np.shape(gt_boxes)[0], -1, 2)
    n_videos, n_anchors = gt_boxes.shape[0], centers.shape[0]
    gscores = np.zeros((n_videos, n_anchors), np.float32)
    gboxes = np.empty((n_videos, n_anchors, 2), np.float32)
    gboxes[...] = PLACEHOLDER_BOX
    for b in range(n_videos):
        for g_s, g_e in gt_boxes[b]:
            if g_s == PADDING and g_e == PADDING:
                continue
            inter = np.maximum(np.minimum(hi, g_e) - np.maximum(lo, g_s), np.float32(0.0))
            union = vol - inter + (g_e - g_s)
            with np.errstate(divide="ignore", invalid="ignore"):
                iou = inter / union
            better = iou > gscores[b]
            gscores[b, better] = iou[better]
            gboxes[b, better] = (g_s, g_e)
    glocalisations = encode_np(gboxes[..., 0], gboxes[..., 1], centers, widths).astype(np.float32)
    giou = np.where(gscores > 0, gscores, np.float32(-1.0)).astype(np.float32)
    return {"gscores": gscores, "gboxes": gboxes, "glocalisations": glocalisations, "giou": giou}
