"""The package layers of .importlinter hold: no module imports a layer above its own."""

import shutil
import subprocess
import sys
from pathlib import Path


def test_import_layers_contract_is_kept(project_root):
    exe = Path(sys.executable).with_name("lint-imports")
    command = [str(exe)] if exe.is_file() else [shutil.which("lint-imports") or "lint-imports"]
    proc = subprocess.run(command + ["--config", str(project_root / ".importlinter")], cwd=project_root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout
