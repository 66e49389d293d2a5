"""Reading a company panel: long or wide tables, and the optional benchmark series."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ... import data as d
from ... import fmt, synth
from ...errors import DataError
from ...params import DataSpec
from ...sources import read_file, read_source
from .spec import LeadersStudy

log = logging.getLogger(__name__)


_PERIOD_RE = re.compile(r"^\s*[+-]?\d+\s*$")


@dataclass
class PanelSummary:
    """What was read: sources, rows, the column mapping, duplicates merged, rows dropped, panel shape."""

    source: str
    rows_read: int
    columns: dict[str, str]
    merged: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    companies: int = 0
    periods: list[int] = field(default_factory=list)
    sectors: int = 0
    benchmark: str | None = None
    company_periods: int = 0
    table_rows: tuple[int, int] | None = None

    def describe(self) -> str:
        """One paragraph for the report: rows as read (a row is a company-period in a long table, a company in
        each wide table) and the panel they make, in company-periods and companies."""
        from ...paths import relative_paths
        from ...report import text as md

        span = md(f"{self.periods[0]}-{self.periods[-1]}") if self.periods else "no periods"
        source = md(relative_paths(self.source))  # relative to the study's folder, never the machine's; inert
        if self.table_rows is None:
            read = f"Read {fmt.plural(self.rows_read, 'row')} (one per company-period) from {source}"
        else:
            read = (f"Read {self.table_rows[0]:,} and {self.table_rows[1]:,} rows (one per company in each "
                    f"table) from {source}")
        text = (f"{read}: {fmt.plural(self.company_periods, 'company-period')} from "
                f"{fmt.plural(self.companies, 'company', 'companies')} over "
                f"{fmt.plural(len(self.periods), 'period')} ({span})"
                + (f", {fmt.plural(self.sectors, 'sector')}." if self.sectors else ", no sector column."))
        if self.merged:
            text += f" {self.merged:,} duplicate company-period rows were merged into their company-period by the mean."
        if self.dropped:
            text += " Dropped: " + "; ".join(f"{n:,} rows with {md(why)}" for why, n in self.dropped.items()) + "."
        if self.benchmark:
            text += f" Benchmark: {md(relative_paths(self.benchmark))}."
        return text

    def to_frame(self) -> pd.DataFrame:
        """The column mapping as a tidy table (canonical name, column in the file)."""
        return pd.DataFrame({"canonical": list(self.columns),
                             "column in file": list(self.columns.values())}).set_index("canonical")


@dataclass
class Panel:
    """A tidy panel: one row per company-period (``company``, ``period``, ``sector``, ``cx_score``, ``value``)."""

    frame: pd.DataFrame
    summary: PanelSummary
    benchmark: pd.DataFrame | None = None


def _company_key(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.mask(out == "")


def _check_duplicates(frame: pd.DataFrame, keys: list[str], source: str, column: str,
                      aggregate: str | None) -> tuple[pd.DataFrame, int]:
    """DataError naming the first duplicated keys, or (with ``aggregate: mean``) their mean."""
    dup = frame.duplicated(keys, keep=False)
    if not dup.any():
        return frame, 0
    if aggregate is None:
        first = frame[dup]
        pairs = first.drop_duplicates(keys).head(3)
        shown = []
        for _, row in pairs.iterrows():
            same = first
            for k in keys:
                same = same[same[k] == row[k]]
            label = ", ".join(f"{k} {row[k]!r}" if k == "company" else f"{k} {int(row[k])}" for k in keys)
            shown.append(f"{label} (data rows {', '.join(str(r) for r in same['_row'].head(4))})")
        n_keys = int(first.drop_duplicates(keys).shape[0])
        raise DataError(f"{n_keys:,} {'(' + ', '.join(keys) + ')' if len(keys) > 1 else keys[0]} keys appear more "
                        f"than once, e.g. {'; '.join(shown)}; set 'aggregate: mean' in the study to average them",
                        path=source, column=column, row=int(first["_row"].iloc[0]))
    agg: dict[str, Any] = {c: "mean" for c in frame.columns if c not in keys and c not in ("sector", "_row")}
    if "sector" in frame:
        agg["sector"] = "first"
    agg["_row"] = "first"
    out = frame.groupby(keys, sort=False, as_index=False, dropna=False).agg(agg)
    return out, len(frame) - len(out)


def read_long(raw: pd.DataFrame, mapping: dict[str, str], source: str,
              aggregate: str | None = None) -> tuple[pd.DataFrame, PanelSummary]:
    """A long table (one row per company-period) as the tidy panel.

    Raises
    ------
    DataError
        A mapped column is missing, a period is not an integer, a cx_score or
        value is not numeric, or a (company, period) pair repeats without
        ``aggregate="mean"``.
    """
    frame, used = d.map_columns(raw, mapping, ["company", "period", "cx_score", "value"], source,
                                optional=["sector"])
    summary = PanelSummary(source=source, rows_read=len(frame), columns=used)
    out = pd.DataFrame({"company": _company_key(frame["company"])}, index=frame.index)
    out["period"] = d.as_int(frame, "period", source, used["period"])
    out["cx_score"] = d.as_numeric(frame, "cx_score", source, used["cx_score"])
    out["value"] = d.as_numeric(frame, "value", source, used["value"])
    out["sector"] = _company_key(frame["sector"]) if "sector" in used else pd.NA
    out["_row"] = np.arange(1, len(out) + 1)
    out = d.drop_missing(out, ["company", "period"], summary)
    out, summary.merged = _check_duplicates(out, ["company", "period"], source, used["company"], aggregate)
    return _finish(out, summary), summary


def _wide_table(raw: pd.DataFrame, mapping: dict[str, str], source: str, name: str,
                aggregate: str | None) -> tuple[pd.DataFrame, dict[str, str], int, int]:
    has_sector = mapping.get("sector", "sector") in raw.columns  # the sector may sit in either table
    frame, used = d.map_columns(raw, mapping, ["company"], source, optional=["sector"] if has_sector else [])
    key_cols = {used["company"], used.get("sector")}
    period_cols = [c for c in raw.columns if c not in key_cols]
    if not period_cols:
        raise DataError("a wide table needs one column per period besides the company key", path=source)
    periods = []
    for col in period_cols:
        if not _PERIOD_RE.match(str(col)):
            raise DataError("column name is not an integer period (a wide table holds the company key, "
                            "optionally the sector, and one column per period, e.g. 2015)", path=source,
                            column=str(col))
        periods.append(int(str(col).strip()))
    if len(set(periods)) != len(periods):
        col = next(c for c, p in zip(period_cols, periods) if periods.count(p) > 1)
        raise DataError("the same period appears in two columns", path=source, column=str(col))
    body = pd.DataFrame({p: d.as_numeric(raw, c, source, str(c)) for c, p in zip(period_cols, periods)},
                        index=raw.index)
    body.insert(0, "company", _company_key(frame["company"]))
    body["_row"] = np.arange(1, len(body) + 1)
    if "sector" in used:
        body["sector"] = _company_key(frame["sector"])
    missing = body["company"].isna()
    body = body[~missing]
    body, merged = _check_duplicates(body, ["company"], source, used["company"], aggregate)
    long = body.melt(id_vars=[c for c in ("company", "sector", "_row") if c in body], value_vars=periods,
                     var_name="period", value_name=name)
    return long, used, merged, int(missing.sum())


def read_wide(scores: pd.DataFrame, values: pd.DataFrame, mapping: dict[str, str], sources: tuple[str, str],
              aggregate: str | None = None) -> tuple[pd.DataFrame, PanelSummary]:
    """Two wide tables (a row per company, a column per period: cx_scores and values) as the tidy panel.

    The sector, when present, is read from the scores table (else the values table).

    Raises
    ------
    DataError
        A column name that is not an integer period, a non-numeric cell, a missing
        company column, or a company listed twice without ``aggregate="mean"``.
    """
    s_long, s_used, s_merged, s_missing = _wide_table(scores, mapping, sources[0], "cx_score", aggregate)
    v_long, v_used, v_merged, v_missing = _wide_table(values, mapping, sources[1], "value", aggregate)
    if "sector" in mapping and "sector" not in s_used and "sector" not in v_used:
        raise DataError("column is missing (mapped in columns:) from both wide tables", path=sources[0],
                        column=mapping["sector"])
    sector = None
    for long in (s_long, v_long):
        if "sector" in long:
            sector = long.drop_duplicates("company").set_index("company")["sector"]
            break
    s_long = s_long.drop(columns=[c for c in ("sector", "_row") if c in s_long])
    v_long = v_long.drop(columns=[c for c in ("sector", "_row") if c in v_long])
    out = s_long.merge(v_long, on=["company", "period"], how="outer")
    out["sector"] = out["company"].map(sector) if sector is not None else pd.NA
    out["_row"] = 0
    columns = {"company": s_used["company"], "cx_score": f"{sources[0]} (period columns)",
               "value": f"{sources[1]} (period columns)"}
    if sector is not None:
        columns["sector"] = s_used.get("sector", v_used.get("sector", "sector"))
    summary = PanelSummary(source=f"{sources[0]} (cx_score) and {sources[1]} (value)",
                           rows_read=len(scores) + len(values), columns=columns, merged=s_merged + v_merged,
                           table_rows=(len(scores), len(values)))
    if s_missing + v_missing:
        summary.dropped["missing company"] = s_missing + v_missing
    return _finish(out, summary), summary


def _finish(out: pd.DataFrame, summary: PanelSummary) -> pd.DataFrame:
    out = out[["company", "period", "sector", "cx_score", "value"]].copy()
    out["company"] = out["company"].astype(str)
    out["period"] = out["period"].astype("int64")
    out["sector"] = out["sector"].astype(object).where(out["sector"].notna(), None)
    out["cx_score"] = out["cx_score"].astype(float)
    out["value"] = out["value"].astype(float)
    observed = out["cx_score"].notna() | out["value"].notna()
    out = out[observed].sort_values(["company", "period"], kind="stable").reset_index(drop=True)
    summary.companies = int(out["company"].nunique())
    summary.company_periods = len(out)
    summary.periods = sorted(int(p) for p in out["period"].unique())
    summary.sectors = int(out["sector"].dropna().nunique())
    return out


def read_benchmark(raw: pd.DataFrame, mapping: dict[str, str], source: str) -> pd.DataFrame:
    """A benchmark series (``period``, ``value``), one row per period, sorted.

    Raises
    ------
    DataError
        A missing column, a non-integer period, a non-numeric value or a repeated period.
    """
    frame, used = d.map_columns(raw, mapping, ["period", "value"], source)
    out = pd.DataFrame({"period": d.as_int(frame, "period", source, used["period"]),
                        "value": d.as_numeric(frame, "value", source, used["value"])})
    out = out.dropna()
    dup = out["period"].duplicated()
    if dup.any():
        d.fail_at(dup, out["period"].astype("int64"), "a benchmark period appears more than once", source,
                  used["period"])
    return out.astype({"period": "int64"}).sort_values("period").reset_index(drop=True)


def read(study: LeadersStudy, base_dir: str | Path | None = None) -> Panel:
    """Read the study's panel (long or wide, or the embedded ``panel`` generator) and its benchmark."""
    spec = study.data
    mapping = dict(spec.columns)
    if spec.synthetic is not None:
        raw = synth.generate(spec.synthetic, spec.n, spec.seed, **spec.options)
        frame, summary = read_long(raw, mapping, f"synthetic {spec.synthetic} (seed {spec.seed})", study.aggregate)
    elif study.layout == "wide":
        (scores, s_source), (values, v_source) = (read_file(spec, base_dir, "scores"),
                                                  read_file(spec, base_dir, "values"))
        frame, summary = read_wide(scores, values, mapping, (s_source, v_source), study.aggregate)
    else:
        raw, source = read_source(spec, base_dir)
        frame, summary = read_long(raw, mapping, source, study.aggregate)
    bench = None
    if study.benchmark is not None:
        bench, summary.benchmark = load_benchmark(study.benchmark, base_dir)
    log.info("leaders: read %d company-periods, %d companies", len(frame), summary.companies)
    return Panel(frame, summary, bench)


def load_benchmark(spec: DataSpec, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """The benchmark series of a study and a description of its source.

    ``synthetic: panel`` gives the generator's market index (``options.part``
    defaults to ``benchmark``); give it the same ``seed`` and ``periods`` as the panel.
    """
    if spec.synthetic is not None:
        options = dict(spec.options)
        if spec.synthetic == "panel":
            options.setdefault("part", "benchmark")
        raw = synth.generate(spec.synthetic, None, spec.seed, **options)
        source = f"synthetic {spec.synthetic} benchmark (seed {spec.seed})"
    elif spec.path is not None or spec.sql is not None:
        raw, source = read_source(spec, base_dir)
    else:
        raise DataError("a benchmark is one long table: give 'path' or 'sql' (period, value), or 'synthetic'")
    return read_benchmark(raw, dict(spec.columns), source), source
