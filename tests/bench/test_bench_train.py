"""bench/bench_train.py: the bound at the matmul limit, the thread option, the report's rate table."""

import argparse
import importlib.util

import pytest

from aher.paths import PROJECT_ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_train", PROJECT_ROOT / "bench" / "bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(precision, iteration_s, limit):
    steps = ["S1", "S2"]
    return {"shape": "small", "xla": "off", "precision": precision, "formulation": "auto", "threads": "",
            "build_s": 1.0, "steps": steps, "ratio": 1.0, "iterations": 3, "batch": 16, "T": 512, "D": 128,
            "matmul_gflops": limit, "K": 600, "peak_rss_gb": 1.0, "gflop": {"S1": 30.0, "S2": 50.0},
            "mean": {"load": 0.001, "S1": iteration_s / 4, "S2": iteration_s * 3 / 4, "iteration": iteration_s},
            "graph": {"steps": {s: {"ops": 10, "host_ops": 0, "pinned_cpu": 0} for s in steps}, "load_ops": 3,
                      "load_host_ops": 0, "transfers_in": 5, "transfers_out": 0}}


def test_at_limit_is_the_analytic_work_over_the_limit(bench):
    floor, speedup = bench.at_limit(_result("float32", 0.5, 200.0))
    assert floor == pytest.approx(80.0 / 200.0)
    assert speedup == pytest.approx(0.5 / 0.4)


def test_report_gives_the_bound_for_float32_rows_only(bench):
    text = bench.render_report([_result("float32", 0.5, 200.0), _result("mixed_bfloat16", 0.3, 200.0)], "--x")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("|") and "largest speed-up" in line)
    rate_rows = lines[header + 2:header + 4]
    assert len(rate_rows) == 2
    assert "| float32 |" in rate_rows[0] and rate_rows[0].endswith("| 0.400 | 1.25x |")
    assert "| mixed_bfloat16 |" in rate_rows[1] and rate_rows[1].endswith("| - | - |")
    assert "| at the limit s | largest speed-up |" in text


@pytest.mark.parametrize("text, expected", [("", None), ("2,1", (2, 1)), ("0,0", (0, 0))])
def test_threads_option(bench, text, expected):
    assert bench._threads(text) == expected


@pytest.mark.parametrize("text", ["2", "a,b", "1,2,3", "-1,1"])
def test_bad_threads_option_is_refused(bench, text):
    with pytest.raises(argparse.ArgumentTypeError, match="--threads"):
        bench._threads(text)
