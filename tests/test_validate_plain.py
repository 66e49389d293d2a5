"""``cxlab validate`` on the terminal: the first rows of a streamed source through an explicit seam (the studies'
``read(..., reader=)``, no ``unittest.mock`` in the package) and plain text, not the report's markdown escapes
(the reports keep them)."""
from __future__ import annotations

import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from conftest import ROOT, run_cli

from cxlab import cli, synth
from cxlab.data import ReadSummary
from cxlab.params import load_study_file
from cxlab.report import plain, text as md
from cxlab.studies.loyalty import load as loyalty_load

ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")   # a backslash before ASCII punctuation: a markdown escape

WRAPPER = """\
import sys
from cxlab import cli
status = cli.main(sys.argv[1:])
print("unittest.mock imported:", "unittest.mock" in sys.modules)
sys.exit(status)
"""


def _streamed_loyalty(tmp_path: Path, n: int = 1500) -> Path:
    """A loyalty study on a CSV file (a source read in batches), longer than the rows validate shows."""
    synth.generate("customers", n, 5).to_csv(tmp_path / "survey.csv", index=False)
    doc = yaml.safe_load((ROOT / "params" / "loyalty.yaml").read_text())
    doc["study"], doc["data"] = "streamed", {"path": "survey.csv"}
    path = tmp_path / "streamed.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_validate_shows_the_first_rows_without_unittest_mock(tmp_path):
    """A real ``cxlab validate`` process on a streamed source: the rows counted without loading them, the first
    rows shown, and ``unittest.mock`` never imported (it was, by ``_head_only``, before the ``reader=`` seam)."""
    path = _streamed_loyalty(tmp_path)
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, str(script), "validate", str(path), "--rows", "3"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env=env)   # this checkout's cxlab
    assert res.returncode == 0, res.stderr
    assert "  1,500 rows in " in res.stdout
    assert "survey.csv (counted without loading them, checked in batches)" in res.stdout
    assert f"{path}: ok (loyalty; all 1,500 rows checked in batches)" in res.stdout
    assert "unittest.mock imported: False" in res.stdout, res.stdout


def test_the_reader_seam_gives_read_only_the_rows_it_returns(tmp_path):
    """``read(..., reader=)`` reads the study's data through the reader given (validate's first rows), and
    through :func:`cxlab.sources.read_source` by default."""
    path = _streamed_loyalty(tmp_path, n=600)
    study = load_study_file(path)
    whole = pd.read_csv(tmp_path / "survey.csv")

    def first_rows(spec, base, columns=None):
        return whole.head(40)[list(columns)], "first rows"

    frame, summary = loyalty_load.read(study, tmp_path, reader=first_rows)
    assert len(frame) == 40 and summary.source == "first rows"
    assert len(loyalty_load.read(study, tmp_path)[0]) == 600
    assert "unittest" not in Path(cli.__file__).read_text()


def test_plain_undoes_exactly_the_reports_escapes():
    """Every ASCII punctuation character, backslashes and a leading list marker included, comes back as written
    from the report's escaping (:func:`cxlab.report.text`)."""
    for written in [string.punctuation, r"C:\data\(2024)\_raw_.csv", "- a dash first", "1. a number first",
                    "synthetic drivers (seed 2026)", r"\\(already\) [a](b) *x* `y` $z$"]:
        assert md(written) != written
        assert plain(md(written)) == written


def test_validate_prints_plain_text_the_report_keeps_its_escapes():
    """The default studies' validate output (descriptions of synthetic sources with their seed) has no markdown
    escapes; the same description in a report still escapes the parentheses."""
    res = run_cli("validate", timeout=300)
    assert res.returncode == 0, res.stderr
    assert "from synthetic drivers (seed 2026); 3,000 used." in res.stdout
    assert not ESCAPED.search(res.stdout), ESCAPED.findall(res.stdout)
    report = ReadSummary(source="synthetic drivers (seed 2026)", rows_read=3000, columns={}).describe()
    assert r"synthetic drivers \(seed 2026\)" in report


def test_the_streamed_row_count_names_the_file_as_a_reader_sees_it(tmp_path):
    """The streamed source's line names the file relative to the working folder, never by its machine path."""
    path = _streamed_loyalty(tmp_path)
    res = run_cli("validate", path.name, "--rows", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "  1,500 rows in survey.csv (counted without loading them" in res.stdout
    assert str(tmp_path) not in res.stdout.replace(f"{path}:", "")


def test_validate_into_a_closed_pipe_stops_quietly(tmp_path):
    """``cxlab validate ... | head -1``: the reader leaves early; cxlab stops as ``yes`` does (128 + SIGPIPE),
    without an "internal error" line or a traceback."""
    files = sorted(str(p) for p in (ROOT / "params").glob("*.yaml"))
    proc = subprocess.Popen([sys.executable, "-m", "cxlab.cli", "validate", *files, "--rows", "200"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, err
    assert ": ok (" in first and err == ""
