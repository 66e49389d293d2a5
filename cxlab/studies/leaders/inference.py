"""How leaders' growth compares with laggards' (DESIGN 5.3, wave 2; issue 20).

- Inference: a company appears in many periods, so the headline's test is the
  company-clustered regression (:func:`cxlab.stats.clustered.cluster_diff_test`)
  and its intervals come from the company block bootstrap
  (:func:`cxlab.stats.clustered.block_bootstrap`); Welch, Hedges' g and the row
  bootstrap stay as naive figures (:data:`SUMMARY_KEYS`).
- Sectors (issue 20): when the panel has two or more sectors, sector-period
  shocks do not cancel if leaders and laggards come unevenly from sectors, and
  the company-clustered test on raw growth over-rejects. The headline then uses
  the same test, bootstrap and chained figures on growth relative to its
  sector-period mean (:data:`ADJUSTED_KEYS`); the pooled figures stay as a
  description.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...stats.clustered import CLUSTER_KEYS, block_bootstrap_set, cluster_diff_test
from ...stats.groups import bootstrap_diff, hedges_g, welch_test

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
