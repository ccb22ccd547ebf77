"""Context generation: a synthetic untrimmed video built around a trimmed moment (paper Eq. 2, paper_vs_code §6).

The paper (Eq. 2) turns a moment feature sequence f_m into an untrimmed-looking video

    f_u' = concat(G1(f_m), f_m, G2(f_m))

with two generators G1 (start context) and G2 (end context). This module provides:

  * ``generators(moments, config)`` -- G1 and G2 (paper_vs_code §6.1). Top-level variable scopes (NOT under
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
    pure Python, float32 arithmetic then truncation exactly as upstream (paper_vs_code §6.2):

      r = ratio_id * 0.05, p = pos_id * 0.05, L = int(T * r), n1 = int((T - L) / 2), n2 = T - L - n1
      even sample: s = int((1 - r) * n1 * p), video = ctx1[:s] | moment | ctx1[s:] | ctx2,
                   GT = [s, s + L]
      odd sample:  s = int((1 - r) * n2 * p), video = ctx1 | ctx2[:s] | moment | ctx2[s:],
                   true span [n1 + s, n1 + s + L], recorded GT [n1 + s, s + L] (upstream bug,
                   reproduced unless ``fix_odd_gt``)

    where moment, ctx1 and ctx2 are resized to L, n1 and n2 steps. Sample parity is the parity of
    the index in the batch, as upstream. T = 512 gives the table of paper_vs_code §6.2 (L = 358..486).

  * ``splice(moments, start_ctx, end_ctx, ratio_id, pos_id, ...)`` -- the same layout in TF, with
    per-sample (data-dependent) lengths, and the legacy bilinear resize
    (``align_corners=False, half_pixel_centers=False``: source index = dst * in / out). Every
    output step gets its source index and interpolation weight, then one batched gather
    interpolates; values and gradients are those of the ``ResizeBilinear`` kernel
    (``resize_temporal``) applied sample by sample, bit for bit.
  * ``synthesize_untrimmed(moments, ratio_id, pos_id, config, T)`` = ``generators`` + ``splice``.
  * ``resize_segments(x, start, size, length)`` -- the same resize of one data-dependent segment
    per sample; ``real_instances`` and ``context_l2_loss`` (the AherNet_A- context loss, real
    context = the features before / after the first GT instance) are built on it.

Modes (``ContextConfig.mode``):
  * ``"splice"`` (default): the released code (above); the paper does not describe it (paper_vs_code §11.1
    item 8).
  * ``"concat"``: our reading of Eq. 2: concat(resize(G1, n1), resize(f_m, L), resize(G2, n2)) with
    GT [n1, n1 + L], using the same L/n1/n2 arithmetic (the paper gives no lengths; keeping the
    upstream 70-95 % moment coverage makes the two modes differ only in the position of the
    moment). ``pos_id`` and the parity are ignored.

Limits:
  * The batch size must be static (the sample parity is a constant, the video a static
    [B, T, D]); there is no Python loop over samples, so the graph size does not depend on B.
  * Valid ids: every block must be non-empty and the start must stay inside its block, i.e.
    L >= 1, n1 >= 1, n2 >= 1 and 0 <= p <= 1 (ratio_id 14..19, pos_id 1..19 upstream). Violations
    raise ValueError in ``splice_layout`` and fail a runtime assertion in ``splice``.
  * Only the generators hold variables; the splice has none, and gradients flow to the
    generators (and to the moments) through the resizes.
  * The only loss is ``context_l2_loss``; no discriminator (``aher.model.discriminator``), no
    random draw of the ids (the input pipeline draws ``ratio_id`` / ``pos_id``).
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

from aher.config.sections import CONTEXT_MODES, ContextConfig
from aher.model.layers import conv1d

MODES = CONTEXT_MODES
KERNEL_SIZE = 3
ID_STEP = 0.05          # r = ratio_id * 0.05, p = pos_id * 0.05 (float32, paper_vs_code §6.2)


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
    """G1 (start context) and G2 (end context) of Eq. 2 (paper_vs_code §6.1).

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
    """Integer layout of one synthetic video (paper_vs_code §6.2), pure Python with upstream float32 arithmetic.

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
    """Legacy bilinear resize of one sequence along time (paper_vs_code §6.2), with the TF kernel.

    The ``ResizeBilinear`` kernel (what ``tf.compat.v1.image.resize_bilinear`` runs, called
    directly to avoid its deprecation notice) with align_corners=False, half_pixel_centers=False on a
    [1, T_in, 1, D] view: output step t reads source position t * T_in / length (no half-pixel
    offset), linearly interpolated, clamped at the last step. The batched builders of this module
    compute the same float32 arithmetic with gathers (``resize_segments``, ``splice``).

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


def _legacy_source(dst, in_len, out_len):
    """Source position of output step ``dst`` when ``in_len`` steps are resized to ``out_len``.

    The float32 arithmetic of the ``ResizeBilinear`` kernel (align_corners=False,
    half_pixel_centers=False): src = dst * (in_len / out_len), lower = floor(src),
    upper = min(ceil(src), in_len - 1), weight = src - floor(src).

    Args:
      dst, in_len, out_len: int32 tensors (or ints) broadcasting to one shape.

    Returns:
      (lower, upper, weight): int32, int32, float32 of the broadcast shape.
    """
    scale = tf.cast(in_len, tf.float32) / tf.cast(out_len, tf.float32)
    src = tf.cast(dst, tf.float32) * scale
    floor = tf.floor(src)
    lower = tf.maximum(tf.cast(floor, tf.int32), 0)
    upper = tf.minimum(tf.cast(tf.math.ceil(src), tf.int32), in_len - 1)
    return lower, upper, src - floor


def _resample(x, offset, dst, in_len, out_len):
    """Step ``dst`` of x[i, offset:offset + in_len] resized to ``out_len``, for every (sample i, step).

    Args:
      x: float32 [B, T_x, D].
      offset, dst, in_len, out_len: int32 broadcasting to [B, N]; each (sample, step) may read
        its own segment at its own lengths.

    Returns:
      float32 [B, N, D].
    """
    lower, upper, weight = _legacy_source(dst, in_len, out_len)
    return _interpolate(x, offset + lower, offset + upper, weight)


def _interpolate(x, lower, upper, weight):
    """top + (bottom - top) * weight with top = x[i, lower], bottom = x[i, upper] (the kernel's lerp).

    The gradient w.r.t. x is the one of ``ResizeBilinearGrad``, bit for bit on CPU: every output
    step sends g * (1 - weight) to its lower and g * weight to its upper source step, accumulated
    from zero in output-step order (lower before upper; ``unsorted_segment_sum`` adds in order).

    Args:
      x: float32 [B, T_x, D]; lower, upper: int32 [B, N]; weight: float32 [B, N].
    Returns float32 [B, N, D].
    """
    @tf.custom_gradient
    def lerp(source, lower, upper, weight):      # every tensor an input: the backward walk stops here
        top = tf.gather(source, lower, batch_dims=1)
        bottom = tf.gather(source, upper, batch_dims=1)
        w = weight[..., tf.newaxis]

        def grad(dy):
            shape = tf.shape(source)
            rows = tf.stack([lower, upper], axis=2) + (tf.range(shape[0]) * shape[1])[:, tf.newaxis, tf.newaxis]
            parts = tf.reshape(tf.stack([dy * (1.0 - w), dy * w], axis=2), [-1, shape[2]])
            flat = tf.math.unsorted_segment_sum(parts, tf.reshape(rows, [-1]), shape[0] * shape[1])
            return tf.reshape(flat, shape), None, None, None

        return top + (bottom - top) * w, grad

    return lerp(x, lower, upper, weight)


def resize_segments(x, start, size, length):
    """Legacy bilinear resize of one segment per sample, x[i, start[i]:start[i] + size[i]], to ``length``.

    Bit-identical to ``resize_temporal`` on every slice; one gather for the whole batch.

    Args:
      x: float32 [B, T_x, D].
      start, size: int32 [B], each sample's segment (size >= 1, inside [0, T_x)).
      length: int or int32 scalar tensor, output length (>= 1).

    Returns:
      float32 [B, length, D].
    """
    with tf.name_scope("resize_segments"):
        dst = tf.range(length, dtype=tf.int32)[tf.newaxis, :]
        return _resample(tf.cast(x, tf.float32), start[:, tf.newaxis], dst, size[:, tf.newaxis], length)


def _static_batch(x, what):
    batch = x.shape[0] if x.shape.rank is not None else None
    if batch is None:
        raise ValueError(f"{what}: the batch size must be static (sample parity, static output shape), "
                         f"got shape {x.shape}")
    return int(batch)


def _time_length(x):
    """Length of axis 1: a Python int when static, else an int32 scalar tensor."""
    return int(x.shape[1]) if x.shape[1] is not None else tf.shape(x)[1]


def _splice_steps(moment_start, length, n1, n2, total, source_lengths):
    """Which resize feeds every step of the synthetic videos (sources concatenated along time).

    Every layout of the module doc has the same form: the moment (resized to L) fills
    [moment_start, moment_start + L); the other T - L steps, in order, are the start context
    resized to n1, then the end context resized to n2.

    Args:
      moment_start, length, n1, n2: int32 [B].
      total: T.
      source_lengths: (T_m, T_c start, T_c end), lengths of moments, start_ctx, end_ctx.

    Returns:
      (offset, dst, in_len, out_len), int32 [B, T]: source segment (offset in the concatenated
      sources, length), output length of its resize, and the step's index in the resized piece.
    """
    t_moment, t_start, t_end = source_lengths
    t = tf.range(total, dtype=tf.int32)[tf.newaxis, :]
    m0, length, n1, n2 = (v[:, tf.newaxis] for v in (moment_start, length, n1, n2))
    in_moment = tf.logical_and(t >= m0, t < m0 + length)
    rest = tf.where(t < m0, t, t - length)             # step index once the moment is removed
    in_start = rest < n1

    def pick(moment, start, end):
        return tf.where(in_moment, moment, tf.where(in_start, start, end))

    return (pick(0, t_moment, t_moment + t_start), pick(t - m0, rest, rest - n1),
            pick(t_moment, t_start, t_end), pick(length, n1, n2))


def _splice_gt(mode, odd, length, n1, s, fix_odd_gt):
    """Recorded GT [B, 1, 2] (float32, grid units) of the layout (see module doc)."""
    with tf.name_scope("gt"):
        if mode == "concat":
            start, end = n1, n1 + length
        else:
            start = tf.where(odd, n1 + s, s)
            end = tf.where(odd, (n1 if fix_odd_gt else 0) + s + length, s + length)
        return tf.cast(tf.stack([start, end], axis=-1), tf.float32)[:, tf.newaxis, :]


def splice(moments, start_ctx, end_ctx, ratio_id, pos_id, temporal_length=512, mode="splice",
           fix_odd_gt=False):
    """Build the synthetic untrimmed videos of paper_vs_code §6.2 (or Eq. 2 in concat mode) from given contexts.

    Sample i is even/odd by ``i % 2``. Moment, start and end context are resized (legacy bilinear)
    to L, n1 and n2 steps of the sample's layout, then concatenated (see module doc): every output
    step gets its source index and interpolation weight, then one batched gather interpolates.

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
    total = int(temporal_length)
    with tf.name_scope(f"context_{mode}"):
        ratio_id = tf.cast(ratio_id, tf.int32)
        if mode == "concat":        # the moment sits between the blocks: s = 0, parity irrelevant
            pos_id, odd = tf.zeros_like(ratio_id), tf.zeros([batch], tf.bool)
        else:
            pos_id, odd = tf.cast(pos_id, tf.int32), tf.constant([i % 2 == 1 for i in range(batch)])
        length, n1, n2, s, check = _layout_tensors(ratio_id, pos_id, odd, total)
        sources = [tf.cast(x, tf.float32) for x in (moments, start_ctx, end_ctx)]
        with tf.control_dependencies([check]):
            moment_start = n1 if mode == "concat" else tf.where(odd, n1 + s, s)
            steps = _splice_steps(moment_start, length, n1, n2, total, [_time_length(x) for x in sources])
            video = tf.identity(_resample(tf.concat(sources, axis=1), *steps), name="video")
        gt = _splice_gt(mode, odd, length, n1, s, fix_odd_gt)
    return video, gt


def synthesize_untrimmed(moments, ratio_id, pos_id, config=ContextConfig(), temporal_length=512):
    """Synthetic untrimmed videos from moments: generators (paper_vs_code §6.1) + splice (paper_vs_code §6.2 / Eq. 2).

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


def real_instances(features, gt, length):
    """The first GT instance of every untrimmed sample, resized to ``length`` (legacy bilinear).

    The instance ``[floor(start), ceil(end))`` (grid units) is clipped to the window and kept at
    least one step long.

    Args:
      features: float32 [B, T, D]; gt: [B, G, 2]; length: output length.
    Returns float32 [B, length, D].
    """
    with tf.name_scope("real_instances"):
        t_len = _time_length(features)
        s = tf.clip_by_value(tf.cast(tf.floor(gt[:, 0, 0]), tf.int32), 0, t_len - 1)
        e = tf.clip_by_value(tf.cast(tf.math.ceil(gt[:, 0, 1]), tf.int32), s + 1, t_len)
        return resize_segments(features, s, e - s, length)


def context_l2_loss(features, gt, generated_start, generated_end):
    """AherNet_A- context loss: L2 between context generated from a real instance and its real context.

    For each untrimmed sample the first GT instance ``[s, e)`` (grid units) is the "foreground";
    ``features[:s]`` and ``features[e:]`` are its real start/end context, resized like the
    generators' outputs.  Samples whose instance touches a window edge (no context on a side)
    or is shorter than 2 steps do not count.

    Args:
      features: [B, T, D]; gt: [B, G, 2]; generated_start / generated_end: [B, T_c, D] from
        ``generators`` applied to the resized instances (see :func:`real_instances`).
    Returns the mean squared error over valid samples (0 when none); the per-sample errors are one
    batched reduction.
    """
    with tf.name_scope("context_l2_loss"):
        t_len, t_ctx = _time_length(features), _time_length(generated_start)
        s = tf.cast(tf.floor(gt[:, 0, 0]), tf.int32)
        e = tf.cast(tf.math.ceil(gt[:, 0, 1]), tf.int32)
        ok = tf.logical_and(tf.logical_and(s >= 1, e <= t_len - 1), e - s >= 2)
        s_c = tf.clip_by_value(s, 1, t_len - 2)
        e_c = tf.clip_by_value(e, s_c + 1, t_len - 1)
        real_start = resize_segments(features, tf.zeros_like(s_c), s_c, t_ctx)
        real_end = resize_segments(features, e_c, t_len - e_c, t_ctx)
        err = 0.5 * (tf.reduce_mean(tf.square(generated_start - real_start), axis=[1, 2])
                     + tf.reduce_mean(tf.square(generated_end - real_end), axis=[1, 2]))
        errors = tf.where(ok, err, tf.zeros_like(err))
        return tf.math.divide_no_nan(tf.reduce_sum(errors), tf.reduce_sum(tf.cast(ok, tf.float32)))
