"""Per-anchor-layer discriminators of the adversarial context training (Algorithm 1, paper_vs_code §6.3).

One discriminator per anchor layer j reads the backbone end point ``conv_a{j}`` [B, T_j, C_j] and
gives one real/synthetic logit per anchor of every cell:

  scope                     kernel  stride  out  activation  parameters (paper widths)
  ------------------------  ------  ------  ---  ----------  --------------------------------
  conv_a{j}_adv/d_conv_adv  3       1       A=3  none        9 C_j + 3; 69,144 over 8 layers

Scopes are top-level (not under ``aher/``) so they form the ``discriminators`` group of
``aher.model.variable_groups``; they are opened with AUTO_REUSE, so applying the discriminator to
the real (ANet) and to the synthetic end points shares one set of variables (upstream creates
them on the real branch and reuses them on the synthetic one).

Contract: ``discriminator_logits(end_points)`` returns the logits flattened in (layer, cell,
anchor) order, [B, N_anc], the layout of every other per-anchor tensor (docs/model_contract.md);
D = sigmoid(logit) is the probability that the anchor comes from a real untrimmed video.

Limits: logits only -- the sigmoid, the background-anchor mask and the losses L_adD / L_adG live in
``aher.model.losses.adversarial_losses``. Any number of layers; layer j is the j-th end point
(1-based scope index). The number of anchors per cell is fixed by the caller (default 3).
"""

from __future__ import annotations

import tensorflow as tf

from aher.model.context import top_level_scope
from aher.model.layers import conv1d

KERNEL_SIZE = 3


def discriminator_scope(layer_index):
    """Top-level variable scope of the discriminator of anchor layer j: ``conv_a{j}_adv``."""
    return f"conv_a{layer_index}_adv"


def discriminator_logits(end_points, num_anchors=3):
    """Real/synthetic logits of every anchor (paper_vs_code §6.3).

    Args:
      end_points: list of L float32 tensors [B, T_j, C_j] (backbone ``conv_a1..conv_aL``), C_j static.
      num_anchors: A, anchors per cell.

    Returns:
      float32 [B, N_anc], N_anc = A * sum_j T_j, in (layer, cell, anchor) order: entry
      offset_j + t * A + a is anchor a of cell t of layer j (channel a of the conv output).
    """
    flat = []
    with tf.name_scope("discriminators"), top_level_scope():
        for j, end_point in enumerate(end_points, start=1):
            with tf.compat.v1.variable_scope(discriminator_scope(j)):
                logits = conv1d(end_point, num_anchors, KERNEL_SIZE, 1, "d_conv_adv", activation=None)
            with tf.name_scope(f"flatten_{j}"):
                cells = end_point.shape[1]
                y = tf.reshape(logits, tf.stack([tf.shape(logits)[0], -1]))
                y.set_shape([end_point.shape[0], None if cells is None else int(cells) * num_anchors])
                flat.append(y)
        return tf.concat(flat, axis=1, name="logits")
