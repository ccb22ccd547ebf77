"""Per-layer heads: box heads, pooled (segment) classifier, anchor-level classifier (paper_vs_code §3).

All variables of anchor layer j live under ``aher/conv_a{j}_box/`` (root scope opened with
AUTO_REUSE, so every graph branch shares them):

  output                          variable scope      kernel  out ch  shape (per layer)
  ------------------------------  ------------------  ------  ------  --------------------------
  box_heads "proplogits"          conv_cls            3       A*2     [B, T_j, A, 2], no act.
  box_heads "offsets"             conv_loc            3       A*2     [B, T_j, A, 2], no act.
  box_heads "overlap(_logits)"    conv_iou            3       A       [B, T_j, A], sigmoid / raw
  pooled_classifier               cls_{label_space}   1       K       [B, K] + W [K, C_j], b [K]
  anchor_classifier               none (given W, b)   1       K       [B, T_j, K]

Channel layout of the box heads: channel ``a * k + i`` of the conv output is anchor ``a``,
component ``i`` (row-major reshape ``[..., A*k] -> [..., A, k]``, as upstream).

Label spaces: ``"moment"`` (K600 moments, upstream ``conv_action_anchor``, W̃_regv) and
``"untrimmed"`` (ANet, upstream ``conv_action_anet``, W_regv). Parameter totals over the 8 paper
layers: box heads 345,720; cls_moment (K=600) 4,612,800; cls_untrimmed (K=200) 1,537,600.

Limits: the anchor classifier gives one class distribution per *cell* (shared by its A anchors),
as upstream. The upstream label slicing of W (``start_label_id``/``untrim_num``) is not
reproduced: the whole matrix is returned. Softmaxes are left to the losses / post-processing.
"""

from __future__ import annotations

import tensorflow as tf

from aher.model.layers import conv1d, conv1d_variables, model_scope

LABEL_SPACES = ("untrimmed", "moment")
BOX_KERNEL_SIZE = 3


def head_scope(layer_index):
    """Variable scope (under ``aher/``) of the heads of anchor layer j: ``conv_a{j}_box``."""
    return f"conv_a{layer_index}_box"


def classifier_scope(label_space):
    """Variable scope (under ``aher/conv_a{j}_box/``) of a pooled classifier: ``cls_{label_space}``."""
    if label_space not in LABEL_SPACES:
        raise ValueError(f"unknown label space {label_space!r}; expected one of {LABEL_SPACES}")
    return f"cls_{label_space}"


def _split_channels(x, num_anchors, k):
    """[B, T, A*k] -> [B, T, A, k], channel a*k + i -> [a, i]; keeps static dims."""
    dynamic = tf.shape(x)
    y = tf.reshape(x, tf.concat([dynamic[:2], [num_anchors, k]], axis=0))
    y.set_shape(x.shape[:2].concatenate([num_anchors, k]))
    return y


def box_heads(end_point, layer_index, num_anchors=3):
    """Actionness, offset and overlap heads of anchor layer j (paper_vs_code §3, table rows 1-3).

    Args:
      end_point: float32 [B, T_j, C_j] backbone end point ``conv_a{j}``.
      layer_index: j, 1-based.
      num_anchors: A, anchors per cell.

    Returns:
      dict with
        "proplogits":     [B, T_j, A, 2] actionness logits (bg, fg),
        "offsets":        [B, T_j, A, 2] encoded (Δc, Δw),
        "overlap_logits": [B, T_j, A]    raw conv_iou output,
        "overlap":        [B, T_j, A]    sigmoid(overlap_logits).
    """
    with model_scope(), tf.compat.v1.variable_scope(head_scope(layer_index)):
        proplogits = conv1d(end_point, num_anchors * 2, BOX_KERNEL_SIZE, 1, "conv_cls", activation=None)
        offsets = conv1d(end_point, num_anchors * 2, BOX_KERNEL_SIZE, 1, "conv_loc", activation=None)
        overlap_logits = conv1d(end_point, num_anchors, BOX_KERNEL_SIZE, 1, "conv_iou", activation=None)
        with tf.name_scope("reshape"):
            return {
                "proplogits": _split_channels(proplogits, num_anchors, 2),
                "offsets": _split_channels(offsets, num_anchors, 2),
                "overlap_logits": overlap_logits,
                "overlap": tf.math.sigmoid(overlap_logits),
            }


def pooled_classifier(end_point, layer_index, num_classes, label_space):
    """Segment-level classifier of anchor layer j (paper_vs_code §3.1): global average pool, kernel-1 conv.

    Variables ``aher/conv_a{j}_box/cls_{label_space}/weights`` [1, C_j, K] (Glorot uniform, the
    conv1d layout of upstream) and ``.../biases`` [K] (zeros). The kernel-1 conv on the pooled
    [B, 1, C_j] map is computed as a matmul.

    Args:
      end_point: float32 [B, T_j, C_j].
      layer_index: j, 1-based.
      num_classes: K.
      label_space: "untrimmed" or "moment".

    Returns:
      (logits [B, K], W [K, C_j] with row c = class c, b [K]).
    """
    channels = end_point.shape[-1]
    if channels is None:
        raise ValueError("pooled_classifier: channels of the end point must be static")
    with model_scope(), tf.compat.v1.variable_scope(head_scope(layer_index)):
        with tf.compat.v1.variable_scope(classifier_scope(label_space)):
            kernel, biases = conv1d_variables(int(channels), num_classes, 1)
            pooled = tf.reduce_mean(end_point, axis=1, name="global_avg_pool")        # [B, C_j]
            matrix = tf.reshape(kernel, [int(channels), num_classes])                 # [C_j, K]
            logits = tf.nn.bias_add(tf.linalg.matmul(pooled, matrix), biases, name="logits")
            weights = tf.transpose(matrix, name="W")                                   # [K, C_j]
            return logits, weights, tf.identity(biases, name="b")


def anchor_classifier(end_point, weights, biases):
    """Anchor-level (per cell) classifier with given weights: kernel-1 conv, no variables (paper_vs_code §3.2).

    Args:
      end_point: float32 [B, T_j, C_j].
      weights: float32 [K, C_j] (row c = class c), e.g. the transferred W'.
      biases: float32 [K].

    Returns:
      logits [B, T_j, K]: conv1d(end_point, reshape(transpose(W), [1, C_j, K])) + b.
    """
    with tf.name_scope("anchor_classifier"):
        kernel = tf.expand_dims(tf.transpose(weights), 0)                            # [1, C_j, K]
        logits = tf.nn.conv1d(end_point, kernel, stride=1, padding="SAME")
        return tf.nn.bias_add(logits, biases, name="logits")
