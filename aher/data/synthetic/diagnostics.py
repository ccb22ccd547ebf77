"""Whether a synthetic benchmark is trivial or impossible: ``diagnostics(folder, seed=0)``.

* class probes: linear probe (ridge, one-vs-rest, time-averaged features) on held-out moments,
  on held-out foreground segments; the same moment probe (trained on 70 % of the moments)
  applied to the GT instances and to whole (mean-pooled) evaluation videos;
* per-step actionness: ROC AUC of a ridge score (foreground vs background steps on the store
  grid) on held-out untrimmed videos, transferred to the evaluation videos (new classes), and an
  oracle trained on the evaluation classes' training videos;
* boundary visibility: ROC AUC and profile of an unsupervised change score
  ``||x[k+1] - x[k-1]||`` at GT boundaries (within ``BOUNDARY_RADIUS`` steps) against steps
  farther than ``FAR_RADIUS`` from every boundary, and of linear start/end detectors trained
  on the untrimmed set and applied to the evaluation videos.

Stores are sampled by :mod:`aher.data.synthetic.samples`; at most ``MAX_STEPS`` steps train a
per-step model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aher.data.annotations import read_activitynet_json, read_class_list
from aher.data.synthetic.manifest import FILES, read_manifest
from aher.data.synthetic.probes import fit_probe, fit_score, roc_auc, split
from aher.data.synthetic.samples import segments, steps, untrimmed_items
from aher.errors import UserError

BOUNDARY_RADIUS = 1        # steps around a GT boundary that count as "at the boundary"
FAR_RADIUS = 4             # steps from every boundary that count as "elsewhere"
PROFILE_RADIUS = 8
MAX_STEPS = 60000


def diagnostics(folder, seed: int = 0) -> dict:
    """All diagnostic numbers for one synthetic dataset folder (see the module docstring)."""
    folder = Path(folder)
    if read_manifest(folder) is None:
        raise UserError(f"{folder}: no dataset.yaml (not a synthetic dataset)")
    videos = {v.video_id: v for v in read_activitynet_json(folder / FILES["gt"])}
    cls_u = read_class_list(folder / FILES["classes_untrimmed"])
    cls_m = read_class_list(folder / FILES["classes_moment"])
    ev = untrimmed_items(folder / FILES["eval"], videos, cls_m, seed)
    out = _class_probes(folder, videos, cls_u, cls_m, ev, seed)
    un = untrimmed_items(folder / FILES["untrimmed_train"], videos, cls_u, seed)
    out.update(_actionness(folder, videos, cls_m, un, ev, seed))
    out.update(_boundaries(un, ev, seed))
    return out


# ------------------------------------------------------------------------------ class probes


def _class_probes(folder: Path, videos: dict, cls_u: list[str], cls_m: list[str], ev: list[dict], seed: int) -> dict:
    out: dict = {}
    xm, ym = segments(folder / FILES["moments_train"], cls_m, seed)
    tr, te = split(len(xm), 0.7, seed)
    probe = fit_probe(xm[tr], ym[tr], len(cls_m), seed)
    out["moment_probe_acc"] = float(np.mean(probe.predict(xm[te]).argmax(1) == ym[te]))
    out["moment_chance"] = float(np.bincount(ym[tr], minlength=len(cls_m)).max() / max(len(tr), 1))
    out["moment_counts"] = (len(tr), len(te))
    xf, yf = segments(folder / FILES["foreground_train"], cls_u, seed)
    tr_f, te_f = split(len(xf), 0.7, seed)
    if len(te_f) and len(set(yf[tr_f].tolist())) > 1:
        probe_f = fit_probe(xf[tr_f], yf[tr_f], len(cls_u), seed)
        out["foreground_probe_acc"] = float(np.mean(probe_f.predict(xf[te_f]).argmax(1) == yf[te_f]))
    else:
        out["foreground_probe_acc"] = float("nan")
    out["foreground_chance"] = float(np.bincount(yf, minlength=len(cls_u)).max() / max(len(yf), 1))
    out["moment_probe_on_eval_instances_acc"] = _probe_on_instances(probe, ev, videos, cls_m)
    out["eval_video_acc_meanpool"] = float(np.mean(
        [probe.predict(it["x"].mean(0, keepdims=True))[0].argmax() == it["label"] for it in ev])) if ev else float("nan")
    return out


def _probe_on_instances(probe, ev: list[dict], videos: dict, cls_m: list[str]) -> float:
    """Accuracy of the moment probe on the time-averaged GT instances (>= 2 steps) of ``ev``."""
    inst_x, inst_y = [], []
    index_m = {c: i for i, c in enumerate(cls_m)}
    for it in ev:
        t = it["x"].shape[0]
        for (s, e), inst in zip(it["gt"], videos[it["id"]].instances):
            lo, hi = int(np.floor(s)), int(np.ceil(e))
            if hi - lo >= 2:
                inst_x.append(it["x"][lo:min(hi, t)].mean(0))
                inst_y.append(index_m[inst.label])
    if not inst_x:
        return float("nan")
    return float(np.mean(probe.predict(np.stack(inst_x)).argmax(1) == np.array(inst_y)))


# ------------------------------------------------------------------------------ actionness


def _actionness(folder: Path, videos: dict, cls_m: list[str], un: list[dict], ev: list[dict], seed: int) -> dict:
    out: dict = {}
    a, b = split(len(un), 0.5, seed + 3)
    xa, ya = steps([un[i] for i in a], MAX_STEPS, seed)
    score = fit_score(xa, ya, seed)
    xb, yb = steps([un[i] for i in b], MAX_STEPS, seed + 1)
    out["actionness_auc_heldout"] = roc_auc(score.predict(xb), yb > 0.5)
    xe, ye = steps(ev, MAX_STEPS, seed + 2)
    out["actionness_auc_transfer"] = roc_auc(score.predict(xe), ye > 0.5)
    orc = untrimmed_items(folder / FILES["oracle_train"], videos, cls_m, seed)
    if orc:
        xo, yo = steps(orc, MAX_STEPS, seed + 4)
        out["actionness_auc_oracle"] = roc_auc(fit_score(xo, yo, seed).predict(xe), ye > 0.5)
    else:
        out["actionness_auc_oracle"] = float("nan")
    out["fg_fraction_eval"] = float(ye.mean())
    return out


# ------------------------------------------------------------------------------ boundaries


def _boundary_features(x: np.ndarray) -> np.ndarray:
    """Per step: [x[k+1] - x[k-1], x[k]] (edges repeated)."""
    pad = np.concatenate([x[:1], x, x[-1:]])
    return np.concatenate([pad[2:] - pad[:-2], x], axis=1)


def _boundary_targets(item, which: int) -> np.ndarray:
    t = item["x"].shape[0]
    target = np.zeros(t)
    for pos in item["gt"][:, which]:
        k = int(np.clip(np.floor(pos), 0, t - 1))
        target[max(0, k - BOUNDARY_RADIUS):k + BOUNDARY_RADIUS + 1] = 1.0
    return target


def _far_mask(item) -> np.ndarray:
    t = item["x"].shape[0]
    far = np.ones(t, dtype=bool)
    for pos in item["gt"].ravel():
        k = int(np.clip(np.floor(pos), 0, t - 1))
        far[max(0, k - FAR_RADIUS):k + FAR_RADIUS + 1] = False
    return far


def _boundary_eval(items, score_fn, which: int):
    """AUC of boundary steps vs steps far from every boundary, and the mean profile around
    boundaries of kind ``which`` (0 start, 1 end) relative to the median far score, in units
    of its interquartile range."""
    scores, labels, far_scores = [], [], []
    profile = np.zeros(2 * PROFILE_RADIUS + 1)
    counts = np.zeros_like(profile)
    for it in items:
        s = score_fn(it)
        at = _boundary_targets(it, which) > 0
        far = _far_mask(it)
        keep = at | far
        scores.append(s[keep])
        labels.append(at[keep])
        far_scores.append(s[far])
        t = len(s)
        for pos in it["gt"][:, which]:
            k = int(np.clip(np.floor(pos), 0, t - 1))
            for off in range(-PROFILE_RADIUS, PROFILE_RADIUS + 1):
                if 0 <= k + off < t:
                    profile[off + PROFILE_RADIUS] += s[k + off]
                    counts[off + PROFILE_RADIUS] += 1
    far_all = np.concatenate(far_scores)
    base = float(np.median(far_all)) if far_all.size else float("nan")
    spread = float(np.subtract(*np.percentile(far_all, [75, 25]))) if far_all.size else float("nan")
    prof = (profile / np.maximum(counts, 1) - base) / (spread if spread > 0 else 1.0)
    return roc_auc(np.concatenate(scores), np.concatenate(labels)), prof


def _change_score(item) -> np.ndarray:
    """The unsupervised change score ``||x[k+1] - x[k-1]||`` per step."""
    return np.linalg.norm(_boundary_features(item["x"])[:, : item["x"].shape[1]], axis=1)


def _boundaries(un: list[dict], ev: list[dict], seed: int) -> dict:
    out: dict = {}
    out["change_auc_start"], out["change_profile_start"] = _boundary_eval(ev, _change_score, 0)
    out["change_auc_end"], out["change_profile_end"] = _boundary_eval(ev, _change_score, 1)
    for which, name in ((0, "start"), (1, "end")):
        bx = np.concatenate([_boundary_features(item["x"]) for item in un])
        by = np.concatenate([_boundary_targets(item, which) for item in un])
        if len(bx) > MAX_STEPS:
            keep = np.random.default_rng(seed + 5 + which).permutation(len(bx))[:MAX_STEPS]
            bx, by = bx[keep], by[keep]
        det = fit_score(bx, by, seed)
        out[f"detector_auc_{name}"], out[f"detector_profile_{name}"] = _boundary_eval(
            ev, lambda it, det=det: det.predict(_boundary_features(it["x"])), which)
    return out
