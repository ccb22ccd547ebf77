"""Fig. 4: per-layer classification accuracy of two models, as grouped bars.

Contract
--------
``fig4(models, png_path, n_instances, n_classes)`` draws, for each anchor layer ``conv_a{j}`` and
for "all layers" (the argmax of the layers' averaged softmax), one bar per model: its top-1
accuracy in percent, written above the bar.  ``models`` is two ``(label, per-layer accuracies [L],
all-layers accuracy)`` with accuracies as fractions (what
:func:`aher.analysis.probes.layer_accuracy` returns); both must have the same number of layers.
The dashed line is chance (``1 / n_classes``); the title gives ``n_instances``.  ``^`` in a label
is drawn as a superscript (``AherNet^-``).  Returns the PNG path.

The protocol behind the numbers (GT instances of the evaluation videos cut to moment length,
classified with the moment-set classifier of each layer) is in :mod:`aher.analysis.probe_inputs`
and :mod:`aher.analysis.probes`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from aher.plots.common import PlotError, pretty_label, save

MODEL_COLORS = ("#d62728", "#1f77b4")
BAR_WIDTH = 0.38


def layer_percentages(models):
    """``models`` -> (group names [L + 1], accuracies in percent [2, L + 1]); checks two models, equal L."""
    if len(models) != 2:
        raise PlotError(f"--labels takes two names, got {len(models)}")
    (_, acc_a, fused_a), (_, acc_b, fused_b) = models
    if len(acc_a) != len(acc_b):
        raise PlotError(f"the two models have {len(acc_a)} and {len(acc_b)} anchor layers")
    groups = [f"conv_a{j}" for j in range(1, len(acc_a) + 1)] + ["all layers\n(mean p)"]
    return groups, np.array([list(acc_a) + [fused_a], list(acc_b) + [fused_b]]) * 100.0


def _bars(ax, labels, values):
    pos = np.arange(values.shape[1], dtype=float)
    for k, (label, color) in enumerate(zip(labels, MODEL_COLORS)):
        bars = ax.bar(pos + (k - 0.5) * BAR_WIDTH, values[k], BAR_WIDTH, color=color, label=pretty_label(label),
                      edgecolor="#333333", linewidth=0.5)
        for bar, v in zip(bars, values[k]):
            ax.text(bar.get_x() + bar.get_width() / 2, v + 0.8, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    return pos


def fig4(models, png_path, n_instances, n_classes):
    """Fig. 4 into ``png_path`` (module docstring); returns the path."""
    groups, values = layer_percentages(models)
    fig, ax = plt.subplots(figsize=(1.0 * len(groups) + 2.6, 4.2))
    pos = _bars(ax, [m[0] for m in models], values)
    ax.axhline(100.0 / n_classes, color="#555555", linestyle="--", linewidth=0.9, label=f"chance (1/{n_classes})")
    ax.axvline(len(groups) - 1.5, color="#999999", linewidth=0.6)
    ax.set_xticks(pos)
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylim(0, min(100.0, values.max() + 8) if values.max() < 99 else 105.0)
    ax.set_ylabel("top-1 accuracy (%)", fontsize=9)
    ax.set_xlabel("anchor layer (pooled moment-set classifier)", fontsize=9)
    ax.set_title(f"Fig. 4: per-layer classification accuracy on {n_instances} evaluation instances",
                 fontsize=10, pad=24)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save(fig, png_path)
