"""The Algorithm-1 training graph has the same number of ops at every batch size (no Python loop over samples)."""

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from aher.config import load_config
from aher.train.algorithm1 import build_algorithm1_graph

# T = 64: every per-sample tensor that tf.zeros_like / tf.ones_like fill (anchor scores, [B, anchors])
# has >= 1000 elements at both batch sizes. Below 1000 elements TF emits one Const, above a
# shape + value + Fill, which would change the count with B without any per-sample op.
T, D, G = 64, 8, 4


def tiny_config(batch):
    return load_config("configs/synthetic_tiny.yaml", [
        f"model.feature_dim={D}", f"model.temporal_length={T}", "model.conv1_width=8", "model.conv2_width=8",
        f"model.anchor_widths={[8] * 8}", "context.hidden_width=8", f"train.batch_size={batch}"])


def zero_streams(batch):
    def zeros(*shape, dtype=np.float32):
        return np.zeros(shape, dtype)

    arrays = {
        "moments": {"features": zeros(batch, T // 2, D), "label": zeros(batch, dtype=np.int32),
                    "ratio_id": np.full(batch, 14, np.int32), "pos_id": np.ones(batch, np.int32)},
        "untrimmed": {"features": zeros(batch, T, D), "gt": zeros(batch, G, 2), "label": zeros(batch, dtype=np.int32),
                      "duration": np.full(batch, 60.0, np.float32)},
        "foreground": {"features": zeros(batch, T, D), "label": zeros(batch, dtype=np.int32)},
    }
    return {k: tf.data.Dataset.from_tensors(v).repeat() for k, v in arrays.items()}


def op_types(method, batch):
    """Counter of the op types of the method's whole training graph at batch size ``batch``."""
    with tf.Graph().as_default() as graph:
        build_algorithm1_graph(tiny_config(batch), zero_streams(batch), {"untrimmed": 2, "moment": 3}, method=method)
        return Counter(op.type for op in graph.get_operations())


@pytest.mark.parametrize("method", ["algorithm1", "no_adversary"])
def test_graph_size_does_not_depend_on_the_batch_size(method):
    small, large = op_types(method, 16), op_types(method, 64)
    assert sum(small.values()) == sum(large.values()), {"more at B=64": large - small, "more at B=16": small - large}
    assert small == large
