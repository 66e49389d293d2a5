"""Value plots: mean CLV by group with intervals, the holdout check, probability alive by recency and frequency."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...fmt import number
from ...plots import ordered_palette, palette
from ...plotting import error_extent
from ...stats import clv


def clv_by_group(groups: pd.DataFrame, unit: str | None = None, ax: plt.Axes | None = None,
                 labels: dict[str, str] | None = None) -> plt.Axes:
    """Bars of mean CLV per experience group (worst to best) with 95% bootstrap interval bars; groups are named
    by the study's ``labels`` when they name them."""
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 1.4 * len(groups) + 2), 4.5))
    x = np.arange(len(groups))
    ax.bar(x, groups["mean_clv"], color=ordered_palette(len(groups)), width=0.7)
    ax.errorbar(x, groups["mean_clv"], yerr=error_extent(groups["mean_clv"], groups["ci_low"], groups["ci_high"]),
                fmt="none", ecolor="black", capsize=5, lw=1.2)
    for xi, v in zip(x, groups["mean_clv"]):
        ax.annotate(number(v, 0), (xi, v), xytext=(6, 3), textcoords="offset points", fontsize=9)
    ax.set_xticks(x, [(labels or {}).get(str(g), str(g)) for g in groups["group"]])
    ax.set_xlabel("experience group (worst to best)")
    ax.set_ylabel(f"mean CLV per customer{f' ({unit})' if unit else ''}")
    return ax


def alt_clv_by_group(groups: pd.DataFrame, unit: str | None = None) -> str:
    """Alt text of :func:`clv_by_group`: each group's mean CLV with its interval (none without a bootstrap)."""
    def bounds(lo: float | None, hi: float | None) -> str:
        if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
            return ""
        return f" ({number(lo, 0)} to {number(hi, 0)})"
    parts = [f"{g}: {number(v, 0)}{f' {unit}' if unit else ''}{bounds(lo, hi)}"
             for g, v, lo, hi in groups[["group", "mean_clv", "ci_low", "ci_high"]].itertuples(index=False)]
    with_ci = not groups[["ci_low", "ci_high"]].isna().all(axis=None)
    return ("Bar chart of mean customer lifetime value by experience group"
            + (" with 95% intervals: " if with_ci else " (no bootstrap, no intervals): ") + "; ".join(parts) + ".")


def holdout_fit(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Mean actual and predicted repeat purchases in the holdout by calibration frequency."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    c1, c2 = palette(2)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color=c1, label="actual")
    ax.plot(x, table["predicted"], marker="s", ls="--", color=c2, label="predicted (BG/NBD)")
    ax.set_xticks(x, table["frequency"].astype(str))
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean repeat purchases in the holdout")
    ax.legend(frameon=False)
    return ax


def alt_holdout_fit(table: pd.DataFrame) -> str:
    parts = [f"{f}: actual {number(a)}, predicted {number(p)}"
             for f, a, p in table[["frequency", "actual", "predicted"]].itertuples(index=False)]
    return ("Line chart of mean repeat purchases in the holdout period, actual against predicted, by repeat "
            "purchases in the calibration period: " + "; ".join(parts) + ".")


def p_alive_matrix(params: dict[str, float], T: float, max_frequency: int = 20,
                   ax: plt.Axes | None = None) -> plt.Axes:
    """Heat map of the probability alive by frequency and recency (weeks) for a customer of age ``T`` weeks."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    freq = np.arange(0, max_frequency + 1)
    rec = np.linspace(0, T, 60)
    F, R = np.meshgrid(freq, rec, indexing="ij")
    P = clv.p_alive(params, F.ravel(), np.where(F.ravel() > 0, R.ravel(), 0), np.full(F.size, T)).reshape(F.shape)
    im = ax.imshow(P, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1,
                   extent=(0, T, -0.5, max_frequency + 0.5))
    ax.figure.colorbar(im, ax=ax, label="probability alive")
    ax.set_xlabel("recency: weeks from first to last purchase")
    ax.set_ylabel("repeat purchases")
    return ax


def alt_p_alive(group: str, T: float) -> str:
    return (f"Heat map of the probability that a customer of group {group} is still active, by repeat purchases "
            f"(rows) and weeks from the first to the last purchase (columns), for a customer first seen "
            f"{number(T, 0)} weeks before the end of observation: bright (likely active) where the last purchase "
            "is recent, dark where a frequent buyer has not bought for long.")
