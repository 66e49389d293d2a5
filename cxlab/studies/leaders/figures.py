"""Leaders plots: cumulative growth, yearly differences, CX score against next-period growth."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ... import plotting  # noqa: F401  literal text in figures
from ...fmt import number, points
from ...plots import ROLE

COLORS = {"leaders": ROLE["leaders"], "laggards": ROLE["laggards"], "benchmark": ROLE["benchmark"]}
"""Leaders blue, laggards orange, benchmark grey (colour-blind safe; no red/green pair)."""


def cumulative_growth(cumulative: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Leaders, laggards (and benchmark) indexed to 1 at the first period.

    Parameters
    ----------
    cumulative : DataFrame
        Tidy ``period, series, index`` (as :attr:`cxlab.leaders.LeadersResult.cumulative`).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for name, sub in cumulative.groupby("series", sort=False):
        style = "--" if name == "benchmark" else "-"
        ax.plot(sub["period"], sub["index"], style, marker="o", ms=3, lw=2, label=name,
                color=COLORS.get(str(name)))
        ax.annotate(number(sub["index"].iloc[-1], 2), (sub["period"].iloc[-1], sub["index"].iloc[-1]),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xlabel("period")
    ax.set_ylabel("cumulative growth (index, first period = 1)")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(frameon=False, loc="upper left")
    sns.despine(ax=ax)
    return ax


def yearly_difference(periods: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of the leader-minus-laggard mean growth per period.

    Parameters
    ----------
    periods : DataFrame
        Columns ``period``, ``leader_mean``, ``laggard_mean`` (the period table).
    ax : Axes, optional
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    diff = (periods["leader_mean"] - periods["laggard_mean"]).to_numpy(float)
    colors = np.where(diff >= 0, COLORS["leaders"], COLORS["laggards"])
    ax.bar(periods["period"].astype(int), 100 * diff, color=colors, width=0.7)
    for x, d in zip(periods["period"].astype(int), diff):
        if np.isfinite(d):
            ax.text(x, 100 * d, f"{100 * d:+.1f}", ha="center", va="bottom" if d >= 0 else "top", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.axhline(100 * np.nanmean(diff), color="grey", lw=1, ls="--",
               label=f"mean over periods {points(np.nanmean(diff))}")
    ax.margins(y=0.15)
    ax.set_xlabel("period (growth from t to t+1)")
    ax.set_ylabel("leaders minus laggards\n(percentage points)")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(frameon=False)
    sns.despine(ax=ax)
    return ax


def score_vs_growth(company_periods: pd.DataFrame, ax: plt.Axes | None = None, max_points: int = 4000,
                    seed: int = 0) -> plt.Axes:
    """Scatter of cx_score against next-period growth, with the least-squares line fitted on every point.

    Parameters
    ----------
    company_periods : DataFrame
        Columns ``cx_score`` and ``growth`` (eligible company-periods).
    max_points : int
        At most this many points are drawn (a seeded random sample); the line uses all.
    seed : int
        Seed of that sample.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    data = company_periods[["cx_score", "growth"]].dropna()
    shown = data.sample(max_points, random_state=seed) if len(data) > max_points else data
    ax.scatter(shown["cx_score"], 100 * shown["growth"], s=8, alpha=0.35, color=ROLE["main"], edgecolor="none",
               rasterized=True, label=f"company-periods ({len(shown):,} of {len(data):,} shown)"
               if len(shown) < len(data) else "company-periods")
    if len(data) >= 2 and data["cx_score"].nunique() > 1:
        slope, intercept = np.polyfit(data["cx_score"], data["growth"], 1)
        xs = np.linspace(data["cx_score"].min(), data["cx_score"].max(), 50)
        ax.plot(xs, 100 * (intercept + slope * xs), color="black", lw=2,
                label=f"fitted line: {points(slope, 2)} of growth per CX point")
    ax.set_xlabel("CX score in period t")
    ax.set_ylabel("growth from t to t+1 (%)")
    ax.legend(frameon=False, loc="upper left")
    sns.despine(ax=ax)
    return ax


def cumulative_title(cumulative: pd.DataFrame) -> str:
    """The title of :func:`cumulative_growth`: names the benchmark only when it is drawn."""
    has_benchmark = "benchmark" in set(cumulative["series"].astype(str))
    return "Cumulative growth: CX leaders, laggards" + (" and benchmark" if has_benchmark else "")


def alt_cumulative_growth(cumulative: pd.DataFrame) -> str:
    """The alt text of :func:`cumulative_growth`: the series drawn and where each ends."""
    parts = []
    for name, sub in cumulative.groupby("series", sort=False):
        parts.append(f"{name} end at {number(sub['index'].iloc[-1])}")
    first, last = cumulative["period"].min(), cumulative["period"].max()
    return (f"Line chart of cumulative growth indexed to 1 in {first}, from {first} to {last}: "
            + "; ".join(parts) + ".")


def alt_yearly_difference(periods: pd.DataFrame) -> str:
    """The alt text of :func:`yearly_difference`."""
    diff = (periods["leader_mean"] - periods["laggard_mean"]).to_numpy(float)
    ok = diff[np.isfinite(diff)]
    ahead = int((ok > 0).sum())
    return (f"Bar chart of leader minus laggard mean growth per period, in percentage points: leaders grew faster "
            f"in {ahead} of {len(ok)} periods; the mean difference is {points(np.nanmean(diff)) if len(ok) else 'not defined'}.")


def alt_score_vs_growth(company_periods: pd.DataFrame) -> str:
    """The alt text of :func:`score_vs_growth`."""
    data = company_periods[["cx_score", "growth"]].dropna()
    text = (f"Scatter plot of CX score in period t against growth to the next period for {len(data):,} eligible "
            "company-periods")
    if len(data) >= 2 and data["cx_score"].nunique() > 1:
        slope = np.polyfit(data["cx_score"], data["growth"], 1)[0]
        text += f", with a least-squares line of {100 * slope:+.2f} points of growth per CX point"
    return text + "."
