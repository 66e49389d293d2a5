"""The fixed cohort (DESIGN 5.4): customers who answered NPS in both the first and the last wave.

Its figures depend on the responses only through each customer's mean
category score (-1 detractor, 0 passive, +1 promoter) in the two waves, so
:class:`CohortPairs` keeps the distinct pairs of means with the number of
customers who have them. Rows in memory give them directly
(:func:`cohort_pairs`); a streamed source writes each batch's (customer, wave,
score) to a DuckDB database on disk (:class:`CohortSpill`) and lets DuckDB
group them by customer, so that memory does not grow with the number of
customers (10^8 responses from 5 x 10^7 customers: the pairs are a handful of rows).
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ...errors import TemporaryStorageError, first_line
from ...sqlsafe import no_progress_bar
from .spec import MetricsStudy

SPILL_MEMORY = "512MB"
"""DuckDB's memory limit while it groups the spilled answers by customer (beyond it, DuckDB spills to disk)."""


@dataclass
class CohortPairs:
    """Customers of the fixed cohort by their mean category scores in the first and the last wave.

    Attributes
    ----------
    first, last : ndarray
        Distinct pairs of mean category scores (first wave, last wave).
    customers : ndarray
        Customers with each pair.
    repeated : int
        (customer, wave) pairs with more than one answer in the first or the last wave, among all customers
        with an id (in the cohort or not).
    """

    first: np.ndarray
    last: np.ndarray
    customers: np.ndarray
    repeated: int

    @property
    def n(self) -> int:
        """Customers in the cohort."""
        return int(self.customers.sum())


def category_scores(nps: np.ndarray, study: MetricsStudy) -> np.ndarray:
    """NPS answers as category scores: +1 promoter, -1 detractor, 0 passive."""
    return np.where(nps >= study.nps.promoter_from, 1, np.where(nps <= study.nps.detractor_to, -1, 0)).astype(np.int8)


def _pairs(first: np.ndarray, last: np.ndarray, customers: np.ndarray, repeated: int) -> CohortPairs:
    both = ~(np.isnan(first) | np.isnan(last))
    table = pd.DataFrame({"first": first[both], "last": last[both], "customers": customers[both]})
    table = table.groupby(["first", "last"], sort=True)["customers"].sum().reset_index()
    return CohortPairs(table["first"].to_numpy(float), table["last"].to_numpy(float),
                       table["customers"].to_numpy(np.int64), int(repeated))


def cohort_pairs(ids: np.ndarray, wave: np.ndarray, nps: np.ndarray, first: int, last: int,
                 study: MetricsStudy) -> CohortPairs:
    """The cohort of rows in memory: ``ids`` integer customer codes (-1 missing), ``wave`` codes, ``nps`` answers
    (NaN skipped); ``first`` and ``last`` the codes of the two waves."""
    ids, wave, nps = np.asarray(ids, np.int64), np.asarray(wave, np.int64), np.asarray(nps, float)
    keep = ~np.isnan(nps) & (ids >= 0) & ((wave == first) | (wave == last))
    key = ids[keep] * 2 + (wave[keep] == last)                      # customer x (first, last)
    size = 2 * (int(ids[keep].max()) + 1) if keep.any() else 0
    count = np.bincount(key, minlength=size).reshape(-1, 2)
    total = np.bincount(key, weights=category_scores(nps[keep], study), minlength=size).reshape(-1, 2)
    seen = count.sum(axis=1) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)[seen]
    return _pairs(mean[:, 0], mean[:, 1], np.ones(len(mean), np.int64), int((count > 1).sum()))


class CohortSpill:
    """The answers of the first and last waves seen so far, batch by batch, in a DuckDB database on disk.

    Use as a context manager (the database's folder is removed on exit). :meth:`add` writes a batch;
    :meth:`pairs` groups every answer by customer once the first and last waves are known.
    """

    def __init__(self, study: MetricsStudy) -> None:
        self.study = study
        self._folder = self._con = None
        with self._storage():
            import duckdb
            self._folder = tempfile.TemporaryDirectory(prefix="cxlab-cohort-")
            folder = Path(self._folder.name)
            self._con = duckdb.connect(str(folder / "cohort.duckdb"))
            no_progress_bar(self._con)
            self._con.execute(f"SET memory_limit = '{SPILL_MEMORY}'")
            self._con.execute("SET temp_directory = ?", [str(folder / "spill")])
            self._con.execute("SET preserve_insertion_order = false")
            self._con.execute("CREATE TABLE answers (num DOUBLE, txt VARCHAR, wave INTEGER, score TINYINT, "
                              "times BIGINT)")

    @contextmanager
    def _storage(self) -> Iterator[None]:
        """DuckDB's and the file system's failures (a full or unusable temporary folder) as one line."""
        import duckdb
        try:
            yield
        except (duckdb.Error, OSError) as exc:
            self.__exit__()
            raise TemporaryStorageError(
                f"the fixed cohort's answers cannot be kept in a temporary database ({first_line(exc)}): free space "
                "in the temporary folder or set TMPDIR to a folder with room") from None

    def __enter__(self) -> "CohortSpill":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def add(self, ids: np.ndarray | list[Any], wave: np.ndarray, nps: np.ndarray,
            times: np.ndarray | None = None) -> None:
        """One batch: customer ids (numbers, or text; missing ones are skipped), common wave codes, NPS answers
        (NaN skipped) and the responses each row stands for (default 1)."""
        import pyarrow as pa
        ids = pd.Series(ids)
        numeric = pd.api.types.is_numeric_dtype(ids) and not pd.api.types.is_bool_dtype(ids)
        present = ids.notna().to_numpy() & ~np.isnan(np.asarray(nps, float))
        if not present.any():
            return
        rows = int(present.sum())
        values = ids.to_numpy()[present]
        batch = pa.table({
            "num": pa.array(values.astype(float)) if numeric else pa.nulls(rows, pa.float64()),
            "txt": pa.nulls(rows, pa.string()) if numeric else pa.array(values.astype(str), pa.string()),
            "wave": pa.array(np.asarray(wave, np.int32)[present]),
            "score": pa.array(category_scores(np.asarray(nps, float)[present], self.study)),
            "times": pa.array(np.ones(rows, np.int64) if times is None else np.asarray(times, np.int64)[present])})
        with self._storage():
            self._con.register("batch", batch)
            self._con.execute("INSERT INTO answers SELECT * FROM batch")
            self._con.unregister("batch")

    def pairs(self, first: int, last: int) -> CohortPairs:
        """The cohort of the answers written so far, ``first`` and ``last`` being the two waves' codes."""
        with self._storage():
            table = self._con.execute("""
            WITH per AS (
                SELECT sum(times) FILTER (WHERE wave = $first) AS n0,
                       sum(times * score) FILTER (WHERE wave = $first) AS s0,
                       sum(times) FILTER (WHERE wave = $last) AS n1,
                       sum(times * score) FILTER (WHERE wave = $last) AS s1
                FROM answers WHERE wave IN ($first, $last) GROUP BY num, txt)
            SELECT s0 / n0 AS first, s1 / n1 AS last, count(*) AS customers,
                   count(*) FILTER (WHERE n0 > 1) + count(*) FILTER (WHERE n1 > 1) AS repeated
            FROM per GROUP BY ALL""", {"first": int(first), "last": int(last)}).df()
        first_mean = pd.to_numeric(table["first"], errors="coerce").to_numpy(float)
        last_mean = pd.to_numeric(table["last"], errors="coerce").to_numpy(float)
        return _pairs(first_mean, last_mean, table["customers"].to_numpy(np.int64), int(table["repeated"].sum()))
