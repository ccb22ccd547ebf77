"""Supervised trainer helpers: the Fig. 6 annotation fractions."""

import math

import numpy as np
import pytest

from aher.data.annotations import Instance, Video
from aher.data.features import FeatureStoreWriter
from aher.config import ConfigError, load_config
from aher.train.supervised import annotated_subset


def _config(fraction, seed=3):
    return load_config("configs/synthetic_tiny.yaml", [f"data.annotation_fraction={fraction}", f"data.seed={seed}"])


class FakeDataset:
    def __init__(self, root, n):
        self.root = root
        self.videos = [Video(f"v{i}", 10.0, "training", [Instance(1.0, 5.0, "a")]) for i in range(n)]
        self.videos.append(Video("eval0", 10.0, "validation", [Instance(1.0, 5.0, "a")]))
        with FeatureStoreWriter(root / "oracle.h5", dim=2, dtype="float32") as w:
            for v in self.videos[:n]:
                w.add(v.video_id, np.zeros((4, 2), np.float32))

    def path(self, key):
        return self.root / "oracle.h5"


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 1.0])
def test_fraction_keeps_nested_subsets(tmp_path, fraction):
    ds = FakeDataset(tmp_path, 20)
    cfg = _config(fraction)
    kept = {v.video_id for v in annotated_subset(ds, "oracle_train", cfg) if v.instances and v.subset == "training"}
    assert len(kept) == math.ceil(fraction * 20)
    smaller = {v.video_id for v in annotated_subset(ds, "oracle_train", _config(0.1))
               if v.instances and v.subset == "training"}
    assert smaller <= kept                                    # nested across fractions
    assert any(v.video_id == "eval0" and v.instances for v in annotated_subset(ds, "oracle_train", cfg))


def test_bad_fraction():
    with pytest.raises(ConfigError, match="data.annotation_fraction: 0.0 is not allowed; allowed: > 0 and <= 1"):
        _config(0.0)
