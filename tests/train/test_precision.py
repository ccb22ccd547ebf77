"""``train.precision``: mixed bfloat16 / float16 training on the tiny config.

The convolutions compute in the low type; variables and optimizer state stay float32, float16
adds dynamic loss scaling (its state is in the checkpoint); the run trains, saves and evaluates.
"""

import numpy as np
import pytest
import tensorflow as tf

from aher.config import load_config
from aher.errors import ConfigError
from aher.inference import evaluate_run
from aher.train.driver import train_run


@pytest.mark.parametrize("precision", ["mixed_bfloat16", pytest.param("mixed_float16", marks=pytest.mark.slow)])
def test_mixed_precision_run_trains_float32_variables(project_root, tmp_path, precision):
    config = load_config(project_root / "configs" / "k600_synthetic_tiny.yaml",
                         [f"data.root={tmp_path}/data", f"train.precision={precision}", "train.iterations=4",
                          "train.snapshot_every=4"])
    out = tmp_path / "run"
    _, checkpoint = train_run(config, str(out), progress=False, log=lambda *a: None)
    reader = tf.train.load_checkpoint(checkpoint)
    dtypes = reader.get_variable_to_dtype_map()
    model = [k for k in dtypes if k.startswith("aher/")]
    assert len(model) > 50 and {dtypes[k] for k in model} == {tf.float32}
    slots = [k for k in dtypes if "/S3_adam_prop" in k]
    assert slots and {dtypes[k] for k in slots} == {tf.float32}
    scales = [k for k in dtypes if "loss_scale" in k.lower()]
    if precision == "mixed_float16":
        assert scales, "dynamic loss scale not in the checkpoint"
        values = [float(reader.get_tensor(k)) for k in scales if dtypes[k] == tf.float32]
        assert values and all(np.isfinite(v) and v >= 1 for v in values)
    else:
        assert not scales
    for name in model:
        assert np.all(np.isfinite(reader.get_tensor(name))), name
    metrics = evaluate_run(config, str(out), str(out), progress=False)
    assert np.isfinite(metrics["average_mAP"]) and 0.0 <= metrics["AUC"] <= 100.0


def test_unknown_precision_is_a_config_error(project_root):
    with pytest.raises(ConfigError, match="precision"):
        load_config(project_root / "configs" / "k600_synthetic_tiny.yaml", ["train.precision=float8"])


def test_config_precisions_are_the_layers_policies():
    from aher.config.sections import PRECISIONS
    from aher.model.layers import PRECISIONS as LAYER_PRECISIONS

    assert tuple(LAYER_PRECISIONS) == PRECISIONS
