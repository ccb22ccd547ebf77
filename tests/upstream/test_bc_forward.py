"""(b) Forward pass and (c) weight transfer at paper shapes against the released code.

One graph holds every branch the traces cover, on the recipe weights: the pooled classification
("Cls") branch of both label spaces and the localization ("Loc") branch with the transferred
classifier of each label space (``b_forward.npz``), and the transfer ``T(W, b; theta_j)`` of every
anchor layer for both label spaces (``c_transfer.npz``).
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.config.sections import ModelConfig
from aher.model.graph import AherNet
from aher.model.weight_transfer import transfer_weights
from tests.upstream.support import assert_norm_close, fill_from_recipe, load_trace

pytestmark = pytest.mark.needs_shared

NORM_TOL = 1e-5           # README: observed <= 1.4e-6 normalised
LAYERS = range(1, 9)
SPACES = {600: "moment", 200: "untrimmed"}


def _stats(x):
    x = np.asarray(x, dtype=np.float64)
    return np.array([x.sum(), np.square(x).sum(), np.abs(x).sum()])


def assert_stats_close(x, expected, rtol, what):
    """[Σx, Σx², Σ|x|] of ``x`` against upstream's. Σx cancels (it can be ~1e-3 of Σ|x|), so its
    error is measured against Σ|x|, the scale of the float32 summation error."""
    ours = _stats(x)
    assert abs(ours[0] - expected[0]) <= rtol * expected[2], f"{what}: sum {ours[0]!r} vs {expected[0]!r}"
    np.testing.assert_allclose(ours[1:], expected[1:], rtol=rtol, err_msg=what)


@pytest.fixture(scope="module")
def outputs():
    """Every fetched tensor of the project's graph on the b_forward inputs."""
    trace = load_trace("b_forward")
    model = ModelConfig()
    with tf.Graph().as_default() as graph:
        x_moment = tf.constant(trace["x_moment"])
        x_untrimmed = tf.constant(trace["x_untrimmed"])
        net = AherNet(model, {"moment": 600, "untrimmed": 200})
        cls_moment = net.classify(x_moment, "moment")
        cls_untrimmed = net.classify(x_untrimmed, "untrimmed")
        fetches = {"cls_moment_end_points": cls_moment["end_points"],
                   "cls_moment_pooled_logits": tf.stack(cls_moment["logits"]),
                   "cls_untrimmed_pooled_logits": tf.stack(cls_untrimmed["logits"])}
        for k, space in SPACES.items():
            loc = net.localize(x_untrimmed, space)
            fetches[f"loc{k}"] = {key: loc[key] for key in ("anchor_logits", "offsets", "proplogits", "overlap")}
            fetches[f"loc{k}_end_points"] = loc["end_points"]
            fetches[f"T{k}"] = []
            for j, (w, b) in zip(LAYERS, net.classifier_weights(space)):
                before = {op.name for op in graph.get_operations()}
                w_t, b_t = transfer_weights(w, b, j, model.transfer)
                hidden = [op.outputs[0] for op in graph.get_operations()
                          if op.name not in before and op.type == "Elu" and "/transfer/fc1/" in op.name]
                assert len(hidden) == 1, [t.name for t in hidden]
                fetches[f"T{k}"].append({"W_in": w, "b_in": b, "W": w_t, "b": b_t, "hidden": hidden[0]})
        with tf.compat.v1.Session(graph=graph) as session:
            fill_from_recipe(session)
            return session.run(fetches)


@pytest.fixture(scope="module")
def forward():
    return load_trace("b_forward")


@pytest.fixture(scope="module")
def transfer():
    return load_trace("c_transfer")


@pytest.mark.parametrize("j", LAYERS)
def test_end_points(outputs, forward, j):
    assert_norm_close(outputs["cls_moment_end_points"][j - 1], forward[f"cls_moment_end_point_L{j}"], NORM_TOL,
                      f"moment end point {j}")
    for k in SPACES:
        assert_norm_close(outputs[f"loc{k}_end_points"][j - 1], forward[f"loc_end_point_L{j}"], NORM_TOL,
                          f"untrimmed end point {j}")


@pytest.mark.parametrize("space", ["moment", "untrimmed"])
def test_pooled_logits(outputs, forward, space):
    assert_norm_close(outputs[f"cls_{space}_pooled_logits"], forward[f"cls_{space}_pooled_logits"], NORM_TOL,
                      f"{space} pooled logits")


@pytest.mark.parametrize("k", SPACES)
@pytest.mark.parametrize("key", ["anchor_logits", "offsets", "proplogits", "overlap"])
def test_localization_heads(outputs, forward, k, key):
    assert_norm_close(outputs[f"loc{k}"][key], forward[f"loc{k}_{key}"], NORM_TOL, f"loc{k} {key}")


@pytest.mark.parametrize("k", SPACES)
@pytest.mark.parametrize("j", LAYERS)
def test_transfer(outputs, transfer, k, j):
    ours = outputs[f"T{k}"][j - 1]
    prefix = f"T{k}_L{j}_"
    rows = transfer[f"T{k}_row_index"]
    # the classifier as upstream feeds it to T, then T(W) and the first hidden layer
    assert_stats_close(ours["W_in"], transfer[prefix + "W_in_stats"], 1e-6, prefix + "W_in")
    np.testing.assert_array_equal(ours["b_in"], transfer[prefix + "b_in"])
    assert_stats_close(ours["hidden"], transfer[prefix + "hidden_stats"], NORM_TOL, prefix + "hidden")
    assert_norm_close(ours["W"][rows], transfer[prefix + "W_rows"], NORM_TOL, f"{prefix}W rows")
    assert_norm_close(ours["W"].sum(axis=1), transfer[prefix + "W_rowsum"], NORM_TOL, f"{prefix}W row sums")
    assert_norm_close(ours["W"].sum(axis=0), transfer[prefix + "W_colsum"], NORM_TOL, f"{prefix}W column sums")
    assert_stats_close(ours["W"], transfer[prefix + "W_stats"], NORM_TOL, prefix + "W")
    assert_norm_close(ours["b"], transfer[prefix + "b"], NORM_TOL, f"{prefix}b")
