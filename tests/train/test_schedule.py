"""The learning-rate schedule, including the upstream samples-counter quirk (paper_vs_code §7.4)."""

import pytest

from aher.config import ConfigError, load_config
from aher.train.schedule import learning_rate


def _train(*overrides):
    return load_config("configs/k600_paper.yaml", list(overrides)).train


UPSTREAM = _train("train.learning_rate=1e-4", "train.lr_decay_factor=0.1", "train.batch_size=16",
                  "train.lr_boundaries=[15000, 30000, 45000, 60000, 75000]", "train.lr_counter=samples")


@pytest.mark.parametrize("iteration,expected", [(0, 1e-4), (937, 1e-4), (938, 1e-5), (1875, 1e-5), (1876, 1e-6),
                                                (2812, 1e-6), (2813, 1e-7), (3751, 1e-8), (4687, 1e-8),
                                                (4688, 1e-9), (14999, 1e-9)])
def test_upstream_samples_counter(iteration, expected):
    assert learning_rate(iteration, UPSTREAM) == pytest.approx(expected, rel=1e-9)


def test_iteration_counter():
    train = _train("train.lr_counter=iterations")
    assert learning_rate(15000, train) == pytest.approx(1e-4)
    assert learning_rate(15001, train) == pytest.approx(1e-5)


def test_bad_counter():
    with pytest.raises(ConfigError, match="train.lr_counter: 'epochs' is not allowed; allowed: one of samples"):
        _train("train.lr_counter=epochs")
