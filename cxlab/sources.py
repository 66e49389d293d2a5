"""Data sources (DESIGN section 3): one reader per format behind :func:`read_source`.

A study's ``data:`` names a file (by extension: ``.csv``, ``.parquet``,
``.xlsx`` with ``sheet:``, SPSS ``.sav``, Stata ``.dta``; ``format: qualtrics``
for a Qualtrics CSV export), a DuckDB ``sql:`` query (with an optional
``database:``; checked and sandboxed by :mod:`cxlab.sqlsafe`), or an embedded
generator. Every reader returns the raw table with a 0-based row index ("row 3"
in messages is the third data row) and its name for messages; the labels a
format carries ride along in ``frame.attrs``:

- ``attrs["labels"]``: column -> its text (SPSS/Stata variable label, Qualtrics question text);
- ``attrs["value_labels"]``: column -> {code: label} (SPSS/Stata value labels).

Codes stay codes: a study decides where labels become level names
(:func:`cxlab.data.labelled`, :func:`cxlab.data.as_binary`).
"""
from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from .data import check_unique_columns, choose_sheet, read_table
from .errors import DataError, first_line
from .sqlsafe import _connect, _in_folder, _numbers, _typed, check_query, sql_files

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
STAT_SUFFIXES = (".sav", ".zsav", ".dta")
SUFFIXES = (".csv", ".parquet", ".pq", *EXCEL_SUFFIXES, *STAT_SUFFIXES)


def _checked(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    if len(frame) == 0:
        raise DataError("the data have a header but no rows", path=source)
    return frame.reset_index(drop=True)


MAX_EXCEL_CELLS = 50_000_000  # the block from the first to the last cell of a sheet (1,000,000 rows x 50 columns)
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
_CELL_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*?\sr=[\"']([A-Z]{1,4})([0-9]{1,12})[\"']")
_ROW_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b[^>]*?\sr=[\"']([0-9]{1,12})[\"']")


def _sheet_xml(book: Any, sheet: str) -> str | None:
    """The zip member of worksheet ``sheet`` (through xl/workbook.xml and its relationships), or None."""
    import xml.etree.ElementTree as ET
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        workbook = ET.fromstring(book.read("xl/workbook.xml"))
        rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return None
    ids = [e.get(rel) for e in workbook.iter() if e.tag.endswith("}sheet") and e.get("name") == sheet]
    for e in rels.iter():
        if ids and e.get("Id") == ids[0] and e.get("Target"):
            target = e.get("Target")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def check_excel_extent(path: Path, sheet: str) -> None:
    """Refuse a sheet whose cells span more than :data:`MAX_EXCEL_CELLS` before it is read.

    The reader (calamine) holds the block from the first to the last cell it finds, so
    two cells far apart (A1 and XFD1048576) would ask for 17 billion cells: the sheet's
    XML is streamed once, in pieces, for its cell and row references (the declared
    ``<dimension>`` is not trusted), and the block is refused, in one line, when too
    large or beyond Excel's own limits. Memory stays that of one piece.

    Raises
    ------
    DataError
        Naming the file, the sheet and the extent found.
    """
    import zipfile
    source = f"{path} (sheet {sheet!r})"
    try:
        book = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return  # the reader says what is wrong with it
    with book:
        member = _sheet_xml(book, sheet)
        if member is None or member not in book.namelist():
            return
        rows, cols = [EXCEL_ROWS + 1, 0], [EXCEL_COLUMNS + 1, 0]
        tail = b""
        with book.open(member) as fh:
            while chunk := fh.read(1 << 20):
                text = tail + chunk
                for letters, number in _CELL_REF.findall(text):
                    col, row = _column_number(letters), int(number)
                    cols[0], cols[1] = min(cols[0], col), max(cols[1], col)
                    rows[0], rows[1] = min(rows[0], row), max(rows[1], row)
                for number in _ROW_REF.findall(text):
                    rows[0], rows[1] = min(rows[0], int(number)), max(rows[1], int(number))
                cut = text.rfind(b"<")
                tail = text[cut:] if cut >= 0 and len(text) - cut < 4096 else b""
                if rows[1] > EXCEL_ROWS or cols[1] > EXCEL_COLUMNS:
                    raise DataError(f"the sheet's cells reach row {rows[1]:,} and column {cols[1]:,}, past Excel's "
                                    f"limits ({EXCEL_ROWS:,} rows, {EXCEL_COLUMNS:,} columns); the file is damaged "
                                    "or forged", path=source)
    if rows[1] and cols[1]:
        block = (rows[1] - rows[0] + 1) * (cols[1] - cols[0] + 1)
        if block > MAX_EXCEL_CELLS:
            raise DataError(f"the sheet's cells span {rows[1] - rows[0] + 1:,} rows x {cols[1] - cols[0] + 1:,} "
                            f"columns ({block:,} cells), more than the {MAX_EXCEL_CELLS:,} cxlab reads from a "
                            "workbook; save the data as CSV or Parquet, or delete the stray cells", path=source)


def read_excel(path: Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, str]:
    """One sheet of an Excel workbook (``sheet``: name or 0-based index, default the first)."""
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # calamine raises its own types for a file that is not a workbook
        raise DataError(f"cannot be read as an Excel workbook: {first_line(exc)}", path=str(path)) from None
    name = choose_sheet(book.sheet_names, sheet, path)
    source = f"{path} (sheet {name!r})"
    check_excel_extent(path, name)
    try:
        frame = book.parse(name)
    except Exception as exc:
        raise DataError(f"cannot read the sheet: {first_line(exc)}", path=source) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return _checked(frame, source), source


def read_stat(path: Path) -> tuple[pd.DataFrame, str]:
    """An SPSS ``.sav``/``.zsav`` or Stata ``.dta`` file with its variable and value labels (pyreadstat)."""
    import pyreadstat
    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    kind = "a Stata" if path.suffix.lower() == ".dta" else "an SPSS"
    try:
        frame, meta = reader(str(path))
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise DataError(f"cannot be read as {kind} file: {first_line(exc)}", path=str(path)) from None
    frame = _checked(frame, str(path))
    frame.attrs["labels"] = {c: t for c, t in meta.column_names_to_labels.items() if t}
    frame.attrs["value_labels"] = {c: dict(v) for c, v in meta.variable_value_labels.items() if v}
    return frame, str(path)


def read_qualtrics(path: Path) -> tuple[pd.DataFrame, str]:
    """A Qualtrics CSV export: row 1 column names, row 2 question texts, row 3 ImportId JSON (both dropped)."""
    frame = read_table(path)
    source = str(path)
    if len(frame) < 2:
        raise DataError("is not a Qualtrics export: it needs a question-text row and an ImportId row under "
                        "the column names", path=source)
    texts, ids = frame.iloc[0], frame.iloc[1]
    for col, cell in ids.items():
        if pd.isna(cell) or not str(cell).lstrip().startswith("{"):
            raise DataError("is not a Qualtrics export: row 3 should hold ImportId JSON such as "
                            '{"ImportId":"QID1"} (export with "Use legacy format" off, or drop format: qualtrics)',
                            path=source, column=str(col), row=3, value=None if pd.isna(cell) else str(cell))
        try:
            json.loads(cell)
        except ValueError:
            raise DataError("is not a Qualtrics export: row 3 is not ImportId JSON", path=source, column=str(col),
                            row=3, value=str(cell)) from None
    out = _checked(frame.iloc[2:], source)
    out.attrs["labels"] = {c: str(t).strip() for c, t in texts.items() if pd.notna(t) and str(t).strip()
                           and str(t).strip() != c}
    return out, source


MAX_SQL_ROWS = 100_000_000   # the most a study reads (the embedded generators' limit too)


def read_sql(query: str, database: Path | None, base_dir: Path,
             timeout: float | None = None) -> tuple[pd.DataFrame, str]:
    """The result of a DuckDB query, run read-only; relative file names in the query resolve against ``base_dir``.

    The query must be one ``SELECT`` (:func:`cxlab.sqlsafe.check_query`). It runs with DuckDB's
    external access off except for ``base_dir`` and its subfolders (and the
    ``database`` file, opened read-only), extensions neither installed nor
    loaded, and the configuration locked. Odd result types are mapped or refused
    by column (:func:`cxlab.sqlsafe._typed`). At most :data:`MAX_SQL_ROWS` rows are read.
    ``timeout`` (seconds) interrupts a query still running; so does Ctrl-C.
    """
    import duckdb
    source = f"SQL query on {database}" if database is not None else "SQL query"
    try:
        check_query(query)
    except ValueError as exc:
        raise DataError(str(exc), path=source) from None
    try:
        con = _connect(database, base_dir)
    except duckdb.Error as exc:
        raise DataError(f"cannot open the DuckDB database: {first_line(exc)}", path=str(database)) from None
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def fetch() -> None:
        try:
            rel, wide = _typed(con, query, source)
            con.execute(rel.sql_query())
            chunks, rows = [], 0
            while True:
                chunk = con.fetch_df_chunk(16)
                if len(chunk) == 0:
                    break
                rows += len(chunk)
                if rows > MAX_SQL_ROWS:
                    raise DataError(f"the query returns more than {MAX_SQL_ROWS:,} rows; filter or aggregate in "
                                    "the query", path=source)
                chunks.append(chunk)
            frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else \
                (chunks[0] if chunks else rel.limit(0).to_df())
            for name in wide:
                frame[name] = _numbers(frame[name])
            outcome["frame"] = frame
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=fetch, name="cxlab-sql", daemon=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        with _in_folder(base_dir):
            try:
                worker.start()
                while not done.wait(0.05 if deadline is None else
                                    max(0.0, min(0.05, deadline - time.monotonic()))):
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = True
                        break
            finally:  # also on Ctrl-C: the query stops before the working folder and connection go
                while worker.is_alive() and not done.wait(0.05):
                    con.interrupt()  # again and again: an interrupt before the query starts is lost
    finally:
        con.close()
    if timed_out:
        raise DataError(f"the query ran longer than {timeout:g} s and was stopped", path=source)
    error = outcome.get("error")
    if isinstance(error, DataError):
        raise error
    if isinstance(error, duckdb.PermissionException):
        raise DataError(f"the query reads outside the study's folder ({first_line(error)}); a study's query reads "
                        f"only files in {base_dir.resolve()} and its subfolders", path=source) from None
    if isinstance(error, duckdb.Error):
        raise DataError(f"the query failed: {first_line(error)}", path=source) from None
    if error is not None:
        raise error
    return _checked(outcome["frame"], source), source


def read_file(spec: Any, base_dir: str | Path | None, key: str = "path",
              columns: Iterable[str] | None = None) -> tuple[pd.DataFrame, str]:
    """The raw table of the file ``spec.<key>`` names, by its extension (and ``format``/``sheet``).

    ``columns``: the columns the study needs (a Parquet file is read for those only).
    """
    path = (Path(base_dir) if base_dir is not None else Path(".")) / getattr(spec, key)
    suffix = path.suffix.lower()
    if getattr(spec, "format", None) == "qualtrics":
        return read_qualtrics(path)
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    if path.stat().st_size == 0:
        raise DataError("the file is empty (no header, no rows)", path=str(path))
    if suffix in EXCEL_SUFFIXES:
        return read_excel(path, getattr(spec, "sheet", None))
    if suffix in STAT_SUFFIXES:
        return read_stat(path)
    return read_table(path, columns), str(path)


def read_source(spec: Any, base_dir: str | Path | None,
                columns: Iterable[str] | None = None) -> tuple[pd.DataFrame, str]:
    """The raw table of a study's ``data:`` (file, SQL query or embedded generator) and its name for messages.

    ``columns``: the columns the study needs; a Parquet file is read for those
    only (its full header stays in ``attrs["header"]``, see :func:`cxlab.data.header`).
    """
    base = Path(base_dir) if base_dir is not None else Path(".")
    if spec.synthetic is not None:
        from . import synth
        return (synth.generate(spec.synthetic, spec.n, spec.seed, **spec.options),
                f"synthetic {spec.synthetic} (seed {spec.seed})")
    if getattr(spec, "url", None) is not None:      # a database server (cxlab.dbsource): rows read in batches
        from .dbsource import read_server
        return read_server(spec, columns)
    if getattr(spec, "sql", None) is not None:
        return read_sql(spec.sql, base / spec.database if spec.database else None, base)
    return read_file(spec, base, columns=columns)


def parquet_path(spec: Any, base_dir: str | Path | None) -> Path | None:
    """The Parquet file a data spec names (for readers that stream it in batches), or None for any other source.

    An empty or missing file is None too: the whole-file reader explains what is wrong with it.
    """
    if getattr(spec, "path", None) is None or spec.synthetic is not None or getattr(spec, "format", None):
        return None
    path = (Path(base_dir) if base_dir is not None else Path(".")) / spec.path
    parquet = path.suffix.lower() in (".parquet", ".pq") and path.is_file() and path.stat().st_size > 0
    return path if parquet else None


def parquet_header(path: Path) -> tuple[Any, pd.DataFrame]:
    """A Parquet file opened for batches (pyarrow ``ParquetFile``) and its header as an empty frame.

    Raises
    ------
    DataError
        The file is not Parquet, names a column twice, or has no rows.
    """
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        header = file.schema_arrow.empty_table().to_pandas()
    except Exception as exc:  # pyarrow raises its own types for files that are not Parquet
        raise DataError(f"cannot be read as Parquet: {first_line(exc)}", path=str(path)) from None
    check_unique_columns(list(header.columns), str(path))
    if file.metadata.num_rows == 0:
        raise DataError("the file has a header but no rows", path=str(path))
    return file, header


def parquet_batches(file: Any, columns: Iterable[str], batch_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``columns`` in batches of ``batch_rows``, each indexed by its 0-based row in the file."""
    offset = 0
    for batch in file.iter_batches(batch_size=batch_rows, columns=list(dict.fromkeys(columns))):
        raw = batch.to_pandas()
        raw.index = pd.RangeIndex(offset, offset + len(raw))
        offset += len(raw)
        yield raw


def input_files(spec: Any, base_dir: str | Path) -> list[str]:
    """Every file a data spec reads (as written, relative to ``base_dir``), for fingerprints and provenance."""
    files = list(spec.files())
    if getattr(spec, "sql", None) is not None and getattr(spec, "url", None) is None:  # a server query reads no file
        files += [f for f in sql_files(spec.sql, base_dir) if f not in files]
    return files
