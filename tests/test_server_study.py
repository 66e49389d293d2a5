"""A study reading a database server (issue 22) without the server: it is never up to date (no fingerprint of
files sees the server's data change, so a scheduled run reads it again every time and says so in its decision),
and its report names the server by its URL (which never holds a password)."""
from __future__ import annotations

import yaml

from cxlab.batch.cache import decide
from cxlab.batch.plan import plan
from cxlab.params import parse_study
from cxlab.record import write_json_atomic
from cxlab.report import data_source_line


def _published(out, job):
    write_json_atomic(out / job.study / "results.json", {
        "study": job.study, "notebook": job.notebook, "title": job.title, "status": "ok", "results": {},
        "provenance": {"fingerprint": job.fingerprint, "ended": "2024-01-01T00:00:00+00:00", "decision": "ran"}})


def test_a_server_study_reruns_where_a_file_study_is_up_to_date(tmp_path):
    (tmp_path / "d.csv").write_text("experience,repurchase\n1,0\n5,1\n")
    files = []
    for name, data in (("fromfile", {"path": "d.csv"}),
                       ("fromserver", {"url": "postgresql://cx@db.example:5432/cx", "sql": "SELECT * FROM t",
                                       "password_env": "CX_PW"})):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"study": name, "notebook": "loyalty", "data": data,
                                        "outcomes": ["repurchase"]}))
        files.append(path)
    out = tmp_path / "out"
    (out / "fromfile").mkdir(parents=True)
    (out / "fromserver").mkdir()
    jobs = {job.study: job for job in plan(files)}
    for job in jobs.values():
        _published(out, job)
    assert decide(jobs["fromfile"], out, force=False) == "up to date"
    assert decide(jobs["fromserver"], out, force=False) == "ran: a database source is always read again"
    assert decide(jobs["fromserver"], out, force=True) == "ran: --force"


def test_the_report_names_the_server():
    study = parse_study({"study": "s", "notebook": "loyalty", "outcomes": ["repurchase"], "data": {
        "url": "postgresql://analyst@db.example.com:5432/crm", "sql": "SELECT * FROM t", "password_env": "PW"}})
    assert data_source_line(study) == ("Data read by a SQL query on the database server "
                                       "postgresql://analyst@db.example.com:5432/crm.")
