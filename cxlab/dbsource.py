"""A database server as a data source: ``data: {url: postgresql://user@host:port/db, sql: ..., password_env: VAR}``.

Written with SQLAlchemy Core, so that any engine SQLAlchemy speaks to follows;
tested on PostgreSQL (driver psycopg 3). The study's query runs as given, with
the user's own rights, inside a read-only transaction (PostgreSQL refuses a
write in it). It is wrapped as a subquery:

- a study that needs counts (loyalty, metrics, retention) asks for
  ``SELECT <its columns>, COUNT(*) FROM (<query>) GROUP BY <its columns>``
  (:meth:`Server.batches` with ``group``): only the distinct combinations of
  the raw values it reads travel, each with its number of rows, and the study
  checks and collapses them as it checks rows (the figures are those of the
  rows, since every figure of these studies is a sum over rows);
- a study that needs rows reads the columns it needs in batches through a
  server-side cursor (``stream_results``), so cxlab's memory is one batch.

Credentials: the study file names an environment variable (``password_env``);
a URL with a password written in it is refused when the study file is read, so
no password reaches a report, ``results.json``, provenance, a log or the index.
Every message from the server or the driver passes through :func:`redact`.
"""
from __future__ import annotations

import decimal
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import pandas as pd

from .errors import DataError, first_line

log = logging.getLogger(__name__)

ROWS = "__cxlab_rows"
"""The column of a grouped batch that counts the rows behind each distinct combination of values."""
DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
"""The driver used for a URL that names only the database kind."""
CONNECT_TIMEOUT = 10
"""Seconds allowed to reach the server."""
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):[^@\s]*@")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the password of any URL in it, and each of ``secrets``, replaced by ``***``."""
    out = _URL_PASSWORD.sub(lambda m: m.group("head") + ":***@", str(text))
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out


def _parse(url: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"{redact(url)!r} is not a database URL; write it as "
                         "postgresql://user@host:5432/database") from None


def check_url(url: str) -> None:
    """Refuse a URL that SQLAlchemy cannot read, names no driver it has, or holds a password.

    Raises
    ------
    ValueError
        One line saying what to write instead (the password is never repeated).
    """
    parsed = _parse(url)
    if parsed.password is not None:
        raise ValueError("the URL holds a password: remove it and put the password in an environment variable "
                         "named by data.password_env (a study file, its report and results.json must not hold it)")
    from sqlalchemy.exc import NoSuchModuleError
    try:
        parsed.set(drivername=DRIVERS.get(parsed.drivername, parsed.drivername)).get_dialect()
    except NoSuchModuleError:
        raise ValueError(f"no SQLAlchemy driver for {parsed.drivername!r}: use postgresql://... "
                         "(or install the driver of that database)") from None


def shown(url: str) -> str:
    """The URL as reports and messages show it (never a password)."""
    try:
        return _parse(url).render_as_string(hide_password=True)
    except ValueError:
        return redact(url)


@dataclass
class Server:
    """The server and query of a study's ``data:`` (:meth:`open` reads the password from the environment)."""

    url: str
    query: str
    password_env: str | None = None
    timeout: float | None = None
    """Seconds the server may spend on each statement (``data.timeout``; PostgreSQL ``statement_timeout``)."""
    password: str | None = field(default=None, repr=False)
    _engine: Any = field(default=None, repr=False)

    @classmethod
    def open(cls, spec: Any) -> "Server":
        """The server of a data spec with ``url``; the password comes from ``spec.password_env``.

        Raises
        ------
        DataError
            The environment variable is named but not set.
        """
        server = cls(spec.url, spec.sql, spec.password_env, getattr(spec, "timeout", None))
        if spec.password_env is not None:
            server.password = os.environ.get(spec.password_env)
            if server.password is None:
                raise DataError(f"the environment variable {spec.password_env} is not set: set it to the password "
                                f"of the database user before running the study", path=server.source)
        return server

    @property
    def source(self) -> str:
        """The name of the source in messages and reports."""
        return f"query on {shown(self.url)}"

    def engine(self) -> Any:
        if self._engine is None:
            import sqlalchemy as sa
            from sqlalchemy.pool import NullPool
            url = _parse(self.url)
            url = url.set(drivername=DRIVERS.get(url.drivername, url.drivername))
            if self.password is not None:
                url = url.set(password=self.password)
            # cursor_tuple_fraction 1: plan for the whole result, not its first rows (a cursor's default, 0.1,
            # sorts 10^7 rows for a GROUP BY instead of hashing them)
            args = ({"connect_timeout": CONNECT_TIMEOUT, "application_name": "cxlab",
                     "options": "-c cursor_tuple_fraction=1.0"} if url.get_backend_name() == "postgresql" else {})
            self._engine = sa.create_engine(url, poolclass=NullPool, connect_args=args, hide_parameters=True)
        return self._engine

    def error(self, exc: BaseException, reading: bool = False) -> DataError:
        """A one-line :class:`DataError` for a SQLAlchemy/driver error, saying what to do (password redacted)."""
        from sqlalchemy import exc as sae
        line = redact(first_line(exc), [self.password])
        low = line.lower()
        if "statement timeout" in low:
            return DataError(f"the server stopped the query after data.timeout ({self.timeout:g} s): raise "
                             f"data.timeout or make data.sql cheaper ({line})", path=self.source)
        if isinstance(exc, sae.OperationalError) and not reading or "could not connect" in low \
                or "connection refused" in low or "could not translate host" in low:
            if "password" in low or "authentication" in low or "role" in low and "does not exist" in low:
                why = ("the server refused the login: check the user in data.url and the password in the "
                       f"environment variable {self.password_env}" if self.password_env else
                       "the server refused the login: check the user in data.url, and name the environment "
                       "variable holding the password in data.password_env")
                return DataError(f"{why} ({line})", path=self.source)
            if "database" in low and "does not exist" in low:
                return DataError(f"the database does not exist on the server: check its name in data.url ({line})",
                                 path=self.source)
            return DataError(f"cannot connect to the database server: check the host and port in data.url and that "
                             f"the server is running ({line})", path=self.source)
        if isinstance(exc, (sae.OperationalError, sae.InterfaceError)) or "closed" in low or "terminat" in low:
            return DataError(f"the connection to the database server was lost while reading; run the study again "
                             f"when the server is back ({line})", path=self.source)
        if "does not exist" in low or "undefined" in low:
            return DataError(f"the query names a table or column the server does not have: check data.sql ({line})",
                             path=self.source)
        return DataError(f"the query failed on the server: check data.sql ({line})", path=self.source)

    def _subquery(self, names: list[str] | None = None) -> Any:
        import sqlalchemy as sa
        text = sa.text(self.query.strip().rstrip(";").replace(":", r"\:"))   # no bind parameters in user SQL
        return text.columns(*[sa.column(n) for n in names or ()]).subquery("cxlab_query")

    def _run(self, stmt: Any, batch_rows: int) -> Iterator[tuple[list[str], list[tuple]]]:
        """The rows of ``stmt`` in batches, through a server-side cursor in a read-only transaction (each
        statement, the cursor's every fetch, limited to ``timeout`` seconds on PostgreSQL)."""
        import sqlalchemy as sa
        from sqlalchemy import exc as sae
        try:
            conn = self.engine().connect()
        except sae.SQLAlchemyError as exc:
            raise self.error(exc) from None
        started = False
        try:
            opts = {"stream_results": True, "max_row_buffer": batch_rows}
            if conn.dialect.name == "postgresql":
                opts["postgresql_readonly"] = True
            conn = conn.execution_options(**opts)
            if self.timeout is not None and conn.dialect.name == "postgresql":  # this transaction only
                conn.execute(sa.text(f"SET LOCAL statement_timeout = {max(1, round(self.timeout * 1000))}"),
                             execution_options={"stream_results": False})
            result = conn.execute(stmt)
            keys = list(result.keys())
            while True:
                rows = result.fetchmany(batch_rows)
                started = True
                if not rows:
                    break
                yield keys, rows
        except sae.SQLAlchemyError as exc:
            raise self.error(exc, reading=started or not isinstance(exc, sae.OperationalError)) from None
        finally:
            try:
                conn.close()
            except Exception:  # a connection already gone: nothing left to close
                pass

    def header(self) -> list[str]:
        """The query's column names (the query runs with ``LIMIT 0``: no row is read)."""
        import sqlalchemy as sa
        from sqlalchemy import exc as sae
        stmt = sa.select(sa.text("*")).select_from(self._subquery()).limit(0)
        try:
            with self.engine().connect() as conn:
                return list(conn.execute(stmt).keys())
        except sae.SQLAlchemyError as exc:
            raise self.error(exc, reading=not isinstance(exc, sae.OperationalError)) from None

    def count(self) -> int:
        """Rows the query returns (counted on the server)."""
        import sqlalchemy as sa
        stmt = sa.select(sa.func.count()).select_from(self._subquery())
        for _, rows in self._run(stmt, 1):
            return int(rows[0][0])
        return 0

    def batches(self, columns: Iterable[str], batch_rows: int, header: list[str] | None = None,
                group: bool = False, sums: Iterable[str] = ()) -> Iterator[pd.DataFrame]:
        """The query's ``columns`` in batches of at most ``batch_rows`` rows.

        With ``group``, the distinct combinations of their values, each with its number of rows in the
        column :data:`ROWS` (``COUNT(*) ... GROUP BY`` on the server); each column of ``sums`` is summed
        instead of grouped (:func:`sum_columns` names the sum, count and minimum of its values). Rows are
        indexed by their 0-based position in the result. Exact decimals arrive as floats.
        """
        import sqlalchemy as sa
        names = header if header is not None else self.header()
        sub = self._subquery(names)
        summed = [c for c in dict.fromkeys(sums)] if group else []
        cols = [sub.c[c] for c in dict.fromkeys(columns) if c not in summed]
        extra = []
        for c in summed:
            total, squares, count, low = sum_columns(c)
            extra += [sa.func.sum(sub.c[c]).label(total), sa.func.sum(sub.c[c] * sub.c[c]).label(squares),
                      sa.func.count(sub.c[c]).label(count), sa.func.min(sub.c[c]).label(low)]
        stmt = (sa.select(*cols, sa.func.count().label(ROWS), *extra).group_by(*cols) if group
                else sa.select(*cols))
        offset = 0
        for keys, rows in self._run(stmt, batch_rows):
            frame = pd.DataFrame.from_records(rows, columns=keys)
            for name in frame.columns:
                col = frame[name]
                if col.dtype == object and any(isinstance(v, decimal.Decimal) for v in col.head(50)):
                    frame[name] = pd.to_numeric(col)
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame


def sum_columns(column: str) -> tuple[str, str, str, str]:
    """Names of the sum, the sum of squares, the count of non-missing values and the minimum of ``column`` in a
    grouped batch."""
    return f"__cxlab_sum_{column}", f"__cxlab_sumsq_{column}", f"__cxlab_n_{column}", f"__cxlab_min_{column}"


def read_server(spec: Any, columns: Iterable[str] | None = None, batch_rows: int = 100_000
                ) -> tuple[pd.DataFrame, str]:
    """The rows of a server query (the ``columns`` the study needs), read in batches through a server-side cursor.

    The full header stays in ``attrs["header"]`` (see :func:`cxlab.data.header`).
    """
    server = Server.open(spec)
    header = server.header()
    from .data import check_unique_columns
    check_unique_columns(header, server.source)
    wanted = header if columns is None else [c for c in dict.fromkeys(columns) if c in set(header)]
    if not wanted:
        wanted = header[:1]
    parts = list(server.batches(wanted, batch_rows, header))
    if not parts:
        raise DataError("the query returned no rows: check the filters in data.sql", path=server.source)
    frame = pd.concat(parts) if len(parts) > 1 else parts[0]
    frame.attrs["header"] = header
    return frame, server.source
