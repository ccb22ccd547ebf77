"""The upstream variable map and the weight recipe against ``variables.json`` of the traces.

* the recipe implemented in ``tests/upstream/support.py`` reproduces every variable's float64
  ``recipe_sum`` / ``recipe_sumsq``, so the weights the other tests load are the traces' weights;
* ``aher.tools.upstream_variables`` maps the 188 upstream variables one to one onto the
  trainable variables of this project's paper-scale Algorithm-1 graph, with equal shapes, each in
  the variable group its row names.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from aher.model import variable_groups
from aher.model.context import ContextConfig, generators
from aher.model.discriminator import discriminator_logits
from aher.config.sections import ModelConfig
from aher.model.graph import AherNet
from aher.tools.upstream_variables import to_project, to_upstream, variable_table
from tests.upstream.support import recipe_value, require_traces

pytestmark = pytest.mark.needs_shared


@pytest.fixture(scope="module")
def upstream_variables():
    with open(require_traces() / "variables.json") as fh:
        return json.load(fh)["variables"]


@pytest.fixture(scope="module")
def project_variables():
    """{name: shape} of the trainable variables of the paper-scale graph (every branch built once)."""
    with tf.Graph().as_default() as graph:
        model = ModelConfig()
        net = AherNet(model, {"untrimmed": 200, "moment": 600})
        untrimmed = tf.zeros([1, model.temporal_length, model.feature_dim])
        moments = tf.zeros([1, model.moment_length, model.feature_dim])
        net.classify(moments, "moment")
        net.classify(untrimmed, "untrimmed")
        loc = net.localize(untrimmed, "untrimmed")
        net.localize(untrimmed, "moment")
        generators(moments, ContextConfig())
        discriminator_logits(loc["end_points"])
        variables = graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
        return {v.op.name: tuple(v.shape.as_list()) for v in variables}


def test_recipe_matches_the_checksums(upstream_variables):
    assert len(upstream_variables) == 188
    for entry in upstream_variables:
        value = recipe_value(entry["name"], entry["shape"]).astype(np.float64)
        assert value.shape == tuple(entry["shape"])
        np.testing.assert_allclose(value.sum(), entry["recipe_sum"], rtol=1e-9, atol=1e-9, err_msg=entry["name"])
        np.testing.assert_allclose(np.square(value).sum(), entry["recipe_sumsq"], rtol=1e-9, err_msg=entry["name"])


def test_map_covers_exactly_the_upstream_variables(upstream_variables):
    names = {entry["name"] for entry in upstream_variables}
    table = variable_table()
    assert {row.upstream for row in table} == names
    assert len({row.project for row in table}) == len(table) == 188
    for row in table:
        assert to_project(row.upstream) == row.project
        assert to_upstream(row.project + ":0") == row.upstream


def test_map_is_the_project_graph(upstream_variables, project_variables):
    shapes = {entry["name"]: tuple(entry["shape"]) for entry in upstream_variables}
    assert set(project_variables) == {row.project for row in variable_table()}
    for row in variable_table():
        assert project_variables[row.project] == shapes[row.upstream], row
        assert variable_groups.group_of(row.project) == (row.group,), row


def test_unknown_names_are_rejected():
    with pytest.raises(KeyError, match="released AherNet graph"):
        to_project("aher/conv_a9_box/conv_cls/weights")
    with pytest.raises(KeyError, match="no counterpart"):
        to_upstream("train/iteration")


def test_fewer_layers_shrink_the_table():
    table = variable_table(num_layers=3)
    assert not any("conv_a4" in row.project for row in table)
    # 2 backbone convs + 4 generator convs + 3 layers x (backbone, 2 classifiers, 3 heads, 4 transfer fc, D)
    assert len(table) == 2 * (2 + 4 + 3 * 11)
