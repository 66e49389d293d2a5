"""Reading retention data: durations and events (or dates), the rating, covariates and value."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ... import data as d
from ...dbsource import sum_columns
from ...sources import read_source
from ...stats.counts import aggregate, group_sums
from ...streaming import Stream, multiplicity, open_stream, without_row
from ...errors import DataError
from ...stats.survival import duration_between
from ...tiers import assign_tiers, require_two_tiers
from .counts import MAX_LEVELS, RetentionCounts, summarise
from .spec import RetentionStudy

RESERVED = ("experience", "tier", "duration", "event", "start_date", "end_date", "value")


def derive_durations(start: pd.Series, end: pd.Series, observation_end: str | pd.Timestamp, time_unit: str,
                     source: str = "<data>", columns: tuple[str, str] = ("start_date", "end_date")
                     ) -> tuple[pd.Series, pd.Series]:
    """Duration (in ``time_unit``) and event (0/1) from start and end dates.

    A customer with an end date churned then (event 1, duration end - start); a
    customer without one is still active at ``observation_end`` (event 0,
    duration observation_end - start), in calendar months (anniversaries
    from the start, day clamped to the month's length: :func:`cxlab.stats.survival.calendar_months`),
    weeks (days / 7) or days.

    Raises
    ------
    DataError
        A missing start date, an end date before (or on) the start date or
        after ``observation_end``, or a start date on or after ``observation_end``.
    """
    obs = pd.Timestamp(observation_end)
    start_col, end_col = columns

    if start.isna().any():
        d.fail_at(start.isna(), start, "is missing (every customer needs a start date)", source, start_col)
    active = end.isna()
    late = ~active & (end > obs)
    if late.any():
        d.fail_at(late, end, f"is after observation_end {obs.date().isoformat()}", source, end_col)
    early = ~active & (end < start)
    if early.any():
        d.fail_at(early, end, "is before the start date", source, end_col)
    same = ~active & (end == start)
    if same.any():
        d.fail_at(same, end, "is the start date: the tenure is zero (durations must be > 0)", source, end_col)
    unborn = active & (start >= obs)
    if unborn.any():
        d.fail_at(unborn, start, f"is on or after observation_end {obs.date().isoformat()}: no follow-up", source,
                  start_col)
    stop = end.where(~active, obs)
    duration = duration_between(start, stop, time_unit)
    event = (~active).astype(float).rename("event")
    return duration, event


def _covariate(frame: pd.DataFrame, column: str, source: str, label: str) -> pd.Series:
    """Numeric when every non-empty value is a number, else categorical text (stripped); value labels name levels."""
    raw = d.labelled(frame, column)
    if isinstance(raw.dtype, pd.CategoricalDtype):
        return _categorical_covariate(raw)
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce")
    present = raw.notna() & (raw.astype("string").str.strip() != "")
    if (values.notna() == present).all():
        return values.astype(float)
    text = raw.astype("string").str.strip()
    return text.where(present.to_numpy(), None).astype(object)


def _categorical_covariate(raw: pd.Series) -> pd.Series:
    """:func:`_covariate` for a categorical column (a Parquet dictionary column), worked on its categories
    only: numeric when every category is a number, else categorical text (stripped; empty is missing)."""
    cats = pd.Series(raw.cat.categories)
    codes = raw.cat.codes.to_numpy()
    text = cats.astype("string").str.strip()
    values = pd.to_numeric(cats, errors="coerce")
    present = cats.notna() & (text != "")
    if (values.notna() == present).all():
        lookup = np.append(values.to_numpy(float), np.nan)                   # code -1 (missing) -> NaN
        return pd.Series(lookup[codes], index=raw.index, dtype=float)
    levels, remap = np.unique(text.where(present, "").to_numpy(str), return_inverse=True)
    remap = np.where(present.to_numpy(), remap, -1)
    new = np.where(codes >= 0, np.append(remap, -1)[codes], -1)
    keep = levels != ""
    renum = np.cumsum(keep) - 1
    new = np.where(new >= 0, np.where(keep[np.maximum(new, 0)], renum[np.maximum(new, 0)], -1), -1)
    return pd.Series(pd.Categorical.from_codes(new, categories=levels[keep]), index=raw.index)


def _plan(study: RetentionStudy) -> tuple[bool, list[str], dict[str, str]]:
    """Whether durations come from dates, the canonical columns read and the column mapping."""
    dates = study.observation_end is not None
    timing = ["start_date", "end_date"] if dates else ["duration", "event"]
    wanted = ["experience", *timing, *study.covariates]
    mapping = dict(study.data.columns)
    if study.value_per_period:
        mapping.setdefault("value", study.value_per_period)
        wanted.append("value")
    return dates, wanted, mapping


def _check_timing(header: pd.DataFrame, study: RetentionStudy, mapping: dict[str, str], source: str) -> None:
    if study.observation_end is None and "duration" not in mapping and "duration" not in header.columns and (
            mapping.get("start_date", "start_date") in header.columns):
        raise DataError("the data have start dates but no duration column: set observation_end in the study file "
                        "to derive durations from start_date and end_date", path=source, column="duration")


def _canonical(frame: pd.DataFrame, study: RetentionStudy, source: str, used: dict[str, str]) -> pd.DataFrame:
    """The mapped columns as checked canonical columns (``experience``, ``duration``, ``event``, dates when
    durations come from them, the covariates, ``value``); missing ratings and covariates are left to the caller."""
    out = pd.DataFrame(index=frame.index)
    out["experience"] = d.as_numeric(frame, "experience", source, used["experience"])
    if study.observation_end is not None:
        start = d.parse_dates(frame, "start_date", source, used["start_date"])
        end = d.parse_dates(frame, "end_date", source, used["end_date"])
        out["duration"], out["event"] = derive_durations(start, end, study.observation_end, study.time_unit,
                                                         source, (used["start_date"], used["end_date"]))
        out["start_date"], out["end_date"] = start, end
    else:
        out["duration"] = d.as_numeric(frame, "duration", source, used["duration"])
        bad = out["duration"].isna() | ~np.isfinite(out["duration"]) | (out["duration"] <= 0)
        if bad.any():
            value = out["duration"][bad].iloc[0]
            what = "is missing" if pd.isna(value) else ("is not finite" if not np.isfinite(value) else
                                                         "is zero" if value == 0 else "is negative")
            d.fail_at(bad, frame["duration"], f"{what} (durations must be numbers > 0)", source, used["duration"])
        out["event"] = d.as_binary(frame, "event", source, used["event"])
        if out["event"].isna().any():
            d.fail_at(out["event"].isna(), frame["event"], "is missing (event must be 1 churned or 0 still a customer)",
                      source, used["event"])
    for name in study.covariates:
        out[name] = _covariate(frame, name, source, used[name])
    if study.value_per_period:
        out["value"] = d.as_numeric(frame, "value", source, used["value"])
        neg = out["value"] < 0
        if neg.any():
            d.fail_at(neg, frame["value"], "values per period must be >= 0", source, used["value"])
    lo, hi = study.experience.scale
    d.check_range(out["experience"], lo, hi, source, used["experience"], raw=frame["experience"])
    return out


def read(study: RetentionStudy, base_dir: str | Path | None = None, *,
         reader: Callable[..., tuple[pd.DataFrame, str]] = read_source) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's data as canonical columns.

    ``reader`` reads the study's ``data:`` (:func:`cxlab.sources.read_source`; ``cxlab validate`` passes one
    that gives only the first rows of a source read in batches).

    Columns of the result: ``experience``, ``tier``, ``duration``, ``event``
    (0/1), the covariates under their names, and ``value`` when the study
    names ``value_per_period``. Rows with a missing rating or covariate are
    dropped and counted in the summary.

    Raises
    ------
    DataError
        Missing, zero, negative or non-numeric durations; events other than
        0/1; unparsable dates, an end date before the start or after
        ``observation_end``; ratings outside the scale.
    """
    dates, wanted, mapping = _plan(study)
    raw, source = reader(study.data, base_dir, d.source_columns(mapping, wanted))
    _check_timing(raw, study, mapping, source)
    frame, used = d.map_columns(raw, mapping, wanted, source)
    del raw                     # the mapped copy is all that is needed from here (10^7 rows: hundreds of MB)
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used, **frame.attrs)
    out = _canonical(frame, study, source, used)
    out = d.drop_missing(out, ["experience", *study.covariates], summary)
    if out.empty:
        raise DataError("no rows left after dropping rows with missing values", path=source)
    out["tier"] = assign_tiers(out["experience"], study.experience, source, used["experience"])
    require_two_tiers(out["tier"], out["experience"], source, used["experience"])
    return out, summary


BATCH_ROWS = 1_000_000
"""Rows per batch when :func:`read_counts` streams a source."""
MERGE_EVERY = 8
"""Batches' counts are merged into one table every this many batches (memory: the distinct cells, not the batches)."""


def read_counts(study: RetentionStudy, base_dir: str | Path | None = None,
                batch_rows: int = BATCH_ROWS) -> tuple[RetentionCounts, d.ReadSummary]:
    """The study's data as counts per time and pattern (:class:`~.counts.RetentionCounts`), with the summary of
    :func:`read`.

    Every file source and a DuckDB query is read in batches of ``batch_rows`` rows of the needed columns
    (:func:`cxlab.streaming.open_stream`); each batch is checked as :func:`read` checks it (a bad value is
    reported with its row in the file) and collapsed to rows and events per (duration, rating, covariates),
    and the value per period to its sum per rating. A database server counts the rows of each distinct
    combination of the needed columns itself (``GROUP BY``, the value summed, not grouped). A continuous
    covariate (:func:`~.counts.is_continuous`: numeric, more than ``MAX_LEVELS`` values) keeps its model's
    columns row by row, in compact arrays. Embedded data are read whole by :func:`read`. The figures are those
    of :func:`read` followed by :func:`~.analysis.analyze`.
    """
    value = bool(study.value_per_period)
    stream = open_stream(study.data, base_dir, group=True)
    if stream is None:
        frame, summary = read(study, base_dir)
        return summarise(frame, study.covariates, value), summary
    continuous: set[str] = set()
    while True:   # a numeric covariate found continuous only in a later batch: read again, its rows kept
        try:
            return _stream_counts(study, stream, batch_rows, continuous, base_dir)
        except _Continuous as found:
            continuous.add(found.column)


class _Continuous(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _release_memory() -> None:
    """Give the memory freed by the batches back to the system (pyarrow's pool, glibc's arenas), so that the
    analysis that follows starts from what the counts hold (10^7 rows: 0.5 GB less)."""
    import ctypes
    import ctypes.util

    import pyarrow as pa
    pa.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except OSError:   # not glibc: nothing to trim
        pass


def _sum_nan(values: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``values``' columns summed per combination of the ``by`` columns, NaN where a summand is NaN (as
    ``numpy.bincount`` sums the rows)."""
    cols = [c for c in values.columns if c not in by]
    grouped = values.groupby(by, sort=False)
    total = grouped[cols].sum()
    total[values[cols].isna().groupby([values[b] for b in by], sort=False).any().reindex(total.index)
          .to_numpy()] = np.nan
    return total.reset_index()


def _stream_counts(study: RetentionStudy, stream: Stream, batch_rows: int, continuous: set[str],
                   base_dir: str | Path | None) -> tuple[RetentionCounts, d.ReadSummary]:
    """One pass of :func:`read_counts` over ``stream``, the ``continuous`` covariates kept row by row."""
    value = bool(study.value_per_period)
    source = stream.source
    dates, wanted, mapping = _plan(study)
    _check_timing(stream.header, study, mapping, source)
    mapped, used = d.map_columns(stream.header, mapping, wanted, source)
    summary = d.ReadSummary(source=source, rows_read=0, columns=used, **mapped.attrs)
    covs = list(study.covariates)
    keys = ["duration", "experience", *[c for c in covs if c not in continuous]]
    tables, sums, rowparts, total = [], [], [], 0
    seen: dict[str, set] = {c: set() for c in covs if c not in continuous}
    vcol = used.get("value")
    try:
        for raw in stream.batches(used.values(), batch_rows, sums=[vcol] if value and stream.grouped else ()):
            rows = multiplicity(raw)
            vsum = vsq = None
            if rows is not None and value:
                total_c, squares_c, count_c, low_c = sum_columns(vcol)
                full = raw.pop(count_c).to_numpy() == rows
                vsum = np.where(full, raw.pop(total_c).to_numpy(float), np.nan)
                vsq = np.where(full, raw.pop(squares_c).to_numpy(float), np.nan)
                raw[vcol] = raw.pop(low_c)               # checked as a value: the smallest of the group's
            m = np.ones(len(raw)) if rows is None else rows.astype(float)
            total += len(raw) if rows is None else int(rows.sum())
            frame, _ = d.map_columns(raw, mapping, wanted, source)
            del raw
            out = _canonical(frame, study, source, used)
            del frame
            keep = d.count_missing(out, ["experience", *covs], summary, rows=rows)
            if not keep.all():
                out, m = out[keep], m[keep]
                vsum, vsq = (None, None) if vsum is None else (vsum[keep], vsq[keep])
            for c in seen:
                if pd.api.types.is_numeric_dtype(out[c]):
                    seen[c].update(pd.unique(out[c].to_numpy()).tolist())
                    if len(seen[c]) > MAX_LEVELS:
                        raise _Continuous(c)
            if value:
                v = out["value"].to_numpy(float)
                sums.append(_sum_nan(pd.DataFrame({
                    "experience": out["experience"].to_numpy(float), "time": out["duration"].to_numpy(float),
                    "event": (out["event"].to_numpy(float) > 0).astype(np.int64),
                    "v": v * m if vsum is None else vsum, "v2": v * v * m if vsq is None else vsq}),
                    ["experience", "time", "event"]))
            if continuous:    # plain arrays (a frame would consolidate them into one more copy)
                times = None if (m == 1).all() else m.astype(np.int64)
                numeric = ["duration", "event", "experience",
                           *[c for c in covs if c in continuous or pd.api.types.is_numeric_dtype(out[c])]]
                rowparts.append({c: out[c].to_numpy(float) if c in numeric else pd.Categorical(out[c])
                                 for c in ["duration", "event", "experience", *covs]})
                if times is not None:
                    rowparts[-1] = {c: v.take(np.repeat(np.arange(len(v)), times)) if isinstance(v, pd.Categorical)
                                    else np.repeat(v, times) for c, v in rowparts[-1].items()}
            part = pd.DataFrame({k: out[k].astype(object) if isinstance(out[k].dtype, pd.CategoricalDtype)
                                 else out[k] for k in keys})
            part["n"], part["d"] = m, m * out["event"].to_numpy(float)
            tables.append(part.groupby(keys, sort=False, dropna=False)[["n", "d"]].sum().reset_index())
            del out, part
            if len(tables) >= MERGE_EVERY:   # memory: the distinct cells so far, not a table per batch
                tables = [pd.concat(tables, ignore_index=True).groupby(keys, sort=False, dropna=False)[["n", "d"]]
                          .sum().reset_index()]
            if value and len(sums) >= MERGE_EVERY:
                sums = [_sum_nan(pd.concat(sums, ignore_index=True), ["experience", "time", "event"])]
    except DataError as exc:
        raise without_row(exc, stream) from None
    summary.rows_read = total
    if not total:
        raise DataError("the data have a header but no rows", path=source)
    table = pd.concat(tables, ignore_index=True)
    del tables
    table = table.groupby(keys, sort=False, dropna=False)[["n", "d"]].sum().reset_index()
    table = table[table["n"] > 0].reset_index(drop=True)
    if table.empty:
        raise DataError("no rows left after dropping rows with missing values", path=source)
    experience = table["experience"].astype(float)
    tier = assign_tiers(experience, study.experience, source, used["experience"])
    try:
        require_two_tiers(tier, experience, source, used["experience"])
    except DataError:
        if stream.grouped:
            raise
        frame, summary = read(study, base_dir)      # the row path's message names an example row
        return summarise(frame, covs, value), summary
    labels = [str(c) for c in tier.cat.categories]
    keyframe = pd.DataFrame({"tier": tier.cat.codes.to_numpy(np.int64), "experience": experience.to_numpy()})
    for c in keys[2:]:
        col = table[c].infer_objects()
        keyframe[c] = col.to_numpy(float) if pd.api.types.is_numeric_dtype(col) else col.astype(str).to_numpy(object)
    cells = aggregate(table["duration"].to_numpy(float), table["d"].to_numpy(float), keyframe,
                      n=table["n"].to_numpy(float))
    value_sum = value_sumsq = value_cells = None
    if value:
        cellsums = _sum_nan(pd.concat(sums, ignore_index=True), ["experience", "time", "event"])
        del sums
        code = assign_tiers(cellsums["experience"], study.experience, source).cat.codes.to_numpy(np.int64)
        value_sum = group_sums(code, cellsums["v"].to_numpy(float), len(labels))
        value_sumsq = group_sums(code, cellsums["v2"].to_numpy(float), len(labels))
        cellsums["tier"] = code
        value_cells = _sum_nan(cellsums[["tier", "time", "event", "v"]], ["tier", "time", "event"])
        value_cells = value_cells.rename(columns={"v": "value"})[["tier", "time", "event", "value"]]
    rows_frame = None
    if continuous:
        from pandas.api.types import union_categoricals
        columns = {}
        for c in list(rowparts[0]):      # column by column, each batch's array freed as it is joined
            pieces = [part.pop(c) for part in rowparts]
            columns[c] = (union_categoricals(pieces) if isinstance(pieces[0], pd.Categorical)
                          else np.concatenate(pieces))
            del pieces
        rows_frame = pd.DataFrame(columns, copy=False)
        del columns
    _release_memory()
    del rowparts
    return RetentionCounts(cells, labels, value_sum=value_sum, value_sumsq=value_sumsq, value_cells=value_cells,
                           continuous=[c for c in covs if c in continuous], rows=rows_frame), summary
