"""A throwaway PostgreSQL server for tests and benchmarks, from the Debian ``postgresql`` package's binaries.

``initdb`` in a temporary folder, ``pg_ctl`` on a free TCP port of 127.0.0.1 (its
Unix socket in the same folder), password login (scram-sha-256) for user
``cxlab``. As root the server runs as the ``postgres`` user (PostgreSQL refuses
to run as root). :func:`find_binaries` is None where the package is absent.
"""
from __future__ import annotations

import glob
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

USER = "cxlab"
PASSWORD = "s3cret-Pw-for-tests"


def find_binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A running server: :attr:`url` (no password), :attr:`password`, :meth:`load` a DataFrame, :meth:`stop`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="cxlab-pg-"))
        self.port = _free_port()
        self.data = self.folder / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.folder, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        (self.folder / "pw").write_text(PASSWORD + "\n")
        if self.as_user:
            os.chown(self.folder / "pw", pwd.getpwnam("postgres").pw_uid, -1)
        subprocess.run([*self.as_user, str(bindir / "initdb"), "-D", str(self.data), "-U", USER, "--pwfile",
                        str(self.folder / "pw"), "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=120)
        opts = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB")
        subprocess.run([*self.as_user, str(bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                        str(self.folder / "log"), "-w", "-t", "60", "start"], check=True, capture_output=True,
                       timeout=90)
        self.url = f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"
        self.password = PASSWORD

    def connect(self):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname="postgres",
                               autocommit=True)

    def execute(self, sql: str) -> None:
        with self.connect() as conn:
            conn.execute(sql)

    def load(self, table: str, frame: pd.DataFrame) -> None:
        """Create ``table`` with the frame's columns (typed after their dtypes) and COPY the rows in."""
        types = []
        for name, dtype in frame.dtypes.items():
            kind = ("bigint" if pd.api.types.is_integer_dtype(dtype) else
                    "double precision" if pd.api.types.is_float_dtype(dtype) else
                    "boolean" if pd.api.types.is_bool_dtype(dtype) else
                    "date" if pd.api.types.is_datetime64_any_dtype(dtype) else "text")
            types.append(f'"{name}" {kind}')
        with self.connect() as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
            conn.execute(f'CREATE TABLE "{table}" ({", ".join(types)})')
            with conn.cursor().copy(f'COPY "{table}" FROM STDIN WITH (FORMAT csv, NULL \'\')') as copy:
                for start in range(0, len(frame), 200_000):
                    buf = io.StringIO()
                    frame.iloc[start:start + 200_000].to_csv(buf, header=False, index=False, date_format="%Y-%m-%d")
                    copy.write(buf.getvalue())

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def server() -> Iterator[PgServer]:
    """Start a server, yield it, stop it (for a pytest fixture or a benchmark's ``with``-less use)."""
    bindir = find_binaries()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    srv = PgServer(bindir)
    try:
        yield srv
    finally:
        srv.stop()
