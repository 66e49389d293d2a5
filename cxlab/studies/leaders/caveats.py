"""The warnings of a leaders analysis: thin periods and sector-periods, few companies for the clustered
inference, block-bootstrap draws left out, and the error when no period can be split."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from ...errors import DataError, FewCompaniesWarning, warn
from .portfolios import MIN_COMPANIES, REASON_WORDS, REASONS

FEW_COMPANIES = 10         # below this many eligible companies a period's portfolios are flagged as thin

FEW_CLUSTERS = 20          # below this many companies in the portfolios the clustered inference is flagged


def periods_phrase(periods: Sequence[int]) -> str:
    """"period 3" or "periods 1, 2, 3" (the first eight, then how many more)."""
    periods = [int(p) for p in periods]
    shown = ", ".join(map(str, periods[:8])) + (f" and {len(periods) - 8} more" if len(periods) > 8 else "")
    return ("period " if len(periods) == 1 else "periods ") + shown


def warn_small(cand: pd.DataFrame, assigned: pd.DataFrame, within: str | None,
               labels: dict[str, str] | None = None) -> None:
    """Warn of periods (or sector-periods) left out or split with few eligible companies; a sector is named by
    the study's ``labels`` when they name it."""
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
                 f"companies (e.g. {(labels or {}).get(str(sec), sec)} in {per0} with {n0}); {'their' if many else 'its'} {int(small.sum())} "
                 "company-periods are left out of the within-sector split.")
        nsplit = assigned[assigned["split"]].groupby("period").size()
        unsplit = [p for p in candidates if nsplit.get(p, 0) == 0 and per.get(p, 0) > 0]
        if unsplit:
            warn(FewCompaniesWarning, f"In {periods_phrase(unsplit)} no sector has {MIN_COMPANIES} eligible "
                 "companies, so the period has no portfolios.")
    else:
        small = [p for p in candidates if 0 < per.get(p, 0) < MIN_COMPANIES]
        if small:
            warn(FewCompaniesWarning, f"{periods_phrase(small).capitalize()} {'has' if len(small) == 1 else 'have'} "
                 f"fewer than {MIN_COMPANIES} eligible companies and {'is' if len(small) == 1 else 'are'} left out.")
    if none:
        warn(FewCompaniesWarning, f"{periods_phrase(none).capitalize()} {'has' if len(none) == 1 else 'have'} no "
             "eligible company (no company has a cx_score and values at t and t+1) and "
             f"{'is' if len(none) == 1 else 'are'} left out.")
    nsplit = assigned[assigned["split"]].groupby("period").size()
    thin = [p for p, n in nsplit.items() if n < FEW_COMPANIES]
    if thin:
        warn(FewCompaniesWarning, f"{periods_phrase(thin).capitalize()} {'has' if len(thin) == 1 else 'have'} fewer "
             f"than {FEW_COMPANIES} eligible companies in the split, so the portfolio means of "
             f"{'that period rest' if len(thin) == 1 else 'those periods rest'} on a handful of companies.")


def warn_inference(summary: dict[str, Any], resamples: int) -> None:
    """Warn when too few companies back the clustered inference, or block-bootstrap draws were left out."""
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


def no_split_error(cand: pd.DataFrame, within: str | None) -> DataError:
    """The error when no period (or sector-period) can be split, with the company-periods left out by reason."""
    counts = cand["reason"].value_counts()
    n_elig = int(cand["reason"].isna().sum())
    where = "sector-period" if within == "sector" else "period"
    why = "; ".join(f"{int(counts[r]):,} with {REASON_WORDS[r]}" for r in REASONS if r in counts)
    return DataError(f"fewer than {MIN_COMPANIES} eligible companies in every {where}, so no leader and laggard "
                     f"portfolios can be formed ({n_elig:,} eligible company-periods in all"
                     + (f"; left out: {why}" if why else "") + ")")
