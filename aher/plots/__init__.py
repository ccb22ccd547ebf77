"""Figures of the paper as PNG files, drawn with matplotlib from numbers computed elsewhere.

Modules (one figure each; they import matplotlib, numpy and the project's error and JSON readers,
never TensorFlow):
  aher.plots.common          PlotError, DPI, saving a figure, labels, reading JSON inputs
  aher.plots.fig7_timeline   Fig. 7-style timeline of GT and top detections (``timeline``)
  aher.plots.fig6_annotation Fig. 6 annotation-ratio curves from a numbers JSON (``fig6``)
  aher.plots.fig5_tsne       Fig. 5 t-SNE of anchor kinds (``tsne_figure``)
  aher.plots.fig4_layers     Fig. 4 per-layer accuracy of two models (``fig4``)
  aher.plots.cli             ``python -m aher.plots <figure> ...``: wires the checkpoint probes of
                             :mod:`aher.analysis` to the figures

The figure functions are re-exported here (``from aher.plots import fig6`` is what
``aher.reproduce`` uses).  matplotlib's Agg backend is selected before any figure module loads
(a package's ``__init__`` always runs first), so no display is ever needed.
"""

import matplotlib

matplotlib.use("Agg")

from aher.plots.common import DPI, PlotError, pretty_label  # noqa: E402  (after the backend choice)
from aher.plots.fig4_layers import fig4  # noqa: E402
from aher.plots.fig5_tsne import tsne_figure  # noqa: E402
from aher.plots.fig6_annotation import fig6, load_fig6_numbers  # noqa: E402
from aher.plots.fig7_timeline import TimelineVideo, timeline, timeline_data  # noqa: E402

__all__ = ["DPI", "PlotError", "TimelineVideo", "fig4", "fig6", "load_fig6_numbers", "pretty_label", "timeline",
           "timeline_data", "tsne_figure"]
