"""Temporal layouts of the synthetic videos: durations, frame rates and instance spans.

A :class:`LayoutSource` gives the layout of one domain's videos, either from real annotation
files (``load_layout``: real durations, fps, instance counts and boundaries; real labels mapped
many-to-one onto the synthetic classes of the set by a seeded map) or from the parametric
distributions fitted to the real files (``data/meta/layout_params.json``, written by
``python -m aher.data.layout_fit``; read by :func:`load_layout_params`).

Frame counts are multiples of the feature stride and the features cover every frame
(:func:`frames`), so ``covered_seconds == duration`` and ``gt.json`` (which cannot carry frame
counts) aligns exactly with the feature grid.
Limits: parametric layouts never overlap and are capped at ``max_instances``; real layouts keep
overlapping/duplicate instances and their counts (times clipped to ``[0, duration]``), and
templates are drawn independently per role (one template may serve several roles).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from aher.data.annotations import Video, load_videos
from aher.data.features import FEATURE_STRIDE
from aher.data.synthetic.settings import DOMAINS
from aher.data.synthetic.streams import labelmap_rng, template_rng
from aher.data.synthetic.world import ClassSet
from aher.errors import UserError
from aher.paths import PROJECT_ROOT

LAYOUT_PARAMS = PROJECT_ROOT / "data" / "meta" / "layout_params.json"

_PARAMS_CACHE: dict = {}


def load_layout_params(path=LAYOUT_PARAMS) -> dict:
    """The fitted parametric layouts (``data/meta/layout_params.json``)."""
    path = Path(path)
    key = str(path)
    if key not in _PARAMS_CACHE:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path}: layout parameters not found (run python -m aher.data.layout_fit)") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
        if data.get("format") != "aher-layout-params":
            raise UserError(f"{path}: not an aher layout-parameter file")
        _PARAMS_CACHE[key] = (data, hashlib.md5(path.read_bytes()).hexdigest())
    return _PARAMS_CACHE[key][0]


def layout_params_md5(path=LAYOUT_PARAMS) -> str:
    """MD5 of the layout-parameter file (part of a parametric request's identity)."""
    load_layout_params(path)
    return _PARAMS_CACHE[str(Path(path))][1]


# ------------------------------------------------------------------------------ fitted distributions


def _draw_positive(rng, fit: dict) -> float:
    """A draw of a fitted positive distribution, resampled inside ``[min, max]``."""
    lo, hi = float(fit["min"]), float(fit["max"])
    for _ in range(100):
        if fit["dist"] == "lognormal":
            x = float(rng.lognormal(fit["mu"], fit["sigma"]))
        else:
            x = lo + (hi - lo) * float(rng.beta(fit["a"], fit["b"]))
        if lo <= x <= hi:
            return x
    return min(max(x, lo), hi)


def _draw_count(rng, fit: dict, duration: float | None, cap: int) -> int:
    log_mu = fit["log_mean"]
    if duration is not None and fit.get("duration_slope"):
        log_mu += fit["duration_slope"] * math.log(duration / fit["duration_ref"])
    mu = math.exp(log_mu)
    r = float(fit["dispersion"])
    extra = int(rng.negative_binomial(r, r / (r + mu))) if mu > 0 else 0
    return int(min(1 + extra, cap))


def _draw_coverage(rng, fit: dict, n: int) -> float:
    for (lo, hi), ab in zip(fit["buckets"], fit["beta"]):
        if lo <= n <= hi:
            return float(np.clip(rng.beta(ab["a"], ab["b"]), 0.01, 0.99))
    ab = fit["beta"][-1]
    return float(np.clip(rng.beta(ab["a"], ab["b"]), 0.01, 0.99))


def draw_fps(rng, fit: dict | None) -> float:
    """A frame rate of the fitted categorical distribution (30 without one)."""
    if not fit:
        return 30.0
    return float(fit["values"][int(rng.choice(len(fit["values"]), p=np.asarray(fit["probs"]) / sum(fit["probs"])))])


def frames(duration: float, fps: float) -> tuple[float, int, int]:
    """``(effective fps, duration_frame, feature_frame)``.  The frame count is rounded to a
    multiple of the feature stride and the features cover every frame, so ``covered_seconds ==
    duration``: the GT in ``gt.json`` (which cannot carry frame counts) lines up exactly with
    the features on the grid.  The effective fps is ``frames / duration``, the rate that
    :func:`aher.data.features.resize` assumes."""
    count = max(FEATURE_STRIDE, FEATURE_STRIDE * int(round(duration * fps / FEATURE_STRIDE)))
    return count / duration, count, count


# ------------------------------------------------------------------------------ real files


def load_layout(path, domain: str | None = None) -> tuple[str, list[Video], str]:
    """Read a real annotation file (any format of :func:`aher.data.annotations.load_videos`) as
    layout templates.  Returns ``(domain, annotated videos, md5 of the file)``.

    The domain is ``domain`` when given, else inferred: a ``training`` subset -> ``anet``; fps
    on every video -> ``thumos``; otherwise ``k600``.
    """
    path = Path(path)
    videos = [v for v in load_videos(path) if v.instances]
    if not videos:
        raise UserError(f"{path}: no annotated videos to use as layouts")
    if domain is None:
        subsets = {v.subset for v in videos}
        if "training" in subsets:
            domain = "anet"
        elif all(v.fps for v in videos):
            domain = "thumos"
        else:
            domain = "k600"
    if domain not in DOMAINS:
        raise UserError(f"{path}: unknown layout domain {domain!r} (choose from {', '.join(DOMAINS)})")
    return domain, videos, hashlib.md5(path.read_bytes()).hexdigest()


#: role -> preferred template subsets, per domain
_TEMPLATE_SUBSETS = {
    "anet": {"train": ("training",), "eval": ("validation",)},
    "thumos": {"train": ("validation",), "eval": ("test",)},
    "k600": {"train": ("validation",), "eval": ("validation",)},
}


# ------------------------------------------------------------------------------ one domain's layouts


class LayoutSource:
    """Temporal layouts of one domain: real templates if given, else the fitted distributions.

    :meth:`sample` returns ``(duration, fps, duration_frame, feature_frame, instances,
    template_id)`` with instances ``(start, end, class index)``; every draw uses the video's
    own generator (template order and label maps have their own seeded streams)."""

    def __init__(self, domain: str, params: dict, seed: int, templates: list[Video] | None = None):
        self.domain = domain
        self.params = params["domains"][domain]
        self.fps_fallback = params["domains"]["anet"].get("fps")
        self.seed = int(seed)
        self.templates = templates
        self._pools: dict = {}
        self._labelmaps: dict = {}

    @property
    def fps_fit(self) -> dict | None:
        """The domain's fitted fps distribution (ANet's when the domain has none)."""
        return self.params.get("fps") or self.fps_fallback

    def _pool(self, role: str) -> tuple[list[Video], np.ndarray]:
        if role not in self._pools:
            kind = "eval" if role in ("eval", "ueval") else "train"
            want = _TEMPLATE_SUBSETS[self.domain][kind]
            pool = [v for v in self.templates if v.subset in want] or list(self.templates)
            perm = template_rng(self.seed, role).permutation(len(pool))
            self._pools[role] = (pool, perm)
        return self._pools[role]

    def _labelmap(self, class_set: str, n_classes: int) -> dict[str, int]:
        key = (class_set, n_classes)
        if key not in self._labelmaps:
            labels = sorted({i.label for v in self.templates for i in v.instances})
            perm = labelmap_rng(self.seed, class_set).permutation(len(labels))
            self._labelmaps[key] = {lab: int(perm[k]) % n_classes for k, lab in enumerate(labels)}
        return self._labelmaps[key]

    def sample(self, rng, role: str, index: int, class_set: ClassSet, set_key: str, primary: int, cfg: dict):
        """``(duration, fps, duration_frame, feature_frame, instances, template_id)``."""
        if self.templates:
            return self._from_template(rng, role, index, set_key, len(class_set.names))
        return self._parametric(rng, class_set, primary, cfg)

    def _from_template(self, rng, role, index, set_key, n_classes):
        pool, perm = self._pool(role)
        tpl = pool[int(perm[index % len(pool)])]
        labelmap = self._labelmap(set_key, n_classes)
        duration = float(tpl.duration)
        fps = float(tpl.fps) if tpl.fps else draw_fps(rng, self.fps_fit)
        fps, duration_frame, feature_frame = frames(duration, fps)
        inst = [(min(max(i.start, 0.0), duration), min(max(i.end, 0.0), duration), labelmap[i.label])
                for i in tpl.instances]
        return duration, fps, duration_frame, feature_frame, inst, tpl.video_id

    def _parametric(self, rng, class_set: ClassSet, primary: int, cfg: dict):
        duration, lengths = self._durations(rng, int(cfg["max_instances"]))
        n = len(lengths)
        min_len = min(0.5, duration / (4 * n))
        lengths = np.maximum(lengths, min_len)
        if lengths.sum() > 0.99 * duration:
            lengths *= 0.99 * duration / lengths.sum()
        gaps = (duration - lengths.sum()) * rng.dirichlet(np.full(n + 1, self.params["gap_alpha"]))
        fps = draw_fps(rng, self.fps_fit)
        duration = round(duration, 2)
        classes = self._classes(rng, class_set, primary, n)
        inst = _place(duration, lengths, gaps, classes)
        fps, duration_frame, feature_frame = frames(duration, fps)
        return duration, fps, duration_frame, feature_frame, inst, ""

    def _durations(self, rng, cap: int) -> tuple[float, np.ndarray]:
        """The video's duration and its instances' lengths (``duration`` mode: the duration, then
        the covered time split by Dirichlet weights; ``length`` mode: the instance lengths, then
        the duration from the coverage)."""
        p = self.params
        if p["mode"] == "duration":
            duration = _draw_positive(rng, p["duration"])
            n = _draw_count(rng, p["instances"], duration, cap)
            covered = duration * _draw_coverage(rng, p["coverage"], n)
            return duration, covered * rng.dirichlet(np.full(n, p["length_alpha"]))
        n = _draw_count(rng, p["instances"], None, cap)
        lengths = np.array([_draw_positive(rng, p["length"]) for _ in range(n)])
        cover = _draw_coverage(rng, p["coverage"], n)
        total = float(lengths.sum())
        return total / max(cover, total / max(600.0, total / 0.99)), lengths

    def _classes(self, rng, class_set: ClassSet, primary: int, n: int) -> list[int]:
        """The first instance has the primary class; each later one, with the fitted
        ``other_class_prob``, another class of the same group (of the set if the group has none)."""
        classes = [primary]
        q = float(self.params.get("other_class_prob", 0.0))
        same_group = np.flatnonzero(class_set.groups == class_set.groups[primary])
        for _ in range(n - 1):
            if rng.random() < q and len(class_set.names) > 1:
                choices = same_group[same_group != primary]
                if choices.size == 0:
                    choices = np.array([c for c in range(len(class_set.names)) if c != primary])
                classes.append(int(rng.choice(choices)))
            else:
                classes.append(primary)
        return classes


def _place(duration: float, lengths: np.ndarray, gaps: np.ndarray, classes: list[int]) -> list[tuple]:
    """Instances ``(start, end, class)`` laid out gap, instance, gap, ... (times rounded to 0.01 s)."""
    inst, t = [], 0.0
    for k in range(len(lengths)):
        t += gaps[k]
        s, e = round(t, 2), round(min(t + lengths[k], duration), 2)
        t += lengths[k]
        inst.append((min(s, duration), min(max(e, s), duration), classes[k]))
    return inst
