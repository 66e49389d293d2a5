"""Retention figures: Kaplan-Meier by tier, RMST and its differences, log-rank, Cox, value at stake."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ...errors import (
    FollowUpWarning,
    NoEventsWarning,
    PenalizedFitWarning,
    ProportionalHazardsWarning,
    RowLevelWarning,
    collecting_warnings,
    warn,
)
from ...stats import Z95
from ...stats.counts import Cells, rows_as_cells, weighted_median
from ...stats.covariates import cox_adjusted
from ...stats.cox import PENALIZER, rating_model, time_split
from ...stats.survival import (
    Tally,
    at_risk_table,
    km_curves,
    km_events,
    km_fit,
    km_median,
    km_median_ci,
    logrank_counts,
    pairwise_logrank,
    rmst,
    discounted_rmst,
    rmst_influence,
    survival_at,
)
from ...tiers import warn_empty_tiers
from . import counts
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


def tally_all(cells: Cells) -> Tally:
    """Rows removed and events per distinct time over all patterns."""
    times, inverse = np.unique(cells.time, return_inverse=True)
    return times, np.bincount(inverse, cells.n, len(times)), np.bincount(inverse, cells.d, len(times))


def followup_median(times: np.ndarray, removed: np.ndarray, deaths: np.ndarray) -> float | None:
    """Median follow-up by the reverse Kaplan-Meier method: the KM median (:func:`km_median`) with censoring as
    the event and churn as censoring (R ``survfit(Surv(time, 1 - status) ~ 1)``); None when not reached or
    nobody is censored. Unlike the median observed time, churners do not pull it down: it estimates how long
    customers would have been observed had none churned."""
    censored = removed - deaths
    if censored.sum() == 0:
        return None
    return km_median(km_events(km_fit(times, removed, censored)))


def _key(h: float) -> str:
    return f"{h:g}"


def _tick_times(last: float) -> list[float]:
    for step in (1, 2, 3, 6, 12, 24, 30, 52, 60, 90, 120, 180, 365, 730):
        if last / step <= 8:
            break
    return [float(step * i) for i in range(int(last // step) + 1)]


def rmst_window(longest: dict[str, float], requested: float | None, unit: str, name: Any = str) -> float:
    """The RMST window (DESIGN 5.2, wave 2): at most the shortest, over tiers, of a tier's longest observed time.

    ``longest`` maps each non-empty tier, in order, to its longest observed time. With no window
    requested, that limit (survRM2's rule); a requested window above it is capped to it with a
    :class:`~cxlab.errors.FollowUpWarning` naming both values, so that nothing is extrapolated past a
    tier's data. ``name`` turns a tier into the words the caveat uses (the study's label).
    """
    shortest = min(longest, key=longest.get)            # the first tier with the shortest follow-up
    limit = float(longest[shortest])
    if requested is None:
        return limit
    if requested > limit:
        warn(FollowUpWarning, words.tau_capped(float(requested), limit, name(shortest), unit))
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
    """Compute DESIGN 5.2 (with its wave-2 revisions) and the issue's additions on a frame from :func:`load`.

    The rows are first aggregated to counts per time and pattern (:func:`counts.summarise`); every figure
    comes from those counts (:func:`analyze_counts`), except the adjusted Cox model with a continuous
    covariate, which lifelines fits on the rows (and the report says so).
    """
    return analyze_counts(counts.summarise(frame, study.covariates, bool(study.value_per_period)), study)


def analyze_counts(data: counts.RetentionCounts, study: RetentionStudy) -> RetentionResult:
    """DESIGN 5.2 figures from the study's counts (:class:`counts.RetentionCounts`)."""
    unit = study.time_unit
    cells = data.cells
    labels = data.labels
    tier_of = cells.patterns["tier"].to_numpy(np.int64)
    by_code = cells.split(tier_of)
    empty: Tally = (np.zeros(0), np.zeros(0), np.zeros(0))
    tallies = {label: by_code.get(code, empty) for code, label in enumerate(labels)}
    with collecting_warnings() as sentences:
        present = [label for label, tab in tallies.items() if tab[1].sum() > 0]
        warn_empty_tiers(pd.Series(pd.Categorical(present, categories=labels)))
        nonempty = present
        best, worst = nonempty[-1], nonempty[0]
        total_events = int(round(cells.d.sum()))
        n_rows = data.n
        tau = rmst_window({label: tallies[label][0][-1] for label in nonempty}, study.rmst_tau, unit,
                          lambda t: words.tier_name(t, study))
        if total_events == 0:
            warn(NoEventsWarning, words.no_events(n_rows))
        rows, tier_results = [], []
        fits = {label: km_fit(*tallies[label]) if label in nonempty else None for label in labels}
        for label in labels:
            times, removed, deaths = tallies[label]
            n, ev = int(round(removed.sum())), int(round(deaths.sum()))
            row: dict[str, Any] = {"tier": label, "n": n, "events": ev, "censored": n - ev}
            if n == 0:
                row.update({"median": None, "median_ci_low": None, "median_ci_high": None, "rmst": None,
                            "rmst_se": None, "last_time": None, **{f"S({_key(h)})": None for h in study.horizons}})
            else:
                tab = km_events(fits[label])
                last = float(times[-1])
                area, var = rmst(fits[label], tau)
                low, high = km_median_ci(tab)
                row.update({"median": km_median(tab), "median_ci_low": low, "median_ci_high": high, "rmst": area,
                            "rmst_se": math.sqrt(var), "last_time": last})
                for h in study.horizons:
                    row[f"S({_key(h)})"] = survival_at(tab, h, last)
                    if row[f"S({_key(h)})"] is None:
                        warn(FollowUpWarning, words.horizon_past_followup(words.tier_name(label, study), last, h, unit))
                if ev == 0 and total_events > 0:
                    warn(NoEventsWarning, words.tier_without_events(words.tier_name(label, study), n))
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

        live = {label: tallies[label] for label in nonempty}
        lr = logrank_counts(cells.time, tier_of[cells.pattern], cells.n, cells.d)
        pairwise = pairwise_logrank(live, best) if len(nonempty) > 1 else pd.DataFrame(
            columns=["tier", "versus", "statistic", "p", "p_holm", "log10_p"])
        cox = rating_model(cells, cells.patterns["experience"].to_numpy(float))
        split = (time_split(cells, cells.patterns["experience"].to_numpy(float))
                 if cox["hazard_ratio"] is not None else None)
        if cox["separation"]:
            warn(PenalizedFitWarning, words.separation(PENALIZER))
        if cox["ph_violated"]:
            warn(ProportionalHazardsWarning, words.ph_violated(cox["ph_p"]))
        adjusted = None
        if total_events > 0 and study.covariates:
            if data.continuous:
                warn(RowLevelWarning, words.row_level(data.continuous))
                rows_frame = data.rows
                adjusted = cox_adjusted(rows_as_cells(rows_frame["duration"], rows_frame["event"]), rows_frame,
                                        study.covariates, row_level=True)
            else:
                adjusted = cox_adjusted(cells, cells.patterns, study.covariates)
        value = (_value_at_stake(data, tallies, tiers, diffs, best, worst, tau, study) if study.value_per_period
                 else None)

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

    times, removed, deaths = tally_all(cells)
    censored = removed - deaths
    censoring = {"n": n_rows, "events": total_events, "censored": n_rows - total_events,
                 "censored_share": float(1 - total_events / n_rows),
                 "followup_min": float(times[0]), "followup_max": float(times[-1]),
                 "followup_median": weighted_median(times, removed),
                 "followup_median_reverse_km": followup_median(times, removed, deaths),
                 "censored_followup_median": weighted_median(times, censored) if total_events < n_rows else None}
    cox_design = {k: cox[k] for k in ("hazard_ratio", "ci_low", "ci_high", "penalizer", "separation", "ph_p",
                                      "ph_violated", "penalised_hazard_ratio")}
    results = {
        "n": n_rows, "events": total_events, "time_unit": unit, "horizons": list(study.horizons),
        "rmst_tau": tau, "rmst_tau_requested": study.rmst_tau, "best_tier": best, "worst_tier": worst,
        "tiers": tier_results,
        "logrank": lr,
        "pairwise_logrank": pairwise.to_dict("records"),
        "rmst": [{"tier": str(r["tier"]), "rmst": r["rmst"], "se": r["rmst_se"], "ci_low": r["rmst_ci_low"],
                  "ci_high": r["rmst_ci_high"]} for _, r in tiers.iterrows()],
        "rmst_difference": {"versus": best, "tau": tau, "tiers": diffs},
        "cox": cox_design,
        "cox_detail": {k: cox[k] for k in ("coef", "se", "p", "log10_p", "ph_trend")},
        "cox_time_split": split,
        "cox_covariates": adjusted,
        "value": value,
        "censoring": censoring,
        "computation": {"path": "counts", "rows": n_rows, "cells": len(cells),
                        "row_level": ["cox_covariates"] if adjusted is not None and data.continuous else [],
                        "continuous_covariates": list(data.continuous)},
    }
    at_risk = at_risk_table(fits, _tick_times(float(times[-1])))
    curves = km_curves(fits)
    log.info("retention: analysed %d rows (%d cells), %d events", n_rows, len(cells), total_events)
    return RetentionResult(results, tiers, curves, at_risk, pairwise, hazard_ratios, sentences)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def product_variance(x: float, var_x: float, y: float, var_y: float, cov: float) -> float:
    """Variance of the product of two estimates x y (Bohrnstedt and Goldberger 1969; exact for jointly normal
    estimates): y^2 var(x) + x^2 var(y) + 2 x y cov + var(x) var(y) + cov^2."""
    return y * y * var_x + x * x * var_y + 2 * x * y * cov + var_x * var_y + cov * cov


def tier_value_moments(data: counts.RetentionCounts, code: int, tally: Tally, tau: float,
                       discount_rate: float = 0.0, month: float = 1.0) -> tuple[float, float, float]:
    """A tier's mean value per period, its variance (sample variance / n) and its covariance with the tier's
    RMST estimate (the RMST's influence, :func:`cxlab.stats.survival.rmst_influence`, against each
    customer's value: sum psi_i (v_i - mean) / n, from the value sums per time and event); with a
    ``discount_rate``, with the discounted RMST (``month``: a month in the study's time unit)."""
    n = float(tally[1].sum())
    mean = float(data.value_sum[code] / n)
    var_mean = max(float(data.value_sumsq[code] - n * mean * mean), 0.0) / (n - 1) / n if n > 1 else float("nan")
    cells = data.value_cells[data.value_cells["tier"] == code]
    churned, censored = rmst_influence(*tally, tau, discount_rate, month)
    at = np.searchsorted(tally[0], cells["time"].to_numpy(float))
    event = cells["event"].to_numpy() == 1
    psi = np.where(event, churned[at], censored[at])
    counted = np.where(event, tally[2][at], tally[1][at] - tally[2][at])          # customers behind each sum
    cov = float(psi @ (cells["value"].to_numpy(float) - counted * mean)) / n
    return mean, var_mean, cov


def _value_at_stake(data: counts.RetentionCounts, tallies: dict[str, Tally], tiers: pd.DataFrame,
                    diffs: list[dict[str, Any]], best: str, worst: str, tau: float, study: RetentionStudy
                    ) -> dict[str, Any]:
    """Value within the first tau time units, undiscounted, by tier (RMST x mean value per period), and what
    the worst tier's difference in retention from the best is worth (at the worst tier's value per period).

    Intervals carry both uncertainties: the RMST's (Greenwood-type) and the mean value's (sample variance / n),
    with their covariance within a tier (:func:`tier_value_moments`), through :func:`product_variance`; tiers
    are independent samples.
    """
    out, moments = [], {}
    for _, r in tiers.iterrows():
        if r["n"] == 0:
            continue
        label = str(r["tier"])
        mv, var_mv, cov = tier_value_moments(data, data.labels.index(label), tallies[label], tau)
        moments[label] = (mv, var_mv, cov)
        value = r["rmst"] * mv
        se = _finite(math.sqrt(product_variance(r["rmst"], r["rmst_se"] ** 2, mv, var_mv, cov)))
        out.append({"tier": label, "value_per_period": mv, "value_per_period_se": _finite(math.sqrt(var_mv)),
                    "expected_value": value, "se": se, "ci_low": None if se is None else value - Z95 * se,
                    "ci_high": None if se is None else value + Z95 * se})
    gain = None
    worst_diff = next((x for x in diffs if x["tier"] == worst), None)
    if worst_diff is not None:
        mv, var_mv, cov = moments[worst]
        # -(RMST_worst - RMST_best) x the worst tier's value per period; cov(difference, mean) = cov(RMST_worst, mean)
        value = -worst_diff["difference"] * mv
        se = None if worst_diff["ci_low"] is None else _finite(math.sqrt(product_variance(
            worst_diff["difference"], worst_diff["se"] ** 2, mv, var_mv, cov)))
        undefined = se is None
        gain = {"tier": worst, "versus": best, "value": value, "se": se,
                "ci_low": None if undefined else value - Z95 * se,
                "ci_high": None if undefined else value + Z95 * se}
    result = {"column": study.value_per_period, "value_unit": study.value_unit, "tau": tau,
              "basis": f"value within {words.window(tau, study.time_unit)}, undiscounted",
              "tiers": out, "gain_at_best_retention": gain, "discount_rate": study.discount_rate}
    if study.discount_rate is not None:
        _discounted_value(result, data, tallies, moments, best, worst, tau, study)
    return result


#: A month in each time unit (a year of 365.25 days over 12).
MONTH = {"months": 1.0, "weeks": 365.25 / 12 / 7, "days": 365.25 / 12}


def _discounted_value(result: dict[str, Any], data: counts.RetentionCounts, tallies: dict[str, Tally],
                      moments: dict[str, tuple[float, float, float]], best: str, worst: str, tau: float,
                      study: RetentionStudy) -> None:
    """Add the discounted value at stake to ``result``: per tier, the discounted RMST (the area under S with
    month k discounted by (1 + d)^(-k/12), :func:`cxlab.stats.survival.discounted_rmst`) times the mean value
    per period, and the worst tier's gain at the best tier's retention; intervals as the undiscounted ones
    (delta method with the value's variance and its covariance with the discounted area)."""
    rate, month = float(study.discount_rate), MONTH[study.time_unit]
    areas, covs = {}, {}
    for row in result["tiers"]:
        label = row["tier"]
        area, var = discounted_rmst(*tallies[label], tau, rate, month)
        mv, var_mv, _ = moments[label]
        cov = tier_value_moments(data, data.labels.index(label), tallies[label], tau, rate, month)[2]
        areas[label], covs[label] = (area, var), cov
        value = area * mv
        se = _finite(math.sqrt(product_variance(area, var, mv, var_mv, cov)))
        row.update({"discounted_rmst": area, "discounted_rmst_se": math.sqrt(var), "discounted_value": value,
                    "discounted_se": se, "discounted_ci_low": None if se is None else value - Z95 * se,
                    "discounted_ci_high": None if se is None else value + Z95 * se})
    gain = result["gain_at_best_retention"]
    if gain is not None:
        mv, var_mv, _ = moments[worst]
        diff = areas[worst][0] - areas[best][0]
        var_diff = areas[worst][1] + areas[best][1]                  # tiers are independent samples
        value = -diff * mv
        se = None if gain["se"] is None else _finite(math.sqrt(product_variance(diff, var_diff, mv, var_mv,
                                                                                  covs[worst])))
        gain.update({"discounted_value": value, "discounted_se": se,
                     "discounted_ci_low": None if se is None else value - Z95 * se,
                     "discounted_ci_high": None if se is None else value + Z95 * se})
    result["discounted_basis"] = (f"value within {words.window(tau, study.time_unit)}, discounted at "
                                  f"{rate * 100:g}% a year, month by month")
