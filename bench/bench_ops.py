"""Where an Algorithm-1 iteration's time goes, op by op.

For the ``small`` config (its real HDF5 input pipeline) or ``paper`` shapes (T=512, D=2048, B=16,
in-memory random batches), a fresh subprocess builds the Algorithm-1 graph, runs ``--warmup``
iterations, then traces ``--iterations`` iterations (``RunOptions.FULL_TRACE`` on every
sub-step's ``session.run``).  It reports:

* per sub-step: wall time (traced; tracing adds a little), op-seconds (the sum of every op's
  time) and their ratio, the ops in flight on average (an op's own intra-op threads count once);
* op-seconds by kind: convolutions (forward, filter gradient, input gradient), other matrix
  products, Adam updates, everything else;
* the matrix products' rate per op-second (the analytic GFLOP of ``aher.train.flops``, which
  counts matrix products only, over the op-seconds of convolutions and matrix products) beside
  the fp32 matmul rate ([8192, 2048] x [2048, 2048]) of the process and of one thread (measured in
  a process of its own: the first session of a process sizes its thread pools).

  python bench/bench_ops.py [--configs small,paper] [--iterations 3] [--warmup 2] [--report FILE]
                            [--json-out FILE]
"""

import collections
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

KINDS = ("conv forward", "conv filter gradient", "conv input gradient", "other matrix products",
         "Adam updates", "the rest")


def op_kind(op_type):
    """The kind (one of ``KINDS``) of a traced op type (oneDNN's ``_Mkl*`` names included)."""
    name = op_type.removeprefix("_MklNative").removeprefix("_Mkl")
    if "Conv2DBackpropFilter" in name or "Conv3DBackpropFilter" in name:
        return "conv filter gradient"
    if "Conv2DBackpropInput" in name or "Conv3DBackpropInput" in name:
        return "conv input gradient"
    if "Conv2D" in name or "Conv3D" in name:
        return "conv forward"
    if "MatMul" in name or name == "Einsum":
        return "other matrix products"
    if name.startswith("ResourceApplyAdam") or name.startswith("ApplyAdam"):
        return "Adam updates"
    return "the rest"


def _op_type(node):
    label = node.timeline_label
    if " = " in label:
        return label.split(" = ", 1)[1].split("(", 1)[0].strip()
    return node.node_name.split(":", 1)[0]


def worker(args):
    """Run inside a subprocess: limits, build, warm up, trace; print one JSON line."""
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2

    from aher.train.algorithm1 import build_algorithm1_graph
    from aher.train.driver import session_config
    from aher.train.flops import KERNEL_SIZE, iteration_flops
    from bench_train import bench_setup, matmul_gflops

    if args.shape == "matmul-one-thread":         # its own process: the first session sizes the thread pools
        print(json.dumps({"matmul_one_thread": matmul_gflops(threads=1)}))
        return 0
    limit_all = matmul_gflops()
    config, classes, streams = bench_setup(args.shape, [])
    model, rows = config.model, config.train.batch_size * config.model.temporal_length
    layers = {"conv1": (rows, KERNEL_SIZE * model.feature_dim, model.conv1_width),
              "conv2": (rows, KERNEL_SIZE * model.conv1_width, model.conv2_width)}
    layer_rates = {name: matmul_gflops(shape=shape) for name, shape in layers.items()}
    trace = config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE)
    graph = tf.Graph()
    with graph.as_default():
        loop = build_algorithm1_graph(config, streams(), classes)
        init = [tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()]
        wall = collections.Counter()
        kinds = {step.name: collections.Counter() for step in loop.steps}
        with tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
            sess.run(init)
            for it in range(args.warmup + args.iterations):
                sess.run(loop.load_batches)
                for step in loop.steps:
                    feed = {loop.lr: 1e-4} if step.feed_lr else {}
                    if it < args.warmup:
                        sess.run(step.train_op, feed_dict=feed)
                        continue
                    meta = tf.compat.v1.RunMetadata()
                    start = time.perf_counter()
                    sess.run(step.train_op, feed_dict=feed, options=trace, run_metadata=meta)
                    wall[step.name] += (time.perf_counter() - start) / args.iterations
                    for dev in meta.step_stats.dev_stats:
                        for node in dev.node_stats:
                            kinds[step.name][op_kind(_op_type(node))] += node.all_end_rel_micros / 1e6 / args.iterations
    analytic = iteration_flops(config, classes)
    print(json.dumps({"shape": args.shape, "T": config.model.temporal_length, "D": config.model.feature_dim,
                      "batch": config.train.batch_size, "iterations": args.iterations,
                      "matmul_process": limit_all,
                      "layer_matmul": {name: {"shape": layers[name], "gflops": layer_rates[name]} for name in layers},
                      "steps": [s.name for s in loop.steps], "wall": dict(wall),
                      "kinds": {s: dict(c) for s, c in kinds.items()},
                      "gflop": {s: analytic[s].total / 1e9 for s in analytic}}))


def render(results, argv):
    import platform

    import tensorflow as tf

    lines = ["# Where an Algorithm-1 iteration's time goes", "",
             f"Produced by `python bench/bench_ops.py {argv}` ({platform.machine()}, "
             f"TensorFlow {tf.__version__}, CPU only). Each sub-step's `session.run` traced "
             "(`FULL_TRACE`) over the timed iterations, after warm-up; means per iteration. "
             "*op-seconds*: the sum of every op's time; *ops in flight* = op-seconds / wall (an op's own "
             "intra-op threads count once). "
             "*matrix-product rate*: the analytic GFLOP (`aher/train/flops.py`, matrix products only) over the "
             "op-seconds of the convolutions and other matrix products (an op uses every intra-op thread), "
             "beside the fp32 matmul rate ([8192, 2048] x [2048, 2048]) of the tracing process (the trainer's "
             "session options) and of one thread (in a process of its own).", ""]
    for r in results:
        steps = r["steps"]
        total = collections.Counter()
        for s in steps:
            total.update(r["kinds"][s])
        op_seconds = {s: sum(r["kinds"][s].values()) for s in steps}
        all_ops, all_wall = sum(op_seconds.values()), sum(r["wall"][s] for s in steps)
        products = sum(total[k] for k in KINDS[:4])
        rate = sum(r["gflop"].values()) / products if products else float("nan")
        lines += [f"## {r['shape']} (T={r['T']}, D={r['D']}, B={r['batch']}), {r['iterations']} traced iterations", "",
                  "| | " + " | ".join(steps) + " | iteration |", "|---|" + "---:|" * (len(steps) + 1),
                  "| wall s | " + " | ".join(f"{r['wall'][s]:.3f}" for s in steps) + f" | {all_wall:.3f} |",
                  "| op-seconds | " + " | ".join(f"{op_seconds[s]:.3f}" for s in steps) + f" | {all_ops:.3f} |",
                  "| ops in flight | " + " | ".join(f"{op_seconds[s] / r['wall'][s]:.2f}" for s in steps)
                  + f" | {all_ops / all_wall:.2f} |", "",
                  "| kind | op-seconds | share |", "|---|---:|---:|"]
        lines += [f"| {k} | {total[k]:.3f} | {100 * total[k] / all_ops:.1f} % |" for k in KINDS]
        lines += ["", f"Matrix-product rate: {rate:.1f} GFLOP per op-second; fp32 matmul of the process "
                  f"{r['matmul_process']:.1f} GFLOP/s, of one thread {r['matmul_one_thread']:.1f} GFLOP/s "
                  f"({100 * rate / r['matmul_one_thread']:.0f} % of it). With every op but the matrix products gone and "
                  f"as many ops in flight as now, the iteration would take {all_wall * products / all_ops:.3f} s "
                  f"({all_ops / products:.2f}x faster).", "",
                  f"Iteration: {sum(r['gflop'].values()):.1f} GFLOP in {all_wall:.3f} s = "
                  f"{sum(r['gflop'].values()) / all_wall:.1f} GFLOP/s, "
                  f"{100 * sum(r['gflop'].values()) / all_wall / r['matmul_process']:.0f} % of the process's matmul "
                  "rate. The backbone's convolutions as one matrix product each (the untrimmed batch, "
                  "[B·T, 3·C_in] x [3·C_in, C_out]), measured alone in the same process: "
                  + ", ".join(f"{name} {'x'.join(map(str, v['shape']))} {v['gflops']:.1f} GFLOP/s"
                              for name, v in r["layer_matmul"].items()) + ".", ""]
    return "\n".join(lines)


def _worker_json(shape, args):
    """The JSON line a worker subprocess prints for ``shape`` (None, with the reason printed, on failure)."""
    cmd = [sys.executable, __file__, "--worker", "--shape", shape, "--iterations", str(args.iterations),
           "--warmup", str(args.warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not line:
        last = (out.stderr.strip().splitlines() or [""])[-1]
        print(f"  {shape} failed (exit {out.returncode}): {last}")
        return None
    return json.loads(line[-1])


def main(argv=None):
    from bench_train import bench_parser

    args = bench_parser(__doc__, configs="small", warmup=2).parse_args(argv)
    if args.worker:
        return worker(args)
    one_thread = _worker_json("matmul-one-thread", args)
    results = []
    for shape in args.configs.split(","):
        print(f"tracing {shape} shapes ...", flush=True)
        res = _worker_json(shape, args)
        if res is not None and one_thread is not None:
            results.append({**res, **one_thread})
    if results and args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1) + "\n")
    if results:
        text = render(results, " ".join(sys.argv[1:] if argv is None else argv))
        print(text)
        if args.report:
            Path(args.report).write_text(text + "\n")
            print(f"wrote {args.report}")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
