"""``aher.reproduce.mechanism``: the discriminator accuracy and probe AUCs the reports read of a run."""

import json

import pytest

from aher.reproduce.mechanism import DIAGNOSTICS, GENERATOR_STATS, diagnostics_at, final_diagnostics, generator_at


def _record(acc, auc):
    return {"discriminator": {"layers": [{"accuracy": acc - 0.1}, {"accuracy": acc + 0.1}, {"accuracy": None}]},
            "probe": {"input": {"auc": auc}, "layer_1": {"auc": None}},
            "generator": {"generated": {"norm": 10 * acc, "zero_fraction": 0.7, "temporal_std": 0.07},
                          "real_background": {"norm": 4.8, "zero_fraction": 0.44, "temporal_std": 0.18}}}


def test_one_record():
    assert diagnostics_at(_record(0.5, 1.0)) == {"discriminator_accuracy": pytest.approx(0.5), "probe_auc_input": 1.0,
                                                 "probe_auc_layer_1": None}
    assert diagnostics_at({}) == dict.fromkeys(DIAGNOSTICS)          # e.g. AherNet_M: no context, no discriminator
    assert generator_at(_record(0.5, 1.0)) == {"generated_norm": 5.0, "real_norm": 4.8, "generated_zero_fraction": 0.7,
                                               "real_zero_fraction": 0.44, "generated_temporal_std": 0.07,
                                               "real_temporal_std": 0.18}
    assert generator_at({"generator": {"generated": {"norm": 3.0}}}) == {**dict.fromkeys(GENERATOR_STATS),
                                                                        "generated_norm": 3.0}


def test_final_diagnostics_of_a_run_folder(tmp_path):
    assert final_diagnostics(tmp_path) is None                       # no file
    (tmp_path / "diagnostics.json").write_text("{broken")
    assert final_diagnostics(tmp_path) is None
    (tmp_path / "diagnostics.json").write_text(json.dumps({"500": _record(0.7, 0.9), "1500": _record(0.6, 0.8),
                                                           "1000": _record(0.65, 0.85)}))
    assert final_diagnostics(tmp_path)["probe_auc_input"] == 0.8      # the last snapshot by number, not by order
    assert final_diagnostics(tmp_path, iteration=1000)["discriminator_accuracy"] == pytest.approx(0.65)
    assert final_diagnostics(tmp_path, iteration=1000)["generated_norm"] == pytest.approx(6.5)
    assert final_diagnostics(tmp_path, iteration=750)["probe_auc_input"] == 0.8   # no record there: the last
    (tmp_path / "diagnostics.json").write_text("{}")
    assert final_diagnostics(tmp_path) is None
    (tmp_path / "diagnostics.json").write_text(json.dumps({"note": "x", "1500": [], "500": _record(0.7, 0.9)}))
    assert final_diagnostics(tmp_path, iteration=1500)["probe_auc_input"] == 0.9   # the only usable record
