"""Loyalty plots: rate by tier with intervals, and the alt text that says what the chart shows."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ...fmt import pct
from ...plots import palette
from ...plotting import error_extent


def rate_by_tier(rates: pd.DataFrame, ax: plt.Axes | None = None, labels: bool = True) -> plt.Axes:
    """Bar chart of each outcome's rate by tier with 95% interval bars and value labels.

    Parameters
    ----------
    rates : DataFrame
        Tidy table with columns outcome, tier, rate, ci_low, ci_high (as
        ``LoyaltyResult.rates``), tiers in order worst to best.
    ax : Axes, optional
    labels : bool
        Write each rate above its bar.

    Returns
    -------
    Axes
    """
    tiers = list(dict.fromkeys(rates["tier"]))
    outcomes = list(dict.fromkeys(rates["outcome"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(8, 1.1 * len(tiers) * max(len(outcomes), 2) / 2 + 2), 4.8))
    colours = palette(len(outcomes))
    width = 0.8 / len(outcomes)
    for j, (outcome, colour) in enumerate(zip(outcomes, colours)):
        sub = rates[rates["outcome"] == outcome].set_index("tier").reindex(tiers)
        x = np.arange(len(tiers)) - 0.4 + width * (j + 0.5)
        ax.bar(x, sub["rate"], width=width * 0.92, color=colour, label=outcome)
        yerr = error_extent(sub["rate"], sub["ci_low"], sub["ci_high"])  # a 0% or 100% tier: never negative
        ax.errorbar(x, sub["rate"], yerr=yerr, fmt="none", ecolor="black", capsize=2, lw=0.9)
        if labels:
            fontsize = 8 if len(outcomes) * len(tiers) <= 12 else 7.5 if len(outcomes) * len(tiers) <= 24 else 6.5
            for xi, rate, high in zip(x, sub["rate"], sub["ci_high"]):
                if pd.notna(rate):
                    ax.text(xi, (high if pd.notna(high) else rate) + 0.015, pct(rate), ha="center", va="bottom",
                            fontsize=fontsize, rotation=90 if fontsize < 7 else 0)
    ax.set_xticks(np.arange(len(tiers)))
    ax.set_xticklabels([str(t) for t in tiers])
    ax.set_ylim(0, 1.08)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: pct(v)))
    ax.set_xlabel("experience tier (worst to best)")
    ax.set_ylabel("rate (95% Wilson interval)")
    ax.legend(title=None, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    sns.despine(ax=ax)
    return ax


def alt_rate_by_tier(rates: pd.DataFrame) -> str:
    """The alt text of :func:`rate_by_tier`: what is drawn, and each outcome's rate in the worst and best tier."""
    tiers = [str(t) for t in dict.fromkeys(rates["tier"])]
    outcomes = list(dict.fromkeys(rates["outcome"]))
    parts = []
    for outcome in outcomes:
        sub = rates[rates["outcome"] == outcome].dropna(subset=["rate"])
        if len(sub):
            first, last = sub.iloc[0], sub.iloc[-1]
            parts.append(f"{outcome} {pct(first['rate'])} in tier {first['tier']} and {pct(last['rate'])} in "
                         f"tier {last['tier']}")
    return (f"Bar chart of the {', '.join(outcomes)} rates in each experience tier from {tiers[0]} (worst) to "
            f"{tiers[-1]} (best), with 95% Wilson intervals: " + "; ".join(parts) + ".")
