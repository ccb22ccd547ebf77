"""SSD-style temporal box coder: encode GT against anchors, decode offsets, grid -> seconds.

Reference §4.2 (encoding) and §4.3 (decoding). Boxes are ``[start, end]`` in grid units of a
``T``-step window; anchors are given by their *unclipped* centre ``y`` and width ``w``.

Contract
--------
* :func:`encode`: ``g_c = (s + e) / 2``, ``g_w = e - s``;
  ``t_c = (g_c - y) / w / p_c``, ``t_w = log(g_w / w) / p_w``; returns ``[..., 2] = (t_c, t_w)``.
* :func:`decode` is its inverse: ``c = t_c * w * p_c + y``, ``w' = w * exp(t_w * p_w)``,
  ``(start, end) = (c - w'/2, c + w'/2)``, unclipped.
* :func:`to_seconds`: clip both ends to ``[0, T]`` then scale by ``duration / T``.
* ``p = (p_c, p_w)`` is upstream's ``prior_scaling = (0.1, 0.1)``; the paper's alpha1 = alpha2 = 1
  do not match the code (ref §11.1 item 2).
* The TF functions build graph ops (no variables) and broadcast their arguments; the ``*_np``
  twins compute the same formulas in numpy, in the dtype numpy promotes the inputs to.

Limits
------
* No guard against degenerate boxes: ``e <= s`` gives ``t_w = -inf`` or ``nan`` (as upstream).
* :func:`to_seconds` clips both ends to ``[0, T]``; upstream clips only the start below and the
  end above. The two differ only for boxes lying entirely outside the window, which have zero or
  negative length either way and are dropped by post-processing.
* ``duration`` must broadcast against ``start`` (e.g. ``[B, 1]`` for ``[B, N]`` boxes).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

PRIOR_SCALING = (0.1, 0.1)


def _float_tensor(x, dtype=None):
    """Converts ``x`` to a float tensor (``dtype``, else its own float dtype, else float32)."""
    if dtype is not None:
        return tf.cast(tf.convert_to_tensor(x, dtype_hint=dtype), dtype)
    x = tf.convert_to_tensor(x, dtype_hint=tf.float32)
    return x if x.dtype.is_floating else tf.cast(x, tf.float32)


def encode(gt_start, gt_end, anchor_center, anchor_width, prior_scaling=PRIOR_SCALING, name=None):
    """Encodes GT boxes against anchors (ref §4.2).

    Args:
      gt_start: [...] GT starts (grid units); fixes the float dtype (float32 if not floating).
      gt_end: [...] GT ends, same shape as ``gt_start``.
      anchor_center: [...] unclipped anchor centres, broadcastable (e.g. [N_anc] for [B, N_anc]).
      anchor_width: [...] unclipped anchor widths, broadcastable.
      prior_scaling: (p_c, p_w).
      name: name scope (default ``encode``).

    Returns:
      [..., 2] offsets ``(t_c, t_w)`` (broadcast shape of the inputs).
    """
    with tf.name_scope(name or "encode"):
        gt_start = _float_tensor(gt_start)
        dtype = gt_start.dtype
        gt_end = _float_tensor(gt_end, dtype)
        anchor_center = _float_tensor(anchor_center, dtype)
        anchor_width = _float_tensor(anchor_width, dtype)
        g_c = (gt_start + gt_end) / 2.0
        g_w = gt_end - gt_start
        t_c = (g_c - anchor_center) / anchor_width / prior_scaling[0]
        t_w = tf.math.log(g_w / anchor_width) / prior_scaling[1]
        return tf.stack([t_c, t_w], axis=-1)


def decode(offsets, anchor_center, anchor_width, prior_scaling=PRIOR_SCALING, name=None):
    """Decodes offsets into boxes in grid units, unclipped (ref §4.3).

    Args:
      offsets: [..., 2] ``(t_c, t_w)``; fixes the float dtype.
      anchor_center: [...] unclipped anchor centres, broadcastable against ``offsets[..., 0]``.
      anchor_width: [...] unclipped anchor widths, broadcastable.
      prior_scaling: (p_c, p_w).
      name: name scope (default ``decode``).

    Returns:
      start: [...] ``c - w'/2``.
      end: [...] ``c + w'/2``.
    """
    with tf.name_scope(name or "decode"):
        offsets = _float_tensor(offsets)
        dtype = offsets.dtype
        anchor_center = _float_tensor(anchor_center, dtype)
        anchor_width = _float_tensor(anchor_width, dtype)
        center = offsets[..., 0] * anchor_width * prior_scaling[0] + anchor_center
        width = anchor_width * tf.exp(offsets[..., 1] * prior_scaling[1])
        return center - width / 2.0, center + width / 2.0


def to_seconds(start, end, temporal_length, duration, name=None):
    """Grid units -> seconds: clip to ``[0, T]``, then ``/ T * duration`` (ref §4.3).

    Args:
      start: [...] starts in grid units; fixes the float dtype.
      end: [...] ends in grid units.
      temporal_length: T (Python number or scalar tensor).
      duration: video duration in seconds, broadcastable against ``start``.
      name: name scope (default ``to_seconds``).

    Returns:
      start_s: [...] seconds.
      end_s: [...] seconds.
    """
    with tf.name_scope(name or "to_seconds"):
        start = _float_tensor(start)
        dtype = start.dtype
        end = _float_tensor(end, dtype)
        length = _float_tensor(temporal_length, dtype)
        duration = _float_tensor(duration, dtype)
        start_s = tf.clip_by_value(start, 0.0, length) / length * duration
        end_s = tf.clip_by_value(end, 0.0, length) / length * duration
        return start_s, end_s


def encode_np(gt_start, gt_end, anchor_center, anchor_width, prior_scaling=PRIOR_SCALING):
    """Numpy twin of :func:`encode`: [...] x4 -> [..., 2]."""
    gt_start, gt_end = np.asarray(gt_start), np.asarray(gt_end)
    anchor_center, anchor_width = np.asarray(anchor_center), np.asarray(anchor_width)
    g_c = (gt_start + gt_end) / 2.0
    g_w = gt_end - gt_start
    with np.errstate(divide="ignore", invalid="ignore"):
        t_c = (g_c - anchor_center) / anchor_width / prior_scaling[0]
        t_w = np.log(g_w / anchor_width) / prior_scaling[1]
    return np.stack(np.broadcast_arrays(t_c, t_w), axis=-1)


def decode_np(offsets, anchor_center, anchor_width, prior_scaling=PRIOR_SCALING):
    """Numpy twin of :func:`decode`: [..., 2] -> (start [...], end [...])."""
    offsets = np.asarray(offsets)
    anchor_center, anchor_width = np.asarray(anchor_center), np.asarray(anchor_width)
    center = offsets[..., 0] * anchor_width * prior_scaling[0] + anchor_center
    width = anchor_width * np.exp(offsets[..., 1] * prior_scaling[1])
    return center - width / 2.0, center + width / 2.0


def to_seconds_np(start, end, temporal_length, duration):
    """Numpy twin of :func:`to_seconds`: clip to ``[0, T]``, then ``/ T * duration``."""
    length = float(temporal_length)
    start_s = np.clip(np.asarray(start), 0.0, length) / length * duration
    end_s = np.clip(np.asarray(end), 0.0, length) / length * duration
    return start_s, end_s
