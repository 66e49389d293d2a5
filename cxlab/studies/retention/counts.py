"""The retention study's sufficient statistics: rows to counts per (time, tier, rating, covariate pattern).

Every figure of DESIGN 5.2 depends on the rows only through these counts
(numbers at risk and events per distinct time and pattern), the value sums
per tier and, for a continuous covariate, the rows themselves: such a
covariate (numeric, more than :data:`MAX_LEVELS` distinct values) is left out
of the patterns and the adjusted Cox model is fitted on the rows, with a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...stats.counts import Cells, aggregate, group_sums

MAX_LEVELS = 100
"""A numeric covariate with more distinct values than this is continuous: the adjusted Cox model needs rows."""


@dataclass
class RetentionCounts:
    """Counts behind a retention analysis.

    Attributes
    ----------
    cells : Cells
        Rows and events per (time, pattern); pattern columns ``tier`` (code), ``experience`` and the
        covariates that aggregate.
    labels : list of str
        Tier labels, worst to best (``tier`` codes index them).
    value_sum : ndarray or None
        Sum of the value per period by tier code.
    value_sumsq : ndarray or None
        Sum of the squared value per period by tier code (its sample variance).
    value_cells : DataFrame or None
        Sum of the value per (tier code, time, event): columns ``tier``, ``time``, ``event``, ``value`` (the
        covariance of a tier's RMST with its mean value, :func:`cxlab.stats.survival.rmst_influence`).
    continuous : list of str
        Covariates left out of the patterns (their model needs rows).
    rows : DataFrame or None
        ``duration``, ``event``, ``experience`` and the covariates per row, kept only when a covariate is
        continuous.
    """

    cells: Cells
    labels: list[str]
    value_sum: np.ndarray | None = None
    value_sumsq: np.ndarray | None = None
    value_cells: pd.DataFrame | None = None
    continuous: list[str] = field(default_factory=list)
    rows: pd.DataFrame | None = None

    @property
    def n(self) -> int:
        return int(round(self.cells.n.sum()))

    def tier_rows(self) -> np.ndarray:
        """Rows per tier code."""
        codes = self.cells.patterns["tier"].to_numpy(np.int64)
        return group_sums(codes[self.cells.pattern], self.cells.n, len(self.labels))


def is_continuous(column: pd.Series) -> bool:
    """A numeric column with more than :data:`MAX_LEVELS` distinct values."""
    if not pd.api.types.is_numeric_dtype(column):
        return False
    values = column.to_numpy()
    # a first slice with too many values settles it without hashing 10^7 rows
    return bool(len(pd.unique(values[:100_000])) > MAX_LEVELS or column.nunique() > MAX_LEVELS)


def summarise(frame: pd.DataFrame, covariates: list[str], value: bool = False) -> RetentionCounts:
    """Rows of :func:`cxlab.studies.retention.load.read` to :class:`RetentionCounts` (integer codes and
    ``numpy.bincount``: no per-row Python)."""
    labels = [str(c) for c in frame["tier"].cat.categories]
    tier = frame["tier"].cat.codes.to_numpy()
    continuous = [c for c in covariates if is_continuous(frame[c])]
    keys = pd.DataFrame({"tier": tier, "experience": frame["experience"].to_numpy(float)})
    for name in covariates:
        if name not in continuous:
            keys[name] = frame[name].array          # positional; a categorical keeps its codes
    cells = aggregate(frame["duration"].to_numpy(float), frame["event"].to_numpy(float), keys)
    value_sum = value_sumsq = value_cells = None
    if value:
        v = frame["value"].to_numpy(float)
        value_sum, value_sumsq = group_sums(tier, v, len(labels)), group_sums(tier, v * v, len(labels))
        tcode, times = pd.factorize(frame["duration"].to_numpy(float), sort=True)
        key = (tcode.astype(np.int64) * len(labels) + tier) * 2 + (frame["event"].to_numpy(float) > 0)
        code, keys = pd.factorize(key)
        keys = np.asarray(keys, np.int64)
        value_cells = pd.DataFrame({"tier": (keys // 2) % len(labels), "time": times[keys // 2 // len(labels)],
                                    "event": keys % 2, "value": np.bincount(code, weights=v)})
    rows = None
    if continuous:
        rows = pd.DataFrame({c: frame[c].reset_index(drop=True) for c in ["duration", "event", "experience",
                                                                           *covariates]}, copy=False)
    return RetentionCounts(cells, labels, value_sum, value_sumsq, value_cells, continuous, rows)
