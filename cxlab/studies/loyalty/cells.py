"""Sufficient statistics of loyalty data: per outcome, the count and weight sums of each (rating, outcome) cell.

Every DESIGN 5.1 figure is a function of, per outcome and per cell of (rating,
outcome value), the number of rows, the sum of their weights and the sum of
their squared weights (:mod:`.analysis` says why for each figure). So the
analysis first collapses the rows to these cells (:func:`aggregate`) and then
computes everything from the cells: ten million customers on a five-point
scale are 5 x 3 cells per outcome. Aggregated data (say a ``GROUP BY`` in a
warehouse) enter through :func:`from_counts` and give the same figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from ...params import ExperienceSpec
from ...tiers import assign_tiers

COUNT_COLUMNS = ("outcome", "experience", "y", "rows", "w", "w2")
"""A counts table: one row per cell; ``y`` is 1, 0 or missing (the rows whose outcome is missing, which count
for ``n`` and the tiers present but not for that outcome's figures)."""


@dataclass
class LoyaltyCells:
    """The sufficient statistics of a loyalty data set.

    Attributes
    ----------
    counts : DataFrame
        One row per (outcome, rating, outcome value) cell with at least one row
        with a rating and a weight: ``outcome``, ``experience`` (the rating),
        ``tier`` (ordered categorical, worst to best), ``y`` (1.0, 0.0 or NaN for
        a missing outcome), ``rows``, ``w`` (sum of weights), ``w2`` (sum of
        squared weights).
    rows : int
        Rows in the data, rated or not (``n_dropped`` counts against it).
    """

    counts: pd.DataFrame
    rows: int

    @property
    def categories(self) -> pd.Index:
        """The tiers, worst to best."""
        return self.counts["tier"].cat.categories

    def outcome(self, name: str) -> pd.DataFrame:
        """The cells of one outcome (rows with a missing outcome included, ``y`` NaN)."""
        return self.counts[self.counts["outcome"] == name]

    def rated(self) -> int:
        """Rows with a rating and a weight (those any outcome could use)."""
        first = self.counts["outcome"].iloc[0] if len(self.counts) else None
        return int(self.outcome(first)["rows"].sum()) if first is not None else 0

    def tiers_present(self) -> pd.Series:
        """The tier of each rated cell of one outcome, as a categorical (for the empty-tier warnings)."""
        first = self.counts["outcome"].iloc[0]
        return self.outcome(first)["tier"]


def aggregate(frame: pd.DataFrame, outcomes: Iterable[str], weighted: bool = True,
              rows: Optional[np.ndarray] = None) -> LoyaltyCells:
    """Collapse canonical loyalty rows (``experience``, ``tier``, the outcomes, ``weight``) to cells.

    Rows missing the rating or the weight are left out of every cell (they
    still count in ``rows``). One hash of the ratings and three ``bincount``
    passes per outcome: no sort, no copy of the frame. ``weighted=False`` skips
    the weight sums when every weight is 1 (they equal the row counts).
    ``rows``: the number of rows each row of ``frame`` stands for (distinct
    values counted by a database server's ``GROUP BY``); default 1.
    """
    m = None if rows is None else np.asarray(rows, float)
    x = frame["experience"].to_numpy(float)
    w = frame["weight"].to_numpy(float)
    codes, values = pd.factorize(x, use_na_sentinel=True)
    codes = np.where(np.isnan(w), -1, codes)
    k = len(values)
    tier_codes = frame["tier"].cat.codes.to_numpy()
    tier_of = np.full(k, -1, dtype=np.int64)
    rated = codes >= 0
    tier_of[codes[rated]] = tier_codes[rated]
    del rated
    parts = []
    for name in outcomes:
        y = frame[name].to_numpy(float)
        key = np.where(codes >= 0, codes * 3 + np.nan_to_num(y, nan=2.0).astype(np.int64), 3 * k)
        if m is None:
            n = np.bincount(key, minlength=3 * k + 1)[:-1]
        else:
            n = np.rint(np.bincount(key, weights=m, minlength=3 * k + 1)[:-1]).astype(np.int64)
        if weighted:
            w1, w2 = np.nan_to_num(w), np.nan_to_num(w * w)
            wsum = np.bincount(key, weights=w1 if m is None else w1 * m, minlength=3 * k + 1)[:-1]
            w2sum = np.bincount(key, weights=w2 if m is None else w2 * m, minlength=3 * k + 1)[:-1]
        else:
            wsum = w2sum = n.astype(float)
        cell = np.flatnonzero(n)
        parts.append(pd.DataFrame({"outcome": name, "experience": np.asarray(values, float)[cell // 3],
                                   "tier_code": tier_of[cell // 3], "y": np.array([0.0, 1.0, np.nan])[cell % 3],
                                   "rows": n[cell], "w": wsum[cell], "w2": w2sum[cell]}))
    counts = pd.concat(parts, ignore_index=True)
    cats = frame["tier"].cat.categories
    counts.insert(2, "tier", pd.Categorical.from_codes(counts.pop("tier_code"), categories=cats, ordered=True))
    return LoyaltyCells(counts, len(frame) if rows is None else int(np.sum(rows)))


def from_counts(counts: pd.DataFrame, experience: ExperienceSpec, rows: Optional[int] = None,
                source: str = "counts", ratings: Optional[np.ndarray] = None) -> LoyaltyCells:
    """Cells from an aggregated table with the columns of :data:`COUNT_COLUMNS` (e.g. a SQL ``GROUP BY``).

    Tiers are assigned to the ratings of the cells as :func:`cxlab.tiers.assign_tiers` assigns them to rows
    (with ``tiers: null``, one tier per rating present; ``ratings`` adds ratings seen only on rows left out of
    every cell, such as rows without a weight, whose tiers are then listed empty as the row path lists them).
    ``rows`` is the number of rows the counts came from (default: the rated rows). Cells of the same
    (outcome, rating, y) are summed.
    """
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise ValueError(f"the counts table lacks the columns {', '.join(missing)}")
    table = counts[list(COUNT_COLUMNS)].copy()
    table["yk"] = table["y"].fillna(-1.0)
    table = table.groupby(["outcome", "experience", "yk"], sort=False, as_index=False)[["rows", "w", "w2"]].sum()
    table["y"] = table.pop("yk").replace(-1.0, np.nan)
    table = table[table["rows"] > 0].reset_index(drop=True)
    values = table["experience"].astype(float)
    extra = pd.Series(np.asarray(ratings if ratings is not None else [], dtype=float))
    tiers = assign_tiers(pd.concat([values, extra], ignore_index=True), experience, source)
    table.insert(2, "tier", tiers.array[:len(values)])
    table = table[["outcome", "experience", "tier", "y", "rows", "w", "w2"]]
    first = table["outcome"].iloc[0]
    rated = int(table.loc[table["outcome"] == first, "rows"].sum())
    return LoyaltyCells(table, rated if rows is None else int(rows))
