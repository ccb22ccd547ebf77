"""Fit the synthetic benchmark's parametric temporal layouts from the real annotation files.

    python -m aher.data.layout_fit [--shared PATH] [--out data/meta/layout_params.json]

``--shared`` is the reference folder (default :func:`aher.paths.shared_dir`); only its
``data/`` annotation files are read, by path, through :mod:`aher.data.annotations`.  The output
(committed as ``data/meta/layout_params.json``) is what :mod:`aher.data.synthetic` samples from
when no ``--layout`` file is given.  Re-running on the same files gives the same bytes.

What is fitted, per domain (the model sampled by ``aher.data.synthetic.LayoutSource``):

``anet``   ActivityNet v1.3 *training* videos with at least one instance
           (``activitynet/anet_anno_action.json`` + ``video_info_new.csv``), mode ``duration``.
``thumos`` THUMOS14 *validation* videos (``thumos14/thumos14.json``; the paper's untrimmed set),
           mode ``duration``.
``k600``   AherNet's K600 validation annotations (``ahernet/k600_val_annotation.txt``), mode
           ``length``: that file has no durations (the reader sets ``ceil(max end) + 5``), so only
           the instance count and the instance lengths are fitted there; coverage, gaps and fps
           are borrowed from ``anet`` and marked in ``borrowed``.

Model (``duration`` mode): duration ~ log-normal clipped to the 0.5/99.5 % quantiles; number of
instances ``n = 1 + NegBin`` whose mean is log-linear in the duration
(``log E[n-1] = log_mean + duration_slope * log(duration / duration_ref)``, Poisson IRLS, then a
moment estimate of the NegBin dispersion); coverage (summed instance length / duration, clipped to
[0.01, 0.99]) ~ Beta per count bucket (method of moments); the instance lengths and the n+1 gaps
split the covered and the uncovered time with symmetric Dirichlet weights (method of moments on
videos with 2..8 instances); fps ~ categorical over rounded frame rates with >= 1 % share; a
later instance has another class than the first with probability ``other_class_prob``.
``length`` mode replaces the duration by instance lengths ~ log-normal (seconds) and derives the
duration from the sampled coverage.  ``length`` (absolute instance seconds) and a ``summary`` of
the raw statistics are recorded for every domain.

``counts`` are the real video counts the ``paper`` scale uses; ``taxonomy`` gives the number of
ActivityNet parent nodes (used as synthetic "groups") on each side of the 87/113 split.

Limits: overlapping instances are not modelled (the synthetic layouts never overlap), instance
counts are capped by the generator (``max_instances``), and instance positions are independent
of their class.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from aher.cli import run_main
from aher.errors import UserError
from aher.data.annotations import Video, anet_class_split, load_videos
from aher.paths import PROJECT_ROOT, shared_dir
from evaluation.cli_common import write_text_atomic

FORMAT_NAME = "aher-layout-params"
FORMAT_VERSION = 1
DEFAULT_OUT = PROJECT_ROOT / "data" / "meta" / "layout_params.json"
COMMAND = "python -m aher.data.layout_fit"

#: files read, relative to the shared folder
FILES = {
    "anet": "data/activitynet/anet_anno_action.json",
    "anet_info": "data/activitynet/video_info_new.csv",
    "thumos": "data/thumos14/thumos14.json",
    "k600": "data/ahernet/k600_val_annotation.txt",
    "k600_categories": "data/ahernet/k600_category.txt",
    "taxonomy": "data/activitynet/derived_anet_taxonomy_v1-3.json",
}

#: count buckets of the coverage Beta (inclusive bounds)
COVERAGE_BUCKETS = [[1, 1], [2, 2], [3, 5], [6, 1000]]
_COVER_CLIP = (0.01, 0.99)


def _r(x, nd=6):
    """Round for a stable, readable JSON."""
    return float(round(float(x), nd))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ small fits


def fit_lognormal(values) -> dict:
    """Log-normal by the mean/std of the logs, clip range = 0.5/99.5 % quantiles."""
    x = np.asarray([v for v in values if v > 0], dtype=np.float64)
    if x.size < 2:
        raise ValueError("need at least two positive values for a log-normal fit")
    logs = np.log(x)
    return {"dist": "lognormal", "mu": _r(logs.mean()), "sigma": _r(logs.std()),
            "min": _r(np.quantile(x, 0.005), 3), "max": _r(np.quantile(x, 0.995), 3)}


def fit_scaled_beta(values) -> dict:
    """Beta on [0.5 %, 99.5 %] quantiles, by the method of moments."""
    x = np.asarray(values, dtype=np.float64)
    lo, hi = float(np.quantile(x, 0.005)), float(np.quantile(x, 0.995))
    u = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    m, v = u.mean(), max(u.var(), 1e-9)
    common = m * (1 - m) / v - 1
    return {"dist": "beta", "a": _r(m * common), "b": _r((1 - m) * common), "min": _r(lo, 3), "max": _r(hi, 3)}


def _cdf(fit: dict, x: np.ndarray) -> np.ndarray:
    from scipy import stats
    if fit["dist"] == "lognormal":
        lo, hi = fit["min"], fit["max"]
        dist = stats.lognorm(s=fit["sigma"], scale=math.exp(fit["mu"]))
        return np.clip((dist.cdf(x) - dist.cdf(lo)) / (dist.cdf(hi) - dist.cdf(lo)), 0, 1)
    u = (x - fit["min"]) / (fit["max"] - fit["min"])
    return stats.beta(fit["a"], fit["b"]).cdf(np.clip(u, 0, 1))


def fit_positive(values) -> dict:
    """The better (smaller Kolmogorov-Smirnov distance) of a truncated log-normal and a scaled
    Beta; both are truncated to the 0.5/99.5 % quantiles (the generator resamples outside)."""
    x = np.sort(np.asarray([v for v in values if v > 0], dtype=np.float64))
    emp = np.arange(1, x.size + 1) / x.size
    best = None
    for fit in (fit_lognormal(x), fit_scaled_beta(x)):
        ks = float(np.max(np.abs(_cdf(fit, x) - emp)))
        fit["ks"] = _r(ks, 4)
        if best is None or ks < best["ks"]:
            best = fit
    return best


def fit_beta(values) -> dict:
    """Beta by the method of moments (values clipped to [0.01, 0.99])."""
    x = np.clip(np.asarray(values, dtype=np.float64), *_COVER_CLIP)
    m, v = x.mean(), x.var()
    v = min(max(v, 1e-6), m * (1 - m) * 0.999)
    common = m * (1 - m) / v - 1
    return {"a": _r(m * common), "b": _r((1 - m) * common), "n": int(x.size)}


def fit_dirichlet_alpha(groups: list[np.ndarray]) -> float:
    """Symmetric Dirichlet concentration from proportion vectors of various sizes.

    For ``k`` parts, ``Var(p_i) = (k-1) / (k^2 (k alpha + 1))``; the estimate of each size is
    weighted by its number of vectors."""
    by_k: dict[int, list[np.ndarray]] = {}
    for p in groups:
        by_k.setdefault(len(p), []).append(p)
    num = den = 0.0
    for k, rows in by_k.items():
        if k < 2 or len(rows) < 5:
            continue
        var = np.var(np.stack(rows), axis=0).mean()
        alpha = ((k - 1) / (k * k * max(var, 1e-9)) - 1) / k
        num += len(rows) * max(alpha, 1e-3)
        den += len(rows)
    if den == 0:
        raise ValueError("not enough multi-instance videos for a Dirichlet fit")
    return num / den


def fit_count_model(n_instances, durations=None) -> dict:
    """``n = 1 + NegBin`` with ``log E[n-1] = log_mean + slope * log(d / ref)`` (Poisson IRLS
    for the mean, moment estimate of the dispersion ``r``: ``Var = mu + mu^2 / r``)."""
    y = np.asarray(n_instances, dtype=np.float64) - 1.0
    if durations is None:
        x = np.zeros_like(y)
        ref = 1.0
    else:
        d = np.asarray(durations, dtype=np.float64)
        ref = float(np.median(d))
        x = np.log(d / ref)
    design = np.stack([np.ones_like(x), x], axis=1)
    beta = np.array([math.log(max(y.mean(), 1e-3)), 0.0])
    if durations is not None:
        for _ in range(50):
            mu = np.exp(design @ beta)
            z = design @ beta + (y - mu) / mu
            w = mu
            new = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * z))
            if np.max(np.abs(new - beta)) < 1e-10:
                beta = new
                break
            beta = new
    mu = np.exp(design @ beta)
    excess = float(np.sum((y - mu) ** 2 - mu))
    r = float(np.sum(mu ** 2) / excess) if excess > 0 else 1e6
    return {"dist": "1+negbin", "log_mean": _r(beta[0]), "duration_slope": _r(beta[1]),
            "duration_ref": _r(ref, 3), "dispersion": _r(min(r, 1e6)), "max_observed": int(y.max() + 1)}


def fit_fps(fps_values) -> dict:
    counts = Counter(round(float(f)) for f in fps_values if f)
    total = sum(counts.values())
    kept = sorted((v, c) for v, c in counts.items() if c / total >= 0.01)
    s = sum(c for _, c in kept)
    return {"values": [float(v) for v, _ in kept], "probs": [_r(c / s) for _, c in kept]}


def _spans(video: Video) -> list[tuple[float, float]]:
    """Instances clipped to ``[0, duration]``, sorted by start."""
    out = []
    for inst in video.instances:
        s = min(max(inst.start, 0.0), video.duration)
        e = min(max(inst.end, 0.0), video.duration)
        out.append((s, e))
    return sorted(out)


def fit_domain(videos: list[Video], mode: str) -> dict:
    """All distributions of one domain from its annotated videos (see the module docstring)."""
    videos = [v for v in videos if v.instances]
    if len(videos) < 10:
        raise ValueError(f"need at least 10 annotated videos, got {len(videos)}")
    n = np.array([len(v.instances) for v in videos])
    lengths = [inst.end - inst.start for v in videos for inst in v.instances]
    out: dict = {"mode": mode, "n_videos": len(videos), "n_instances": int(n.sum())}
    if mode == "duration":
        d = np.array([v.duration for v in videos])
        out["duration"] = fit_positive(d)
        out["instances"] = fit_count_model(n, d)
        cover = np.array([sum(e - s for s, e in _spans(v)) / v.duration for v in videos])
        out["coverage"] = {"buckets": COVERAGE_BUCKETS,
                           "beta": [fit_beta(cover[(n >= lo) & (n <= hi)]) for lo, hi in COVERAGE_BUCKETS]}
        len_props, gap_props = [], []
        for v in videos:
            sp = _spans(v)
            if not 2 <= len(sp) <= 8:
                continue
            ls = np.array([e - s for s, e in sp])
            ends = [0.0] + [e for _, e in sp]
            starts = [s for s, _ in sp] + [v.duration]
            gaps = np.maximum(np.array(starts) - np.array(ends), 0.0)
            if ls.sum() > 0:
                len_props.append(ls / ls.sum())
            if gaps.sum() > 0:
                gap_props.append(gaps / gaps.sum())
        out["length_alpha"] = _r(fit_dirichlet_alpha(len_props))
        out["gap_alpha"] = _r(fit_dirichlet_alpha(gap_props))
        fps = [v.fps for v in videos if v.fps]
        if fps:
            out["fps"] = fit_fps(fps)
    elif mode == "length":
        out["instances"] = fit_count_model(n)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    out["length"] = fit_positive(lengths)
    later = [inst.label != v.instances[0].label for v in videos for inst in v.instances[1:]]
    out["other_class_prob"] = _r(np.mean(later) if later else 0.0)
    out["summary"] = {
        "duration_mean": _r(np.mean([v.duration for v in videos]), 2),
        "duration_median": _r(np.median([v.duration for v in videos]), 2),
        "instances_mean": _r(n.mean(), 3),
        "instances_max": int(n.max()),
        "single_instance_fraction": _r(np.mean(n == 1), 4),
        "length_median": _r(np.median(lengths), 2),
        "length_mean": _r(np.mean(lengths), 2),
    }
    return out


# ------------------------------------------------------------------------------ taxonomy


def _taxonomy_parents(taxonomy_path: Path, untrimmed: list[str], moment: list[str]) -> dict:
    """Number of distinct parent nodes of the leaves on each side of the 87/113 split."""
    nodes = json.loads(taxonomy_path.read_text(encoding="utf-8"))
    nodes = nodes.get("taxonomy", nodes) if isinstance(nodes, dict) else nodes
    parent_of = {str(node["nodeName"]): node.get("parentName") for node in nodes}
    return {"anet_groups_untrimmed_87": len({parent_of[c] for c in untrimmed}),
            "anet_groups_moment_113": len({parent_of[c] for c in moment})}


# ------------------------------------------------------------------------------ main


def fit_all(shared: Path) -> dict:
    paths = {k: shared / rel for k, rel in FILES.items()}
    for key, path in paths.items():
        if not path.is_file():
            raise UserError(f"{path}: reference annotation file not found (set --shared or AHER_SHARED)")
    anet = load_videos(paths["anet"], video_info_csv=paths["anet_info"])
    thumos = load_videos(paths["thumos"])
    k600 = load_videos(paths["k600"], category_txt=paths["k600_categories"])
    untrimmed87, moment113 = anet_class_split(paths["taxonomy"])
    set87, set113 = set(untrimmed87), set(moment113)

    anet_train = [v for v in anet if v.subset == "training" and v.instances]
    anet_val = [v for v in anet if v.subset == "validation" and v.instances]
    th_val = [v for v in thumos if v.subset == "validation" and v.instances]
    th_test = [v for v in thumos if v.subset == "test" and v.instances]

    domains = {
        "anet": {"source": f"{FILES['anet']} + {FILES['anet_info']}, subset training",
                 **fit_domain(anet_train, "duration")},
        "thumos": {"source": f"{FILES['thumos']}, subset validation (the paper's untrimmed set)",
                   **fit_domain(th_val, "duration")},
        "k600": {"source": f"{FILES['k600']} (+ k600_category.txt); no durations in the file",
                 **fit_domain(k600, "length")},
    }
    k6 = domains["k600"]
    for key in ("coverage", "gap_alpha", "length_alpha", "fps"):
        k6[key] = domains["anet"][key]
    k6["borrowed"] = {"from": "anet", "keys": ["coverage", "gap_alpha", "length_alpha", "fps"]}

    def first_label_in(videos, names):
        return sum(1 for v in videos if v.instances[0].label in names)

    counts = {
        "anet_train": len(anet_train),
        "anet_val": len(anet_val),
        "anet_train_untrimmed_87": first_label_in(anet_train, set87),
        "anet_train_moment_113": first_label_in(anet_train, set113),
        "anet_val_moment_113": first_label_in(anet_val, set113),
        "thumos_val": len(th_val),
        "thumos_test": len(th_test),
        "k600_val": len(k600),
        "anet_classes": len({i.label for v in anet_train for i in v.instances}),
        "thumos_classes": len({i.label for v in th_val for i in v.instances}),
        "k600_classes": len({i.label for v in k600 for i in v.instances}),
    }
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "command": COMMAND,
        "sources": {rel: _md5(paths[k]) for k, rel in FILES.items()},
        "domains": domains,
        "counts": counts,
        "taxonomy": {"untrimmed_classes": len(untrimmed87), "moment_classes": len(moment113),
                     **_taxonomy_parents(paths["taxonomy"], untrimmed87, moment113)},
    }


def _dumps(obj) -> str:
    """Indented JSON with short lists and leaf objects on one line."""
    def compact(o, depth):
        if isinstance(o, dict) and any(isinstance(v, (dict, list)) and not _leaf(v) for v in o.values()):
            pad = " " * (depth + 1)
            items = [f"{pad}{json.dumps(k)}: {compact(v, depth + 1)}" for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
        if isinstance(o, list) and not _leaf(o):
            pad = " " * (depth + 1)
            return "[\n" + ",\n".join(pad + compact(v, depth + 1) for v in o) + "\n" + " " * depth + "]"
        return json.dumps(o)
    return compact(obj, 0) + "\n"


def _leaf(o) -> bool:
    values = o.values() if isinstance(o, dict) else o
    return all(not isinstance(v, (dict, list)) or (isinstance(v, list) and all(
        not isinstance(w, (dict, list)) or isinstance(w, list) and len(w) <= 3 for w in v)) for v in values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aher.data.layout_fit",
        description="Fit the synthetic benchmark's parametric layout distributions from the real "
                    "annotation files and write them as JSON.")
    parser.add_argument("--shared", type=Path, default=None,
                        help="reference folder with data/ (default: ../shared or $AHER_SHARED)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output JSON (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    shared = (args.shared or shared_dir()).resolve()
    params = fit_all(shared)
    text = _dumps(params)
    write_text_atomic(args.out, text)
    for dom, p in params["domains"].items():
        s = p["summary"]
        print(f"{dom}: {p['n_videos']} videos, {p['n_instances']} instances, mean duration "
              f"{s['duration_mean']} s, mean instances {s['instances_mean']}, median length {s['length_median']} s")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
