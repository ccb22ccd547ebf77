"""Fig. 6: average mAP of AherNet* (the oracle) against the fraction of annotated videos.

Contract
--------
``fig6(json_path, png_path, metric="average_mAP")`` draws one panel per setting: AherNet* as a
curve over the fraction of annotated videos (error bars: +- std), AherNet as a horizontal line
(band: +- std).  ``aher.reproduce`` calls it with ``(json_path, png_path)``.  Two schemas are read
(:func:`load_fig6_numbers`):

* the ``settings`` schema::

    {"unit": "fraction",                          # optional: "fraction" (default) or "percent"
     "settings": {
       "<setting>": {                             # anet_split | th14_anet | k600 | any name
         "aherNet": {"mean": m, "std": s, "n": k},            # AherNet
         "oracle": {"<fraction>": {"mean": m, "std": s, "n": k}, ...}}}}   # AherNet*

  ``<fraction>`` keys are numbers in (0, 1] written as strings ("0.1", "0.25", "0.5", "0.75",
  "1.0"); ``mean`` is an average mAP over tIoU 0.5:0.05:0.95, a fraction in [0, 1] (as
  ``metrics.json``'s ``average_mAP``) unless ``"unit": "percent"``;
* the document ``aher.reproduce`` writes (``fig6.json``, percent)::

    {"series": {"<setting>": {"<metric>": {"fractions": [0.1, ...],
                                            "AherNet*": [{"mean": m, "std": s, "n": k}, ...],
                                            "AherNet": {"mean": m, "std": s, "n": k}}}}, ...}

  of which ``metric`` (default ``average_mAP``; ``AUC`` also works) is drawn.

In both, ``std`` and ``n`` (runs averaged, shown in the legend) are optional / null, and a
``mean`` of null (no finished run) leaves that point out.  The plot shows percent.  A value
outside its range, a missing key or a malformed file is a :class:`~aher.plots.common.PlotError`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from aher.plots.common import PlotError, finite_number, load_json_input, save

FIG6_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)      # fractions of annotated videos of the paper's Fig. 6
SETTING_TITLES = {"anet_split": "ANet-UN \u2192 ANet-AM", "th14_anet": "TH14 \u2192 ANet-FG",
                  "k600": "ANet \u2192 Kinetics-600"}
AHERNET_COLOR, ORACLE_COLOR = "#d62728", "#1f77b4"


# ------------------------------------------------------------------------------------- reading

def _fig6_stat(value, where, scale, limit):
    """``{"mean": m, "std": s, "n": k}`` -> (mean %, std % or None, n or None), or None for a missing run."""
    if not isinstance(value, dict) or "mean" not in value:
        raise PlotError(f"{where}: expected {{\"mean\": m, \"std\": s}}, got {value!r}")
    if value["mean"] is None:
        return None
    mean = finite_number(value["mean"], f"{where} mean")
    if not 0.0 <= mean <= limit:
        hint = ' (percent values need "unit": "percent")' if limit == 1.0 and mean <= 100 else ""
        raise PlotError(f"{where}: mean {mean} is not an average mAP in [0, {limit:g}]{hint}")
    std = value.get("std")
    std = None if std is None else finite_number(std, f"{where} std")
    if std is not None and std < 0:
        raise PlotError(f"{where}: std must be >= 0, got {std}")
    n = value.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise PlotError(f"{where}: n must be a non-negative integer, got {n!r}")
    return mean * scale, (None if std is None else std * scale), n


def _fraction(key, where):
    try:
        f = float(key)
    except (TypeError, ValueError):
        raise PlotError(f"{where}: {key!r} is not a fraction") from None
    if not 0.0 < f <= 1.0:
        raise PlotError(f"{where}: fraction {key!r} is not in (0, 1]")
    return f


def _series_curve(curve, where):
    """One curve of the ``aher.reproduce`` document (percent) -> ``{"aherNet": ..., "oracle": [...]}``."""
    if not isinstance(curve, dict) or not all(k in curve for k in ("fractions", "AherNet*", "AherNet")):
        raise PlotError(f"{where}: expected 'fractions', 'AherNet*' and 'AherNet'")
    fractions, oracle = curve["fractions"], curve["AherNet*"]
    if not isinstance(fractions, list) or not isinstance(oracle, list) or len(fractions) != len(oracle):
        raise PlotError(f"{where}: 'fractions' and 'AherNet*' must be lists of the same length")
    points = []
    for k, (frac, value) in enumerate(zip(fractions, oracle)):
        stat = _fig6_stat(value, f"{where}.AherNet*[{k}]", 1.0, 100.0)
        if stat is not None:
            points.append((_fraction(frac, f"{where}.fractions[{k}]"),) + stat)
    return {"aherNet": _fig6_stat(curve["AherNet"], f"{where}.AherNet", 1.0, 100.0), "oracle": sorted(points)}


def _from_series(data, name, metric):
    series = data["series"]
    if not isinstance(series, dict) or not series:
        raise PlotError(f"{name}: 'series' must be a non-empty object of setting -> metric -> curves")
    out = {}
    for setting, metrics in series.items():
        where = f"{name}: series.{setting}"
        if not isinstance(metrics, dict) or metric not in metrics:
            there = ", ".join(map(str, metrics)) if isinstance(metrics, dict) and metrics else "none"
            raise PlotError(f"{where}: no '{metric}' series (--metric one of: {there})")
        out[str(setting)] = _series_curve(metrics[metric], f"{where}.{metric}")
    return out


def _settings_entry(entry, where, scale, limit):
    """One setting of the ``settings`` schema -> ``{"aherNet": ..., "oracle": [...]}``."""
    if not isinstance(entry, dict):
        raise PlotError(f"{where}: expected an object with 'aherNet' and 'oracle'")
    for key in ("aherNet", "oracle"):
        if key not in entry:
            raise PlotError(f"{where}: missing '{key}'")
    oracle = entry["oracle"]
    if not isinstance(oracle, dict) or not oracle:
        raise PlotError(f"{where}.oracle: expected a non-empty object fraction -> {{mean, std}}")
    points = []
    for frac, value in oracle.items():
        f = _fraction(frac, f"{where}.oracle")
        stat = _fig6_stat(value, f"{where}.oracle.{frac}", scale, limit)
        if stat is not None:
            points.append((f,) + stat)
    return {"aherNet": _fig6_stat(entry["aherNet"], f"{where}.aherNet", scale, limit), "oracle": sorted(points)}


def _from_settings(data, name):
    unit = data.get("unit", "fraction")
    if unit not in ("fraction", "percent"):
        raise PlotError(f"{name}: 'unit' must be 'fraction' or 'percent', not {unit!r}")
    scale, limit = (100.0, 1.0) if unit == "fraction" else (1.0, 100.0)
    settings = data.get("settings")
    if not isinstance(settings, dict) or not settings:
        raise PlotError(f"{name}: 'settings' must be a non-empty object of setting -> numbers "
                        f"(or 'series' as written by aher.reproduce)")
    return {str(setting): _settings_entry(entry, f"{name}: settings.{setting}", scale, limit)
            for setting, entry in settings.items()}


def load_fig6_numbers(source, metric="average_mAP"):
    """Validate a Fig. 6 numbers file (path or dict; both schemas of the module docstring).

    Returns ``{setting: {"aherNet": (mean, std, n) | None, "oracle": [(fraction, mean, std, n)]}}`` in
    percent, fractions sorted; ``std`` / ``n`` may be None; missing runs (``mean: null``) are left out.
    """
    if isinstance(source, dict):
        data, name = source, "<fig6 numbers>"
    else:
        data, name = load_json_input(source, "Fig. 6 numbers")
    if "series" in data and "settings" not in data:          # the aher.reproduce document (percent)
        return _from_series(data, name, metric)
    return _from_settings(data, name)


# ------------------------------------------------------------------------------------- drawing

def _setup_axes(ax, setting, entry, ylabel):
    ax.set_title(SETTING_TITLES.get(setting, setting), fontsize=10)
    ax.set_xlabel("annotated videos (%)", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_xlim(0, 104)
    fractions = sorted({100.0 * f for f in FIG6_FRACTIONS} | {100.0 * p[0] for p in entry["oracle"]})
    ax.set_xticks(fractions)
    ax.set_xticklabels([f"{x:g}" for x in fractions], fontsize=8)


def _draw_ahernet(ax, stat):
    """AherNet's line (and +- std band); returns the y levels it spans."""
    mean, std, n = stat
    ax.axhline(mean, color=AHERNET_COLOR, linestyle="--", linewidth=1.6,
               label="AherNet" + (f" (n={n})" if n is not None else ""))
    if std:
        ax.axhspan(mean - std, mean + std, color=AHERNET_COLOR, alpha=0.12, linewidth=0)
    ax.text(0.01, mean, f" {mean:.1f}", transform=ax.get_yaxis_transform(), ha="left", va="bottom",
            fontsize=7, color=AHERNET_COLOR)
    return [mean - (std or 0.0), mean + (std or 0.0)]


def _draw_oracle(ax, points):
    """AherNet*'s curve with error bars and value labels; returns the y levels it spans."""
    fr = np.array([p[0] for p in points]) * 100.0
    mean = np.array([p[1] for p in points])
    std = np.array([0.0 if p[2] is None else p[2] for p in points])
    runs = sorted({p[3] for p in points if p[3] is not None})
    label = "AherNet* (oracle)" + (f" (n={'/'.join(map(str, runs))})" if runs else "")
    ax.errorbar(fr, mean, yerr=std if std.any() else None, color=ORACLE_COLOR, marker="o", linewidth=1.8,
                capsize=3, label=label)
    for k, (x, y) in enumerate(zip(fr, mean)):
        last = k == len(fr) - 1                    # beside the marker, clear of the error bar
        ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(-6, 2) if last else (6, -2),
                    ha="right" if last else "left", va="bottom" if last else "top", fontsize=7,
                    color=ORACLE_COLOR)
    return list(mean - std) + list(mean + std)


def _finish_axes(ax, levels):
    """Y range from the drawn levels and the legend, or "no finished run" when nothing was drawn."""
    if not levels:
        ax.text(0.5, 0.5, "no finished run", transform=ax.transAxes, ha="center", va="center", style="italic")
        ax.set_yticks([])
        return
    top, bottom = max(levels), min(levels)
    pad = max(0.12 * (top - bottom), 0.5)
    ax.set_ylim(max(0.0, bottom - pad), top + pad)
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=8, loc="best")


def fig6(json_path, png_path, metric="average_mAP"):
    """Draw Fig. 6 (annotation-ratio curves) from ``json_path`` into ``png_path``; returns the path.

    ``metric`` selects the series of an ``aher.reproduce`` document (``"average_mAP"`` or ``"AUC"``);
    the ``settings`` schema holds average mAP only.
    """
    numbers = load_fig6_numbers(json_path, metric)
    ylabel = "average mAP (%)" if metric == "average_mAP" else f"{metric} (%)"
    n = len(numbers)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n + 0.4, 3.9), squeeze=False)
    for ax, (setting, entry) in zip(axes[0], numbers.items()):
        _setup_axes(ax, setting, entry, ylabel)
        levels = _draw_ahernet(ax, entry["aherNet"]) if entry["aherNet"] is not None else []
        if entry["oracle"]:
            levels += _draw_oracle(ax, entry["oracle"])
        _finish_axes(ax, levels)
    fig.tight_layout()
    return save(fig, png_path)
