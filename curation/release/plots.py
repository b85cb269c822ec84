"""Charts of the release report, as SVG strings ready to inline in HTML.

Drawn with matplotlib's SVG backend through the object-oriented :class:`~matplotlib.figure.Figure`
API: no pyplot, so no GUI backend is ever selected, no global figure list grows and nothing needs
closing (this is what ``matplotlib.use("Agg")`` would guard against, without changing the
backend of a notebook that imports this module).

The output is byte-for-byte deterministic for the same data: ``svg.hashsalt`` is fixed (per
chart, so two charts never share an ``id``), the date metadata is dropped, and text is drawn as
glyph paths (``svg.fonttype = "path"``), so the page looks the same without the font installed.
For inlining, the XML prolog, the RDF metadata and the ``xmlns`` declarations are removed (an
HTML parser puts ``<svg>`` in the SVG namespace by itself), and every ``id`` is prefixed with the
chart's key.

Examples
--------
>>> svg = f1_chart("demo", ["NOM", "DATE"], {"règles": [0.97, None]}, None, "F1 par label")
>>> svg.startswith("<svg") and "http" not in svg
True
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

#: Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

Bounds = tuple[float | None, float | None]


def count_chart(
    key: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], title: str
) -> str:
    """Grouped bars of counts, e.g. spans per label (categories) and split (series)."""
    return _bars(key, categories, series, title, "count", None, None)


def f1_chart(
    key: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    intervals: Mapping[str, Sequence[Bounds]] | None,
    title: str,
) -> str:
    """Grouped bars of scores in [0, 1], with their intervals as error bars.

    Parameters
    ----------
    key
        Unique name of the chart in the page (the ids of the SVG are prefixed with it).
    categories
        Labels of the x axis, e.g. ``["NOM", "PRENOM", "DATE"]``.
    series
        Series name (a baseline, a matching mode) -> one score per category; ``None`` draws
        no bar (undefined, which is not zero).
    intervals
        Series name -> ``(low, high)`` per category; series without intervals have no error bar.
    title
        Chart title.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    return _bars(key, categories, series, title, "F1", intervals, (0.0, 1.05))


def confusion_chart(
    key: str, labels: Sequence[str], matrix: Sequence[Sequence[float]], title: str
) -> str:
    """Confusion matrix, gold in rows and predicted in columns: counts written in the cells,
    shading by share of the row (of the gold label's spans).

    Row shares keep rare labels as readable as frequent ones; the cells are vectors
    (``pcolormesh``), not an embedded bitmap.
    """
    counts = np.asarray(matrix, dtype=float).reshape(len(labels), len(labels))
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    side = min(max(3.5, 0.42 * len(labels) + 1.8), 10.0)
    fig = Figure(figsize=(side + 0.6, side), layout="constrained")
    ax = fig.add_subplot()
    ax.pcolormesh(share, cmap="Blues", vmin=0.0, vmax=1.0, edgecolors="white", linewidth=0.5)
    for (r, c), value in np.ndenumerate(counts):
        if value:
            colour = "white" if share[r, c] > 0.6 else "black"
            ax.text(c + 0.5, r + 0.5, f"{value:g}", ha="center", va="center", color=colour)
    ticks = np.arange(len(labels)) + 0.5
    ax.set_xticks(ticks, list(labels), rotation=40, ha="right")
    ax.set_yticks(ticks, list(labels))
    ax.invert_yaxis()
    ax.set(xlabel="predicted", ylabel="gold")
    ax.set_title(title, loc="left")
    return to_svg(fig, key)


def _bars(
    key: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    ylabel: str,
    intervals: Mapping[str, Sequence[Bounds]] | None,
    ylim: tuple[float, float] | None,
) -> str:
    """Grouped vertical bars: one group per category, one colour per series."""
    n, k = len(categories), max(len(series), 1)
    fig = Figure(figsize=(min(max(4.5, 0.3 * n * k + 2.0), 11.0), 3.4), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(n)
    step = 0.8 / k
    for i, (name, values) in enumerate(series.items()):
        heights = np.array([np.nan if v is None else v for v in values], dtype=float)
        bounds = (intervals or {}).get(name)
        ax.bar(
            x - 0.4 + step * (i + 0.5),
            heights,
            step,
            label=name,
            yerr=None if bounds is None else _error_bars(heights, bounds),
            color=PALETTE[i % len(PALETTE)],
            capsize=2,
            error_kw={"elinewidth": 0.8},
        )
    rotate = n > 5 or max((len(c) for c in categories), default=0) > 10
    ax.set_xticks(
        x, list(categories), rotation=40 if rotate else 0, ha="right" if rotate else "center"
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if len(series) > 1:
        fig.legend(loc="outside right upper", frameon=False)
    return to_svg(fig, key)


def to_svg(fig: Figure, key: str) -> str:
    """Render ``fig`` as an inline ``<svg>`` element whose ids all start with ``key``."""
    key = re.sub(r"[^A-Za-z0-9_-]", "-", key)
    buffer = io.StringIO()
    with matplotlib.rc_context(
        {
            "svg.fonttype": "path",
            "svg.hashsalt": f"curation-report-{key}",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    text = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    return re.sub(
        r'(\bid="|href="#|url\(#)([^")]+)',
        lambda m: m[1] + (f"{key}-{m[2]}" if m[2] in ids else m[2]),
        text,
    )


def _error_bars(heights: np.ndarray, bounds: Sequence[Bounds]) -> np.ndarray:
    """Distances below and above each bar (shape 2 x n); NaN (no bar drawn) where unknown."""
    low = np.array([np.nan if b is None else b for b, _ in bounds], dtype=float)
    high = np.array([np.nan if b is None else b for _, b in bounds], dtype=float)
    return np.vstack([np.clip(heights - low, 0.0, None), np.clip(high - heights, 0.0, None)])
