"""Loyalty in words: the headline, the index figures and the reading of the tests.

Every sentence is assembled from small rules, each unit-tested on a table of
cases (``tests/test_loyalty_narrative.py``): a direction of trend only when the
trend test is significant; odds ratios as associations, never effects; every
headline figure with its interval; numbers through :mod:`cxlab.fmt`.
"""
from __future__ import annotations

from typing import Any, Optional

from ... import fmt, words
from ...report import half_width
from ...report import text as md
from .analysis import LoyaltyResult
from .spec import LoyaltyStudy

VERBS: dict[str, tuple[str, str, str]] = {
    "repurchase": ("repurchased", "repurchasing", "repurchase rate"),
    "recommend": ("recommended", "recommending", "recommendation rate"),
    "retain": ("were retained", "being retained", "retention rate"),
    "refer": ("referred someone", "referring someone", "referral rate"),
    "renew": ("renewed", "renewing", "renewal rate"),
    "return": ("returned", "returning", "return rate"),
    "stay": ("stayed", "staying", "share who stayed"),
    "buy": ("bought again", "buying again", "repeat-purchase rate"),
    "purchase": ("purchased", "purchasing", "purchase rate"),
    "upgrade": ("upgraded", "upgrading", "upgrade rate"),
    "subscribe": ("subscribed", "subscribing", "subscription rate"),
    "churn": ("churned", "churning", "churn rate"),
    "cancel": ("cancelled", "cancelling", "cancellation rate"),
    "complain": ("complained", "complaining", "complaint rate"),
}
"""Outcome name -> (what a customer did, the gerund, the rate's name): "87% repurchased", "the odds of
recommending", "the retention rate". Other names read "the <name> rate" and "the odds of <name>"."""


def outcome_verbs(name: str) -> Optional[tuple[str, str, str]]:
    """The outcome as (past, gerund, rate name) when its name is a known loyalty verb, else None."""
    return VERBS.get(name.strip().lower().replace("_", " "))


def rate_name(name: str, shown: str | None = None) -> str:
    """"the retention rate" for ``retain``; "the <name> rate" for a name that is not a known verb (``shown``:
    the outcome's label, read instead of its name)."""
    verbs = outcome_verbs(name)
    return f"the {verbs[2]}" if verbs else f"the {fmt.in_sentence(shown) if shown else name} rate"


def tier_phrase(label: str, named: bool) -> str:
    """Who is in a tier: "who rated 5" (one tier per rating) or "in the great tier" (named tiers)."""
    return f"in the {label} tier" if named else f"who rated {label}"


def tier_name(label: str, named: bool) -> str:
    """A tier as a subject: "the poor tier" or "rating 1"."""
    return f"the {label} tier" if named else f"rating {label}"


def rate_with_interval(tier: dict[str, Any]) -> str:
    """A tier's rate with its interval: "87% (86% to 88%)"."""
    return fmt.interval(tier["rate"], tier["ci_low"], tier["ci_high"])


def comparison(name: str, best: dict[str, Any], worst: dict[str, Any], named: bool, weighted: bool = False,
               shown: str | None = None) -> str:
    """The best tier against the worst, each rate with its interval, as one sentence (``shown``: the
    outcome's label)."""
    hi, lo = rate_with_interval(best), rate_with_interval(worst)
    verbs = outcome_verbs(name)
    note = " (weighted shares)" if weighted else ""
    if verbs:
        return (f"{hi} of customers {tier_phrase(best['tier'], named)} {verbs[0]}, against {lo} of those "
                f"{tier_phrase(worst['tier'], named)}{note}.")
    rate = rate_name(name, shown)
    return (f"{rate[0].upper()}{rate[1:]} was {hi} among customers {tier_phrase(best['tier'], named)}, against {lo} "
            f"among those {tier_phrase(worst['tier'], named)}{note}.")


def relied_p(chi2: dict[str, Any]) -> tuple[Optional[float], str]:
    """The association p-value the report relies on, and its name.

    The Monte Carlo permutation p when an expected count is below 5 and it was
    computed; the Rao-Scott F p with sampling weights; else the chi-square p.
    """
    if chi2.get("small_expected") and chi2.get("mc_p") is not None:
        return chi2["mc_p"], "Monte Carlo permutation"
    if chi2.get("dof2") is not None:
        return chi2["p"], "Rao-Scott F"
    return chi2.get("p"), "chi-square"


def statistic_phrase(chi2: dict[str, Any]) -> str:
    """The test in brackets: "chi-square 12.3 on 4 df, p < 0.001", "Rao-Scott F = 3.03 on 3.9 and 136 df, ..."."""
    p, source = relied_p(chi2)
    if chi2.get("dof2") is not None:
        text = (f"Rao-Scott F = {fmt.number(chi2['statistic'], 2)} on {fmt.number(chi2['dof'], 1)} and "
                f"{fmt.number(chi2['dof2'], 1)} df, {fmt.p_value(p)}")
        return text + ("; some expected counts are below 5, so this p is approximate" if chi2.get("small_expected")
                       else "")
    text = f"chi-square {fmt.number(chi2['statistic'], 1)} on {chi2['dof']} df"
    if source == "Monte Carlo permutation":
        return (f"{text}; some expected counts are below 5, so the Monte Carlo permutation p is used: "
                f"{fmt.p_value(p)}, against {fmt.p_value(chi2['p'])} from the chi-square approximation")
    if chi2.get("small_expected"):
        return f"{text}, {fmt.p_value(p)}, approximate: some expected counts are below 5"
    return f"{text}, {fmt.p_value(p)}"


def association_sentence(name: str, chi2: dict[str, Any], tested: list[str], named: bool,
                         shown: str | None = None) -> str:
    """Whether the rate differs between the tested (non-empty) tiers, with the p-value relied on."""
    p, _ = relied_p(chi2)
    rate = rate_name(name, shown)
    if chi2.get("statistic") is None or p is None:
        return f"{rate} cannot be compared between tiers (one outcome value, or one tier with data)"
    if len(tested) == 2:
        a, b = tier_name(tested[0], named), tier_name(tested[-1], named)
        verdict = "differs" if words.significant(p) else "does not differ significantly"
        return f"{a} {verdict} from {b} in its {rate[4:]} ({statistic_phrase(chi2)})"
    verdict = "differs" if words.significant(p) else "does not differ significantly"
    return f"{rate} {verdict} between tiers ({statistic_phrase(chi2)})"


def trend_sentence(name: str, trend: dict[str, Any], shown: str | None = None) -> str:
    """A direction of trend only when the trend test is significant; "no evidence of a trend" otherwise."""
    if trend.get("z") is None:
        return f"the trend in {rate_name(name, shown)} cannot be estimated"
    stats = f"trend z = {fmt.number(trend['z'], 2)}, {fmt.p_value(trend['p'])}"
    rate = rate_name(name, shown)
    said = words.direction(trend["z"], trend["p"], f"{rate} rises from the worst to the best tier",
                           f"{rate} falls from the worst to the best tier",
                           f"there is no evidence of a trend in {rate} across tiers")
    return f"{said} ({stats})"


def odds_sentence(name: str, logit: dict[str, Any], constant: bool, shown: str | None = None) -> str:
    """The odds ratio per rating point as an association with its interval; no "infinite" odds ratio."""
    shown = fmt.in_sentence(shown) if shown else name
    if constant:
        return (f"every customer with a recorded {shown} had the same outcome, so there is no odds ratio to "
                "estimate")
    if logit["separation"]:
        return ("no odds ratio is reported: the rating separates the outcome (on one side of a rating every "
                "customer had the same outcome), so it has no finite estimate")
    if logit["odds_ratio"] is None:
        return "no odds ratio can be estimated (the ratings do not vary)"
    verbs = outcome_verbs(name)
    subject = f"the odds of {verbs[1]}" if verbs else f"the odds of {shown}"
    low, high = logit["ci_low"], logit["ci_high"]
    text = (f"{subject} are {fmt.number(logit['odds_ratio'], 2)} times as high per rating point "
            f"(95% CI {fmt.number(low, 2)} to {fmt.number(high, 2)}")
    return text + (", compatible with no association)" if low <= 1 <= high else ")")


def _constant(o: dict[str, Any]) -> bool:
    counts = sum(t["count"] for t in o["tiers"])
    return counts == 0 or counts == sum(t["n"] for t in o["tiers"])


def headline(result: LoyaltyResult, study: LoyaltyStudy) -> str:
    """The headline: the first outcome's best tier against its worst, each rate with its interval."""
    name = study.outcomes[0]
    o = result.results["outcomes"][name]
    tiers = [_tier_labelled(t, study) for t in o["tiers"] if t["rate"] is not None]
    return comparison(name, tiers[-1], tiers[0], _named(study, o["tiers"]),
                      result.results.get("weight") == "sampling", study.labels.get(name))


def _named(study: LoyaltyStudy, tiers: list[dict[str, Any]]) -> bool:
    """Whether tiers read as names ("in the great tier"): named tiers, or ratings the study's labels name."""
    return study.experience.tiers is not None or any(str(t["tier"]) in study.labels for t in tiers)


def _tier_labelled(tier: dict[str, Any], study: LoyaltyStudy) -> dict[str, Any]:
    """A tier row with its name as the study's labels give it."""
    return {**tier, "tier": study.labels.get(str(tier["tier"]), tier["tier"])}


def headline_figures(result: LoyaltyResult, labels: dict[str, str] | None = None) -> dict[str, dict]:
    """Headline figures for the index: per outcome, the best tier's rate and the odds ratio per point.

    Each figure carries its direction, format and interval half-width (:func:`cxlab.batch.index.figure_spec`);
    ``labels``: the study's labels, naming the outcomes.
    """
    out: dict[str, dict] = {}
    for key, o in result.results["outcomes"].items():
        name = fmt.label(key, labels=labels) if labels and key in labels else key
        best = [t for t in o["tiers"] if t["n"] > 0][-1:] or [{}]
        out[f"{name}: best-tier rate"] = {"value": o["top_vs_bottom"]["top"], "better": "higher", "format": "pct",
                                          "half_width": half_width(best[0].get("ci_low"), best[0].get("ci_high"))}
        logit = o["logit"]
        out[f"{name}: odds ratio per point"] = {"value": logit["odds_ratio"], "better": "higher", "format": "ratio",
                                                "half_width": half_width(logit.get("ci_low"), logit.get("ci_high"))}
    return out


def interpret(result: LoyaltyResult, study: LoyaltyStudy) -> str:
    """Plain-language reading of the tests and odds ratios, one bullet per outcome."""
    lines = []
    for name, o in result.results["outcomes"].items():
        named = _named(study, o["tiers"])
        tested = [md(_tier_labelled(t, study)["tier"]) for t in o["tiers"] if t["rate"] is not None]
        used = f"{fmt.plural(o['n_used'], 'row')} used"
        if o["n_dropped"]:
            used += f", {fmt.count(o['n_dropped'])} without a rating, this outcome or a weight left out"
        shown = md(study.labels[name]) if name in study.labels else None
        parts = [association_sentence(md(name), o["chi2"], tested, named, shown),
                 trend_sentence(md(name), o["trend"], shown), odds_sentence(md(name), o["logit"], _constant(o), shown)]
        text = "; ".join(parts)
        lines.append(f"- **{shown or md(name)}** ({used}): {text[0].upper()}{text[1:]}.")
    return "\n".join(lines)
