"""Shared 1-D convolutional backbone (paper_vs_code §2.1).

Layer table (all convs: bias, ReLU, SAME, Glorot-uniform kernels, zero biases; variables under
``aher/``):

  ========== ====== ====== ======================= ==================
  scope      kernel stride out channels (paper)    length (T=512 in)
  ========== ====== ====== ======================= ==================
  g_conv1    3      1      conv1_width  = 2048     512
  g_conv2    3      1      conv2_width  = 1024     512
  pool2      3      2      (max-pool, VALID)       255
  g_conv_a1  3      2      anchor_widths[0] = 256  128
  ...        3      2      ...                     ...
  g_conv_aL  3      2      anchor_widths[L-1]      1
  ========== ====== ====== ======================= ==================

The end points ``conv_a1..conv_aL`` are the post-ReLU outputs of ``g_conv_a1..aL``. At the paper
configuration (D = 2048, L = 8) the backbone holds 44,640,768 parameters.

Contract: ``backbone(features, config, num_layers)`` returns the L end points, each
[B, T_j, C_j]; it opens the root scope ``aher`` with AUTO_REUSE (``layers.model_scope``), so
every call shares the same variables regardless of the input length (256-step moments and
512-step untrimmed videos go through the same weights).

Limits: no batch norm / dropout / weight decay (there are none upstream; the unused
``dropout_keep_prob`` argument is not reproduced). The unused 4096-wide and depthwise-separable
upstream variants are not provided. ``T_j`` follows from the input length (SAME stride-2 convs give
ceil(T/2)); layers past length 1 stay at length 1 (e.g. 256-step input, layer 8).
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from aher.model.layers import conv1d, model_scope

KERNEL_SIZE = 3
POOL_SIZE = 3
POOL_STRIDE = 2
ANCHOR_STRIDE = 2


@dataclass(frozen=True)
class BackboneConfig:
    """Widths of the backbone; the defaults are the paper's (paper_vs_code §2.1)."""

    input_dim: int = 2048
    conv1_width: int = 2048
    conv2_width: int = 1024
    anchor_widths: tuple = (256, 256, 512, 512, 1024, 1024, 2048, 2048)   # the first L are used

    def __post_init__(self):
        widths = (self.input_dim, self.conv1_width, self.conv2_width, *self.anchor_widths)
        if not self.anchor_widths or any(int(w) != w or w <= 0 for w in widths):
            raise ValueError(f"BackboneConfig widths must be positive integers and anchor_widths non-empty: {self}")


def end_point_name(layer_index):
    """Name of the backbone layer producing anchor layer j (1-based): ``g_conv_a{j}``."""
    return f"g_conv_a{layer_index}"


def backbone(features, config=BackboneConfig(), num_layers=None):
    """Run the shared backbone.

    Args:
      features: float32 [B, T_in, D] with D == config.input_dim (static).
      config: BackboneConfig.
      num_layers: L, number of anchor layers (1 <= L <= len(config.anchor_widths)); default: all
        configured anchor widths. For an input of length T use ``anchors.num_anchor_layers(T)``.

    Returns:
      list of L float32 tensors, end point j (1-based) of shape [B, T_j, anchor_widths[j-1]],
      T_1 = ceil(P / 2) with P = floor((T_in - 3) / 2) + 1, T_j = ceil(T_{j-1} / 2).
    """
    if num_layers is None:
        num_layers = len(config.anchor_widths)
    if not 1 <= num_layers <= len(config.anchor_widths):
        raise ValueError(f"num_layers must be in [1, {len(config.anchor_widths)}], got {num_layers}")
    depth = features.shape[-1] if features.shape.rank is not None else None
    if depth is not None and int(depth) != config.input_dim:
        raise ValueError(f"backbone: features have {depth} channels, config.input_dim is {config.input_dim}")
    with model_scope():
        net = conv1d(features, config.conv1_width, KERNEL_SIZE, 1, "g_conv1")
        net = conv1d(net, config.conv2_width, KERNEL_SIZE, 1, "g_conv2")
        with tf.name_scope("pool2"):
            net = tf.nn.max_pool1d(net, ksize=POOL_SIZE, strides=POOL_STRIDE, padding="VALID")
        end_points = []
        for j in range(1, num_layers + 1):
            net = conv1d(net, config.anchor_widths[j - 1], KERNEL_SIZE, ANCHOR_STRIDE, end_point_name(j))
            end_points.append(net)
    return end_points
