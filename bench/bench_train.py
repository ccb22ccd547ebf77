#!/usr/bin/env python
"""Time Algorithm 1: per sub-step, per iteration, the overhead ratio, and the rate against the matmul limit.

For each configuration (small synthetic config with its real input pipeline; paper shapes
T=512, D=2048, B=16, K=200/600 with in-memory random batches), with and without XLA
auto-clustering, a fresh subprocess first measures the machine's fp32 matmul rate
([8192, 2048] x [2048, 2048], best of a few runs: the limit), then builds the Algorithm-1 graph,
runs ``--warmup`` iterations, then times ``--iterations`` iterations: the batch load, every
sub-step's ``session.run``, and the whole iteration.  ratio = iteration time / sum of sub-step
times (goal <= 1.2: the batch cache means sub-steps re-use one batch instead of re-feeding it
from Python).  Each sub-step's analytic GFLOP (``aher.train.flops``: matrix products, forward and
the backward passes it runs) over its time gives its GFLOP/s; the iteration's GFLOP/s over the
limit gives its % of the limit, and the analytic GFLOP over the limit the iteration's time at the
limit (as if every product ran at the limit and nothing else took time), so the measured time over
it bounds what a float32 change that keeps what the sub-steps compute can gain on this machine.

It also reports the graph of one iteration (``aher.train.graph_stats``: ops per sub-step, Python
ops, ops pinned to the CPU, host transfers), the peak memory of each run, and with
``--moment-classes 600,200,1200,3000`` the cost of the paper shapes against the number of moment
classes (the first K is the main rows'; the others one timed iteration each, XLA off).

  python bench/bench_train.py [--configs small,paper] [--xla off,on] [--precision float32,mixed_bfloat16]
                              [--moment-classes 600,200,1200,3000] [--iterations 3] [--report reports/bench_train.md]
                              [--formulation auto|conv|matmul] [--threads INTRA,INTER]
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MATMUL_SHAPE = (8192, 2048, 2048)      # [M, K] x [K, N]
MATMUL_REPEATS = 5


def paper_overrides():
    return ["model.feature_dim=2048", "model.temporal_length=512", "model.conv1_width=2048",
            "model.conv2_width=1024", "model.anchor_widths=[256, 256, 512, 512, 1024, 1024, 2048, 2048]",
            "context.hidden_width=1024", "train.batch_size=16", "inference.select_top_k=765"]


def memory_streams(config, num_classes, seed=0):
    import numpy as np
    import tensorflow as tf

    model = config.model
    b, t, d = config.train.batch_size, model.temporal_length, model.feature_dim
    rng = np.random.default_rng(seed)
    gt = -np.ones((b, 25, 2), np.float32)
    starts = rng.uniform(0, t * 0.6, size=b)
    gt[:, 0, 0], gt[:, 0, 1] = starts, starts + rng.uniform(t * 0.1, t * 0.4, size=b)
    arrays = {
        "moments": {"features": rng.normal(size=(b, t // 2, d)).astype(np.float32),
                    "label": rng.integers(0, num_classes["moment"], b).astype(np.int32),
                    "ratio_id": rng.integers(14, 20, b).astype(np.int32),
                    "pos_id": rng.integers(1, 20, b).astype(np.int32)},
        "untrimmed": {"features": rng.normal(size=(b, t, d)).astype(np.float32), "gt": gt,
                      "label": rng.integers(0, num_classes["untrimmed"], b).astype(np.int32),
                      "duration": np.full(b, 120.0, np.float32)},
        "foreground": {"features": rng.normal(size=(b, t, d)).astype(np.float32),
                       "label": rng.integers(0, num_classes["untrimmed"], b).astype(np.int32)},
    }
    return {k: tf.data.Dataset.from_tensors(v).repeat() for k, v in arrays.items()}


def matmul_gflops(repeats=MATMUL_REPEATS, threads=None, shape=MATMUL_SHAPE):
    """Best fp32 matmul rate of this process, GFLOP/s: [M, K] x [K, N] (``shape``) on variables,
    one warm-up run, then the fastest of ``repeats`` timed runs (the product is computed, not fetched).
    ``threads``: intra- and inter-op threads, one count for both or an (intra, inter) pair (default: the
    trainer's session options); the first
    session of a process sizes its thread pools, so measure another count in a process of its own."""
    import tensorflow as tf

    from aher.train.driver import session_config

    m, k, n = shape
    with tf.Graph().as_default() as graph:
        a = tf.compat.v1.Variable(tf.random.uniform([m, k]), name="a")
        b = tf.compat.v1.Variable(tf.random.uniform([k, n]), name="b")
        product = tf.linalg.matmul(a, b)
        init = tf.compat.v1.global_variables_initializer()
    cfg = session_config()
    if threads:
        intra, inter = threads if isinstance(threads, tuple) else (threads, threads)
        cfg.intra_op_parallelism_threads, cfg.inter_op_parallelism_threads = intra, inter
    with tf.compat.v1.Session(graph=graph, config=cfg) as sess:
        sess.run(init)
        sess.run(product.op)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            sess.run(product.op)
            best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best / 1e9


def bench_setup(shape, overrides, moment_classes=600):
    """(config, {label space: classes}, streams factory) of a bench shape: ``paper`` (paper widths, in-memory
    random batches, 200 untrimmed-set classes) or ``small`` (the small k600 config and its HDF5 pipeline)."""
    from aher.config import load_config
    from aher.train.algorithm1 import make_streams

    config_file = ROOT / "configs" / "k600_synthetic_small.yaml"
    if shape == "paper":
        config = load_config(config_file, paper_overrides() + list(overrides))
        classes = {"untrimmed": 200, "moment": moment_classes}
        return config, classes, lambda: memory_streams(config, classes)
    from aher.datasets import resolve_dataset

    config = load_config(config_file, list(overrides))
    dataset = resolve_dataset(config, log=lambda *a: None, progress=False)
    classes = {k: len(v) for k, v in dataset.classes.items()}
    return config, classes, lambda: make_streams(config, dataset)


def time_iterations(sess, loop, warmup, iterations):
    """Mean seconds of the batch load, each sub-step and the whole iteration over ``iterations`` timed
    Algorithm-1 iterations after ``warmup`` untimed ones."""
    timings = []
    for it in range(warmup + iterations):
        row = {}
        start = time.perf_counter()
        sess.run(loop.load_batches)
        row["load"] = time.perf_counter() - start
        for step in loop.steps:
            s = time.perf_counter()
            sess.run(step.train_op, feed_dict={loop.lr: 1e-4} if step.feed_lr else {})
            row[step.name] = time.perf_counter() - s
        row["iteration"] = time.perf_counter() - start
        if it >= warmup:
            timings.append(row)
    return {k: sum(r[k] for r in timings) / len(timings) for k in timings[0]}


def worker(args):
    """Run inside a subprocess: matmul limit, build, warm up, time; print one JSON line."""
    import tensorflow as tf

    from aher.model.layers import conv_formulation
    from aher.train.algorithm1 import build_algorithm1_graph
    from aher.train.driver import session_config
    from aher.train.flops import iteration_flops
    from aher.train.graph_stats import iteration_stats

    threads = args.threads
    limit = matmul_gflops(threads=threads)
    config, classes, streams = bench_setup(args.shape, [f"train.precision={args.precision}"], args.moment_classes)
    graph = tf.Graph()
    with graph.as_default():
        t0 = time.perf_counter()
        with conv_formulation(args.formulation):
            loop = build_algorithm1_graph(config, streams(), classes)
        graph_stats = iteration_stats(loop)
        init = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
        build_s = time.perf_counter() - t0
        sess_cfg = session_config()
        if threads:
            sess_cfg.intra_op_parallelism_threads, sess_cfg.inter_op_parallelism_threads = threads
        if args.xla == "on":
            sess_cfg.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
        with tf.compat.v1.Session(graph=graph, config=sess_cfg) as sess:
            sess.run(init)
            mean = time_iterations(sess, loop, args.warmup, args.iterations)
    steps = [s.name for s in loop.steps]
    compute = sum(mean[s] for s in steps)
    analytic = iteration_flops(config, classes)
    if list(analytic) != steps:
        raise RuntimeError(f"analytic sub-steps {list(analytic)} differ from the graph's {steps}")
    print(json.dumps({"shape": args.shape, "xla": args.xla, "precision": args.precision,
                      "formulation": args.formulation, "threads": args.threads, "build_s": build_s, "mean": mean, "steps": steps,
                      "ratio": mean["iteration"] / compute, "iterations": args.iterations,
                      "batch": config.train.batch_size, "T": config.model.temporal_length,
                      "D": config.model.feature_dim, "matmul_gflops": limit, "K": classes["moment"],
                      "graph": graph_stats, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "gflop": {s: analytic[s].total / 1e9 for s in steps}}))


def _threads(text):
    """``--threads``: "" (the trainer's session options) or "INTRA,INTER" -> (intra, inter) thread counts."""
    if not text:
        return None
    try:
        intra, inter = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads {text!r}: expected INTRA,INTER, two integers (0: TensorFlow's choice)")
    if intra < 0 or inter < 0:
        raise argparse.ArgumentTypeError(f"--threads {text!r}: thread counts must be >= 0")
    return intra, inter


def rates(res):
    """Per sub-step and for the iteration: (seconds, analytic GFLOP, GFLOP/s, % of the matmul limit)."""
    m, gflop, limit = res["mean"], res["gflop"], res["matmul_gflops"]
    rows = {s: (m[s], gflop[s]) for s in res["steps"]}
    rows["iteration"] = (m["iteration"], sum(gflop.values()))
    return {k: (sec, work, work / sec, 100 * work / sec / limit) for k, (sec, work) in rows.items()}


def at_limit(res):
    """(the iteration's seconds at the matmul limit, measured seconds / that): the largest speed-up."""
    floor = sum(res["gflop"].values()) / res["matmul_gflops"]
    return floor, res["mean"]["iteration"] / floor


def print_rates(res):
    print(f"  matmul limit {res['matmul_gflops']:.1f} GFLOP/s ({'x'.join(map(str, MATMUL_SHAPE))}, best of "
          f"{MATMUL_REPEATS})")
    print(f"  {'step':<10}{'time s':>9}{'GFLOP':>10}{'GFLOP/s':>10}{'% limit':>9}")
    for name, (sec, work, rate, share) in rates(res).items():
        print(f"  {name:<10}{sec:>9.3f}{work:>10.1f}{rate:>10.1f}{share:>9.1f}")
    floor, speedup = at_limit(res)
    if res["precision"] == "float32":
        print(f"  at the limit the iteration would take {floor:.3f} s: at most {speedup:.2f}x faster than measured")


SHAPES = ("small", "paper")


def _shapes(text):
    """argparse type of ``--configs``: a comma list of ``SHAPES``."""
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in SHAPES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown shape {', '.join(unknown)}; expected a comma list of {', '.join(SHAPES)}")
    return ",".join(names)


def bench_parser(doc, configs, warmup):
    """The options every Algorithm-1 bench takes (and the hidden ones of its worker subprocess)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", type=_shapes, default=configs, help=f"comma list of {', '.join(SHAPES)}")
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--report", metavar="FILE")
    p.add_argument("--json-out", metavar="FILE", help="also write the raw results as JSON")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--shape", default="small", help=argparse.SUPPRESS)
    return p


def main(argv=None):
    p = bench_parser(__doc__, configs="small,paper", warmup=1)
    p.add_argument("--xla", default="off,on")
    p.add_argument("--precision", default="float32", help="comma-separated train.precision values")
    p.add_argument("--formulation", default="auto", choices=("auto", "conv", "matmul"),
                   help="convolutions as tf.nn.conv1d, as one matrix product, or by width (auto, the default)")
    p.add_argument("--moment-classes", default="600", help="comma-separated K of the moment set (paper shapes)")
    p.add_argument("--threads", type=_threads, default="", metavar="INTRA,INTER",
                   help="intra- and inter-op threads of the timed sessions and the matmul limit (default: the "
                        "trainer's session options, every core)")
    args = p.parse_args(argv)
    if args.worker:
        args.moment_classes = int(args.moment_classes)
        return worker(args)

    results = []
    ks = args.moment_classes.split(",")
    runs = [(shape, xla, precision, ks[0] if shape == "paper" else "-") for shape in args.configs.split(",")
            for xla in args.xla.split(",") for precision in args.precision.split(",")]
    # K-scaling: the other moment-class counts at paper shapes, XLA off, first precision
    runs += [("paper", args.xla.split(",")[0], args.precision.split(",")[0], k)
             for k in ks[1:] if "paper" in args.configs.split(",")]
    for shape, xla, precision, k in runs:
        env = dict(os.environ)
        if xla == "on":
            env["TF_XLA_FLAGS"] = (env.get("TF_XLA_FLAGS", "") + " --tf_xla_cpu_global_jit --tf_xla_auto_jit=2").strip()
        iterations = args.iterations if shape == "small" else max(1, min(args.iterations, 2))
        if k not in ("-", ks[0]):
            iterations = 1
        cmd = [sys.executable, __file__, "--worker", "--shape", shape, "--xla", xla, "--precision", precision,
               "--moment-classes", k if k != "-" else "600", "--iterations", str(iterations),
               "--warmup", str(args.warmup), "--formulation", args.formulation,
               "--threads", ",".join(map(str, args.threads or ()))]
        print(f"running {shape} shapes, XLA {xla}, {precision}, {args.formulation} convolutions"
              + (f", K={k}" if k != "-" else "") + " ...", flush=True)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not line:
            print(f"  failed (exit {out.returncode}): {out.stderr.strip().splitlines()[-1] if out.stderr else ''}")
            continue
        res = json.loads(line[-1])
        results.append(res)
        m = res["mean"]
        print(f"  build {res['build_s']:.1f}s  load {m['load'] * 1e3:.1f} ms  "
              + "  ".join(f"{s} {m[s]:.3f}s" for s in res["steps"])
              + f"  | iteration {m['iteration']:.3f}s  ratio {res['ratio']:.3f}  peak RSS {res['peak_rss_gb']:.1f} GB")
        print_rates(res)
    if args.json_out and results:
        Path(args.json_out).write_text(json.dumps(results, indent=1) + "\n")
    if args.report and results:
        Path(args.report).write_text(render_report(results, " ".join(sys.argv[1:])))
        print(f"wrote {args.report}")
    return 0


def label(r):
    return f"{r['shape']} (T={r['T']}, D={r['D']}, B={r['batch']})"


def graph_section(g):
    """Report lines of the graph counts (ops, Python ops, pinned ops per sub-step; transfers)."""
    return ["", "Graph of one iteration (`aher/train/graph_stats.py`, static counts of the ops each "
            "`session.run` can execute; the same at every batch size and shape): ops per sub-step, ops "
            "that run Python (`PyFunc`: a GPU would wait for the host) and ops pinned to the CPU; per "
            f"iteration {g['transfers_in']} tensors go in (the batch tensors of the one batch load, copied "
            "into the in-graph batch cache, and one learning-rate scalar per scheduled sub-step) and "
            f"{g['transfers_out']} come out outside logging iterations.", "",
            "| | " + " | ".join(g["steps"]) + " | batch load |", "|---|" + "---:|" * (len(g["steps"]) + 1),
            "| ops | " + " | ".join(str(v["ops"]) for v in g["steps"].values()) + f" | {g['load_ops']} |",
            "| Python ops | " + " | ".join(str(v["host_ops"]) for v in g["steps"].values())
            + f" | {g['load_host_ops']} |",
            "| pinned to CPU | " + " | ".join(str(v["pinned_cpu"]) for v in g["steps"].values()) + " | - |"]


def scaling_section(scaling, steps):
    """Report lines of the cost against the number of moment classes (paper-shape runs by K)."""
    lines = ["", "Cost against the number of moment classes K (paper shapes, K_u = 200, one timed iteration "
             "each; peak RSS of the whole process):", "",
             "| K | " + " | ".join(f"{s} s" for s in steps) + " | iteration s | analytic GFLOP | peak RSS GB |",
             "|---:|" + "---:|" * (len(steps) + 3)]
    for r in scaling:
        m = r["mean"]
        lines.append(f"| {r['K']} | " + " | ".join(f"{m[s]:.2f}" for s in r["steps"])
                     + f" | {m['iteration']:.2f} | {sum(r['gflop'].values()):.0f} | {r['peak_rss_gb']:.1f} |")
    return lines


def render_report(results, argv):
    """Markdown of the runs: times, analytic GFLOP, rates against the limit, graph counts, K-scaling."""
    import tensorflow as tf

    main = [r for r in results if r["shape"] == "small" or r["K"] == 600]
    lines = ["# Algorithm 1 training speed", "",
             f"Produced by `python bench/bench_train.py {argv}` ({platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} CPUs, CPU only, TensorFlow {tf.__version__}).", "",
             "Each row: mean over the timed iterations (after warm-up) of the batch load, each sub-step's "
             "`session.run`, the whole iteration, and ratio = iteration / sum of sub-steps. `small` uses "
             "`configs/k600_synthetic_small.yaml` with its real HDF5 input pipeline; `paper` uses paper shapes "
             "(T=512, D=2048, B=16, K=200/600, paper widths) with in-memory random batches. precision: "
             "`train.precision`.", ""]
    steps = main[0]["steps"] if main else results[0]["steps"]
    lines.append("| shape | XLA | precision | iters | load ms | " + " | ".join(f"{s} s" for s in steps)
                 + " | iteration s | ratio | peak RSS GB |")
    lines.append("|---|---|---|---:|---:|" + "---:|" * len(steps) + "---:|---:|---:|")
    for r in main:
        m = r["mean"]
        lines.append(f"| {label(r)} | {r['xla']} | {r['precision']} | {r['iterations']} | {m['load'] * 1e3:.1f} | "
                     + " | ".join(f"{m[s]:.3f}" for s in r["steps"])
                     + f" | {m['iteration']:.3f} | {r['ratio']:.3f} | {r['peak_rss_gb']:.1f} |")
    lines += ["", "Analytic GFLOP of each sub-step (`aher/train/flops.py`: 2 FLOPs per multiply-add, matrix "
              "products only, the forward products a sub-step runs plus its backward passes; independent of XLA "
              "and precision):", "", "| shape | " + " | ".join(steps) + " | iteration |",
              "|---|" + "---:|" * (len(steps) + 1)]
    seen = set()
    for r in main:
        if label(r) not in seen:
            seen.add(label(r))
            lines.append(f"| {label(r)} | " + " | ".join(f"{r['gflop'][s]:.1f}" for s in r["steps"])
                         + f" | {sum(r['gflop'].values()):.1f} |")
    lines += ["", "Achieved GFLOP/s (analytic GFLOP / mean time) and the iteration's share of the fp32 matmul "
              f"limit, measured in the same process ([{MATMUL_SHAPE[0]}, {MATMUL_SHAPE[1]}] x "
              f"[{MATMUL_SHAPE[1]}, {MATMUL_SHAPE[2]}], best of {MATMUL_REPEATS}); *at the limit*: the analytic "
              "GFLOP over the limit, the float32 iteration's time if every matrix product ran at the limit and "
              "nothing else took time; *largest speed-up*: the measured time over it, the most a float32 change "
              "that keeps what the sub-steps compute can gain on this machine:", "",
              "| shape | XLA | precision | matmul GFLOP/s | " + " | ".join(f"{s} GFLOP/s" for s in steps)
              + " | iteration GFLOP/s | % of limit | at the limit s | largest speed-up |",
              "|---|---|---|---:|" + "---:|" * len(steps) + "---:|---:|---:|---:|"]
    for r in main:
        rr, (floor, speedup) = rates(r), at_limit(r)
        lines.append(f"| {label(r)} | {r['xla']} | {r['precision']} | {r['matmul_gflops']:.1f} | "
                     + " | ".join(f"{rr[s][2]:.1f}" for s in r["steps"])
                     + f" | {rr['iteration'][2]:.1f} | {rr['iteration'][3]:.1f} | "
                     + (f"{floor:.3f} | {speedup:.2f}x |" if r["precision"] == "float32" else "- | - |"))
    lines += graph_section(main[0]["graph"] if main else results[0]["graph"])
    scaling = sorted((r for r in results if r["shape"] == "paper" and r["xla"] == results[0]["xla"]
                      and r["precision"] == (main[0]["precision"] if main else r["precision"])),
                     key=lambda r: r["K"])
    if len(scaling) > 1:
        lines += scaling_section(scaling, steps)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
