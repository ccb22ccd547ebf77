"""Shared pytest fixtures.

``shared`` gives the path of ../shared (reference data read by path, never copied into the
project); tests that need it are skipped with a clear reason when it is absent.
"""

import pytest

from aher.paths import PROJECT_ROOT, shared_dir


@pytest.fixture(scope="session")
def project_root():
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def shared():
    path = shared_dir()
    if not (path / "eval_fixtures").is_dir() or not (path / "data").is_dir():
        pytest.skip(f"reference folder {path} is absent (set AHER_SHARED or place shared/ next to the project)")
    return path


@pytest.fixture(scope="session")
def tiny_k600_run(tmp_path_factory):
    """A k600 run on the tiny synthetic benchmark: 1 iteration of Algorithm 1, not tested.

    Returns ``(run folder, data root)``; tests must not change it (copy what they alter).  Its
    ``metrics.json`` is a stand-in written here, so a test can check that nothing overwrote it."""
    import json
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("tiny_k600_run")
    run, data = root / "run", root / "data"
    cmd = [sys.executable, "aher_k600_train.py", "--config", "configs/k600_synthetic_tiny.yaml", "--out", str(run),
           "--set", f"data.root={data}", "--set", "train.iterations=1",
           "--no-test", "--quiet"]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (run / "metrics.json").write_text(json.dumps({"average_mAP": 0.1227, "label_space": "moment"}))
    return run, data
