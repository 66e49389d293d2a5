"""Retention plots: Kaplan-Meier curves with the number at risk, hazard-ratio forest, RMST bars."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ...fmt import count, number, pct, quantity
from ...plots import ordered_palette
from ...plotting import error_extent
from ...stats.survival import MIN_AT_RISK_DRAWN, drawable


def _palette(n: int) -> list:
    return ordered_palette(n)


def km_curves(curves: pd.DataFrame, at_risk: pd.DataFrame, time_unit: str = "months",
              figsize: tuple[float, float] = (9, 6.5), labels: dict[str, str] | None = None) -> plt.Figure:
    """Kaplan-Meier curves by tier with 95% bands, and the number at risk under the plot (as survminer does).

    Each curve is drawn only while at least 10 customers of its tier are at
    risk (:func:`cxlab.stats.survival.drawable`); a tier with fewer customers
    is named in the legend as not drawn.

    Parameters
    ----------
    curves : DataFrame
        Tidy curves: tier, time, survival, ci_low, ci_high, at_risk (:func:`cxlab.stats.survival.km_curves`).
    at_risk : DataFrame
        Number at risk, one row per tier, one column per time (:func:`cxlab.retention.at_risk_table`);
        its columns are also the x ticks.
    time_unit : str
        Label of the time axis.
    labels : dict, optional
        The study's labels: tiers are named by them in the legend and the at-risk table.

    Returns
    -------
    Figure
        Two axes: the curves (``fig.axes[0]``) and the at-risk table (``fig.axes[1]``).
    """
    tiers = [str(t) for t in at_risk.index]
    names = {t: (labels or {}).get(t, t) for t in tiers}
    colours = dict(zip(tiers, _palette(len(tiers))))
    fig, (ax, tab) = plt.subplots(2, 1, figsize=figsize, sharex=True,
                                  gridspec_kw={"height_ratios": [4, 0.45 + 0.24 * len(tiers)], "hspace": 0.32})
    last_drawn = 0.0
    shown = drawable(curves)
    for tier in tiers:
        sub = shown[shown["tier"].astype(str) == tier]
        if sub.empty:
            if (curves["tier"].astype(str) == tier).any():
                ax.plot([], [], color=colours[tier], lw=1.8, ls=":",
                        label=f"{names[tier]} (not drawn: fewer than {MIN_AT_RISK_DRAWN} at risk)")
            continue
        last_drawn = max(last_drawn, float(sub["time"].max()))
        ax.step(sub["time"], sub["survival"], where="post", color=colours[tier], lw=1.8, label=names[tier])
        ax.fill_between(sub["time"], sub["ci_low"], sub["ci_high"], step="post", color=colours[tier], alpha=0.15,
                        lw=0)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: pct(v)))
    ax.set_ylabel(f"still a customer (95% band; drawn while {MIN_AT_RISK_DRAWN}+ at risk)")
    ax.legend(title="tier", frameon=False, loc="upper right", ncols=min(5, len(tiers)))
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    sns.despine(ax=ax)
    times = np.asarray(at_risk.columns, dtype=float)
    # no axis past the data: keep the ticks up to the first one at or after the last time drawn
    keep = times <= (times[times >= last_drawn].min() if (times >= last_drawn).any() else times.max())
    times, table = times[keep], at_risk.loc[:, keep]
    for i, tier in enumerate(tiers):
        y = len(tiers) - 1 - i
        for t, n in zip(times, table.loc[tier]):
            tab.text(t, y, count(n), ha="center", va="center", fontsize=8, color="black")
    tab.set_yticks(range(len(tiers)))
    tab.set_yticklabels([names[t] for t in tiers[::-1]])
    for label, tier in zip(tab.get_yticklabels(), tiers[::-1]):
        label.set_color(colours[tier])
        label.set_fontweight("bold")
    tab.set_ylim(-0.6, len(tiers) - 0.4)
    tab.set_xticks(times)
    tab.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: number(v, 0)))
    ax.tick_params(axis="x", labelbottom=True)
    span = (times.max() - times.min()) or 1.0
    tab.set_xlim(times.min() - 0.06 * span, times.max() + 0.04 * span)
    tab.set_xlabel(f"time since start ({time_unit})")
    tab.set_title("Number at risk, by tier", fontsize=9, loc="left", pad=3)
    tab.grid(False)
    sns.despine(ax=tab, left=True, bottom=False)
    tab.tick_params(axis="y", length=0)
    return fig


def alt_km_curves(curves: pd.DataFrame, tiers: pd.DataFrame, time_unit: str, horizon: float | None = None) -> str:
    """The alt text of :func:`km_curves`: what is drawn and each tier's median tenure (or survival at ``horizon``)."""
    parts = []
    for row in tiers.itertuples():
        median = getattr(row, "median", None)
        text = (f"tier {row.tier}: median {number(median, 1)} {time_unit}" if median is not None and median == median
                else f"tier {row.tier}: median not reached")
        parts.append(text)
    return (f"Kaplan-Meier curves of the share of customers still a customer over time ({time_unit}) for each "
            "experience tier, with 95% bands and the number at risk below: " + "; ".join(parts) + ".")


def forest(hazard_ratios: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Forest plot of Cox hazard ratios with 95% intervals on a log scale.

    A penalised hazard ratio (no interval) is drawn as a hollow point without bars.

    Parameters
    ----------
    hazard_ratios : DataFrame
        Columns model, term, hazard_ratio, ci_low, ci_high (``RetentionResult.hazard_ratios``).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    rows = hazard_ratios.reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.9 + 0.45 * max(len(rows), 1)))
    labels = [f"{r.term} ({r.model})" for r in rows.itertuples()]
    y = np.arange(len(rows))[::-1]
    colours = ["#0072B2" if m.startswith("rating only") else "#555555" for m in rows["model"]]
    has_ci = rows["ci_low"].notna().to_numpy() & rows["ci_high"].notna().to_numpy()
    for yi, colour, r, ci in zip(y, colours, rows.itertuples(), has_ci):
        if ci:
            ax.errorbar([r.hazard_ratio], [yi], xerr=error_extent(r.hazard_ratio, r.ci_low, r.ci_high),
                        fmt="none", ecolor=colour, capsize=3, lw=1.2)
        ax.scatter([r.hazard_ratio], [yi], s=36, zorder=3, color=colour if ci else "white", edgecolors=colour)
    ax.axvline(1, color="black", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ends = pd.concat([rows["ci_low"], rows["ci_high"], rows["hazard_ratio"]]).dropna()
    lo, hi = (float(ends.min()), float(ends.max())) if len(ends) else (0.5, 2.0)
    narrow = np.log10(max(hi, 1.0) / min(lo, 1.0)) <= 1
    ax.xaxis.set_minor_formatter(plt.FuncFormatter(
        lambda v, _: f"{v:g}" if narrow or f"{v:.1g}"[0] in "25" else ""))
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_xlabel("hazard ratio of churn (95% CI, log scale; < 1 = customers stay longer)")
    for yi, r, ci in zip(y, rows.itertuples(), has_ci):
        text = (f"{number(r.hazard_ratio)} ({number(r.ci_low)} to {number(r.ci_high)})" if ci else
                f"{number(r.hazard_ratio)} (penalised, no interval)")
        ax.annotate(text, (1, yi), xycoords=("axes fraction", "data"), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize=8)
    sns.despine(ax=ax)
    return ax


def rmst_bars(rmst: pd.DataFrame, tau: float, time_unit: str = "months", ax: plt.Axes | None = None,
              labels: dict[str, str] | None = None) -> plt.Axes:
    """Restricted mean survival time by tier with 95% interval bars.

    Parameters
    ----------
    rmst : DataFrame
        Columns tier, rmst, ci_low, ci_high, worst to best (``results["rmst"]`` as a frame).
    tau : float
        The RMST window, drawn as a reference line.
    labels : dict, optional
        The study's labels: tiers are named by them on the axis.

    Returns
    -------
    Axes
    """
    rows = rmst.dropna(subset=["rmst"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    tiers = [(labels or {}).get(t, t) for t in rows["tier"].astype(str)]
    colours = _palette(len(tiers))
    x = np.arange(len(tiers))
    ax.bar(x, rows["rmst"], color=colours, width=0.7)
    ax.errorbar(x, rows["rmst"], yerr=error_extent(rows["rmst"], rows["ci_low"], rows["ci_high"]), fmt="none",
                ecolor="black", capsize=3, lw=1)
    for xi, v, high in zip(x, rows["rmst"], rows["ci_high"]):
        ax.text(xi, (high if pd.notna(high) else v) + 0.01 * tau, number(v, 1), ha="center", va="bottom",
                fontsize=9)
    ax.axhline(tau, color="grey", lw=0.8, ls=":")
    ax.text(x[-1] + 0.4, tau, f"window {quantity(tau, time_unit)}", ha="right", va="bottom", fontsize=8, color="grey")
    ax.set_xticks(x)
    ax.set_xticklabels(tiers)
    ax.set_ylim(0, tau * 1.08)
    ax.set_xlabel("experience tier (worst to best)")
    ax.set_ylabel(f"mean {time_unit} as a customer\n(first {quantity(tau, time_unit)}, 95% CI)")
    sns.despine(ax=ax)
    return ax


def alt_forest(hazard_ratios: pd.DataFrame) -> str:
    """The alt text of :func:`forest`: each hazard ratio with its interval."""
    parts = [f"{r.term} ({r.model}) {number(r.hazard_ratio)} "
             + (f"(95% CI {number(r.ci_low)} to {number(r.ci_high)})" if pd.notna(r.ci_low) and pd.notna(r.ci_high)
                else "(penalised, no interval)")
             for r in hazard_ratios.itertuples()]
    return ("Forest plot of Cox hazard ratios of churn on a log scale, with 95% intervals and a dashed line at 1 "
            "(no association): " + "; ".join(parts) + ".")


def alt_rmst_bars(rmst: pd.DataFrame, tau: float, time_unit: str) -> str:
    """The alt text of :func:`rmst_bars`: each tier's mean time as a customer over the window."""
    parts = [f"tier {r.tier} {number(r.rmst, 1)} {time_unit}" for r in rmst.dropna(subset=["rmst"]).itertuples()]
    return (f"Bar chart of the mean time as a customer within the first {number(tau, 0)} {time_unit} (restricted "
            "mean survival time) by experience tier, with 95% intervals: " + "; ".join(parts) + ".")
