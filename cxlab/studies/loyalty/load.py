"""Reading loyalty data: the rating, the binary outcomes and the weight as canonical columns."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ... import data as d
from ...sources import read_source
from ...streaming import as_written, multiplicity, open_stream, without_row
from ...tiers import assign_tiers, require_two_tiers
from .cells import LoyaltyCells, aggregate, from_counts
from .spec import LoyaltyStudy


BATCH_ROWS = 1_000_000
"""Rows per batch when :func:`read_cells` streams a source."""


def _mapping(study: LoyaltyStudy) -> tuple[dict[str, str], list[str], list[str]]:
    mapping = dict(study.data.columns)
    if study.weight:
        mapping.setdefault("weight", study.weight.column)
    return mapping, ["experience", *study.outcomes], ["weight"] if study.weight else []


def _canonical(frame: pd.DataFrame, study: LoyaltyStudy, source: str, used: dict[str, str]) -> pd.DataFrame:
    """The mapped columns as checked canonical columns (``experience``, the outcomes as 0/1, ``weight``)."""
    out = pd.DataFrame(index=frame.index)
    out["experience"] = d.as_numeric(frame, "experience", source, used["experience"])
    for name in study.outcomes:
        out[name] = d.as_binary(frame, name, source, used[name])
    if "weight" in used:
        out["weight"] = d.as_numeric(frame, "weight", source, used["weight"])
        neg = out["weight"] < 0
        if neg.any():
            d.fail_at(neg, frame["weight"], "weights must be >= 0", source, used["weight"])
    else:
        out["weight"] = 1.0
    lo, hi = study.experience.scale
    d.check_range(out["experience"], lo, hi, source, used["experience"], raw=frame["experience"])
    return out


def read(study: LoyaltyStudy, base_dir: str | Path | None = None, *,
         reader: Callable[..., tuple[pd.DataFrame, str]] = read_source) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's data as canonical columns: ``experience``, ``tier``, the outcomes (0/1), ``weight``.

    ``reader`` reads the study's ``data:`` (:func:`cxlab.sources.read_source`; ``cxlab validate`` passes one
    that gives only the first rows of a source read in batches).

    Every row read is returned, missing values as NaN: missing values are
    dropped per outcome by the analysis (DESIGN 5.1 revision), so a row missing
    one outcome still counts for the others. The summary counts the rows that
    no outcome can use (missing rating or weight). Non-numeric or out-of-scale
    ratings, non-binary outcomes and negative weights are a
    :class:`~cxlab.errors.DataError`, and so is an outcome without any usable row.
    """
    spec = study.data
    mapping, wanted, optional = _mapping(study)
    raw, source = reader(spec, base_dir, d.source_columns(mapping, [*wanted, *optional]))
    frame, used = d.map_columns(raw, mapping, wanted, source, optional=optional)
    del raw
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used, **frame.attrs)
    out = _canonical(frame, study, source, used)
    usable = d.count_missing(out, ["experience", "weight"], summary)
    if not usable.any():
        raise d.DataError("no rows left after dropping rows with a missing rating or weight", path=source)
    for name in study.outcomes:
        if not (usable & out[name].notna().to_numpy()).any():
            raise d.DataError("no row has both a rating and a value of this outcome", path=source, column=used[name])
    out["tier"] = assign_tiers(out["experience"], study.experience, source, used["experience"])
    require_two_tiers(out["tier"], out["experience"], source, used["experience"])
    return out, summary


def read_cells(study: LoyaltyStudy, base_dir: str | Path | None = None,
               batch_rows: int = BATCH_ROWS) -> tuple[LoyaltyCells, d.ReadSummary]:
    """The study's data as sufficient statistics (:class:`~.cells.LoyaltyCells`), with the summary of :func:`read`.

    Every file source (CSV, Parquet, Excel, SPSS, Stata) and a DuckDB query is
    read in batches of ``batch_rows`` rows of the needed columns
    (:func:`cxlab.streaming.open_stream`): each batch is checked as :func:`read`
    checks the rows (bad values are reported with their row in the file) and
    collapsed to cells, so memory stays that of one batch whatever the size of
    the source. A database server counts the rows of each distinct combination
    of the needed columns itself (``GROUP BY``): only those counts travel.
    Embedded data are read whole by :func:`read` and collapsed. The figures are
    those of :func:`read` followed by the analysis.
    """
    weighted = study.weight is not None
    stream = open_stream(study.data, base_dir, group=True)
    if stream is None:
        frame, summary = read(study, base_dir)
        return aggregate(frame, study.outcomes, weighted), summary
    source = stream.source
    mapping, wanted, optional = _mapping(study)
    mapped, used = d.map_columns(stream.header, mapping, wanted, source, optional=optional)
    summary = d.ReadSummary(source=source, rows_read=0, columns=used, **mapped.attrs)
    parts, usable, ratings, total = [], 0, set(), 0
    named = study.experience.tiers is not None
    try:
        for raw in stream.batches(used.values(), batch_rows, numeric=used.values()):
            rows = multiplicity(raw)
            total += len(raw) if rows is None else int(rows.sum())
            frame, _ = d.map_columns(raw, mapping, wanted, source, optional=optional)
            del raw
            out = _canonical(frame, study, source, used)
            keep = d.count_missing(out, ["experience", "weight"], summary, rows=rows)
            usable += int(keep.sum()) if rows is None else int(rows[keep].sum())
            if not named:
                ratings.update(out["experience"].dropna().unique().tolist())
            out["tier"] = (assign_tiers(out["experience"], study.experience, source, used["experience"]) if named
                           else pd.Categorical.from_codes(np.zeros(len(out), dtype=np.int8), categories=["all"]))
            parts.append(aggregate(out, study.outcomes, weighted, rows=rows).counts)
    except d.DataError as exc:   # a parsed number shown as written in the file; a grouped source's without a row
        raise without_row(as_written(exc, stream, used.values()), stream) from None
    summary.rows_read = total
    if not total:
        raise d.DataError("the data have a header but no rows", path=source)
    if not usable:
        raise d.DataError("no rows left after dropping rows with a missing rating or weight", path=source)
    counts = pd.concat(parts, ignore_index=True)
    for name in study.outcomes:
        if not counts.loc[(counts["outcome"] == name) & counts["y"].notna(), "rows"].sum():
            raise d.DataError("no row has both a rating and a value of this outcome", path=source, column=used[name])
    cells = from_counts(counts, study.experience, rows=total, source=source, ratings=np.array(sorted(ratings)))
    if cells.tiers_present().nunique() < 2:   # the row path names an example row
        frame, summary = read(study, base_dir)
        return aggregate(frame, study.outcomes, weighted), summary
    return cells, summary
