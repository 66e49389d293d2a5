"""An independent row-level reference for the retention figures: lifelines on the rows.

This is the row-by-row path cxlab had before it computed retention from counts
(wave 2), kept only as a reference for tests: Kaplan-Meier, its band, the
log-rank tests and the Cox models all come from lifelines fitted on the rows
(Cox with a convergence tolerance tight enough for 1e-9 comparisons); the PH
test is R's ``cox.zph`` score test (rank transform) written out row by row
(:func:`zph_score`, checked against R in tests/test_retention_ph.py). The definitions that DESIGN 5.2 adds
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
from lifelines.statistics import logrank_test, multivariate_logrank_test
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.stats.multitest import multipletests

Z = sps.norm.ppf(0.975)
TIGHT = {"precision": 1e-30, "r_precision": 1e-30, "max_steps": 80}


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


def rmst_influence_rows(k: dict[str, Any], tau: float, duration: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Each row's influence on the tier's RMST (Kaplan-Meier martingale form) from lifelines' tables:
    -(delta A(T)/Y(T) 1{T <= tau} - sum over event times u <= min(T, tau) of A(u) d(u) / Y(u)^2)."""
    duration, event = np.asarray(duration, float), np.asarray(event, float)
    times, surv = k["times"], k["surv"]
    keep = times <= tau
    table = k["kmf"].event_table
    psi = np.zeros(len(duration))
    for t, n, d in zip(table.index, table["at_risk"], table["observed"]):
        if d > 0 and t <= tau:
            after = times >= t
            a = float(np.sum(surv[after & keep] * np.diff(np.append(times[after & keep], tau))))
            psi -= np.where((duration == t) & (event > 0), a / n, 0.0)
            psi += np.where(duration >= t, a * d / n ** 2, 0.0)
    return psi


def product_se(x: float, var_x: float, y: float, var_y: float, cov: float) -> float:
    """Standard error of x y for jointly normal estimates (Goodman; Bohrnstedt and Goldberger 1969)."""
    return math.sqrt(y * y * var_x + x * x * var_y + 2 * x * y * cov + var_x * var_y + cov * cov)


def zph_score(duration: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray
               ) -> tuple[np.ndarray, float, np.ndarray]:
    """R survival >= 3.0 ``cox.zph(transform = "rank", terms = FALSE)``, written after R's C code (``zph1.c``,
    Efron ties) over rows sorted by time: per-term p-values, the global p and per term the one-step estimate
    of gamma (the last element of solve(I, U) in R's per-term test)."""
    order = np.argsort(np.asarray(duration, float), kind="stable")
    t = np.asarray(duration, float)[order]
    e = np.asarray(event, float)[order] > 0
    x = np.asarray(x, float).reshape(len(t), -1)[order]
    p = x.shape[1]
    w = np.exp(x @ beta)
    rank = pd.Series(t).rank(method="average").to_numpy()
    g_all = rank - rank[e].mean()
    # sums over the rows at risk (time >= t): reverse cumulative sums from each time's first row
    wx = w[:, None] * x
    wxx = wx[:, :, None] * x[:, None, :]
    r0, r1, r2 = (np.cumsum(a[::-1], axis=0)[::-1] for a in (w, wx, wxx))
    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    for time in np.unique(t[e]):
        first, last = np.searchsorted(t, time, "left"), np.searchsorted(t, time, "right")
        dead = np.flatnonzero(e[first:last]) + first
        nd, g = len(dead), g_all[dead[0]]
        d0, d1, d2 = w[dead].sum(), wx[dead].sum(0), wxx[dead].sum(0)
        u[p:] += g * x[dead].sum(0)
        for k in range(nd):
            s0, s1, s2 = r0[first] - k / nd * d0, r1[first] - k / nd * d1, r2[first] - k / nd * d2
            mean = s1 / s0
            u[p:] -= g * mean
            imat += np.kron(np.array([[1, g], [g, g * g]]), s2 / s0 - np.outer(mean, mean))
    per_term, trend = [], []
    for j in range(p):
        keep = list(range(p)) + [p + j]
        step = np.linalg.solve(imat[np.ix_(keep, keep)], u[keep])
        per_term.append(float(sps.chi2.sf(step @ u[keep], 1)))
        trend.append(float(step[-1]))
    return np.array(per_term), float(sps.chi2.sf(u @ np.linalg.solve(imat, u), p)), np.array(trend)


def cox(df: pd.DataFrame, penalizer: float = 0.0) -> dict[str, Any]:
    """lifelines' Cox fit (Efron), tight tolerance: coefficients, standard errors, PH p per term and global
    (:func:`zph_score` at lifelines' coefficients)."""
    df = df.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter(penalizer=penalizer).fit(df, "duration", "event", fit_options=TIGHT)
    coef, se = cph.params_, cph.standard_errors_
    names = list(coef.index)
    ph, ph_global, trend = zph_score(df["duration"], df["event"], df[names].to_numpy(float), coef.to_numpy(float))
    return {"coef": coef, "se": se, "ph_p": pd.Series(ph, index=names), "ph_global": ph_global,
            "ph_trend": pd.Series(trend, index=names)}


def time_split(df: pd.DataFrame) -> dict[str, Any]:
    """statsmodels' ``PHReg`` (Efron) of the rating on the churns up to the median churn time (later churns
    censored there) and on the rows still at risk after it (``entry``: left-truncated at the split)."""
    split = float(df.loc[df["event"] > 0, "duration"].median())
    early = df.assign(event=np.where(df["duration"] <= split, df["event"], 0.0),
                      duration=np.minimum(df["duration"], split))
    late = df[df["duration"] > split].assign(entry=split)
    out: dict[str, Any] = {"split": split}
    for name, part in (("early", early), ("late", late)):
        fit = PHReg(part["duration"].to_numpy(float), part[["experience"]].to_numpy(float),
                    status=part["event"].to_numpy(float), ties="efron",
                    entry=part["entry"].to_numpy(float) if "entry" in part else None).fit()
        b, se = float(fit.params[0]), float(fit.bse[0])
        out[name] = {"events": int(part["event"].sum()), "hazard_ratio": math.exp(b),
                     "ci_low": math.exp(b - Z * se), "ci_high": math.exp(b + Z * se)}
    return out


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
           "cox_detail": {"coef": b, "se": se, "p": float(2 * sps.norm.sf(abs(b / se))), "log10_p": log10_norm2(b / se),
                          "ph_trend": float(c["ph_trend"].iloc[0])},
           "cox_time_split": time_split(frame[["duration", "event", "experience"]].astype(float))}
    if covariates:
        X, refs = one_hot(frame, covariates)
        X["duration"], X["event"] = frame["duration"].to_numpy(float), frame["event"].to_numpy(float)
        a = cox(X)
        out["cox_covariates"] = {"reference_levels": refs, "ph_p": a["ph_global"], "terms": [
            {"term": t, "hazard_ratio": math.exp(a["coef"][t]), "ci_low": math.exp(a["coef"][t] - Z * a["se"][t]),
             "ci_high": math.exp(a["coef"][t] + Z * a["se"][t]),
             "p": float(2 * sps.norm.sf(abs(a["coef"][t] / a["se"][t]))), "ph_p": float(a["ph_p"][t])}
            for t in a["coef"].index]}
    dur, ev = frame["duration"], frame["event"]
    out["censoring"] = {"n": len(frame), "events": int(ev.sum()), "censored": int((ev == 0).sum()),
                        "censored_share": float((ev == 0).mean()),"followup_min": float(dur.min()), "followup_max": float(dur.max()),
                        "followup_median": float(dur.median()),
                        "followup_median_reverse_km": km(dur, 1 - ev)["median"],
                        "censored_followup_median": float(dur[ev == 0].median())}
    if value:
        rows_out, moments = [], {}
        for t, g in groups.items():
            v = g["value"].to_numpy(float)
            mv, var_mv = float(v.mean()), float(v.var(ddof=1)) / len(v)
            psi = rmst_influence_rows(km(g["duration"], g["event"]), tau, g["duration"], g["event"])
            cov = float(psi @ (v - mv)) / len(v)
            moments[t] = (mv, var_mv, cov)
            est, se = rm[t][0] * mv, product_se(rm[t][0], rm[t][1] ** 2, mv, var_mv, cov)
            rows_out.append({"tier": t, "value_per_period": mv, "value_per_period_se": math.sqrt(var_mv),
                             "expected_value": est, "se": se, "ci_low": est - Z * se, "ci_high": est + Z * se})
        out["value"] = {"tau": tau, "tiers": rows_out}
        w = next(d for d in diffs if d["tier"] == worst)
        mv, var_mv, cov = moments[worst]
        est, se = -w["difference"] * mv, product_se(w["difference"], w["se"] ** 2, mv, var_mv, cov)
        out["value"]["gain_at_best_retention"] = {"value": est, "se": se, "ci_low": est - Z * se,
                                                  "ci_high": est + Z * se}
    return out
