"""Figures for readers: one colour-blind-safe palette, a house style, and :func:`show` with alt text.

Every chart in a report goes through :func:`show`: it is displayed as a
high-resolution PNG whose alt text says what the chart shows (nbconvert
writes it into the ``<img>`` tag), and it is kept for the study's exports
(PNG and SVG files, :mod:`cxlab.exports`).
"""
from __future__ import annotations

import io
import math
from typing import Any

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
"""Okabe and Ito's palette, distinguishable with every common colour-vision deficiency (no red/green pair)."""

ROLE = {"leaders": "#0072B2", "laggards": "#E69F00", "benchmark": "#555555", "positive": "#0072B2",
        "negative": "#E69F00", "main": "#0072B2", "secondary": "#777777"}
"""Colours by role: leaders blue, laggards orange (never red against green)."""

DPI = 200
"""Resolution of displayed and exported PNGs (twice the 100 dpi a figure is laid out at: sharp on retina screens)."""

LAYOUT_DPI = 100
"""CSS pixels per inch of a figure shown at its own width (the ``width`` :func:`show` gives the image)."""

MIN_TEXT_PX = 8
"""The smallest a chart's text may be drawn on a screen, in CSS pixels: a chart is never shown narrower."""


def palette(n: int) -> list[str]:
    """``n`` distinguishable colours, in order (Okabe-Ito; cycled beyond eight)."""
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(max(n, 0))]


def ordered_palette(n: int) -> list[str]:
    """``n`` colours for ordered groups (worst to best): orange, then through to blue, all distinguishable."""
    order = ("#D55E00", "#E69F00", "#CC79A7", "#56B4E9", "#0072B2", "#009E73", "#000000", "#F0E442")
    return [order[i % len(order)] for i in range(max(n, 0))] if n > 2 else ["#D55E00", "#0072B2"][:n]


def use_style() -> None:
    """The house style: Okabe-Ito colour cycle, readable font sizes, and sharp inline figures."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update({"axes.prop_cycle": cycler(color=list(OKABE_ITO)), "figure.dpi": 100,
                         "savefig.dpi": DPI, "font.size": 10.5, "axes.titlesize": 12, "axes.labelsize": 10.5,
                         "legend.fontsize": 9.5, "axes.titlelocation": "left", "svg.fonttype": "none"})
    try:  # inside IPython: retina PNGs for any figure shown with plt.show()
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")
    except Exception:  # noqa: BLE001  outside a kernel there is nothing to configure
        pass


def figure_bytes(fig: Any, dpi: int = DPI) -> tuple[bytes, bytes]:
    """The figure as PNG bytes at ``dpi`` and as SVG bytes (text kept as text), both cropped to its tight box.

    The figure is laid out once for both (``bbox_inches="tight"`` would lay it out again for each format:
    a fifth of the export's time).
    """
    import matplotlib as mpl

    fig.draw_without_rendering()
    box = fig.get_tightbbox().padded(mpl.rcParams["savefig.pad_inches"])  # with the renderer of that layout
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi, bbox_inches=box, facecolor="white")
    fig.savefig(svg, format="svg", bbox_inches=box, facecolor="white")
    return png.getvalue(), svg.getvalue()


def smallest_text_pt(fig: Any) -> float | None:
    """The size in points of the smallest visible, non-empty text of a figure (titles, labels, ticks, legends,
    annotations), or None when it has no text."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else None


def min_width(width_px: int, text_pt: float | None) -> int | None:
    """The narrowest a chart laid out ``width_px`` CSS pixels wide may be shown so that text of ``text_pt``
    points stays :data:`MIN_TEXT_PX` pixels tall (None without text); at most ``width_px``."""
    if not text_pt:
        return None
    full = text_pt * LAYOUT_DPI / 72  # CSS px of that text when the chart is shown at its own width
    return min(width_px, math.ceil(width_px * MIN_TEXT_PX / full))


def show(fig: Any, name: str, alt: str) -> None:
    """Display a figure (Figure or Axes) with its alt text, keep it for the exports, and close it.

    Parameters
    ----------
    fig : Figure or Axes
    name : str
        File name of the exported figure (``figures/<name>.png`` and ``.svg``).
    alt : str
        What the chart shows, in a sentence or two (the image's alt text).
    """
    from IPython.display import Image, display
    import matplotlib.pyplot as plt

    from . import exports

    fig = getattr(fig, "figure", fig)
    if not alt or not alt.strip():
        raise ValueError("a figure needs an alt text saying what it shows")
    png, svg = figure_bytes(fig)
    exports.add_figure(name, png, svg)
    width = int(round(fig.get_size_inches()[0] * LAYOUT_DPI))
    text_pt = smallest_text_pt(fig)
    meta: dict[str, Any] = {"alt": alt}
    if text_pt is not None:  # the report keeps the chart at least this wide (scrolling on a phone)
        meta.update(text_pt=round(float(text_pt), 2), min_width=min_width(width, text_pt))
    display(Image(data=png, format="png", width=width, metadata=meta))
    plt.close(fig)
