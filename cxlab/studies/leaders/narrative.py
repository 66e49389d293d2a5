"""Leaders in words: the headline, the index figures and the reading of the tests.

Sentences come from small rule functions, each unit-tested with a table
(``tests/test_leaders_inference.py``):

- the headline relies on the company-clustered test (DESIGN 5.3, wave 2), never on the naive Welch test;
- a direction ("grew faster") only when that test is significant (:func:`cxlab.words.direction`);
- the chained figures are the end ratio and the annualised gap, each with its block-bootstrap interval,
  never a ratio of growth rates;
- association words only: the data are observational (:data:`cxlab.words.EFFECT_WORDS`);
- every number through :mod:`cxlab.fmt`.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import pandas as pd

from ... import fmt, words
from ...report import half_width
from .analysis import LeadersResult

CI = "95% CI "


def percentile_words(q: float) -> str:
    """A quantile as a percentile: 0.75 -> "75th percentile", 0.875 -> "87.5th percentile"."""
    x = round(100 * q, 6)
    return f"{fmt.ordinal(int(x)) if x == int(x) else f'{x:g}th'} percentile"


def span_words(periods: list[Mapping[str, Any]]) -> str:
    """The growth span of the period table: "2011-2020" (growth from the first period to the last + 1)."""
    return f"{periods[0]['period']}-{periods[-1]['period'] + 1}"


def comparison_words(s: Mapping[str, Any]) -> str:
    """How leaders grew against laggards, a direction only when the clustered test is significant."""
    if s.get("cluster_p") is None:
        return "cannot be compared with a test to CX laggards"
    return words.direction(s["cluster_diff"], s["cluster_p"], "grew faster than CX laggards",
                           "grew more slowly than CX laggards",
                           "showed no clear difference in growth from CX laggards")


def _ci(low: float | None, high: float | None, bound: Callable[[float | None], str]) -> str:
    """"(95% CI a to b)", or "(interval not defined)"."""
    if low is None or high is None:
        return f"(interval {fmt.UNDEFINED})"
    return f"({CI}{bound(low)} to {bound(high)})"


def _signed(x: float | None) -> str:
    return fmt.points(x).removesuffix(" points")


def diff_words(s: Mapping[str, Any], low: str = "cluster_ci_low", high: str = "cluster_ci_high") -> str:
    """The pooled difference with an interval: "+5.1 points (95% CI +3.8 to +6.5)"."""
    return f"{fmt.points(s['cluster_diff'])} {_ci(s[low], s[high], _signed)}"


def ratio_words(s: Mapping[str, Any]) -> str:
    """The end ratio with its interval: "the leader portfolio ended 1.55 times as large as ... (95% CI ...)"."""
    return (f"from equal starting values the leader portfolio ended {fmt.number(s['end_ratio'], 2)} times as large "
            f"as the laggard portfolio {_ci(s['end_ratio_ci_low'], s['end_ratio_ci_high'], fmt.number)}")


def gap_words(s: Mapping[str, Any]) -> str:
    """The annualised gap with its interval: "an annualised gap of +5.2 points a year (95% CI +3.9 to +6.5)"."""
    return (f"an annualised gap of {fmt.points(s['annualised_gap'])} a year "
            f"{_ci(s['annualised_gap_ci_low'], s['annualised_gap_ci_high'], _signed)}")


def clustered_words(s: Mapping[str, Any]) -> str:
    """The clustered test behind the headline: "company-clustered p < 0.001, 281 companies"."""
    companies = fmt.plural(s.get("n_clusters") or 0, "company", "companies")
    if s.get("cluster_p") is None:
        return f"no clustered test: {companies} in the portfolios, or no spread in growth"
    return f"company-clustered {fmt.p_value(s['cluster_p'])}, {companies}"


def headline(result: LeadersResult) -> str:
    """The headline in words: the clustered test, the end ratio and the annualised gap, each with its interval."""
    s = result.results["summary"]
    return (f"Over {span_words(result.results['periods'])}, CX leaders {comparison_words(s)} ({clustered_words(s)}): "
            f"pooled company-period growth differed by {diff_words(s)}, and {ratio_words(s)}, {gap_words(s)}.")


def headline_figures(result: LeadersResult) -> dict[str, dict]:
    """Headline figures for the index (the clustered test and the chained figures), each with its direction,
    format and interval half-width."""
    s = result.results["summary"]
    return {"end ratio": {"value": s["end_ratio"], "better": "higher", "format": "ratio",
                          "half_width": half_width(s["end_ratio_ci_low"], s["end_ratio_ci_high"])},
            "annualised gap": {"value": s["annualised_gap"], "better": "higher", "format": "points",
                               "half_width": half_width(s["annualised_gap_ci_low"], s["annualised_gap_ci_high"])},
            "clustered difference": {"value": s["cluster_diff"], "better": "higher", "format": "points",
                                     "half_width": half_width(s["cluster_ci_low"], s["cluster_ci_high"])},
            "clustered p": {"value": s["cluster_p"], "format": "p"},
            "companies": {"value": s["n_clusters"], "format": "count"}}


def naive_words(s: Mapping[str, Any], n_company_periods: int) -> str:
    """The naive figures, shown for comparison and said to be naive."""
    if s["welch_t"] is None:
        return "- The naive Welch test cannot be computed (a portfolio has fewer than 2 company-periods or no spread)."
    return (f"- For comparison only, the naive figures treat the {fmt.count(n_company_periods)} pooled "
            f"company-periods as independent: Welch t = {fmt.number(s['welch_t'])} ({fmt.p_value(s['welch_p'])}), "
            f"Hedges' g = {fmt.number(s['hedges_g'])}, row bootstrap interval of the difference from "
            f"{fmt.points(s['diff_ci_low'])} to {fmt.points(s['diff_ci_high'])}. When companies keep much of their growth rate from one period to "
            "the next and the same companies lead period after period, these figures overstate the evidence, so "
            "the headline does not use them.")


def sensitivity_words(rows: list[Mapping[str, Any]]) -> str:
    """How the clustered test fares across the cut-off pairs; directions counted among significant pairs only."""
    pairs = ", ".join(f"{fmt.ordinal(round(100 * r['leader_quantile']))}/"
                      f"{fmt.ordinal(round(100 * r['laggard_quantile']))}" for r in rows)
    sig = [r for r in rows if words.significant(r.get("cluster_p"))]
    up = sum(1 for r in sig if r["cluster_diff"] > 0)
    down = len(sig) - up
    if not sig:
        verdict = "none shows a significant clustered difference"
    else:
        parts = [f"{up} with leaders growing faster"] if up else []
        parts += [f"{down} with leaders growing more slowly"] if down else []
        verdict = (f"{len(sig)} of {len(rows)} show a significant clustered difference ("
                   + " and ".join(parts) + ")")
    return f"- Across the percentile cut-offs {pairs} (leaders/laggards), {verdict}."


def interpret(result: LeadersResult) -> str:
    """Plain-language reading of the clustered test, the naive figures for comparison, and the sensitivity."""
    s = result.results["summary"]
    n_pooled = sum(r["n_leaders"] + r["n_laggards"] for r in result.results["periods"])
    lines = [
        f"- Averaged over periods, leaders grew {fmt.pct(s['leader_mean'], 1, signed=True)} per period and laggards "
        f"{fmt.pct(s['laggard_mean'], 1, signed=True)}, a mean difference over periods of "
        f"{fmt.points(s['period_diff'])} (a description: a test over periods would count the same leading "
        "companies again in every period).",
        "- The headline relies on the company-clustered regression of company-period growth on a leader "
        f"indicator: a difference of {diff_words(s)}, {clustered_words(s)}"
        + (f", t = {fmt.number(s['cluster_t'])} with {fmt.count(s['cluster_df'])} degrees of freedom"
           if s["cluster_t"] is not None else "")
        + ". Resampling whole companies with all their periods (block bootstrap), the difference's 95% interval "
        + (f"runs from {_signed(s['block_ci_low'])} to {fmt.points(s['block_ci_high'])}."
           if s["block_ci_low"] is not None else f"is {fmt.UNDEFINED}."),
        f"- Chained over the periods, {ratio_words(s)}, {gap_words(s)}; both intervals come from the "
        "company block bootstrap.",
        naive_words(s, n_pooled),
    ]
    if s["benchmark_cumulative"] is not None:
        lines.append(f"- The benchmark grew {fmt.pct(s['benchmark_cumulative'], signed=True)} over the same periods.")
    lines.append(sensitivity_words(result.results["sensitivity"]))
    lines.append("- This is an association between CX and later growth, not a causal effect: companies that "
                 "grow may invest in CX, and sector, size or management quality can go with both.")
    return "\n".join(lines)


def _interval_text(low: float | None, high: float | None, bound: Callable[[float | None], str]) -> str:
    return "" if low is None or high is None else f"{bound(low)} to {bound(high)}"


def figures_table(result: LeadersResult) -> pd.DataFrame:
    """The summary as a formatted table: the figures the headline uses first, then the naive ones for comparison."""
    s = result.results["summary"]
    rows = [
        ("pooled difference, company-clustered test", fmt.points(s["cluster_diff"]),
         _interval_text(s["cluster_ci_low"], s["cluster_ci_high"], _signed), fmt.p_value(s["cluster_p"]), "headline"),
        ("pooled difference, company block bootstrap", fmt.points(s["cluster_diff"]),
         _interval_text(s["block_ci_low"], s["block_ci_high"], _signed), "", "headline"),
        ("end ratio (leader / laggard portfolio)", fmt.number(s["end_ratio"]),
         _interval_text(s["end_ratio_ci_low"], s["end_ratio_ci_high"], fmt.number), "", "headline"),
        ("annualised gap", fmt.points(s["annualised_gap"]),
         _interval_text(s["annualised_gap_ci_low"], s["annualised_gap_ci_high"], _signed), "", "headline"),
        ("mean difference over periods", fmt.points(s["period_diff"]), "", "", "description"),
        ("leader / laggard cumulative growth",
         f"{fmt.pct(s['leader_cumulative'], signed=True)} / {fmt.pct(s['laggard_cumulative'], signed=True)}", "", "",
         "description"),
        ("naive Welch test (company-periods independent)", fmt.points(s["cluster_diff"]), "",
         fmt.p_value(s["welch_p"]), "comparison only"),
        ("naive row bootstrap", fmt.points(s["cluster_diff"]),
         _interval_text(s["diff_ci_low"], s["diff_ci_high"], _signed), "", "comparison only"),
        ("naive Hedges' g", fmt.number(s["hedges_g"]), "", "", "comparison only"),
    ]
    if s["benchmark_cumulative"] is not None:
        rows.append(("benchmark cumulative growth", fmt.pct(s["benchmark_cumulative"], signed=True), "", "",
                     "description"))
    return pd.DataFrame(rows, columns=["figure", "estimate", "95% interval", "p", "role"]).set_index("figure")


def sensitivity_table(result: LeadersResult) -> pd.DataFrame:
    """The summary for each cut-off pair, formatted: the clustered test and chained figures, the naive p last."""
    rows = []
    for r in result.results["sensitivity"]:
        rows.append({
            "cut-offs (leaders / laggards)": f"{percentile_words(r['leader_quantile'])} / "
                                             f"{percentile_words(r['laggard_quantile'])}",
            "leaders / laggards (company-periods)": f"{fmt.count(r['n_leaders'])} / {fmt.count(r['n_laggards'])}",
            "difference (clustered 95% CI)": diff_words(r),
            "clustered p": fmt.p_value(r["cluster_p"]),
            "end ratio (95% CI)": f"{fmt.number(r['end_ratio'])} "
                                  f"{_ci(r['end_ratio_ci_low'], r['end_ratio_ci_high'], fmt.number)}",
            "annualised gap (95% CI)": f"{fmt.points(r['annualised_gap'])} "
                                       f"{_ci(r['annualised_gap_ci_low'], r['annualised_gap_ci_high'], _signed)}",
            "naive Welch p": fmt.p_value(r["welch_p"]),
        })
    return pd.DataFrame(rows).set_index("cut-offs (leaders / laggards)")
