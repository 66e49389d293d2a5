"""Leaders plots: cumulative growth, yearly differences, CX score against next-period growth."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ... import fmt
from ... import plotting  # noqa: F401  literal text in figures

COLORS = {"leaders": "#1b7837", "laggards": "#b2182b", "benchmark": "#4d4d4d"}


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
        ax.annotate(fmt.number(sub["index"].iloc[-1], 2), (sub["period"].iloc[-1], sub["index"].iloc[-1]),
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
    ax.axhline(0, color="black", lw=0.8)
    ax.axhline(100 * np.nanmean(diff), color="grey", lw=1, ls="--", label=f"mean over periods {fmt.points(np.nanmean(diff))}")
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
    ax.scatter(shown["cx_score"], 100 * shown["growth"], s=8, alpha=0.35, color="#2166ac", edgecolor="none",
               rasterized=True, label=f"company-periods ({len(shown):,} of {len(data):,} shown)"
               if len(shown) < len(data) else "company-periods")
    if len(data) >= 2 and data["cx_score"].nunique() > 1:
        slope, intercept = np.polyfit(data["cx_score"], data["growth"], 1)
        xs = np.linspace(data["cx_score"].min(), data["cx_score"].max(), 50)
        ax.plot(xs, 100 * (intercept + slope * xs), color="black", lw=2,
                label=f"fitted line: {fmt.points(slope, 2)} per CX point")
    ax.set_xlabel("cx_score in period t")
    ax.set_ylabel("growth from t to t+1 (%)")
    ax.legend(frameon=False, loc="upper left")
    sns.despine(ax=ax)
    return ax
