"""Hostile workbooks (issue 23): an .xlsx whose cells span 16,384 x 1,048,576, or that claims a row a billion
down, is refused in one line with memory bounded (the reader would otherwise ask for 17 billion cells and abort)."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cxlab import sources
from cxlab.errors import DataError
from cxlab.sources import read_excel


def forge(path: Path, dimension: str | None = None, cells: str = "") -> Path:
    """A real workbook (survey rows written by pandas) whose first sheet gets a forged dimension and extra cells."""
    plain = path.with_name("plain-" + path.name)
    rows = 40
    pd.DataFrame({"id": range(rows), "score": [1 + i % 5 for i in range(rows)],
                  "rebuy": ["yes" if i % 3 else "no" for i in range(rows)]}).to_excel(plain, index=False)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.namelist():
            data = src.read(item)
            if item == "xl/worksheets/sheet1.xml":
                text = data.decode()
                if dimension:
                    start = text.index("<dimension ref=\"") + len("<dimension ref=\"")
                    text = text[:start] + dimension + text[text.index("\"", start):]
                data = text.replace("</sheetData>", cells + "</sheetData>").encode()
            out.writestr(item, data)
    return path


CORNER = '<row r="1048576"><c r="XFD1048576" t="n"><v>9</v></c></row>'
BILLION = '<row r="1000000000"><c r="B1000000000" t="n"><v>9</v></c></row>'


def test_a_claimed_dimension_alone_is_harmless(tmp_path):
    frame, _ = read_excel(forge(tmp_path / "dim.xlsx", dimension="A1:XFD1048576"))
    assert frame.shape == (40, 3)


@pytest.mark.parametrize("cells, needle", [
    (CORNER, "span 1,048,576 rows x 16,384 columns (17,179,869,184 cells), more than the 50,000,000"),
    (BILLION, "cells reach row 1,000,000,000 and column 3, past Excel's limits"),
    # single quotes and a namespace prefix are XML too
    ("<x:row r='1048576'><x:c r='XFD1048576' t='n'><x:v>9</x:v></x:c></x:row>", "17,179,869,184 cells")])
def test_cells_far_apart_are_refused_before_reading(cells, needle, tmp_path):
    path = forge(tmp_path / "bomb.xlsx", dimension="A1:XFD1048576", cells=cells)
    with pytest.raises(DataError) as err:
        read_excel(path)
    message = str(err.value)
    where, sheet, _ = message.partition(" (sheet 'Sheet1'): ")  # the file named, not the machine's path (issue 24 item 8)
    assert sheet and where.endswith(path.name) and not where.startswith("/")
    assert needle in message and "\n" not in message


def test_the_limit_is_the_block_of_cells_not_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_EXCEL_CELLS", 40 * 3 + 2)  # 41 rows x 3 columns is over
    with pytest.raises(DataError, match=r"span 41 rows x 3 columns \(123 cells\)"):
        read_excel(forge(tmp_path / "a.xlsx"))
    monkeypatch.setattr(sources, "MAX_EXCEL_CELLS", 41 * 3)
    assert read_excel(forge(tmp_path / "b.xlsx"))[0].shape == (40, 3)


def test_cli_validate_refuses_the_bomb_in_one_line_with_memory_bounded(tmp_path):
    """Peak memory of the whole `cxlab validate` process, measured in it (VmHWM: getrusage's ru_maxrss keeps the
    high-water mark of the process image before exec, here the pytest process's): what importing cxlab costs,
    not the 17 billion cells (the reader asked for 512 GiB and aborted before)."""
    forge(tmp_path / "survey.xlsx", dimension="A1:XFD1048576", cells=CORNER)
    study = {"study": "s", "notebook": "loyalty",
             "data": {"path": "survey.xlsx", "columns": {"customer_id": "id", "experience": "score",
                                                         "repurchase": "rebuy"}},
             "experience": {"scale": [1, 5]}, "outcomes": ["repurchase"]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    code = ("import sys\nfrom cxlab.cli import main\nstatus = main(['validate', sys.argv[1]])\n"
            "peak = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
            "print('peak', peak, file=sys.stderr)\nsys.exit(status)")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.yaml")], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2 and "17,179,869,184 cells" in lines[0] and "Traceback" not in res.stderr, res.stderr
    peak_mib = int(lines[1].split()[1]) / 1024
    assert peak_mib < 600, peak_mib
