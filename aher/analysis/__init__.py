"""Analyses of trained checkpoints and their features, the numbers behind the figures of ``aher.plots``.

Modules (one concept each):
  aher.analysis.tsne           exact t-SNE and PCA in numpy
  aher.analysis.probe_inputs   what the probes feed a checkpoint: sampled moments and videos, GT on
                               the grid, the Fig. 4 evaluation instances
  aher.analysis.probes         TF1 graphs on a checkpoint: anchor features per layer (Fig. 5) and
                               per-layer classification accuracy (Fig. 4)
  aher.analysis.anchor_kinds   Fig. 5's anchor kinds, choice of layer, separability and embedding (numpy)

Only ``probes`` imports TensorFlow (``probe_inputs`` reads feature stores with h5py).  This
package imports none of its modules, so ``import aher.analysis.tsne`` stays light.
"""
