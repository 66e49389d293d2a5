"""CX leaders versus laggards on a company panel (DESIGN 5.3).

:func:`analyze` forms the yearly leader and
laggard portfolios and computes the figures of DESIGN 5.3, the sensitivity to
the quantile cut-offs and the counts of company-periods left out.

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
- Inference (DESIGN 5.3, wave 2): a company appears in many periods, so the
  headline's test is the company-clustered regression
  (:func:`cxlab.stats.clustered.cluster_diff_test`) and its intervals come from
  the company block bootstrap (:func:`cxlab.stats.clustered.block_bootstrap`);
  Welch, Hedges' g and the row bootstrap stay as naive figures (:data:`SUMMARY_KEYS`).
- Sectors (issue 20): when the panel has two or more sectors, sector-period
  shocks do not cancel if leaders and laggards come unevenly from sectors, and
  the company-clustered test on raw growth over-rejects. The headline then uses
  the same test, bootstrap and chained figures on growth relative to its
  sector-period mean (:data:`ADJUSTED_KEYS`); the pooled figures stay as a
  description.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ...errors import (
    BenchmarkWarning,
    DataError,
    FewCompaniesWarning,
    TiedCutoffWarning,
    UndefinedRatioWarning,
    collecting_warnings,
    warn,
)
from ...stats.clustered import CLUSTER_KEYS, block_bootstrap_set, cluster_diff_test
from ...stats.groups import bootstrap_diff, hedges_g, welch_test
from .load import Panel
from .spec import LeadersStudy

log = logging.getLogger(__name__)


MIN_COMPANIES = 4          # eligible companies needed to split a period (or sector-period)

FEW_COMPANIES = 10         # below this many eligible companies a period's portfolios are flagged as thin

FEW_CLUSTERS = 20          # below this many companies in the portfolios the clustered inference is flagged

SENSITIVITY_PAIRS = ((0.9, 0.1), (0.8, 0.2), (0.75, 0.25))

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

ADJUSTED_KEYS = ("adjustment", "adjusted_diff", "adjusted_se", "adjusted_t", "adjusted_df", "adjusted_p",
                 "adjusted_ci_low", "adjusted_ci_high", "adjusted_block_ci_low", "adjusted_block_ci_high",
                 "adjusted_end_ratio", "adjusted_end_ratio_ci_low", "adjusted_end_ratio_ci_high",
                 "adjusted_annualised_gap", "adjusted_annualised_gap_ci_low", "adjusted_annualised_gap_ci_high")
"""The figures the headline uses (issue 20; not in DESIGN 5.3): with two or more sectors among the split
company-periods (``adjustment = "sector-period"``), the clustered test (``adjusted_diff`` ... ``adjusted_ci_high``,
same CR1 and G - 1 degrees of freedom as ``cluster_*``), the company block bootstrap of the difference
(``adjusted_block_ci_*``) and the chained figures (``adjusted_end_ratio``, ``adjusted_annualised_gap`` and their
intervals) on growth relative to the company's sector-period mean (:func:`sector_period_adjusted`); the adjusted
portfolios are chained from the period's mean growth plus their members' mean relative growth. With fewer than
two sectors (``adjustment = "none"``) they equal ``cluster_*``, ``block_ci_*``, ``end_ratio*`` and
``annualised_gap*``."""

NO_SECTOR = "\x00no sector"   # the group of company-periods without a sector, in the sector-period adjustment

SUMMARY_KEYS = ("leader_mean", "laggard_mean", "leader_cumulative", "laggard_cumulative", "cumulative_ratio",
                "welch_t", "welch_p", "hedges_g", "diff_ci_low", "diff_ci_high", "benchmark_cumulative",
                *CLUSTER_KEYS, "period_diff", "block_ci_low", "block_ci_high", "end_ratio", "end_ratio_ci_low",
                "end_ratio_ci_high", "annualised_gap", "annualised_gap_ci_low", "annualised_gap_ci_high",
                *ADJUSTED_KEYS)
"""Keys of ``results.summary``: DESIGN 5.3 with its wave-2 revision, then :data:`ADJUSTED_KEYS`. The Welch test, Hedges' g and the row
bootstrap (``diff_ci_*``) treat company-periods as independent and are kept as naive figures; the
company-clustered test (``cluster_*``), the company block bootstrap (``block_ci_*``) and the chained
``end_ratio`` and ``annualised_gap`` are what the headline uses. ``end_ratio_ci_*`` and
``annualised_gap_ci_*`` (not named in DESIGN 5.3) are percentile intervals from the same company block
bootstrap draws, so that no headline figure goes without its interval."""


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


def sector_period_adjusted(split: pd.DataFrame) -> tuple[np.ndarray, pd.Series, str]:
    """Growth relative to its sector-period mean, the period means, and the adjustment's name.

    ``split`` holds the company-periods of split groups (every one of them, in
    the portfolios or not). With at least two sectors among them (a missing
    sector counts as a sector of its own), each growth minus the mean growth of
    its sector in its period: sector-period shocks drop out, so leaders drawn
    unevenly from sectors are compared with laggards of the same sector and
    period (``"sector-period"``). Otherwise the growth minus its period mean is
    returned with ``"none"`` (the figures are then the pooled ones). The
    period means (every split company-period of the period, equal weights)
    are the level the adjusted portfolios are chained from.
    """
    growth = split["growth"]
    period_mean = growth.groupby(split["period"]).mean()
    sector = split["sector"].astype(object).where(split["sector"].notna(), NO_SECTOR)
    if sector.nunique() < 2:
        return (growth - split["period"].map(period_mean)).to_numpy(float), period_mean, "none"
    centre = growth.groupby([sector, split["period"]]).transform("mean")
    return (growth - centre).to_numpy(float), period_mean, "sector-period"


def summarize(assigned: pd.DataFrame, table: pd.DataFrame, bench_growth: pd.Series | None = None,
              resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """DESIGN 5.3 ``summary`` (with its wave-2 revision) from flagged company-periods and their period table.

    Adds the sector-adjusted figures (:data:`ADJUSTED_KEYS`, :func:`sector_period_adjusted`): the same
    clustered test, block bootstrap and chained figures on growth relative to the sector-period mean; with
    fewer than two sectors they equal the pooled figures.
    ``resamples=0`` skips both bootstraps (their bounds are None): for calibration runs that need only the tests.
    ``_block_kept`` and ``_block_kept_chain`` (not summary keys) count the block-bootstrap draws kept.
    """
    lead, lag = table["leader_mean"].to_numpy(float), table["laggard_mean"].to_numpy(float)
    leader_end, laggard_end = float(np.prod(1 + lead)), float(np.prod(1 + lag))
    leader_cum, laggard_cum = leader_end - 1, laggard_end - 1
    n_periods = len(table)
    split = assigned[assigned["split"]].sort_values(["period", "company"], kind="stable")
    is_lead, is_lag = split["leader"].to_numpy(bool), split["laggard"].to_numpy(bool)
    growth, company = split["growth"].to_numpy(float), split["company"].to_numpy()
    relative, period_mean, adjustment = sector_period_adjusted(split)
    x, y = growth[is_lead], growth[is_lag]
    t, p = welch_test(x, y)
    labels = np.r_[np.ones(len(x)), np.zeros(len(y))]
    pooled_company = np.concatenate([company[is_lead], company[is_lag]])
    clustered = cluster_diff_test(np.concatenate([x, y]), labels, pooled_company)
    adjusted = dict(clustered)
    if adjustment != "none":
        adjusted = cluster_diff_test(np.concatenate([relative[is_lead], relative[is_lag]]), labels, pooled_company)
    low = high = None
    keys = ("diff_low", "diff_high", "ratio_low", "ratio_high", "gap_low", "gap_high", "kept", "kept_chain")
    block: dict[str, Any] = dict.fromkeys(keys)
    block_adj = dict(block)
    if resamples > 0:
        low, high = bootstrap_diff(x, y, resamples, seed)
        either = is_lead | is_lag
        periods = split["period"].to_numpy()[either]
        level = period_mean.loc[np.unique(periods)].to_numpy(float)
        measures, offsets = ([growth[either]], [None]) if adjustment == "none" else (
            [growth[either], relative[either]], [None, level])
        boots = block_bootstrap_set(measures, is_lead[either], is_lag[either], company[either], periods,
                                    resamples, seed, offsets=offsets)
        block, block_adj = boots[0], boots[-1]
    # sector-adjusted portfolios: each member's growth relative to its sector-period, plus the period mean
    rel = pd.Series(relative, index=split.index)
    level_t = table["period"].map(period_mean).to_numpy(float)
    adj_lead = level_t + table["period"].map(rel[is_lead].groupby(split["period"][is_lead]).mean()).to_numpy(float)
    adj_lag = level_t + table["period"].map(rel[is_lag].groupby(split["period"][is_lag]).mean()).to_numpy(float)
    adj_lead_end, adj_lag_end = float(np.prod(1 + adj_lead)), float(np.prod(1 + adj_lag))
    bench = None
    if bench_growth is not None and len(bench_growth):
        periods = table["period"].to_numpy()
        if np.isin(periods, bench_growth.index.to_numpy()).all():
            bench = float(np.prod(1 + bench_growth.loc[periods].to_numpy()) - 1)
    out = {
        "leader_mean": float(np.mean(lead)), "laggard_mean": float(np.mean(lag)),
        "leader_cumulative": leader_cum, "laggard_cumulative": laggard_cum,
        "cumulative_ratio": leader_cum / laggard_cum if laggard_cum > 0 else None,
        "welch_t": t, "welch_p": p, "hedges_g": hedges_g(x, y),
        "diff_ci_low": low, "diff_ci_high": high, "benchmark_cumulative": bench,
        **clustered,
        "period_diff": float(np.mean(lead - lag)),
        "block_ci_low": block["diff_low"], "block_ci_high": block["diff_high"],
        "end_ratio": leader_end / laggard_end,
        "end_ratio_ci_low": block["ratio_low"], "end_ratio_ci_high": block["ratio_high"],
        "annualised_gap": leader_end ** (1 / n_periods) - laggard_end ** (1 / n_periods),
        "annualised_gap_ci_low": block["gap_low"], "annualised_gap_ci_high": block["gap_high"],
        "adjustment": adjustment,
        **{"adjusted_" + k.removeprefix("cluster_"): adjusted[k] for k in CLUSTER_KEYS if k != "n_clusters"},
        "adjusted_block_ci_low": block_adj["diff_low"], "adjusted_block_ci_high": block_adj["diff_high"],
        "adjusted_end_ratio": adj_lead_end / adj_lag_end,
        "adjusted_end_ratio_ci_low": block_adj["ratio_low"], "adjusted_end_ratio_ci_high": block_adj["ratio_high"],
        "adjusted_annualised_gap": adj_lead_end ** (1 / n_periods) - adj_lag_end ** (1 / n_periods),
        "adjusted_annualised_gap_ci_low": block_adj["gap_low"],
        "adjusted_annualised_gap_ci_high": block_adj["gap_high"],
        "_block_kept": block["kept"], "_block_kept_chain": block["kept_chain"],
    }
    if adjustment == "none":  # the same figures, not a second computation's rounding
        out["adjusted_end_ratio"], out["adjusted_annualised_gap"] = out["end_ratio"], out["annualised_gap"]
    return out


def excluded_counts(cand: pd.DataFrame, assigned: pd.DataFrame) -> dict[str, int]:
    """Company-periods left out, by reason (every reason key present, zeros included)."""
    counts = cand["reason"].value_counts()
    out = {r: int(counts.get(r, 0)) for r in REASONS}
    out["too_few_companies"] = int((~assigned["split"]).sum())
    return out


@dataclass
class LeadersResult:
    """Figures of one leaders analysis.

    Attributes
    ----------
    results : dict
        DESIGN 5.3 ``periods`` and ``summary``, plus ``sensitivity`` (a list of
        ``{leader_quantile, laggard_quantile, **summary}``), ``excluded``
        (company-periods left out, by reason) and ``panel`` (counts).
    periods : DataFrame
        The period table (with ``difference``).
    company_periods : DataFrame
        Eligible company-periods with ``growth``, ``leader``, ``laggard``, ``split``.
    cumulative : DataFrame
        Tidy ``period, series, index``: leaders, laggards and benchmark indexed to 1 at the first period.
    sensitivity : DataFrame
        One row per quantile pair.
    eligible : DataFrame
        Eligible and split company-periods per period (``period, candidates, eligible, split``).
    warnings : list of str
    """

    results: dict[str, Any]
    periods: pd.DataFrame
    company_periods: pd.DataFrame
    cumulative: pd.DataFrame
    sensitivity: pd.DataFrame
    eligible: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _periods_phrase(periods: Sequence[int]) -> str:
    periods = [int(p) for p in periods]
    shown = ", ".join(map(str, periods[:8])) + (f" and {len(periods) - 8} more" if len(periods) > 8 else "")
    return ("period " if len(periods) == 1 else "periods ") + shown


def _warn_small(cand: pd.DataFrame, assigned: pd.DataFrame, within: str | None) -> None:
    per = assigned.groupby("period").size()
    candidates = sorted(cand["period"].unique())
    none = [p for p in candidates if per.get(p, 0) == 0]
    if within == "sector":
        sizes = assigned.groupby(["sector", "period"]).size()
        small = sizes[sizes < MIN_COMPANIES]
        if len(small):
            (sec, per0), n0 = next(iter(small.items()))
            many = len(small) > 1
            warn(FewCompaniesWarning,
                 f"{len(small)} sector-period{'s have' if many else ' has'} fewer than {MIN_COMPANIES} eligible "
                 f"companies (e.g. {sec} in {per0} with {n0}); {'their' if many else 'its'} {int(small.sum())} "
                 "company-periods are left out of the within-sector split.")
        nsplit = assigned[assigned["split"]].groupby("period").size()
        unsplit = [p for p in candidates if nsplit.get(p, 0) == 0 and per.get(p, 0) > 0]
        if unsplit:
            warn(FewCompaniesWarning, f"In {_periods_phrase(unsplit)} no sector has {MIN_COMPANIES} eligible "
                 "companies, so the period has no portfolios.")
    else:
        small = [p for p in candidates if 0 < per.get(p, 0) < MIN_COMPANIES]
        if small:
            warn(FewCompaniesWarning, f"{_periods_phrase(small).capitalize()} {'has' if len(small) == 1 else 'have'} "
                 f"fewer than {MIN_COMPANIES} eligible companies and {'is' if len(small) == 1 else 'are'} left out.")
    if none:
        warn(FewCompaniesWarning, f"{_periods_phrase(none).capitalize()} {'has' if len(none) == 1 else 'have'} no "
             "eligible company (no company has a cx_score and values at t and t+1) and "
             f"{'is' if len(none) == 1 else 'are'} left out.")
    nsplit = assigned[assigned["split"]].groupby("period").size()
    thin = [p for p, n in nsplit.items() if n < FEW_COMPANIES]
    if thin:
        warn(FewCompaniesWarning, f"{_periods_phrase(thin).capitalize()} {'has' if len(thin) == 1 else 'have'} fewer "
             f"than {FEW_COMPANIES} eligible companies in the split, so the portfolio means of "
             f"{'that period rest' if len(thin) == 1 else 'those periods rest'} on a handful of companies.")


def _warn_inference(summary: dict[str, Any], resamples: int) -> None:
    g = summary["n_clusters"]
    if g < FEW_CLUSTERS:
        warn(FewCompaniesWarning, f"Only {g} companies are in the portfolios: the company-clustered test and the "
             f"company block bootstrap hold their stated level only with many companies (about {FEW_CLUSTERS} or "
             "more), so read their p-value and intervals as rough.")
    kept, chain = summary["_block_kept"], summary["_block_kept_chain"]
    if kept is not None and chain < resamples:
        warn(FewCompaniesWarning, f"{resamples - chain:,} of {resamples:,} company block-bootstrap draws left some "
             "period without a leader or without a laggard; they were left out of the intervals of the end ratio "
             "and the chained gap per period" + (f" ({resamples - kept:,} also from the difference's interval)."
                                         if kept < resamples else "."))


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


def _no_split_error(cand: pd.DataFrame, within: str | None) -> DataError:
    counts = cand["reason"].value_counts()
    n_elig = int(cand["reason"].isna().sum())
    where = "sector-period" if within == "sector" else "period"
    why = "; ".join(f"{int(counts[r]):,} with {REASON_WORDS[r]}" for r in REASONS if r in counts)
    return DataError(f"fewer than {MIN_COMPANIES} eligible companies in every {where}, so no leader and laggard "
                     f"portfolios can be formed ({n_elig:,} eligible company-periods in all"
                     + (f"; left out: {why}" if why else "") + ")")


def analyze(panel: Panel | pd.DataFrame, study: LeadersStudy, benchmark: pd.DataFrame | None = None,
            sensitivity_pairs: Iterable[tuple[float, float]] = SENSITIVITY_PAIRS) -> LeadersResult:
    """Compute DESIGN 5.3 (and the sensitivity and exclusion counts) for ``study`` on a panel from :func:`load`.

    Raises
    ------
    DataError
        When no period (or sector-period, with ``within: sector``) has at least
        4 eligible companies.
    """
    frame = panel.frame if isinstance(panel, Panel) else panel
    if benchmark is None and isinstance(panel, Panel):
        benchmark = panel.benchmark
    within = study.within
    boot = study.bootstrap
    bench = benchmark_growth(benchmark) if benchmark is not None else None
    with collecting_warnings() as sentences:
        cand = company_periods(frame, within)
        assigned = portfolios(cand, study.leader_quantile, study.laggard_quantile, within)
        if not assigned["split"].any():
            raise _no_split_error(cand, within)
        _warn_small(cand, assigned, within)
        table = period_table(assigned)
        summary = summarize(assigned, table, bench, boot.resamples, boot.seed)
        _warn_inference(summary, boot.resamples)
        overlap = assigned["leader"] & assigned["laggard"]
        if overlap.any():
            warn(TiedCutoffWarning,
                 f"{int(overlap.sum())} company-periods are both leaders and laggards: in their period (or "
                 "sector-period) the two cut-offs coincide because many companies share the same cx_score.")
        if benchmark is not None and summary["benchmark_cumulative"] is None:
            missing = [int(p) for p in table["period"] if bench is None or p not in bench.index]
            warn(BenchmarkWarning, f"The benchmark has no growth for {_periods_phrase(missing)} (it needs a "
                 "value at t and t+1), so its cumulative growth is not reported.")
        if summary["cumulative_ratio"] is None:
            warn(UndefinedRatioWarning, "The laggards' cumulative growth is zero or negative, so the ratio of "
                 "cumulative growths is not defined and is not reported.")
        sens_rows = []
        for hi, lo in sensitivity_pairs:
            if (hi, lo) == (study.leader_quantile, study.laggard_quantile):
                s, t = summary, table
            else:
                a = portfolios(cand, hi, lo, within)
                t = period_table(a)
                s = summarize(a, t, bench, boot.resamples, boot.seed)
            sens_rows.append({"leader_quantile": hi, "laggard_quantile": lo, **{k: s[k] for k in SUMMARY_KEYS},
                              "n_leaders": int(t["n_leaders"].sum()), "n_laggards": int(t["n_laggards"].sum())})
    excluded = excluded_counts(cand, assigned)
    per = cand.groupby("period").size().rename("candidates").to_frame()
    per["eligible"] = assigned.groupby("period").size()
    per["split"] = assigned[assigned["split"]].groupby("period").size()
    per = per.fillna(0).astype("int64").reset_index()
    periods = [{"period": int(r.period), "n_leaders": int(r.n_leaders), "n_laggards": int(r.n_laggards),
                "leader_mean": float(r.leader_mean), "laggard_mean": float(r.laggard_mean)}
               for r in table.itertuples()]
    sens_keys = ("leader_quantile", "laggard_quantile", *SUMMARY_KEYS, "n_leaders", "n_laggards")
    results = {
        "periods": periods,
        "summary": {k: summary[k] for k in SUMMARY_KEYS},
        "sensitivity": [{k: row[k] for k in sens_keys} for row in sens_rows],
        "excluded": excluded,
        "panel": {"companies": int(frame["company"].nunique()), "periods": int(frame["period"].nunique()),
                  "sectors": int(frame["sector"].dropna().nunique()), "candidates": int(len(cand)),
                  "eligible": int(len(assigned)), "split": int(assigned["split"].sum())},
        "within": within, "leader_quantile": study.leader_quantile, "laggard_quantile": study.laggard_quantile,
        "period_unit": study.period_unit,
    }
    log.info("leaders: %d periods, %d split company-periods", len(table), int(assigned["split"].sum()))
    return LeadersResult(results, table, assigned, cumulative_index(table, bench),
                         pd.DataFrame(sens_rows), per, sentences)


def excluded_table(result: LeadersResult) -> pd.DataFrame:
    """The exclusion counts as a table (reason, meaning, company-periods)."""
    ex = result.results["excluded"]
    return pd.DataFrame({"reason": list(ex), "meaning": [REASON_WORDS[r] for r in ex],
                         "company-periods": list(ex.values())}).set_index("reason")
