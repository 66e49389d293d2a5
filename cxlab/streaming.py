"""Every data source read in batches: memory is one batch, not the file.

:func:`open_stream` gives a :class:`Stream` for a study's ``data:``: its header
(an empty frame with the columns and, for SPSS/Stata, the labels), the number
of rows when the source knows it without reading (Parquet metadata, SPSS/Stata
headers, a ``COUNT(*)`` on a server) and :meth:`Stream.batches` of the columns
a study needs, each indexed by its 0-based data row (so that a bad value is
reported with its row in the file). The readers, one per source:

- CSV: pyarrow's streaming reader (``pyarrow.csv.open_csv``), the needed columns only, as text,
  leading spaces dropped as :func:`cxlab.data.read_table` drops them;
- Parquet: pyarrow ``iter_batches`` (:func:`cxlab.sources.parquet_batches`);
- Excel: python-calamine row by row, each batch typed by pandas' own Excel parser (as ``read_excel``);
- SPSS/Stata: ``pyreadstat.read_file_in_chunks``, value labels in the header's ``attrs``;
- DuckDB ``sql:``: ``fetch_record_batch`` of the query, run read-only as :func:`cxlab.sources.read_sql` runs it;
- a database server (``url:``): :class:`cxlab.dbsource.Server`; with ``group``, the distinct
  combinations of values with their row counts (``GROUP BY`` on the server, column :data:`ROWS`).

Embedded generators and Qualtrics exports are not streamed (:func:`open_stream` returns None):
the studies read them whole.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from .data import check_csv_text, check_unique_columns, choose_sheet
from .dbsource import ROWS
from .errors import DataError, first_line

BATCH_ROWS = 1_000_000
"""Rows per batch by default."""


@dataclass
class Stream:
    """A data source opened for batches.

    Attributes
    ----------
    source : str
        The source's name in messages.
    header : DataFrame
        No rows; the source's columns (``attrs`` carry SPSS/Stata ``labels`` and ``value_labels``).
    rows : int or None
        Rows in the source when known without reading it.
    grouped : bool
        Batches hold distinct combinations of values with their row counts in column :data:`ROWS`.
    """

    source: str
    header: pd.DataFrame
    rows: int | None
    read: Callable[..., Iterator[pd.DataFrame]] = field(repr=False)
    grouped: bool = False
    numbers: bool = False   # ``read`` takes ``numeric=`` (CSV: plain numbers parsed by pyarrow)
    counter: Callable[[], int] | None = field(default=None, repr=False)   # rows counted by the source itself
    text_at: Callable[[str, int], Any] | None = field(default=None, repr=False)  # a cell's text (see as_written)

    def batches(self, columns: Iterable[str], batch_rows: int = BATCH_ROWS,
                sums: Iterable[str] = (), numeric: Iterable[str] = ()) -> Iterator[pd.DataFrame]:
        """The ``columns`` (those the source has) in batches of about ``batch_rows`` rows, row-indexed,
        with the header's ``attrs``; with :attr:`grouped`, column :data:`ROWS` counts the rows of each, and
        the columns of ``sums`` are summed, not grouped (:func:`cxlab.dbsource.sum_columns`). ``numeric``:
        columns the study reads as numbers (or 0/1), which a CSV batch gives as floats when every value of the
        batch is a plain number (else as text, for the study's checks to name the bad value)."""
        present = set(self.header.columns)
        wanted = [c for c in dict.fromkeys(columns) if c in present] or list(self.header.columns[:1])
        summed = [c for c in sums if c in present]
        if self.grouped and summed:
            batches = self.read(wanted, batch_rows, summed)
        elif numeric and self.numbers:
            batches = self.read(wanted, batch_rows, numeric=[c for c in numeric if c in present])
        else:
            batches = self.read(wanted, batch_rows)
        for batch in batches:
            batch.attrs = dict(self.header.attrs)
            yield batch


def _reindexed(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    offset = 0
    for raw in batches:
        raw.index = pd.RangeIndex(offset, offset + len(raw))
        offset += len(raw)
        yield raw


# --------------------------------------------------------------------------------------------------- CSV
def csv_stream(path: Path) -> Stream:
    """A CSV file for batches (pyarrow's streaming reader; text columns as :func:`cxlab.data.read_table` reads them)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    check_csv_text(path)             # UTF-8 and a header without a repeated name, read in 1 MB blocks
    source = str(path)
    try:
        names = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 16)).schema.names
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"cannot be read as CSV: {first_line(exc)}", path=source) from None
    shown = [n.lstrip(" ") for n in names]
    check_unique_columns(shown, source)
    raw_of = dict(zip(shown, names))
    with open(path, "rb") as fh:
        sample = fh.read(1 << 20)
    lines = sample.split(b"\n")
    line = max(len(sample) / max(len(lines) - 1, 1), 8)
    longest = max(len(x) for x in lines)

    def read(columns: list[str], batch_rows: int, numeric: Iterable[str] = ()) -> Iterator[pd.DataFrame]:
        raw = [raw_of[c] for c in columns]
        numeric = set(numeric)
        block = int(min(max(batch_rows * line, 16 * longest, 1 << 16), 1 << 28))
        opts = pcsv.ConvertOptions(include_columns=raw, column_types={c: pa.string() for c in raw},
                                   strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""])
        try:
            reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=block), convert_options=opts)
            offset = 0
            for block_rows in reader:                      # a block can hold more than a batch
                for start in range(0, block_rows.num_rows, batch_rows):
                    batch = block_rows.slice(start, batch_rows)
                    cols = {}
                    for name, col in zip(columns, batch.columns):
                        text = pc.utf8_ltrim(col, characters=" ")           # skipinitialspace, as read_table
                        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
                        cols[name] = (_plain_numbers(text) if name in numeric else None)
                        if cols[name] is None:
                            cols[name] = text.to_numpy(zero_copy_only=False)
                    yield pd.DataFrame(cols, index=pd.RangeIndex(offset, offset + batch.num_rows))
                    offset += batch.num_rows
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot be read as CSV: {first_line(exc)}", path=source) from None

    def text_at(column: str, row: int) -> Any:
        """The text of ``column`` at 0-based data row ``row`` as the batches read it (None when empty or past
        the end): read again, for an error message only."""
        for batch in read([column], BATCH_ROWS):
            if row < batch.index[-1] + 1:
                return batch.at[row, column] if row >= batch.index[0] else None
        return None

    header = pd.DataFrame(columns=shown)
    stream = Stream(source, header, None, read, numbers=True, text_at=text_at)
    first = next(stream.batches(shown[:1], 2), None)
    if first is None or first.empty:
        raise DataError("the file has a header but no rows", path=source)
    return stream


def _plain_numbers(text: Any) -> np.ndarray | None:
    """A text column as floats when every value is a plain finite number (missing stays NaN), else None."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        values = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.any(pc.invert(pc.is_finite(values))).as_py():   # 'nan', 'inf' written out: the study's checks decide
        return None
    return values.to_numpy(zero_copy_only=False)


# -------------------------------------------------------------------------------------------------- Excel
def excel_stream(path: Path, sheet: str | int | None) -> Stream:
    """One sheet of a workbook for batches: rows from python-calamine, each batch typed by pandas' Excel parser;
    a sheet whose cells span too much is refused before calamine reads it (:func:`cxlab.sources.check_excel_extent`)."""
    from pandas.io.parsers import TextParser

    from .sources import check_excel_extent

    name, source = _sheet(path, sheet)
    check_excel_extent(path, name)   # calamine would ask for the whole block of cells (512 GiB for two far apart)
    convert = _calamine_cell()

    def rows() -> Iterator[list[Any]]:
        from python_calamine import CalamineWorkbook
        book = CalamineWorkbook.from_path(str(path))
        try:
            for row in book.get_sheet_by_name(name).iter_rows():
                yield [convert(cell) for cell in row]
        finally:
            book.close()

    header_row = next(rows(), None)
    if header_row is None:
        raise DataError("the sheet is empty (no header, no rows)", path=source)

    def parse(block: list[list[Any]]) -> pd.DataFrame:
        frame = TextParser([header_row, *block], header=0).read()
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame

    names = list(parse([]).columns)

    def read(columns: list[str], batch_rows: int) -> Iterator[pd.DataFrame]:
        it = rows()
        next(it)
        block: list[list[Any]] = []
        for row in it:
            block.append(row)
            if len(block) >= batch_rows:
                yield parse(block)[columns]
                block = []
        if block:
            yield parse(block)[columns]

    stream = Stream(source, pd.DataFrame(columns=names), None, lambda c, n: _reindexed(read(c, n)))
    if next(stream.batches(names[:1], 1), None) is None:
        raise DataError("the data have a header but no rows", path=source)
    return stream


def _sheet(path: Path, sheet: str | int | None) -> tuple[str, str]:
    """The sheet's name and the source's name, with :func:`cxlab.sources.read_excel`'s messages."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for a file that is not a workbook
        raise DataError(f"cannot be read as an Excel workbook: {first_line(exc)}", path=str(path)) from None
    names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    book.close()
    name = choose_sheet(names, sheet, path)
    return name, f"{path} (sheet {name!r})"


def _calamine_cell() -> Callable[[Any], Any]:
    """pandas' conversion of a calamine cell (whole floats to int, dates to Timestamps), as ``read_excel`` does."""
    from datetime import date, time, timedelta

    def convert(value: Any) -> Any:
        if isinstance(value, float):
            whole = int(value) if np.isfinite(value) else None
            return whole if whole is not None and whole == value else value
        if isinstance(value, date):
            return pd.Timestamp(value)
        if isinstance(value, timedelta):
            return pd.Timedelta(value)
        if isinstance(value, time):
            return value
        return value
    return convert


# ---------------------------------------------------------------------------------------------- SPSS/Stata
def stat_stream(path: Path) -> Stream:
    """An SPSS or Stata file for batches (``pyreadstat.read_file_in_chunks``), labels in the header's ``attrs``."""
    import pyreadstat
    dta = path.suffix.lower() == ".dta"
    reader = pyreadstat.read_dta if dta else pyreadstat.read_sav
    kind = "a Stata" if dta else "an SPSS"
    source = str(path)
    try:
        empty, meta = reader(str(path), metadataonly=True)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise DataError(f"cannot be read as {kind} file: {first_line(exc)}", path=source) from None
    header = pd.DataFrame(columns=list(meta.column_names))
    header.attrs["labels"] = {c: t for c, t in meta.column_names_to_labels.items() if t}
    header.attrs["value_labels"] = {c: dict(v) for c, v in meta.variable_value_labels.items() if v}
    rows = meta.number_rows if meta.number_rows is not None and meta.number_rows >= 0 else None

    def read(columns: list[str], batch_rows: int) -> Iterator[pd.DataFrame]:
        try:
            for frame, _ in pyreadstat.read_file_in_chunks(reader, str(path), chunksize=batch_rows, usecols=columns):
                yield frame
        except Exception as exc:
            raise DataError(f"cannot be read as {kind} file: {first_line(exc)}", path=source) from None

    if rows == 0:
        raise DataError("the data have a header but no rows", path=source)
    return Stream(source, header, rows, lambda c, n: _reindexed(read(c, n)))


# ---------------------------------------------------------------------------------------------------- DuckDB
def duckdb_stream(query: str, database: Path | None, base_dir: Path) -> Stream:
    """A DuckDB query for batches (``fetch_record_batch``), run read-only in the study's folder as
    :func:`cxlab.sources.read_sql` runs it (one SELECT, files only inside ``base_dir``, odd types mapped)."""
    import duckdb

    from .sqlsafe import _connect, _in_folder, _numbers, _typed, check_query
    source = f"SQL query on {database}" if database is not None else "SQL query"
    try:
        check_query(query)
    except ValueError as exc:
        raise DataError(str(exc), path=source) from None

    def failed(exc: BaseException) -> DataError:
        if isinstance(exc, duckdb.PermissionException):
            return DataError(f"the query reads outside the study's folder ({first_line(exc)}); a study's query "
                             f"reads only files in {base_dir.resolve()} and its subfolders", path=source)
        return DataError(f"the query failed: {first_line(exc)}", path=source)

    def relation(con: Any) -> tuple[Any, list[str]]:
        return _typed(con, query, source)

    try:
        con = _connect(database, base_dir)
    except duckdb.Error as exc:
        raise DataError(f"cannot open the DuckDB database: {first_line(exc)}", path=str(database)) from None
    try:
        with _in_folder(base_dir):
            rel, _ = relation(con)
            names = list(rel.columns)
    except duckdb.Error as exc:
        raise failed(exc) from None
    finally:
        con.close()
    check_unique_columns(names, source)

    def read(columns: list[str], batch_rows: int) -> Iterator[pd.DataFrame]:
        con = _connect(database, base_dir)
        try:
            with _in_folder(base_dir):
                rel, wide = relation(con)
                cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
                result = con.sql(f"SELECT {cols} FROM ({rel.sql_query()})")
                to_reader = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
                reader = to_reader(batch_rows)
                for batch in reader:
                    frame = batch.to_pandas()
                    for name in wide:
                        if name in frame:
                            frame[name] = _numbers(frame[name])
                    yield frame
        except duckdb.Error as exc:
            raise failed(exc) from None
        finally:
            con.close()

    return Stream(source, pd.DataFrame(columns=names), None, lambda c, n: _reindexed(read(c, n)))


# ---------------------------------------------------------------------------------------------------- server
def server_stream(spec: Any, group: bool = False) -> Stream:
    """A database server's query for batches (:class:`cxlab.dbsource.Server`); with ``group``, value counts."""
    from .dbsource import Server
    server = Server.open(spec)
    names = server.header()
    check_unique_columns(names, server.source)

    def read(columns: list[str], batch_rows: int, sums: list[str] = ()) -> Iterator[pd.DataFrame]:
        got = False
        for batch in server.batches(columns, batch_rows, names, group=group, sums=sums):
            got = got or len(batch) > 0
            yield batch
        if not got:
            raise DataError("the query returned no rows: check the filters in data.sql", path=server.source)

    return Stream(server.source, pd.DataFrame(columns=names), None, read, grouped=group, counter=server.count)


# --------------------------------------------------------------------------------------------------- Parquet
def parquet_stream(path: Path) -> Stream:
    """A Parquet file for batches of its row groups (:func:`cxlab.sources.parquet_batches`)."""
    from .sources import parquet_batches, parquet_header
    file, header = parquet_header(path)
    header = header[[c for c in header.columns if not str(c).startswith("__index_level_")]]
    return Stream(str(path), header, file.metadata.num_rows, lambda c, n: parquet_batches(file, c, n))


def open_stream(spec: Any, base_dir: str | Path | None, group: bool = False) -> Stream | None:
    """The study's ``data:`` opened for batches, or None for an embedded generator or a Qualtrics export.

    ``group``: a database server returns the distinct combinations of the columns asked for with their row
    counts (:data:`ROWS`); file sources return rows whatever ``group`` says (see :attr:`Stream.grouped`).
    A missing or empty file is left to the whole-file readers' messages (None as well).
    """
    base = Path(base_dir) if base_dir is not None else Path(".")
    if getattr(spec, "synthetic", None) is not None or getattr(spec, "format", None):
        return None
    if getattr(spec, "url", None) is not None:
        return server_stream(spec, group)
    if getattr(spec, "sql", None) is not None:
        return duckdb_stream(spec.sql, base / spec.database if spec.database else None, base)
    if getattr(spec, "path", None) is None:
        return None
    path = base / spec.path
    if not path.is_file() or path.stat().st_size == 0:
        return None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_stream(path)
    if suffix in (".parquet", ".pq"):
        return parquet_stream(path)
    if suffix in (".xlsx", ".xlsm"):
        return excel_stream(path, getattr(spec, "sheet", None))
    if suffix in (".sav", ".zsav", ".dta"):
        return stat_stream(path)
    return None


def count_rows(stream: Stream, batch_rows: int = BATCH_ROWS) -> int:
    """Rows of a stream: known ones as they are, counted by the source (a server's ``COUNT(*)``), else counted
    batch by batch over one column."""
    if stream.rows is not None:
        return stream.rows
    if stream.counter is not None:
        return stream.counter()
    return sum(len(b) for b in stream.batches(list(stream.header.columns[:1]), batch_rows))


_ROW = re.compile(r", row \d+( \(value )")


def without_row(exc: DataError, stream: Stream) -> DataError:
    """A grouped stream's error without a row number (its rows are value combinations, not rows of the source)."""
    if not stream.grouped or exc.row is None:
        return exc
    text = _ROW.sub(r",\1", str(exc)).replace(f", row {exc.row}", "")
    out = DataError(text)
    out.path, out.column, out.value = exc.path, exc.column, exc.value
    return out


def as_written(exc: DataError, stream: Stream, numeric: Iterable[str]) -> DataError:
    """``exc`` showing its value as the file has it: when the value is a number the CSV reader parsed from
    column ``exc.column`` (one of the ``numeric`` columns passed to :meth:`Stream.batches`), the cell's text
    at the error's row, read again (``'9'``, not ``9.0``; ``'1e1'``, not ``10.0``)."""
    value = exc.value
    if (stream.text_at is None or exc.row is None or exc.column not in set(numeric)
            or not isinstance(value, (int, float)) or isinstance(value, bool)):
        return exc
    text = stream.text_at(exc.column, exc.row - 1)
    shown = f"(value {value!r})"
    if not isinstance(text, str) or shown not in str(exc):
        return exc
    out = DataError(str(exc).replace(shown, f"(value {text!r})", 1))
    out.path, out.column, out.row, out.value = exc.path, exc.column, exc.row, text
    return out


def multiplicity(batch: pd.DataFrame) -> np.ndarray | None:
    """The row count of each row of a grouped batch (removed from it), or None for a batch of rows."""
    if ROWS not in batch.columns:
        return None
    return batch.pop(ROWS).to_numpy(np.int64)
