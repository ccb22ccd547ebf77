"""The AherNet graph builder: one parameterised builder for every branch of the paper.

Contract: :class:`AherNet` wires backbone, heads and weight transfer into the two graph
branches of the reference (paper_vs_code §3.3, paper_vs_code §7.1), sharing all variables through ``AUTO_REUSE``:

* ``classify(features, label_space)`` -- the pooled-classification ("Cls") branch: backbone,
  then per anchor layer the segment-level classifier ``W_regv`` of a label space
  (``"untrimmed"`` or ``"moment"``).  Returns logits per layer and the classifier weights.
* ``localize(features, label_space)`` -- the localization ("Loc") branch: backbone, box heads
  of every layer, and the anchor-level classifier whose kernel is ``T(W_regv; theta_j)`` of the
  chosen label space (Eq. 1).  Outputs are flattened over layers (layer, cell, anchor order;
  see ``docs/model_contract.md``).

Which label space a branch uses, and therefore which classifier is transferred, is an
argument -- the upstream ``net_*`` / ``aher_net_*`` copies are one function here.
Limits: no losses, no optimizers, no data input (see ``aher.model.losses`` and ``aher.train``).
"""

import tensorflow as tf

from aher.model import anchors as anchors_lib
from aher.model.backbone import BackboneConfig, backbone
from aher.model.heads import anchor_classifier, box_heads, pooled_classifier
from aher.model.weight_transfer import transfer_weights

LABEL_SPACES = ("untrimmed", "moment")


def backbone_config(model):
    """The backbone's settings of a :class:`ModelConfig`."""
    return BackboneConfig(input_dim=model.feature_dim, conv1_width=model.conv1_width,
                          conv2_width=model.conv2_width, anchor_widths=tuple(model.anchor_widths))


class AherNet:
    """Builds the branches of AherNet on given input tensors (all variables shared).

    Args:
      config: :class:`ModelConfig`.
      num_classes: ``{"untrimmed": K_u, "moment": K_m}`` -- class counts of the two label spaces
        (a label space may be absent when a run never uses it).
    """

    def __init__(self, config, num_classes):
        self.config = config
        self.num_classes = dict(num_classes)
        self.layers = anchors_lib.anchor_layers(config.temporal_length)

    # ----------------------------------------------------------------------------- branches
    def end_points(self, features):
        """Backbone end points ``conv_a1..aL`` for ``features [B, T, D]``."""
        return backbone(features, backbone_config(self.config), self.config.num_layers)

    def _check_space(self, label_space):
        if label_space not in self.num_classes:
            raise ValueError(f"label space {label_space!r} not configured (have {sorted(self.num_classes)})")

    def classify(self, features, label_space, end_points=None):
        """Pooled-classification branch (paper_vs_code §3.1).

        Args:
          features: [B, T', D] (moments: T' = T/2; foreground segments: T' = T).
          label_space: ``"untrimmed"`` or ``"moment"``.
        Returns dict: ``logits`` list of L tensors [B, K]; ``weights`` list of L (W [K, C_j], b [K]);
        ``end_points`` list of L [B, T'_j, C_j].
        """
        self._check_space(label_space)
        with tf.compat.v1.name_scope(f"cls_{label_space}"):
            points = end_points if end_points is not None else self.end_points(features)
            logits, weights = [], []
            for layer, point in zip(self.layers, points):
                layer_logits, w, b = pooled_classifier(point, layer.index, self.num_classes[label_space], label_space)
                logits.append(layer_logits)
                weights.append((w, b))
        return {"logits": logits, "weights": weights, "end_points": points}

    def classifier_weights(self, label_space):
        """The per-layer ``(W, b)`` of a label space without running an input through it.

        The pooled classifier's variables do not depend on the input, so they are created (or
        reused) by building the Cls branch on a small constant input whose ops are never run.
        """
        dummy = tf.zeros([1, self.config.moment_length, self.config.feature_dim], name="classifier_probe")
        return self.classify(dummy, label_space)["weights"]

    def localize(self, features, label_space, weights=None, end_points=None, transfer=True):
        """Localization branch with transferred anchor-level classification (Eq. 1, paper_vs_code §3.2).

        Args:
          features: [B, T, D].
          label_space: whose pooled classifier is transferred.
          weights: per-layer (W, b) of that label space (default: its classifier variables).
          transfer: False classifies cells with ``W_regv`` itself instead of ``T(W_regv)`` (the
            AherNet^- baseline's "no weight transfer").
        Returns dict (N_cell = sum T_j, N_anc = A * N_cell):
          ``proplogits`` [B, N_anc, 2], ``offsets`` [B, N_anc, 2], ``overlap`` [B, N_anc] (sigmoid),
          ``overlap_logits`` [B, N_anc], ``anchor_logits`` [B, N_cell, K], ``cell_probs`` [B, N_cell, K],
          ``end_points`` list of L [B, T_j, C_j], ``per_layer`` list of dicts of the unflattened outputs.
        """
        self._check_space(label_space)
        if weights is None:
            weights = self.classifier_weights(label_space)
        with tf.compat.v1.name_scope(f"loc_{label_space}"):
            points = end_points if end_points is not None else self.end_points(features)
            per_layer = []
            for layer, point, (w, b) in zip(self.layers, points, weights):
                heads = box_heads(point, layer.index, self.config.num_anchors)
                w_t, b_t = transfer_weights(w, b, layer.index, self.config.transfer) if transfer else (w, b)
                heads["anchor_logits"] = anchor_classifier(point, w_t, b_t)
                per_layer.append(heads)
            out = {
                "proplogits": _flatten(per_layer, "proplogits", anchors=True),
                "offsets": _flatten(per_layer, "offsets", anchors=True),
                "overlap": _flatten(per_layer, "overlap", anchors=True),
                "overlap_logits": _flatten(per_layer, "overlap_logits", anchors=True),
                "anchor_logits": _flatten(per_layer, "anchor_logits", anchors=False),
            }
            out["cell_probs"] = tf.nn.softmax(out["anchor_logits"], name="cell_probs")
        out["end_points"] = points
        out["per_layer"] = per_layer
        return out


def _flatten(per_layer, key, anchors):
    """Concatenate per-layer outputs along one flattened position axis.

    Anchor tensors [B, T_j, A(, k)] -> [B, sum(T_j * A)(, k)]; cell tensors [B, T_j, k] -> [B, sum T_j, k].
    """
    parts = []
    for heads in per_layer:
        x = heads[key]
        shape = x.shape.as_list()
        batch = tf.shape(x)[0]
        if anchors:
            cells = shape[1] * shape[2]
            new_shape = [batch, cells] + shape[3:]
        else:
            new_shape = [batch, shape[1]] + shape[2:]
        parts.append(tf.reshape(x, new_shape))
    return tf.concat(parts, axis=1, name=f"{key}_flat")
