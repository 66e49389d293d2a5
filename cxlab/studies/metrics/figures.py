"""CX metrics plots: NPS by segment with letters, category bars, wave trend, mix waterfall, cohort versus all."""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ... import fmt
from ...plots import ROLE

def _nps_tick(v: float, _: Any = None) -> str:
    """An NPS axis tick on the -100 to +100 scale, with the decimals the tick needs ("+2.5", "+5", "0")."""
    text = f"{round(100 * v, 6):+g}"
    return "0" if text in ("+0", "-0") else text


NPS_AXIS = plt.FuncFormatter(_nps_tick)
#: Okabe-Ito vermillion, grey and blue: colour-blind safe, no red/green pair.
CATEGORY_COLOURS = {"detractors": "#D55E00", "passives": "#BBBBBB", "promoters": ROLE["positive"]}


def _levels(levels: pd.DataFrame, segment: str, metric: str = "nps") -> pd.DataFrame:
    return levels[(levels["segment"] == segment) & (levels["metric"] == metric)].reset_index(drop=True)


def nps_by_segment(levels: pd.DataFrame, segment: str, ax: plt.Axes | None = None) -> plt.Axes:
    """NPS of each level of ``segment`` as a dot with its 95% adjusted-Wald interval and its significance letters.

    Parameters
    ----------
    levels : DataFrame
        ``MetricsResult.levels`` (segment, metric, level, label, value, ci_low, ci_high, letters).
    segment : str
    ax : Axes, optional
    """
    rows = _levels(levels, segment)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(rows)))
    y = np.arange(len(rows))[::-1]
    ax.errorbar(rows["value"], y, xerr=[rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]],
                fmt="o", color="#1f4e79", ecolor="#1f4e79", capsize=3, lw=1.2)
    for yi, (_, r) in zip(y, rows.iterrows()):
        if r["letters"]:
            ax.annotate(r["letters"], (r["ci_high"], yi), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=9, fontweight="bold")
    ax.set_yticks(y, [f"{r.level} ({r.label})" for r in rows.itertuples()])
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.xaxis.set_major_formatter(NPS_AXIS)
    ax.set_xlabel("NPS (95% adjusted-Wald interval); letters: levels it exceeds (Holm p < 0.05)")
    ax.set_title(f"NPS by {segment}")
    sns.despine(ax=ax)
    return ax


def category_bars(levels: pd.DataFrame, segment: str, ax: plt.Axes | None = None) -> plt.Axes:
    """Detractors, passives and promoters of each level of ``segment`` as stacked horizontal bars."""
    rows = _levels(levels, segment)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(rows)))
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for name, colour in CATEGORY_COLOURS.items():
        width = rows[name].fillna(0).to_numpy(float)
        ax.barh(y, width, left=left, color=colour, label=name, height=0.7)
        for yi, l, w in zip(y, left, width):
            if w >= 0.08:
                ax.text(l + w / 2, yi, f"{w:.0%}", ha="center", va="center", fontsize=8,
                        color="black" if name == "passives" else "white")
        left += width
    ax.set_yticks(y, list(rows["level"]))
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    ax.set_xlabel(f"share of responses, by {segment}")
    sns.despine(ax=ax, left=True)
    return ax


def wave_trend(trend: pd.DataFrame, metric: str = "nps", ax: plt.Axes | None = None) -> plt.Axes:
    """A metric per wave as a line with its 95% interval as a band (NPS, or a top-box share)."""
    rows = trend[trend["metric"] == metric]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(len(rows))
    ax.fill_between(x, rows["ci_low"].astype(float), rows["ci_high"].astype(float), color="#1f4e79", alpha=0.2,
                    lw=0, label="95% interval")
    ax.plot(x, rows["value"].astype(float), marker="o", color="#1f4e79", label=metric.upper())
    ax.set_xticks(x, list(rows["wave"]))
    if metric == "nps":
        ax.yaxis.set_major_formatter(NPS_AXIS)
    else:
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("wave")
    ax.set_ylabel(metric.upper() if metric == "nps" else f"{metric.upper()} top box")
    ax.legend(frameon=False)
    sns.despine(ax=ax)
    return ax


def mix_waterfall(mix: dict[str, Any], ax: plt.Axes | None = None) -> plt.Axes:
    """NPS in the first wave, the mix and within parts of the change (each with its 95% interval as an error bar),
    and NPS in the last wave, as a waterfall."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    lv = pd.DataFrame(mix["levels"])
    start = float((lv["share_from"] * lv["nps_from"]).sum())
    steps = [("NPS " + mix["from"], 0.0, start, "#7f7f7f"),
             ("mix (who answered)", start, mix["mix_effect"], "#e39c37"),
             (f"within {mix['by']}", start + mix["mix_effect"], mix["within_effect"], "#4f81bd"),
             ("NPS " + mix["to"], 0.0, start + mix["change"], "#7f7f7f")]
    for i, (label, bottom, height, colour) in enumerate(steps):
        ax.bar(i, height, bottom=bottom, color=colour, width=0.6)
        top = bottom + height
        ax.annotate(f"{100 * height:+.1f}", (i, max(top, bottom)), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=9)
    for i, part in ((1, "mix"), (2, "within")):
        low, high = mix.get(f"{part}_ci_low"), mix.get(f"{part}_ci_high")
        if low is not None and high is not None:
            base = steps[i][1]
            top = base + mix[f"{part}_effect"]
            ax.errorbar(i + 0.18, top, yerr=[[top - (base + low)], [(base + high) - top]], fmt="none",
                        ecolor="black", elinewidth=1, capsize=3)
    ax.set_xticks(range(len(steps)), [s[0] for s in steps])
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(NPS_AXIS)
    ax.set_ylabel("NPS (points; error bars: 95% intervals)")
    ax.set_title("Why NPS moved: mix decomposition")
    sns.despine(ax=ax)
    return ax


def cohort_vs_all(cohort: dict[str, Any], ax: plt.Axes | None = None) -> plt.Axes:
    """The NPS change among all respondents and in the fixed cohort, each with its 95% interval."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.4))
    rows = [("all respondents", cohort["all_respondents"]["diff"], cohort["all_respondents"]["ci_low"],
             cohort["all_respondents"]["ci_high"]),
            (f"same customers (n = {cohort['n']:,})", cohort["change"], cohort["ci_low"], cohort["ci_high"])]
    for y, (label, est, low, high) in zip((1, 0), rows):
        if est is None:
            continue
        err = [[est - low], [high - est]] if low is not None else None
        ax.errorbar([est], [y], xerr=err, fmt="o", color="#1f4e79", capsize=4)
    ax.set_yticks([1, 0], [r[0] for r in rows])
    ax.set_ylim(-0.6, 1.6)
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.xaxis.set_major_formatter(NPS_AXIS)
    ax.set_xlabel(f"NPS change {cohort['from']} to {cohort['to']} (points, 95% interval)")
    sns.despine(ax=ax)
    return ax


def alt_segment(levels: pd.DataFrame, segment: str) -> str:
    """The alt text of :func:`nps_by_segment` and :func:`category_bars` side by side: each level's NPS."""
    rows = _levels(levels, segment)
    parts = [f"{r.level} {fmt.nps(r.value)} ({fmt.nps(r.ci_low)} to {fmt.nps(r.ci_high)})" for r in rows.itertuples()]
    return (f"Left: NPS of each {segment} level with its 95% interval and significance letters; right: the shares "
            f"of detractors, passives and promoters by {segment}. NPS by level: " + "; ".join(parts) + ".")


def alt_trends(trend: pd.DataFrame, metrics: list[str]) -> str:
    """The alt text of the :func:`wave_trend` panels: each metric's value per wave."""
    parts = []
    for m in metrics:
        rows = trend[trend["metric"] == m]
        show = fmt.nps if m == "nps" else fmt.pct
        parts.append(f"{m.upper()}: " + ", ".join(f"{r.wave} {show(r.value)}" for r in rows.itertuples()))
    return "Line charts of each metric per wave with its 95% interval as a band. " + "; ".join(parts) + "."


def alt_mix(mix: dict[str, Any]) -> str:
    """The alt text of :func:`mix_waterfall`."""
    return (f"Waterfall of NPS from wave {mix['from']} to wave {mix['to']}: a change of {fmt.nps(mix['change'])} "
            f"points, of which {_part(mix, 'mix')} from who answered (mix by {mix['by']}) and "
            f"{_part(mix, 'within')} from change within {mix['by']} levels.")


def _part(mix: dict[str, Any], part: str) -> str:
    """A part of the mix split with its interval: "+20.3 (95% CI +18.7 to +21.9)"."""
    return fmt.interval(mix[f"{part}_effect"], mix.get(f"{part}_ci_low"), mix.get(f"{part}_ci_high"), fmt.nps,
                        "95% CI ")


def alt_cohort(cohort: dict[str, Any]) -> str:
    """The alt text of :func:`cohort_vs_all`."""
    return (f"Dot plot of the NPS change from {cohort['from']} to {cohort['to']} with 95% intervals: "
            f"{fmt.nps(cohort['all_respondents']['diff'])} points among all respondents and "
            f"{fmt.nps(cohort['change'])} points among the same {cohort['n']:,} customers.")
