"""Leaders in words: the headline, the index figures and the reading of the tests.

Sentences come from small rule functions, each unit-tested with a table
(``tests/test_leaders_inference.py``):

- the headline relies on the company-clustered test (DESIGN 5.3, wave 2), never on the naive Welch test; with two
  or more sectors, on that test of growth relative to the sector-period mean (``adjusted_*``, issue 20), the pooled
  figures then being a description;
- a direction ("grew faster") only when that test is significant (:func:`cxlab.words.direction`); otherwise the
  data cannot tell, and the interval says how large a difference they leave open;
- "annualised" and "a year" only when the study's ``period_unit`` is a year ("per quarter" otherwise);
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
from .inference import ADJUSTED_KEYS

CI = "95% CI "


def percentile_words(q: float) -> str:
    """A quantile as a percentile: 0.75 -> "75th percentile", 0.875 -> "87.5th percentile"."""
    x = round(100 * q, 6)
    return f"{fmt.ordinal(int(x)) if x == int(x) else f'{x:g}th'} percentile"


def span_words(periods: list[Mapping[str, Any]]) -> str:
    """The growth span of the period table: "2011-2020" (growth from the first period to the last + 1)."""
    return f"{periods[0]['period']}-{periods[-1]['period'] + 1}"


def unit_of(result: LeadersResult) -> str:
    """The study's period unit (``year`` unless the study file names another)."""
    return result.results.get("period_unit") or "year"


def headline_view(s: Mapping[str, Any]) -> dict[str, Any]:
    """The summary with the headline's figures under the pooled names (``cluster_*``, ``block_ci_*``,
    ``end_ratio*``, ``annualised_gap*``): the sector-adjusted ones (``adjusted_*``) when the summary says a
    sector adjustment was made, else the summary as it is (without sectors they are the same figures)."""
    view = dict(s)
    if s.get("adjustment") not in (None, "none"):
        for key in ADJUSTED_KEYS[1:]:
            name = key.removeprefix("adjusted_")
            view[name if name.startswith(("block_", "end_ratio", "annualised_gap")) else f"cluster_{name}"] = s[key]
    return view


def adjusted(s: Mapping[str, Any]) -> bool:
    """True when the headline's figures are the sector-adjusted ones (two or more sectors)."""
    return s.get("adjustment") not in (None, "none")


def comparison_words(s: Mapping[str, Any]) -> str:
    """How leaders grew against laggards, as a clause: a direction only when the clustered test is significant;
    otherwise the data cannot tell (the interval follows in the headline)."""
    if s.get("cluster_p") is None:
        return "CX leaders cannot be compared with a test to CX laggards"
    return words.direction(s["cluster_diff"], s["cluster_p"], "CX leaders grew faster than CX laggards",
                           "CX leaders grew more slowly than CX laggards",
                           "the data cannot tell whether CX leaders grew faster or more slowly than CX laggards")


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


def gap_words(s: Mapping[str, Any], unit: str = "year") -> str:
    """The chained gap per period with its interval: "an annualised gap of +5.2 points a year (95% CI +3.9 to
    +6.5)" when periods are years, "a gap of +1.3 points per quarter (95% CI ...)" otherwise."""
    interval = _ci(s["annualised_gap_ci_low"], s["annualised_gap_ci_high"], _signed)
    if unit == "year":
        return f"an annualised gap of {fmt.points(s['annualised_gap'])} a year {interval}"
    return f"a gap of {fmt.points(s['annualised_gap'])} per {unit} {interval}"


def gap_name(unit: str = "year") -> str:
    """The chained gap's name in tables: "annualised gap" for years, "gap per quarter" otherwise."""
    return "annualised gap" if unit == "year" else f"gap per {unit}"


def clustered_words(s: Mapping[str, Any]) -> str:
    """The clustered test behind the headline: "company-clustered p < 0.001, 281 companies"."""
    companies = fmt.plural(s.get("n_clusters") or 0, "company", "companies")
    if s.get("cluster_p") is None:
        return f"no clustered test: {companies} in the portfolios, or no spread in growth"
    return f"company-clustered {fmt.p_value(s['cluster_p'])}, {companies}"


def headline(result: LeadersResult) -> str:
    """The headline in words: the clustered test, the end ratio and the gap per period, each with its interval.

    With two or more sectors these are the sector-adjusted figures (growth relative to the sector's mean in
    the same period, :data:`ADJUSTED_KEYS`), and the headline says so."""
    s = result.results["summary"]
    v, unit, span = headline_view(s), unit_of(result), span_words(result.results["periods"])
    if adjusted(s):
        return (f"Over {span}, comparing each company with its sector in the same period, {comparison_words(v)} "
                f"(sector-adjusted, {clustered_words(v)}): growth relative to the sector-period mean differed by "
                f"{diff_words(v)}, and chaining that sector-adjusted growth, {ratio_words(v)}, {gap_words(v, unit)}.")
    return (f"Over {span}, {comparison_words(v)} ({clustered_words(v)}): "
            f"pooled company-period growth differed by {diff_words(v)}, and {ratio_words(v)}, {gap_words(v, unit)}.")


def headline_figures(result: LeadersResult) -> dict[str, dict]:
    """Headline figures for the index (the clustered test and the chained figures, sector-adjusted with two or
    more sectors), each with its direction, format and interval half-width."""
    s = result.results["summary"]
    v = headline_view(s)
    tag = " (sector-adjusted)" if adjusted(s) else ""
    return {f"end ratio{tag}": {"value": v["end_ratio"], "better": "higher", "format": "ratio",
                                "half_width": half_width(v["end_ratio_ci_low"], v["end_ratio_ci_high"])},
            f"{gap_name(unit_of(result))}{tag}": {
                "value": v["annualised_gap"], "better": "higher", "format": "points",
                "half_width": half_width(v["annualised_gap_ci_low"], v["annualised_gap_ci_high"])},
            f"clustered difference{tag}": {"value": v["cluster_diff"], "better": "higher", "format": "points",
                                           "half_width": half_width(v["cluster_ci_low"], v["cluster_ci_high"])},
            f"clustered p{tag}": {"value": v["cluster_p"], "format": "p"},
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
    """How the headline's clustered test fares across the cut-off pairs; directions counted among significant
    pairs only (sector-adjusted figures when the rows carry them)."""
    pairs = ", ".join(f"{fmt.ordinal(round(100 * r['leader_quantile']))}/"
                      f"{fmt.ordinal(round(100 * r['laggard_quantile']))}" for r in rows)
    views = [headline_view(r) for r in rows]
    sig = [r for r in views if words.significant(r.get("cluster_p"))]
    up = sum(1 for r in sig if r["cluster_diff"] > 0)
    down = len(sig) - up
    what = "sector-adjusted clustered difference" if any(adjusted(r) for r in rows) else "clustered difference"
    if not sig:
        verdict = f"none shows a significant {what}, so the data cannot tell the direction at any of them"
    else:
        parts = [f"{up} with leaders growing faster"] if up else []
        parts += [f"{down} with leaders growing more slowly"] if down else []
        verdict = (f"{len(sig)} of {len(rows)} show a significant {what} ("
                   + " and ".join(parts) + ")")
    return f"- Across the percentile cut-offs {pairs} (leaders/laggards), {verdict}."


def _block_words(s: Mapping[str, Any]) -> str:
    return (f"runs from {_signed(s['block_ci_low'])} to {fmt.points(s['block_ci_high'])}"
            if s["block_ci_low"] is not None else f"is {fmt.UNDEFINED}")


def interpret(result: LeadersResult) -> str:
    """Plain-language reading of the clustered test, the naive figures for comparison, and the sensitivity."""
    s = result.results["summary"]
    v, unit, adj = headline_view(s), unit_of(result), adjusted(s)
    n_pooled = sum(r["n_leaders"] + r["n_laggards"] for r in result.results["periods"])
    outcome = ("company-period growth relative to the mean growth of the company's sector in the same period"
               if adj else "company-period growth")
    lines = [
        f"- Averaged over periods, leaders grew {fmt.pct(s['leader_mean'], 1, signed=True)} per {unit} and laggards "
        f"{fmt.pct(s['laggard_mean'], 1, signed=True)}, a mean difference over periods of "
        f"{fmt.points(s['period_diff'])} (a description: a test over periods would count the same leading "
        "companies again in every period).",
        f"- The headline relies on the company-clustered regression of {outcome} on a leader indicator: a "
        f"difference of {diff_words(v)}, {clustered_words(v)}"
        + (f", t = {fmt.number(v['cluster_t'])} with {fmt.count(v['cluster_df'])} degrees of freedom"
           if v["cluster_t"] is not None else "")
        + ". Resampling whole companies with all their periods (block bootstrap), the difference's 95% interval "
        + _block_words(v) + ".",
        f"- Chained over the periods{', from sector-adjusted growth' if adj else ''}, {ratio_words(v)}, "
        f"{gap_words(v, unit)}; both intervals come from the company block bootstrap.",
    ]
    if adj:
        lines.append(
            "- The panel has several sectors, and leaders and laggards come from them unevenly; a sector's growth "
            "in a period is shared by its companies, so on pooled growth those shocks do not cancel between the "
            "portfolios and the pooled test rejects too often when CX is unrelated to growth. Its figures are a "
            f"description only: pooled company-period growth differed by {diff_words(s)}, {clustered_words(s)}; "
            f"the company block bootstrap interval {_block_words(s)}; as held, {ratio_words(s)}, "
            f"{gap_words(s, unit)}.")
    lines.append(naive_words(s, n_pooled))
    if s["benchmark_cumulative"] is not None:
        lines.append(f"- The benchmark grew {fmt.pct(s['benchmark_cumulative'], signed=True)} over the same periods.")
    lines.append(sensitivity_words(result.results["sensitivity"]))
    lines.append("- This is an association between CX and later growth, not a causal effect: companies that "
                 "grow may invest in CX, and sector, size or management quality can go with both.")
    return "\n".join(lines)


def _interval_text(low: float | None, high: float | None, bound: Callable[[float | None], str]) -> str:
    return "" if low is None or high is None else f"{bound(low)} to {bound(high)}"


def figures_table(result: LeadersResult) -> pd.DataFrame:
    """The summary as a formatted table: the figures the headline uses first (sector-adjusted with two or more
    sectors, then the pooled ones as a description), then the naive ones for comparison."""
    s = result.results["summary"]
    gap = gap_name(unit_of(result))

    def tested(v: Mapping[str, Any], what: str, role: str) -> list[tuple[str, str, str, str, str]]:
        return [
            (f"{what}, company-clustered test", fmt.points(v["cluster_diff"]),
             _interval_text(v["cluster_ci_low"], v["cluster_ci_high"], _signed), fmt.p_value(v["cluster_p"]), role),
            (f"{what}, company block bootstrap", fmt.points(v["cluster_diff"]),
             _interval_text(v["block_ci_low"], v["block_ci_high"], _signed), "", role),
        ]

    def chained(v: Mapping[str, Any], tag: str, role: str) -> list[tuple[str, str, str, str, str]]:
        return [
            (f"end ratio (leader / laggard portfolio{tag})", fmt.number(v["end_ratio"]),
             _interval_text(v["end_ratio_ci_low"], v["end_ratio_ci_high"], fmt.number), "", role),
            (f"{gap}{tag.replace(', ', ' (') + ')' if tag else ''}", fmt.points(v["annualised_gap"]),
             _interval_text(v["annualised_gap_ci_low"], v["annualised_gap_ci_high"], _signed), "", role),
        ]

    if adjusted(s):
        v = headline_view(s)
        rows = (tested(v, "difference relative to the sector-period mean", "headline")
                + chained(v, ", sector-adjusted", "headline")
                + tested(s, "pooled difference", "description (sector shocks not removed)")
                + chained(s, ", as held", "description (sector shocks not removed)"))
    else:
        rows = tested(s, "pooled difference", "headline") + chained(s, "", "headline")
    rows += [
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
    """The summary for each cut-off pair, formatted: the headline's clustered test and chained figures
    (sector-adjusted with two or more sectors), the naive p last."""
    gap = gap_name(unit_of(result))
    rows = []
    for r in result.results["sensitivity"]:
        v = headline_view(r)
        tag = " sector-adjusted" if adjusted(r) else ""
        rows.append({
            "cut-offs (leaders / laggards)": f"{percentile_words(r['leader_quantile'])} / "
                                             f"{percentile_words(r['laggard_quantile'])}",
            "leaders / laggards (company-periods)": f"{fmt.count(r['n_leaders'])} / {fmt.count(r['n_laggards'])}",
            f"difference ({'sector-adjusted, ' if tag else ''}clustered 95% CI)": diff_words(v),
            f"clustered p{' (sector-adjusted)' if tag else ''}": fmt.p_value(v["cluster_p"]),
            f"end ratio ({tag.strip() + ', ' if tag else ''}95% CI)": f"{fmt.number(v['end_ratio'])} "
                                  f"{_ci(v['end_ratio_ci_low'], v['end_ratio_ci_high'], fmt.number)}",
            f"{gap} ({tag.strip() + ', ' if tag else ''}95% CI)": f"{fmt.points(v['annualised_gap'])} "
                                       f"{_ci(v['annualised_gap_ci_low'], v['annualised_gap_ci_high'], _signed)}",
            "naive Welch p": fmt.p_value(r["welch_p"]),
        })
    return pd.DataFrame(rows).set_index("cut-offs (leaders / laggards)")
