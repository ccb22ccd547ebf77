"""``train.deterministic``: two runs of the tiny config with one seed give identical weights and metrics.

Deterministic mode is process-wide (TensorFlow's op determinism cannot be switched off again),
so both runs happen in one subprocess.
"""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    from aher.config import load_config
    from aher.inference import evaluate_run
    from aher.train.driver import train_run

    root = sys.argv[1]
    config = load_config("configs/k600_synthetic_tiny.yaml",
                         [f"data.root={root}/data", "train.deterministic=true", "train.iterations=6",
                          "train.snapshot_every=6"])
    metrics, weights = [], []
    for name in ("a", "b"):
        out = f"{root}/{name}"
        _, checkpoint = train_run(config, out, progress=False, log=lambda *a: None)
        reader = tf.train.load_checkpoint(checkpoint)
        weights.append({k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()})
        metrics.append(evaluate_run(config, out, out, progress=False))
    same = sorted(weights[0]) == sorted(weights[1]) and all(np.array_equal(weights[0][k], weights[1][k])
                                                            for k in weights[0])
    keys = ("average_mAP", "mAP", "AR@100", "AUC", "video_accuracy", "average_mAP_gt_labels")
    print(json.dumps({"weights_equal": bool(same), "variables": len(weights[0]),
                      "metrics": [{k: m[k] for k in keys} for m in metrics]}))
""")


@pytest.mark.slow
def test_two_deterministic_runs_are_identical(project_root, tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=project_root, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["variables"] > 50 and result["weights_equal"]
    first, second = result["metrics"]
    assert first == second
