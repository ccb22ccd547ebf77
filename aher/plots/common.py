"""What the figure modules share: the error type, the resolution, saving a figure, labels, inputs.

Contract: :class:`PlotError` (a :class:`aher.errors.UserError`) is what a figure raises on bad
input, one line naming the file / video / key; :func:`save` writes a PNG at :data:`DPI` and
always closes the figure; :func:`load_json_input` reads a JSON (or gzip JSON) input the way the
evaluator does; :func:`finite_number` validates one number of an input file.
Limits: no drawing of its own; matplotlib's Agg backend is chosen by the package (``aher.plots``).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt

from aher.errors import UserError
from evaluation.io import EvaluationError, load_json

DPI = 120


class PlotError(UserError):
    """A figure cannot be made from the given inputs (one line naming the file / video / key)."""


def save(fig, png_path):
    """Write ``fig`` to ``png_path`` (its folder must exist) and close it; returns the path."""
    path = Path(png_path)
    if path.parent and not path.parent.is_dir():
        plt.close(fig)
        raise PlotError(f"{path}: output folder {path.parent} does not exist")
    try:
        fig.savefig(path, dpi=DPI)
    finally:
        plt.close(fig)
    return path


def pretty_label(text):
    """``"AherNet^-"`` -> mathtext superscript ``"AherNet$^{-}$"``; labels with ``$`` are kept."""
    text = str(text)
    if "$" in text or "^" not in text:
        return text
    base, sup = text.split("^", 1)
    return f"{base}$^{{{sup}}}$"


def load_json_input(path, role):
    """``(data, name)`` of a JSON input (``.json`` or gzip); unreadable or malformed -> :class:`PlotError`."""
    try:
        return load_json(str(path), role)
    except EvaluationError as exc:
        raise PlotError(str(exc)) from None


def finite_number(value, where):
    """``value`` as a float; anything but a finite int / float is a :class:`PlotError` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PlotError(f"{where}: expected a finite number, got {value!r}")
    return float(value)
