"""Loyalty by experience quality (DESIGN 5.1).

:func:`load` reads and checks the data; :func:`analyze` computes, for each
binary outcome, rates by tier with Wilson intervals, the chi-square and
Cochran-Armitage tests and the odds ratio per rating point.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import data as d
from .errors import SeparationWarning, collecting_warnings, warn
from .params import LoyaltyStudy
from .stats import chi2_independence, cochran_armitage, logistic_slope, wilson_interval
from .tiers import assign_tiers, warn_empty_tiers

log = logging.getLogger(__name__)


def load(study: LoyaltyStudy, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's data as canonical columns: ``experience``, ``tier``, the outcomes (0/1), ``weight``.

    Rows with a missing rating, outcome or weight are dropped and counted in the
    summary. Non-numeric or out-of-scale ratings, non-binary outcomes and
    negative weights are a :class:`~cxlab.errors.DataError`.
    """
    spec = study.data
    wanted = ["experience", *study.outcomes]
    optional = ["weight"] if study.weight else []
    raw, source = d.read_source(spec, base_dir)
    mapping = dict(spec.columns)
    if study.weight:
        mapping.setdefault("weight", study.weight)
    frame, used = d.map_columns(raw, mapping, wanted, source, optional=optional)
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used)
    out = pd.DataFrame(index=frame.index)
    out["experience"] = d.as_numeric(frame, "experience", source, used["experience"])
    for name in study.outcomes:
        out[name] = d.as_binary(frame, name, source, used[name])
    if "weight" in used:
        out["weight"] = d.as_numeric(frame, "weight", source, used["weight"])
        neg = out["weight"] < 0
        if neg.any():
            d.fail_at(neg, frame["weight"], "weights must be >= 0", source, used["weight"])
    else:
        out["weight"] = 1.0
    lo, hi = study.experience.scale
    d.check_range(out["experience"], lo, hi, source, used["experience"], raw=frame["experience"])
    out = d.drop_missing(out, ["experience", *study.outcomes, "weight"], summary)
    if out.empty:
        raise d.DataError("no rows left after dropping rows with missing values", path=source)
    out["tier"] = assign_tiers(out["experience"], study.experience, source, used["experience"])
    return out, summary


@dataclass
class LoyaltyResult:
    """Figures of one loyalty analysis.

    Attributes
    ----------
    results : dict
        ``{"outcomes": {name: {tiers, top_vs_bottom, chi2, trend, logit}}, "n": rows}``
        exactly as DESIGN 5.1 (plus ``log10_p`` beside chi-square p).
    rates : DataFrame
        Tidy table: outcome, tier, n, count, rate, ci_low, ci_high.
    tests : DataFrame
        One row per outcome: chi-square, trend and odds ratio.
    warnings : list of str
        Statistical caveats as sentences.
    """

    results: dict[str, Any]
    rates: pd.DataFrame
    tests: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def rates_by_tier(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Rate of ``outcome`` per tier (worst to best) with Wilson 95% intervals.

    With a ``weight`` column, ``n`` and ``count`` are weighted totals.
    """
    w = frame["weight"] if "weight" in frame else pd.Series(1.0, index=frame.index)
    grouped = pd.DataFrame({"tier": frame["tier"], "w": w, "wy": w * frame[outcome]})
    agg = grouped.groupby("tier", observed=False).sum()
    n, count = agg["w"].to_numpy(float), agg["wy"].to_numpy(float)
    low, high = wilson_interval(count, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, count / n, np.nan)
    labels = [str(t) for t in agg.index]
    table = pd.DataFrame({"outcome": outcome, "tier": pd.Categorical(labels, categories=labels, ordered=True),
                          "n": n, "count": count, "rate": rate, "ci_low": low, "ci_high": high})
    if np.all(n == np.round(n)) and np.all(count == np.round(count)):
        table = table.astype({"n": "int64", "count": "int64"})
    return table


def _integral(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _tier_phrase(study: LoyaltyStudy, label: str) -> str:
    return f"who rated {label}" if study.experience.tiers is None else f"in the {label} tier"


def analyze(frame: pd.DataFrame, study: LoyaltyStudy) -> LoyaltyResult:
    """Compute DESIGN 5.1 for every outcome of ``study`` on a frame from :func:`load`."""
    outcomes: dict[str, Any] = {}
    rate_tables, test_rows = [], []
    with collecting_warnings() as sentences:
        warn_empty_tiers(frame["tier"])
        for name in study.outcomes:
            table = rates_by_tier(frame, name)
            rate_tables.append(table)
            nonempty = table[table["n"] > 0]
            top, bottom = nonempty.iloc[-1], nonempty.iloc[0]
            ratio = top["rate"] / bottom["rate"] if bottom["rate"] > 0 else None
            chi2 = chi2_independence(np.column_stack([table["count"], table["n"] - table["count"]]))
            trend = cochran_armitage(table["count"].to_numpy(), table["n"].to_numpy())
            fit = logistic_slope(frame["experience"].to_numpy(), frame[name].to_numpy(), frame["weight"].to_numpy())
            if fit.separation:
                warn(SeparationWarning,
                     f"The rating separates {name!r} (quasi-)perfectly: every customer on one side of a rating "
                     "had the same outcome, so the odds ratio per point is infinite and is not reported.")
            outcomes[name] = {
                "tiers": [{"tier": str(r.tier), "n": _integral(r.n), "count": _integral(r["count"]), "rate": r.rate,
                           "ci_low": r.ci_low, "ci_high": r.ci_high} for _, r in table.iterrows()],
                "top_vs_bottom": {"top": top["rate"], "bottom": bottom["rate"], "ratio": ratio,
                                  "difference": top["rate"] - bottom["rate"]},
                "chi2": chi2,
                "trend": trend,
                "logit": fit.to_dict(),
            }
            test_rows.append({"outcome": name, "chi2": chi2["statistic"], "dof": chi2["dof"], "chi2_p": chi2["p"],
                              "trend_z": trend["z"], "trend_p": trend["p"], "odds_ratio": fit.odds_ratio,
                              "or_ci_low": fit.ci_low, "or_ci_high": fit.ci_high, "separation": fit.separation})
    results = {"n": int(len(frame)), "outcomes": outcomes}
    log.info("loyalty: analysed %d rows, %d outcomes", len(frame), len(study.outcomes))
    rates = pd.concat(rate_tables, ignore_index=True)
    rates["tier"] = pd.Categorical(rates["tier"].astype(str), categories=rate_tables[0]["tier"].cat.categories,
                                   ordered=True)
    return LoyaltyResult(results, rates, pd.DataFrame(test_rows), sentences)


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


def headline_figures(result: LoyaltyResult) -> dict[str, float | None]:
    """Headline numbers for the index: per outcome, the best tier's rate and the odds ratio per point."""
    out: dict[str, float | None] = {}
    for name, o in result.results["outcomes"].items():
        out[f"{name}: best-tier rate"] = o["top_vs_bottom"]["top"]
        out[f"{name}: odds ratio per point"] = o["logit"]["odds_ratio"]
    return out


def interpret(result: LoyaltyResult, study: LoyaltyStudy) -> str:
    """Plain-language reading of the tests and odds ratios, one bullet per outcome."""
    from .report import fmt_p
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
