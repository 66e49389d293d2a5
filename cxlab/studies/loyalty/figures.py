"""Loyalty plots: rate by tier with intervals."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ...plotting import error_extent


def rate_by_tier(rates: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Bar chart of each outcome's rate by tier with 95% interval bars.

    Parameters
    ----------
    rates : DataFrame
        Tidy table with columns outcome, tier, rate, ci_low, ci_high (as from
        :func:`cxlab.loyalty.rates_by_tier`), tiers in order worst to best.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    tiers = list(dict.fromkeys(rates["tier"]))
    outcomes = list(dict.fromkeys(rates["outcome"]))
    sns.barplot(data=rates, x="tier", y="rate", hue="outcome", order=tiers, hue_order=outcomes,
                errorbar=None, ax=ax, palette="crest")
    width = 0.8 / len(outcomes)
    for j, outcome in enumerate(outcomes):
        sub = rates[rates["outcome"] == outcome].set_index("tier").reindex(tiers)
        x = np.arange(len(tiers)) - 0.4 + width * (j + 0.5)
        yerr = error_extent(sub["rate"], sub["ci_low"], sub["ci_high"])  # a 0% or 100% tier: never negative
        ax.errorbar(x, sub["rate"], yerr=yerr, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("experience tier (worst to best)")
    ax.set_ylabel("rate (95% Wilson interval)")
    ax.legend(title=None, frameon=False, ncols=min(4, len(outcomes)), loc="upper left")
    sns.despine(ax=ax)
    return ax
