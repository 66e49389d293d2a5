"""CX leaders versus laggards on a company panel (DESIGN 5.3).

:func:`analyze` forms the leader and laggard portfolios of each period
(:mod:`.portfolios`: which company-periods are eligible, why the others are left
out, the cut-offs), computes the figures of DESIGN 5.3 (:mod:`.inference`: the
company-clustered test and block bootstrap, pooled and relative to the
sector-period mean), the sensitivity to the quantile cut-offs and the counts of
company-periods left out, and says what limits them (:mod:`.caveats`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from ...errors import BenchmarkWarning, TiedCutoffWarning, UndefinedRatioWarning, collecting_warnings, warn
from .caveats import no_split_error, periods_phrase, warn_inference, warn_small
from .inference import SUMMARY_KEYS, summarize
from .load import Panel
from .portfolios import (REASON_WORDS, benchmark_growth, company_periods, cumulative_index, excluded_counts,
                         period_table, portfolios)
from .spec import LeadersStudy

log = logging.getLogger(__name__)

SENSITIVITY_PAIRS = ((0.9, 0.1), (0.8, 0.2), (0.75, 0.25))


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
            raise no_split_error(cand, within)
        warn_small(cand, assigned, within, study.labels)
        table = period_table(assigned)
        summary = summarize(assigned, table, bench, boot.resamples, boot.seed)
        warn_inference(summary, boot.resamples)
        overlap = assigned["leader"] & assigned["laggard"]
        if overlap.any():
            warn(TiedCutoffWarning,
                 f"{int(overlap.sum())} company-periods are both leaders and laggards: in their period (or "
                 "sector-period) the two cut-offs coincide because many companies share the same cx_score.")
        if benchmark is not None and summary["benchmark_cumulative"] is None:
            missing = [int(p) for p in table["period"] if bench is None or p not in bench.index]
            warn(BenchmarkWarning, f"The benchmark has no growth for {periods_phrase(missing)} (it needs a "
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
