"""Leader and laggard portfolios of a company panel, period by period (DESIGN 5.3).

Definitions (DESIGN 5.3, made exact here):

- A company-period (company, t) is *observed* when it has a cx_score or a value.
  Observed company-periods before the panel's last period are the candidates.
- A candidate is *eligible* when it has a cx_score at t, a value at t and at t+1,
  both positive; its growth is value(t+1) / value(t) - 1. Otherwise it is left
  out for the first reason that applies, in this order: ``missing_cx_score``,
  ``missing_value`` (at t), ``non_positive_value`` (at t), ``gap_in_periods``
  (no value at t+1 but a later value exists, so the growth would span a gap),
  ``missing_next_value`` (no value at t+1 nor later: the series stops),
  ``non_positive_value`` (at t+1), ``missing_sector`` (``within: sector`` only),
  ``too_few_companies`` (its period, or sector-period, has fewer than 4 eligible
  companies and is not split).
- Cut-offs: numpy's linear percentile of the eligible cx_scores of the period
  (or sector-period); leaders have cx_score >= the ``leader_quantile`` cut-off,
  laggards <= the ``laggard_quantile`` cut-off, ties included.

The portfolios' means per period chain into the cumulative index
(:func:`cumulative_index`); their comparison is :mod:`.inference`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataError

MIN_COMPANIES = 4          # eligible companies needed to split a period (or sector-period)

REASONS = ("missing_cx_score", "missing_value", "non_positive_value", "gap_in_periods", "missing_next_value",
           "missing_sector", "too_few_companies")

REASON_WORDS = {
    "missing_cx_score": "no cx_score at t",
    "missing_value": "no value at t",
    "non_positive_value": "a value at t or t+1 that is zero or negative",
    "gap_in_periods": "a gap in periods (no value at t+1, a later one exists)",
    "missing_next_value": "no value at t+1 (the series stops)",
    "missing_sector": "no sector (within-sector split)",
    "too_few_companies": f"fewer than {MIN_COMPANIES} eligible companies in the period (or sector-period)",
}


def company_periods(frame: pd.DataFrame, within: str | None = None) -> pd.DataFrame:
    """Candidate company-periods with their next value, growth and exclusion reason.

    Parameters
    ----------
    frame : DataFrame
        Tidy panel (``company``, ``period``, ``sector``, ``cx_score``, ``value``), one row per company-period.
    within : {None, "sector"}
        With ``"sector"``, a company-period without a sector is left out.

    Returns
    -------
    DataFrame
        One row per candidate (observed before the panel's last period): the
        panel columns, ``next_value``, ``growth`` (NaN unless eligible) and
        ``reason`` (None when eligible; see the module docstring).
    """
    observed = frame[frame["cx_score"].notna() | frame["value"].notna()]
    if observed.empty:
        raise DataError("the panel has no cx_score and no value at all")
    last = int(observed["period"].max())
    cand = observed[observed["period"] < last].reset_index(drop=True)
    valued = frame[frame["value"].notna()]
    nxt = pd.DataFrame({"company": valued["company"].to_numpy(), "period": valued["period"].to_numpy() - 1,
                        "next_value": valued["value"].to_numpy()})
    cand = cand.merge(nxt, on=["company", "period"], how="left")
    last_valued = valued.groupby("company")["period"].max()
    later = cand["company"].map(last_valued).to_numpy(float) > cand["period"].to_numpy() + 1
    score, value, next_value = (cand[c].to_numpy(float) for c in ("cx_score", "value", "next_value"))
    conditions = [np.isnan(score), np.isnan(value), value <= 0, np.isnan(next_value) & later,
                  np.isnan(next_value), next_value <= 0]
    reasons = ["missing_cx_score", "missing_value", "non_positive_value", "gap_in_periods", "missing_next_value",
               "non_positive_value"]
    if within == "sector":
        conditions.append(cand["sector"].isna().to_numpy())
        reasons.append("missing_sector")
    with np.errstate(invalid="ignore"):
        reason = np.select(conditions, reasons, default="")
    cand["reason"] = pd.Series(reason, index=cand.index).replace("", None)
    ok = cand["reason"].isna()
    with np.errstate(invalid="ignore", divide="ignore"):
        cand["growth"] = np.where(ok, next_value / value - 1, np.nan)
    return cand


def _group_keys(within: str | None) -> list[str]:
    return ["sector", "period"] if within == "sector" else ["period"]


def portfolios(cand: pd.DataFrame, leader_quantile: float = 0.75, laggard_quantile: float = 0.25,
               within: str | None = None) -> pd.DataFrame:
    """Eligible company-periods flagged ``leader`` and ``laggard`` (both False outside split groups).

    A group (the period, or the sector-period with ``within="sector"``) is split
    only when it holds at least 4 eligible companies; ``split`` says whether it
    was. Cut-offs are ``numpy.quantile`` (linear) of the group's cx_scores;
    ties at a cut-off join the portfolio.
    """
    elig = cand[cand["reason"].isna()].copy()
    keys = _group_keys(within)
    groups = elig.groupby(keys, sort=True).indices if not elig.empty else {}
    score = elig["cx_score"].to_numpy(float)
    hi = np.full(len(elig), np.nan)
    lo = np.full(len(elig), np.nan)
    for idx in groups.values():
        if len(idx) >= MIN_COMPANIES:
            hi[idx], lo[idx] = np.quantile(score[idx], [leader_quantile, laggard_quantile])
    elig["split"] = ~np.isnan(hi)
    elig["leader_cut"], elig["laggard_cut"] = hi, lo
    with np.errstate(invalid="ignore"):
        elig["leader"] = score >= hi
        elig["laggard"] = score <= lo
    return elig


def period_table(assigned: pd.DataFrame) -> pd.DataFrame:
    """Per split period: ``period, n_leaders, n_laggards, leader_mean, laggard_mean`` (and ``difference``)."""
    split = assigned[assigned["split"]]
    g = split["growth"]
    tmp = pd.DataFrame({"period": split["period"], "lead": split["leader"], "lag": split["laggard"],
                        "lead_g": g.where(split["leader"]), "lag_g": g.where(split["laggard"])})
    agg = tmp.groupby("period", sort=True).agg(n_leaders=("lead", "sum"), n_laggards=("lag", "sum"),
                                               leader_mean=("lead_g", "mean"), laggard_mean=("lag_g", "mean"))
    out = agg.reset_index().astype({"period": "int64", "n_leaders": "int64", "n_laggards": "int64"})
    out["difference"] = out["leader_mean"] - out["laggard_mean"]
    return out


def benchmark_growth(benchmark: pd.DataFrame | None) -> pd.Series:
    """Benchmark growth value(t+1) / value(t) - 1 indexed by t (consecutive periods only)."""
    if benchmark is None or benchmark.empty:
        return pd.Series(dtype=float)
    s = benchmark.set_index("period")["value"].astype(float)
    nxt = s.reindex(s.index + 1).to_numpy()
    g = pd.Series(nxt / s.to_numpy() - 1, index=s.index)
    return g[np.isfinite(g) & (s.to_numpy() > 0)]


def cumulative_index(table: pd.DataFrame, bench_growth: pd.Series | None = None) -> pd.DataFrame:
    """Leaders, laggards (and benchmark) indexed to 1 at the first period, tidy ``period, series, index``.

    The index at period t+1 is the product of (1 + period mean) up to period t.
    """
    periods = table["period"].to_numpy()
    x = np.concatenate([[periods[0]], periods + 1]) if len(periods) else np.array([])
    series = {"leaders": table["leader_mean"].to_numpy(float), "laggards": table["laggard_mean"].to_numpy(float)}
    if bench_growth is not None and len(bench_growth) and np.isin(periods, bench_growth.index).all():
        series["benchmark"] = bench_growth.loc[periods].to_numpy(float)
    rows = [pd.DataFrame({"period": x, "series": name, "index": np.concatenate([[1.0], np.cumprod(1 + g)])})
            for name, g in series.items()]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["period", "series", "index"])


def excluded_counts(cand: pd.DataFrame, assigned: pd.DataFrame) -> dict[str, int]:
    """Company-periods left out, by reason (every reason key present, zeros included)."""
    counts = cand["reason"].value_counts()
    out = {r: int(counts.get(r, 0)) for r in REASONS}
    out["too_few_companies"] = int((~assigned["split"]).sum())
    return out
