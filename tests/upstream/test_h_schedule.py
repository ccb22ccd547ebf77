"""(h) The learning-rate schedule against the released code's ``get_learning_rate`` (h_lr.npz).

Upstream's counter counts samples (16 per iteration) over the boundaries 15k..75k; the project's
default ``train.lr_counter: samples`` with the default boundaries must give the same rate at
each of the 15,000 iterations of a paper run.
"""

import numpy as np
import pytest

from aher.config import load_config
from aher.paths import PROJECT_ROOT
from aher.train.schedule import learning_rate
from tests.upstream.support import load_trace

pytestmark = pytest.mark.needs_shared


@pytest.fixture(scope="module")
def trace():
    return load_trace("h_lr")


@pytest.fixture(scope="module")
def train_section():
    return load_config(PROJECT_ROOT / "configs" / "k600_paper.yaml").train


def test_defaults_are_upstream_flags(trace, train_section):
    assert int(train_section.batch_size) == int(trace["samples_per_iteration"])
    assert [float(b) for b in train_section.lr_boundaries] == [float(b) for b in trace["boundaries_samples"]]
    rates = [float(train_section.learning_rate) * float(train_section.lr_decay_factor) ** k
             for k in range(len(trace["values"]))]
    np.testing.assert_allclose(rates, trace["values"], rtol=1e-12)


def test_rate_at_every_iteration(trace, train_section):
    ours = np.array([learning_rate(i, train_section) for i in range(trace["lr"].size)])
    np.testing.assert_allclose(ours, trace["lr"], rtol=1e-12, atol=0)
    changes = np.flatnonzero(np.diff(ours)) + 1
    np.testing.assert_array_equal(changes, trace["change_iterations"])
    np.testing.assert_allclose(ours[changes], trace["values_at_changes"], rtol=1e-12)
