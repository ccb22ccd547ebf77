"""SSD-style temporal box coder: encode GT against anchors, decode offsets, grid -> seconds.

paper_vs_code §4.2 (encoding) and paper_vs_code §4.3 (decoding). Boxes are ``[start, end]`` in grid units of a
``T``-step window; anchors are given by their *unclipped* centre ``y`` and width ``w``.

Contract
--------
* :func:`encode`: ``g_c = (s + e) / 2``, ``g_w = e - s``;
  ``t_c = (g_c - y) / w / p_c``, ``t_w = log(g_w / w) / p_w``; returns ``[..., 2] = (t_c, t_w)``.
* :func:`decode` is its inverse: ``c = t_c * w * p_c + y``, ``w' = w * exp(t_w * p_w)``,
  ``(start, end) = (c - w'/2, c + w'/2)``, unclipped.
* :func:`to_seconds`: clip in grid units, then scale by ``duration / T``.  ``clip`` picks the rule:

  * ``"upstream"`` (default, the released code): ``start = max(start, 0)``, ``end = min(end, T)``.
    Each end is clipped on one side only, so a box ``[s, e]`` lying entirely outside the window
    comes out inverted: right of it (``s > T``) it becomes ``[s, T]``, left of it (``e < 0``)
    ``[0, e]``; ``|end - start|`` stays positive;
  * ``"both"``: both ends clipped to ``[0, T]``; a box entirely outside the window becomes the
    zero-length box ``[T, T]`` (right) or ``[0, 0]`` (left).

  The two rules agree on every box that reaches into the window (``s < T`` and ``e > 0``) or
  touches it (``s == T`` or ``e == 0``, zero length either way).
* ``p = (p_c, p_w)`` is upstream's ``prior_scaling = (0.1, 0.1)``; the paper's alpha1 = alpha2 = 1
  do not match the code (paper_vs_code §11.1 item 2).
* The TF functions build graph ops (no variables) and broadcast their arguments; the ``*_np``
  twins compute the same formulas in numpy, in the dtype numpy promotes the inputs to.

Limits
------
* No guard against degenerate boxes: ``e <= s`` gives ``t_w = -inf`` or ``nan`` (as upstream).
* :func:`to_seconds` does not reorder the ends: with ``clip="upstream"`` a box outside the
  window comes back with ``end_s < start_s``; callers that need ``(min, max)`` normalise it
  themselves (as ``aher.model.postprocess.nms_1d`` and TF's image NMS do).
* ``clip`` is a Python string, fixed when the graph is built; any other value than
  :data:`CLIP_MODES` raises ``ValueError``.
* ``duration`` must broadcast against ``start`` (e.g. ``[B, 1]`` for ``[B, N]`` boxes).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

PRIOR_SCALING = (0.1, 0.1)
CLIP_MODES = ("upstream", "both")


def check_clip_mode(clip):
    """Returns ``clip`` if it is one of :data:`CLIP_MODES`, else raises ``ValueError``."""
    if not isinstance(clip, str) or clip not in CLIP_MODES:
        raise ValueError(f"clip must be one of {CLIP_MODES}, not {clip!r}")
    return clip


def _float_tensor(x, dtype=None):
    """Converts ``x`` to a float tensor (``dtype``, else its own float dtype, else float32)."""
    if dtype is not None:
        return tf.cast(tf.convert_to_tensor(x, dtype_hint=dtype), dtype)
    x = tf.convert_to_tensor(x, dtype_hint=tf.float32)
    return x if x.dtype.is_floating else tf.cast(x, tf.float32)


def encode(gt_start, gt_end, anchor_center, anchor_width, prior_scaling=PRIOR_SCALING, name=None):
    """Encodes GT boxes against anchors (paper_vs_code §4.2).

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
    """Decodes offsets into boxes in grid units, unclipped (paper_vs_code §4.3).

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


def to_seconds(start, end, temporal_length, duration, clip="upstream", name=None):
    """Grid units -> seconds: clip to the window, then ``/ T * duration`` (paper_vs_code §4.3).

    Args:
      start: [...] starts in grid units; fixes the float dtype.
      end: [...] ends in grid units.
      temporal_length: T (Python number or scalar tensor).
      duration: video duration in seconds, broadcastable against ``start``.
      clip: ``"upstream"`` (``max(start, 0)``, ``min(end, T)``; a box outside the window stays
        inverted) or ``"both"`` (both ends clipped to ``[0, T]``; such a box gets zero length).
      name: name scope (default ``to_seconds``).

    Returns:
      start_s: [...] seconds.
      end_s: [...] seconds.

    Raises:
      ValueError: ``clip`` not in :data:`CLIP_MODES`.
    """
    check_clip_mode(clip)
    with tf.name_scope(name or "to_seconds"):
        start = _float_tensor(start)
        dtype = start.dtype
        end = _float_tensor(end, dtype)
        length = _float_tensor(temporal_length, dtype)
        duration = _float_tensor(duration, dtype)
        if clip == "upstream":
            start = tf.maximum(start, tf.zeros_like(start))
            end = tf.minimum(end, length)
        else:
            start = tf.clip_by_value(start, 0.0, length)
            end = tf.clip_by_value(end, 0.0, length)
        return start / length * duration, end / length * duration


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


def to_seconds_np(start, end, temporal_length, duration, clip="upstream"):
    """Numpy twin of :func:`to_seconds` (same ``clip`` modes, ``ValueError`` for another value)."""
    check_clip_mode(clip)
    length = float(temporal_length)
    start, end = np.asarray(start), np.asarray(end)
    if clip == "upstream":
        start, end = np.maximum(start, 0.0), np.minimum(end, length)
    else:
        start, end = np.clip(start, 0.0, length), np.clip(end, 0.0, length)
    return start / length * duration, end / length * duration
