"""Retention figures: Kaplan-Meier by tier, RMST and its differences, log-rank, Cox, value at stake."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats as sps

from ...errors import (
    FollowUpWarning,
    NoEventsWarning,
    PenalizedFitWarning,
    ProportionalHazardsWarning,
    collecting_warnings,
    warn,
)
from ...stats import Z95
from ...stats.cox import PENALIZER, cox_adjusted, cox_rating
from ...stats.survival import (
    at_risk_table,
    km_curves,
    km_median,
    km_median_ci,
    km_table,
    logrank,
    pairwise_logrank,
    rmst,
    survival_at,
)
from ...tiers import warn_empty_tiers
from . import narrative as words
from .spec import RetentionStudy

log = logging.getLogger(__name__)


@dataclass
class RetentionResult:
    """Figures of one retention analysis.

    Attributes
    ----------
    results : dict
        DESIGN 5.2 ``results`` with its wave-2 revisions (``rmst_tau`` used and ``rmst_tau_requested``,
        ``tiers[].median_ci_low/high``, ``cox.ph_violated``, ``cox.penalised_hazard_ratio``) plus the
        issue's additions (``pairwise_logrank``, ``rmst``, ``rmst_difference``, ``cox_detail``,
        ``cox_covariates``, ``value``, ``censoring``).
    tiers : DataFrame
        One row per tier: n, events, censored, median and its interval, survival at each horizon, rmst, its
        se and interval.
    curves : DataFrame
        Tidy KM curves with bands and the number at risk (see :func:`km_curves`; the plot draws each
        while 10+ are at risk).
    at_risk : DataFrame
        Number at risk per tier at the plot's tick times.
    pairwise : DataFrame
        Log-rank of each tier against the best, Holm-adjusted.
    hazard_ratios : DataFrame
        Hazard-ratio table for the forest plot (the rating model, then the adjusted model's terms).
    warnings : list of str
    """

    results: dict[str, Any]
    tiers: pd.DataFrame
    curves: pd.DataFrame
    at_risk: pd.DataFrame
    pairwise: pd.DataFrame
    hazard_ratios: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _key(h: float) -> str:
    return f"{h:g}"


def _tick_times(last: float) -> list[float]:
    for step in (1, 2, 3, 6, 12, 24, 30, 52, 60, 90, 120, 180, 365, 730):
        if last / step <= 8:
            break
    return [float(step * i) for i in range(int(last // step) + 1)]


def rmst_window(frame: pd.DataFrame, requested: float | None, unit: str) -> float:
    """The RMST window (DESIGN 5.2, wave 2): at most the shortest, over tiers, of a tier's longest observed time.

    With no window requested, that limit (survRM2's rule); a requested window
    above it is capped to it with a :class:`~cxlab.errors.FollowUpWarning`
    naming both values, so that nothing is extrapolated past a tier's data.
    """
    longest = frame.groupby("tier", observed=True)["duration"].max()
    limit = float(longest.min())
    if requested is None:
        return limit
    if requested > limit:
        warn(FollowUpWarning, words.tau_capped(float(requested), limit, str(longest.idxmin()), unit))
        return limit
    return float(requested)


def _difference(r: pd.Series, b: pd.Series) -> dict[str, Any]:
    """RMST of tier ``r`` minus the best tier's ``b``, with its normal interval and p (None when the SE is 0)."""
    diff = r["rmst"] - b["rmst"]
    se = math.sqrt(r["rmst_se"] ** 2 + b["rmst_se"] ** 2)
    if se == 0:
        return {"tier": str(r["tier"]), "difference": diff, "se": se, "ci_low": None, "ci_high": None, "p": None,
                "log10_p": None}
    return {"tier": str(r["tier"]), "difference": diff, "se": se, "ci_low": diff - Z95 * se,
            "ci_high": diff + Z95 * se, "p": float(2 * sps.norm.sf(abs(diff) / se)),
            "log10_p": float((sps.norm.logsf(abs(diff) / se) + math.log(2)) / math.log(10))}


def analyze(frame: pd.DataFrame, study: RetentionStudy) -> RetentionResult:
    """Compute DESIGN 5.2 (with its wave-2 revisions) and the issue's additions on a frame from :func:`load`."""
    unit = study.time_unit
    with collecting_warnings() as sentences:
        warn_empty_tiers(frame["tier"])
        labels = [str(c) for c in frame["tier"].cat.categories]
        nonempty = [str(t) for t, c in frame["tier"].value_counts(sort=False).items() if c > 0]
        best, worst = nonempty[-1], nonempty[0]
        total_events = int(frame["event"].sum())
        tau = rmst_window(frame, study.rmst_tau, unit)
        if total_events == 0:
            warn(NoEventsWarning, words.no_events(len(frame)))
        groups = {str(k): g for k, g in frame.groupby("tier", observed=False)}
        rows, tier_results = [], []
        for label in labels:
            sub = groups[label]
            n, ev = len(sub), int(sub["event"].sum())
            row: dict[str, Any] = {"tier": label, "n": n, "events": ev, "censored": n - ev}
            if n == 0:
                row.update({"median": None, "median_ci_low": None, "median_ci_high": None, "rmst": None,
                            "rmst_se": None, "last_time": None, **{f"S({_key(h)})": None for h in study.horizons}})
            else:
                tab = km_table(sub["duration"].to_numpy(), sub["event"].to_numpy())
                last = float(sub["duration"].max())
                area, var = rmst(tab, tau)
                low, high = km_median_ci(tab)
                row.update({"median": km_median(tab), "median_ci_low": low, "median_ci_high": high, "rmst": area,
                            "rmst_se": math.sqrt(var), "last_time": last})
                for h in study.horizons:
                    row[f"S({_key(h)})"] = survival_at(tab, h, last)
                    if row[f"S({_key(h)})"] is None:
                        warn(FollowUpWarning, words.horizon_past_followup(label, last, h, unit))
                if ev == 0 and total_events > 0:
                    warn(NoEventsWarning, words.tier_without_events(label, n))
            rows.append(row)
            tier_results.append({"tier": label, "n": n, "events": ev, "median": row["median"],
                                 "median_ci_low": row["median_ci_low"], "median_ci_high": row["median_ci_high"],
                                 "survival": {_key(h): row[f"S({_key(h)})"] for h in study.horizons},
                                 "rmst": row["rmst"]})
        tiers = pd.DataFrame(rows)
        tiers["rmst_ci_low"] = tiers["rmst"].astype(float) - Z95 * tiers["rmst_se"].astype(float)
        tiers["rmst_ci_high"] = tiers["rmst"].astype(float) + Z95 * tiers["rmst_se"].astype(float)
        tiers["tier"] = pd.Categorical(tiers["tier"], categories=labels, ordered=True)

        b = tiers.set_index("tier").loc[best]
        diffs = [_difference(r, b) for _, r in tiers.iterrows() if r["tier"] != best and r["n"] > 0]

        live = frame[frame["tier"].astype(str).isin(nonempty)]
        lr = logrank(live["duration"].to_numpy(), live["event"].to_numpy(), live["tier"].astype(str).to_numpy())
        pairwise = pairwise_logrank(live, best) if len(nonempty) > 1 else pd.DataFrame(
            columns=["tier", "versus", "statistic", "p", "p_holm", "log10_p"])
        cox = cox_rating(frame["duration"].to_numpy(), frame["event"].to_numpy(), frame["experience"].to_numpy())
        if cox["separation"]:
            warn(PenalizedFitWarning, words.separation(PENALIZER))
        if cox["ph_violated"]:
            warn(ProportionalHazardsWarning, words.ph_violated(cox["ph_p"]))
        adjusted = cox_adjusted(frame, study.covariates) if total_events > 0 else None
        value = _value_at_stake(frame, tiers, diffs, best, worst, tau, study) if study.value_per_period else None

    hr_rows = []
    if cox["hazard_ratio"] is not None or cox["penalised_hazard_ratio"] is not None:
        pen = cox["separation"]
        hr_rows.append({"model": "rating only" + (" (penalised)" if pen else ""), "term": "experience (per point)",
                        "hazard_ratio": cox["penalised_hazard_ratio"] if pen else cox["hazard_ratio"],
                        "ci_low": cox["ci_low"], "ci_high": cox["ci_high"], "p": cox["p"]})
    for t in (adjusted or {}).get("terms", []):
        label = (f"{t['covariate']}: {t['level']} vs {t['reference']}" if t["level"] else
                 ("experience (per point)" if t["covariate"] == "experience" else f"{t['covariate']} (per unit)"))
        pen = t["hazard_ratio"] is None
        hr_rows.append({"model": "adjusted" + (" (penalised)" if pen else ""), "term": label,
                        "hazard_ratio": t["penalised_hazard_ratio"] if pen else t["hazard_ratio"],
                        "ci_low": t["ci_low"], "ci_high": t["ci_high"], "p": t["p"]})
    hazard_ratios = pd.DataFrame(hr_rows, columns=["model", "term", "hazard_ratio", "ci_low", "ci_high",
                                                   "p"]).astype({c: float for c in ("hazard_ratio", "ci_low",
                                                                                   "ci_high", "p")})

    dur = frame["duration"]
    censoring = {"n": int(len(frame)), "events": total_events, "censored": int(len(frame) - total_events),
                 "censored_share": float(1 - total_events / len(frame)),
                 "followup_min": float(dur.min()), "followup_max": float(dur.max()),
                 "followup_median": float(dur.median()),
                 "censored_followup_median": float(dur[frame["event"] == 0].median()) if total_events < len(frame)
                 else None}
    cox_design = {k: cox[k] for k in ("hazard_ratio", "ci_low", "ci_high", "penalizer", "separation", "ph_p",
                                      "ph_violated", "penalised_hazard_ratio")}
    results = {
        "n": int(len(frame)), "events": total_events, "time_unit": unit, "horizons": list(study.horizons),
        "rmst_tau": tau, "rmst_tau_requested": study.rmst_tau, "best_tier": best, "worst_tier": worst,
        "tiers": tier_results,
        "logrank": lr,
        "pairwise_logrank": pairwise.to_dict("records"),
        "rmst": [{"tier": str(r["tier"]), "rmst": r["rmst"], "se": r["rmst_se"], "ci_low": r["rmst_ci_low"],
                  "ci_high": r["rmst_ci_high"]} for _, r in tiers.iterrows()],
        "rmst_difference": {"versus": best, "tau": tau, "tiers": diffs},
        "cox": cox_design,
        "cox_detail": {k: cox[k] for k in ("coef", "se", "p", "log10_p")},
        "cox_covariates": adjusted,
        "value": value,
        "censoring": censoring,
    }
    last = float(dur.max())
    at_risk = at_risk_table(frame, _tick_times(last))
    curves = km_curves(frame)
    log.info("retention: analysed %d rows, %d events", len(frame), total_events)
    return RetentionResult(results, tiers, curves, at_risk, pairwise, hazard_ratios, sentences)


def _value_at_stake(frame: pd.DataFrame, tiers: pd.DataFrame, diffs: list[dict[str, Any]], best: str, worst: str,
                    tau: float, study: RetentionStudy) -> dict[str, Any]:
    """Value within the first tau time units, undiscounted, by tier (RMST x mean value per period), and what
    the worst tier's difference in retention from the best is worth (at the worst tier's value per period)."""
    means = frame.groupby("tier", observed=False)["value"].mean()
    out = []
    for _, r in tiers.iterrows():
        if r["n"] == 0:
            continue
        mv = float(means.loc[r["tier"]])
        out.append({"tier": str(r["tier"]), "value_per_period": mv, "expected_value": r["rmst"] * mv,
                    "ci_low": r["rmst_ci_low"] * mv, "ci_high": r["rmst_ci_high"] * mv})
    gain = None
    worst_diff = next((x for x in diffs if x["tier"] == worst), None)
    if worst_diff is not None:
        mv = float(means.loc[worst])
        # -(RMST_worst - RMST_best) x the worst tier's value per period
        undefined = worst_diff["ci_low"] is None
        gain = {"tier": worst, "versus": best, "value": -worst_diff["difference"] * mv,
                "ci_low": None if undefined else -worst_diff["ci_high"] * mv,
                "ci_high": None if undefined else -worst_diff["ci_low"] * mv}
    return {"column": study.value_per_period, "value_unit": study.value_unit, "tau": tau,
            "basis": f"value within {words.window(tau, study.time_unit)}, undiscounted",
            "tiers": out, "gain_at_best_retention": gain}
