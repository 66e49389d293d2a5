"""Sentences of the value report, built from its figures by tested rules: a direction only when its test is
significant; association, never effect, unless the study says the data come from an experiment."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from ... import fmt, words
from ...report import half_width

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import ValueResult
    from .spec import ValueStudy

_money = partial(fmt.number, digits=0)


def money(x: float | None, unit: str | None) -> str:
    """A value with its unit ("1,234 EUR"), or the bare number without one."""
    return fmt.quantity(x, unit or "", digits=0)


def money_interval(x: float | None, low: float | None, high: float | None, unit: str | None) -> str:
    """"85 EUR (61 to 106)": a value with its 95% interval."""
    text = fmt.interval(x, low, high, formatter=_money)
    return f"{text.split(' (')[0]} {unit} ({text.split(' (', 1)[1]}" if unit and " (" in text else text


NO_BOOTSTRAP = "no bootstrap was run (resamples: 0)"


def group_name(group: object, labels: dict[str, str] | None = None) -> str:
    """An experience group as the study's ``labels:`` name it, as written inside a sentence ("promoter" with
    ``promoter: Promoters`` reads "promoters")."""
    return fmt.in_sentence(fmt.label(group, labels=labels)) if labels and str(group) in labels else str(group)


def labelled(frame: pd.DataFrame, labels: dict[str, str] | None) -> pd.DataFrame:
    """A copy of a table with a ``group`` column whose groups read as the study's labels (for a table or chart a
    person reads; the figures stay as they are)."""
    if not labels or "group" not in frame.columns:
        return frame
    out = frame.copy()
    out["group"] = [fmt.label(g, labels=labels) if str(g) in labels else g for g in out["group"]]
    return out


def bootstrapped(r: dict) -> bool:
    """Whether the study ran its bootstrap (``resamples`` > 0), the source of every interval and test."""
    return bool(r.get("bootstrap", {}).get("resamples"))


def _worth(x: float | None, low: float | None, high: float | None, r: dict) -> str:
    """A value with its interval, or without a bootstrap the value alone and why it has none."""
    if not bootstrapped(r):
        return f"{money(x, r['value_unit'])} (no interval: {NO_BOOTSTRAP})"
    return money_interval(x, low, high, r["value_unit"])


def _caution(r: dict) -> str:
    if r["experiment"]:
        return "the data come from an experiment, so the difference can be read as the effect of the experience"
    return ("the data are observational: this is an association with the experience, not its effect (customers "
            "who have a better experience may differ in other ways)")


def headline(result: "ValueResult", study: "ValueStudy") -> str:
    """One sentence: the best and the worst group's mean CLV with intervals, and their difference with its test."""
    r = result.results
    unit = r["value_unit"]
    g = {x["group"]: x for x in r["groups"]}
    best, worst, diff = g[r["best_group"]], g[r["worst_group"]], r["difference"]
    labels = getattr(study, "labels", None)
    best_name, worst_name = group_name(r["best_group"], labels), group_name(r["worst_group"], labels)
    figures = (f"Over {fmt.plural(r['horizon'], 'month')}, {best_name} customers are worth "
               f"{money_interval(best['mean_clv'], best['ci_low'], best['ci_high'], unit)} each and "
               f"{worst_name} customers {money_interval(worst['mean_clv'], worst['ci_low'], worst['ci_high'], unit)}")
    gap = money_interval(diff["difference"], diff["ci_low"], diff["ci_high"], unit)
    if not bootstrapped(r):
        return (f"Over {fmt.plural(r['horizon'], 'month')}, {best_name} customers are worth "
                f"{money(best['mean_clv'], unit)} each and {worst_name} customers "
                f"{money(worst['mean_clv'], unit)}, a difference of {money(diff['difference'], unit)}; "
                f"{NO_BOOTSTRAP}, so these figures have no interval and the difference no test.")
    if not words.significant(diff["p"]):
        return (f"{figures}; the data cannot tell whether the two groups differ in value (difference {gap}, "
                f"{p_text(diff, r)}).")
    kind = ("in an experiment" if r["experiment"] else
            "an association with the experience, not its measured effect")
    return f"{figures}: a difference of {gap}, {p_text(diff, r)}; {kind}."


def p_text(diff: dict, r: dict) -> str:
    """The bootstrap p-value; at its floor (no resampled difference on the other side of 0) "p <= floor"."""
    p = diff.get("p")
    floor = 2 / (r["bootstrap"]["resamples"] + 1) if r.get("bootstrap", {}).get("resamples") else None
    if p is not None and floor is not None and p <= floor + 1e-12:
        return f"p \u2264 {fmt.p_value(p, bare=True)} (no resample crossed 0)"
    return fmt.p_value(p)


def headline_figures(result: "ValueResult", labels: dict[str, str] | None = None) -> dict[str, dict]:
    """Headline figures for the index, each with its direction, format, unit and interval half-width; ``labels``:
    the study's labels, naming the best and worst groups."""
    r = result.results
    name = {k: fmt.label(k, labels=labels) if labels and str(k) in labels else k
            for k in (r["best_group"], r["worst_group"])}
    unit = r["value_unit"] or ""
    g = {x["group"]: x for x in r["groups"]}

    def value(x: dict, key: str = "mean_clv") -> dict:
        return {"value": x[key], "better": "higher", "format": "quantity", "unit": unit, "digits": 0,  # as _money
                "half_width": half_width(x["ci_low"], x["ci_high"])}
    d = r["difference"]
    return {f"CLV, best group ({name[r['best_group']]})": value(g[r["best_group"]]),
            f"CLV, worst group ({name[r['worst_group']]})": value(g[r["worst_group"]]),
            "CLV difference, best - worst": value(d, "difference"),
            "value at stake": value(r["value_at_stake"], "value")}


def interpret_groups(result: "ValueResult", labels: dict[str, str] | None = None) -> str:
    """The difference best minus worst with its test and interval, in words; never 'no difference'. ``labels``:
    the study's labels, naming the groups."""
    r = result.results
    d, unit = r["difference"], r["value_unit"]
    d = {**d, "best": group_name(d["best"], labels), "worst": group_name(d["worst"], labels)}
    gap = money_interval(d["difference"], d["ci_low"], d["ci_high"], unit)
    if not bootstrapped(r):
        return (f"Over {fmt.plural(r['horizon'], 'month')}, the mean CLV of {d['best']} customers is "
                f"{money(d['difference'], unit)} above that of {d['worst']} customers; {NO_BOOTSTRAP}, so the "
                "difference has no interval and no test, and these data alone cannot say how far chance explains "
                "it. " + _caution(r)[0].upper() + _caution(r)[1:] + ".")
    claim = words.direction(d["difference"], d["p"], "are worth more than", "are worth less than",
                            "cannot be told apart in value from")
    text = (f"Over {fmt.plural(r['horizon'], 'month')}, {d['best']} customers {claim} {d['worst']} customers: "
            f"the difference in mean CLV is {gap} ({p_text(d, r)}, customer bootstrap with "
            f"{fmt.count(r['bootstrap']['resamples'])} refits of both models). ")
    if not words.significant(d["p"]):
        text = (f"The data cannot tell whether {d['best']} and {d['worst']} customers differ in value over "
                f"{fmt.plural(r['horizon'], 'month')}: the difference in mean CLV is {gap} "
                f"({p_text(d, r)}). ")
    return text + _caution(r)[0].upper() + _caution(r)[1:] + "."


def interpret_roi(result: "ValueResult", labels: dict[str, str] | None = None) -> str:
    """Value at stake and the ROI scenario, each with its interval, stated as an association unless an experiment.
    ``labels``: the study's labels, naming the groups."""
    r = result.results
    s, roi = r["value_at_stake"], r["roi"]
    verb = "would be worth" if r["experiment"] else "goes with"
    return (f"**Value at stake.** If every customer below the best group had the best group's mean CLV, the "
            f"{fmt.count(s['customers'])} customers concerned would be worth "
            f"{_worth(s['value'], s['ci_low'], s['ci_high'], r)} more over "
            f"{fmt.plural(r['horizon'], 'month')}.\n\n"
            f"**Scenario.** If {fmt.pct(roi['share'])} of the {group_name(r['worst_group'], labels)} customers "
            f"({fmt.number(roi['customers'], 0)}) had the experience of the {group_name(r['best_group'], labels)} "
            "customers, that "
            f"{verb} {_worth(roi['value'], roi['ci_low'], roi['ci_high'], r)} over the horizon"
            + ("." if r["experiment"] else
               ", if the difference in value were caused by the experience; these data show an association only, so "
               "read it as the value at stake, not as a promised return."))


def interpret_holdout(result: "ValueResult") -> str:
    """How the BG/NBD predicted the holdout period, in one paragraph."""
    h = result.results["holdout"]
    if not h:
        return ("No holdout period was set (`holdout_from`), so the model's predictions are not checked against "
                "later purchases.")
    gap = (h["predicted_total"] - h["actual_total"]) / h["actual_total"] if h["actual_total"] else None
    return (f"Fitted on purchases before {h['from']}, the models predicted {fmt.number(h['predicted_total'], 0)} "
            f"repeat purchases in the {fmt.number(h['weeks'], 1)} weeks that followed for "
            f"{fmt.count(h['customers'])} customers; {fmt.number(h['actual_total'], 0)} happened "
            f"({fmt.pct(gap, 1, signed=True)} off). The table compares them by purchases in the calibration period.")


def describe_data(result: "ValueResult") -> str:
    """One paragraph: customers, transactions, purchases (days), repeaters, observation end."""
    r = result.results
    text = (f"{fmt.count(r['n_customers'])} customers made {fmt.count(r['n_transactions'])} transactions on "
            f"{fmt.count(r['n_purchases'])} purchase days up to {r['observation_end']} (transactions of a customer "
            f"on the same day count as one purchase); {fmt.count(r['n_repeaters'])} bought again after their first "
            "purchase.")
    if r["dropped_nonpositive"]:
        text += f" {fmt.count(r['dropped_nonpositive'])} transactions with an amount of zero or less were left out."
    return text
