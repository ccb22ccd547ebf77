"""The learning-rate schedule, including the upstream samples-counter quirk (reference §7.4)."""

import pytest

from aher.train.schedule import learning_rate

UPSTREAM = {"learning_rate": 1e-4, "lr_decay_factor": 0.1, "batch_size": 16,
            "lr_boundaries": [15000, 30000, 45000, 60000, 75000], "lr_counter": "samples"}


@pytest.mark.parametrize("iteration,expected", [(0, 1e-4), (937, 1e-4), (938, 1e-5), (1875, 1e-5), (1876, 1e-6),
                                                (2812, 1e-6), (2813, 1e-7), (3751, 1e-8), (4687, 1e-8),
                                                (4688, 1e-9), (14999, 1e-9)])
def test_upstream_samples_counter(iteration, expected):
    assert learning_rate(iteration, UPSTREAM) == pytest.approx(expected, rel=1e-9)


def test_iteration_counter():
    train = dict(UPSTREAM, lr_counter="iterations")
    assert learning_rate(15000, train) == pytest.approx(1e-4)
    assert learning_rate(15001, train) == pytest.approx(1e-5)


def test_bad_counter():
    with pytest.raises(ValueError, match="lr_counter"):
        learning_rate(0, dict(UPSTREAM, lr_counter="epochs"))
