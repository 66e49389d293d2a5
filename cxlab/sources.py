"""Data sources (DESIGN section 3): one reader per format behind :func:`read_source`.

A study's ``data:`` names a file (by extension: ``.csv``, ``.parquet``,
``.xlsx`` with ``sheet:``, SPSS ``.sav``, Stata ``.dta``; ``format: qualtrics``
for a Qualtrics CSV export), a DuckDB ``sql:`` query (with an optional
``database:``), or an embedded generator. Every reader returns the raw table
with a 0-based row index ("row 3" in messages is the third data row) and its
name for messages; the labels a format carries ride along in ``frame.attrs``:

- ``attrs["labels"]``: column -> its text (SPSS/Stata variable label, Qualtrics question text);
- ``attrs["value_labels"]``: column -> {code: label} (SPSS/Stata value labels).

Codes stay codes: a study decides where labels become level names
(:func:`cxlab.data.labelled`, :func:`cxlab.data.as_binary`).
"""
from __future__ import annotations

import glob
import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from .data import check_unique_columns, read_table
from .errors import DataError

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
STAT_SUFFIXES = (".sav", ".zsav", ".dta")
SUFFIXES = (".csv", ".parquet", ".pq", *EXCEL_SUFFIXES, *STAT_SUFFIXES)
_QUOTED = re.compile(r"'((?:[^']|'')+)'")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _checked(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    if len(frame) == 0:
        raise DataError("the data have a header but no rows", path=source)
    return frame.reset_index(drop=True)


def read_excel(path: Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, str]:
    """One sheet of an Excel workbook (``sheet``: name or 0-based index, default the first)."""
    try:
        book = pd.ExcelFile(path, engine="calamine")
    except Exception as exc:  # calamine raises its own types for a file that is not a workbook
        raise DataError(f"cannot be read as an Excel workbook: {_first_line(exc)}", path=str(path)) from None
    names = book.sheet_names
    if sheet is None:
        sheet = 0
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise DataError(f"sheet index {sheet} does not exist (the workbook has {len(names)} sheets: "
                        f"{', '.join(names)})", path=str(path))
    if isinstance(sheet, str) and sheet not in names:
        raise DataError(f"sheet {sheet!r} not found (the workbook has: {', '.join(names)})", path=str(path))
    name = names[sheet] if isinstance(sheet, int) else sheet
    source = f"{path} (sheet {name!r})"
    try:
        frame = book.parse(name)
    except Exception as exc:
        raise DataError(f"cannot read the sheet: {_first_line(exc)}", path=source) from None
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
        raise DataError(f"cannot be read as {kind} file: {_first_line(exc)}", path=str(path)) from None
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


def read_sql(query: str, database: Path | None, base_dir: Path) -> tuple[pd.DataFrame, str]:
    """The result of a DuckDB query; relative file names in the query resolve against ``base_dir``."""
    import duckdb
    source = f"SQL query on {database}" if database is not None else "SQL query"
    try:
        con = duckdb.connect(str(database) if database is not None else ":memory:", read_only=database is not None)
    except duckdb.Error as exc:
        raise DataError(f"cannot open the DuckDB database: {_first_line(exc)}", path=str(database)) from None
    try:
        con.execute("SET file_search_path = ?", [str(base_dir.resolve())])
        frame = con.execute(query).df()
    except duckdb.Error as exc:
        raise DataError(f"the query failed: {_first_line(exc)}", path=source) from None
    finally:
        con.close()
    return _checked(frame, source), source


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
        raise DataError(f"cannot be read as Parquet: {_first_line(exc)}", path=str(path)) from None
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


def sql_files(query: str, base_dir: str | Path) -> list[str]:
    """The files a query names in quoted literals (globs expanded), relative to ``base_dir`` when inside it.

    Used for fingerprints: a literal that names no existing file (a plain
    string value) is ignored, so files reached in other ways (a view inside
    the database, a path built by string functions) are not listed.
    """
    base = Path(base_dir).resolve()
    out: list[str] = []
    for literal in _QUOTED.findall(query):
        literal = literal.replace("''", "'")
        pattern = literal if Path(literal).is_absolute() else str(base / literal)
        for found in sorted(glob.glob(pattern, recursive=True)):
            if Path(found).is_file():
                p = Path(found).resolve()
                rel = str(p.relative_to(base)) if p.is_relative_to(base) else str(p)
                if rel not in out:
                    out.append(rel)
    return out


def input_files(spec: Any, base_dir: str | Path) -> list[str]:
    """Every file a data spec reads (as written, relative to ``base_dir``), for fingerprints and provenance."""
    files = list(spec.files())
    if getattr(spec, "sql", None) is not None:
        files += [f for f in sql_files(spec.sql, base_dir) if f not in files]
    return files
