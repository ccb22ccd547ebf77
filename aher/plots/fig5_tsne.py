"""Fig. 5: the t-SNE of foreground, synthetic-background and real-background anchor features.

Contract
--------
``tsne_figure(embedding, png_path, source="")`` draws an
:class:`aher.analysis.anchor_kinds.AnchorEmbedding` (the numbers: which anchors, which layer, the
PCA and t-SNE, the separability -- see that module) as one square scatter plot, one colour per
kind, the legend giving the number of points of each kind.  The title names the layer, its width,
the PCA dimensions, the number of moments and real videos and ``source`` (the checkpoint); a
footnote gives the balanced 10-NN separability of synthetic vs real background in PCA space
(50 % = indistinguishable) and the final t-SNE KL divergence.  Returns the PNG path.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from aher.plots.common import save

KIND_STYLE = {"foreground": ("#d62728", "foreground (synthetic)"),
              "synthetic_bg": ("#1f77b4", "synthetic background"),
              "real_bg": ("#2ca02c", "real background")}


def _scatter(ax, embedding):
    y, kinds = embedding.points, embedding.kinds
    for kind, (color, name) in KIND_STYLE.items():
        sel = kinds == kind
        ax.scatter(y[sel, 0], y[sel, 1], s=9, c=color, alpha=0.75, linewidths=0, label=f"{name} ({sel.sum()})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, markerscale=2.0, frameon=False,
              handletextpad=0.2, columnspacing=1.2)


def tsne_figure(embedding, png_path, source=""):
    """Fig. 5 of ``embedding`` into ``png_path`` (module docstring); returns the path."""
    e = embedding
    fig, ax = plt.subplots(figsize=(7.2, 6.6))
    _scatter(ax, e)
    ax.set_title(f"Fig. 5: t-SNE of anchor features, layer conv_a{e.layer} ({e.width}-d \u2192 PCA {e.pca_dims} "
                 f"\u2192 2-D)\n{e.n_moments} moments \u00d7 6 lengths, {e.n_real} real videos; {source}",
                 fontsize=10)
    fig.text(0.5, 0.012, f"synthetic vs real background, 10-NN accuracy in PCA space: {100 * e.separability:.1f} % "
             f"(balanced, 50 % = indistinguishable); t-SNE KL {e.kl_divergence:.2f}",
             ha="center", fontsize=7.5, color="#444444")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return save(fig, png_path)
