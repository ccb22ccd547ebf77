"""Whether the synthetic features look like a real extractor's: ``realism`` and its checks.

Real clip features (pool5 of P3D / I3D) are averages of post-ReLU activations, and their energy
does not give actionness away.  Per feature store :func:`realism` measures the fraction of
negative / exactly zero entries, the effective rank, and (stores whose items carry a GT grid)
the ROC AUC of the per-step L2 norm and mean activation, action vs background, and a linear
actionness probe on held-out videos.  :func:`realism_checks` applies fixed thresholds, not tuned
to any method: no negative entry; max(AUC, 1 - AUC) <= ``AUC_LIMIT`` for the norm and the mean
(an AUC far below 0.5 separates as well as one far above); probe AUC >= ``PROBE_MIN``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aher.data.annotations import read_activitynet_json
from aher.data.features import FeatureStore
from aher.data.synthetic.manifest import FILES
from aher.data.synthetic.probes import effective_rank, fit_score, roc_auc, split
from aher.data.synthetic.samples import MAX_VIDEOS, fg_mask, gt_grid, pick

#: steps per item kept for the probe / rank, and steps of the rank subsample
PROBE_STEPS = 64
RANK_STEPS = 4000
AUC_LIMIT = 0.70
PROBE_MIN = 0.75


def feature_stores() -> list[str]:
    """The feature stores of the dataset layout (``FILES`` entries that are HDF5 files)."""
    return [k for k, v in FILES.items() if v.endswith(".h5")]


def realism(folder, seed: int = 0) -> dict:
    """Per feature store: how the features compare with real extractor features.

    ``neg_frac`` / ``zero_frac`` (fraction of negative / exactly zero entries), ``eff_rank``
    (:func:`effective_rank` of at most ``RANK_STEPS`` steps), and for stores whose items carry a
    GT grid (untrimmed-format stores): ``norm_auc`` / ``mean_auc`` (ROC AUC of the per-step L2
    norm / mean activation, action vs background steps) and ``probe_auc`` (ridge actionness
    probe trained on half of the videos, AUC on the steps of the other half).  Stores are
    subsampled like the diagnostics (at most ``MAX_VIDEOS`` items, ``PROBE_STEPS`` steps per
    item for the probe and the rank)."""
    folder = Path(folder)
    videos = {v.video_id: v for v in read_activitynet_json(folder / FILES["gt"])}
    if (folder / FILES["gt_untrimmed"]).is_file():
        videos.update({v.video_id: v for v in read_activitynet_json(folder / FILES["gt_untrimmed"])})
    out = {}
    for n_store, key in enumerate(feature_stores()):
        path = folder / FILES[key]
        if path.is_file():
            out[key] = _store_realism(path, videos, n_store, seed)
    return out


def _store_realism(path: Path, videos: dict, n_store: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, 7, n_store])
    s = _read_store(path, videos, rng, seed + n_store)
    r = {"items": s["items"], "neg_frac": s["neg"] / max(s["total"], 1), "zero_frac": s["zero"] / max(s["total"], 1)}
    xs = np.concatenate(s["keep_x"]) if s["keep_x"] else np.zeros((0, 1))
    xs_rank = xs[np.sort(rng.permutation(len(xs))[:RANK_STEPS])] if len(xs) > RANK_STEPS else xs
    r["eff_rank"] = effective_rank(xs_rank)
    r["dim"] = int(xs.shape[1])
    if s["labels"] and len(s["labels"]) == s["items"]:
        y = np.concatenate(s["labels"])
        r["fg_frac"] = float(y.mean())
        r["norm_auc"] = roc_auc(np.concatenate(s["norms"]), y)
        r["mean_auc"] = roc_auc(np.concatenate(s["means"]), y)
        r["probe_auc"] = _probe_auc(xs, np.concatenate(s["keep_item"]), np.concatenate(s["keep_y"]),
                                    s["items"], seed, n_store)
    return r


def _read_store(path: Path, videos: dict, rng, pick_seed: int) -> dict:
    """Entry counts, per-step norms / means / foreground of items with a GT grid, and
    ``PROBE_STEPS`` sampled steps per item (with their item index and foreground)."""
    s = {"neg": 0, "zero": 0, "total": 0, "norms": [], "means": [], "labels": [], "keep_x": [], "keep_y": [],
         "keep_item": []}
    with FeatureStore(path) as store:
        ids = pick(store.ids(), MAX_VIDEOS, pick_seed)
        for j, vid in enumerate(ids):
            x = store.get(vid)
            s["neg"] += int((x < 0).sum())
            s["zero"] += int((x == 0).sum())
            s["total"] += x.size
            meta = store.meta(vid)
            v = videos.get(vid)
            fg = (fg_mask(gt_grid(v, meta, len(x)), len(x)) if v is not None and v.instances and "feature_frame" in meta
                  else None)
            rows = np.sort(rng.permutation(len(x))[:PROBE_STEPS])
            s["keep_x"].append(x[rows])
            s["keep_item"].append(np.full(len(rows), j))
            if fg is not None:
                s["norms"].append(np.linalg.norm(x, axis=1))
                s["means"].append(x.mean(1))
                s["labels"].append(fg)
                s["keep_y"].append(fg[rows])
    s["items"] = len(ids)
    return s


def _probe_auc(xs: np.ndarray, items: np.ndarray, ys: np.ndarray, n_items: int, seed: int, n_store: int) -> float:
    """AUC of a ridge actionness probe trained on the steps of half of the items, on the rest."""
    ys = ys.astype(np.float64)
    a, _ = split(n_items, 0.5, seed + 11 + n_store)
    train = np.isin(items, a)
    if train.any() and (~train).any() and len(set(ys[train].tolist())) > 1:
        return roc_auc(fit_score(xs[train], ys[train], seed).predict(xs[~train]), ys[~train] > 0.5)
    return float("nan")


def realism_checks(real: dict) -> list[tuple[str, str, float, bool]]:
    """``[(store, criterion, value, passed)]`` for the fixed realism thresholds."""
    checks = []
    for key, r in real.items():
        checks.append((key, "negative entries = 0", r["neg_frac"], r["neg_frac"] == 0.0))
        for name, label in (("norm_auc", "per-step L2-norm AUC"), ("mean_auc", "per-step mean-activation AUC")):
            if name in r and r[name] == r[name]:
                dev = max(r[name], 1.0 - r[name])
                checks.append((key, f"{label}: max(AUC, 1-AUC) <= {AUC_LIMIT:.2f}", dev, dev <= AUC_LIMIT))
        if "probe_auc" in r:
            p = r["probe_auc"]
            checks.append((key, f"linear actionness probe AUC (held-out videos) >= {PROBE_MIN:.2f}", p,
                           p == p and p >= PROBE_MIN))
    return checks
