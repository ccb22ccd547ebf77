"""Every top-level entry script exists and answers --help."""

import subprocess
import sys

import pytest

SCRIPTS = ["aher_k600_train.py", "aher_k600_test.py", "aher_anet_split_train.py", "aher_th14_anet_train.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(project_root, script):
    out = subprocess.run([sys.executable, str(project_root / script), "--help"],
                         capture_output=True, text=True, cwd=project_root)
    assert out.returncode == 0, out.stderr
    assert "--config" in out.stdout
