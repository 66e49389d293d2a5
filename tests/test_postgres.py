"""A real PostgreSQL server as a study's data source (issue 22): same figures as the CSV, clear errors, no password.

A session fixture starts a throwaway server from the Debian ``postgresql`` package's
binaries (``initdb`` in a temporary folder, ``pg_ctl`` on a free port: tests/pg_server.py)
and loads the embedded data sets of the default studies. Skipped, with a message, where the
binaries are absent (``.ci/run`` installs the package).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import pg_server
from conftest import PARAMS, assert_same_figures, run_cli
from cxlab import synth
from cxlab.errors import DataError, StudyFileError
from cxlab.params import parse_study
from cxlab.registry import STUDIES

pytestmark = pytest.mark.skipif(pg_server.find_binaries() is None,
                                reason="PostgreSQL server binaries (initdb, pg_ctl) not found: "
                                       "apt-get install postgresql (as .ci/run does)")
ENV = "CXLAB_TEST_PG_PASSWORD"
DEFAULTS = ["loyalty", "loyalty-tiers", "metrics", "retention", "retention-tiers", "drivers", "leaders"]


@pytest.fixture(scope="session")
def pg(tmp_path_factory):
    """The server, with one table per default study (its embedded data set) and the same data as CSV files."""
    gen = pg_server.server()
    server = next(gen)
    folder = tmp_path_factory.mktemp("pgdata")
    for name in DEFAULTS:
        spec = yaml.safe_load((PARAMS / f"{name}.yaml").read_text())["data"]
        frame = synth.generate(spec["synthetic"], spec["n"], spec["seed"], **spec.get("options", {}))
        table = name.replace("-", "_")
        server.load(table, frame)
        frame.to_csv(folder / f"{table}.csv", index=False, date_format="%Y-%m-%d")
    server.csv_folder = folder
    os.environ[ENV] = server.password
    yield server
    os.environ.pop(ENV, None)
    next(gen, None)


def _study(name: str, data: dict[str, Any], resamples: int | None = None) -> dict[str, Any]:
    raw = yaml.safe_load((PARAMS / f"{name}.yaml").read_text())
    columns = raw["data"].get("columns", {})
    raw["data"] = dict(data, **({"columns": columns} if columns else {}))
    if "bootstrap" in raw and resamples:
        raw["bootstrap"] = {"resamples": resamples, "seed": 0}
    return raw


def _server_data(pg, table: str, **extra: Any) -> dict[str, Any]:
    return {"url": pg.url, "sql": f"SELECT * FROM {table}", "password_env": ENV, **extra}


def _figures(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """The study's results as its notebook computes them (the load and analysis a notebook calls)."""
    study = parse_study(raw, base_dir=base)
    load, analysis = STUDIES[study.notebook].part("load"), STUDIES[study.notebook].part("analysis")
    if study.notebook == "loyalty":
        return analysis.analyze(load.read_cells(study, base)[0], study).results
    if study.notebook == "metrics":
        return analysis.analyze(load.read_counts(study, base)[0], study).results
    if study.notebook == "retention":
        return analysis.analyze_counts(load.read_counts(study, base)[0], study).results
    return analysis.analyze(load.read(study, base), study).results


@pytest.mark.parametrize("name", DEFAULTS)
def test_every_default_study_gives_the_csv_figures_from_the_server(pg, name):
    table = name.replace("-", "_")
    from_csv = _figures(_study(name, {"path": f"{table}.csv"}, resamples=300), pg.csv_folder)
    from_server = _figures(_study(name, _server_data(pg, table), resamples=300), pg.csv_folder)
    assert_same_figures(from_csv, from_server, ("from the CSV", "from the server"))


def test_counting_studies_receive_counts_not_rows(pg, monkeypatch):
    """Loyalty on 20,000 customers: the server sends the distinct (rating, outcomes) combinations only."""
    from cxlab import dbsource
    seen = []
    batches = dbsource.Server.batches

    def spy(self, *args, **kwargs):
        for batch in batches(self, *args, **kwargs):
            seen.append(len(batch))
            yield batch
    monkeypatch.setattr(dbsource.Server, "batches", spy)
    _figures(_study("loyalty", _server_data(pg, "loyalty")), pg.csv_folder)
    assert 0 < sum(seen) <= 5 * 2 ** 4            # 5 ratings x 2^4 outcome values, not 20,000 rows


def test_a_study_needing_rows_reads_them_in_batches(pg):
    from cxlab.dbsource import read_server
    study = parse_study(_study("drivers", _server_data(pg, "drivers")), base_dir=pg.csv_folder)
    frame, source = read_server(study.data, ["satisfaction", "support"], batch_rows=700)
    assert len(frame) == 3000 and list(frame.columns) == ["satisfaction", "support"]
    assert frame.index.equals(pd.RangeIndex(3000))
    assert "password" not in source and pg.password not in source


def _error(pg, tmp_path, **data: Any) -> str:
    raw = _study("loyalty", dict(_server_data(pg, "loyalty"), **data))
    study = parse_study(raw, base_dir=tmp_path)
    with pytest.raises(DataError) as info:
        STUDIES["loyalty"].part("load").read_cells(study, tmp_path)
    text = str(info.value)
    assert pg.password not in text and "\n" not in text
    return text


def test_bad_input_gives_one_line_saying_what_to_do(pg, tmp_path, monkeypatch):
    closed = pg.url.replace(f":{pg.port}/", f":{pg_server._free_port()}/")
    assert "check the host and port in data.url" in _error(pg, tmp_path, url=closed)
    assert "database does not exist" in _error(pg, tmp_path, url=pg.url.rsplit("/", 1)[0] + "/nodb")
    assert "table or column the server does not have" in _error(pg, tmp_path, sql="SELECT * FROM nowhere")
    assert "table or column" in _error(pg, tmp_path, sql="SELECT nothing FROM loyalty")
    assert "query failed on the server" in _error(pg, tmp_path, sql="SELEC * FROM loyalty")
    assert "returned no rows" in _error(pg, tmp_path, sql="SELECT * FROM loyalty WHERE false")
    monkeypatch.setenv(ENV, "not-the-password")
    assert f"refused the login: check the user in data.url and the password in the environment variable {ENV}" \
        in _error(pg, tmp_path)
    monkeypatch.delenv(ENV)
    assert f"environment variable {ENV} is not set" in _error(pg, tmp_path)


def test_the_query_runs_read_only(pg, tmp_path):
    pg.execute("CREATE TABLE IF NOT EXISTS scratch (x int)")
    pg.execute("CREATE OR REPLACE FUNCTION sneaky() RETURNS SETOF loyalty LANGUAGE sql AS "
               "$$ INSERT INTO scratch VALUES (1); SELECT * FROM loyalty $$")
    text = _error(pg, tmp_path, sql="SELECT * FROM sneaky()")
    assert "read-only transaction" in text
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM scratch").fetchone()[0] == 0


def test_a_server_going_away_mid_read_is_one_line(pg):
    from cxlab.dbsource import Server
    study = parse_study(_study("drivers", _server_data(pg, "drivers")), base_dir=pg.csv_folder)
    server = Server.open(study.data)
    batches = server.batches(["satisfaction"], 100)
    next(batches)
    with pg.connect() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                     "AND application_name = 'cxlab'")
    with pytest.raises(DataError) as info:
        list(batches)
    assert "connection to the database server was lost while reading; run the study again" in str(info.value)
    assert pg.password not in str(info.value)


def test_a_password_in_the_url_is_refused_without_repeating_it(pg):
    raw = _study("loyalty", _server_data(pg, "loyalty", url=pg.url.replace("cxlab@", "cxlab:hunter2@")))
    with pytest.raises(StudyFileError) as info:
        parse_study(raw, source="x.yaml")
    assert "hunter2" not in str(info.value) and "password_env" in str(info.value)


def test_a_run_from_the_server_publishes_and_a_refused_login_keeps_it(pg, tmp_path):
    """End to end: the report shows the URL without a password; nothing cxlab writes holds the password; a
    refused login fails the study in one line (exit 1) and the last good report stays."""
    out = tmp_path / "out"
    path = tmp_path / "pgloyalty.yaml"
    raw = _study("loyalty", _server_data(pg, "loyalty"))
    raw["study"] = "pgloyalty"
    path.write_text(yaml.safe_dump(raw))
    ok = run_cli("run", str(path), "--out", str(out), env={ENV: pg.password})
    assert ok.returncode == 0, ok.stderr[-2000:]
    html = (out / "pgloyalty" / "pgloyalty.html").read_text()
    assert f"127.0.0.1:{pg.port}" in html
    bad = run_cli("run", str(path), "--out", str(out), env={ENV: "Wr0ng-pw-x7"})  # no --force: a server is read again
    assert bad.returncode == 1 and "up to date" not in bad.stdout
    failed = json.loads((out / "pgloyalty.failed" / "results.json").read_text())
    assert failed["provenance"]["decision"] == "ran: a database source is always read again"
    printed = ok.stdout + ok.stderr + bad.stdout + bad.stderr
    assert pg.password not in printed and "Wr0ng-pw-x7" not in printed
    lines = [line for line in (bad.stdout + bad.stderr).splitlines() if "refused the login" in line]
    assert lines and all("pgloyalty" in line for line in lines), bad.stdout + bad.stderr
    assert (out / "pgloyalty" / "pgloyalty.html").read_text() == html
    for file in out.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert pg.password.encode() not in data and b"Wr0ng-pw-x7" not in data, file


def test_validate_counts_rows_on_the_server(pg, tmp_path, monkeypatch):
    """``cxlab validate``: the server counts the rows (COUNT(*)); only the first rows are read through the study."""
    path = tmp_path / "pgv.yaml"
    raw = _study("loyalty", _server_data(pg, "loyalty"))
    raw["study"] = "pgv"
    path.write_text(yaml.safe_dump(raw))
    res = run_cli("validate", str(path), "--rows", "2", env={ENV: pg.password})
    assert res.returncode == 0, res.stderr
    assert f"20,000 rows in query on {pg.url}" in res.stdout and "counted without loading them" in res.stdout
    assert pg.password not in res.stdout + res.stderr


def test_data_timeout_stops_a_long_query_in_one_line(pg, tmp_path):
    """``data.timeout`` is the server's ``statement_timeout`` inside the read-only transaction: a query that
    sleeps longer is stopped by the server, in one line naming the key; a quick query under it still reads."""
    import time
    started = time.monotonic()
    text = _error(pg, tmp_path, sql="SELECT l.* FROM loyalty l, (SELECT pg_sleep(30)) s", timeout=0.5)
    assert time.monotonic() - started < 15
    assert "stopped the query after data.timeout (0.5 s): raise data.timeout" in text
    raw = _study("loyalty", _server_data(pg, "loyalty", timeout=30))
    study = parse_study(raw, base_dir=tmp_path)
    cells, summary = STUDIES["loyalty"].part("load").read_cells(study, tmp_path)
    assert summary.rows_read == 20_000
    with pytest.raises(StudyFileError, match="'timeout' applies only to a database server"):
        parse_study(_study("loyalty", {"path": "x.csv", "timeout": 5}), source="x.yaml")
