"""An independent row-level reference for the retention figures: lifelines on the rows.

This is the row-by-row path cxlab had before it computed retention from counts
(wave 2), kept only as a reference for tests: Kaplan-Meier, its band, the
log-rank tests and the Cox models all come from lifelines fitted on the rows
(Cox with a convergence tolerance tight enough for 1e-9 comparisons); the
Schoenfeld residuals are lifelines' (vectorised, tested against lifelines' own
``compute_residuals``) and the PH test is lifelines' ``proportional_hazard_test``
with tied event times given their mid-rank. The definitions that DESIGN 5.2 adds
(median with a 1e-9 tolerance, median interval from the band, survival past
follow-up undefined, RMST and its Greenwood-type variance, the RMST window) are
written out here again on lifelines' tables.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test, proportional_hazard_test
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

Z = sps.norm.ppf(0.975)
TIGHT = {"precision": 1e-30, "r_precision": 1e-30, "max_steps": 80}


def midrank(t, c, w):
    """lifelines' "rank" time transform with tied event times given their mid-rank."""
    c = np.asarray(c, bool)
    out = np.zeros(len(c))
    out[c] = pd.Series(np.asarray(t, float)[c]).rank(method="average").to_numpy()
    return pd.Series(out, index=getattr(t, "index", None))


def log10_chi2(stat: float, dof: int) -> float:
    """log10 of the chi-square tail (cxlab's, tested on its own: scipy's logsf underflows past ~1500)."""
    from cxlab.stats.tables import log10_chi2_sf
    return log10_chi2_sf(stat, dof)


def log10_norm2(z: float) -> float:
    return float((sps.norm.logsf(abs(z)) + math.log(2)) / math.log(10))


def _first_half(times, values):
    hit = np.flatnonzero(np.asarray(values) <= 0.5 + 1e-9)
    return float(times[hit[0]]) if hit.size else None


def km(duration, event) -> dict[str, Any]:
    """Median, its interval, survival function and the lifelines tables of one tier."""
    kmf = KaplanMeierFitter().fit(np.asarray(duration, float), np.asarray(event, float))
    times = kmf.survival_function_.index.to_numpy(float)
    surv = kmf.survival_function_.iloc[:, 0].to_numpy()
    low = kmf.confidence_interval_.iloc[:, 0].to_numpy()
    high = kmf.confidence_interval_.iloc[:, 1].to_numpy()
    low, high = np.where(surv > 0, low, np.nan), np.where(surv > 0, high, np.nan)     # R: NA where S = 0
    return {"kmf": kmf, "times": times, "surv": surv, "median": _first_half(times, surv),
            "median_ci_low": _first_half(times, low), "median_ci_high": _first_half(times, high),
            "last": float(np.max(duration))}


def rmst(k: dict[str, Any], tau: float) -> tuple[float, float]:
    times, surv = k["times"], k["surv"]
    table = k["kmf"].event_table
    keep = times <= tau
    grid = np.append(times[keep], tau)
    area = float(np.sum(surv[keep] * np.diff(grid)))
    var = 0.0
    for t, n, d in zip(table.index, table["at_risk"], table["observed"]):
        if d > 0 and t <= tau and n > d:
            after = times >= t
            g = np.append(times[after & keep], tau)
            a = float(np.sum(surv[after & keep] * np.diff(g)))
            var += a * a * d / (n * (n - d))
    return area, var


def schoenfeld_scaled(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    """Scaled Schoenfeld residuals as lifelines defines them (Efron ties), vectorised."""
    names = list(cph.params_.index)
    order = cph.durations.index
    sorted_df = df.loc[order]
    t = sorted_df["duration"].to_numpy(float)
    e = sorted_df["event"].to_numpy(float) > 0
    x = sorted_df[names].to_numpy(float)
    phi = np.exp(x @ cph.params_.to_numpy())
    times, start = np.unique(t, return_index=True)
    group = np.searchsorted(times, t)
    rphi = np.cumsum(phi[::-1])[::-1][start]
    rphix = np.cumsum((phi[:, None] * x)[::-1], axis=0)[::-1][start]
    m = np.bincount(group, weights=e, minlength=len(times))
    dphi = np.bincount(group, weights=phi * e, minlength=len(times))
    dphix = np.stack([np.bincount(group, weights=phi * x[:, j] * e, minlength=len(times))
                      for j in range(x.shape[1])], axis=1)
    has = m > 0
    gi = np.repeat(np.flatnonzero(has), m[has].astype(int))
    mm = m[gi]
    ell = np.arange(len(gi)) - np.repeat(np.concatenate([[0], np.cumsum(m[has])[:-1]]), m[has].astype(int))
    frac = (ell / mm)[:, None]
    terms = (rphix[gi] - frac * dphix[gi]) / ((rphi[gi] - frac[:, 0] * dphi[gi])[:, None] * mm[:, None])
    mean = np.zeros((len(times), x.shape[1]))
    np.add.at(mean, gi, terms)
    resid = x[e] - mean[group[e]]
    scaled = e.sum() * resid @ cph.variance_matrix_.to_numpy()
    return pd.DataFrame(scaled, columns=names, index=order[e])


def cox(df: pd.DataFrame, penalizer: float = 0.0) -> dict[str, Any]:
    """lifelines' Cox fit (Efron), tight tolerance: coefficients, standard errors, PH p (mid-ranks)."""
    df = df.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter(penalizer=penalizer).fit(df, "duration", "event", fit_options=TIGHT)
        ph = proportional_hazard_test(cph, df, time_transform=midrank,
                                      precomputed_residuals=schoenfeld_scaled(cph, df)).summary["p"]
    coef, se = cph.params_, cph.standard_errors_
    return {"coef": coef, "se": se, "ph_p": ph.reindex(coef.index)}


def one_hot(frame: pd.DataFrame, covariates: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    X = pd.DataFrame({"experience": frame["experience"].to_numpy(float)})
    refs = {}
    for name in covariates:
        col = frame[name].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(col):
            X[name] = col.to_numpy(float)
            continue
        counts = col.astype(str).value_counts()
        ref = sorted(counts.index[counts == counts.max()])[0]
        refs[name] = ref
        for level in sorted(counts.index):
            if level != ref:
                X[f"{name}={level}"] = (col.astype(str) == level).to_numpy(float)
    return X, refs


def results(frame: pd.DataFrame, horizons: list[float], tau_requested: float | None, covariates: list[str],
            value: bool = False) -> dict[str, Any]:
    """The numeric figures of ``results`` (DESIGN 5.2) from the rows, without the penalised fallback."""
    labels = [str(c) for c in frame["tier"].cat.categories]
    groups = {label: g for label, g in frame.groupby("tier", observed=False) if len(g)}
    best, worst = list(groups)[-1], list(groups)[0]
    longest = {label: float(g["duration"].max()) for label, g in groups.items()}
    tau = min(longest.values()) if tau_requested is None else min(tau_requested, min(longest.values()))
    tiers, rm = [], {}
    for label in labels:
        g = groups[label]
        k = km(g["duration"], g["event"])
        area, var = rmst(k, tau)
        surv = {}
        for h in horizons:
            s = float(k["kmf"].survival_function_at_times(h).iloc[0])
            surv[f"{h:g}"] = None if h > k["last"] and s > 0 else s
        tiers.append({"tier": label, "n": len(g), "events": int(g["event"].sum()), "median": k["median"],
                      "median_ci_low": k["median_ci_low"], "median_ci_high": k["median_ci_high"],
                      "survival": surv, "rmst": area})
        rm[label] = (area, math.sqrt(var))
    lr = multivariate_logrank_test(frame["duration"], frame["tier"].astype(str), frame["event"])
    pair = []
    ref = groups[best]
    for label, g in groups.items():
        if label != best:
            stat = logrank_test(g["duration"], ref["duration"], g["event"], ref["event"]).test_statistic
            pair.append({"tier": label, "statistic": float(stat), "p": float(sps.chi2.sf(stat, 1)),
                         "log10_p": log10_chi2(stat, 1)})
    holm = multipletests([p["p"] for p in pair], method="holm")[1]
    for p, h in zip(pair, holm):
        p["p_holm"] = float(h)
    diffs = []
    for label in groups:
        if label != best:
            d = rm[label][0] - rm[best][0]
            se = math.hypot(rm[label][1], rm[best][1])
            diffs.append({"tier": label, "difference": d, "se": se, "ci_low": d - Z * se, "ci_high": d + Z * se,
                          "p": float(2 * sps.norm.sf(abs(d) / se)), "log10_p": log10_norm2(d / se)})
    c = cox(frame[["duration", "event", "experience"]].astype(float))
    b, se = float(c["coef"].iloc[0]), float(c["se"].iloc[0])
    out = {"n": len(frame), "events": int(frame["event"].sum()), "rmst_tau": tau, "tiers": tiers,
           "logrank": {"statistic": float(lr.test_statistic), "dof": len(groups) - 1, "p": float(lr.p_value),
                       "log10_p": log10_chi2(lr.test_statistic, len(groups) - 1)},
           "pairwise_logrank": pair,
           "rmst": [{"tier": t, "rmst": a, "se": s, "ci_low": a - Z * s, "ci_high": a + Z * s}
                    for t, (a, s) in rm.items()],
           "rmst_difference": {"tau": tau, "tiers": diffs},
           "cox": {"hazard_ratio": math.exp(b), "ci_low": math.exp(b - Z * se), "ci_high": math.exp(b + Z * se),
                   "ph_p": float(c["ph_p"].iloc[0])},
           "cox_detail": {"coef": b, "se": se, "p": float(2 * sps.norm.sf(abs(b / se))), "log10_p": log10_norm2(b / se)}}
    if covariates:
        X, refs = one_hot(frame, covariates)
        X["duration"], X["event"] = frame["duration"].to_numpy(float), frame["event"].to_numpy(float)
        a = cox(X)
        out["cox_covariates"] = {"reference_levels": refs, "terms": [
            {"term": t, "hazard_ratio": math.exp(a["coef"][t]), "ci_low": math.exp(a["coef"][t] - Z * a["se"][t]),
             "ci_high": math.exp(a["coef"][t] + Z * a["se"][t]),
             "p": float(2 * sps.norm.sf(abs(a["coef"][t] / a["se"][t]))), "ph_p": float(a["ph_p"][t])}
            for t in a["coef"].index]}
    dur, ev = frame["duration"], frame["event"]
    out["censoring"] = {"n": len(frame), "events": int(ev.sum()), "censored": int((ev == 0).sum()),
                        "censored_share": float((ev == 0).mean()),"followup_min": float(dur.min()), "followup_max": float(dur.max()),
                        "followup_median": float(dur.median()),
                        "censored_followup_median": float(dur[ev == 0].median())}
    if value:
        means = frame.groupby("tier", observed=False)["value"].mean()
        out["value"] = {"tau": tau, "tiers": [
            {"tier": t, "value_per_period": float(means[t]), "expected_value": rm[t][0] * float(means[t]),
             "ci_low": (rm[t][0] - Z * rm[t][1]) * float(means[t]), "ci_high": (rm[t][0] + Z * rm[t][1]) * float(means[t])}
            for t in groups]}
        w = next(d for d in diffs if d["tier"] == worst)
        mv = float(means[worst])
        out["value"]["gain_at_best_retention"] = {"value": -w["difference"] * mv, "ci_low": -w["ci_high"] * mv,
                                                  "ci_high": -w["ci_low"] * mv}
    return out
