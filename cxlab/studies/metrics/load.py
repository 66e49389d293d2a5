"""Reading survey responses: the metrics, wave, customer id, segments and weight as canonical columns."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ... import data as d
from ...sources import read_source
from ...streaming import Stream, multiplicity, open_stream, without_row
from .cohort import CohortSpill
from .counts import MetricsCounts, aggregate, combine
from .spec import METRICS, MetricsStudy


def factor(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for missing) and labels of a column's values as stripped text; blank is missing.

    The text work is done once per distinct value, so a million rows cost one factorize.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [_level_text(u) for u in uniques]
    position: dict[str, int] = {}
    for t in text:
        if t:
            position.setdefault(t, len(position))
    remap = np.array([position[t] if t else -1 for t in text] + [-1], dtype=np.int64)
    return remap[codes], list(position)


def _level_text(value: object) -> str:
    """A level as text: a date read as a date and time (an Excel date, a Parquet timestamp) at midnight
    reads as its day ("2024-01-01", not "2024-01-01 00:00:00"), which also sorts in time order."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        if stamp == stamp.normalize():
            return stamp.date().isoformat()
    return str(value).strip()


def ordered_levels(values: pd.Series) -> pd.Series:
    """The values as an ordered categorical of strings, levels in sorted order (numerically when all are numbers).

    Missing and blank values are missing. Sorting numbers as numbers keeps wave 10 after wave 9.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    codes, labels = factor(values)
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    if len(labels) and numbers.notna().all():
        order = sorted(range(len(labels)), key=lambda i: (numbers[i], labels[i]))
    else:
        order = sorted(range(len(labels)), key=lambda i: labels[i])
    rank = np.empty(len(labels) + 1, dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(labels))
    rank[-1] = -1
    cats = pd.CategoricalDtype([labels[i] for i in order], ordered=True)
    return pd.Series(pd.Categorical.from_codes(rank[codes], dtype=cats), index=values.index)


def _numeric(frame: pd.DataFrame, name: str, source: str, column: str, whole: bool = False) -> pd.Series:
    """The column as floats (numeric columns pass through; text goes through :func:`cxlab.data.as_numeric`)."""
    values = (frame[name].astype(float) if pd.api.types.is_numeric_dtype(frame[name])
              and not pd.api.types.is_bool_dtype(frame[name]) else d.as_numeric(frame, name, source, column))
    if whole:
        bad = values.notna() & (values != np.round(values))
        if bad.any():
            d.fail_at(bad, frame[name], "is not an integer", source, column)
    return values


def metrics_present(raw: pd.DataFrame, study: MetricsStudy) -> list[str]:
    """The metrics the study analyses: those mapped under ``data.columns`` or present under their own name."""
    return [m for m in METRICS if m in study.data.columns or m in raw.columns]


def _plan(study: MetricsStudy) -> tuple[list[str], dict[str, str], list[str]]:
    """The segment columns (``mix_by`` included), the column mapping and the optional canonical columns."""
    segments = list(study.segments)
    if study.mix_by is not None and study.mix_by not in segments:
        segments.append(study.mix_by)
    mapping = dict(study.data.columns)
    if study.weight:
        mapping.setdefault("weight", study.weight.column)
    return segments, mapping, ["wave", "customer_id"] + (["weight"] if study.weight else [])


def _columns(raw: pd.DataFrame, study: MetricsStudy, source: str
             ) -> tuple[list[str], list[str], dict[str, str], list[str], dict[str, str], pd.DataFrame]:
    """The metrics and segments the study reads, the mapping, the optional columns, the columns used and
    ``raw``'s columns mapped to canonical names (with their labels in ``attrs``)."""
    segments, mapping, optional = _plan(study)
    metrics = metrics_present(raw, study)
    if not metrics:
        shown = ", ".join(map(str, d.header(raw)[:12]))
        raise d.DataError(f"no metric column: map at least one of nps, csat, ces under data.columns "
                          f"(the file has: {shown})", path=source)
    clash = [s for s in segments if s in (*METRICS, "wave", "customer_id", "weight")]
    if clash:
        raise d.DataError(f"segment column {clash[0]!r} has the name of a canonical column; "
                          "map that column under data.columns instead", path=source)
    frame, used = d.map_columns(raw, mapping, [*metrics, *segments], source, optional=optional)
    if study.weight and "weight" not in used:
        raise d.DataError("weight column is missing", path=source, column=study.weight.column)
    return metrics, segments, mapping, optional, used, frame


def _canonical(raw: pd.DataFrame, study: MetricsStudy, source: str, summary: d.ReadSummary,
               rows: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.Series | None]:
    """Checked canonical columns of ``raw``'s responses (rows without a metric, weight or wave dropped and counted
    in ``summary``), and the customer ids as read (None without them). ``rows``: the responses each row of
    ``raw`` stands for (distinct values counted by a database server), default 1."""
    metrics, segments, _, _, used, frame = _columns(raw, study, source)
    out = pd.DataFrame(index=frame.index)
    if "nps" in metrics:
        out["nps"] = _numeric(frame, "nps", source, used["nps"], whole=True)
        lo, hi = study.nps.scale
        d.check_range(out["nps"], lo, hi, source, used["nps"], raw=frame["nps"])
    for name in ("csat", "ces"):
        if name in metrics:
            out[name] = _numeric(frame, name, source, used[name])
            lo, hi = getattr(study, name).scale
            d.check_range(out[name], lo, hi, source, used[name], raw=frame[name])
    if "weight" in used:
        out["weight"] = _numeric(frame, "weight", source, used["weight"])
        bad = (out["weight"] < 0) | np.isinf(out["weight"])
        if bad.any():
            d.fail_at(bad, frame["weight"], "weights must be finite and >= 0", source, used["weight"])
    else:
        out["weight"] = 1.0
    if "wave" in used:
        out["wave"] = ordered_levels(d.labelled(frame, "wave"))
    ids = frame["customer_id"] if "customer_id" in used else None
    for col in segments:  # SPSS/Stata value labels name the levels, as in the other studies
        out[col] = ordered_levels(d.labelled(frame, col))
    no_metric = out[metrics].isna().all(axis=1).to_numpy()
    if no_metric.any():
        lost = int(no_metric.sum()) if rows is None else int(rows[no_metric].sum())
        summary.dropped["no metric answered"] = summary.dropped.get("no metric answered", 0) + lost
    keep = d.count_missing(out, ["weight", *(["wave"] if "wave" in used else [])], summary, among=~no_metric,
                           rows=rows)
    if not keep.all():
        out = out[keep]
    for col in segments:  # a wave stays even when none of its rows is left: the analysis reports it as empty
        out[col] = out[col].cat.remove_unused_categories()
    return out, (ids[keep] if ids is not None and not keep.all() else ids)


def read(study: MetricsStudy, base_dir: str | Path | None = None, *,
         reader: Callable[..., tuple[pd.DataFrame, str]] = read_source) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's responses as canonical columns.

    ``reader`` reads the study's ``data:`` (:func:`cxlab.sources.read_source`; ``cxlab validate`` passes one
    that gives only the first rows of a source read in batches).

    Columns: each metric present (``nps``, ``csat``, ``ces``; NaN where a
    response skipped it), ``wave`` (ordered categorical) and ``customer_id``
    (an integer code per customer, -1 when missing) when present, one column
    per segment (its file name, an ordered categorical), and ``weight``.
    An NPS value that is not a whole number inside its 11-point scale, a
    rating outside its scale and a negative weight are a
    :class:`~cxlab.errors.DataError`. Rows without any metric, or missing the
    weight or the wave, are dropped and counted.
    """
    segments, mapping, optional = _plan(study)
    raw, source = reader(study.data, base_dir, d.source_columns(mapping, [*METRICS, *segments, *optional]))
    *_, used, mapped = _columns(raw.iloc[:0], study, source)
    summary = d.ReadSummary(source=source, rows_read=len(raw), columns=used, **mapped.attrs)
    out, ids = _canonical(raw, study, source, summary)
    del raw
    if ids is not None:   # identity only: an integer code, -1 when missing
        out.insert(list(out.columns).index("weight") + 1 + ("wave" in out), "customer_id", factor(ids)[0])
    if out.empty:
        raise d.DataError("no responses left after dropping rows without a metric, weight or wave", path=source)
    return out, summary


BATCH_ROWS = 1_000_000
"""Rows per batch when :func:`read_counts` streams a source."""


def _stream_counts(study: MetricsStudy, stream: Stream, batch_rows: int, summary: d.ReadSummary,
                   spill: CohortSpill | None) -> tuple[MetricsCounts, dict[str, int]]:
    """The counts of :func:`read_counts` from ``stream``, and the wave codes common to the batches; the answers of
    the first and last waves seen so far written to ``spill`` (the first and last waves of the whole data are
    among them)."""
    source = stream.source
    parts = []
    waves: dict[str, int] = {}
    total = 0

    def order(labels: list[str]) -> list[str]:
        return list(ordered_levels(pd.Series(labels, dtype=object)).cat.categories)

    try:
        for raw in stream.batches(summary.columns.values(), batch_rows):
            rows = multiplicity(raw)
            total += len(raw) if rows is None else int(rows.sum())
            out, batch_ids = _canonical(raw, study, source, summary, rows)
            kept = None if rows is None else pd.Series(rows, index=raw.index).loc[out.index].to_numpy()
            del raw
            parts.append(aggregate(out, study, kept, cohort=False))
            if spill is not None and len(out["wave"].cat.categories):
                to_wave = to_common(waves, list(out["wave"].cat.categories))
                ends = order(list(waves))
                wave = to_wave[out["wave"].cat.codes.to_numpy()]
                keep = np.isin(wave, [waves[ends[0]], waves[ends[-1]]])
                if pd.api.types.is_numeric_dtype(batch_ids) and not pd.api.types.is_bool_dtype(batch_ids):
                    who = batch_ids.to_numpy()[keep]          # numbers are their own identity (NaN: missing)
                else:
                    codes, labels = factor(batch_ids)
                    who = np.array([*labels, None], dtype=object)[codes[keep]]
                spill.add(who, wave[keep], out["nps"].to_numpy(float)[keep], None if kept is None else kept[keep])
    except d.DataError as exc:
        raise without_row(exc, stream) from None
    summary.rows_read = total
    if not total:
        raise d.DataError("the data have a header but no rows", path=source)
    data = combine(parts, order)
    if not data.n:
        raise d.DataError("no responses left after dropping rows without a metric, weight or wave", path=source)
    return data, waves


def to_common(codes: dict[str, int], labels: list[str]) -> np.ndarray:
    """Codes common to every batch for a batch's ``labels`` (new labels get the next code), -1 appended for missing."""
    return np.array([codes.setdefault(label, len(codes)) for label in labels] + [-1], dtype=np.int64)


def read_counts(study: MetricsStudy, base_dir: str | Path | None = None,
                batch_rows: int = BATCH_ROWS) -> tuple[MetricsCounts, d.ReadSummary]:
    """The study's responses as counts per group and rating value (:class:`~.counts.MetricsCounts`).

    Every file source and a DuckDB query is read in batches of ``batch_rows``
    rows of the needed columns (:func:`cxlab.streaming.open_stream`): each batch
    is checked as :func:`read` checks it (a bad value is reported with its row
    in the file) and collapsed to counts; the fixed cohort's answers (customer,
    wave, NPS category) go to a DuckDB database on disk, which groups them by
    customer (:class:`~.cohort.CohortSpill`). A database server counts the
    responses of each distinct combination of the needed columns itself
    (``GROUP BY``). Embedded data are read whole by :func:`read`. The figures
    are those of :func:`read` followed by the analysis.
    """
    stream = open_stream(study.data, base_dir, group=True)
    if stream is None:
        frame, summary = read(study, base_dir)
        return aggregate(frame, study), summary
    source = stream.source
    *_, used, mapped = _columns(stream.header, study, source)
    summary = d.ReadSummary(source=source, rows_read=0, columns=used, **mapped.attrs)
    with ExitStack() as stack:
        spill = None
        if "customer_id" in used and "wave" in used and "nps" in used:
            spill = stack.enter_context(CohortSpill(study))
        data, waves = _stream_counts(study, stream, batch_rows, summary, spill)
        if spill is not None and len(data.levels["wave"]) > 1:
            ends = data.levels["wave"][0], data.levels["wave"][-1]
            data.cohort = spill.pairs(waves[ends[0]], waves[ends[1]])
    return data, summary
