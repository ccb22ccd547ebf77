"""Weight transfer T(W, b; θʲ): classifier of segments -> classifier of anchors (paper_vs_code §3.2).

For anchor layer j, a pooled (segment-level) classifier ``W [K, C_j], b [K]`` is mapped to the
anchor-level classifier ``W' [K, C_j], b' [K]`` by an MLP applied row-wise to W and a separate
scalar MLP applied element-wise to b. The default (paper's best, the released code) is 2-fc ELU
with identity initialisation:

    H  = ELU(W · A1 + a1),           W' = ELU(H · A2 + a2)              A_i [C_j, C_j] = I, a_i = 0
    hb = ELU(b · s3 + t3),           b' = ELU(hb · s4 + t4)             s_i [1, 1] = 1,  t_i = 0

so at initialisation ``W' = ELU(ELU(W))`` and ``b' = ELU(ELU(b))``.

Variables (one θʲ per anchor layer, *shared by both label spaces*, AUTO_REUSE):
``aher/conv_a{j}_box/transfer/fc{1..N}/{weights,biases}`` (upstream ``fully1``, ``fully2``) and
``aher/conv_a{j}_box/transfer/bias_fc{1..N}/{weights,biases}`` (upstream ``fully3``, ``fully4``).
Paper widths, 2-fc: 22,297,632 parameters over the 8 layers.

Table 1 variants (paper_vs_code §11.2): ``num_fc`` in {1, 2, 3} × ``activation`` in {none, relu,
leaky_relu (slope 0.2), elu}; the activation follows *every* fc, including the last (as upstream
for 2-fc ELU). The bias path mirrors the depth and activation of the weight path — inferred, the
release only has 2-fc ELU and the paper says nothing about the bias.

Limits: ``C_j`` of W must be static (it fixes θ's shapes); K may differ between calls (the MLP
acts on rows). ``identity_init=False`` uses Glorot-uniform kernels (not an experiment of the
paper). ``bias_mlp=False`` passes b through unchanged and creates no bias variables.
"""

from __future__ import annotations

import tensorflow as tf

from aher.model.heads import head_scope
from aher.config.sections import TransferConfig
from aher.model.layers import ACTIVATIONS, fully_connected, model_scope

TRANSFER_SCOPE = "transfer"
def transfer_weights(weights, biases, layer_index, config=TransferConfig()):
    """Apply θʲ to a pooled classifier.

    Args:
      weights: float32 [K, C_j] (row c = class c), C_j static.
      biases: float32 [K].
      layer_index: j, 1-based (selects θʲ).
      config: TransferConfig.

    Returns:
      (W' [K, C_j], b' [K]).
    """
    channels = weights.shape[-1]
    if weights.shape.rank != 2 or channels is None:
        raise ValueError(f"transfer_weights: weights must be [K, C] with static C, got {weights.shape}")
    channels = int(channels)
    activation = ACTIVATIONS[config.activation]
    init = "identity" if config.identity_init else "glorot"
    with model_scope(), tf.compat.v1.variable_scope(head_scope(layer_index)):
        with tf.compat.v1.variable_scope(TRANSFER_SCOPE):
            net = weights
            for i in range(1, config.num_fc + 1):
                net = fully_connected(net, channels, f"fc{i}", activation=activation, init=init)
            new_weights = tf.identity(net, name="W_transferred")
            if not config.bias_mlp:
                return new_weights, biases
            net = tf.reshape(biases, [-1, 1])                                          # [K, 1]
            for i in range(1, config.num_fc + 1):
                net = fully_connected(net, 1, f"bias_fc{i}", activation=activation, init=init)
            return new_weights, tf.reshape(net, [-1], name="b_transferred")
