"""Issue 24 (pages, PDFs, tables.xlsx, formatting, paths) without a browser: paths relative to the study,
the failed study's report, the PDF's header and footer, one format per figure kind, tables.xlsx formats."""
from __future__ import annotations

import json
import os
import re

import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from cxlab import fmt
from cxlab.errors import DataError
from cxlab.paths import relative_paths, shown

# --- item 8: paths relative to the study's folder, never the machine's --------------------------------------


def test_a_data_path_reads_relative_to_the_study_folder(tmp_path):
    study_dir = tmp_path / "params"
    study_dir.mkdir()
    absolute = f"{study_dir}/../data/survey.csv"
    assert shown(absolute, study_dir) == os.path.join("..", "data", "survey.csv")
    text = relative_paths(f"Read 640 rows from {absolute}; 600 used. yes/no and 1/2 stay.", study_dir)
    assert text == "Read 640 rows from ../data/survey.csv; 600 used. yes/no and 1/2 stay."
    assert str(tmp_path) not in relative_paths(f"{absolute} (sheet 'A')", study_dir)


def test_a_path_far_outside_shows_its_last_two_parts(tmp_path):
    far = tmp_path / "a" / "b" / "c"
    far.mkdir(parents=True)
    assert shown("/usr/share/data/survey.csv", far) == os.path.join("…", "data", "survey.csv")


def test_data_errors_name_the_file_relative_to_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    monkeypatch.chdir(tmp_path / "params")  # a study's kernel runs in the study's folder
    err = DataError("column is missing", path=f"{tmp_path}/params/../data/x.csv", column="Score")
    assert str(err) == "../data/x.csv, column 'Score': column is missing"
    assert str(tmp_path) not in str(err)


def test_read_summary_and_provenance_carry_no_machine_path(tmp_path, monkeypatch):
    from cxlab.batch.jobs import Job, Outcome, provenance
    from cxlab.data import ReadSummary

    monkeypatch.chdir(tmp_path)
    summary = ReadSummary(source=f"{tmp_path}/data/x.csv", rows_read=640, columns={"experience": "Score"})
    assert summary.describe().startswith("Read 640 rows from data/x.csv;")
    job = Job(study="s", title="T", notebook="loyalty", notebook_path=str(ROOT / "notebooks" / "loyalty.ipynb"),
              study_file="params/s.yaml", study_dir=str(tmp_path), parameters={}, inputs={}, fingerprint="f")
    doc = provenance(job, Outcome("s", "ok", None, "2026-01-01T00:00:00+00:00", "x", 1.0))
    assert doc["notebook_file"] == os.path.join("notebooks", "loyalty.ipynb")
