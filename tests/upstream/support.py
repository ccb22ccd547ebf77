"""Shared pieces of the upstream-equivalence tests: trace files, the weight recipe, comparisons.

The traces in ``<shared>/upstream_traces`` hold outputs of the released AherNet code on weights
made by a deterministic recipe keyed by the *upstream* variable name; no weights are stored.
:func:`recipe_value` implements that recipe and :func:`fill_from_recipe` loads it into every
trainable variable of a project graph, translating names through
``aher.tools.upstream_variables``.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest
import tensorflow as tf

from aher.paths import shared_dir
from aher.tools.upstream_variables import to_upstream

THETA_KERNEL = re.compile(r"/fully[1-4]/weights$")


def traces_dir():
    return shared_dir() / "upstream_traces"


def require_traces():
    """The traces folder, or skip the calling test with a reason naming it."""
    path = traces_dir()
    if not (path / "variables.json").is_file():
        pytest.skip(f"upstream traces folder {path} is absent (set AHER_SHARED or place shared/ next to the project)")
    return path


def load_trace(name):
    """Arrays of ``<traces>/<name>.npz`` as a dict (skips when the folder is absent)."""
    with np.load(require_traces() / f"{name}.npz", allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def recipe_value(upstream_name, shape):
    """The recipe value (float32) of the upstream variable ``upstream_name`` with ``shape``."""
    shape = tuple(int(s) for s in shape)
    z = np.random.default_rng(zlib.crc32(upstream_name.encode())).standard_normal(shape).astype(np.float32)
    if THETA_KERNEL.search(upstream_name):
        return np.eye(shape[0], shape[1], dtype=np.float32) + z * np.float32(0.01)
    if upstream_name.endswith("/weights"):
        return z * np.float32(np.sqrt(2.0 / np.prod(shape[:-1])))
    return z * np.float32(0.01)


class VariableLoader:
    """Assigns values to every trainable variable of ``graph`` in one ``session.run``.

    One run with one feed signature: on the large training graphs a run per variable would
    prepare a new executor each time (about a minute at paper shapes).
    """

    def __init__(self, graph):
        self.graph = graph
        self.feeds, ops = {}, []
        with graph.as_default(), tf.name_scope("recipe_loader"):
            for var in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
                placeholder = tf.compat.v1.placeholder(var.dtype.base_dtype, var.shape)
                self.feeds[var.op.name] = (placeholder, var)
                ops.append(tf.compat.v1.assign(var, placeholder).op)
            self.op = tf.group(*ops)

    def recipe(self):
        """{project name: recipe value} of the graph's trainable variables (KeyError for a
        variable without upstream counterpart)."""
        return {name: recipe_value(to_upstream(name), var.shape.as_list()) for name, (_, var) in self.feeds.items()}

    def load(self, session, values):
        session.run(self.op, {placeholder: values[name] for name, (placeholder, _) in self.feeds.items()})


def fill_from_recipe(session):
    """Load the recipe into every trainable variable of the session's graph; return {project name: value}.

    Every trainable variable must have an upstream counterpart (KeyError otherwise).
    """
    loader = VariableLoader(session.graph)
    values = loader.recipe()
    loader.load(session, values)
    return values


def norm_error(actual, expected):
    """max |actual - expected| / max |expected| (0 when both are all zero)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    diff = np.max(np.abs(actual - expected)) if expected.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def assert_norm_close(actual, expected, tol, what):
    err = norm_error(actual, expected)
    assert err <= tol, f"{what}: normalised error {err:.3g} > {tol:g}"


def assert_rel_close(actual, expected, rtol, what, atol=0.0):
    actual, expected = float(actual), float(expected)
    limit = rtol * abs(expected) + atol
    assert abs(actual - expected) <= limit, f"{what}: {actual!r} vs upstream {expected!r} (allowed {limit:.3g})"
