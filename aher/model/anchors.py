"""Anchor (default box) layers of AherNet, derived from the input length T.

paper_vs_code §2.2-2.3. Everything here is numpy; no TensorFlow is imported.

Contract
--------
* ``T`` (``temporal_length``) is a power of two >= 8. There are ``L = log2(T) - 1`` anchor layers
  ``j = 1..L`` with ``T_j = T / 4 / 2**(j-1)`` cells (T=512: 128, 64, ..., 1 -> 255 cells) and
  ``step_j = T / T_j`` grid units per cell.
* Cell ``t`` of layer ``j`` is centred at ``(t + 0.5) * step_j``; its anchors have widths
  ``ratio * step_j`` for ``ratio`` in :data:`RATIOS`, in that order (A = 3 anchors per cell,
  765 anchors at T=512).
* Flat order, used by every flattened tensor of the model: (layer, cell, anchor). Anchor
  ``a`` of cell ``t`` of layer ``j`` sits at ``sum_{i<j} 3 * T_i + 3 * t + a``.
* :func:`clipped_anchor_bounds` gives the anchor extent used **only** for IoU:
  ``[max(0, c - w/2), min(c + w/2, T - 1)]``. The upper clip is ``T - 1`` (511 at T=512), not
  ``T``, as in upstream. Target encoding uses the unclipped centre and width.

Limits
------
* The ratios are upstream's 3-decimal constants ``(1.0, 1.26, 1.587)``, not exact powers of
  2^(1/3); other ratios may be passed, but every layer gets the same ones.
* Arrays are float64 and read-only; the TF consumers cast them to float32 (as upstream does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATIOS = (1.0, 1.26, 1.587)   # paper_vs_code §2.3: upstream's rounded 2^(0/3), 2^(1/3), 2^(2/3)


@dataclass(frozen=True)
class AnchorLayer:
    """One anchor layer.

    Attributes:
      index: 1-based layer number j.
      length: number of cells T_j.
      step: cell size T / T_j in grid units.
      centers: [T_j] float64, ``(t + 0.5) * step``.
      widths: [A] float64, ``ratio * step``.
    """

    index: int
    length: int
    step: float
    centers: np.ndarray
    widths: np.ndarray

    @property
    def num_anchors(self) -> int:
        """Anchors in this layer: ``T_j * A``."""
        return self.length * len(self.widths)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def num_anchor_layers(temporal_length) -> int:
    """Number of anchor layers ``log2(T) - 1`` for an input of ``T`` steps.

    Raises:
      ValueError: unless ``T`` is an integer power of two >= 8.
    """
    if isinstance(temporal_length, bool) or not isinstance(temporal_length, (int, np.integer)):
        raise ValueError(f"temporal length must be an integer power of 2 >= 8, got {temporal_length!r}")
    t = int(temporal_length)
    if t < 8 or t & (t - 1):
        raise ValueError(f"temporal length must be a power of 2 >= 8, got {t}")
    return t.bit_length() - 2


def anchor_layers(temporal_length=512, ratios=RATIOS) -> list[AnchorLayer]:
    """The ``L`` anchor layers of an input of ``temporal_length`` steps (paper_vs_code §2.2-2.3).

    Args:
      temporal_length: T, a power of two >= 8.
      ratios: width multipliers of the A anchors of every cell (anchor order).

    Returns:
      list of L :class:`AnchorLayer`, j = 1..L (finest first).
    """
    n_layers = num_anchor_layers(temporal_length)
    t = int(temporal_length)
    ratio_array = np.asarray(ratios, dtype=np.float64)
    if ratio_array.ndim != 1 or ratio_array.size == 0 or not np.all(ratio_array > 0):
        raise ValueError(f"ratios must be a non-empty sequence of positive numbers, got {ratios!r}")
    layers = []
    for j in range(1, n_layers + 1):
        length = t // 4 // 2 ** (j - 1)
        step = t / length
        centers = (np.arange(length, dtype=np.float64) + 0.5) * step
        widths = ratio_array * step
        layers.append(AnchorLayer(index=j, length=length, step=float(step),
                                  centers=_readonly(centers), widths=_readonly(widths)))
    return layers


def flat_anchors(layers) -> tuple[np.ndarray, np.ndarray]:
    """Anchor centres and widths flattened in (layer, cell, anchor) order.

    Args:
      layers: sequence of :class:`AnchorLayer` (as from :func:`anchor_layers`).

    Returns:
      centers: [N_anc] float64.
      widths: [N_anc] float64, with ``N_anc = sum_j T_j * A``.
    """
    centers, widths = [], []
    for layer in layers:
        c, w = np.broadcast_arrays(layer.centers[:, None], layer.widths[None, :])   # [T_j, A]
        centers.append(c.reshape(-1))
        widths.append(w.reshape(-1))
    return np.concatenate(centers), np.concatenate(widths)


def clipped_anchor_bounds(centers, widths, temporal_length) -> tuple[np.ndarray, np.ndarray]:
    """Anchor extents clipped for IoU computation only (paper_vs_code §2.3).

    Args:
      centers: [...] anchor centres (grid units).
      widths: [...] anchor widths, broadcastable against ``centers``.
      temporal_length: T; the upper clip is ``T - 1`` (faithful to upstream).

    Returns:
      lo: [...] ``max(0, c - w/2)``.
      hi: [...] ``min(c + w/2, T - 1)``.
    """
    centers = np.asarray(centers)
    widths = np.asarray(widths)
    lo = np.maximum(centers - widths / 2.0, 0.0)
    hi = np.minimum(centers + widths / 2.0, float(temporal_length) - 1.0)
    return lo, hi
