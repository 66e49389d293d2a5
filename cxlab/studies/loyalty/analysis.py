"""Loyalty figures: rates by tier with Wilson intervals, chi-square and trend tests, odds ratio per point."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import SeparationWarning, collecting_warnings, warn
from ...stats.logistic import logistic_slope
from ...stats.proportions import wilson_interval
from ...stats.tables import chi2_independence, cochran_armitage
from ...tiers import warn_empty_tiers
from .spec import LoyaltyStudy

log = logging.getLogger(__name__)


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
