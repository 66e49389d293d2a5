"""Data loading: CSV and Parquet files, column mapping, typed columns, clear errors.

Other formats (Excel, SPSS, Stata, Qualtrics, SQL) are read by :mod:`cxlab.sources`.

Every data problem raises :class:`~cxlab.errors.DataError` naming the file, the
column and an example row ("data row 3" is the third row under the header).
"""
from __future__ import annotations

import codecs
import csv
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NoReturn

import numpy as np
import pandas as pd

from .errors import DataError

log = logging.getLogger(__name__)

TRUE_WORDS = {"1", "1.0", "true", "yes", "t", "y"}
FALSE_WORDS = {"0", "0.0", "false", "no", "f", "n"}


@dataclass
class ReadSummary:
    """What was read: the source, the rows, the column mapping and the rows dropped (with why)."""

    source: str
    rows_read: int
    columns: dict[str, str]
    dropped: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)

    @property
    def rows_used(self) -> int:
        return self.rows_read - sum(self.dropped.values())

    def to_frame(self) -> pd.DataFrame:
        """The column mapping as a tidy table (canonical name, column in the file, its label and value labels)."""
        table = pd.DataFrame({"canonical": list(self.columns),
                              "column in file": list(self.columns.values())}).set_index("canonical")
        if self.labels:
            table["label"] = [self.labels.get(c, "") for c in table.index]
        if self.value_labels:
            table["value labels"] = [describe_value_labels(self.value_labels.get(c, {})) for c in table.index]
        return table

    def describe(self) -> str:
        """One paragraph of markdown for the report (file and column names escaped as text)."""
        from .paths import relative_paths
        from .report import text as md
        text = f"Read {self.rows_read:,} rows from {md(relative_paths(self.source))}; {self.rows_used:,} used."
        if self.dropped:
            text += " Dropped: " + "; ".join(f"{n:,} with {md(why)}" for why, n in self.dropped.items()) + "."
        else:
            text += " No rows dropped."
        if "experience" in self.value_labels:
            text += (f" The ratings carry labels ({md(describe_value_labels(self.value_labels['experience']))}); "
                     "tiers are named by the rating.")
        return text


def describe_value_labels(labels: dict[Any, str]) -> str:
    """Value labels as "1 = Very poor, 5 = Excellent" (codes in order)."""
    def code(v: Any) -> str:
        return f"{v:g}" if isinstance(v, (int, float)) else str(v)
    return ", ".join(f"{code(k)} = {v}" for k, v in sorted(labels.items(), key=lambda kv: str(kv[0])
                                                           if not isinstance(kv[0], (int, float)) else kv[0]))


def labelled(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column with its value labels as level names (codes without a label stay as they are).

    Value labels come from SPSS and Stata files (``frame.attrs["value_labels"]``,
    see :mod:`cxlab.sources`); a column without them is returned unchanged.
    """
    labels = frame.attrs.get("value_labels", {}).get(column)
    raw = frame[column]
    if not labels:
        return raw
    return raw.map(lambda v: labels.get(v, v), na_action="ignore").astype(object)


def header(frame: pd.DataFrame) -> list[str]:
    """The file's column names, also those a column-pruned read left out (``attrs["header"]``)."""
    return list(frame.attrs.get("header", frame.columns))


def _read_parquet(path: Path, columns: Iterable[str] | None) -> pd.DataFrame:
    """A Parquet file; with ``columns``, only those of them the file has (the full header in ``attrs``)."""
    if columns is None:
        return pd.read_parquet(path)
    import pyarrow.parquet as pq
    names = pq.read_schema(path).names
    check_unique_columns(names, str(path))
    present = set(names)
    keep = [c for c in dict.fromkeys(columns) if c in present]
    frame = pd.read_parquet(path, columns=keep)
    frame.attrs["header"] = [c for c in names if not c.startswith("__index_level_")]
    return frame


def read_table(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame with a 0-based row index.

    ``columns`` names the columns a study needs: a Parquet file is then read
    for those only (a file of 10 million rows and 40 columns costs what its
    needed columns cost); names the file lacks are left for the study to
    report. CSV files are always read whole.

    Raises
    ------
    DataError
        When the file is empty, has no rows, or is not a CSV or Parquet file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    if path.stat().st_size == 0:
        raise DataError("the file is empty (no header, no rows)", path=str(path))
    if suffix == ".csv":
        check_csv_text(path)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
        elif suffix in (".parquet", ".pq"):
            frame = _read_parquet(path, columns)
        else:
            raise DataError(f"unsupported file type {suffix!r}: use .csv or .parquet", path=str(path))
    except DataError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
        kind = "Parquet" if suffix != ".csv" else "CSV"
        raise DataError(f"cannot be read as {kind}: {str(exc).splitlines()[0]}", path=str(path)) from None
    except Exception as exc:  # pyarrow raises its own types for files that are not Parquet
        raise DataError(f"cannot be read as Parquet: {str(exc).splitlines()[0]}", path=str(path)) from None
    if len(frame) == 0:
        raise DataError("the file has a header but no rows", path=str(path))
    check_unique_columns(list(frame.columns), str(path))
    return frame.reset_index(drop=True)


def _field_at(line: bytes, offset: int) -> int:
    """Index (0-based) of the CSV field holding byte ``offset`` of ``line``."""
    prefix = line[:offset].decode("latin-1")
    return max(len(next(csv.reader([prefix]), [""])) - 1, 0)


def check_csv_text(path: Path) -> None:
    """DataError naming the column and row of the first byte that is not UTF-8, and for a header with a
    repeated column name (pandas would rename the second one silently).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        header = fh.readline()
        fh.seek(0)
        for block in iter(lambda: fh.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                break
            offset += len(block)
        else:
            bad = -1
    names = [c.strip() for c in next(csv.reader([header.decode("utf-8", errors="replace").lstrip("\ufeff")]), [])]
    if bad >= 0:
        with open(path, "rb") as fh:
            head = fh.read(bad + 1)
        start = head.rfind(b"\n", 0, bad) + 1
        line_no = head.count(b"\n") + 1
        index = _field_at(head[start:], bad - start)
        column = names[index] if line_no > 1 and index < len(names) else None
        where = {"row": line_no - 1} if line_no > 1 else {}
        raise DataError(f"byte 0x{head[bad]:02x} is not UTF-8 text ({'header' if line_no == 1 else 'line ' + str(line_no)}); "
                        "save the file as UTF-8", path=str(path), column=column, **where)
    check_unique_columns(names, str(path))


def check_unique_columns(names: list[Any], source: str) -> None:
    """DataError for a column name that appears twice (which one would the study read?)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(map(str, names), start=1):
        if name in seen:
            raise DataError(f"the header names this column twice (columns {seen[name]} and {i}); rename one",
                            path=source, column=name)
        seen[name] = i


def source_columns(mapping: dict[str, str], names: Iterable[str]) -> list[str]:
    """The file columns behind canonical ``names`` (``mapping``: canonical name -> file column)."""
    return [mapping.get(name, name) for name in names]


def map_columns(frame: pd.DataFrame, mapping: dict[str, str], wanted: Iterable[str], source: str,
                optional: Iterable[str] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """Select and rename columns to canonical names.

    ``mapping`` maps canonical name -> column in the file; an unmapped canonical
    name is looked up as itself. Columns in ``optional`` are taken when present.
    Returns the renamed frame and the mapping actually used.
    """
    used: dict[str, str] = {}
    for name in wanted:
        col = mapping.get(name, name)
        if col not in frame.columns:
            shown = ", ".join(map(str, header(frame)[:12]))
            how = f"mapped from {name!r} in columns:" if name in mapping else "needed by the study"
            raise DataError(f"column is missing ({how}); the file has: {shown}", path=source, column=col)
        used[name] = col
    for name in optional:
        col = mapping.get(name, name)
        if col in frame.columns:
            used[name] = col
        elif name in mapping:
            raise DataError("column is missing (mapped in columns:)", path=source, column=col)
    out = frame[list(used.values())].copy()
    out.columns = list(used)
    out.attrs = {key: {name: frame.attrs[key][col] for name, col in used.items() if col in frame.attrs.get(key, {})}
                 for key in ("labels", "value_labels")}
    return out, used


def fail_at(mask: Any, values: pd.Series, message: str, source: str, column: str) -> NoReturn:
    """Raise :class:`DataError` for the first row where ``mask`` is True, showing ``values`` there.

    ``values`` keeps the file's 0-based row index, so the message names the
    1-based data row; dates are shown as YYYY-MM-DD, missing values not at all.
    """
    pos = int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])
    value = values.iloc[pos]
    if isinstance(value, pd.Timestamp):
        value = value.date().isoformat()
    elif pd.isna(value):
        value = None
    raise DataError(message, path=source, column=column, row=int(values.index[pos]) + 1, value=value)


def as_numeric(frame: pd.DataFrame, column: str, source: str, label: str | None = None) -> pd.Series:
    """The column as floats; empty cells become NaN; any other non-number is a DataError."""
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)  # typed sources (Parquet, SPSS, Stata, SQL): nothing to parse
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        fail_at(bad, raw, "is not numeric", source, label or column)
    return values.astype(float)


def as_binary(frame: pd.DataFrame, column: str, source: str, label: str | None = None) -> pd.Series:
    """The column as 0/1 floats (NaN for empty): accepts 0/1, true/false, yes/no in any case."""
    raw = frame[column]
    if raw.dtype == bool:
        return raw.astype(float)
    labels = frame.attrs.get("value_labels", {}).get(column)
    words = TRUE_WORDS | FALSE_WORDS
    if labels and all(str(labels.get(v, "")).strip().lower() in words for v in raw.dropna().unique()):
        raw = labelled(frame, column)  # SPSS/Stata yes/no labels name the outcome's levels (1 = Yes, 2 = No)
    elif pd.api.types.is_numeric_dtype(raw) and (raw.isin((0, 1)) | raw.isna()).all():
        return raw.astype(float)  # typed 0/1 (Parquet, SPSS, Stata, SQL): nothing to parse
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)   # the text work once per distinct value
    text = pd.Series(np.asarray(uniques, dtype=object)).astype("string").str.strip().str.lower()
    value = np.full(len(uniques) + 1, np.nan)               # the last entry: missing (code -1)
    value[:-1][text.isin(TRUE_WORDS).fillna(False).to_numpy(bool)] = 1.0
    value[:-1][text.isin(FALSE_WORDS).fillna(False).to_numpy(bool)] = 0.0
    bad = np.isnan(value[:-1]) & text.notna().to_numpy(bool) & (text != "").fillna(False).to_numpy(bool)
    if bad.any():
        fail_at(np.isin(codes, np.flatnonzero(bad)), raw, "is not binary (use 0/1, true/false or yes/no)", source,
                label or column)
    return pd.Series(value[codes], index=raw.index, dtype=float)


def as_int(frame: pd.DataFrame, column: str, source: str, label: str | None = None) -> pd.Series:
    """The column as whole numbers (float dtype, NaN for empty); fractions or text are a DataError."""
    values = as_numeric(frame, column, source, label)
    bad = values.notna() & (values != np.round(values))
    if bad.any():
        fail_at(bad, frame[column], "is not an integer", source, label or column)
    return values


_WALL_TIME = r"^(.*\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
"""A date and time with its UTC offset (``Z``, ``+02:00``, ``-0500``, ``+01``): group 1 is the time as written."""


def parse_dates(frame: pd.DataFrame, column: str, source: str, label: str) -> pd.Series:
    """The column as datetime64 (NaT for empty cells); text that is not an ISO 8601 date is a DataError.

    A time of day with a UTC offset is read as written, the offset dropped (the local time, as a column with one
    offset throughout is read): dates with and without offsets, or with different ones, share one column.
    """
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw).dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    timed = (text.str.len() > 16).fillna(False).to_numpy(bool)        # room for a time of day and an offset
    if timed.any():
        text[timed] = text[timed].str.replace(_WALL_TIME, r"\1", regex=True)
    with warnings.catch_warnings():   # an offset the pattern leaves ("+02:00 CET") mixes zones: refused below
        warnings.simplefilter("ignore", FutureWarning)
        parsed = pd.to_datetime(text.where(~empty), errors="coerce", format="ISO8601")
    bad = parsed.isna() & ~empty
    if parsed.dtype == object:
        bad |= parsed.map(lambda v: getattr(v, "tzinfo", None) is not None).astype(bool)
    if bad.any():
        fail_at(bad, raw, "is not a date (write dates as YYYY-MM-DD)", source, label)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def check_range(values: pd.Series, low: float, high: float, source: str, column: str,
                raw: pd.Series | None = None) -> None:
    """DataError when a value lies outside [low, high] (inclusive)."""
    bad = values.notna() & ((values < low) | (values > high))
    if bad.any():
        fail_at(bad, raw if raw is not None else values, f"is outside the scale [{low:g}, {high:g}]", source, column)


def count_missing(frame: pd.DataFrame, columns: Iterable[str], summary: ReadSummary,
                  among: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """Count rows with a missing value in any of ``columns`` in ``summary.dropped`` (each reason once per row)
    and return the mask of the complete rows, without copying the frame.

    ``among`` restricts the count to those rows (a boolean mask; the others are not kept either). ``rows``:
    the number of rows each row of ``frame`` stands for (distinct values counted by a database server).
    """
    keep = np.ones(len(frame), dtype=bool) if among is None else np.array(among, dtype=bool)
    for col in columns:
        miss = frame[col].isna().to_numpy() & keep
        if miss.any():
            n = int(miss.sum()) if rows is None else int(rows[miss].sum())
            summary.dropped[f"missing {col}"] = summary.dropped.get(f"missing {col}", 0) + n
            keep &= ~miss
    if not keep.all():
        log.info("%s: dropped %d rows with missing values", summary.source, int((~keep).sum()))
    return keep


def drop_missing(frame: pd.DataFrame, columns: Iterable[str], summary: ReadSummary) -> pd.DataFrame:
    """Drop rows with a missing value in any of ``columns``, counting each reason once per row."""
    keep = count_missing(frame, columns, summary)
    return frame if keep.all() else frame[keep]     # nothing to drop: no copy of a large frame


def choose_sheet(names: list[str], sheet: str | int | None, path: Any) -> str:
    """The worksheet a study's ``sheet:`` names (an index or a name; the first by default), else one clear error."""
    sheet = 0 if sheet is None else sheet
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise DataError(f"sheet index {sheet} does not exist (the workbook has {len(names)} sheets: "
                        f"{', '.join(names)})", path=str(path))
    if isinstance(sheet, str) and sheet not in names:
        raise DataError(f"sheet {sheet!r} not found (the workbook has: {', '.join(names)})", path=str(path))
    return names[sheet] if isinstance(sheet, int) else sheet
