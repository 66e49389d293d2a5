"""Key-driver plots: shares with intervals, rank intervals, the importance-performance map."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.transforms import Bbox

from .analysis import UNCLEAR


def shares(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Horizontal bars of each driver's share of R^2 with its 95% bootstrap interval, largest first.

    Parameters
    ----------
    table : DataFrame
        Columns driver, share, ci_low, ci_high (``DriversResult.table``).
    ax : Axes, optional
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.2))
    t = table.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
    y = np.arange(len(t))
    ax.barh(y, t["share"], color=sns.color_palette("crest", 3)[1], height=0.6)
    err = np.vstack([t["share"] - t["ci_low"], t["ci_high"] - t["share"]])
    ax.errorbar(t["share"], y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axvline(1 / len(t), color="grey", ls=":", lw=1)
    ax.set_yticks(y, t["driver"])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of R² (95% bootstrap interval); dotted: equal shares")
    sns.despine(ax=ax)
    return ax


def ranks(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Each driver's rank (dot) and its 95% bootstrap rank interval (line), best rank at the top."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.2))
    t = table.sort_values(["rank", "share"], ascending=[True, False], kind="stable").reset_index(drop=True)
    y = np.arange(len(t))
    ax.hlines(y, t["rank_ci_low"], t["rank_ci_high"], color=sns.color_palette("crest", 3)[2], lw=6, alpha=0.6)
    ax.plot(t["rank"], y, "o", color="black")
    ax.set_yticks(y, t["driver"])
    ax.invert_yaxis()
    ax.set_xticks(np.arange(1, len(t) + 1))
    ax.set_xlim(0.5, len(t) + 0.5)
    ax.set_xlabel("rank (1 = largest weight) with 95% bootstrap interval")
    sns.despine(ax=ax)
    return ax


def _overlap(a: Bbox, b: Bbox) -> float:
    """Vertical overlap of two boxes that also overlap horizontally (0 when they do not touch)."""
    if a.x1 <= b.x0 or b.x1 <= a.x0:
        return 0.0
    return max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _repel(ax: plt.Axes, texts: list, fixed: list, pad: float = 2.0, steps: int = 300) -> None:
    """Move driver labels vertically (in pixels) until no two labels, and no label and fixed text, overlap."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_pixels, to_data = ax.transData, ax.transData.inverted()
    obstacles = [t.get_window_extent(renderer).expanded(1.0, 1.0) for t in fixed]
    for _ in range(steps):
        boxes = [t.get_window_extent(renderer) for t in texts]
        moved = False
        for i, a in enumerate(boxes):
            shift = 0.0
            for j, b in enumerate(boxes):
                if j != i and (ov := _overlap(a, b)) > 0:
                    direction = 1.0 if (a.y0, i) > (b.y0, j) else -1.0
                    shift += direction * (ov / 2 + pad)
            for b in obstacles:
                if (ov := _overlap(a, b)) > 0:
                    shift += (1.0 if a.y0 + a.y1 > b.y0 + b.y1 else -1.0) * (ov + pad)
            if shift:
                x, y = to_pixels.transform(texts[i].get_position())
                texts[i].set_position(to_data.transform((x, y + shift)))
                moved = True
        if not moved:
            return


def importance_performance(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Importance-performance map: share of R^2 (x) against performance 0-100 (y), quadrants labelled.

    The dividing lines sit at the mean share (1 / number of drivers) and the
    mean performance, as in DESIGN 5.5; driver names are moved apart so that
    none overlaps another or a quadrant label. With ``ci_low``/``ci_high``
    each share's 95% interval is drawn as a horizontal line, and with
    ``priority`` the drivers labelled "cannot tell yet" (interval across the
    dividing line) are drawn hollow.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    t = table.reset_index(drop=True)
    mean_share, mean_perf = 1 / len(t), float(t["performance"].mean())
    intervals = {"ci_low", "ci_high"} <= set(t.columns)
    if intervals:
        ax.hlines(t["performance"], t["ci_low"], t["ci_high"], color="grey", lw=1.2, zorder=2)
    unclear = (t["priority"] == UNCLEAR).to_numpy() if "priority" in t else np.zeros(len(t), bool)
    ax.scatter(t["share"][~unclear], t["performance"][~unclear], s=40, color="black", zorder=3)
    ax.scatter(t["share"][unclear], t["performance"][unclear], s=40, facecolor="white", edgecolor="black", zorder=3)
    ax.axvline(mean_share, color="grey", ls="--", lw=1)
    ax.axhline(mean_perf, color="grey", ls="--", lw=1)
    right = [float(t["share"].max()), mean_share] + ([float(np.nanmax(t["ci_high"]))] if intervals
                                                       and t["ci_high"].notna().any() else [])
    xmax = max(right) * 1.25
    spread = max(float(t["performance"].max() - t["performance"].min()), 10.0)
    ax.set_xlim(0, xmax)
    ax.set_ylim(max(0.0, t["performance"].min() - 0.3 * spread), min(100.0, t["performance"].max() + 0.3 * spread))
    corner = {"possible overkill": (0.01, 0.99, "left", "top"), "keep up": (0.99, 0.99, "right", "top"),
              "low priority": (0.01, 0.01, "left", "bottom"), "fix first": (0.99, 0.01, "right", "bottom")}
    fixed = [ax.text(x, y, q, transform=ax.transAxes, ha=ha, va=va, color="grey", fontsize=10, style="italic")
             for q, (x, y, ha, va) in corner.items()]
    dx = 0.015 * xmax
    # names start right of the point and of its interval
    ends = np.fmax(t["share"], t["ci_high"]).to_numpy(float) if intervals else t["share"].to_numpy(float)
    texts = [ax.text(e + dx, perf, name, va="center", fontsize=9)
             for name, e, perf in zip(t["driver"], ends, t["performance"])]
    ax.figure.canvas.draw()
    _repel(ax, texts, fixed)
    for text, s, perf in zip(texts, ends, t["performance"]):
        _, ty = text.get_position()
        if abs(ty - perf) > 1e-9:
            ax.plot([s, s + dx], [perf, ty], color="grey", lw=0.6)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("importance: share of R²" + (" (lines: 95% intervals)" if intervals else "")
                  + ("; hollow: cannot tell yet, the interval crosses the dashed line" if unclear.any() else ""))
    ax.set_ylabel(f"performance (0-100; dashed: mean {mean_perf:.0f})")
    sns.despine(ax=ax)
    return ax


def label_overlaps(ax: plt.Axes) -> int:
    """Number of pairs of text labels in ``ax`` whose boxes overlap (0 for a readable map)."""
    renderer = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    return sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _pct(v: object) -> str:
    return "not defined" if v is None or v != v else f"{100 * float(v):.0f}%"


def alt_shares(table: pd.DataFrame) -> str:
    """The alt text of :func:`shares`: each driver's share with its interval, largest first."""
    t = table.sort_values("share", ascending=False, kind="stable")
    return ("Horizontal bar chart of each driver's share of the explained variance with its 95% bootstrap "
            "interval, largest first: " + "; ".join(f"{r.driver} {_pct(r.share)} ({_pct(r.ci_low)} to "
                                                     f"{_pct(r.ci_high)})" for r in t.itertuples()) + ".")


def alt_ranks(table: pd.DataFrame) -> str:
    """The alt text of :func:`ranks`."""
    t = table.sort_values(["rank", "share"], ascending=[True, False], kind="stable")
    return ("Each driver's rank (1 = largest weight) with its 95% bootstrap rank interval: "
            + "; ".join(f"{r.driver} rank {r.rank:g} ({r.rank_ci_low:g} to {r.rank_ci_high:g})"
                        for r in t.itertuples()) + ".")


def alt_importance_performance(table: pd.DataFrame) -> str:
    """The alt text of :func:`importance_performance`: each driver's label (``priority``, else its quadrant)."""
    label = "priority" if "priority" in table else "quadrant"
    rule = (", a driver labelled only where its share interval lies wholly on one side of the mean share"
            if label == "priority" else "")
    return ("Scatter plot of each driver's importance (share of explained variance) against its performance "
            "(mean rating on 0-100), split into four quadrants at the mean share and mean performance" + rule + ": "
            + "; ".join(f"{r.driver} {getattr(r, label)}" for r in table.itertuples()) + ".")
