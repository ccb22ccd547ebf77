"""Mechanism diagnostics of Algorithm 1: does the adversarial context machinery do anything?

Contract: :class:`MechanismDiagnostics` is the ``diagnostics`` hook of an Algorithm-1
:class:`~aher.train.loop.LoopGraph` (methods ``algorithm1`` and ``no_adversary``).  ``run_loop``
calls ``log(session, it)`` every ``train.log_every`` iterations and ``snapshot(session, it)`` at
every snapshot.  ``log`` runs ONE extra ``session.run`` of tensors the training graph already has,
after the iteration's sub-steps, on the same cached batch; it reads variables and the batch
cache only (no optimizer op, no input iterator), so it changes nothing that training computes.
The only graph ops it adds are a second application of G1/G2 to the cached moments (same
variables, same values as the splice's) -- built after every variable, so no initial value moves.
Everything else is numpy on the fetched arrays:

* **discriminator** (``algorithm1`` only), per anchor layer j and over all layers, under the
  configured ``adversarial.mask``: ``real_accuracy`` = share of D's background anchors of the
  untrimmed batch with D = sigmoid(logit) > 0.5, ``generated_accuracy`` = share of its background
  anchors of the synthetic batch with D < 0.5, ``accuracy`` = their mean (0.5 = chance), with the
  anchor counts.  Background = ``gscores < 0.3`` (and not > 0.7), as in
  ``aher.model.losses.adversarial_losses``.
* **probe**: held-out ROC AUC of a ridge linear probe telling generated context from real
  background, at the input (feature steps) and per anchor layer (end points ``conv_a{j}``).  A
  cell t of a layer with step ``S`` covers ``[t S, (t + 1) S)``; it is *real background* when it
  overlaps no GT instance of its untrimmed video and *generated context* when it lies outside
  the TRUE moment span of its synthetic video (``aher.model.context.splice_layout`` "span", not
  the recorded GT, which is wrong for odd samples upstream).  Each measurement adds up to
  ``rows_per_measurement`` random rows per class and site to a reservoir of ``buffer_size`` rows;
  at a snapshot the probe is fitted on a stratified 70 % split and scored on the rest, then the
  reservoirs are emptied.  ``auc`` is None when a class has fewer than ``MIN_PROBE_ROWS`` rows.
  0.5 = indistinguishable, 1.0 = linearly separable.  Record per site: ``auc``, ``train``,
  ``test`` (rows of the split) and ``generated_rows`` / ``real_rows`` (rows in the reservoirs).
* **generator**: mean per-step L2 norm, fraction of exact zeros and temporal std (std over time
  per channel, averaged over channels and sequences) of the G1/G2 outputs ``[B, T_m / 2, D]``
  beside the same for the real background steps of the untrimmed batch.
* **background_share** (``algorithm1`` only), for both masks ``joint`` and ``separate``
  whatever the configured one: D's background anchors of the synthetic batch classified by their
  extent ``[max(0, c - w / 2), min(T, c + w / 2)]`` against the true moment span ``[a, b)``:
  ``moment`` (inside it), ``context`` (disjoint from it) or ``straddling``; shares of ``anchors``.

``snapshot`` returns the record of the window since the previous snapshot (counts summed, generator
statistics averaged over the measurements, probe fitted on the window's rows) -- the value written
under the snapshot's iteration in ``RUN/diagnostics.json`` -- and TensorBoard scalars
(``mechanism/...``); ``log`` returns the scalars of the current batch.  Record (null = undefined)::

    {"method": str, "mask": str, "measurements": int, "first_iteration": int, "last_iteration": int,
     "seconds_per_measurement": float,
     "generator": {"generated" | "real_background": {"norm", "zero_fraction", "temporal_std"}},
     "probe": {"input" | "layer_<j>": {"auc", "train", "test", "generated_rows", "real_rows"}},
     "discriminator": {"layers": [{"layer": j, "real_accuracy", "generated_accuracy", "accuracy",
                                   "real_anchors", "generated_anchors"}, ...], "all": {... same}},
     "background_share": {"joint" | "separate": {"anchors", "moment", "context", "straddling"}}}

(``discriminator`` and ``background_share`` only with a discriminator.)
Limits: one batch per measurement; the probe needs several measurements per window at small
batch sizes; coarse layers may have no qualifying cell (``auc`` None); no statistics of the
supervised trainers or of the variants without synthetic videos.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from aher.model.anchors import flat_anchors
from aher.model.context import generators, splice_layout
from aher.model.losses import ADV_BACKGROUND_THRESHOLD, ADV_POSITIVE_THRESHOLD

MASKS = ("joint", "separate")
MIN_PROBE_ROWS = 20            # per class, before the split
TEST_FRACTION = 0.3
RIDGE = 0.1                    # penalty RIDGE * n_train * ||w||^2 on standardised features


# ----------------------------------------------------------------------------------- masks
def background(gscores):
    """D's background test of ``adversarial_losses``: not > 0.7 and < 0.3 (bool, same shape)."""
    g = np.asarray(gscores)
    return np.logical_and(~(g > ADV_POSITIVE_THRESHOLD), g < ADV_BACKGROUND_THRESHOLD)


def adversary_masks(gscores_real, gscores_fake, mask):
    """(mask_real, mask_fake) [B, N_anc] of D's anchors under ``mask`` ("joint" or "separate")."""
    if mask not in MASKS:
        raise ValueError(f"unknown adversarial mask {mask!r}; expected one of {MASKS}")
    real, fake = background(gscores_real), background(gscores_fake)
    if mask == "joint":
        real = fake = np.logical_and(real, fake)
    return real, fake


def anchor_extents(layers, temporal_length):
    """Anchor extents [N_anc] (lo, hi) in flat order, clipped to ``[0, T]``."""
    centers, widths = flat_anchors(layers)
    return np.maximum(centers - widths / 2, 0.0), np.minimum(centers + widths / 2, float(temporal_length))


def layer_slices(layers):
    """Slices of the flat anchor axis, one per layer (finest first)."""
    out, start = [], 0
    for layer in layers:
        out.append(slice(start, start + layer.num_anchors))
        start += layer.num_anchors
    return out


def anchor_locations(mask, lo, hi, spans):
    """Where the masked anchors lie relative to each sample's moment span.

    Args:
      mask: bool [B, N_anc]; lo, hi: [N_anc] anchor extents; spans: [B, 2] true ``[a, b)``.
    Returns {"anchors", "moment", "context", "straddling"} integer counts: inside ``[a, b]``,
    disjoint from ``(a, b)``, the rest.
    """
    mask = np.asarray(mask, bool)
    spans = np.asarray(spans, np.float64)
    a, b = spans[:, :1], spans[:, 1:]
    inside = (lo[None] >= a) & (hi[None] <= b)
    context = (hi[None] <= a) | (lo[None] >= b)
    return {"anchors": int(mask.sum()), "moment": int((mask & inside).sum()),
            "context": int((mask & context).sum()), "straddling": int((mask & ~inside & ~context).sum())}


def cells_outside(intervals, valid, cells, step):
    """bool [B, cells]: cell t (``[t step, (t + 1) step)``) overlaps no valid interval of its sample.

    Args: intervals [B, G, 2] ``[start, end)`` (grid units); valid bool [B, G].
    """
    lo = np.arange(cells, dtype=np.float64) * step
    hi = lo + step
    s, e = intervals[..., 0][:, None, :], intervals[..., 1][:, None, :]
    overlap = (lo[None, :, None] < e) & (hi[None, :, None] > s) & np.asarray(valid, bool)[:, None, :]
    return ~overlap.any(axis=-1)


def true_spans(ratio_id, pos_id, temporal_length, mode):
    """[B, 2] true moment span of every synthetic video (sample parity = batch index parity)."""
    return np.array([splice_layout(int(r), int(p), odd=bool(i % 2), temporal_length=temporal_length,
                                   mode=mode)["span"] for i, (r, p) in enumerate(zip(ratio_id, pos_id))],
                    dtype=np.float64)


# ----------------------------------------------------------------------------------- statistics
def discriminator_counts(d_real, d_fake, mask_real, mask_fake, slices):
    """Per layer [real_correct, real_anchors, generated_correct, generated_anchors] (int [L, 4])."""
    out = np.zeros((len(slices), 4), np.int64)
    for j, sl in enumerate(slices):
        mr, mf = mask_real[:, sl], mask_fake[:, sl]
        out[j] = ((d_real[:, sl] > 0) & mr).sum(), mr.sum(), ((d_fake[:, sl] < 0) & mf).sum(), mf.sum()
    return out


def _ratio(num, den):
    return float(num) / float(den) if den else None


def discriminator_record(counts):
    """JSON-ready accuracies from summed :func:`discriminator_counts`."""
    def row(c):
        real, fake = _ratio(c[0], c[1]), _ratio(c[2], c[3])
        both = None if real is None or fake is None else 0.5 * (real + fake)
        return {"real_accuracy": real, "generated_accuracy": fake, "accuracy": both,
                "real_anchors": int(c[1]), "generated_anchors": int(c[3])}
    return {"layers": [dict(layer=j + 1, **row(c)) for j, c in enumerate(counts)], "all": row(counts.sum(axis=0))}


def step_statistics(x, mask=None):
    """Mean per-step L2 norm, exact-zero fraction and temporal std of ``x`` [B, T, D] at ``mask`` [B, T].

    Temporal std: per sequence, the std over its selected steps of every channel, averaged over
    channels, then over the sequences with at least 2 selected steps.  Values are None without steps.
    """
    x = np.asarray(x)
    mask = np.ones(x.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        return {"norm": None, "zero_fraction": None, "temporal_std": None}
    rows = x[mask]
    stds = [float(x[i][mask[i]].std(axis=0).mean()) for i in range(x.shape[0]) if mask[i].sum() >= 2]
    return {"norm": float(np.linalg.norm(rows, axis=-1).mean()), "zero_fraction": float((rows == 0).mean()),
            "temporal_std": float(np.mean(stds)) if stds else None}


def roc_auc(scores, labels):
    """ROC AUC of ``scores`` for boolean ``labels`` (Mann-Whitney U, ties count one half)."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if not n_pos or not n_neg:
        raise ValueError("roc_auc needs both classes")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0          # 1-based mean rank of each tie group
    ranks = average_rank[inverse]
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def probe_auc(positive, negative, seed=0, test_fraction=TEST_FRACTION, ridge=RIDGE, min_rows=MIN_PROBE_ROWS):
    """Held-out AUC of a ridge probe separating ``positive`` [n_p, d] from ``negative`` [n_n, d] rows.

    Stratified random split (``test_fraction`` of each class held out), features standardised
    with the training split's mean/std (constant features left at 0), least squares on targets
    +-1 with penalty ``ridge * n_train * ||w||^2`` (float64, primal or dual solve).
    Returns {"auc": float or None (a class below ``min_rows``), "train": n, "test": n}.
    """
    positive, negative = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    if min(len(positive), len(negative)) < max(int(min_rows), 2):
        return {"auc": None, "train": 0, "test": 0}
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "test": ([], [])}
    for rows, target in ((positive, 1.0), (negative, -1.0)):
        order = rng.permutation(len(rows))
        n_test = max(1, int(round(test_fraction * len(rows))))
        for name, idx in (("test", order[:n_test]), ("train", order[n_test:])):
            parts[name][0].append(rows[idx])
            parts[name][1].append(np.full(len(idx), target))
    x_train, y_train = np.concatenate(parts["train"][0]), np.concatenate(parts["train"][1])
    x_test, y_test = np.concatenate(parts["test"][0]), np.concatenate(parts["test"][1])
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    bias = y_train.mean()
    y = y_train - bias
    n, d = x_train.shape
    penalty = ridge * n
    if d <= n:
        w = np.linalg.solve(x_train.T @ x_train + penalty * np.eye(d), x_train.T @ y)
    else:
        w = x_train.T @ np.linalg.solve(x_train @ x_train.T + penalty * np.eye(n), y)
    return {"auc": roc_auc(x_test @ w + bias, y_test > 0), "train": int(n), "test": int(len(y_test))}


class Reservoir:
    """Uniform sample of at most ``capacity`` rows out of every row ever added (reservoir sampling)."""

    def __init__(self, capacity):
        self.capacity = int(capacity)
        self.rows = []
        self.seen = 0

    def add(self, rows, rng):
        for row in rows:
            if len(self.rows) < self.capacity:
                self.rows.append(np.array(row, np.float32))
            else:
                j = int(rng.integers(0, self.seen + 1))
                if j < self.capacity:
                    self.rows[j] = np.array(row, np.float32)
            self.seen += 1

    def array(self):
        return np.stack(self.rows) if self.rows else np.zeros((0, 0), np.float32)


# ----------------------------------------------------------------------------------- the hook
def _mean_stats(items):
    keys = ("norm", "zero_fraction", "temporal_std")
    out = {}
    for key in keys:
        values = [s[key] for s in items if s[key] is not None]
        out[key] = float(np.mean(values)) if values else None
    return out


def _share_record(counts):
    n = counts["anchors"]
    return {"anchors": int(n), **{k: _ratio(counts[k], n) for k in ("moment", "context", "straddling")}}


class MechanismDiagnostics:
    """The ``diagnostics`` hook (see module doc).

    Args:
      fetches: name -> tensor: ``untrimmed_features`` [B, T, D], ``untrimmed_gt`` [B, G, 2],
        ``video`` [B, T, D], ``ratio_id``, ``pos_id`` [B], ``g_start``, ``g_end`` [B, T_c, D],
        ``real_end_points`` / ``synthetic_end_points`` lists of L [B, T_j, C_j]; with a
        discriminator also ``d_real``, ``d_fake``, ``gscores_real``, ``gscores_fake`` [B, N_anc].
      layers: anchor layers of the model; temporal_length: T; context_mode: "splice" / "concat".
      mask: the configured adversarial mask; method: ``train.method``; seed: numpy seed.
    """

    def __init__(self, fetches, layers, temporal_length, context_mode="splice", mask="joint", method="algorithm1",
                 seed=0, buffer_size=1024, rows_per_measurement=128):
        self.fetches = fetches
        self.layers = list(layers)
        self.temporal_length = int(temporal_length)
        self.context_mode = context_mode
        self.mask = mask
        self.method = method
        self.has_discriminator = "d_real" in fetches
        self.seed = int(seed)
        self.buffer_size = int(buffer_size)
        self.rows_per_measurement = int(rows_per_measurement)
        self.lo, self.hi = anchor_extents(self.layers, self.temporal_length)
        self.slices = layer_slices(self.layers)
        self.sites = ["input"] + [f"layer_{layer.index}" for layer in self.layers]
        self.rng = np.random.default_rng(self.seed)
        self.last_measured = None
        self._reset_window()

    def _reset_window(self):
        self.window = {"measurements": 0, "first": None, "last": None, "seconds": 0.0, "generated": [],
                       "real_background": [], "d_counts": None,
                       "share": {m: {"anchors": 0, "moment": 0, "context": 0, "straddling": 0} for m in MASKS}}
        self.buffers = {site: (Reservoir(self.buffer_size), Reservoir(self.buffer_size)) for site in self.sites}

    def _sample(self, rows):
        if len(rows) > self.rows_per_measurement:
            rows = rows[self.rng.choice(len(rows), self.rows_per_measurement, replace=False)]
        return rows

    def _collect(self, site, generated, real):
        gen_buf, real_buf = self.buffers[site]
        gen_buf.add(self._sample(generated), self.rng)
        real_buf.add(self._sample(real), self.rng)

    def log(self, session, iteration):
        """Measure the current batch; return TensorBoard scalars ``{tag: value}``."""
        t0 = time.perf_counter()
        v = session.run(self.fetches)
        total = self.temporal_length
        gt = np.asarray(v["untrimmed_gt"], np.float64)
        gt_valid = ~np.all(gt == -1.0, axis=-1)
        spans = true_spans(v["ratio_id"], v["pos_id"], total, self.context_mode)
        scalars = {}

        # probe rows: input steps and end-point cells
        real_bg = cells_outside(gt, gt_valid, total, 1.0)
        context = cells_outside(spans[:, None, :], np.ones((len(spans), 1), bool), total, 1.0)
        self._collect("input", v["video"][context], v["untrimmed_features"][real_bg])
        for layer, real_ep, syn_ep in zip(self.layers, v["real_end_points"], v["synthetic_end_points"]):
            step = total / layer.length
            real_cells = cells_outside(gt, gt_valid, layer.length, step)
            ctx_cells = cells_outside(spans[:, None, :], np.ones((len(spans), 1), bool), layer.length, step)
            self._collect(f"layer_{layer.index}", syn_ep[ctx_cells], real_ep[real_cells])

        # generator output vs real background steps
        generated = step_statistics(np.concatenate([v["g_start"], v["g_end"]], axis=0))
        real = step_statistics(v["untrimmed_features"], real_bg)
        self.window["generated"].append(generated)
        self.window["real_background"].append(real)
        for what, stats in (("generated", generated), ("real_background", real)):
            scalars.update({f"mechanism/{key}/{what}": val for key, val in stats.items()})

        if self.has_discriminator:
            mask_real, mask_fake = adversary_masks(v["gscores_real"], v["gscores_fake"], self.mask)
            counts = discriminator_counts(v["d_real"], v["d_fake"], mask_real, mask_fake, self.slices)
            self.window["d_counts"] = counts if self.window["d_counts"] is None else self.window["d_counts"] + counts
            record = discriminator_record(counts)
            for row in record["layers"] + [dict(layer="all", **record["all"])]:
                for key in ("accuracy", "real_accuracy", "generated_accuracy"):
                    scalars[f"mechanism/D_{key}/layer_{row['layer']}"] = row[key]
            for name in MASKS:
                _, fake = adversary_masks(v["gscores_real"], v["gscores_fake"], name)
                located = anchor_locations(fake, self.lo, self.hi, spans)
                for key, val in located.items():
                    self.window["share"][name][key] += val
                share = _share_record(located)
                for key in ("moment", "context", "straddling"):
                    scalars[f"mechanism/background_in_{key}/{name}"] = share[key]

        w = self.window
        w["measurements"] += 1
        w["first"] = iteration if w["first"] is None else w["first"]
        w["last"] = iteration
        w["seconds"] += time.perf_counter() - t0
        self.last_measured = iteration
        return {k: float(val) for k, val in scalars.items() if val is not None}

    def snapshot(self, session, iteration):
        """Close the window (measuring the current batch if ``log`` did not); return ``(scalars, record)``."""
        if self.last_measured != iteration:
            self.log(session, iteration)
        w = self.window
        record = {"method": self.method, "mask": self.mask, "measurements": w["measurements"],
                  "first_iteration": w["first"], "last_iteration": w["last"],
                  "seconds_per_measurement": w["seconds"] / max(w["measurements"], 1),
                  "generator": {"generated": _mean_stats(w["generated"]),
                                "real_background": _mean_stats(w["real_background"])},
                  "probe": {}}
        scalars = {}
        for k, site in enumerate(self.sites):
            gen_buf, real_buf = self.buffers[site]
            gen, real = gen_buf.array(), real_buf.array()
            result = probe_auc(gen, real, seed=self.seed + 7919 * int(iteration) + k)
            record["probe"][site] = {**result, "generated_rows": len(gen), "real_rows": len(real)}
            if result["auc"] is not None:
                scalars[f"mechanism/probe_auc/{site}"] = result["auc"]
        if self.has_discriminator:
            record["discriminator"] = discriminator_record(w["d_counts"])
            record["background_share"] = {m: _share_record(w["share"][m]) for m in MASKS}
        self._reset_window()
        return scalars, record


def build_mechanism_diagnostics(parts, net, config, method):
    """The hook for an Algorithm-1 graph; call after every variable and the saver exist.

    Args:
      parts: tensors of the graph (keys of :class:`MechanismDiagnostics` ``fetches`` except
        ``g_start`` / ``g_end``, plus ``moments`` [B, T_m, D], the cached moment features).
      net: the :class:`~aher.model.graph.AherNet`; config: resolved config dict; method: train.method.
    """
    ctx = config.context
    fetches = {k: v for k, v in parts.items() if k != "moments"}
    with tf.compat.v1.name_scope("mechanism_diagnostics"):
        fetches["g_start"], fetches["g_end"] = generators(parts["moments"], ctx)
    return MechanismDiagnostics(fetches, net.layers, net.config.temporal_length, context_mode=ctx.mode,
                                mask=config.adversarial.mask, method=method, seed=config.train.seed)
