"""Issue 24's three leftovers: p-values in ``tables.xlsx`` read as the report writes them ("0.37", not "0.370"),
the index links ``methods.html`` beside it, and the one-shot fallback PDF printer prints the run browser's
header and footer ("Page x of y")."""
from __future__ import annotations

import os
import re
import shutil
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from pathlib import Path

import pandas as pd
import pytest

from cxlab import fmt

# --- 1. p-values in tables.xlsx ---------------------------------------------------------------------------------

#: p-value -> the text the report's table shows, written by hand from the rule in docs/methods.md ("p < 0.001" or two
#: significant digits) and fmt.p_decimals' docstring: 0.995 and up three decimals, 0.9995 and up "1.00"
P_SHOWN = {0.37: "0.37", 0.037: "0.037", 0.0372: "0.037", 0.004: "0.0040", 0.0012: "0.0012", 0.0004: "< 0.001",
           8.4e-229: "< 0.001", 0.0: "< 0.001", 0.05: "0.050", 0.1: "0.10", 0.62: "0.62", 0.996: "0.996",
           0.9997: "1.00", 1.0: "1.00"}


def excel_shows(value: float, code: str) -> str:
    """What Excel shows for a number under the number formats the workbook uses: ``0.00...``, or one
    condition (``[<0.001]"< 0.001";0.000``); Excel rounds the decimal value half away from zero."""
    section = code
    condition = re.fullmatch(r'\[<([0-9.]+)\]([^;]+);(.+)', code)
    if condition:
        section = condition.group(2) if value < float(condition.group(1)) else condition.group(3)
    literal = re.fullmatch(r'"([^"]*)"', section)
    if literal:
        return literal.group(1)
    decimals = re.fullmatch(r"0\.(0+)", section)
    assert decimals, f"a format this test cannot read: {code!r}"
    places = Decimal(1).scaleb(-len(decimals.group(1)))
    return str(Decimal(repr(value)).quantize(places, rounding=ROUND_HALF_UP))


def test_xlsx_p_values_read_as_the_report_writes_them(tmp_path):
    from openpyxl import load_workbook

    from cxlab.exports import write_workbook

    frame = pd.DataFrame({"driver": [f"d{i}" for i in range(len(P_SHOWN) + 1)],
                          "p": [*P_SHOWN, float("nan")]})
    write_workbook({"drivers": frame}, tmp_path / "tables.xlsx")
    ws = load_workbook(tmp_path / "tables.xlsx")["drivers"]
    assert [c.value for c in ws[1]] == ["driver", "p"]
    cells = [row[1] for row in ws.iter_rows(min_row=2)]
    problems = []
    for cell, (p, shown) in zip(cells, P_SHOWN.items()):
        if isinstance(cell.value, (str, bool)) or cell.value != p:  # a number (openpyxl reads 1.0 as 1), exact
            problems.append(f"p {p}: the cell holds {cell.value!r}")
        elif excel_shows(cell.value, cell.number_format) != shown or fmt.p_value(p, bare=True) != shown:
            problems.append(f"p {p}: {cell.number_format!r} shows {excel_shows(cell.value, cell.number_format)!r}, "
                            f"the report {fmt.p_value(p, bare=True)!r}, wanted {shown!r}")
    assert not problems, "\n".join(problems)
    assert cells[0].number_format == "0.00" and cells[5].number_format == '[<0.001]"< 0.001";0.000'
    assert cells[-1].value is None  # a missing p-value stays an empty cell


def test_xlsx_p_values_as_libreoffice_shows_them(tmp_path):
    """The workbook as a spreadsheet program shows it: LibreOffice's CSV export writes each cell's shown text
    (its last filter option, "save cell contents as shown"); skipped without LibreOffice, which the project
    does not install."""
    import subprocess

    from cxlab.exports import write_workbook

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    write_workbook({"drivers": pd.DataFrame({"p": list(P_SHOWN)})}, tmp_path / "tables.xlsx")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true", "--outdir", str(tmp_path), str(tmp_path / "tables.xlsx")],
                   capture_output=True, timeout=120, check=True)
    shown = (tmp_path / "tables.csv").read_text().splitlines()[1:]
    assert [s.strip('"') for s in shown] == list(P_SHOWN.values())


# --- 2. the index links methods.html --------------------------------------------------------------------------

def test_the_index_links_methods_html_beside_it_also_when_the_folder_moves(tmp_path):
    from bs4 import BeautifulSoup

    from cxlab.batch.index import write_index

    out = tmp_path / "reports"
    out.mkdir()
    write_index(out)
    moved = tmp_path / "elsewhere" / "published"
    shutil.move(str(out), str(moved))
    soup = BeautifulSoup((moved / "index.html").read_text(encoding="utf-8"), "html.parser")
    hrefs = [a["href"] for a in soup.find_all("a", href=True) if "methods" in a["href"]]
    assert hrefs == ["methods.html"]  # relative: no scheme, no folder
    target = moved / hrefs[0]
    assert target.is_file() and "<title>cxlab methods</title>" in target.read_text(encoding="utf-8")


def test_the_index_has_no_methods_link_when_the_page_could_not_be_written(tmp_path, monkeypatch):
    """An installed package without docs/methods.md writes no methods.html: no dead link."""
    from cxlab.batch import index

    monkeypatch.setattr(index, "write_page", lambda out_dir: None)
    index.write_index(tmp_path)
    assert "methods.html" not in (tmp_path / "index.html").read_text(encoding="utf-8")


# --- 3. the fallback printer's header and footer --------------------------------------------------------------

def _need_chromium() -> None:
    from cxlab.batch import pdf

    if pdf.chromium() is None or not Path("/usr/bin/chromium").exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it with apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test is skipped outside CI")


def _pages_text(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [unicodedata.normalize("NFKC", page.extract_text()) for page in PdfReader(BytesIO(data)).pages]


@pytest.mark.browser
def test_the_fallback_printer_prints_the_header_and_footer_of_the_run_browser(monkeypatch):
    """The run's browser fails on a page: the one-shot printer prints it, each page with the study's title,
    the run date and "Page x of y", the same text the run's browser prints."""
    from cxlab.batch import pdf
    from cxlab.batch.render import print_meta

    _need_chromium()
    page = (f"<!DOCTYPE html><html><head><title>Loyalty</title>"
            f"{print_meta('Loyalty & churn', {'started': '2026-12-04T15:41:40+00:00'})}</head><body>"
            + "".join(f"<p>Paragraph {i} of the report.</p>" for i in range(120)) + "</body></html>")

    class Broken:
        def print_page(self, page: str) -> bytes:
            raise pdf.BrowserError("the page's renderer is gone")

        def close(self) -> None:
            pass

    monkeypatch.setattr(pdf, "_BROWSER", Broken())
    fallback = pdf.print_pdf(page)
    assert pdf._BROWSER is None and fallback is not None
    pages = _pages_text(fallback)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "Loyalty & churn" in text and "Run 2026-12-04 15:41 UTC" in text
    browser = pdf.Browser(pdf.chromium())
    try:
        main = _pages_text(browser.print_page(page))
    finally:
        browser.close()
    assert main == pages


def test_a_browser_that_cannot_start_leaves_no_folder_and_no_pipe(tmp_path, monkeypatch):
    """An executable that is not there (or not runnable): one BrowserError, and neither its profile folder nor the
    four pipe ends stay behind (the one-shot fallback starts a Browser per page)."""
    import tempfile

    from cxlab.batch import pdf
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = len(os.listdir("/proc/self/fd"))
    for exe in (str(tmp_path / "no-such-chromium"), str(tmp_path)):
        with pytest.raises(pdf.BrowserError, match="did not start"):
            pdf.Browser(exe)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(pdf.PREFIX)] == []
    assert len(os.listdir("/proc/self/fd")) == before
