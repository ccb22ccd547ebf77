"""Input-pipeline benchmark: throughput and peak memory of the moment stream vs store size.

For each moment count it writes a synthetic segment store (``[steps, dim]`` float16 per moment,
ids ``"clip<k>#0"``, meta ``label``/``video``/``start``/``end``, as ``write_segment_store`` does),
then, in a FRESH subprocess per configuration (so peak RSS values do not mix), builds
``segment_dataset(..., with_context_ids=True)`` and pulls a fixed number of batches eagerly. It
reports samples/s and the peak RSS of that subprocess (``resource.getrusage`` ``ru_maxrss``).
The claim under test: peak RSS does not grow with the number of moments in the store.

Defaults are the real moment shapes ([256, 2048] float16 = 1 MiB per moment) with 1,000 and
10,000 moments (1 GiB and 10 GiB on disk, written in ~2 s and ~30-60 s here; ~2-3 min in all on
2 cores, each store deleted as soon as it has been measured unless --workdir is given).
Smaller runs: ``--counts 200,2000 --dim 512``. The moment contents are drawn from a pool of 16
random matrices (contents do not matter for I/O; no compression, so every moment is stored in
full). Reads come mostly from the OS page cache when the machine has RAM for the store, so the
figures measure the pipeline (HDF5 + tf.data), not the disk.

    python bench/bench_input.py                        # temp dir, deleted afterwards
    python bench/bench_input.py --workdir /tmp/bench   # keep/reuse the stores
    python bench/bench_input.py --report reports/bench_input.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aher.cli import run_main
from aher.errors import UserError  # noqa: E402

N_CLASSES = 600
POOL = 16


def _class_names():
    return [f"class_{i:03d}" for i in range(N_CLASSES)]


def _rss_mib():
    """Current resident set size (MiB) from /proc, or None where it is not available."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2 ** 20   # Linux: KiB, macOS: bytes


# --------------------------------------------------------------------------- store writing

def _store_ok(path, count, steps, dim):
    from aher.data.features import FeatureStore
    try:
        with FeatureStore(path) as s:
            a = s.attrs
            return (len(s) == count and s.dim == dim and a.get("bench_steps") == steps
                    and a.get("bench_count") == count)
    except UserError:
        return False


def write_store(path, count, steps, dim, seed=0):
    """Write (or reuse) a synthetic moment store of ``count`` moments; returns the seconds spent
    writing, or None when an existing store was reused."""
    import numpy as np
    from aher.data.features import FeatureStoreWriter
    if path.exists() and _store_ok(path, count, steps, dim):
        return None
    need = count * steps * dim * 2
    free = shutil.disk_usage(path.parent).free
    if free < need * 1.1 + (1 << 30):
        raise UserError(f"{path.parent}: {free / 2**30:.1f} GiB free, the {count}-moment store needs "
                        f"{need / 2**30:.1f} GiB (lower --counts/--dim/--steps or pick another --workdir)")
    rng = np.random.default_rng(seed)
    pool = [rng.standard_normal((steps, dim), dtype=np.float32).astype(np.float16) for _ in range(POOL)]
    names = _class_names()
    t0 = time.perf_counter()
    with FeatureStoreWriter(path, dim=dim, dtype="float16",
                            attrs={"bench_count": count, "bench_steps": steps}) as w:
        for k in range(count):
            w.add(f"clip{k}#0", pool[k % POOL], label=names[k % N_CLASSES], video=f"clip{k}",
                  start=0.0, end=10.0)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- child: one measurement

def child(args):
    rss_start = _rss_mib()
    import numpy as np
    import tensorflow as tf
    from aher.data import pipeline
    rss_tf = _rss_mib()
    default_parallel = pipeline.READ_PARALLELISM
    pipeline.READ_PARALLELISM = tf.data.AUTOTUNE if args.parallel == "autotune" else int(args.parallel)
    t0 = time.perf_counter()
    ds = pipeline.segment_dataset(args.store, _class_names(), batch_size=args.batch, seed=0,
                                  with_context_ids=True)
    build_s = time.perf_counter() - t0
    rss_built = _rss_mib()
    it = iter(ds)
    for _ in range(args.warmup):
        next(it)
    checksum = 0.0
    t0 = time.perf_counter()
    for _ in range(args.batches):
        b = next(it)
        checksum += float(b["features"][0, 0, 0])
    secs = time.perf_counter() - t0
    shape = b["features"].shape.as_list()
    assert shape == [args.batch, args.steps, args.dim], shape
    result = {
        "samples_per_s": args.batches * args.batch / secs,
        "batches_per_s": args.batches / secs,
        "seconds": secs,
        "build_s": build_s,
        "rss_start_mib": rss_start,
        "rss_after_tf_import_mib": rss_tf,
        "rss_after_build_mib": rss_built,
        "rss_end_mib": _rss_mib(),
        "peak_rss_mib": _peak_mib(),
        "tf": tf.__version__,
        "numpy": np.__version__,
        "checksum": checksum,
        "default_parallel": "autotune" if default_parallel == tf.data.AUTOTUNE else default_parallel,
    }
    print("RESULT " + json.dumps(result))
    return 0


def _measure(store, count, parallel, args):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--store", str(store),
           "--batch", str(args.batch), "--batches", str(args.batches), "--warmup", str(args.warmup),
           "--steps", str(args.steps), "--dim", str(args.dim), "--parallel", parallel]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"measurement of {count} moments (parallel={parallel}) failed:\n{tail}")
    out = json.loads(lines[-1][len("RESULT "):])
    out.update(count=count, parallel=parallel, load=load_before)
    return out


# --------------------------------------------------------------------------- report

def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 2 ** 20
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_gib": mem,
            "python": platform.python_version(), "os": platform.platform()}


def _fmt_write(seconds):
    return "reused" if seconds is None else f"{seconds:.0f}"


def render(results, args, machine, write_s, command):
    m = machine
    lines = [
        "# Input pipeline benchmark (moment stream)",
        "",
        "Written by `bench/bench_input.py`. Each row is a fresh subprocess that builds "
        "`segment_dataset(store, 600 classes, batch_size=B, with_context_ids=True)` and pulls "
        f"{args.warmup} warm-up + {args.batches} timed batches eagerly. "
        "Peak RSS = `ru_maxrss` of that subprocess (it includes TensorFlow itself: see the "
        "'after TF import' column).",
        "",
        f"- Command: `{command}`",
        f"- Machine: {m['cores']} cores ({m['cpu']}), "
        + (f"{m['mem_gib']:.0f} GiB RAM, " if m["mem_gib"] else "")
        + f"no GPU; Python {m['python']}, TensorFlow {results[0]['tf']}, NumPy {results[0]['numpy']}",
        f"- Store: `[{args.steps}, {args.dim}]` float16 per moment "
        f"({args.steps * args.dim * 2 / 2**20:.2f} MiB), uncompressed, chunked; batch B = {args.batch}",
        "- `parallel`: `num_parallel_calls` of the per-sample read map "
        f"(`aher.data.pipeline.READ_PARALLELISM`; the pipeline's default is {results[0]['default_parallel']}).",
        "",
        "- `load`: 1-min load average of the machine when the configuration started (other "
        "jobs share the 2 cores; samples/s are only comparable at similar load, RSS is not affected).",
        "",
        "| moments | store on disk | write s | parallel | load | index build s | samples/s | "
        "RSS after TF import MiB | RSS after build MiB | peak RSS MiB | peak - after import MiB |",
        "|---:|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        size = r["count"] * args.steps * args.dim * 2 / 2 ** 30
        lines.append(
            f"| {r['count']:,} | {size:.2f} GiB | {_fmt_write(write_s[r['count']])} | {r['parallel']} | {r['load']:.1f} | "
            f"{r['build_s']:.2f} | {r['samples_per_s']:.0f} | {r['rss_after_tf_import_mib']:.0f} | "
            f"{r['rss_after_build_mib']:.0f} | {r['peak_rss_mib']:.0f} | "
            f"{r['peak_rss_mib'] - r['rss_after_tf_import_mib']:.0f} |")
    lines.append("")
    counts = sorted({r["count"] for r in results})
    if len(counts) > 1:
        lo, hi = counts[0], counts[-1]
        lines.append(f"Peak RSS from {lo:,} to {hi:,} moments (store {hi / lo:.0f}x bigger):")
        lines.append("")
        for par in dict.fromkeys(r["parallel"] for r in results):
            a = next(r for r in results if r["count"] == lo and r["parallel"] == par)
            b = next(r for r in results if r["count"] == hi and r["parallel"] == par)
            d = b["peak_rss_mib"] - a["peak_rss_mib"]
            lines.append(f"- parallel={par}: {a['peak_rss_mib']:.0f} -> {b['peak_rss_mib']:.0f} MiB "
                         f"({d:+.0f} MiB, {100 * d / a['peak_rss_mib']:+.1f}%); samples/s "
                         f"{a['samples_per_s']:.0f} -> {b['samples_per_s']:.0f}")
        lines.append("")
    return "\n".join(lines)


def _checked_lists(args):
    """(moment counts, read-parallelism settings) of the flags; UserError for a bad value."""
    try:
        counts = [int(c) for c in args.counts.split(",") if c.strip()]
    except ValueError:
        raise UserError(f"--counts: expected comma-separated integers, got {args.counts!r}") from None
    parallels = [s.strip() for s in args.parallel.split(",") if s.strip()]
    for s in parallels:
        if s != "autotune" and not s.isdigit():
            raise UserError(f"--parallel: expected 'autotune' or an integer, got {s!r}")
    if not counts or min(counts) < 1 or args.dim < 1 or args.steps < 1 or args.batch < 1 or args.batches < 1:
        raise UserError("--counts, --dim, --steps, --batch and --batches must be positive")
    return counts, parallels


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", default="1000,10000", help="moment counts, comma-separated (default 1000,10000)")
    p.add_argument("--dim", type=int, default=2048, help="feature dimension (default 2048)")
    p.add_argument("--steps", type=int, default=256, help="steps per moment (default 256)")
    p.add_argument("--batch", type=int, default=16, help="batch size (default 16)")
    p.add_argument("--batches", type=int, default=200, help="timed batches per configuration (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed batches first (default 10)")
    p.add_argument("--parallel", default="2,1,autotune",
                   help="read parallelism settings to compare, comma-separated: autotune or an integer "
                        "(default 2,1,autotune; the pipeline uses 2)")
    p.add_argument("--workdir", help="folder for the stores (kept and reused); default: a temp dir, deleted")
    p.add_argument("--report", help="also write the Markdown report here (e.g. reports/bench_input.md)")
    # child mode (internal)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args)

    counts, parallels = _checked_lists(args)
    command = "python bench/bench_input.py " + " ".join(argv if argv is not None else sys.argv[1:])
    tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="aher_bench_input_")
        workdir = Path(tmp)
    results, write_s = [], {}
    try:
        for count in counts:
            store = workdir / f"moments_{count}_{args.steps}x{args.dim}.h5"
            print(f"[bench] writing {store} ...", flush=True)
            write_s[count] = write_store(store, count, args.steps, args.dim)
            for par in parallels:
                r = _measure(store, count, par, args)
                results.append(r)
                print(f"[bench] {count:>7,} moments  parallel={par:<8}  {r['samples_per_s']:7.0f} samples/s  "
                      f"peak RSS {r['peak_rss_mib']:6.0f} MiB  (after TF import {r['rss_after_tf_import_mib']:.0f} MiB,"
                      f" index build {r['build_s']:.2f} s)", flush=True)
            if tmp:
                store.unlink()          # free the disk before writing the next (bigger) store
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    report = render(results, args, _machine(), write_s, command.strip())
    print()
    print(report)
    if args.report:
        Path(args.report).write_text(report)
        print(f"[bench] report written to {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
