"""Survival estimators: Kaplan-Meier with its log(-log) band and median interval, restricted mean survival
time, log-rank tests, and durations from dates (calendar months).

Every estimator works on counts: per distinct time, the rows observed until
then (events and censored) and the events then (:func:`tally` from rows,
:mod:`cxlab.stats.counts` for millions of rows), so that the figures are the
same whether they come from rows or from aggregated counts. The formulas are
lifelines' and R's (tested against both); the RMST variance is computed here
(lifelines' is wrong, see STACK.md).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import Z95
from .multitest import holm
from .tables import log10_chi2_sf

MEDIAN_TOL = 1e-9
MIN_AT_RISK_DRAWN = 10
"""Kaplan-Meier curves are drawn only while at least this many customers of the tier are at risk."""


def tally(duration: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows to counts: distinct sorted times, rows observed until each (events and censored), events at each."""
    t = np.asarray(duration, dtype=float)
    times, inverse = np.unique(t, return_inverse=True)
    removed = np.bincount(inverse, minlength=len(times)).astype(float)
    deaths = np.bincount(inverse, weights=np.asarray(event, dtype=float), minlength=len(times))
    return times, removed, deaths


def km_counts(times: np.ndarray, removed: np.ndarray, deaths: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier estimate from counts: distinct sorted ``times``, rows ``removed`` at each (events and
    censored) and ``deaths`` (events) at each.

    Returns a frame with columns ``time``, ``at_risk``, ``events``,
    ``survival`` (S just after ``time``), one row per time with at least one event.
    """
    removed = np.asarray(removed, float)
    at_risk = removed.sum() - np.concatenate([[0.0], np.cumsum(removed)[:-1]])
    keep = np.asarray(deaths) > 0
    at_risk, deaths, times = at_risk[keep], np.asarray(deaths, float)[keep], np.asarray(times, float)[keep]
    surv = np.cumprod(1.0 - deaths / at_risk)
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": deaths, "survival": surv})


def km_table(duration: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier estimate at each distinct event time from rows (:func:`tally`, then :func:`km_counts`)."""
    return km_counts(*tally(duration, event))


def km_band(table: pd.DataFrame) -> pd.DataFrame:
    """Pointwise 95% band of a :func:`km_table` on the log(-log) scale (lifelines' default, R's
    ``survfit(conf.type = "log-log")``): columns ``ci_low`` and ``ci_high`` added.

    With Greenwood's V = sum d / (n (n - d)) over event times up to t, the band is
    S^exp(+-z sqrt(V) / log S). Where S = 0 (the last customer at risk churned) the band is undefined
    (NaN), as in R; lifelines sets it to 0 there.
    """
    surv = table["survival"].to_numpy(float)
    n, dd = table["at_risk"].to_numpy(float), table["events"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(n > dd, dd / (n * (n - dd)), np.inf))
        half = Z95 * np.sqrt(greenwood) / np.abs(np.log(surv))
        low = np.where(surv > 0, surv ** np.exp(half), np.nan)
        high = np.where(surv > 0, surv ** np.exp(-half), np.nan)
    return table.assign(ci_low=np.where(surv >= 1, 1.0, low), ci_high=np.where(surv >= 1, 1.0, high))


def _first_at_or_below_half(times: np.ndarray, values: np.ndarray) -> float | None:
    hit = np.flatnonzero(values <= 0.5 + MEDIAN_TOL)
    return float(times[hit[0]]) if hit.size else None


def km_median(table: pd.DataFrame) -> float | None:
    """First time at which survival is at or below 0.5 (within 1e-9); None when not reached."""
    return _first_at_or_below_half(table["time"].to_numpy(), table["survival"].to_numpy())


def km_median_ci(table: pd.DataFrame) -> tuple[float | None, float | None]:
    """95% interval of the KM median from the log(-log) band (:func:`km_band`).

    The lower limit is the first time at which the lower band is at or below
    0.5, the upper limit the first time at which the upper band is; None when
    not reached (as R's ``quantile.survfit`` on ``conf.type = "log-log"``,
    including its NA where the curve reaches 0).
    """
    band = km_band(table)
    times = band["time"].to_numpy()
    return (_first_at_or_below_half(times, band["ci_low"].to_numpy()),
            _first_at_or_below_half(times, band["ci_high"].to_numpy()))


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


Tally = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(distinct sorted times, rows removed at each, events at each): a group's counts (:func:`tally`)."""


def km_curves(tallies: dict[str, Tally]) -> pd.DataFrame:
    """Tidy Kaplan-Meier curves by tier with their 95% bands (log(-log) scale, Greenwood variance), from counts.

    ``tallies`` maps each tier, in order, to its counts (:func:`tally`); empty tiers are skipped.
    Columns: tier, time, survival, ci_low, ci_high, at_risk (customers of the tier with duration >= time);
    one row at time 0 (survival 1) and one at each distinct time of the tier, as lifelines'
    ``KaplanMeierFitter`` tabulates it (where survival reaches 0 the band is 0, as in lifelines).
    """
    parts = []
    for label, (times, removed, deaths) in tallies.items():
        if removed.sum() == 0:
            continue
        band = km_band(km_counts(times, removed, deaths))
        grid = np.concatenate([[0.0], times]) if times[0] > 0 else np.asarray(times, float)
        k = np.searchsorted(band["time"].to_numpy(), grid, side="right")
        pick = lambda col, first: np.where(k > 0, np.concatenate([[first], band[col].to_numpy()])[k], first)  # noqa: E731
        surv = pick("survival", 1.0)
        low, high = pick("ci_low", 1.0), pick("ci_high", 1.0)
        dead = surv <= 0
        before = np.concatenate([[0.0], np.cumsum(removed)])
        at_risk = removed.sum() - before[np.searchsorted(times, grid, side="left")]
        parts.append(pd.DataFrame({"tier": label, "time": grid, "survival": surv,
                                   "ci_low": np.where(dead, 0.0, low), "ci_high": np.where(dead, 0.0, high),
                                   "at_risk": np.round(at_risk).astype(np.int64)}))
    out = pd.concat(parts, ignore_index=True)
    out["tier"] = pd.Categorical(out["tier"], categories=list(tallies), ordered=True)
    return out


def at_risk_table(tallies: dict[str, Tally], times: Sequence[float]) -> pd.DataFrame:
    """Number at risk (duration >= t) per tier (rows) at each of ``times`` (columns), from counts."""
    rows = {}
    grid = np.asarray(times, float)
    for label, (t, removed, _) in tallies.items():
        before = np.concatenate([[0.0], np.cumsum(removed)])
        rows[label] = (removed.sum() - before[np.searchsorted(t, grid, side="left")]).astype(int)
    table = pd.DataFrame(rows, index=list(times)).T
    table.index.name = "tier"
    return table


def _test_dict(statistic: float, dof: int) -> dict[str, Any]:
    if statistic is None or not math.isfinite(statistic):
        return {"statistic": None, "dof": dof, "p": None, "log10_p": None}
    p = float(sps.chi2.sf(statistic, dof))
    return {"statistic": float(statistic), "dof": dof, "p": p, "log10_p": log10_chi2_sf(statistic, dof)}


def logrank_counts(time: np.ndarray, group: np.ndarray, removed: np.ndarray, deaths: np.ndarray) -> dict[str, Any]:
    """Multivariate log-rank test across groups from counts: ``{statistic, dof, p, log10_p}``.

    ``time``, ``group``, ``removed``, ``deaths`` are parallel arrays of cells (a time, a group, the rows
    observed until then and the events then; a time may repeat across groups). The statistic is lifelines'
    ``multivariate_logrank_test``: observed minus expected events per group and the hypergeometric
    covariance summed over the distinct event times, as a quadratic form on all groups but the last
    (pseudo-inverse). All None (dof as computed) with fewer than two groups or no events.
    """
    labels, g = np.unique(np.asarray(group), return_inverse=True)
    k = len(labels)
    deaths = np.asarray(deaths, float)
    if k < 2 or deaths.sum() == 0:
        return _test_dict(float("nan"), max(k - 1, 0))
    times, ti = np.unique(np.asarray(time, float), return_inverse=True)
    size = len(times) * k
    rm = np.bincount(ti * k + g, weights=np.asarray(removed, float), minlength=size).reshape(len(times), k)
    ob = np.bincount(ti * k + g, weights=deaths, minlength=size).reshape(len(times), k)
    n_ij = rm.sum(0) - np.vstack([np.zeros(k), np.cumsum(rm, 0)[:-1]])      # at risk per time and group
    d_i = ob.sum(1)
    keep = d_i > 0
    n_ij, ob, d_i = n_ij[keep], ob[keep], d_i[keep]
    n_i = n_ij.sum(1)
    z = ob.sum(0) - (n_ij * (d_i / n_i)[:, None]).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (n_i - d_i) / (n_i - 1)
    factor = np.where(np.isfinite(ratio), ratio, 1.0) * d_i / n_i ** 2
    v = -(n_ij * factor[:, None]).T @ n_ij
    v[np.diag_indices(k)] += (n_ij * (factor * n_i)[:, None]).sum(0)
    stat = float(z[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ z[:-1])
    return _test_dict(stat, k - 1)


def logrank(duration: np.ndarray, event: np.ndarray, group: np.ndarray) -> dict[str, Any]:
    """Multivariate log-rank test across the groups of rows (:func:`logrank_counts` on each row as a cell)."""
    return logrank_counts(duration, group, np.ones(len(np.asarray(duration))), event)


def pairwise_logrank(tallies: dict[str, Tally], versus: str) -> pd.DataFrame:
    """Log-rank test of each non-empty tier against the tier ``versus``, with Holm-adjusted p-values, from counts.

    Columns: tier, versus, statistic, p, p_holm, log10_p.
    """
    ref = tallies[versus]
    rows = []
    for label, tab in tallies.items():
        if label == versus or tab[1].sum() == 0:
            continue
        if tab[2].sum() + ref[2].sum() == 0:
            t = _test_dict(float("nan"), 1)
        else:
            both = [np.concatenate([a, b]) for a, b in zip(tab, ref)]
            t = logrank_counts(both[0], np.repeat([0, 1], [len(tab[0]), len(ref[0])]), both[1], both[2])
        rows.append({"tier": label, "versus": versus, "statistic": t["statistic"], "p": t["p"],
                     "log10_p": t["log10_p"]})
    table = pd.DataFrame(rows, columns=["tier", "versus", "statistic", "p", "log10_p"])
    table.insert(4, "p_holm", holm(table["p"].tolist()))
    return table


def drawable(curves: pd.DataFrame, min_at_risk: int = MIN_AT_RISK_DRAWN) -> pd.DataFrame:
    """The part of :func:`km_curves` to draw: each tier while at least ``min_at_risk`` customers are at risk.

    A tier's curve ends at the last time with ``at_risk >= min_at_risk`` (a
    tier with fewer customers is not drawn); the estimates are unaffected.
    """
    return curves[curves["at_risk"] >= min_at_risk]


def calendar_months(start: pd.Series, end: pd.Series) -> pd.Series:
    """Durations in calendar months between dates (DESIGN 5.2, wave 2).

    Anniversary k is ``start + k months`` with its day clamped to the length
    of its month, always from the start (dateutil ``relativedelta(months=k)``,
    lubridate ``%m+%``: 31 January + 1 = 28/29 February, + 2 = 31 March). With
    k the largest such that anniversary k <= end, the duration is
    k + (end - anniversary k) / (anniversary k+1 - anniversary k), both in days
    (fractional days when the dates carry a time of day).
    """
    s_all = pd.to_datetime(start).to_numpy("datetime64[ns]")
    e_all = pd.to_datetime(end).to_numpy("datetime64[ns]")
    out = np.empty(len(s_all))
    for i in range(0, len(s_all), CHUNK):    # elementwise, in slices: temporaries stay small at 10^7 rows
        out[i:i + CHUNK] = _calendar_months(s_all[i:i + CHUNK], e_all[i:i + CHUNK])
    return pd.Series(out, index=getattr(end, "index", None), name="duration")


CHUNK = 1_000_000


def _calendar_months(s: np.ndarray, e: np.ndarray) -> np.ndarray:
    s_day = s.astype("datetime64[D]")
    s_month = s.astype("datetime64[M]")
    day_of_month = (s_day - s_month.astype("datetime64[D]")).astype(np.int64)   # 0-based
    time_of_day = s - s_day.astype("datetime64[ns]")

    def anniversary(k: np.ndarray) -> np.ndarray:
        month = s_month + k.astype("timedelta64[M]")
        length = ((month + np.timedelta64(1, "M")).astype("datetime64[D]") - month.astype("datetime64[D]"))
        day = np.minimum(day_of_month, length.astype(np.int64) - 1)
        return (month.astype("datetime64[D]") + day.astype("timedelta64[D]")).astype("datetime64[ns]") + time_of_day

    k = (e.astype("datetime64[M]") - s_month).astype(np.int64)
    k = np.where(anniversary(k) > e, k - 1, k)
    lo, hi = anniversary(k), anniversary(k + 1)
    frac = (e - lo).astype("timedelta64[ns]").astype(np.float64) / (hi - lo).astype("timedelta64[ns]").astype(
        np.float64)
    return k + frac


def duration_between(start: pd.Series, end: pd.Series, time_unit: str) -> pd.Series:
    """Durations from ``start`` to ``end`` in ``time_unit``: calendar months, weeks (days / 7) or days."""
    if time_unit == "months":
        return calendar_months(start, end)
    days = (pd.to_datetime(end) - pd.to_datetime(start)).dt.total_seconds() / 86400.0
    per = {"days": 1.0, "weeks": 7.0}
    if time_unit not in per:
        raise ValueError(f"time_unit must be days, weeks or months, not {time_unit!r}")
    return (days / per[time_unit]).astype(float).rename("duration")
