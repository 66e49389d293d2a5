"""Retention in words: the headline, the index figures, the censoring and the reading of tests and models."""
from __future__ import annotations

from ...fmt import number
from ...report import fmt_p
from .analysis import RetentionResult
from .spec import RetentionStudy


def _who(study: RetentionStudy, label: str) -> str:
    return f"who rated {label}" if study.experience.tiers is None else f"in the {label} tier"


def headline(result: RetentionResult, study: RetentionStudy) -> str:
    """The headline in words, from the RMST of the worst and best tiers and the hazard ratio."""
    r = result.results
    unit = r["time_unit"]
    rm = {t["tier"]: t for t in r["rmst"]}
    best, worst = rm[r["best_tier"]], rm[r["worst_tier"]]
    text = (f"Customers {_who(study, worst['tier'])} stayed {worst['rmst']:.1f} {unit} on average over the first "
            f"{r['rmst_tau']:g}, against {best['rmst']:.1f} for those {_who(study, best['tier'])}")
    cox = r["cox"]
    if r["events"] == 0:
        return text + "; no customer churned, so no hazard ratio is defined."
    if cox["hazard_ratio"] is not None:
        pen = " (penalised fit)" if cox["separation"] else ""
        text += (f"; each rating point multiplies the churn hazard by {cox['hazard_ratio']:.2f}{pen} "
                 f"(95% CI {cox['ci_low']:.2f} to {cox['ci_high']:.2f})")
    return text + "."


def headline_figures(result: RetentionResult) -> dict[str, dict]:
    """Headline figures for the index, each with its direction, format, unit and interval half-width."""
    r = result.results
    rm = {t["tier"]: t for t in r["rmst"]}
    cox = r["cox"]

    def half(row: dict) -> float | None:
        low, high = row.get("ci_low"), row.get("ci_high")
        return None if low is None or high is None else (high - low) / 2

    def rmst(tier: str) -> dict:
        return {"value": rm[tier]["rmst"], "better": "higher", "format": "quantity", "unit": r["time_unit"],
                "half_width": half(rm[tier])}
    return {"hazard ratio per point": {"value": cox["hazard_ratio"], "better": "lower", "format": "ratio",
                                       "half_width": half(cox)},
            f"RMST worst tier ({r['worst_tier']})": rmst(r["worst_tier"]),
            f"RMST best tier ({r['best_tier']})": rmst(r["best_tier"])}


def describe_censoring(result: RetentionResult) -> str:
    """One paragraph: how many churned, how many are still active, the follow-up range."""
    c = result.results["censoring"]
    unit = result.results["time_unit"]
    return (f"{c['events']:,} of {c['n']:,} customers churned during follow-up; {c['censored']:,} "
            f"({c['censored_share']:.0%}) were still customers at the end of observation (censored). Follow-up "
            f"ranges from {number(c['followup_min'], 1)} to {number(c['followup_max'], 1)} {unit} (median "
            f"{number(c['followup_median'], 1)}).")


def interpret_tests(result: RetentionResult, study: RetentionStudy) -> str:
    """Plain-language reading of the log-rank tests."""
    r = result.results
    lr = r["logrank"]
    if lr["statistic"] is None:
        return "The log-rank test is not defined here (no events, or a single tier with customers)."
    verdict = "differs" if lr["p"] < 0.05 else "does not differ significantly"
    lines = [f"Retention {verdict} between tiers (log-rank chi-square {lr['statistic']:.1f} on {lr['dof']} df, "
             f"{fmt_p(lr['p'])})."]
    for t in r["pairwise_logrank"]:
        if t["p_holm"] is None:
            continue
        sig = "differs from" if t["p_holm"] < 0.05 else "is not distinguishable from"
        lines.append(f"- Tier {t['tier']} {sig} tier {t['versus']} (Holm-adjusted {fmt_p(t['p_holm'])}).")
    return "\n".join(lines)


def interpret_cox(result: RetentionResult) -> str:
    """Plain-language reading of the Cox model and of the proportional-hazards check."""
    cox = result.results["cox"]
    if cox["hazard_ratio"] is None:
        return "The Cox model is not defined here (no events, or a single rating value)."
    hr = cox["hazard_ratio"]
    change = f"{(1 - hr):.0%} lower" if hr < 1 else f"{(hr - 1):.0%} higher"
    text = (f"Each extra rating point goes with a churn hazard {change} at any moment of the tenure (hazard ratio "
            f"{hr:.2f}, 95% CI {cox['ci_low']:.2f} to {cox['ci_high']:.2f}).")
    if cox["separation"]:
        text += (f" This estimate comes from a penalised refit (ridge penalty {cox['penalizer']}) because the "
                 "unpenalised model has no finite estimate; it is shrunk toward 1.")
    if cox["ph_p"] is not None:
        if cox["ph_p"] < 0.05:
            text += (f"\n\n**Proportional hazards: violated** (Schoenfeld test {fmt_p(cox['ph_p'])}). The effect of "
                     "the rating on churn changes over the tenure - for example strong in the first months and "
                     "fading later - so the single hazard ratio is an average over time. Read the Kaplan-Meier "
                     "curves and the RMST differences, which do not assume proportional hazards.")
        else:
            text += (f"\n\n**Proportional hazards: no evidence of a violation** (Schoenfeld test "
                     f"{fmt_p(cox['ph_p'])}). The rating's effect on churn looks constant over the tenure, so the "
                     "single hazard ratio is a fair summary.")
    return text


def interpret_value(result: RetentionResult, study: RetentionStudy) -> str:
    """The value at stake in words (empty when the study names no ``value_per_period``)."""
    v = result.results.get("value")
    if not v:
        return ""
    unit = result.results["time_unit"]
    g = v["gain_at_best_retention"]
    by = {t["tier"]: t for t in v["tiers"]}
    best, worst = by[result.results["best_tier"]], by[result.results["worst_tier"]]
    text = (f"Over the first {v['tau']:g} {unit}, a customer {_who(study, worst['tier'])} is worth "
            f"{worst['expected_value']:,.0f} in `{v['column']}` on average (95% CI {worst['ci_low']:,.0f} to "
            f"{worst['ci_high']:,.0f}), against {best['expected_value']:,.0f} for one {_who(study, best['tier'])} "
            "(mean time as a customer x mean value per period).")
    if g is not None:
        text += (f" Retained like the best tier, a customer {_who(study, g['tier'])} would bring "
                 f"{g['value']:,.0f} more (95% CI {g['ci_low']:,.0f} to {g['ci_high']:,.0f}), at their own "
                 "value per period: the stake of a better experience in customer lifetime value.")
    return text
