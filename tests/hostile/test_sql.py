"""Hostile SQL in a study file (issue 23): a study's DuckDB query only reads, only inside the study's folder,
never runs forever, and every result type it returns is mapped or refused by column."""
from __future__ import annotations

import _thread
import datetime
import hashlib
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from cxlab import sources, sqlsafe
from cxlab.batch.plan import plan
from cxlab.errors import DataError, StudyFileError
from cxlab.params import parse_study
from cxlab.sources import read_sql
from cxlab.sqlsafe import sql_files

COLUMNS = {"customer_id": "id", "experience": "score", "repurchase": "rebuy"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(message: str) -> str:
    assert "\n" not in message and "Traceback" not in message and len(message) < 500, message
    return message


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A study folder with a CSV, a published report beside it, and a file outside it."""
    study = tmp_path / "study"
    study.mkdir()
    rows = "\n".join(f"{i},{1 + i % 5},{'yes' if i % 3 else 'no'}" for i in range(60))
    (study / "survey.csv").write_text("id,score,rebuy\n" + rows + "\n")
    (study / "outputs" / "s").mkdir(parents=True)
    (study / "outputs" / "s" / "report.html").write_text("<p>the good report</p>")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.csv").write_text("id,score,rebuy\n1,5,yes\n")
    return study


def study_file(folder: Path, sql: str, database: str | None = None, name: str = "s") -> Path:
    data = {"sql": sql, **({"database": database} if database else {}), "columns": COLUMNS}
    doc = {"study": name, "notebook": "loyalty", "data": data, "experience": {"scale": [1, 5]},
           "outcomes": ["repurchase"]}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def make_database(folder: Path) -> Path:
    import duckdb
    path = folder / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE answers AS SELECT * FROM read_csv(?)", [str(folder / "survey.csv")])
    con.close()
    return path


# --- a query that writes is refused, with one line saying why ------------------------------------------------

WRITES = {
    "copy over the published report": ("COPY (SELECT 1 AS x) TO 'outputs/s/report.html' (FORMAT csv)", "COPY writes"),
    "copy over the study file": ("COPY (SELECT 1 AS x) TO 's.yaml'", "COPY writes"),
    "copy anywhere": ("COPY (SELECT 1 AS x) TO '/tmp/cxlab-hostile-copy.csv'", "COPY writes"),
    "attach and write": ("ATTACH 'other.duckdb' AS o", "ATTACH opens another database"),
    "install an extension": ("INSTALL httpfs", "INSTALL/LOAD add extensions"),
    "load an extension": ("LOAD httpfs", "INSTALL/LOAD add extensions"),
    "create": ("CREATE TABLE t AS SELECT 1", "CREATE changes the database"),
    "drop": ("DROP TABLE answers", "DROP changes the database"),
    "settings": ("SET enable_external_access = true", "SET changes settings"),
    "two statements": ("SELECT * FROM answers; COPY answers TO 'x.csv'", "give one SELECT statement, not 2"),
}


@pytest.mark.parametrize("case", list(WRITES))
def test_a_query_that_writes_is_refused_at_validation(case, folder):
    sql, why = WRITES[case]
    path = study_file(folder, sql)
    with pytest.raises(StudyFileError) as err:
        plan([path])
    message = one_line(str(err.value))
    assert message.startswith(f"{path}: key 'data.sql': ") and why in message, message
    assert "only reads data" in message


@pytest.mark.parametrize("case", ["copy over the published report", "copy over the study file", "create", "drop"])
def test_the_reader_refuses_writes_too_and_nothing_changes(case, folder):
    """read_sql checks again (a notebook run by hand skips validation): report, study file and database unchanged."""
    database = make_database(folder)
    path = study_file(folder, "SELECT * FROM answers", "warehouse.duckdb")
    before = {p: digest(p) for p in (folder / "outputs" / "s" / "report.html", path, database)}
    for db in (None, database):
        with pytest.raises(DataError) as err:
            read_sql(WRITES[case][0], db, folder)
        assert "only reads data" in one_line(str(err.value))
    assert {p: digest(p) for p in before} == before
    assert not Path("/tmp/cxlab-hostile-copy.csv").exists()


def test_cli_validate_refuses_a_copy_over_the_report_with_exit_2(folder):
    report = folder / "outputs" / "s" / "report.html"
    path = study_file(folder, WRITES["copy over the published report"][0])
    res = run_cli("validate", str(path), timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1 and "COPY writes" in res.stderr
    assert report.read_text() == "<p>the good report</p>"


def test_the_connection_is_read_only_and_locked(folder):
    """The sandbox itself, for a SELECT that check_query lets through: external access off, extensions neither
    installed nor loaded, the configuration locked, the database opened read-only."""
    database = make_database(folder)
    query = ("SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration',"
             " 'autoinstall_known_extensions', 'autoload_known_extensions', 'allowed_directories', 'access_mode')")
    frame, _ = read_sql(query, database, folder)
    got = dict(zip(frame["name"], frame["value"]))
    assert got["enable_external_access"] == "false" and got["lock_configuration"] == "true"
    assert got["autoinstall_known_extensions"] == "false" and got["autoload_known_extensions"] == "false"
    assert got["access_mode"] == "read_only"
    # the study's folder, and DuckDB's own spill folder beside the database (here inside it too)
    assert got["allowed_directories"] == f"[{folder.resolve()}/, {database.resolve()}.tmp/]"


def test_a_select_on_the_database_reads_and_leaves_it_unchanged(folder):
    database = make_database(folder)
    before = digest(database)
    frame, source = read_sql("SELECT * FROM answers", database, folder)
    assert len(frame) == 60 and source == f"SQL query on {database}"
    assert digest(database) == before


# --- a query that reads files the study does not name ---------------------------------------------------------

def outside_reads(folder: Path) -> dict[str, str]:
    (folder / "link.csv").symlink_to(folder.parent / "outside" / "secret.csv")
    return {"etc passwd": "SELECT * FROM read_csv('/etc/passwd', sep=':')",
            "glob the file system": "SELECT * FROM glob('/**')",
            "proc": "SELECT * FROM read_text('/proc/self/environ')",
            "a sibling folder": "SELECT * FROM read_csv('../outside/secret.csv')",
            "an absolute path outside": f"SELECT * FROM read_csv('{folder.parent}/outside/secret.csv')",
            "a symbolic link inside to a file outside": "SELECT * FROM read_csv('link.csv')",
            "a url": "SELECT * FROM read_csv('https://example.com/x.csv')"}


def test_a_query_reads_only_inside_the_study_folder(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)  # whatever the working folder: relative names are the study folder's
    frame, _ = read_sql("SELECT * FROM read_csv('survey.csv')", None, folder)
    assert len(frame) == 60
    for case, sql in outside_reads(folder).items():
        with pytest.raises(DataError) as err:
            read_sql(sql, None, folder)
        message = one_line(str(err.value))
        assert "reads outside the study's folder" in message and str(folder.resolve()) in message, (case, message)
    assert Path.cwd() == folder.parent  # the working folder is given back


def test_cli_validate_refuses_etc_passwd_with_one_line(folder):
    res = run_cli("validate", str(study_file(folder, "SELECT * FROM read_csv('/etc/passwd', sep=':')")),
                  timeout=120)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "reads outside the study's folder" in lines[0] and "root:" not in res.stdout


def test_the_fingerprint_never_globs_or_hashes_outside_the_study_folder(folder, monkeypatch):
    """'/proc/**', '/**' and '../*' are never searched (no hang, nothing of /proc hashed); matches that leave the
    folder through a symbolic link, and paths that are not regular files, are not listed."""
    searched: list[str] = []
    real = sqlsafe.os.scandir

    def spy(path):
        searched.append(str(path))
        return real(path)

    monkeypatch.setattr(sqlsafe.os, "scandir", spy)
    (folder / "link.csv").symlink_to(folder.parent / "outside" / "secret.csv")
    import os
    os.mkfifo(folder / "pipe.csv")
    query = ("SELECT * FROM read_csv('/proc/**'), read_csv('/**/*'), read_csv('../outside/*.csv'), "
             "read_csv('*/../../outside/*'), read_csv('/etc/passwd'), read_csv('*.csv')")
    t0 = time.perf_counter()
    files = sql_files(query, folder)
    assert time.perf_counter() - t0 < 5
    assert files == ["survey.csv"]
    assert all(p.startswith(str(folder.resolve())) for p in searched), searched
    path = study_file(folder, query)
    (job,) = plan([path])
    assert set(job.inputs) == {"survey.csv"}


def test_a_pattern_matching_too_many_paths_is_one_line(folder, monkeypatch):
    """A symbolic link to / inside the folder cannot make '**' walk the whole file system."""
    monkeypatch.setattr(sqlsafe, "MAX_SQL_FILES", 500)
    (folder / "root").symlink_to("/")
    t0 = time.perf_counter()
    assert sql_files("SELECT * FROM read_csv('**/*.csv')", folder) == ["survey.csv"]  # '**' follows no link
    with pytest.raises(StudyFileError) as err:
        sql_files("SELECT * FROM read_csv('root/**/*.csv')", folder)
    assert time.perf_counter() - t0 < 10
    assert "looks through more than 500 paths" in one_line(str(err.value))


# --- an endless query --------------------------------------------------------------------------------------------

ENDLESS = "SELECT count(*) AS n FROM range(1000000000000) a, range(1000000) b"


def test_an_endless_query_stops_at_the_timeout(folder):
    t0 = time.perf_counter()
    with pytest.raises(DataError) as err:
        read_sql(ENDLESS, None, folder, timeout=0.5)
    assert time.perf_counter() - t0 < 5
    assert "ran longer than 0.5 s and was stopped" in one_line(str(err.value))


def test_ctrl_c_interrupts_a_running_query(folder):
    timer = threading.Timer(0.5, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        read_sql(ENDLESS, None, folder)
    assert time.perf_counter() - t0 < 5


def test_a_query_returning_too_many_rows_stops_with_one_line(folder, monkeypatch):
    monkeypatch.setattr(sources, "MAX_SQL_ROWS", 50_000)
    with pytest.raises(DataError) as err:
        read_sql("SELECT * FROM range(1000000000000)", None, folder, timeout=60)
    assert "returns more than 50,000 rows" in one_line(str(err.value))


@pytest.mark.slow
def test_cli_run_timeout_ends_an_endless_query_with_one_line(folder):
    """The study's published report stays when its query turns endless: --timeout ends the run, one line, exit 1."""
    out = folder.parent / "out"
    path = study_file(folder, "SELECT * FROM read_csv('survey.csv')")
    assert run_cli("run", str(path), "--out", str(out), timeout=300).returncode == 0
    report = (out / "s" / "s.html").read_bytes()
    study_file(folder, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                       "SELECT s.*, (SELECT count(*) FROM r) AS n FROM read_csv('survey.csv') s")
    t0 = time.perf_counter()
    res = run_cli("run", str(path), "--out", str(out), "--timeout", "5", timeout=300)
    assert time.perf_counter() - t0 < 120
    assert res.returncode == 1, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("s: failed")]
    assert len(lines) == 1 and "timed out" in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert (out / "s" / "s.html").read_bytes() == report


# --- odd result types ----------------------------------------------------------------------------------------

def test_odd_result_types_are_mapped(folder):
    frame, _ = read_sql("SELECT 1.25::DECIMAL(18,3) AS dec, 12.5::DECIMAL(38,10) AS dec38, "
                        "123::HUGEINT AS small, 170141183460469231731687303715884105727::HUGEINT AS huge, "
                        "7::UHUGEINT AS uh, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tz, "
                        "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS id, 'a'::ENUM ('a', 'b') AS level",
                        None, folder)
    row = frame.iloc[0]
    assert frame["dec"].dtype == "float64" and row["dec"] == float(Decimal("1.25"))
    assert row["dec38"] == 12.5
    assert frame["small"].dtype == "int64" and row["small"] == 123
    assert frame["huge"].dtype == "float64" and row["huge"] == float(2**127 - 1)
    assert frame["uh"].dtype == "int64" and row["uh"] == 7
    # 03:04:05 at +02:00 is 01:04:05 UTC, kept without a zone
    assert row["tz"] == datetime.datetime(2024, 1, 2, 1, 4, 5) and frame["tz"].dt.tz is None
    assert row["id"] == "6ba7b810-9dad-11d1-80b4-00c04fd430c8" and row["level"] == "a"


@pytest.mark.parametrize("expr, kind", [
    ("INTERVAL 3 DAY", "an INTERVAL"), ("[1, 2]", "a LIST"), ("{'a': 1}", "a STRUCT"),
    ("MAP([1], [2])", "a MAP"), ("[1, 2]::INTEGER[2]", "an ARRAY"), ("union_value(n := 2)", "a UNION"),
    ("'x'::BLOB", "a BLOB"), ("'101'::BIT", "a BIT string")])
def test_types_a_study_cannot_use_are_refused_by_column(expr, kind, folder):
    with pytest.raises(DataError) as err:
        read_sql(f"SELECT 1 AS fine, {expr} AS \"odd col\"", None, folder)
    message = one_line(str(err.value))
    assert message.startswith("SQL query, column 'odd col': is " + kind), message


def test_a_write_through_cxlab_new_is_refused_with_exit_2(folder):
    res = run_cli("new", "s2", "--notebook", "loyalty", "--sql", "COPY (SELECT 1) TO 'survey.csv'",
                  "--params", str(folder), timeout=120)
    assert res.returncode == 2 and "COPY writes" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert (folder / "survey.csv").read_text().startswith("id,score,rebuy\n0,1,no\n")
    assert not (folder / "s2.yaml").exists()


def test_parse_study_refuses_a_write_without_touching_files():
    with pytest.raises(StudyFileError) as err:
        parse_study({"study": "t", "notebook": "loyalty", "outcomes": ["a"],
                     "data": {"sql": "COPY (SELECT 1) TO 'x.csv'"}}, check_files=False)
    assert "key 'data.sql'" in one_line(str(err.value))
