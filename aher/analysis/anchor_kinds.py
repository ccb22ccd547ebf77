"""Fig. 5's three kinds of anchors, the layer they are compared in, and their 2-D embedding.

Contract
--------
Input: :class:`aher.analysis.probes.AnchorFeatures` (per-layer cell features and matcher
``gscores`` of synthetic and real videos).

* **Kinds** (from the matcher's ``gscores``, :func:`aher.model.matcher.match_anchors_np`):
  *foreground* = synthetic video, gscore > 0.5; *synthetic background* = synthetic video,
  gscore < 0.3; *real background* = real video, gscore < 0.3.  This is the matcher's notion of
  background, the one the adversarial loss masks with (paper_vs_code §5.3): a short anchor *inside* a
  long moment has IoU < 0.3 too, so "background" cells of the finer layers include moment
  interiors.  The three anchors of a cell share its end-point feature, so a cell counts once per
  kind (:func:`anchor_cells`: no duplicate points).
* **Layer.**  Layers have different widths and, more importantly, the kinds live in different
  layers: a moment covers 70-95 % of the window, so foreground anchors (IoU > 0.5) exist only in
  the coarsest layers while synthetic background (IoU < 0.3) is mostly in the fine ones.  Pooling
  layers would therefore separate the kinds by *layer*, not by feature, so one layer is used
  (:func:`choose_layer`): ``"auto"`` takes the layer whose scarcest kind has the most cells (ties:
  the finer layer); an integer ``j`` forces layer ``j``.
* **Embedding** (:func:`embed_anchor_kinds`): ``n_anchors`` cells of each kind are sampled (fewer
  if the layer has fewer), the features are centred and projected by PCA to
  ``min(256, C_j, n - 1)`` dimensions, then embedded by exact t-SNE (:mod:`aher.analysis.tsne`,
  perplexity 30, PCA initialisation).
* **Separability** (:func:`knn_accuracy`), a number that does not depend on the embedding: the
  10-nearest-neighbour accuracy of telling synthetic from real background in the PCA space
  (leave-one-out, on a class-balanced subsample: 50 % means indistinguishable, what the
  adversarial loss aims at).

Errors (a layer without all three kinds, too few anchors) are :class:`aher.errors.UserError`
naming the flag to change.  Limits: numpy only; exact t-SNE, so a few thousand points at most.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from aher.analysis.tsne import pca, tsne
from aher.errors import UserError

FOREGROUND_IOU = 0.5        # gscore > 0.5: foreground anchor
BACKGROUND_IOU = 0.3        # gscore < 0.3: background anchor (paper_vs_code §5.3)
KINDS = ("foreground", "synthetic_bg", "real_bg")
PCA_DIMS = 256


@dataclasses.dataclass
class AnchorEmbedding:
    """The 2-D t-SNE of the sampled cells of one layer, and what the figure reports about it."""

    points: np.ndarray      # [n, 2]
    kinds: np.ndarray       # [n] kind name of each point (one of KINDS)
    layer: int              # anchor layer index j (conv_a{j})
    width: int              # C_j, the feature width of the layer
    pca_dims: int
    available: dict         # {kind: cells of the layer}, before sampling
    separability: float     # balanced 10-NN accuracy, synthetic vs real background
    kl_divergence: float
    n_moments: int
    n_real: int

    @property
    def counts(self):
        """{kind: points drawn}."""
        return {k: int((self.kinds == k).sum()) for k in KINDS}


def anchor_cells(features, layer_pos):
    """Cells of each anchor kind at one layer (0-based position in ``features.layers``).

    Returns ``{kind: (features [n, C_j], video index [n], cell index [n])}``: a cell belongs to a kind
    when at least one of its anchors does (one point per cell and kind).
    """
    out = {}
    for kind, (feats, scores), rule in (("foreground", features.synthetic[layer_pos], lambda g: g > FOREGROUND_IOU),
                                        ("synthetic_bg", features.synthetic[layer_pos], lambda g: g < BACKGROUND_IOU),
                                        ("real_bg", features.real[layer_pos], lambda g: g < BACKGROUND_IOU)):
        videos, cells = np.nonzero(rule(scores).any(axis=-1))
        out[kind] = (feats[videos, cells], videos, cells)
    return out


def kind_counts(features):
    """[(layer index j, {kind: number of cells})] for every layer."""
    return [(layer.index, {k: len(v[1]) for k, v in anchor_cells(features, pos).items()})
            for pos, layer in enumerate(features.layers)]


def choose_layer(features, layer="auto"):
    """0-based position of the layer to plot: ``"auto"`` = most cells of the scarcest kind (ties: finer)."""
    counts = kind_counts(features)
    if layer != "auto":
        return _forced_layer(counts, int(layer))
    best = max(range(len(counts)), key=lambda p: (min(counts[p][1].values()), -p))
    if min(counts[best][1].values()) == 0:
        raise UserError("no anchor layer holds all three kinds of anchors (foreground, synthetic and real "
                        "background); use more moments (--moments)")
    return best


def _forced_layer(counts, j):
    """Position of layer ``j`` in ``counts``; it must exist and hold all three kinds."""
    indices = [c[0] for c in counts]
    if j not in indices:
        raise UserError(f"--layer {j}: the model has anchor layers 1..{len(counts)}")
    pos = indices.index(j)
    empty = [k for k, v in counts[pos][1].items() if v == 0]
    if empty:
        raise UserError(f"--layer {j} has no {empty[0].replace('_', ' ')} anchor; per-layer counts: "
                        + "; ".join(f"L{i} " + ", ".join(f"{k} {v}" for k, v in c.items()) for i, c in counts))
    return pos


def knn_accuracy(x, labels, k=10, seed=0):
    """Leave-one-out k-NN accuracy of telling two classes apart, on a class-balanced subsample.

    The larger class is subsampled (``seed``) to the size of the smaller one, so chance is 50 %
    whatever the counts; majority vote over the ``k`` nearest neighbours, a tie counts as wrong.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    names, counts = np.unique(labels, return_counts=True)
    if len(names) == 2 and counts.min() >= 2:
        rng = np.random.default_rng(seed)
        keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), counts.min(), replace=False)
                                       for c in names]))
        x, labels = x[keep], labels[keep]
    if len(x) <= k:
        k = max(1, len(x) - 1)
    sq = np.einsum("ij,ij->i", x, x)
    d = sq[:, None] + sq[None, :] - 2 * x @ x.T
    np.fill_diagonal(d, np.inf)
    nn = np.argpartition(d, k - 1, axis=1)[:, :k]
    votes = (labels[nn] == labels[:, None]).sum(axis=1)
    return float(np.mean(votes * 2 > k))


def sample_cells(cells, n_anchors, seed=0):
    """Up to ``n_anchors`` cells of each kind -> (features [n, C] float64, kind names [n])."""
    rng = np.random.default_rng([seed, 1])
    xs, kinds = [], []
    for kind in KINDS:
        feats = cells[kind][0]
        take = np.sort(rng.choice(len(feats), size=min(n_anchors, len(feats)), replace=False))
        xs.append(feats[take])
        kinds += [kind] * len(take)
    return np.concatenate(xs).astype(np.float64), np.array(kinds)


def embed_anchor_kinds(features, n_anchors=500, layer="auto", seed=0, perplexity=30.0, n_iter=1000):
    """Sample, project and embed the three kinds of one layer (module docstring) -> :class:`AnchorEmbedding`."""
    pos = choose_layer(features, layer)
    j = features.layers[pos].index
    cells = anchor_cells(features, pos)
    x, kinds = sample_cells(cells, n_anchors, seed)
    if len(x) < 5:
        raise UserError(f"layer {j} gives only {len(x)} anchors in all; use more moments (--moments)")
    reduced, _ = pca(x, min(PCA_DIMS, x.shape[1], len(x) - 1))
    background = kinds != "foreground"
    separability = knn_accuracy(reduced[background], kinds[background])
    result = tsne(reduced, perplexity=perplexity, n_iter=n_iter, seed=seed)
    return AnchorEmbedding(points=result.embedding, kinds=kinds, layer=j, width=int(x.shape[1]),
                           pca_dims=int(reduced.shape[1]), available={k: len(v[1]) for k, v in cells.items()},
                           separability=separability, kl_divergence=result.kl_divergence,
                           n_moments=features.n_moments, n_real=features.n_real)
