"""Hostile data in tables.xlsx (issue 23): a value that looks like a formula is text, never a formula; control
characters Excel rejects do not fail the study; numbers, negative ones included, stay numbers."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_cli

from cxlab.exports import write_workbook

HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1",
           "=1+1", "bell\x07and\x01nul\x00", "\x0b\x0c\x1f", "_x0041_ stays", "plain", "négatif -1", "line\nfeed"]


def excel_text(value: str) -> str:
    """What Excel shows for a cell's stored text: its _xHHHH_ escapes decoded (ECMA-376 ST_Xstring)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def cells(path: Path) -> list:
    book = openpyxl.load_workbook(path)
    return [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row]


def test_formula_like_values_are_text_and_control_characters_do_not_fail(tmp_path):
    n = len(HOSTILE)
    by_tier = pd.DataFrame({"n": np.arange(n) - 5, "rate": np.linspace(-0.5, 0.5, n), "segment": HOSTILE[::-1],
                            "level": pd.Categorical(HOSTILE)}, index=pd.Index(HOSTILE, name="tier"))
    drivers = pd.DataFrame({"driver": HOSTILE, "=weight": -np.arange(n, dtype=float)})
    path = write_workbook({"by tier": by_tier, "drivers\x01=x": drivers}, tmp_path / "tables.xlsx")
    all_cells = cells(path)
    assert not [c.coordinate for c in all_cells if c.data_type == "f"]  # no formula anywhere
    texts = [c for c in all_cells if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in texts)
    for c in texts:  # a value that starts a formula carries Excel's quote prefix: shown as written, stays text
        assert c.quotePrefix == excel_text(c.value).startswith(("=", "+", "-", "@", "\t", "\r")), c.value
    book = openpyxl.load_workbook(path)
    ws = book["by tier"]
    header = [c.value for c in ws[1]]
    assert header[0].lower() == "tier"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [excel_text(r[0]) for r in rows] == HOSTILE  # the tier names, exactly, once Excel decodes them
    segment, level = header.index("segment"), header.index("level")
    assert [excel_text(r[segment]) for r in rows] == HOSTILE[::-1]
    assert [excel_text(r[level]) for r in rows] == HOSTILE
    assert [r[1] for r in rows] == list(range(-5, n - 5))  # negative numbers stay numbers
    assert all(c.data_type == "n" for c in ws["B"][1:])
    drivers_ws = book.worksheets[1]
    assert "\x01" not in drivers_ws.title
    assert [c.value for c in drivers_ws[1]][1] == "=weight" and drivers_ws["B1"].data_type == "s"
    assert [excel_text(c.value) for c in drivers_ws["A"][1:]] == HOSTILE
    assert [c.value for c in drivers_ws["B"][2:4]] == [-1.0, -2.0]


@pytest.mark.slow
def test_a_run_with_formula_tier_names_publishes_text_cells(tmp_path):
    """Through cxlab run: tier names from the study file reach tables.xlsx as text, the study succeeds."""
    data = ROOT / "params" / "examples" / "data" / "telco-survey.csv"
    tiers = {"=HYPERLINK(\"http://x\")": [1, 2], "@SUM(A1)\x01": [3, 3], "-promoter": [4, 5]}
    doc = {"study": "formulas", "notebook": "loyalty",
           "data": {"path": str(data), "columns": {"customer_id": "Customer ID", "experience": "Satisfaction Score",
                                                   "repurchase": "Bought Again"}},
           "experience": {"scale": [1, 5], "tiers": tiers}, "outcomes": ["repurchase"]}
    path = tmp_path / "formulas.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=False))
    res = run_cli("run", str(path), "--out", str(tmp_path / "out"), timeout=600)
    assert res.returncode == 0, res.stderr
    book = tmp_path / "out" / "formulas" / "tables.xlsx"
    all_cells = cells(book)
    assert not [c.coordinate for c in all_cells if c.data_type == "f"]
    shown = {excel_text(c.value) for c in all_cells if isinstance(c.value, str)}
    assert set(tiers) <= shown, shown
