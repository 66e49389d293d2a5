"""Sufficient statistics for survival data: rows aggregated to counts per (time, covariate pattern).

Kaplan-Meier, log-rank, RMST and the Cox model with discrete covariates
(Efron ties) depend on the rows only through, for each distinct time and
each pattern of covariate values, the number of rows observed until that time
(events and censored) and the number of events. :func:`aggregate` computes
that table with integer codes and ``numpy.bincount`` (no per-row Python), so
the estimators in :mod:`cxlab.stats.survival` and :mod:`cxlab.stats.cox` run
on a few thousand cells instead of millions of rows. Rows are a special case
(one cell per row, ``n`` 1), so the same estimators serve both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd


@dataclass
class Cells:
    """Rows aggregated to cells.

    Attributes
    ----------
    time : ndarray
        Distinct time of each cell; cells are sorted by time (then pattern).
    pattern : ndarray of int
        Index of the cell's covariate pattern (a row of ``patterns``).
    n : ndarray of float
        Rows in the cell (events and censored).
    d : ndarray of float
        Events in the cell.
    patterns : DataFrame
        One row per pattern: the key columns' values.
    """

    time: np.ndarray
    pattern: np.ndarray
    n: np.ndarray
    d: np.ndarray
    patterns: pd.DataFrame

    def __len__(self) -> int:
        return len(self.time)

    def split(self, key: np.ndarray) -> dict[Any, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Counts per value of ``key`` (one value per pattern, e.g. its tier): ``{value: (distinct sorted times,
        rows removed at each, events at each)}`` for the values that occur."""
        codes = np.asarray(key)[self.pattern]
        out = {}
        for value in np.unique(codes):
            mask = codes == value
            times, inverse = np.unique(self.time[mask], return_inverse=True)
            out[value] = (times, np.bincount(inverse, self.n[mask], len(times)),
                          np.bincount(inverse, self.d[mask], len(times)))
        return out


def _factor(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (0..k-1, in sorted order of the values) and the sorted distinct values."""
    codes, uniques = pd.factorize(pd.Series(values), sort=True, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def _tally(time: np.ndarray, pcode: np.ndarray, n: np.ndarray | None, d: np.ndarray, patterns: pd.DataFrame
           ) -> Cells:
    """Cells from a time and a pattern code per row (``n``: rows each stands for, default 1)."""
    tcode, times = _factor(time)
    width = int(pcode.max()) + 1 if len(pcode) else 1
    key = tcode * width + pcode
    if len(times) * width <= 4 * len(key) + 1_000_000:      # dense: bincount over every (time, pattern)
        size = len(times) * width
        rows = np.bincount(key, weights=n, minlength=size)
        events = np.bincount(key, weights=d, minlength=size)
        cell = np.flatnonzero(rows)
        rows, events = rows[cell], events[cell]
    else:                                                   # sparse: the keys that occur
        cell, inverse = np.unique(key, return_inverse=True)
        rows = np.bincount(inverse, weights=n, minlength=len(cell))
        events = np.bincount(inverse, weights=d, minlength=len(cell))
    return Cells(times[cell // width].astype(float), (cell % width).astype(np.int64), rows.astype(float),
                 events.astype(float), patterns)


def aggregate(time: np.ndarray, event: np.ndarray, keys: pd.DataFrame | None = None,
              n: np.ndarray | None = None) -> Cells:
    """Rows to :class:`Cells`: per distinct time and pattern of ``keys``' columns, rows and events.

    Parameters
    ----------
    time, event : array
        Duration and event (0/1) of each row; with ``n``, the events among the rows it stands for.
    keys : DataFrame, optional
        Columns whose joint values form a row's pattern (discrete: ratings, tiers, category codes).
        Without keys every row has the same pattern.
    n : array, optional
        Rows each row stands for (already counted cells, e.g. of several batches); default 1.
    """
    t = np.asarray(time, float)
    e = np.asarray(event, float)
    if keys is None or keys.shape[1] == 0:
        pcode = np.zeros(len(t), np.int64)
        patterns = pd.DataFrame(index=range(1))
    else:
        combined = np.zeros(len(t), np.int64)
        levels = []
        for name in keys.columns:
            codes, uniques = _factor(keys[name])
            combined *= len(uniques)
            combined += codes
            levels.append(uniques)
        pcode, present = _factor(combined)
        # decode the mixed-radix codes back to each column's value
        patterns = {}
        rest = present.astype(np.int64)
        for name, uniques in zip(reversed(list(keys.columns)), reversed(levels)):
            patterns[name] = uniques[rest % len(uniques)]
            rest = rest // len(uniques)
        patterns = pd.DataFrame({name: patterns[name] for name in keys.columns})
    return _tally(t, pcode, None if n is None else np.asarray(n, float), e, patterns)


def rows_as_cells(time: np.ndarray, event: np.ndarray) -> Cells:
    """Rows as cells without aggregation (one per row, sorted by time): for covariates that need rows."""
    t = np.asarray(time, float)
    order = np.argsort(t, kind="stable")
    return Cells(t[order], order.astype(np.int64), np.ones(len(t)), np.asarray(event, float)[order],
                 pd.DataFrame(index=range(len(t))))


def weighted_median(values: np.ndarray, counts: np.ndarray) -> float | None:
    """Median of the rows behind distinct sorted ``values`` with ``counts`` (pandas' rule: mean of the two
    middle order statistics when the number of rows is even); None without rows."""
    counts = np.asarray(counts, float)
    total = int(round(counts.sum()))
    if total == 0:
        return None
    cum = np.cumsum(counts)
    lo = values[np.searchsorted(cum, (total - 1) // 2 + 1)]
    hi = values[np.searchsorted(cum, total // 2 + 1)]
    return float((lo + hi) / 2) if lo != hi else float(lo)


def group_sums(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sum of ``values`` per integer code (0..size-1)."""
    return np.bincount(np.asarray(codes, np.int64), weights=np.asarray(values, float), minlength=size)


__all__: Sequence[str] = ("Cells", "aggregate", "rows_as_cells", "weighted_median", "group_sums")
