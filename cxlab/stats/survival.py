"""Survival estimators: Kaplan-Meier with its log(-log) band and median interval, restricted mean survival
time, log-rank tests, and durations from dates (calendar months).

Every estimator works on counts: per distinct time, the rows observed until
then (events and censored) and the events then (:func:`tally` from rows,
:mod:`cxlab.stats.counts` for millions of rows). lifelines computes the
figures it has, on the counts passed as weighted rows (per time, one row of
the events and one of the censored, weighted by their integer counts, which
lifelines tabulates exactly as the replicated rows):

- Kaplan-Meier survival, its at-risk and event tables and its log(-log) band
  (Greenwood variance): ``KaplanMeierFitter.fit(..., weights=)``;
- the RMST point estimate: ``lifelines.utils.restricted_mean_survival_time``.

cxlab's own code is kept only where lifelines lacks the figure or gets it
wrong: the RMST variance (lifelines' is wrong, STACK.md), the log-rank tests
(:func:`logrank_counts`, from the counts in float64: lifelines' check that
observed minus expected sums to zero fails at 10^8 customers), the band where
S = 0 (NaN, as R; lifelines sets 0), DESIGN's median (first time S <= 0.5 within
1e-9) and its interval rule, survival past follow-up (undefined), Holm's
adjustment of the pairwise tests, ``log10_p``, and calendar-month durations.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
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


def km_fit(times: np.ndarray, removed: np.ndarray, deaths: np.ndarray) -> KaplanMeierFitter:
    """lifelines' ``KaplanMeierFitter`` on counts: per distinct time, one row of the events and one of the
    censored, weighted by their (integer) counts, which lifelines tabulates exactly as the replicated rows."""
    t, e, w = _weighted_rows(times, removed, deaths)
    return KaplanMeierFitter().fit(t, e, weights=w)


def km_events(kmf: KaplanMeierFitter) -> pd.DataFrame:
    """lifelines' Kaplan-Meier estimate (:func:`km_fit`) at its event times.

    Returns a frame with columns ``time``, ``at_risk``, ``events``, ``survival`` (S just after ``time``)
    and ``ci_low``, ``ci_high`` (lifelines' pointwise 95% band on the log(-log) scale, Greenwood variance),
    one row per time with at least one event. Where S = 0 (the last customer at risk churned) the band is
    undefined: NaN here, as in R's ``survfit(conf.type = "log-log")`` (lifelines sets it to 0, which would
    end the median's upper limit there).
    """
    table = kmf.event_table
    keep = table["observed"].to_numpy() > 0
    at = table.index.to_numpy(float)[keep]
    surv = kmf.survival_function_.iloc[:, 0].loc[at].to_numpy(float)
    band = kmf.confidence_interval_.loc[at].to_numpy(float)
    dead = surv <= 0
    return pd.DataFrame({"time": at, "at_risk": table["at_risk"].to_numpy(float)[keep],
                         "events": table["observed"].to_numpy(float)[keep], "survival": surv,
                         "ci_low": np.where(dead, np.nan, band[:, 0]), "ci_high": np.where(dead, np.nan, band[:, 1])})


def km_table(duration: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan-Meier estimate at each distinct event time from rows: :func:`km_events` of :func:`km_fit` of
    their :func:`tally`."""
    return km_events(km_fit(*tally(duration, event)))


def _first_at_or_below_half(times: np.ndarray, values: np.ndarray) -> float | None:
    hit = np.flatnonzero(values <= 0.5 + MEDIAN_TOL)
    return float(times[hit[0]]) if hit.size else None


def km_median(table: pd.DataFrame) -> float | None:
    """First time at which survival is at or below 0.5 (within 1e-9); None when not reached."""
    return _first_at_or_below_half(table["time"].to_numpy(), table["survival"].to_numpy())


def km_median_ci(table: pd.DataFrame) -> tuple[float | None, float | None]:
    """95% interval of the KM median from the log(-log) band of a :func:`km_events` table (DESIGN 5.2, wave 2).

    The lower limit is the first time at which the lower band is at or below
    0.5, the upper limit the first time at which the upper band is; None when
    not reached (as R's ``quantile.survfit`` on ``conf.type = "log-log"``,
    including its NA where the curve reaches 0). lifelines has no such rule (its
    ``median_survival_time_`` has no interval, and its ``qth_survival_time`` is exact
    at 0.5, without DESIGN's tolerance), so it is applied here to lifelines' band.
    """
    times = table["time"].to_numpy()
    return (_first_at_or_below_half(times, table["ci_low"].to_numpy()),
            _first_at_or_below_half(times, table["ci_high"].to_numpy()))


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


def rmst(kmf: KaplanMeierFitter, tau: float) -> tuple[float, float]:
    """Restricted mean survival time up to ``tau`` (lifelines' ``restricted_mean_survival_time``, exact for
    Kaplan-Meier: the integral of the step function, flat after the last event time) and its Greenwood-type
    variance, computed here because lifelines' is wrong (STACK.md; lifelines #1682, #1277).

    Variance = sum over event times t_i <= tau of A_i^2 d_i / (n_i (n_i - d_i)), A_i the area under S from t_i
    to tau (terms with n_i = d_i have A_i = 0 and contribute nothing), on lifelines' table.
    """
    area = float(restricted_mean_survival_time(kmf, t=tau))
    tab = km_events(kmf)
    tab = tab[tab["time"] <= tau]
    times = tab["time"].to_numpy()
    surv = tab["survival"].to_numpy()
    grid = np.concatenate([[0.0], times, [tau]])
    pieces = np.concatenate([[1.0], surv]) * np.diff(grid)
    tail = np.cumsum(pieces[::-1])[::-1][1:]                # A_i: the pieces after the i-th event time
    n, dd = tab["at_risk"].to_numpy(), tab["events"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(tail > 0, tail ** 2 * dd / (n * (n - dd)), 0.0)
    return area, float(terms.sum())


def discounted_time(t: np.ndarray, discount_rate: float, month: float) -> np.ndarray:
    """W(t), the integral from 0 to t of the monthly discount factor (1 + d)^(-k/12) on month k = 1, 2, ...
    (the interval ((k - 1) month, k month], ``month`` the length of a month in the time unit): time valued as
    of day 0. With ``discount_rate`` 0 it is t."""
    t = np.asarray(t, dtype=float)
    if discount_rate == 0:
        return t
    q = (1.0 + discount_rate) ** (-1.0 / 12.0)
    k = np.floor(t / month)
    return month * q * (1 - q ** k) / (1 - q) + (t - k * month) * q ** (k + 1)


def discounted_rmst(times: np.ndarray, removed: np.ndarray, deaths: np.ndarray, tau: float,
                    discount_rate: float, month: float) -> tuple[float, float]:
    """The area under a Kaplan-Meier curve from 0 to ``tau`` with each month discounted (the integral of S(t)
    (1 + d)^(-k/12) over month k; :func:`discounted_time`), and its Greenwood-type variance, sum over churn
    times t_i <= tau of A_i^2 d_i / (n_i (n_i - d_i)), A_i the discounted area from t_i to tau. With
    ``discount_rate`` 0 these are the RMST and its variance (:func:`rmst`), from counts (:data:`Tally`)."""
    times, removed, deaths = (np.asarray(a, float) for a in (times, removed, deaths))
    area, tail, at_risk, inside = _discounted_areas(times, removed, deaths, tau, discount_rate, month)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(inside & (tail > 0), tail ** 2 * deaths / (at_risk * (at_risk - deaths)), 0.0)
    return area, float(terms.sum())


def _discounted_areas(times: np.ndarray, removed: np.ndarray, deaths: np.ndarray, tau: float,
                      discount_rate: float, month: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(whole discounted area to tau, area from each time to tau (0 past tau), number at risk, time <= tau)."""
    at_risk = _revcumsum(removed)
    surv = np.cumprod(np.where(at_risk > 0, 1 - deaths / np.where(at_risk > 0, at_risk, 1), 1.0))
    inside = times <= tau
    grid = np.concatenate([[0.0], times[inside], [tau]])
    before = np.concatenate([[1.0], surv[inside]])                  # S on [0, t1), [t1, t2), ..., [t_k, tau)
    pieces = before * np.diff(discounted_time(grid, discount_rate, month))
    after = np.cumsum(pieces[::-1])[::-1]
    area = np.zeros(len(times))
    area[inside] = after[1:]                                         # A(t_i) for the times inside the window
    return float(after[0]), area, at_risk, inside


def rmst_influence(times: np.ndarray, removed: np.ndarray, deaths: np.ndarray, tau: float,
                   discount_rate: float = 0.0, month: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Influence of one customer on the Kaplan-Meier RMST up to ``tau``, per distinct time of the counts.

    RMST_hat - RMST is, to first order, the sum over customers of
    psi_i = -(delta_i 1{T_i <= tau} A(T_i) / Y(T_i) - sum over event times u <= min(T_i, tau) of
    A(u) d(u) / Y(u)^2), A(u) the area under the curve from u to tau, Y the number at risk, d the events
    (the martingale representation of the Kaplan-Meier estimator; the sum of psi_i^2 is the Greenwood-type
    variance with Y^2 for Y (Y - d)). Returns psi for a customer who churned at each of ``times`` and for
    one censored then. With a ``discount_rate``, of the discounted area (:func:`discounted_rmst`; A(u) the
    discounted area from u to tau).
    """
    times, removed, deaths = (np.asarray(a, float) for a in (times, removed, deaths))
    _, area, at_risk, inside = _discounted_areas(times, removed, deaths, tau, discount_rate, month)
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.where(inside & (at_risk > 0), area / at_risk, 0.0)
        compensator = np.cumsum(np.where(inside & (at_risk > 0), area * deaths / at_risk ** 2, 0.0))
    return -(jump - compensator), compensator


def _revcumsum(a: np.ndarray) -> np.ndarray:
    return np.cumsum(a[::-1])[::-1]


Tally = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(distinct sorted times, rows removed at each, events at each): a group's counts (:func:`tally`)."""


def km_curves(fits: dict[str, KaplanMeierFitter | None]) -> pd.DataFrame:
    """Tidy Kaplan-Meier curves by tier with their 95% bands, as lifelines tabulates them.

    ``fits`` maps each tier, in order, to its :func:`km_fit` (None for an empty tier, skipped). Columns:
    tier, time, survival, ci_low, ci_high (lifelines' ``survival_function_`` and ``confidence_interval_``:
    log(-log) band, 0 where survival reaches 0), at_risk (lifelines' ``event_table``: customers of the tier
    with duration >= time); one row at time 0 and one at each distinct time of the tier.
    """
    parts = []
    for label, kmf in fits.items():
        if kmf is None:
            continue
        band = kmf.confidence_interval_.to_numpy(float)
        at_risk = kmf.event_table["at_risk"].reindex(kmf.survival_function_.index).to_numpy(float)
        parts.append(pd.DataFrame({"tier": label, "time": kmf.survival_function_.index.to_numpy(float),
                                   "survival": kmf.survival_function_.iloc[:, 0].to_numpy(float),
                                   "ci_low": band[:, 0], "ci_high": band[:, 1],
                                   "at_risk": np.round(at_risk).astype(np.int64)}))
    out = pd.concat(parts, ignore_index=True)
    out["tier"] = pd.Categorical(out["tier"], categories=list(fits), ordered=True)
    return out


def at_risk_table(fits: dict[str, KaplanMeierFitter | None], times: Sequence[float]) -> pd.DataFrame:
    """Number at risk (duration >= t) per tier (rows) at each of ``times`` (columns), from lifelines'
    ``event_table`` of each :func:`km_fit` (the at-risk count at the first tabulated time >= t; 0 past the
    last; an empty tier, None, has 0)."""
    rows = {}
    grid = np.asarray(times, float)
    for label, kmf in fits.items():
        if kmf is None:
            rows[label] = np.zeros(len(grid), int)
            continue
        table = kmf.event_table
        at = np.append(table["at_risk"].to_numpy(float), 0.0)
        rows[label] = np.round(at[np.searchsorted(table.index.to_numpy(float), grid, side="left")]).astype(int)
    table = pd.DataFrame(rows, index=list(times)).T
    table.index.name = "tier"
    return table


def _test_dict(statistic: float, dof: int) -> dict[str, Any]:
    if statistic is None or not math.isfinite(statistic):
        return {"statistic": None, "dof": dof, "p": None, "log10_p": None}
    p = float(sps.chi2.sf(statistic, dof))
    return {"statistic": float(statistic), "dof": dof, "p": p, "log10_p": log10_chi2_sf(statistic, dof)}


def _weighted_rows(time: np.ndarray, removed: np.ndarray, deaths: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cells as lifelines' weighted rows: per cell one row of its events and one of its censored (zero weights
    dropped)."""
    removed, deaths = np.asarray(removed, float), np.asarray(deaths, float)
    w = np.concatenate([deaths, removed - deaths])
    keep = w > 0
    e = np.repeat([1.0, 0.0], len(deaths))
    return np.concatenate([np.asarray(time), np.asarray(time)])[keep], e[keep], w[keep]


def logrank_counts(time: np.ndarray, group: np.ndarray, removed: np.ndarray, deaths: np.ndarray) -> dict[str, Any]:
    """Multivariate log-rank test across groups from counts: ``{statistic, dof, p, log10_p}``.

    ``time``, ``group``, ``removed``, ``deaths`` are parallel arrays of cells (a time, a group, the rows
    observed until then and the events then; a time may repeat across groups). Computed on the counts
    directly (the textbook statistic, R ``survdiff``): per distinct time t and group g the at-risk count
    n_tg (rows observed at t or later), the events d_tg, the expected events E_tg = n_tg d_t / n_t; per group
    the observed minus expected events U_g = sum_t (d_tg - E_tg); the hypergeometric covariance
    V_gh = sum_t d_t (n_t - d_t) / (n_t - 1) (n_tg / n_t) (delta_gh - n_th / n_t); the statistic
    U' V^- U on the first k - 1 groups (pseudo-inverse, as lifelines' ``multivariate_logrank_test``).
    Every term is summed per time in float64, so 10^8 customers keep full precision (lifelines asserts
    that the U_g sum to within 1e-7 of zero, which rounding breaks at that size). p and log10_p from the
    statistic (:func:`cxlab.stats.tables.log10_chi2_sf`, which does not underflow). All None (dof as
    computed) with fewer than two groups or no events.
    """
    groups, g = np.unique(np.asarray(group), return_inverse=True)
    k = len(groups)
    deaths = np.asarray(deaths, dtype=float)
    if k < 2 or deaths.sum() == 0:
        return _test_dict(float("nan"), max(k - 1, 0))
    times, ti = np.unique(np.asarray(time, dtype=float), return_inverse=True)
    cell = ti * k + g.ravel()
    shape = (len(times), k)
    d = np.bincount(cell, weights=deaths, minlength=shape[0] * k).reshape(shape)
    removed_tg = np.bincount(cell, weights=np.asarray(removed, dtype=float), minlength=shape[0] * k).reshape(shape)
    n = np.cumsum(removed_tg[::-1], axis=0)[::-1]  # at risk: observed at this time or later
    d_t, n_t = d.sum(axis=1), n.sum(axis=1)
    share = np.divide(n, n_t[:, None], out=np.zeros_like(n), where=n_t[:, None] > 0)
    u = (d - share * d_t[:, None]).sum(axis=0)
    factor = np.divide(d_t * (n_t - d_t), n_t - 1, out=np.zeros_like(d_t), where=n_t > 1)
    v = np.diag((factor[:, None] * share).sum(axis=0)) - (share * factor[:, None]).T @ share
    statistic = float(u[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ u[:-1])
    return _test_dict(statistic, k - 1)


def logrank(duration: np.ndarray, event: np.ndarray, group: np.ndarray) -> dict[str, Any]:
    """Multivariate log-rank test across the groups of rows (:func:`logrank_counts` on each row as a cell)."""
    return logrank_counts(duration, group, np.ones(len(np.asarray(duration))), event)


def pairwise_logrank(tallies: dict[str, Tally], versus: str) -> pd.DataFrame:
    """Log-rank test of each non-empty tier against the tier ``versus`` (:func:`logrank_counts` on the two
    tiers' counts), with Holm-adjusted p-values (lifelines' ``pairwise_logrank_test`` adjusts none).

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
            cat = lambda i: np.concatenate([np.asarray(tab[i], float), np.asarray(ref[i], float)])  # noqa: E731
            t = logrank_counts(cat(0), np.repeat([0, 1], [len(tab[0]), len(ref[0])]), cat(1), cat(2))
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
