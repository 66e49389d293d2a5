"""Sufficient statistics of survey responses: per group and rating value, the count and weight sums.

Every DESIGN 5.4 figure of a group (a segment level, a wave, a wave and
``mix_by`` level, or everyone) is a function of, per rating value of the
metric, the number of responses, the sum of their weights and the sum of their
squared weights: shares of promoters, detractors or the top box are sums over
values, the mean and its t interval need the sums of w x and w x^2, and Kish's
n the sums of w and w^2. So the analysis collapses the responses to these
counts first (:func:`aggregate`: one table per grouping it reports) and
computes from them. The fixed cohort needs each customer's answers in the
first and last wave: :attr:`MetricsCounts.cohort` keeps the customers' mean
category scores in the two (:mod:`.cohort`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from .cohort import CohortPairs, cohort_pairs
from .spec import METRICS, MetricsStudy


@dataclass
class MetricsCounts:
    """The counts of one metrics data set.

    Attributes
    ----------
    tables : dict
        Grouping (a tuple of column names: ``()`` for everyone, ``("plan",)``,
        ``("wave",)``, ``("wave", "plan")``) -> tidy counts: ``metric``, the
        grouping's columns (categoricals with every level), ``value``, ``rows``,
        ``w`` (sum of weights), ``w2`` (sum of squared weights); one row per
        non-empty cell. Responses missing a grouping value are left out of that
        grouping's table.
    levels : dict
        Column -> its levels in order (``wave`` and every segment), empty ones included.
    n : int
        Responses.
    metrics : list of str
        The metrics present.
    cohort : CohortPairs or None
        The fixed cohort between the first and the last wave; None without customer ids, NPS or two waves.
    """

    tables: dict[tuple[str, ...], pd.DataFrame]
    levels: dict[str, list[Any]]
    n: int
    metrics: list[str]
    cohort: Optional[CohortPairs] = None

    def table(self, metric: str, by: tuple[str, ...]) -> pd.DataFrame:
        """The counts of ``metric`` by the columns ``by``."""
        if by not in self.tables:
            raise KeyError(f"no counts by {', '.join(by) or 'nothing'}")
        table = self.tables[by]
        return table[table["metric"] == metric]


def groupings(study: MetricsStudy, has_wave: bool) -> list[tuple[str, ...]]:
    """The groupings the analysis reports: everyone, each segment (and ``mix_by``), each wave, wave x ``mix_by``."""
    out: list[tuple[str, ...]] = [()]
    for col in [*study.segments, *([study.mix_by] if study.mix_by else [])]:
        if (col,) not in out:
            out.append((col,))
    if has_wave:
        out.append(("wave",))
        if study.mix_by:
            out.append(("wave", study.mix_by))
    return out


def _groups(frame: pd.DataFrame, by: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Group code of each row (mixed radix over ``by``'s categories), whether it has every ``by`` value, sizes."""
    keep = np.ones(len(frame), dtype=bool)
    group = np.zeros(len(frame), dtype=np.int64)
    sizes = []
    for col in by:
        codes = frame[col].cat.codes.to_numpy(np.int64)
        keep &= codes >= 0
        sizes.append(len(frame[col].cat.categories))
        group = group * sizes[-1] + codes
    return group, keep, sizes


def value_counts(frame: pd.DataFrame, metric: str, by: tuple[str, ...], weighted: bool = True,
                 _values: tuple[np.ndarray, np.ndarray] | None = None,
                 _groups_of: tuple[np.ndarray, np.ndarray, list[int]] | None = None,
                 rows: np.ndarray | None = None) -> pd.DataFrame:
    """Responses, sum of weights and sum of squared weights per group of ``by`` and value of ``metric``.

    One hash of the values and three ``bincount`` passes over the rows; rows
    without the metric or a ``by`` value are left out. (``_values`` and
    ``_groups_of`` pass the value codes and group codes when they are reused.)
    ``rows``: the responses each row stands for (distinct values counted by a database server); default 1.
    """
    vcodes, values = _values if _values is not None else pd.factorize(frame[metric].to_numpy(float))
    group, keep, sizes = _groups_of if _groups_of is not None else _groups(frame, by)
    nv, total = len(values), int(np.prod(sizes)) if sizes else 1
    key = np.where(keep & (vcodes >= 0), group * nv + vcodes, total * nv)
    m = None if rows is None else np.asarray(rows, float)
    rows = (np.bincount(key, minlength=total * nv + 1)[:-1] if m is None else
            np.rint(np.bincount(key, weights=m, minlength=total * nv + 1)[:-1]).astype(np.int64))
    if weighted:
        w = frame["weight"].to_numpy(float)
        wsum = np.bincount(key, weights=w if m is None else w * m, minlength=total * nv + 1)[:-1]
        w2sum = np.bincount(key, weights=w * w if m is None else w * w * m, minlength=total * nv + 1)[:-1]
    else:
        wsum = w2sum = rows.astype(float)
    cell = np.flatnonzero(rows)
    out = pd.DataFrame(index=range(len(cell)))
    out["metric"] = metric
    g = cell // nv
    for col, size in zip(reversed(by), reversed(sizes)):
        out[col] = pd.Categorical.from_codes(g % size, dtype=frame[col].dtype)
        g = g // size
    out["value"] = np.asarray(values, float)[cell % nv]
    out["rows"], out["w"], out["w2"] = rows[cell], wsum[cell], w2sum[cell]
    return out[["metric", *by, "value", "rows", "w", "w2"]]


def aggregate(frame: pd.DataFrame, study: MetricsStudy, rows: np.ndarray | None = None,
              cohort: bool = True) -> MetricsCounts:
    """Collapse the responses of :func:`~.load.read` to the counts of every grouping the analysis reports.

    ``rows``: the responses each row stands for (see :func:`value_counts`); the cohort is then left to the caller,
    as it is without ``cohort``.
    """
    metrics = [m for m in METRICS if m in frame]
    has_wave = "wave" in frame
    weighted = study.weight is not None
    values = {m: pd.factorize(frame[m].to_numpy(float)) for m in metrics}
    tables = {}
    for by in groupings(study, has_wave):
        groups = _groups(frame, by)
        tables[by] = pd.concat([value_counts(frame, m, by, weighted, values[m], groups, rows) for m in metrics],
                               ignore_index=True)
    levels = {col: list(frame[col].cat.categories) for col in frame if isinstance(frame[col].dtype, pd.CategoricalDtype)}
    pairs = None
    if cohort and rows is None and has_wave and "customer_id" in frame and "nps" in metrics and len(levels["wave"]) > 1:
        pairs = cohort_pairs(frame["customer_id"].to_numpy(np.int64), frame["wave"].cat.codes.to_numpy(np.int64),
                             frame["nps"].to_numpy(float), 0, len(levels["wave"]) - 1, study)
    return MetricsCounts(tables, levels, len(frame) if rows is None else int(np.sum(rows)), metrics, pairs)


def combine(parts: list[MetricsCounts], order: Callable[[list[str]], list[str]],
            cohort: Optional[CohortPairs] = None) -> MetricsCounts:
    """The counts of several batches of one data set (each with the levels it saw) as one.

    ``order`` puts the union of a column's levels in the order the whole data
    would give them (:func:`~.load.ordered_levels`); ``cohort`` is the fixed
    cohort of all the batches.
    """
    levels: dict[str, list[Any]] = {}
    for part in parts:
        for col, labels in part.levels.items():
            seen = levels.setdefault(col, [])
            seen.extend(label for label in labels if label not in seen)
    levels = {col: order(labels) for col, labels in levels.items()}
    tables = {}
    for by in parts[0].tables:
        table = pd.concat([p.tables[by].astype({c: object for c in by}) for p in parts], ignore_index=True)
        for col in by:
            table[col] = pd.Categorical(table[col], categories=levels[col], ordered=True)
        tables[by] = (table.groupby(["metric", *by, "value"], observed=True, sort=False)[["rows", "w", "w2"]]
                      .sum().reset_index())
    metrics = [m for m in METRICS if any(m in p.metrics for p in parts)]
    return MetricsCounts(tables, levels, sum(p.n for p in parts), metrics, cohort)
