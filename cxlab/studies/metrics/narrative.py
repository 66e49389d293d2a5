"""CX metrics in words: the headline, the index figures, segment differences, wave changes, why NPS moved.

Every number goes through :mod:`cxlab.fmt`; a direction is stated only when its
test is significant (:mod:`cxlab.words`).
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ... import fmt
from ...report import half_width
from ...stats.nps import tested_difference
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
    """"+20.5 points (95% CI +17.3 to +23.7; p < 0.001)".

    An NPS difference shows the raw difference (``diff``) while its interval and
    test are centred on the adjusted difference; when the two point different
    ways, the sentence says so.
    """
    if c["ci_low"] is None:
        return f"{fmt.points(c[diff])} (interval {fmt.UNDEFINED}; {fmt.p_value(c['p'])})"
    text = fmt.interval(c[diff], c["ci_low"], c["ci_high"], fmt.points, "95% CI ",
                        bounds=partial(fmt.nps, digits=1))
    tested = c.get("diff_adjusted")
    if tested is not None and c[diff] is not None and (tested > 0) != (c[diff] > 0) and tested != 0:
        text = f"{text[:-1]}, centred on the adjusted difference {fmt.points(tested)})"
    return f"{text[:-1]}; {fmt.p_value(c['p'])})"


def _moved(c: dict[str, Any], rose: str = "rose", fell: str = "fell") -> str:
    """"rose" or "fell" by the sign of the difference the test is about, when the test is significant; else that
    the data cannot tell."""
    return direction(tested_difference(c), c["p"], rose, fell, "the data cannot tell whether it rose or fell")


MAINLY_MIX, MAINLY_WITHIN, CANNOT_TELL = "mix", "within", "cannot tell"


def which_part(mix: dict[str, Any]) -> str:
    """The one rule the headline and the body follow to say which part moved NPS.

    ``MAINLY_MIX`` when the mix part is the larger of the two (in absolute size)
    and its interval excludes 0 (``mix_p`` < 0.05); ``MAINLY_WITHIN`` likewise for
    the within part; otherwise ``CANNOT_TELL``: the larger part's interval
    includes 0 (or is not defined), so the data cannot tell which part moved the
    score, whatever the smaller part's test says.
    """
    if abs(mix["mix_effect"]) > abs(mix["within_effect"]):
        return MAINLY_MIX if significant(mix["mix_p"]) else CANNOT_TELL
    return MAINLY_WITHIN if significant(mix["within_p"]) else CANNOT_TELL


def _part(mix: dict[str, Any], part: str) -> dict[str, Any]:
    """The mix or within part of ``results.mix`` as a difference (``diff``, ``ci_low``, ``ci_high``, ``p``)."""
    return {"diff": mix[f"{part}_effect"], "ci_low": mix[f"{part}_ci_low"], "ci_high": mix[f"{part}_ci_high"],
            "p": mix[f"{part}_p"]}


def why_moved(result: MetricsResult) -> str:
    """Which part moved NPS between the first and the last wave: the mix of who answered, or change within segments.

    The verdict follows :func:`which_part`, as the headline does.
    """
    mix = result.results["mix"]
    if mix is None:
        return ""
    by = mix["by"]
    mixed, within = _part(mix, "mix"), _part(mix, "within")
    text = (f"Between {mix['from']} and {mix['to']} NPS changed by {fmt.points(mix['change'])} among the {by} levels "
            f"present in both waves: {_change(mixed)} from the mix of who answered (the shares of each {by}) and "
            f"{_change(within)} from change within {by} levels (Kitagawa's split).")
    answered = direction(within["diff"], within["p"], "more favourably", "less favourably", "differently")
    verdict = which_part(mix)
    if verdict == MAINLY_MIX:
        also = (f"Customers of the same {by} also answered {answered}, by less."
                if significant(within["p"]) else
                f"Whether customers of the same {by} also answered differently, the data cannot tell: the within "
                "part's interval includes 0.")
        text += (f" The score moved mainly through the mix of who answered: the mix part is the larger and its "
                 f"interval excludes 0. {also}")
    elif verdict == MAINLY_WITHIN:
        also = ("The mix of who answered moved it too, by less."
                if significant(mixed["p"]) else
                "Whether the mix of who answered moved it too, the data cannot tell: the mix part's interval "
                "includes 0.")
        text += (f" The score moved mainly within {by} levels: customers of the same {by} answered {answered}. "
                 f"{also}")
    else:
        larger = "mix" if abs(mix["mix_effect"]) > abs(mix["within_effect"]) else "within"
        text += (f" The data cannot tell which part moved the score: the larger part ({larger}) has an interval "
                 "that includes 0")
        smaller = "within" if larger == "mix" else "mix"
        if significant(mix[f"{smaller}_p"]):
            text += f", and the {smaller} part, whose interval excludes 0, is the smaller"
        text += "."
    return text


def cohort_sentence(result: MetricsResult) -> str:
    """The fixed cohort's change beside the change among all respondents."""
    c = result.results["cohort"]
    if c is None:
        return ""
    cohort = _change(c, "change") if c["n"] else fmt.UNDEFINED
    moved = direction(c["change"], c["p"], "it rose", "it fell", "the data cannot tell whether it rose or fell")
    return (f"Among the {fmt.plural(c['n'], 'customer')} who answered in both {c['from']} and {c['to']}, NPS went "
            f"from {fmt.nps(c['nps_first'])} to {fmt.nps(c['nps_last'])}; {moved}: {cohort}, against "
            f"{_change(c['all_respondents'])} among all respondents.")


def headline(result: MetricsResult, study: MetricsStudy) -> str:
    """The headline: the first metric with its interval, and when there are waves, its change and why.

    Why NPS moved follows :func:`which_part`, as the body does, with both parts' intervals.
    """
    res = result.results
    metric = res["metrics"][0]
    f = res["overall"][metric]
    what = "NPS" if metric == "nps" else f"{NAMES[metric]} top-{getattr(study, metric).top} box"
    text = f"{what} is {_value(metric, f)} over {fmt.plural(f['n'], 'response')}."
    change = res["first_to_last"] if metric == "nps" else None
    if change is not None:
        moved = _moved(change)
        text += f" From {change['from']} to {change['to']} {'it ' if moved in ('rose', 'fell') else ''}{moved}: "
        text += _change(change)
        mix = res["mix"]
        if mix is not None and significant(change["p"]):
            parts = (f"mix {_change(_part(mix, 'mix'))}, within {_change(_part(mix, 'within'))}")
            verdict = which_part(mix)
            if verdict == MAINLY_MIX:
                text += f", mainly from who answered: {parts}"
            elif verdict == MAINLY_WITHIN:
                text += f", mainly from change within {mix['by']} levels: {parts}"
            else:
                text += (f"; the data cannot tell whether who answered or change within {mix['by']} levels moved "
                         f"it more: {parts}")
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
        out["mix effect"] = {"value": mix["mix_effect"], "better": None, "format": "points",
                             "half_width": half_width(mix["mix_ci_low"], mix["mix_ci_high"])}
        out["within effect"] = {"value": mix["within_effect"], "better": "higher", "format": "points",
                                "half_width": half_width(mix["within_ci_low"], mix["within_ci_high"])}
    if res["cohort"] is not None:
        out["cohort NPS change"] = {"value": res["cohort"]["change"], "better": "higher", "format": "points",
                                    "half_width": half_width(res["cohort"]["ci_low"], res["cohort"]["ci_high"])}
    return out


def segments(result: MetricsResult, labels: dict[str, str] | None = None) -> str:
    """One bullet per segment and metric: each level with its label and letters, and which levels exceed which
    (``labels``: the study's labels, naming the segments)."""
    lines = []
    for column, by_metric in result.results["segments"].items():
        name = fmt.label(column, labels=labels) if labels and column in labels else column
        for metric, block in by_metric.items():
            rows = result.levels[(result.levels["segment"] == column) & (result.levels["metric"] == metric)]
            label = dict(zip(rows["level"], rows["label"]))
            shown = "; ".join(f"{lv['level']} ({label[lv['level']]}) {_value(metric, lv)}" for lv in block["levels"])
            wins = [f"{lv} exceeds {' and '.join(x for x in label if label[x] in block['letters'][lv])}"
                    for lv in label if block["letters"][lv]]
            verdict = ("; ".join(wins) + " (Holm-adjusted p < 0.05 within the segment)" if wins
                       else "the data cannot tell the levels apart: no Holm-adjusted p is below 0.05 (the "
                            "intervals are above)")
            lines.append(f"- **{NAMES[metric]} by {fmt.in_sentence(name)}**: {shown}. {verdict[0].upper()}{verdict[1:]}.")
    return "\n".join(lines)


def changes(result: MetricsResult) -> str:
    """One bullet per consecutive change of each metric, its direction only when significant (by the sign of the
    difference its interval and test are about)."""
    lines = []
    for c in result.results["changes"] or []:
        what = "NPS" if c["metric"] == "nps" else f"{NAMES[c['metric']]} top box"
        moved = _moved(c)
        lines.append(f"- {c['from']} to {c['to']}: {what}{' ' if moved in ('rose', 'fell') else ', '}{moved}: "
                     f"{_change(c)}.")
    return "\n".join(lines)
