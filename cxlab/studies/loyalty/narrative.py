"""Loyalty in words: the headline, the index figures and the reading of the tests."""
from __future__ import annotations

from ...report import fmt_p
from .analysis import LoyaltyResult
from .spec import LoyaltyStudy


def _tier_phrase(study: LoyaltyStudy, label: str) -> str:
    return f"who rated {label}" if study.experience.tiers is None else f"in the {label} tier"


def headline(result: LoyaltyResult, study: LoyaltyStudy) -> str:
    """The headline in words, from the figures of the first outcome."""
    name = study.outcomes[0]
    o = result.results["outcomes"][name]
    tiers = [t for t in o["tiers"] if t["n"] > 0]
    best, worst = tiers[-1], tiers[0]
    tvb = o["top_vs_bottom"]
    ratio = f"ratio {tvb['ratio']:.1f}" if tvb["ratio"] is not None else "ratio not defined (no one in the worst tier did)"
    return (f"Customers {_tier_phrase(study, best['tier'])} were {best['rate']:.0%} likely to {name}, "
            f"against {worst['rate']:.0%} of those {_tier_phrase(study, worst['tier'])}; {ratio}.")


def headline_figures(result: LoyaltyResult) -> dict[str, dict]:
    """Headline figures for the index: per outcome, the best tier's rate and the odds ratio per point.

    Each figure carries its direction, format and interval half-width (:func:`cxlab.batch.index.figure_spec`).
    """
    out: dict[str, dict] = {}
    for name, o in result.results["outcomes"].items():
        best = [t for t in o["tiers"] if t["n"] > 0][-1:] or [{}]
        out[f"{name}: best-tier rate"] = {"value": o["top_vs_bottom"]["top"], "better": "higher", "format": "pct",
                                          "half_width": _half(best[0].get("ci_low"), best[0].get("ci_high"))}
        logit = o["logit"]
        out[f"{name}: odds ratio per point"] = {"value": logit["odds_ratio"], "better": "higher", "format": "ratio",
                                                "half_width": _half(logit.get("ci_low"), logit.get("ci_high"))}
    return out


def _half(low: float | None, high: float | None) -> float | None:
    return None if low is None or high is None else (high - low) / 2


def interpret(result: LoyaltyResult, study: LoyaltyStudy) -> str:
    """Plain-language reading of the tests and odds ratios, one bullet per outcome."""
    lines = []
    for name, o in result.results["outcomes"].items():
        chi2, trend, logit = o["chi2"], o["trend"], o["logit"]
        parts = []
        if chi2["p"] is not None:
            verdict = "differs" if chi2["p"] < 0.05 else "does not differ significantly"
            parts.append(f"the {name} rate {verdict} between tiers (chi-square {chi2['statistic']:.1f} on "
                         f"{chi2['dof']} df, {fmt_p(chi2['p'])})")
        if trend["z"] is not None:
            direction = "rises" if trend["z"] > 0 else "falls"
            parts.append(f"it {direction} from worst to best tier (trend z = {trend['z']:.2f}, {fmt_p(trend['p'])})")
        if logit["separation"]:
            parts.append("the odds ratio is not reported because the rating separates the outcome perfectly")
        elif logit["odds_ratio"] is not None:
            parts.append(f"each extra rating point multiplies the odds of {name} by {logit['odds_ratio']:.2f} "
                         f"(95% CI {logit['ci_low']:.2f} to {logit['ci_high']:.2f})")
        lines.append(f"- **{name}**: " + "; ".join(parts) + ".")
    return "\n".join(lines)
