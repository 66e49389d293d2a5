"""Retention in words: every sentence is built from figures by the small rules below.

Each rule is unit-tested with a table (``tests/test_retention_words.py``) and
follows :mod:`cxlab.words`: a direction only when its test is significant;
association words, never effect words (the data are observational); every
headline figure with its interval; a unit after every time and value; every
number through :mod:`cxlab.fmt`. The headline leads with the robust figure: the
hazard ratio per rating point when the Cox model holds, else the RMST
difference between the worst and the best tier (:func:`lead_figure`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import fmt, words
from ...report import half_width
from ...report import text as md
from .counts import MAX_LEVELS

if TYPE_CHECKING:  # analysis imports the caveat rules from here
    from .analysis import RetentionResult
    from .spec import RetentionStudy


# ---------------------------------------------------------------- names, times and values

def sentence(text: str) -> str:
    """Capitalise the first letter and end with one full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def who(named: bool, label: str) -> str:
    """Customers of a tier: "who rated 1" (one tier per rating) or "in the poor tier" (named tiers)."""
    return f"in the {label} tier" if named else f"who rated {label}"


def _md_who(named: bool, label: str) -> str:
    """:func:`who` for markdown: the label escaped so that data never becomes markup."""
    return f"in the {md(label)} tier" if named else f"who rated {md(label)}"


def time(x: float | None, unit: str) -> str:
    """A time with its unit: "12.3 months"."""
    return fmt.quantity(x, unit, 1)


def span(x: float, unit: str) -> str:
    """A set length of time: "48 months", "77.8 months" (one decimal unless it is a whole number)."""
    return fmt.quantity(x, unit, 0 if float(x).is_integer() else 1)


def window(tau: float, unit: str) -> str:
    """The RMST window: "the first 48 months"."""
    return "the first " + span(tau, unit)


def time_interval(x: float | None, low: float | None, high: float | None, unit: str) -> str:
    """"19.3 months (95% CI 18.4 months to 20.2 months)"."""
    return fmt.interval(x, low, high, lambda v: time(v, unit), "95% CI ")


def with_ci(x: float | None, low: float | None, high: float | None, formatter: Any = fmt.number) -> str:
    """A figure and its interval for use inside brackets: "0.71, 95% CI 0.68 to 0.74"."""
    if low is None or high is None or low != low or high != high:
        return f"{formatter(x)}, interval {fmt.UNDEFINED}"
    return f"{formatter(x)}, 95% CI {formatter(low)} to {formatter(high)}"


def money(x: float | None, unit: str | None) -> str:
    """A value with its unit, whole: "1,160 EUR" ("1,160" without a unit)."""
    return fmt.quantity(x, unit or "", 0)


# ---------------------------------------------------------------- the study's labels

def tier_name(tier: object, study: "RetentionStudy") -> str:
    """A tier as the study's ``labels:`` name it ("Very poor" for rating 1), else as it is."""
    return fmt.label(tier, labels=study.labels) if str(tier) in study.labels else str(tier)


def named_tiers(study: "RetentionStudy", tiers: list[Any]) -> bool:
    """Whether tiers read as names ("in the Very poor tier"): named tiers, or ratings the study's labels name."""
    return study.experience.tiers is not None or any(str(t) in study.labels for t in tiers)


def term_name(term: str, study: "RetentionStudy") -> str:
    """A hazard-ratio term with the study's labels: "channel: phone vs web" -> "Sales channel: Phone vs Website"."""
    labels = study.labels
    if term == "experience (per point)":
        return f"{fmt.label('experience', labels=labels)} (per point)" if "experience" in labels else term
    for covariate in study.covariates:
        if term == f"{covariate} (per unit)":
            return f"{fmt.label(covariate, labels=labels)} (per unit)"
        if term.startswith(f"{covariate}: ") and " vs " in term:
            level, reference = term[len(covariate) + 2:].rsplit(" vs ", 1)
            return (f"{fmt.label(covariate, labels=labels)}: {tier_name(level, study)} vs "
                    f"{tier_name(reference, study)}")
    return term


def labelled(frame: Any, study: "RetentionStudy") -> Any:
    """A copy of a result table (tiers, pairwise tests, hazard ratios, RMST rows) whose tier, versus and term cells
    read as the study's labels, for a table or chart a person reads; the figures stay as they are."""
    if not study.labels:
        return frame
    out = fmt.named(frame, study.labels)
    if "versus" in out.columns:
        out["versus"] = [tier_name(v, study) for v in out["versus"]]
    if "term" in out.columns:
        out["term"] = [term_name(str(v), study) for v in out["term"]]
    return out


# ---------------------------------------------------------------- which figure leads

def lead_figure(events: int, cox: dict[str, Any]) -> str:
    """The headline's figure: "none" without events; "rmst_difference" when the Cox model has no usable
    hazard ratio (separation, undefined) or proportional hazards are violated; else "hazard_ratio"."""
    if events == 0:
        return "none"
    if cox.get("hazard_ratio") is None or cox.get("separation") or cox.get("ph_violated"):
        return "rmst_difference"
    return "hazard_ratio"


# ---------------------------------------------------------------- figures in association words

def hazard_ratio_clause(hr: float | None, low: float | None, high: float | None, p: float | None) -> str:
    """The hazard ratio per rating point with its interval; a direction only when p < 0.05."""
    if hr is None:
        return "the hazard ratio per rating point is not defined"
    figure = f"hazard ratio {with_ci(hr, low, high)}"
    if not words.significant(p):
        return (f"the data cannot tell whether the churn hazard is associated with the rating ({figure}, "
                f"{fmt.p_value(p)})")
    change = words.direction(hr - 1, p, f"{fmt.pct(hr - 1)} higher", f"{fmt.pct(1 - hr)} lower", "")
    return f"each extra rating point goes with a {change} churn hazard ({figure}, {fmt.p_value(p)})"


def rmst_difference_clause(diff: dict[str, Any] | None, tau: float, unit: str, worst: str, best: str) -> str:
    """The RMST difference worst - best with its interval; "less"/"longer" only when p < 0.05.

    ``worst`` and ``best`` are :func:`who` phrases; ``diff`` one of ``results.rmst_difference.tiers``.
    """
    span = window(tau, unit)
    if diff is None or diff.get("p") is None:
        return f"over {span}, the difference in mean time as a customer is not defined"
    figure = f"RMST difference {with_ci(diff['difference'], diff['ci_low'], diff['ci_high'], lambda v: time(v, unit))}"
    d, p = diff["difference"], diff["p"]
    if not words.significant(p):
        return (f"over {span}, the data cannot tell whether customers {worst} and those {best} differ in mean time "
                f"as a customer ({figure}, {fmt.p_value(p)})")
    how = words.direction(d, p, "longer", "less", "")
    return (f"over {span}, customers {worst} stayed {time(abs(d), unit)} {how} on average than those {best} "
            f"({figure}, {fmt.p_value(p)})")


def rmst_pair(worst: dict[str, Any], best: dict[str, Any], worst_who: str, best_who: str, tau: float,
              unit: str) -> str:
    """Mean time as a customer in the worst and best tiers, each with its interval."""
    return (f"customers {worst_who} stayed {time_interval(worst['rmst'], worst['ci_low'], worst['ci_high'], unit)} "
            f"on average over {window(tau, unit)}, against "
            f"{time_interval(best['rmst'], best['ci_low'], best['ci_high'], unit)} for those {best_who}")


def why_rmst(cox: dict[str, Any]) -> str:
    """Why the headline leads with the RMST difference rather than the hazard ratio."""
    if cox.get("separation"):
        return "the Cox model on the rating has no finite estimate, so no hazard ratio is reported"
    if cox.get("ph_violated"):
        return (f"the hazards are not proportional (Schoenfeld test {fmt.p_value(cox['ph_p'])}), so a single "
                "hazard ratio would average a changing association")
    return "the hazard ratio per rating point is not defined"


# ---------------------------------------------------------------- caveats (analysis emits them as warnings)

def tau_capped(requested: float, used: float, tier: str, unit: str) -> str:
    """The RMST window asked for reaches past a tier's data: say both values."""
    return (f"The RMST window asked for, {span(requested, unit)}, reaches past the follow-up of tier {tier}, which "
            f"ends at {span(used, unit)}: the window was capped to {span(used, unit)}, the shortest follow-up of any "
            "tier, so that no RMST, difference or value is extrapolated past a tier's data.")


def horizon_past_followup(tier: str, last: float, horizon: float, unit: str) -> str:
    """A survival horizon past a tier's follow-up."""
    return (f"Tier {tier}'s follow-up ends at {span(last, unit)}, before the horizon of {span(horizon, unit)}: its "
            "survival there is not estimated.")


def ph_violated(ph_p: float) -> str:
    """The proportional-hazards caveat."""
    return (f"Proportional hazards do not hold (Schoenfeld test {fmt.p_value(ph_p)}): the association between the "
            "rating and churn changes over the tenure, so the single hazard ratio is an average over time. The "
            "headline uses the RMST difference, which does not assume proportional hazards.")


def separation(penalizer: float) -> str:
    """The Cox-separation caveat."""
    return ("The Cox model on the rating has no finite estimate (monotone likelihood: at every churn, the customer "
            "who left had the most extreme rating among those still at risk). A refit with a ridge penalty of "
            f"{fmt.number(penalizer, 1)} is reported as a penalised hazard ratio: it is shrunk toward 1 and has no "
            "confidence interval, so read its direction, not its size; the headline uses the RMST difference.")


def row_level(continuous: list[str]) -> str:
    """The note that the adjusted Cox model was fitted on the rows (a continuous covariate)."""
    names = ", ".join(repr(c) for c in continuous)
    which = "covariate " + names + (" is" if len(continuous) == 1 else " are")
    return (f"The adjusted Cox model used the row-level path because {which} continuous (more than "
            f"{MAX_LEVELS} distinct values): its figures need the individual rows. Every other figure comes "
            "from counts per time, tier and covariate pattern, which give the same figures.")


def no_events(n: int) -> str:
    """No churn at all."""
    return (f"No customer churned in the data (0 events among {fmt.plural(n, 'customer')}): survival stays at "
            "100%, medians are not reached, and the log-rank tests and the Cox model are not defined.")


def tier_without_events(tier: str, n: int) -> str:
    """A tier without churn."""
    return (f"No customer in tier {tier} churned ({fmt.plural(n, 'customer')}, all censored): its survival stays "
            "at 100% and its median is not reached.")


# ---------------------------------------------------------------- the report's paragraphs

def _tiers(r: dict[str, Any], study: "RetentionStudy") -> tuple[dict[str, Any], dict[str, Any], str, str, Any]:
    named = named_tiers(study, [t["tier"] for t in r["rmst"]])
    rm = {t["tier"]: t for t in r["rmst"]}
    diff = next((d for d in r["rmst_difference"]["tiers"] if d["tier"] == r["worst_tier"]), None)
    return (rm[r["worst_tier"]], rm[r["best_tier"]], who(named, tier_name(r["worst_tier"], study)),
            who(named, tier_name(r["best_tier"], study)), diff)


def headline(result: "RetentionResult", study: "RetentionStudy") -> str:
    """The headline: the hazard ratio per point, or the RMST difference when that is the robust figure."""
    r = result.results
    unit, tau, cox = r["time_unit"], r["rmst_tau"], r["cox"]
    worst, best, worst_who, best_who, diff = _tiers(r, study)
    lead = lead_figure(r["events"], cox)
    if lead == "none":
        return sentence(rmst_pair(worst, best, worst_who, best_who, tau, unit)
                        + "; no customer churned, so no hazard ratio is defined")
    if lead == "hazard_ratio":
        return sentence(hazard_ratio_clause(cox["hazard_ratio"], cox["ci_low"], cox["ci_high"],
                                            r["cox_detail"]["p"])
                        + "; " + rmst_pair(worst, best, worst_who, best_who, tau, unit))
    return sentence(rmst_difference_clause(diff, tau, unit, worst_who, best_who) + "; " + why_rmst(cox))


def _half(row: dict[str, Any] | None) -> float | None:
    return half_width((row or {}).get("ci_low"), (row or {}).get("ci_high"))


def headline_figures(result: "RetentionResult", labels: dict[str, str] | None = None) -> dict[str, dict]:
    """Headline figures for the index, each with its direction, format, unit and interval half-width.

    ``labels``: the study's labels, naming the worst and best tiers."""
    r = result.results
    labels = labels or {}
    rm = {t["tier"]: t for t in r["rmst"]}
    cox, unit = r["cox"], r["time_unit"]
    diff = next((d for d in r["rmst_difference"]["tiers"] if d["tier"] == r["worst_tier"]), None)

    def rmst(tier: str) -> dict:
        return {"value": rm[tier]["rmst"], "better": "higher", "format": "quantity", "unit": unit,
                "half_width": _half(rm[tier])}
    return {"hazard ratio per point": {"value": cox["hazard_ratio"], "better": "lower", "format": "ratio",
                                       "half_width": _half(cox)},
            "RMST difference, worst - best tier": {  # the unit is in the value: "-25.4 months"
                "value": None if diff is None else diff["difference"], "better": "higher", "format": "quantity",
                "unit": unit, "half_width": _half(diff)},
            f"RMST worst tier ({labels.get(str(r['worst_tier']), r['worst_tier'])})": rmst(r["worst_tier"]),
            f"RMST best tier ({labels.get(str(r['best_tier']), r['best_tier'])})": rmst(r["best_tier"])}


def describe_censoring(result: "RetentionResult") -> str:
    """One paragraph: how many churned, how many are still active, the follow-up range."""
    c = result.results["censoring"]
    unit = result.results["time_unit"]
    return (f"{fmt.count(c['events'])} of {fmt.plural(c['n'], 'customer')} churned during follow-up; "
            f"{fmt.count(c['censored'])} ({fmt.pct(c['censored_share'])}) were still customers at the end of "
            f"observation (censored). Observed times range from {time(c['followup_min'], unit)} to "
            f"{time(c['followup_max'], unit)}; {median_followup(c.get('followup_median_reverse_km'), unit)}.")


def median_followup(x: float | None, unit: str) -> str:
    """The median follow-up (reverse Kaplan-Meier), or why it is not given."""
    if x is None:
        return ("the median follow-up is not estimated (the reverse Kaplan-Meier curve, with the end of "
                "observation as the event, does not fall to 50%)")
    return (f"the median follow-up is {time(x, unit)} (reverse Kaplan-Meier: the end of observation counted as "
            "the event, churn as censoring)")


def pair_verdict(named: bool, tier: str, versus: str, p_holm: float | None) -> str:
    """One pairwise log-rank comparison, with grammar for named tiers and for ratings; a non-significant one is
    "the data cannot tell whether ...", never a statement of no difference."""
    if named:
        claim = f"the {tier} tier differs from the {versus} tier"
    else:
        claim = f"customers who rated {tier} differ from those who rated {versus}"
    if not words.significant(p_holm):
        claim = "the data cannot tell whether " + claim
    return sentence(f"{claim} (Holm-adjusted {fmt.p_value(p_holm)})")


def interpret_tests(result: "RetentionResult", study: "RetentionStudy") -> str:
    """Plain-language reading of the log-rank tests."""
    r = result.results
    lr = r["logrank"]
    if lr["statistic"] is None:
        return "The log-rank test is not defined here (no events, or a single tier with customers)."
    verdict = ("Retention differs between tiers" if words.significant(lr["p"]) else
               "The data cannot tell whether retention differs between tiers")
    lines = [f"{verdict} (log-rank chi-square {fmt.number(lr['statistic'], 1)} on "
             f"{fmt.plural(lr['dof'], 'degree')} of freedom, {fmt.p_value(lr['p'])})."]
    named = named_tiers(study, [t["tier"] for t in r["rmst"]])
    lines += ["- " + pair_verdict(named, md(tier_name(t["tier"], study)), md(tier_name(t["versus"], study)),
                                  t["p_holm"]) for t in r["pairwise_logrank"] if t["p_holm"] is not None]
    return "\n".join(lines)


def ph_shape(hr: float | None, p: float | None, trend: float) -> str:
    """How the hazard ratio per rating point changes over the tenure, from the sign of the PH test's trend.

    ``trend`` > 0: the log hazard ratio rises with time. When the hazard ratio itself is significant, the
    change is read against 1: toward 1 (the association weakens) or away from it (it strengthens);
    otherwise only "rises" / "falls"."""
    rises = trend > 0
    if hr is None or not words.significant(p) or hr == 1:
        return "the hazard ratio per rating point " + ("rises" if rises else "falls") + " over the tenure"
    toward = rises == (hr < 1)
    return ("the hazard ratio per rating point moves " + ("toward" if toward else "away from")
            + " 1 over the tenure: the association " + ("weakens" if toward else "strengthens"))


def split_figures(split: dict[str, Any] | None, unit: str) -> str:
    """The time-split hazard ratios as a sentence ("" when either is undefined): "Fitted separately, the hazard
    ratio per rating point is 0.69 (95% CI 0.65 to 0.73) for churns up to 12.4 months of tenure and ... after."."""
    if not split or split["early"]["hazard_ratio"] is None or split["late"]["hazard_ratio"] is None:
        return ""
    early, late = split["early"], split["late"]

    def hr(x: dict[str, Any]) -> str:
        return fmt.interval(x["hazard_ratio"], x["ci_low"], x["ci_high"], fmt.number, "95% CI ")
    return (f"Fitted separately, the hazard ratio per rating point is {hr(early)} for churns up to "
            f"{time(split['split'], unit)} of tenure and {hr(late)} for churns after.")


def ph_paragraph(ph_p: float | None, violated: bool, hr: float | None = None, p: float | None = None,
                 trend: float | None = None, split: dict[str, Any] | None = None, unit: str = "months") -> str:
    """The proportional-hazards check in words.

    A violation is described by the shape the data show (:func:`ph_shape` from the test's trend, with the
    time-split hazard ratios, :func:`cxlab.stats.cox.time_split`, as figures; when the two halves do not
    show the trend, that is said). No violation is not read as constancy: the data cannot tell.
    """
    if ph_p is None:
        return ""
    if violated:
        text = f"**Proportional hazards: violated** (Schoenfeld test {fmt.p_value(ph_p)})."
        if trend is not None and trend == trend and trend != 0:
            figures = split_figures(split, unit)
            text += " " + sentence(ph_shape(hr, p, trend)) + (" " + figures if figures else "")
            if figures and (split["late"]["hazard_ratio"] > split["early"]["hazard_ratio"]) != (trend > 0):
                text += (" The hazard ratios before and after the median churn time do not show this trend: the "
                         "change is not a steady one.")
        return (text + " The single hazard ratio is an average over time. Read the Kaplan-Meier curves and the "
                "RMST differences, which do not assume proportional hazards.")
    return (f"**Proportional hazards: not rejected** (Schoenfeld test {fmt.p_value(ph_p)}). The data cannot tell "
            "whether the association between the rating and churn changes over the tenure; the single hazard "
            "ratio summarises it on the assumption that it does not.")


def interpret_cox(result: "RetentionResult") -> str:
    """Plain-language reading of the Cox model and of the proportional-hazards check."""
    cox, detail = result.results["cox"], result.results["cox_detail"]
    if cox["separation"] and cox["penalised_hazard_ratio"] is not None:
        text = (f"The Cox model on the rating has no finite estimate. A penalised refit (ridge penalty "
                f"{fmt.number(cox['penalizer'], 1)}) gives a penalised hazard ratio of "
                f"{fmt.number(cox['penalised_hazard_ratio'])} per rating point: a description shrunk toward 1, "
                "with no confidence interval. Read the RMST differences for the size of the gap.")
    elif cox["hazard_ratio"] is None:
        return "The Cox model is not defined here (no events, or a single rating value)."
    else:
        text = sentence(hazard_ratio_clause(cox["hazard_ratio"], cox["ci_low"], cox["ci_high"], detail["p"]))
    ph = "" if cox["separation"] else ph_paragraph(cox["ph_p"], cox["ph_violated"], cox["hazard_ratio"], detail["p"],
                                                   detail.get("ph_trend"), result.results.get("cox_time_split"),
                                                   result.results["time_unit"])
    return text + ("\n\n" + ph if ph else "")


def interpret_value(result: "RetentionResult", study: "RetentionStudy") -> str:
    """The value at stake in words (empty when the study names no ``value_per_period``)."""
    v = result.results.get("value")
    if not v:
        return ""
    r = result.results
    unit, vu = r["time_unit"], v["value_unit"]
    named = named_tiers(study, [t["tier"] for t in v["tiers"]])
    by = {t["tier"]: t for t in v["tiers"]}

    def who(named: bool, tier: Any) -> str:  # tier labels in this markdown paragraph are escaped
        return _md_who(named, tier_name(tier, study))
    worst, best = by[r["worst_tier"]], by[r["best_tier"]]

    discounted = v.get("discounted_basis") is not None      # the study's discount_rate: discounted figures
    pre = "discounted_" if discounted else ""

    def val(x: dict[str, Any], key: str = "expected_value") -> str:
        key = f"discounted_{'value' if key in ('value', 'expected_value') else key}" if discounted else key
        return fmt.interval(x[key], x[f"{pre}ci_low"], x[f"{pre}ci_high"], lambda y: money(y, vu), "95% CI ")

    basis = f"mean time as a customer times mean {md(v['column'])} per {unit[:-1]}"
    if discounted:
        basis = (f"mean time as a customer, each month discounted, times mean {md(v['column'])} per {unit[:-1]}; "
                 "the interval includes the uncertainty of the mean value")
    text = (f"{sentence(v[pre + 'basis'])[:-1]} ({basis}): a customer {who(named, worst['tier'])} accounts for "
            f"{val(worst)} on average, against {val(best)} for one {who(named, best['tier'])}.")
    g = v["gain_at_best_retention"]
    if g is not None:
        text += (f" If the experience were the cause of the difference in retention between customers "
                 f"{who(named, g['tier'])} and those {who(named, g['versus'])}, that difference would be worth "
                 f"{val(g, 'value')} per customer {who(named, g['tier'])}, {v[pre + 'basis']}.")
        diff = next((d for d in r["rmst_difference"]["tiers"] if d["tier"] == g["tier"]), None)
        if diff is not None and not words.significant(diff["p"]):
            text += (" The data cannot tell whether retention itself differs between these tiers (RMST difference "
                     f"{with_ci(diff['difference'], diff['ci_low'], diff['ci_high'], lambda y: time(y, unit))}, "
                     f"{fmt.p_value(diff['p'])}).")
        text += " These are observational data: they show an association with the experience, not its cause."
    return text
