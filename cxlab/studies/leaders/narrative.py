"""Leaders in words: the headline, the index figures and the reading of the tests."""
from __future__ import annotations

import numpy as np

from ...report import fmt_p
from .analysis import LeadersResult


def headline(result: LeadersResult) -> str:
    """The headline in words, from the summary."""
    s = result.results["summary"]
    periods = result.results["periods"]
    span = f"{periods[0]['period']}-{periods[-1]['period'] + 1}"
    if s["cumulative_ratio"] is not None:
        first = (f"CX leaders' cumulative growth over {span} was {s['cumulative_ratio']:.1f} times the laggards' "
                 f"({s['leader_cumulative']:+.0%} against {s['laggard_cumulative']:+.0%})")
    else:
        first = (f"CX leaders' cumulative growth over {span} was {s['leader_cumulative']:+.0%} against "
                 f"{s['laggard_cumulative']:+.0%} for the laggards")
    diff = s["leader_mean"] - s["laggard_mean"]
    if s["welch_p"] is None:
        second = "the difference cannot be tested"
    else:
        verdict = "significant" if s["welch_p"] < 0.05 else "not significant"
        second = (f"the yearly difference of {100 * diff:+.1f} points is {verdict} (Welch {fmt_p(s['welch_p'])})")
    return f"{first}; {second}."


def headline_figures(result: LeadersResult) -> dict[str, dict]:
    """Headline figures for the index, each with its direction, format and interval half-width."""
    s = result.results["summary"]
    diff_half = (None if s["diff_ci_low"] is None or s["diff_ci_high"] is None
                 else (s["diff_ci_high"] - s["diff_ci_low"]) / 2)
    return {"cumulative ratio": {"value": s["cumulative_ratio"], "better": "higher", "format": "ratio"},
            "leader cumulative": {"value": s["leader_cumulative"], "better": "higher", "format": "signed_pct"},
            "laggard cumulative": {"value": s["laggard_cumulative"], "better": "higher", "format": "signed_pct"},
            "Welch p": {"value": s["welch_p"], "format": "p"},
            "Hedges g": {"value": s["hedges_g"], "better": "higher", "format": "ratio", "half_width": None},
            "yearly difference": {"value": None if s["leader_mean"] is None or s["laggard_mean"] is None
                                  else s["leader_mean"] - s["laggard_mean"], "better": "higher", "format": "points",
                                  "half_width": diff_half}}


def interpret(result: LeadersResult) -> str:
    """Plain-language reading of the tests, the interval and the sensitivity."""
    s = result.results["summary"]
    lines = []
    diff = s["leader_mean"] - s["laggard_mean"]
    lines.append(f"- Averaged over periods, leaders grew {s['leader_mean']:+.1%} per period and laggards "
                 f"{s['laggard_mean']:+.1%}, a difference of {100 * diff:+.1f} percentage points.")
    if s["welch_t"] is not None:
        lines.append(f"- Pooling every company-period, Welch's t-test gives t = {s['welch_t']:.2f} "
                     f"({fmt_p(s['welch_p'])}); Hedges' g = {s['hedges_g']:.2f}, "
                     f"{'a small' if abs(s['hedges_g']) < 0.5 else 'a medium' if abs(s['hedges_g']) < 0.8 else 'a large'}"
                     " effect relative to the spread of company growth.")
    if s["diff_ci_low"] is not None:
        lines.append(f"- The bootstrap 95% interval of the pooled mean difference runs from "
                     f"{100 * s['diff_ci_low']:+.1f} to {100 * s['diff_ci_high']:+.1f} points"
                     + (" and excludes zero." if s["diff_ci_low"] > 0 or s["diff_ci_high"] < 0 else
                        " and includes zero."))
    if s["benchmark_cumulative"] is not None:
        lines.append(f"- The benchmark grew {s['benchmark_cumulative']:+.0%} over the same periods.")
    sens = result.results["sensitivity"]
    signs = {np.sign((r["leader_mean"] or 0) - (r["laggard_mean"] or 0)) for r in sens}
    excl = [r for r in sens if r["diff_ci_low"] is not None and (r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0)]
    pairs = ", ".join(f"{r['leader_quantile']:g}/{r['laggard_quantile']:g}" for r in sens)
    lines.append(f"- Across the cut-offs {pairs}, "
                 f"the leaders' advantage {'keeps its sign' if len(signs) == 1 else 'changes sign'}; its bootstrap "
                 f"interval excludes zero for {len(excl)} of {len(sens)}.")
    lines.append("- This is an association between CX and later growth, not a causal effect: companies that "
                 "grow may invest in CX, and sector, size or management quality can drive both.")
    return "\n".join(lines)
