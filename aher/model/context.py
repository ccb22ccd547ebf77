"""Context generation: a synthetic untrimmed video built around a trimmed moment (paper Eq. 2, ref §6).

The paper (Eq. 2) turns a moment feature sequence f_m into an untrimmed-looking video

    f_u' = concat(G1(f_m), f_m, G2(f_m))

with two generators G1 (start context) and G2 (end context). This module provides:

  * ``generators(moments, config)`` -- G1 and G2 (ref §6.1). Top-level variable scopes (NOT under
    ``aher/``), AUTO_REUSE, every conv with bias, SAME padding, Glorot init and ReLU (the contrib
    default upstream, so the generated context is >= 0):

      scope       kernel  stride  out channels      output (T_m = 256, D = 2048 in the paper)
      ----------  ------  ------  ----------------  -----------------------------------------
      g_conv_s1   3       1       hidden_width      [B, T_m, 1024]
      g_conv_s2   3       2       D                 [B, T_m / 2, D]   start context (G1)
      g_conv_e1   3       1       hidden_width      [B, T_m, 1024]
      g_conv_e2   3       2       D                 [B, T_m / 2, D]   end context (G2)

    25,171,968 parameters at D = 2048, hidden_width = 1024.

  * ``splice_layout(ratio_id, pos_id, odd, T)`` -- the integer layout of one synthetic video in
    pure Python, float32 arithmetic then truncation exactly as upstream (ref §6.2):

      r = ratio_id * 0.05, p = pos_id * 0.05, L = int(T * r), n1 = int((T - L) / 2), n2 = T - L - n1
      even sample: s = int((1 - r) * n1 * p), video = ctx1[:s] | moment | ctx1[s:] | ctx2,
                   GT = [s, s + L]
      odd sample:  s = int((1 - r) * n2 * p), video = ctx1 | ctx2[:s] | moment | ctx2[s:],
                   true span [n1 + s, n1 + s + L], recorded GT [n1 + s, s + L] (upstream bug,
                   reproduced unless ``fix_odd_gt``)

    where moment, ctx1 and ctx2 are resized to L, n1 and n2 steps. Sample parity is the parity of
    the index in the batch, as upstream. T = 512 gives the table of ref §6.2 (L = 358..486).

  * ``splice(moments, start_ctx, end_ctx, ratio_id, pos_id, ...)`` -- the same layout in TF, with
    per-sample (data-dependent) lengths, and the legacy bilinear resize
    (``align_corners=False, half_pixel_centers=False``: source index = dst * in / out).
  * ``synthesize_untrimmed(moments, ratio_id, pos_id, config, T)`` = ``generators`` + ``splice``.

Modes (``ContextConfig.mode``):
  * ``"splice"`` (default): the released code (above); the paper does not describe it (ref §11.1
    item 8).
  * ``"concat"``: our reading of Eq. 2: concat(resize(G1, n1), resize(f_m, L), resize(G2, n2)) with
    GT [n1, n1 + L], using the same L/n1/n2 arithmetic (the paper gives no lengths; keeping the
    upstream 70-95 % moment coverage makes the two modes differ only in the position of the
    moment). ``pos_id`` and the parity are ignored.

Limits:
  * The batch size must be static: the splice is a Python loop over the B samples (as upstream),
    producing a static [B, T, D] video.
  * Valid ids: every block must be non-empty and the start must stay inside its block, i.e.
    L >= 1, n1 >= 1, n2 >= 1 and 0 <= p <= 1 (ratio_id 14..19, pos_id 1..19 upstream). Violations
    raise ValueError in ``splice_layout`` and fail a runtime assertion in ``splice``.
  * Only the generators hold variables; the splice has none, and gradients flow to the
    generators (and to the moments) through the resizes.
  * No losses, no discriminator (``aher.model.discriminator``), no random draw of the ids (the
    input pipeline draws ``ratio_id`` / ``pos_id``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from aher.model.layers import conv1d

MODES = ("splice", "concat")
KERNEL_SIZE = 3
ID_STEP = 0.05          # r = ratio_id * 0.05, p = pos_id * 0.05 (float32, ref §6.2)


@dataclass(frozen=True)
class ContextConfig:
    """Context-generation settings.

    mode: "splice" (upstream, ref §6.2) or "concat" (paper Eq. 2, see module doc).
    fix_odd_gt: record the true span of odd samples instead of upstream's [n1 + s, s + L].
    hidden_width: width of g_conv_s1 / g_conv_e1 (paper 1024).
    """

    mode: str = "splice"
    fix_odd_gt: bool = False
    hidden_width: int = 1024

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown context mode {self.mode!r}; expected one of {MODES}")
        if int(self.hidden_width) < 1:
            raise ValueError(f"hidden_width must be >= 1, got {self.hidden_width}")


@contextlib.contextmanager
def top_level_scope():
    """Re-open the root variable scope with AUTO_REUSE, without touching the name scope.

    For the top-level scopes of Algorithm 1 (``g_conv_s*``, ``g_conv_e*``, ``conv_a*_adv``): their
    variable names are absolute by contract (``aher.model.variable_groups``). Raises ValueError when
    called inside another variable scope.
    """
    outer = tf.compat.v1.get_variable_scope()
    if outer.name:
        raise ValueError(f"context/adversary graph functions must be called outside any variable scope "
                         f"(current variable scope {outer.name!r}); their scopes are top-level")
    with tf.compat.v1.variable_scope(outer, reuse=tf.compat.v1.AUTO_REUSE, auxiliary_name_scope=False):
        yield


def generators(moments, config=ContextConfig()):
    """G1 (start context) and G2 (end context) of Eq. 2 (ref §6.1).

    Args:
      moments: float32 [B, T_m, D] moment features f_m, D static.
      config: ContextConfig (``hidden_width``).

    Returns:
      (start_ctx, end_ctx), each float32 [B, ceil(T_m / 2), D], >= 0 (ReLU).
    """
    depth = moments.shape[-1]
    if depth is None:
        raise ValueError(f"generators: the feature dimension must be static, got shape {moments.shape}")
    outputs = []
    with tf.name_scope("context_generators"), top_level_scope():
        for tag in ("s", "e"):
            hidden = conv1d(moments, config.hidden_width, KERNEL_SIZE, 1, f"g_conv_{tag}1")
            outputs.append(conv1d(hidden, int(depth), KERNEL_SIZE, 2, f"g_conv_{tag}2"))
    return tuple(outputs)


def splice_layout(ratio_id, pos_id, odd, temporal_length=512, fix_odd_gt=False, mode="splice"):
    """Integer layout of one synthetic video (ref §6.2), pure Python with upstream float32 arithmetic.

    Args:
      ratio_id: int, moment length ratio r = ratio_id * 0.05.
      pos_id: int, relative start p = pos_id * 0.05 inside the context block.
      odd: bool, sample parity (batch index % 2 == 1): the moment goes into the end block.
      temporal_length: T.
      fix_odd_gt: record the true span for odd samples (upstream records [n1 + s, s + L]).
      mode: "splice" or "concat" (Eq. 2: s = 0 and the moment sits between the two blocks).

    Returns:
      dict with ints "L" (moment length), "n1", "n2" (start/end context lengths), "s" (start of
      the moment inside its block; 0 in concat mode), "span" (true [start, end) of the moment in
      the video) and "gt" (recorded [start, end], grid units).
    """
    if mode not in MODES:
        raise ValueError(f"unknown context mode {mode!r}; expected one of {MODES}")
    f32 = np.float32
    total = int(temporal_length)
    r = f32(ratio_id) * f32(ID_STEP)
    p = f32(pos_id) * f32(ID_STEP)
    length = int(f32(total) * r)
    n1 = int(f32(total - length) / f32(2))
    n2 = total - length - n1
    if mode == "concat":
        s = 0
    else:
        s = int((f32(1) - r) * f32(n2 if odd else n1) * p)
    _check_layout(length, n1, n2, s, n2 if odd and mode == "splice" else n1, ratio_id, pos_id, total)
    if mode == "concat":
        span = gt = (n1, n1 + length)
    elif not odd:
        span = gt = (s, s + length)
    else:
        span = (n1 + s, n1 + s + length)
        gt = span if fix_odd_gt else (n1 + s, s + length)
    return {"L": length, "n1": n1, "n2": n2, "s": s, "span": span, "gt": gt}


def _check_layout(length, n1, n2, s, block, ratio_id, pos_id, total):
    if length < 1 or n1 < 1 or n2 < 1 or not 0 <= s <= block:
        raise ValueError(f"invalid context layout for ratio_id={ratio_id}, pos_id={pos_id}, T={total}: "
                         f"L={length}, n1={n1}, n2={n2}, s={s} (need L, n1, n2 >= 1 and 0 <= s <= block)")


def _layout_tensors(ratio_id, pos_id, odd, temporal_length):
    """TF twin of the splice_layout arithmetic, elementwise.

    Args:
      ratio_id, pos_id: int32 [B].
      odd: bool [B].
      temporal_length: python int T.

    Returns:
      (L, n1, n2, s), each int32 [B], and the validity assertion op.
    """
    with tf.name_scope("layout"):
        r = tf.cast(ratio_id, tf.float32) * tf.constant(ID_STEP, tf.float32)
        p = tf.cast(pos_id, tf.float32) * tf.constant(ID_STEP, tf.float32)
        length = tf.cast(tf.constant(float(temporal_length), tf.float32) * r, tf.int32)    # truncation
        n1 = tf.cast(tf.cast(temporal_length - length, tf.float32) / 2.0, tf.int32)
        n2 = temporal_length - length - n1
        block = tf.where(odd, n2, n1)
        s = tf.cast((1.0 - r) * tf.cast(block, tf.float32) * p, tf.int32)
        valid = tf.reduce_all(tf.stack([length >= 1, n1 >= 1, n2 >= 1, s >= 0, s <= block]))
        check = tf.debugging.Assert(
            valid, ["invalid context layout (need L, n1, n2 >= 1 and 0 <= s <= block); ratio_id, pos_id:",
                    ratio_id, pos_id], name="check_layout")
        return length, n1, n2, s, check


def resize_temporal(x, length):
    """Legacy bilinear resize of a sequence along time (ref §6.2).

    The ``ResizeBilinear`` kernel (what ``tf.compat.v1.image.resize_bilinear`` runs, called
    directly to avoid its deprecation notice) with align_corners=False, half_pixel_centers=False on a
    [1, T_in, 1, D] view: output step t reads source position t * T_in / length (no half-pixel
    offset), linearly interpolated, clamped at the last step.

    Args:
      x: float32 [T_in, D].
      length: int or int32 scalar tensor, output length (>= 1).

    Returns:
      float32 [length, D].
    """
    with tf.name_scope("resize_temporal"):
        size = tf.stack([tf.cast(length, tf.int32), tf.constant(1, tf.int32)])
        y = tf.raw_ops.ResizeBilinear(images=x[tf.newaxis, :, tf.newaxis, :], size=size,
                                      align_corners=False, half_pixel_centers=False)
        return y[0, :, 0, :]


def _static_batch(x, what):
    batch = x.shape[0] if x.shape.rank is not None else None
    if batch is None:
        raise ValueError(f"{what}: the batch size must be static (Python loop over samples), got shape {x.shape}")
    return int(batch)


def splice(moments, start_ctx, end_ctx, ratio_id, pos_id, temporal_length=512, mode="splice",
           fix_odd_gt=False):
    """Build the synthetic untrimmed videos of ref §6.2 (or Eq. 2 in concat mode) from given contexts.

    Sample i is even/odd by ``i % 2``. Moment, start and end context are resized (legacy bilinear)
    to L, n1 and n2 steps of the sample's layout, then concatenated (see module doc).

    Args:
      moments: float32 [B, T_m, D], static B and D.
      start_ctx: float32 [B, T_c, D] (G1 output).
      end_ctx: float32 [B, T_c, D] (G2 output).
      ratio_id: int [B].
      pos_id: int [B] (unused in concat mode).
      temporal_length: T.
      mode: "splice" or "concat".
      fix_odd_gt: record odd samples' true span (splice mode).

    Returns:
      video: float32 [B, T, D].
      gt: float32 [B, 1, 2] recorded [start, end] in grid units.
    """
    if mode not in MODES:
        raise ValueError(f"unknown context mode {mode!r}; expected one of {MODES}")
    batch = _static_batch(moments, "splice")
    depth = moments.shape[-1]
    total = int(temporal_length)
    with tf.name_scope(f"context_{mode}"):
        ratio_id = tf.cast(ratio_id, tf.int32)
        if mode == "concat":        # the moment sits between the blocks: s = 0, parity irrelevant
            pos_id, odd = tf.zeros_like(ratio_id), tf.zeros([batch], tf.bool)
        else:
            pos_id, odd = tf.cast(pos_id, tf.int32), tf.constant([i % 2 == 1 for i in range(batch)])
        length, n1, n2, s, check = _layout_tensors(ratio_id, pos_id, odd, total)
        videos = []
        with tf.control_dependencies([check]):
            for i in range(batch):
                with tf.name_scope(f"sample_{i}"):
                    mom = resize_temporal(moments[i], length[i])
                    ctx1 = resize_temporal(start_ctx[i], n1[i])
                    ctx2 = resize_temporal(end_ctx[i], n2[i])
                    if mode == "concat":
                        pieces = [ctx1, mom, ctx2]
                    elif i % 2 == 0:
                        pieces = [ctx1[:s[i]], mom, ctx1[s[i]:], ctx2]
                    else:
                        pieces = [ctx1, ctx2[:s[i]], mom, ctx2[s[i]:]]
                    videos.append(tf.reshape(tf.concat(pieces, axis=0), [total, depth]))
        video = tf.stack(videos, axis=0, name="video")
        with tf.name_scope("gt"):
            if mode == "concat":
                start, end = n1, n1 + length
            else:
                start = tf.where(odd, n1 + s, s)
                end = tf.where(odd, (n1 if fix_odd_gt else 0) + s + length, s + length)
            gt = tf.cast(tf.stack([start, end], axis=-1), tf.float32)[:, tf.newaxis, :]
    return video, gt


def synthesize_untrimmed(moments, ratio_id, pos_id, config=ContextConfig(), temporal_length=512):
    """Synthetic untrimmed videos from moments: generators (ref §6.1) + splice (ref §6.2 / Eq. 2).

    Args:
      moments: float32 [B, T_m, D], static B and D (T_m = T / 2 by convention).
      ratio_id: int32 [B] (input pipeline).
      pos_id: int32 [B] (input pipeline).
      config: ContextConfig.
      temporal_length: T.

    Returns:
      video: float32 [B, T, D].
      gt: float32 [B, 1, 2] recorded [start, end] in grid units.
    """
    with tf.name_scope("synthesize_untrimmed"):
        start_ctx, end_ctx = generators(moments, config)
        return splice(moments, start_ctx, end_ctx, ratio_id, pos_id, temporal_length,
                      mode=config.mode, fix_odd_gt=config.fix_odd_gt)
