"""CX metrics in words: the headline, the index figures, segment differences, wave changes, why NPS moved.

Every number goes through :mod:`cxlab.fmt`; a direction is stated only when its
test is significant (:mod:`cxlab.words`).
"""
from __future__ import annotations

from typing import Any

from ... import fmt
from ...report import half_width
from ...words import direction, significant
from .analysis import NAMES, MetricsResult
from .spec import MetricsStudy


def nps_interval(f: dict[str, Any]) -> str:
    """"+14 (95% CI +13 to +15)"."""
    return fmt.interval(f["nps"], f["ci_low"], f["ci_high"], fmt.nps, level="95% CI ")


def _value(metric: str, f: dict[str, Any]) -> str:
    if metric == "nps":
        return nps_interval(f)
    return fmt.interval(f["top_box"], f["ci_low"], f["ci_high"], fmt.pct)


def _change(c: dict[str, Any], diff: str = "diff") -> str:
    """"+20.5 points (95% CI +17.3 to +23.7; p < 0.001)"."""
    if c["ci_low"] is None:
        return f"{fmt.points(c[diff])} (interval {fmt.UNDEFINED}; {fmt.p_value(c['p'])})"
    return (f"{fmt.points(c[diff])} (95% CI {fmt.nps(c['ci_low'], 1)} to {fmt.nps(c['ci_high'], 1)}; "
            f"{fmt.p_value(c['p'])})")


def why_moved(result: MetricsResult) -> str:
    """Which part moved NPS between the first and the last wave: the mix of who answered, or change within segments."""
    mix = result.results["mix"]
    if mix is None:
        return ""
    by, within_p = mix["by"], mix["within_p"]
    mix = dict(mix, ci_low=mix["within_ci_low"], ci_high=mix["within_ci_high"], p=within_p)
    text = (f"Between {mix['from']} and {mix['to']} NPS changed by {fmt.points(mix['change'])} among the {by} levels "
            f"present in both waves: {fmt.points(mix['mix_effect'])} from the mix of who answered (the shares of "
            f"each {by}) and {_change(mix, 'within_effect')} from change within {by} levels.")
    if significant(within_p) and abs(mix["within_effect"]) >= abs(mix["mix_effect"]):
        verdict = (f"The score moved mainly within {by} levels: customers of the same {by} answered "
                   f"{direction(mix['within_effect'], within_p, 'more favourably', 'less favourably', 'differently')}.")
    elif significant(within_p):
        verdict = "Both parts moved the score; the mix of who answered is the larger part."
    elif abs(mix["mix_effect"]) > abs(mix["within_effect"]):
        verdict = (f"Within {by} levels there is no significant change, so the movement comes from the mix: who "
                   f"answered changed, not how each {by} scores.")
    else:
        verdict = f"Neither part stands out: within {by} levels there is no significant change, and the mix part is small."
    return f"{text} {verdict}"


def cohort_sentence(result: MetricsResult) -> str:
    """The fixed cohort's change beside the change among all respondents."""
    c = result.results["cohort"]
    if c is None:
        return ""
    cohort = _change(c, "change") if c["n"] else fmt.UNDEFINED
    moved = direction(c["change"], c["p"], "rose by", "fell by", "changed by a non-significant")
    return (f"Among the {fmt.plural(c['n'], 'customer')} who answered in both {c['from']} and {c['to']}, NPS went "
            f"from {fmt.nps(c['nps_first'])} to {fmt.nps(c['nps_last'])} and {moved} {cohort}, against "
            f"{_change(c['all_respondents'])} among all respondents.")


def headline(result: MetricsResult, study: MetricsStudy) -> str:
    """The headline: the first metric with its interval, and when there are waves, its change and why."""
    res = result.results
    metric = res["metrics"][0]
    f = res["overall"][metric]
    what = "NPS" if metric == "nps" else f"{NAMES[metric]} top-{getattr(study, metric).top} box"
    text = f"{what} is {_value(metric, f)} over {fmt.plural(f['n'], 'response')}."
    change = res["first_to_last"] if metric == "nps" else None
    if change is not None:
        moved = direction(change["diff"], change["p"], "rose", "fell", "did not change significantly")
        text += f" From {change['from']} to {change['to']} it {moved}: {_change(change)}"
        mix = res["mix"]
        if mix is not None and significant(change["p"]):
            part = ("who answered" if not significant(mix["within_p"])
                    or abs(mix["mix_effect"]) > abs(mix["within_effect"]) else f"change within {mix['by']} levels")
            text += (f", mainly from {part}: mix {fmt.points(mix['mix_effect'])}, "
                     f"within {fmt.points(mix['within_effect'])}")
        text += "."
    return text


def headline_figures(result: MetricsResult) -> dict[str, dict[str, Any]]:
    """Headline figures for the index: each metric overall, the NPS change with its two parts, the cohort change.

    Each figure carries its direction, format and interval half-width
    (:func:`cxlab.batch.index.figure_spec`); the mix effect has no direction
    (a change in who answered is neither better nor worse).
    """
    res = result.results
    out: dict[str, dict[str, Any]] = {}
    for m, f in res["overall"].items():
        out["NPS" if m == "nps" else f"{NAMES[m]} top box"] = {
            "value": f.get("nps", f.get("top_box")), "better": "higher", "format": "nps" if m == "nps" else "pct",
            "half_width": half_width(f["ci_low"], f["ci_high"])}
    if res["first_to_last"] is not None:
        c = res["first_to_last"]
        out["NPS change, first to last wave"] = {"value": c["diff"], "better": "higher", "format": "points",
                                                 "half_width": half_width(c["ci_low"], c["ci_high"])}
    if res["mix"] is not None:
        mix = res["mix"]
        out["mix effect"] = {"value": mix["mix_effect"], "better": None, "format": "points"}
        out["within effect"] = {"value": mix["within_effect"], "better": "higher", "format": "points",
                                "half_width": half_width(mix["within_ci_low"], mix["within_ci_high"])}
    if res["cohort"] is not None:
        out["cohort NPS change"] = {"value": res["cohort"]["change"], "better": "higher", "format": "points",
                                    "half_width": half_width(res["cohort"]["ci_low"], res["cohort"]["ci_high"])}
    return out


def segments(result: MetricsResult) -> str:
    """One bullet per segment and metric: each level with its label and letters, and which levels exceed which."""
    lines = []
    for column, by_metric in result.results["segments"].items():
        for metric, block in by_metric.items():
            rows = result.levels[(result.levels["segment"] == column) & (result.levels["metric"] == metric)]
            label = dict(zip(rows["level"], rows["label"]))
            shown = "; ".join(f"{lv['level']} ({label[lv['level']]}) {_value(metric, lv)}" for lv in block["levels"])
            wins = [f"{lv} exceeds {' and '.join(x for x in label if label[x] in block['letters'][lv])}"
                    for lv in label if block["letters"][lv]]
            verdict = ("; ".join(wins) + " (Holm-adjusted p < 0.05 within the segment)" if wins
                       else "no level differs significantly from another after Holm's adjustment")
            lines.append(f"- **{NAMES[metric]} by {column}**: {shown}. {verdict[0].upper()}{verdict[1:]}.")
    return "\n".join(lines)


def changes(result: MetricsResult) -> str:
    """One bullet per consecutive change of each metric, its direction only when significant."""
    lines = []
    for c in result.results["changes"] or []:
        moved = direction(c["diff"], c["p"], "rose", "fell", "did not change significantly")
        what = "NPS" if c["metric"] == "nps" else f"{NAMES[c['metric']]} top box"
        lines.append(f"- {c['from']} to {c['to']}: {what} {moved}: {_change(c)}.")
    return "\n".join(lines)
