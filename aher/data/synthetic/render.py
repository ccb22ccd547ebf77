"""Rendering one planned video into clip features: ``render_features(world, plan, cfg, rng)``.

The latent state is drawn on 4-frame sub-steps (two per feature, plus one beyond each end of the
video) as a sum of interpretable parts, all from the video's own generator, in this order:

* far background: the video's scene vector (from its domain's pool, plus per-video jitter
  ``scene_jitter``) with occasional cuts to another scene (``scene_cut_rate`` per minute), plus a
  little of the video's group vector (``background_group``: scenes hint at the activity);
* context: bands of ``context_frac`` x instance length before and after each instance ramp the
  background from the scene towards the group's context vector (``context_strength``);
* actions: on ``[s, e]`` an onset signature (first ``onset_s`` seconds, at most
  ``phase_max_frac`` of the instance, linearly fading) and an offset signature (last
  ``offset_s`` seconds), weighted by ``phase_strength``; in the middle ``P_c + a A + style +
  drift(t)`` (``action_shared``, a per-instance ``style_std`` offset and an Ornstein-Uhlenbeck
  drift ``drift_std`` / ``drift_tau_s``), all scaled by a per-instance ``amplitude``.  Pauses
  (``pause_rate`` per minute, ``pause_len_s``) fade the action to ``pause_depth``; the scene
  stays visible under it (``scene_in_action``);
* clutter: bursts (``clutter_rate`` per minute, ``clutter_len_s``) resembling random class
  prototypes (``clutter_strength``), without phase signatures and never on an action: the hard
  negatives;
* energy balance: the content is normalised per sub-step to norm ``sqrt(latent_dim)`` (what is
  visible changes at an action, not how much), then AR(1) noise of fixed energy is added
  (``noise_std``, ``noise_tau_s``);
* the domain shift, a second normalisation and the world's fixed ReLU extractor
  (:meth:`aher.data.synthetic.world.World.activations`, sensor noise ``white_std``).

Feature ``k`` (centred at ``(k + 0.5) * 8 / fps``) is the mean of the activations of the four
sub-steps ``2k .. 2k+3`` of its 16-frame window, as an extractor pools its activations.
The draws' order is part of the written bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from aher.data.features import FEATURE_STRIDE
from aher.data.synthetic.plan import Plan
from aher.data.synthetic.world import ClassSet, World, unit


def _ar1(rng, n: int, dim: int, rho: float) -> np.ndarray:
    """Stationary AR(1) rows with unit variance and lag-1 correlation ``rho``."""
    white = rng.standard_normal((n, dim))
    if n == 0 or rho <= 0.0:
        return white
    c = math.sqrt(1.0 - rho * rho)
    zi = ((1.0 - c) * white[0])[None, :]
    out, _ = lfilter([c], [1.0, -rho], white, axis=0, zi=zi)
    return out


def _overlap(t: np.ndarray, half: float, start: float, end: float) -> np.ndarray:
    """Fraction of each window ``[t - half, t + half]`` inside ``[start, end]``."""
    lo = np.maximum(t - half, start)
    hi = np.minimum(t + half, end)
    return np.clip(hi - lo, 0.0, None) / (2.0 * half)


@dataclass(frozen=True)
class _Grid:
    """The sub-steps of one video: centres ``t`` (s; the first and last outside the video),
    spacing ``dt`` (4 frames), ``half`` (a sub-step sees ``[t - half, t + half]``) and the
    number ``n`` of features."""

    t: np.ndarray
    dt: float
    half: float
    n: int


def _grid(plan: Plan) -> _Grid:
    n = plan.n_features
    fps_eff = plan.duration_frame / plan.duration            # the rate resize() assumes
    step = FEATURE_STRIDE / fps_eff                           # seconds per feature (8 frames)
    dt = step / 2.0                                           # seconds per sub-step (4 frames)
    t = (np.arange(2 * n + 2) - 1 + 0.5) * dt
    return _Grid(t, dt, dt / 2.0, n)


def render_features(world: World, plan: Plan, cfg: dict, rng) -> np.ndarray:
    """Features ``[plan.n_features, D]`` float32 at the extractor rate (one per 8 frames)."""
    grid = _grid(plan)
    bg = _far_background(world, plan, cfg, rng, grid)
    ctx_w, ctx_g, act, act_w = _actions(world, plan, cfg, rng, grid)
    cs = cfg["context_strength"] * ctx_w
    background = (1.0 - cs)[:, None] * bg + cs[:, None] * world.context_vec[ctx_g]
    x = (1.0 - act_w * (1.0 - cfg["scene_in_action"]))[:, None] * background + act
    _add_clutter(x, world, plan, cfg, rng, grid)
    return _extract(x, world, plan, cfg, rng, grid)


def _far_background(world: World, plan: Plan, cfg: dict, rng, grid: _Grid) -> np.ndarray:
    """Scene segments separated by cuts, plus the video's group vector."""
    n_cuts = int(rng.poisson(cfg["scene_cut_rate"] * plan.duration / 60.0))
    cuts = np.sort(rng.uniform(0.0, plan.duration, n_cuts))
    pool = world.scenes[plan.domain]
    scene_ids = rng.integers(len(pool), size=n_cuts + 1)
    scenes = pool[scene_ids] + cfg["scene_jitter"] * rng.standard_normal(world.latent)
    bg = scenes[np.searchsorted(cuts, grid.t)]
    if plan.render and cfg["background_group"] > 0:
        cset = world.sets[plan.class_set]
        bg = bg + cfg["background_group"] * world.group_vec[int(cset.groups[plan.render[0][2]])]
    return bg


def _actions(world: World, plan: Plan, cfg: dict, rng, grid: _Grid):
    """``(context weight, context group, action content, action weight)`` per sub-step; where
    actions overlap their content is averaged."""
    m = len(grid.t)
    ctx_w, ctx_g = np.zeros(m), np.zeros(m, dtype=np.int64)
    act, act_w = np.zeros((m, world.latent)), np.zeros(m)
    cset = world.sets[plan.class_set]
    for s, e, c in plan.render:
        length = max(e - s, 1e-6)
        _context_bands(rng, grid.t, s, e, length, int(cset.groups[c]), cfg, ctx_w, ctx_g)
        mask = _overlap(grid.t, grid.half, s, e)
        idx = np.flatnonzero(mask > 0)
        if idx.size == 0:
            continue
        on_len = min(cfg["onset_s"], cfg["phase_max_frac"] * length)
        off_len = min(cfg["offset_s"], cfg["phase_max_frac"] * length)
        content = _action_content(world, cset, c, (s, e), (on_len, off_len), grid.t[idx], grid.dt, cfg, rng)
        n_pauses = int(rng.poisson(cfg["pause_rate"] * length / 60.0))
        for _ in range(n_pauses):
            p_len = rng.uniform(*cfg["pause_len_s"])
            p_start = rng.uniform(s + on_len, max(s + on_len, e - off_len - p_len))
            mask[idx] *= 1.0 - (1.0 - cfg["pause_depth"]) * _overlap(grid.t[idx], grid.half, p_start, p_start + p_len)
        act[idx] += mask[idx, None] * content
        act_w[idx] += mask[idx]
    over = act_w > 1.0
    act[over] /= act_w[over, None]
    return ctx_w, ctx_g, act, np.minimum(act_w, 1.0)


def _context_bands(rng, t, s, e, length, group, cfg, ctx_w, ctx_g):
    """Ramp towards the group's context before and after ``[s, e]`` (in place; the strongest
    band wins where bands meet)."""
    for side in (0, 1):
        band = length * rng.uniform(*cfg["context_frac"])
        if band <= 0:
            continue
        if side == 0:
            w = np.clip((t - (s - band)) / band, 0.0, 1.0) * (t < s)
        else:
            w = np.clip(1.0 - (t - e) / band, 0.0, 1.0) * (t > e)
        better = w > ctx_w
        ctx_w[better] = w[better]
        ctx_g[better] = group


def _action_content(world: World, cset: ClassSet, c: int, span, phases, tt, dt: float, cfg: dict, rng):
    """The latent content of class ``c`` on the sub-steps ``tt`` of the instance ``span``:
    onset / offset signatures over the ``phases`` lengths, the class middle elsewhere."""
    (s, e), (on_len, off_len) = span, phases
    w_on = np.clip(1.0 - (tt - s) / on_len, 0.0, 1.0) if on_len > 0 else np.zeros_like(tt)
    w_off = np.clip(1.0 - (e - tt) / off_len, 0.0, 1.0) if off_len > 0 else np.zeros_like(tt)
    w_on, w_off = w_on * cfg["phase_strength"], w_off * cfg["phase_strength"]
    w_mid = np.clip(1.0 - w_on - w_off, 0.0, 1.0)
    style = cfg["style_std"] * rng.standard_normal(world.latent)
    drift = cfg["drift_std"] * _ar1(rng, tt.size, world.latent, math.exp(-dt / cfg["drift_tau_s"]))
    amp = rng.uniform(*cfg["amplitude"])
    return amp * (w_on[:, None] * cset.onsets[c] + w_off[:, None] * cset.offsets[c]
                  + w_mid[:, None] * (cset.protos[c] + cfg["action_shared"] * world.action + style + drift))


def _add_clutter(x: np.ndarray, world: World, plan: Plan, cfg: dict, rng, grid: _Grid):
    """Clutter bursts outside the actions, added to ``x`` in place (a burst that would touch an
    action is drawn, then dropped)."""
    n_clutter = int(rng.poisson(cfg["clutter_rate"] * plan.duration / 60.0))
    for _ in range(n_clutter):
        c_len = rng.uniform(*cfg["clutter_len_s"])
        c_start = rng.uniform(-c_len / 2, plan.duration - c_len / 2)
        proto = world.clutter_pool[int(rng.integers(len(world.clutter_pool)))]
        amp = cfg["clutter_strength"] * rng.uniform(*cfg["amplitude"])
        if any(c_start < e and c_start + c_len > s for s, e, _ in plan.render):
            continue
        w = _overlap(grid.t, grid.half, c_start, c_start + c_len)
        idx = np.flatnonzero(w > 0)
        x[idx] += amp * w[idx, None] * proto


def _extract(x: np.ndarray, world: World, plan: Plan, cfg: dict, rng, grid: _Grid) -> np.ndarray:
    """Energy balance, noise, domain shift, the extractor and its temporal pooling."""
    x = unit(x)
    x += cfg["noise_std"] * _ar1(rng, len(grid.t), world.latent, math.exp(-grid.dt / cfg["noise_tau_s"]))
    x = x + cfg["domain_shift"] * (x @ world.domain_map[plan.domain]) + cfg["domain_offset"] * world.domain_bias[plan.domain]
    g = world.activations(unit(x), rng, cfg["white_std"])
    n = grid.n
    feats = (g[0:2 * n:2] + g[1:2 * n + 1:2] + g[2:2 * n + 2:2] + g[3:2 * n + 3:2]) * 0.25
    return feats.astype(np.float32)
