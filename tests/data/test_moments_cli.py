"""``python -m aher.data.moments``: segment stores from a raw store + annotations, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from aher.data.features import FeatureStore, FeatureStoreWriter
from aher.data.moments import main


def test_cli_cuts_every_long_enough_instance(tmp_path, capsys):
    # 30 fps, one feature per 8 frames: 120 rows = 32 s; rows carry their index in channel 0
    with FeatureStoreWriter(tmp_path / "raw.h5", dim=4, dtype="float32") as w:
        feats = np.zeros((120, 4), np.float32)
        feats[:, 0] = np.arange(120)
        w.add("vid", feats, duration=32.0, n_frames=960, fps=30.0)
    gt = {"database": {"vid": {"subset": "training", "duration": 32.0, "annotations": [
        {"segment": [0.0, 16.0], "label": "a"},      # 60 rows
        {"segment": [20.0, 21.0], "label": "b"},     # ~4 rows: below 8 -> dropped
        {"segment": [24.0, 32.0], "label": "c"}]}}}  # 30 rows
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    assert main(["--src", str(tmp_path / "raw.h5"), "--annotations", str(tmp_path / "gt.json"),
                 "--out", str(tmp_path / "mom.h5"), "--kind", "moments", "--length", "16"]) == 0
    assert "wrote 2 moments segments of 1 videos" in capsys.readouterr().out
    with FeatureStore(tmp_path / "mom.h5") as store:
        assert store.ids() == ["vid#0", "vid#2"]
        assert store.meta("vid#2")["label"] == "c"
        first = store.get("vid#0")
        assert first.shape == (16, 4) and 0 <= first[:, 0].min() and first[:, 0].max() < 60


def test_cli_bad_source_is_one_line_error(tmp_path, capsys):
    (tmp_path / "gt.json").write_text(json.dumps({"database": {}}))
    code = None
    try:
        main(["--src", str(tmp_path / "missing.h5"), "--annotations", str(tmp_path / "gt.json"),
              "--out", str(tmp_path / "o.h5"), "--kind", "foreground"])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    assert not (tmp_path / "o.h5").exists()


def test_cli_removes_temporary_file_of_a_killed_run_and_checks_the_subset(tmp_path, capsys):
    with FeatureStoreWriter(tmp_path / "raw.h5", dim=4, dtype="float32") as w:
        w.add("vid", np.ones((120, 4), np.float32), duration=32.0, n_frames=960, fps=30.0)
    gt = {"database": {"vid": {"subset": "training", "duration": 32.0,
                               "annotations": [{"segment": [0.0, 16.0], "label": "a"}]}}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)
    stale = tmp_path / f"mom.h5.tmp-{dead}"
    stale.write_bytes(b"partial")
    args = ["--src", str(tmp_path / "raw.h5"), "--annotations", str(tmp_path / "gt.json"),
            "--out", str(tmp_path / "mom.h5"), "--kind", "moments"]
    with pytest.raises(SystemExit) as exit_:
        main(args + ["--subset", "validation"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "gt.json: no video of subset 'validation' (subsets: training)" in err
    assert main(args + ["--subset", "training"]) == 0
    assert f"removed {stale}" in capsys.readouterr().out and not stale.exists()
