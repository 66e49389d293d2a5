"""What a study's DuckDB ``sql:`` query may do (DESIGN section 3), for :func:`cxlab.sources.read_sql` and
:mod:`cxlab.streaming`.

- :func:`check_query`: one read-only ``SELECT``, parsed by DuckDB before anything runs;
- :func:`_connect`: a connection that reads only inside the study's folder (and its database, read-only),
  no extensions, the configuration locked; :func:`_in_folder` runs it with that folder as working folder;
- :func:`_typed`, :func:`_numbers`: the result's columns as types pandas can hold, or refused by name;
- :func:`sql_files`: the files the query names, found only inside the study's folder (for fingerprints).
"""
from __future__ import annotations

import contextlib
import fnmatch
import glob
import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from .errors import DataError, StudyFileError

_QUOTED = re.compile(r"'((?:[^']|'')+)'")
_CWD_LOCK = threading.Lock()  # read_sql runs with the study's folder as the working folder
MAX_SQL_FILES = 100_000      # paths looked through to expand a query's quoted patterns
_WHY_NOT = {"COPY": "COPY writes (or reads) files", "ATTACH": "ATTACH opens another database",
            "DETACH": "DETACH changes the databases", "LOAD": "INSTALL/LOAD add extensions",
            "CREATE": "CREATE changes the database", "DROP": "DROP changes the database",
            "INSERT": "INSERT changes the database", "UPDATE": "UPDATE changes the database",
            "DELETE": "DELETE changes the database", "ALTER": "ALTER changes the database",
            "SET": "SET changes settings", "VARIABLE_SET": "SET changes settings",
            "PRAGMA": "PRAGMA changes settings", "CALL": "CALL runs a procedure",
            "EXPORT": "EXPORT writes files", "MULTI": "this statement changes the database"}
#: DuckDB types a study cannot use as they are: refused, naming the column (cast them in the query)
_REFUSED_TYPES = {"interval": "an INTERVAL",
                  "list": "a LIST", "array": "an ARRAY", "struct": "a STRUCT", "map": "a MAP", "union": "a UNION",
                  "blob": "a BLOB", "bit": "a BIT string"}


def check_query(query: str) -> None:
    """Refuse a query that is not one read-only ``SELECT`` (parsed by DuckDB, nothing runs).

    Raises
    ------
    ValueError
        One line saying why: more than one statement, or a statement that writes,
        attaches, loads extensions or changes settings. A syntax error passes (the
        query's run reports it in DuckDB's words).
    """
    import duckdb
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error:
        return
    if len(statements) > 1:
        raise ValueError(f"give one SELECT statement, not {len(statements)}: a study's query only reads data")
    for statement in statements:
        kind = statement.type.name
        if kind != "SELECT":
            why = _WHY_NOT.get(kind, f"{kind} is not a SELECT")
            raise ValueError(f"a study's query only reads data: {why}, so it is refused (give one SELECT statement)")


def no_progress_bar(con: Any) -> None:
    """Turn off DuckDB's progress bar: a query over two seconds draws one on standard output (a terminal, a batch's
    log, a benchmark's JSON). In Jupyter DuckDB draws it with ipywidgets and, when they are missing, refuses any
    change of the setting, drawing nothing: that refusal is the bar already off."""
    import duckdb
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass


def _connect(database: Path | None, base_dir: Path) -> Any:
    """A DuckDB connection that reads only inside ``base_dir`` (and ``database``), locked that way."""
    import duckdb
    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
              "allow_community_extensions": False, "allow_persistent_secrets": False}
    if database is not None:
        config["access_mode"] = "READ_ONLY"
    con = duckdb.connect(str(database) if database is not None else ":memory:", config=config)
    try:
        no_progress_bar(con)
        folder = str(base_dir.resolve())
        con.execute("SET file_search_path = ?", [folder])
        con.execute("SET allowed_directories = ?", [[folder.rstrip("/") + "/"]])
        if database is not None:
            con.execute("SET allowed_paths = ?", [[str(database.resolve())]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _typed(con: Any, query: str, source: str) -> Any:
    """The query as a relation whose columns pandas can hold: odd DuckDB types mapped, or refused by name.

    DECIMAL -> float; HUGEINT/UHUGEINT/BIGNUM -> text (made a whole number or float
    by :func:`_numbers`); TIMESTAMP WITH TIME ZONE -> the UTC time without zone;
    UUID, ENUM, TIME WITH TIME ZONE -> text; nested, interval, blob and bit columns are refused.
    """
    rel = con.sql(query)
    exprs, wide = [], []
    for name, dtype in zip(rel.columns, rel.dtypes):
        kind = str(dtype.id).lower()
        quoted = '"' + name.replace('"', '""') + '"'
        if kind in _REFUSED_TYPES:
            hint = f" (days: epoch({quoted}) / 86400 AS {quoted})" if kind == "interval" else ""
            raise DataError(f"is {_REFUSED_TYPES[kind]} ({dtype}), which a study cannot use: cast it in the "
                            f"query{hint} or leave it out of the SELECT", path=source, column=name)
        if kind == "decimal":
            exprs.append(f"CAST({quoted} AS DOUBLE) AS {quoted}")
        elif kind in ("hugeint", "uhugeint", "bignum", "varint"):
            exprs.append(f"CAST({quoted} AS VARCHAR) AS {quoted}")
            wide.append(name)
        elif kind == "timestamp with time zone":
            exprs.append(f"timezone('UTC', {quoted}) AS {quoted}")
        elif kind in ("uuid", "enum", "time with time zone"):
            exprs.append(f"CAST({quoted} AS VARCHAR) AS {quoted}")
        else:
            exprs.append(quoted)
    return (rel.project(", ".join(exprs)) if exprs else rel), wide


def _numbers(values: pd.Series) -> pd.Series:
    """Whole numbers written as text: int64 when every one fits, else float."""
    ints = [None if v is None or v is pd.NA or v != v else int(v) for v in values]
    if all(v is None or -2**63 <= v < 2**63 for v in ints):
        return pd.Series(ints, index=values.index, dtype="Int64" if None in ints else "int64")
    return pd.Series([float("nan") if v is None else float(v) for v in ints], index=values.index)


@contextlib.contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    """``folder`` as the working folder meanwhile: DuckDB checks a relative file name against the working
    folder, not ``file_search_path`` (a notebook's kernel already runs in the study's folder)."""
    with _CWD_LOCK:
        here = os.getcwd()
        if Path(here).resolve() == folder.resolve():
            yield
            return
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(here)


class _TooMany(Exception):
    pass


def _expand(folder: Path, parts: tuple[str, ...], seen: list[int]) -> list[str]:
    """The paths under ``folder`` that the glob ``parts`` match (``**``: any depth, not through symbolic links).

    ``seen[0]`` counts the directory entries looked at; past :data:`MAX_SQL_FILES` it raises ``_TooMany``,
    so no pattern walks more than that (a link to ``/`` inside the folder included).
    """
    if not parts:
        return [str(folder)]
    head, rest = parts[0], parts[1:]
    if not glob.has_magic(head):
        return _expand(folder / head, rest, seen) if os.path.lexists(folder / head) else []
    out: list[str] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return out
    if head == "**":
        out += _expand(folder, rest, seen)
    for entry in entries:
        seen[0] += 1
        if seen[0] > MAX_SQL_FILES:
            raise _TooMany
        if head == "**":
            if entry.is_dir(follow_symlinks=False):
                out += _expand(Path(entry.path), parts, seen)
            elif not rest:
                out.append(entry.path)
        elif fnmatch.fnmatchcase(entry.name, head) and (head.startswith(".") or not entry.name.startswith(".")):
            out += _expand(Path(entry.path), rest, seen)
    return out


def sql_files(query: str, base_dir: str | Path) -> list[str]:
    """The files a query names in quoted literals (globs expanded) inside ``base_dir``, relative to it.

    Used for fingerprints: a literal that names no existing file (a plain
    string value) is ignored, so files reached in other ways (a view inside
    the database, a path built by string functions) are not listed. Only the
    study's folder is searched, as only it is readable to the query
    (:func:`cxlab.sources.read_sql`): a literal leading outside it (``'/etc/passwd'``,
    ``'/proc/**'``, ``'../*'``) is not globbed or hashed, and neither is a
    match that resolves outside it (a symbolic link) or is not a regular file.

    Raises
    ------
    StudyFileError
        Expanding the literals looks through more than :data:`MAX_SQL_FILES` paths.
    """
    base = Path(base_dir).resolve()
    out: list[str] = []
    seen = [0]
    for literal in _QUOTED.findall(query):
        literal = literal.replace("''", "'")
        pattern = os.path.normpath(literal if os.path.isabs(literal) else os.path.join(base, literal))
        magic = glob.has_magic(literal)
        if not Path(pattern).is_relative_to(base) or magic and ".." in Path(literal).parts:
            continue
        try:
            matches = _expand(base, Path(pattern).relative_to(base).parts, seen)
        except _TooMany:
            raise StudyFileError(f"SQL query: finding the files its quoted names match (up to {literal!r}) looks "
                                 f"through more than {MAX_SQL_FILES:,} paths in {base}; name the files more "
                                 "narrowly") from None
        for found in sorted(matches):
            try:
                p = Path(found).resolve()
                regular = p.is_relative_to(base) and p.is_file()
            except OSError:  # a name too long, a link loop
                continue
            if regular and str(p.relative_to(base)) not in out:
                out.append(str(p.relative_to(base)))
    return out
