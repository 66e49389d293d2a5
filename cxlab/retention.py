"""Retention by experience quality: survival analysis with lifelines (DESIGN 5.2, issue 3).

:func:`load` reads and checks the data (``duration`` and ``event``, or
``start_date`` and ``end_date`` with the study's ``observation_end``);
:func:`analyze` computes, per experience tier, the Kaplan-Meier median and
survival at the horizons, the restricted mean survival time (RMST) with a
Greenwood-type variance, the log-rank tests, the Cox model on the numeric
rating with its penalised fallback and the proportional-hazards test, the
optional adjusted Cox model and the optional value at stake.

The building blocks (:func:`km_figures`, :func:`rmst`, :func:`logrank`,
:func:`pairwise_logrank`, :func:`cox_rating`, :func:`cox_adjusted`,
:func:`holm`, :func:`derive_durations`) are pure functions on arrays or frames.
"""
from __future__ import annotations

import logging
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import data as d
from .errors import (CovariateWarning, DataError, FollowUpWarning, ModelWarning, NoEventsWarning,
                     PenalizedFitWarning, collecting_warnings, warn)
from .stats import log10_chi2_sf
from .params import RetentionStudy
from .tiers import assign_tiers, warn_empty_tiers

log = logging.getLogger(__name__)

Z95 = float(sps.norm.ppf(0.975))
MEDIAN_TOL = 1e-9
PENALIZER = 0.1
DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
RESERVED = ("experience", "tier", "duration", "event", "start_date", "end_date", "value")
# |coefficient x standard deviation of the covariate| above this is a diverging fit (hazard ratio per SD > e^10)
DIVERGENCE = 10.0


@contextmanager
def lifelines_caveats() -> Iterator[None]:
    """Turn lifelines' statistical warnings raised in the block into cxlab caveat sentences.

    lifelines reports statistical trouble (a poor approximation, a fit that
    struggles) with its own warning classes; here they become
    :class:`~cxlab.errors.ModelWarning` sentences that the report shows.
    Other warnings pass through unchanged.
    """
    from lifelines.exceptions import ApproximationWarning, ConvergenceWarning, StatisticalWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, (ApproximationWarning, ConvergenceWarning, StatisticalWarning)):
            text = " ".join(str(w.message).split())
            warn(ModelWarning, f"lifelines cautions: {text[:300]}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# ----------------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------------

def parse_dates(frame: pd.DataFrame, column: str, source: str, label: str) -> pd.Series:
    """The column as datetime64 (NaT for empty cells); text that is not an ISO 8601 date is a DataError."""
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw).dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    parsed = pd.to_datetime(text.where(~empty), errors="coerce", format="ISO8601")
    bad = parsed.isna() & ~empty
    if bad.any():
        d.fail_at(bad, raw, "is not a date (write dates as YYYY-MM-DD)", source, label)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def derive_durations(start: pd.Series, end: pd.Series, observation_end: str | pd.Timestamp, time_unit: str,
                     source: str = "<data>", columns: tuple[str, str] = ("start_date", "end_date")
                     ) -> tuple[pd.Series, pd.Series]:
    """Duration (in ``time_unit``) and event (0/1) from start and end dates.

    A customer with an end date churned then (event 1, duration end - start); a
    customer without one is still active at ``observation_end`` (event 0,
    duration observation_end - start). Whole days are converted to weeks by
    dividing by 7 and to months by dividing by 365.25 / 12.

    Raises
    ------
    DataError
        A missing start date, an end date before (or on) the start date or
        after ``observation_end``, or a start date on or after ``observation_end``.
    """
    obs = pd.Timestamp(observation_end)
    start_col, end_col = columns

    if start.isna().any():
        d.fail_at(start.isna(), start, "is missing (every customer needs a start date)", source, start_col)
    active = end.isna()
    late = ~active & (end > obs)
    if late.any():
        d.fail_at(late, end, f"is after observation_end {obs.date().isoformat()}", source, end_col)
    early = ~active & (end < start)
    if early.any():
        d.fail_at(early, end, "is before the start date", source, end_col)
    same = ~active & (end == start)
    if same.any():
        d.fail_at(same, end, "is the start date: the tenure is zero (durations must be > 0)", source, end_col)
    unborn = active & (start >= obs)
    if unborn.any():
        d.fail_at(unborn, start, f"is on or after observation_end {obs.date().isoformat()}: no follow-up", source,
                  start_col)
    stop = end.where(~active, obs)
    days = (stop - start).dt.total_seconds() / 86400.0
    duration = (days / DAYS_PER_UNIT[time_unit]).astype(float).rename("duration")
    event = (~active).astype(float).rename("event")
    return duration, event


def _covariate(frame: pd.DataFrame, column: str, source: str, label: str) -> pd.Series:
    """Numeric when every non-empty value is a number, else categorical text (stripped)."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce")
    present = raw.notna() & (raw.astype("string").str.strip() != "")
    if (values.notna() == present).all():
        return values.astype(float)
    text = raw.astype("string").str.strip()
    return text.where(present.to_numpy(), None).astype(object)


def load(study: RetentionStudy, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's data as canonical columns.

    Columns of the result: ``experience``, ``tier``, ``duration``, ``event``
    (0/1), the covariates under their names, and ``value`` when the study
    names ``value_per_period``. Rows with a missing rating or covariate are
    dropped and counted in the summary.

    Raises
    ------
    DataError
        Missing, zero, negative or non-numeric durations; events other than
        0/1; unparsable dates, an end date before the start or after
        ``observation_end``; ratings outside the scale.
    """
    spec = study.data
    dates = study.observation_end is not None
    timing = ["start_date", "end_date"] if dates else ["duration", "event"]
    wanted = ["experience", *timing, *study.covariates]
    raw, source = d.read_source(spec, base_dir)
    mapping = dict(spec.columns)
    if study.value_per_period:
        mapping.setdefault("value", study.value_per_period)
        wanted.append("value")
    if not dates and "duration" not in mapping and "duration" not in raw.columns and (
            mapping.get("start_date", "start_date") in raw.columns):
        raise DataError("the data have start dates but no duration column: set observation_end in the study file "
                        "to derive durations from start_date and end_date", path=source, column="duration")
    frame, used = d.map_columns(raw, mapping, wanted, source)
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used)
    out = pd.DataFrame(index=frame.index)
    out["experience"] = d.as_numeric(frame, "experience", source, used["experience"])
    if dates:
        start = parse_dates(frame, "start_date", source, used["start_date"])
        end = parse_dates(frame, "end_date", source, used["end_date"])
        out["duration"], out["event"] = derive_durations(start, end, study.observation_end, study.time_unit,
                                                         source, (used["start_date"], used["end_date"]))
        out["start_date"], out["end_date"] = start, end
    else:
        out["duration"] = d.as_numeric(frame, "duration", source, used["duration"])
        bad = out["duration"].isna() | ~np.isfinite(out["duration"]) | (out["duration"] <= 0)
        if bad.any():
            value = out["duration"][bad].iloc[0]
            what = "is missing" if pd.isna(value) else ("is not finite" if not np.isfinite(value) else
                                                         "is zero" if value == 0 else "is negative")
            d.fail_at(bad, frame["duration"], f"{what} (durations must be numbers > 0)", source, used["duration"])
        out["event"] = d.as_binary(frame, "event", source, used["event"])
        if out["event"].isna().any():
            d.fail_at(out["event"].isna(), frame["event"], "is missing (event must be 1 churned or 0 still a customer)",
                      source, used["event"])
    for name in study.covariates:
        out[name] = _covariate(frame, name, source, used[name])
    if study.value_per_period:
        out["value"] = d.as_numeric(frame, "value", source, used["value"])
        neg = out["value"] < 0
        if neg.any():
            d.fail_at(neg, frame["value"], "values per period must be >= 0", source, used["value"])
    lo, hi = study.experience.scale
    d.check_range(out["experience"], lo, hi, source, used["experience"], raw=frame["experience"])
    out = d.drop_missing(out, ["experience", *study.covariates], summary)
    if out.empty:
        raise DataError("no rows left after dropping rows with missing values", path=source)
    out["tier"] = assign_tiers(out["experience"], study.experience, source, used["experience"])
    return out, summary


# ----------------------------------------------------------------------------------------------------------
# Kaplan-Meier, RMST
# ----------------------------------------------------------------------------------------------------------

def km_table(duration: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier estimate at each distinct event time.

    Returns a frame with columns ``time``, ``at_risk``, ``events``,
    ``survival`` (S just after ``time``), one row per time with at least one event.
    """
    t = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=float)
    times, inverse = np.unique(t, return_inverse=True)
    removed = np.bincount(inverse, minlength=len(times)).astype(float)
    deaths = np.bincount(inverse, weights=e, minlength=len(times))
    at_risk = len(t) - np.concatenate([[0.0], np.cumsum(removed)[:-1]])
    keep = deaths > 0
    at_risk, deaths, times = at_risk[keep], deaths[keep], times[keep]
    surv = np.cumprod(1.0 - deaths / at_risk)
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": deaths, "survival": surv})


def km_median(table: pd.DataFrame) -> float | None:
    """First time at which survival is at or below 0.5 (within 1e-9); None when not reached."""
    hit = np.flatnonzero(table["survival"].to_numpy() <= 0.5 + MEDIAN_TOL)
    return float(table["time"].iloc[hit[0]]) if hit.size else None


def survival_at(table: pd.DataFrame, horizon: float, last_time: float) -> float | None:
    """KM survival at ``horizon`` (events at the horizon included); None past the follow-up ``last_time``.

    Past the last observed time the estimate is undefined unless survival has already reached 0.
    """
    times, surv = table["time"].to_numpy(), table["survival"].to_numpy()
    k = np.searchsorted(times, horizon, side="right")
    value = float(surv[k - 1]) if k > 0 else 1.0
    if horizon > last_time and value > 0:
        return None
    return value


def rmst(table: pd.DataFrame, tau: float) -> tuple[float, float]:
    """Restricted mean survival time up to ``tau`` and its Greenwood-type variance.

    RMST = integral of the KM step function from 0 to tau (flat after the last
    event time). Variance = sum over event times t_i <= tau of
    A_i^2 d_i / (n_i (n_i - d_i)), A_i the area under S from t_i to tau
    (terms with n_i = d_i have A_i = 0 and contribute nothing).
    """
    tab = table[table["time"] <= tau]
    times = tab["time"].to_numpy()
    surv = tab["survival"].to_numpy()
    grid = np.concatenate([[0.0], times, [tau]])
    level = np.concatenate([[1.0], surv])
    pieces = level * np.diff(grid)
    area = float(pieces.sum())
    # A_i: area from t_i to tau = sum of the pieces after the i-th knot
    tail = np.cumsum(pieces[::-1])[::-1][1:]
    n, dd = tab["at_risk"].to_numpy(), tab["events"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(tail > 0, tail ** 2 * dd / (n * (n - dd)), 0.0)
    return area, float(terms.sum())


def km_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Tidy Kaplan-Meier curves by tier with lifelines' 95% bands (exponential Greenwood).

    Columns: tier, time, survival, ci_low, ci_high (a row at time 0 with survival 1 per tier).
    """
    from lifelines import KaplanMeierFitter

    parts = []
    for label, sub in frame.groupby("tier", observed=False):
        if sub.empty:
            continue
        with lifelines_caveats():
            km = KaplanMeierFitter().fit(sub["duration"].to_numpy(), sub["event"].to_numpy())
        ci = km.confidence_interval_
        parts.append(pd.DataFrame({"tier": str(label), "time": km.survival_function_.index.to_numpy(float),
                                   "survival": km.survival_function_.iloc[:, 0].to_numpy(),
                                   "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy()}))
    out = pd.concat(parts, ignore_index=True)
    labels = [str(c) for c in frame["tier"].cat.categories]
    out["tier"] = pd.Categorical(out["tier"], categories=labels, ordered=True)
    return out


def at_risk_table(frame: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
    """Number at risk (duration >= t) per tier (rows) at each of ``times`` (columns)."""
    rows = {}
    for label, sub in frame.groupby("tier", observed=False):
        dur = np.sort(sub["duration"].to_numpy())
        rows[str(label)] = len(dur) - np.searchsorted(dur, np.asarray(times, float), side="left")
    table = pd.DataFrame(rows, index=list(times)).T
    table.index.name = "tier"
    return table


# ----------------------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------------------

def holm(p: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values (None stays None and is not counted)."""
    vals = [(i, float(x)) for i, x in enumerate(p) if x is not None and not math.isnan(x)]
    m = len(vals)
    out: list[float | None] = [None] * len(p)
    running = 0.0
    for rank, (i, x) in enumerate(sorted(vals, key=lambda t: t[1])):
        running = max(running, min(1.0, (m - rank) * x))
        out[i] = running
    return out


def _test_dict(statistic: float, dof: int) -> dict[str, Any]:
    if statistic is None or not math.isfinite(statistic):
        return {"statistic": None, "dof": dof, "p": None, "log10_p": None}
    p = float(sps.chi2.sf(statistic, dof))
    return {"statistic": float(statistic), "dof": dof, "p": p, "log10_p": log10_chi2_sf(statistic, dof)}


def logrank(duration: np.ndarray, event: np.ndarray, group: np.ndarray) -> dict[str, Any]:
    """Multivariate log-rank test across the groups (lifelines): ``{statistic, dof, p, log10_p}``.

    All None (dof as computed) with fewer than two groups or no events.
    """
    from lifelines.statistics import multivariate_logrank_test

    group = np.asarray(group)
    k = len(pd.unique(group))
    if k < 2 or np.sum(event) == 0:
        return _test_dict(float("nan"), max(k - 1, 0))
    with lifelines_caveats():
        res = multivariate_logrank_test(np.asarray(duration, float), group, np.asarray(event, float))
    return _test_dict(float(res.test_statistic), k - 1)


def pairwise_logrank(frame: pd.DataFrame, versus: str) -> pd.DataFrame:
    """Log-rank test of each non-empty tier against the tier ``versus``, with Holm-adjusted p-values.

    Columns: tier, versus, statistic, p, p_holm, log10_p.
    """
    from lifelines.statistics import logrank_test

    ref = frame[frame["tier"] == versus]
    rows = []
    for label, sub in frame.groupby("tier", observed=False):
        if str(label) == versus or sub.empty:
            continue
        if sub["event"].sum() + ref["event"].sum() == 0:
            stat = float("nan")
        else:
            with lifelines_caveats():
                stat = float(logrank_test(sub["duration"], ref["duration"], sub["event"], ref["event"]).test_statistic)
        t = _test_dict(stat, 1)
        rows.append({"tier": str(label), "versus": versus, "statistic": t["statistic"], "p": t["p"],
                     "log10_p": t["log10_p"]})
    table = pd.DataFrame(rows, columns=["tier", "versus", "statistic", "p", "log10_p"])
    table.insert(4, "p_holm", holm(table["p"].tolist()))
    return table


# ----------------------------------------------------------------------------------------------------------
# Cox models
# ----------------------------------------------------------------------------------------------------------

def monotone_likelihood(duration: np.ndarray, event: np.ndarray, x: np.ndarray) -> bool:
    """True when the partial likelihood in one covariate has no finite maximum.

    That happens when every customer who churned had the largest (or every
    one the smallest) value of ``x`` among those still at risk at that time:
    the coefficient then diverges to +inf (-inf).
    """
    t, e, x = np.asarray(duration, float), np.asarray(event, float) > 0, np.asarray(x, float)
    if not e.any():
        return False
    order = np.argsort(t, kind="stable")
    ts, xs, es = t[order], x[order], e[order]
    first = np.searchsorted(ts, ts, side="left")      # start of each row's tie group = its risk set
    rmax = np.maximum.accumulate(xs[::-1])[::-1][first]
    rmin = np.minimum.accumulate(xs[::-1])[::-1][first]
    return bool(np.all(xs[es] >= rmax[es]) or np.all(xs[es] <= rmin[es]))


def _fit_cox(df: pd.DataFrame, penalizer: float) -> tuple[Any, bool]:
    """Fit lifelines' CoxPHFitter (Efron ties); return (fitter or None, converged)."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter(penalizer=penalizer).fit(df, "duration", "event", batch_mode=True)
        except (ConvergenceError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            log.info("Cox fit failed (penalizer %s): %s", penalizer, exc)
            return None, False
    failed = any("converge" in str(w.message).lower() for w in caught)
    coefs = cph.params_.to_numpy()
    ses = cph.standard_errors_.to_numpy()
    sd = df.drop(columns=["duration", "event"]).std().to_numpy()
    diverged = (not np.all(np.isfinite(coefs)) or not np.all(np.isfinite(ses))
                or np.any(np.abs(coefs * sd) > DIVERGENCE))
    return cph, not (failed or diverged)


def schoenfeld_scaled(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    """Scaled Schoenfeld residuals exactly as lifelines defines them (Efron ties), vectorised.

    lifelines' own ``compute_residuals(kind="scaled_schoenfeld")`` loops in
    Python with a growing array (minutes at 10^6 rows); this gives the same
    numbers, in the fitted model's row order, for
    ``proportional_hazard_test(..., precomputed_residuals=...)``.
    """
    names = list(cph.params_.index)
    order = cph.durations.index
    sorted_df = df.loc[order]
    t = sorted_df["duration"].to_numpy(float)
    e = sorted_df["event"].to_numpy(float) > 0
    x = sorted_df[names].to_numpy(float)
    phi = np.exp(x @ cph.params_.to_numpy())
    times, start = np.unique(t, return_index=True)          # t is sorted: groups are contiguous
    group = np.searchsorted(times, t)
    # risk-set sums at each distinct time: everything from the group's start onward
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


def ph_test(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    """lifelines' Schoenfeld-residual test of proportional hazards (rank time transform), per covariate.

    Returns a frame indexed by covariate with ``test_statistic`` and ``p``.
    """
    from lifelines.statistics import proportional_hazard_test

    resid = schoenfeld_scaled(cph, df)
    with lifelines_caveats():
        res = proportional_hazard_test(cph, df, time_transform="rank", precomputed_residuals=resid)
    return res.summary[["test_statistic", "p"]]


@dataclass
class CoxFit:
    """A Cox model's figures: coefficients table, penalizer, separation, PH test."""

    table: pd.DataFrame            # term, coef, se, hazard_ratio, ci_low, ci_high, p, ph_p
    penalizer: float | None
    separation: bool
    ph_p: float | None             # global (single covariate) or None
    model: Any = None


def _summarise(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    coef = cph.params_.to_numpy()
    se = cph.standard_errors_.to_numpy()
    z = coef / se
    try:
        ph = ph_test(cph, df)["p"].reindex(cph.params_.index).to_numpy()
    except Exception as exc:  # the PH test is a diagnostic: its failure must not sink the study
        log.warning("proportional-hazards test failed: %s", exc)
        ph = np.full(len(coef), np.nan)
    return pd.DataFrame({"term": list(cph.params_.index), "coef": coef, "se": se, "hazard_ratio": np.exp(coef),
                         "ci_low": np.exp(coef - Z95 * se), "ci_high": np.exp(coef + Z95 * se),
                         "p": 2 * sps.norm.sf(np.abs(z)), "ph_p": ph})


def cox_fit(df: pd.DataFrame, check_monotone: str | None = None) -> CoxFit:
    """Cox model of ``duration``/``event`` on the other columns of ``df``, Efron ties, no penalty.

    When the fit does not converge or a coefficient diverges (or, with
    ``check_monotone`` naming a column, that column's partial likelihood is
    monotone), the model is refit with a ridge penalizer of 0.1 and
    ``separation`` is true.
    """
    df = df.reset_index(drop=True)
    cols = [c for c in df.columns if c not in ("duration", "event")]
    empty = pd.DataFrame(columns=["term", "coef", "se", "hazard_ratio", "ci_low", "ci_high", "p", "ph_p"])
    if df["event"].sum() == 0 or not cols:
        return CoxFit(empty, None, False, None)
    monotone = check_monotone is not None and monotone_likelihood(df["duration"], df["event"], df[check_monotone])
    cph, ok = (None, False) if monotone else _fit_cox(df, 0.0)
    penalizer = 0.0
    if not ok:
        cph, _ = _fit_cox(df, PENALIZER)
        penalizer = PENALIZER
        if cph is None:
            return CoxFit(empty, None, True, None)
    table = _summarise(cph, df)
    ph_p = float(table["ph_p"].iloc[0]) if len(table) == 1 and np.isfinite(table["ph_p"].iloc[0]) else None
    return CoxFit(table, penalizer, penalizer > 0, ph_p, cph)


def cox_rating(duration: np.ndarray, event: np.ndarray, rating: np.ndarray) -> dict[str, Any]:
    """DESIGN 5.2 ``cox``: hazard ratio per rating point with its interval, penalizer, separation, ph_p.

    Figures are None when there are no events or the rating is constant.
    """
    df = pd.DataFrame({"duration": np.asarray(duration, float), "event": np.asarray(event, float),
                       "experience": np.asarray(rating, float)})
    none = {"hazard_ratio": None, "ci_low": None, "ci_high": None, "penalizer": None, "separation": False,
            "ph_p": None}
    if df["event"].sum() == 0 or df["experience"].nunique() < 2:
        return none
    fit = cox_fit(df, check_monotone="experience")
    if fit.table.empty:
        return dict(none, separation=fit.separation)
    row = fit.table.iloc[0]
    return {"hazard_ratio": float(row.hazard_ratio), "ci_low": float(row.ci_low), "ci_high": float(row.ci_high),
            "penalizer": fit.penalizer, "separation": fit.separation, "ph_p": fit.ph_p,
            "coef": float(row.coef), "se": float(row.se), "p": float(row.p),
            "log10_p": float((sps.norm.logsf(abs(row.coef / row.se)) + math.log(2)) / math.log(10))}


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Rating plus covariates as model columns; categorical ones one-hot against a reference level.

    The reference level is the most frequent one (ties: the first in sorted
    order). A covariate with a single value is left out. Returns the matrix,
    ``{covariate: reference level}`` and the list of covariates left out.
    """
    X = pd.DataFrame({"experience": frame["experience"].to_numpy(float)})
    refs: dict[str, str] = {}
    dropped: list[str] = []
    for name in covariates:
        col = frame[name].reset_index(drop=True)
        if col.nunique() < 2:
            dropped.append(name)
            continue
        if pd.api.types.is_numeric_dtype(col):
            X[name] = col.to_numpy(float)
            continue
        counts = col.astype(str).value_counts()
        top = counts.max()
        ref = sorted(counts.index[counts == top])[0]
        refs[name] = ref
        for level in sorted(counts.index):
            if level != ref:
                X[f"{name}={level}"] = (col.astype(str) == level).to_numpy(float)
    return X, refs, dropped


def cox_adjusted(frame: pd.DataFrame, covariates: Sequence[str]) -> dict[str, Any] | None:
    """Cox model on the rating and the covariates: a hazard-ratio table (None without covariates)."""
    if not covariates:
        return None
    X, refs, dropped = design_matrix(frame, covariates)
    for name in dropped:
        warn(CovariateWarning, f"Covariate {name!r} takes a single value in the data; it was left out of the "
                               "adjusted Cox model.")
    X["duration"] = frame["duration"].to_numpy(float)
    X["event"] = frame["event"].to_numpy(float)
    fit = cox_fit(X)
    terms = []
    for _, r in fit.table.iterrows():
        cov, _, level = str(r.term).partition("=")
        terms.append({"term": str(r.term), "covariate": cov, "level": level or None,
                      "reference": refs.get(cov), "hazard_ratio": r.hazard_ratio, "ci_low": r.ci_low,
                      "ci_high": r.ci_high, "p": r.p, "ph_p": r.ph_p})
    if fit.separation:
        warn(PenalizedFitWarning, "The adjusted Cox model (rating and covariates) did not converge to finite "
                                  f"estimates; its hazard ratios come from a refit with a ridge penalty of {PENALIZER} "
                                  "and are shrunk toward 1.")
    return {"terms": terms, "reference_levels": refs, "left_out": dropped, "penalizer": fit.penalizer,
            "separation": fit.separation}


# ----------------------------------------------------------------------------------------------------------
# The analysis
# ----------------------------------------------------------------------------------------------------------

@dataclass
class RetentionResult:
    """Figures of one retention analysis.

    Attributes
    ----------
    results : dict
        DESIGN 5.2 ``results`` plus the issue's additions (``pairwise_logrank``,
        ``rmst``, ``rmst_difference``, ``cox_covariates``, ``value``, ``censoring``).
    tiers : DataFrame
        One row per tier: n, events, censored, median, survival at each horizon, rmst, its se and interval.
    curves : DataFrame
        Tidy KM curves with bands (see :func:`km_curves`).
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


def default_tau(frame: pd.DataFrame) -> float:
    """RMST window when the study sets none: the shortest of the tiers' longest follow-up times."""
    longest = frame.groupby("tier", observed=True)["duration"].max()
    return float(longest.min())


def analyze(frame: pd.DataFrame, study: RetentionStudy) -> RetentionResult:
    """Compute DESIGN 5.2 and the issue's additions on a frame from :func:`load`."""
    unit = study.time_unit
    with collecting_warnings() as sentences:
        warn_empty_tiers(frame["tier"])
        labels = [str(c) for c in frame["tier"].cat.categories]
        nonempty = [str(t) for t, c in frame["tier"].value_counts(sort=False).items() if c > 0]
        best, worst = nonempty[-1], nonempty[0]
        total_events = int(frame["event"].sum())
        tau = float(study.rmst_tau) if study.rmst_tau is not None else default_tau(frame)
        if total_events == 0:
            warn(NoEventsWarning, f"No customer churned in the data (0 events among {len(frame):,}): survival "
                                  "stays at 100%, medians are not reached, and the log-rank tests and the Cox "
                                  "model are not defined.")
        groups = {str(k): g for k, g in frame.groupby("tier", observed=False)}
        rows, tier_results = [], []
        for label in labels:
            sub = groups[label]
            n, ev = len(sub), int(sub["event"].sum())
            row: dict[str, Any] = {"tier": label, "n": n, "events": ev, "censored": n - ev}
            if n == 0:
                row.update({"median": None, "rmst": None, "rmst_se": None, "last_time": None,
                            **{f"S({_key(h)})": None for h in study.horizons}})
            else:
                tab = km_table(sub["duration"].to_numpy(), sub["event"].to_numpy())
                last = float(sub["duration"].max())
                area, var = rmst(tab, tau)
                row.update({"median": km_median(tab), "rmst": area, "rmst_se": math.sqrt(var), "last_time": last})
                for h in study.horizons:
                    row[f"S({_key(h)})"] = survival_at(tab, h, last)
                    if row[f"S({_key(h)})"] is None:
                        warn(FollowUpWarning, f"Tier {label}'s follow-up ends at {last:.1f} {unit}, before the "
                                              f"{_key(h)}-{unit} horizon: its survival there is not estimated.")
                if tau > last and (tab.empty or tab["survival"].iloc[-1] > 0):
                    warn(FollowUpWarning, f"Tier {label}'s follow-up ends at {last:.1f} {unit}, before the RMST "
                                          f"window of {tau:g}: its RMST assumes survival stays at its last "
                                          "estimate to the end of the window.")
                if ev == 0 and total_events > 0:
                    warn(NoEventsWarning, f"No customer in tier {label} churned ({n:,} customers, all censored): "
                                          "its survival stays at 100% and its median is not reached.")
            rows.append(row)
            tier_results.append({"tier": label, "n": n, "events": ev, "median": row["median"],
                                 "survival": {_key(h): row[f"S({_key(h)})"] for h in study.horizons},
                                 "rmst": row["rmst"]})
        tiers = pd.DataFrame(rows)
        tiers["rmst_ci_low"] = tiers["rmst"].astype(float) - Z95 * tiers["rmst_se"].astype(float)
        tiers["rmst_ci_high"] = tiers["rmst"].astype(float) + Z95 * tiers["rmst_se"].astype(float)
        tiers["tier"] = pd.Categorical(tiers["tier"], categories=labels, ordered=True)

        # RMST differences against the best tier
        b = tiers.set_index("tier").loc[best]
        diffs = []
        for _, r in tiers.iterrows():
            if r["tier"] == best or r["n"] == 0:
                continue
            diff = r["rmst"] - b["rmst"]
            se = math.sqrt(r["rmst_se"] ** 2 + b["rmst_se"] ** 2)
            p = float(2 * sps.norm.sf(abs(diff) / se)) if se > 0 else None
            log10_p = float((sps.norm.logsf(abs(diff) / se) + math.log(2)) / math.log(10)) if se > 0 else None
            diffs.append({"tier": str(r["tier"]), "difference": diff, "se": se, "ci_low": diff - Z95 * se,
                          "ci_high": diff + Z95 * se, "p": p, "log10_p": log10_p})

        live = frame[frame["tier"].astype(str).isin(nonempty)]
        lr = logrank(live["duration"].to_numpy(), live["event"].to_numpy(), live["tier"].astype(str).to_numpy())
        pairwise = pairwise_logrank(live, best) if len(nonempty) > 1 else pd.DataFrame(
            columns=["tier", "versus", "statistic", "p", "p_holm", "log10_p"])
        cox = cox_rating(frame["duration"].to_numpy(), frame["event"].to_numpy(), frame["experience"].to_numpy())
        if cox["separation"]:
            warn(PenalizedFitWarning,
                 "The Cox model on the rating has no finite estimate (monotone likelihood: at every churn, the "
                 "customer who left had the most extreme rating among those still at risk). The hazard ratio "
                 f"shown comes from a refit with a ridge penalty of {PENALIZER}; it is shrunk toward 1, so read its "
                 "direction, not its size.")
        adjusted = cox_adjusted(frame, study.covariates) if total_events > 0 else None
        value = _value_at_stake(frame, tiers, diffs, best, worst, tau, study) if study.value_per_period else None

    hr_rows = []
    if cox["hazard_ratio"] is not None:
        hr_rows.append({"model": "rating only", "term": "experience (per point)", "hazard_ratio": cox["hazard_ratio"],
                        "ci_low": cox["ci_low"], "ci_high": cox["ci_high"], "p": cox.get("p")})
    for t in (adjusted or {}).get("terms", []):
        label = (f"{t['covariate']}: {t['level']} vs {t['reference']}" if t["level"] else
                 ("experience (per point)" if t["covariate"] == "experience" else f"{t['covariate']} (per unit)"))
        hr_rows.append({"model": "adjusted", "term": label, "hazard_ratio": t["hazard_ratio"], "ci_low": t["ci_low"],
                        "ci_high": t["ci_high"], "p": t["p"]})
    hazard_ratios = pd.DataFrame(hr_rows, columns=["model", "term", "hazard_ratio", "ci_low", "ci_high", "p"])

    dur = frame["duration"]
    censoring = {"n": int(len(frame)), "events": total_events, "censored": int(len(frame) - total_events),
                 "censored_share": float(1 - total_events / len(frame)),
                 "followup_min": float(dur.min()), "followup_max": float(dur.max()),
                 "followup_median": float(dur.median()),
                 "censored_followup_median": float(dur[frame["event"] == 0].median()) if total_events < len(frame)
                 else None}
    cox_design = {k: cox[k] for k in ("hazard_ratio", "ci_low", "ci_high", "penalizer", "separation", "ph_p")}
    results = {
        "n": int(len(frame)), "events": total_events, "time_unit": unit, "horizons": list(study.horizons),
        "rmst_tau": tau, "best_tier": best, "worst_tier": worst,
        "tiers": tier_results,
        "logrank": lr,
        "pairwise_logrank": pairwise.to_dict("records"),
        "rmst": [{"tier": str(r["tier"]), "rmst": r["rmst"], "se": r["rmst_se"], "ci_low": r["rmst_ci_low"],
                  "ci_high": r["rmst_ci_high"]} for _, r in tiers.iterrows()],
        "rmst_difference": {"versus": best, "tau": tau, "tiers": diffs},
        "cox": cox_design,
        "cox_detail": {k: cox.get(k) for k in ("coef", "se", "p", "log10_p")},
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
    """Expected value per customer by tier up to tau (RMST x mean value per period), and the worst tier's gain."""
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
        # the worst tier's customers at the best tier's retention: -(RMST_worst - RMST_best) x their value
        gain = {"tier": worst, "versus": best, "value": -worst_diff["difference"] * mv,
                "ci_low": -worst_diff["ci_high"] * mv, "ci_high": -worst_diff["ci_low"] * mv}
    return {"column": study.value_per_period, "tau": tau, "tiers": out, "gain_at_best_retention": gain}


# ----------------------------------------------------------------------------------------------------------
# Words
# ----------------------------------------------------------------------------------------------------------

def _who(study: RetentionStudy, label: str) -> str:
    return f"who rated {label}" if study.experience.tiers is None else f"in the {label} tier"


def headline(result: RetentionResult, study: RetentionStudy) -> str:
    """The headline in words, from the RMST of the worst and best tiers and the hazard ratio."""
    r = result.results
    unit = r["time_unit"]
    rm = {t["tier"]: t for t in r["rmst"]}
    best, worst = rm[r["best_tier"]], rm[r["worst_tier"]]
    text = (f"Customers {_who(study, worst['tier'])} stayed {worst['rmst']:.1f} {unit} on average over the first "
            f"{r['rmst_tau']:g}, against {best['rmst']:.1f} for those {_who(study, best['tier'])}")
    cox = r["cox"]
    if r["events"] == 0:
        return text + "; no customer churned, so no hazard ratio is defined."
    if cox["hazard_ratio"] is not None:
        pen = " (penalised fit)" if cox["separation"] else ""
        text += (f"; each rating point multiplies the churn hazard by {cox['hazard_ratio']:.2f}{pen} "
                 f"(95% CI {cox['ci_low']:.2f} to {cox['ci_high']:.2f})")
    return text + "."


def headline_figures(result: RetentionResult) -> dict[str, float | None]:
    """Headline numbers for the index."""
    r = result.results
    rm = {t["tier"]: t["rmst"] for t in r["rmst"]}
    return {"hazard ratio per point": r["cox"]["hazard_ratio"],
            f"RMST worst tier ({r['worst_tier']})": rm[r["worst_tier"]],
            f"RMST best tier ({r['best_tier']})": rm[r["best_tier"]]}


def describe_censoring(result: RetentionResult) -> str:
    """One paragraph: how many churned, how many are still active, the follow-up range."""
    c = result.results["censoring"]
    unit = result.results["time_unit"]
    return (f"{c['events']:,} of {c['n']:,} customers churned during follow-up; {c['censored']:,} "
            f"({c['censored_share']:.0%}) were still customers at the end of observation (censored). Follow-up "
            f"ranges from {c['followup_min']:.3g} to {c['followup_max']:.3g} {unit} (median "
            f"{c['followup_median']:.3g}).")


def interpret_tests(result: RetentionResult, study: RetentionStudy) -> str:
    """Plain-language reading of the log-rank tests."""
    from .report import fmt_p
    r = result.results
    lr = r["logrank"]
    if lr["statistic"] is None:
        return "The log-rank test is not defined here (no events, or a single tier with customers)."
    verdict = "differs" if lr["p"] < 0.05 else "does not differ significantly"
    lines = [f"Retention {verdict} between tiers (log-rank chi-square {lr['statistic']:.1f} on {lr['dof']} df, "
             f"{fmt_p(lr['p'])})."]
    for t in r["pairwise_logrank"]:
        if t["p_holm"] is None:
            continue
        sig = "differs from" if t["p_holm"] < 0.05 else "is not distinguishable from"
        lines.append(f"- Tier {t['tier']} {sig} tier {t['versus']} (Holm-adjusted {fmt_p(t['p_holm'])}).")
    return "\n".join(lines)


def interpret_cox(result: RetentionResult) -> str:
    """Plain-language reading of the Cox model and of the proportional-hazards check."""
    cox = result.results["cox"]
    if cox["hazard_ratio"] is None:
        return "The Cox model is not defined here (no events, or a single rating value)."
    hr = cox["hazard_ratio"]
    change = f"{(1 - hr):.0%} lower" if hr < 1 else f"{(hr - 1):.0%} higher"
    text = (f"Each extra rating point goes with a churn hazard {change} at any moment of the tenure (hazard ratio "
            f"{hr:.2f}, 95% CI {cox['ci_low']:.2f} to {cox['ci_high']:.2f}).")
    if cox["separation"]:
        text += (f" This estimate comes from a penalised refit (ridge penalty {cox['penalizer']}) because the "
                 "unpenalised model has no finite estimate; it is shrunk toward 1.")
    if cox["ph_p"] is not None:
        if cox["ph_p"] < 0.05:
            text += (f"\n\n**Proportional hazards: violated** (Schoenfeld test p = {cox['ph_p']:.3g}). The effect of "
                     "the rating on churn changes over the tenure - for example strong in the first months and "
                     "fading later - so the single hazard ratio is an average over time. Read the Kaplan-Meier "
                     "curves and the RMST differences, which do not assume proportional hazards.")
        else:
            text += (f"\n\n**Proportional hazards: no evidence of a violation** (Schoenfeld test p = "
                     f"{cox['ph_p']:.3g}). The rating's effect on churn looks constant over the tenure, so the "
                     "single hazard ratio is a fair summary.")
    return text


def interpret_value(result: RetentionResult, study: RetentionStudy) -> str:
    """The value at stake in words (empty when the study names no ``value_per_period``)."""
    v = result.results.get("value")
    if not v:
        return ""
    unit = result.results["time_unit"]
    g = v["gain_at_best_retention"]
    by = {t["tier"]: t for t in v["tiers"]}
    best, worst = by[result.results["best_tier"]], by[result.results["worst_tier"]]
    text = (f"Over the first {v['tau']:g} {unit}, a customer {_who(study, worst['tier'])} is worth "
            f"{worst['expected_value']:,.0f} in `{v['column']}` on average (95% CI {worst['ci_low']:,.0f} to "
            f"{worst['ci_high']:,.0f}), against {best['expected_value']:,.0f} for one {_who(study, best['tier'])} "
            "(mean time as a customer x mean value per period).")
    if g is not None:
        text += (f" Retained like the best tier, a customer {_who(study, g['tier'])} would bring "
                 f"{g['value']:,.0f} more (95% CI {g['ci_low']:,.0f} to {g['ci_high']:,.0f}), at their own "
                 "value per period: the stake of a better experience in customer lifetime value.")
    return text
