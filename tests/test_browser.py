"""The published reports in a real browser (Debian's Chromium driven by Playwright), read as a reviewer would.

For the index and every report: the page title, no scientific notation and no
NBVAL or plumbing text in the visible text, a real alt text on every image, no
horizontal overflow at 1,280 and 390 px, no request leaving the local server.
Screenshots are kept in ``test-artifacts/`` (git-ignored).
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import PARAMS, ROOT, run_cli

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
WIDTHS = (1280, 390)
SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])")
PLUMBING = ("NBVAL", "results_path", "record(", "results.json when", "parse_study", "/tmp/", "study_dir",
            "Notebook", "column in file", "| outcome |", "No description has been provided")


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it with apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test is skipped outside CI")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _need_chromium()
    out = tmp_path_factory.mktemp("published")
    res = run_cli("run", "--out", str(out), "--params", str(PARAMS), timeout=1800)
    assert res.returncode == 0, res.stdout + res.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    _need_chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _pages(out: Path) -> list[tuple[str, str, bool]]:
    """(path, expected title, is a code-hidden report) for the index and every study's two pages."""
    pages = [("index.html", "cxlab reports", True)]
    for doc_path in sorted(out.glob("*/results.json")):
        doc = json.loads(doc_path.read_text())
        slug, title = doc["study"], doc["title"]
        pages.append((f"{slug}/{slug}.html", title, True))
        pages.append((f"{slug}/{slug}-code.html", f"{title} (notebook with code)", False))
    return pages


def test_every_page_reads_as_a_document(served, browser):
    base, out = served
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    pages = _pages(out)
    assert len(pages) == 1 + 2 * len(list(PARAMS.glob("*.yaml")))
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        foreign: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((base, "data:")) else None)
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        for path, title, report in pages:
            resp = page.goto(f"{base}/{path}")
            assert resp is not None and resp.ok, path
            page.wait_for_load_state("load")
            where = f"{path} at {width} px"
            if page.title() != title:
                problems.append(f"{where}: title {page.title()!r}, expected {title!r}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{where}: {overflow} px of horizontal overflow")
            images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
                                   "i.getAttribute('alt') || ''])")
            for done, natural, alt in images:
                if not (done and natural > 0):
                    problems.append(f"{where}: an image did not load")
                if len(alt) < 25 or alt.startswith("No description") or alt.startswith("Chart in the section"):
                    problems.append(f"{where}: image without a real alt text ({alt!r})")
            if path != "index.html" and not images:
                problems.append(f"{where}: no figures")
            text = page.evaluate("document.body.innerText")
            if report:
                sci = SCIENTIFIC.findall(text)
                if sci:
                    problems.append(f"{where}: scientific notation {sci[:5]}")
                for word in PLUMBING:
                    if word in text:
                        problems.append(f"{where}: plumbing text {word!r}")
                if path != "index.html":
                    for needed in ("Contents", "Methods", "Caveats"):
                        if needed not in text:
                            problems.append(f"{where}: no {needed} section")
                    if text.count(title) < 1:
                        problems.append(f"{where}: the study's title is not shown")
            elif "/tmp/" in text:
                problems.append(f"{where}: temporary paths in the notebook with code")
            name = path.replace("/", "__").removesuffix(".html")
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=width == 1280)
        page.close()
        assert not foreign, f"pages fetched from the network: {foreign[:5]}"
        assert not errors, errors
    assert not problems, "\n".join(problems)


def test_index_links_and_exports(served, browser):
    base, out = served
    page = browser.new_page()
    page.goto(f"{base}/index.html")
    studies = page.locator("section.study").count()
    assert studies == len(list(PARAMS.glob("*.yaml")))
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for href in hrefs:
        resp = page.request.get(href)
        assert resp.ok and len(resp.body()) > 100, href
    for doc_path in sorted(out.glob("*/results.json")):
        folder = doc_path.parent
        slug = folder.name
        pdf = folder / f"{slug}.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-", slug
        assert f"{base}/{slug}/{slug}.pdf" in hrefs and f"{base}/{slug}/tables.xlsx" in hrefs
        from openpyxl import load_workbook
        assert len(load_workbook(folder / "tables.xlsx").sheetnames) >= 2, slug
        pngs = sorted(p.stem for p in (folder / "figures").glob("*.png"))
        assert pngs and pngs == sorted(p.stem for p in (folder / "figures").glob("*.svg")), slug
    page.close()


def test_one_tab_prints_each_page_its_own_pdf():
    """The run's browser prints every report in one tab: each PDF is of its own page, never the last one."""
    _need_chromium()
    from cxlab.batch.pdf import Browser, chromium

    browser = Browser(chromium() or CHROMIUM)
    try:
        titles = ["Loyalty &amp; churn", "Retention by tier", "Loyalty &amp; churn"]
        pdfs = [browser.print_page(f"<html><head><title>{t}</title></head><body><h1>{t}</h1></body></html>")
                for t in titles]
        left = list(Path(browser.tmp).glob("report-*.html"))
    finally:
        browser.close()
    for title, data in zip(titles, pdfs):
        assert data[:5] == b"%PDF-"
        assert f"/Title ({title.replace('&amp;', '&')})".encode() in data, title
    assert not left  # each page's file is removed once printed


# --- issue 24: PDFs that lose nothing, words that stay whole, charts legible on a phone -----------------------

def _pdf_text(path: Path) -> str:
    import unicodedata

    from pypdf import PdfReader
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return unicodedata.normalize("NFKC", text).replace("\u2010", "-").replace("\u2011", "-")


def _reports(out: Path) -> list[str]:
    return [p.parent.name for p in sorted(out.glob("*/results.json"))]


def test_pdfs_keep_every_table_column_and_print_header_footer(served):
    """Every word of every header cell of every table is in the PDF's text, as many times as the tables have
    it (a column cut off at the page edge loses its header); each page has the study, the run date and
    "Page x of y"; the provenance box prints open."""
    import unicodedata
    from collections import Counter

    from bs4 import BeautifulSoup
    from pypdf import PdfReader

    _, out = served
    problems, landscape = [], 0
    for slug in _reports(out):
        pdf = out / slug / f"{slug}.pdf"
        text = _pdf_text(pdf)
        pages = PdfReader(pdf).pages
        landscape += sum(p.mediabox.width > p.mediabox.height for p in pages)
        soup = BeautifulSoup((out / slug / f"{slug}.html").read_text(encoding="utf-8"), "html.parser")
        wanted = Counter(w for th in soup.select("table th")
                         for w in unicodedata.normalize("NFKC", th.get_text(" ")).split())
        missing = wanted - Counter(text.split())
        if missing:
            problems.append(f"{slug}.pdf lacks header words {dict(missing)}")
        footers = re.findall(r"Page (\d+) of (\d+)", text)
        if [int(a) for a, _ in footers] != list(range(1, len(pages) + 1)) or {b for _, b in footers} != {str(len(pages))}:
            problems.append(f"{slug}.pdf footers {footers[:3]}... for {len(pages)} pages")
        title = json.loads((out / slug / "results.json").read_text())["title"]
        if text.count(" ".join(title.split())) < len(pages) or len(re.findall(r"Run \d{4}-\d\d-\d\d \d\d:\d\d", text)) < len(pages):
            problems.append(f"{slug}.pdf: not every page has the study's title and run date in its header")
        if "study file" not in text or "packages" not in text:
            problems.append(f"{slug}.pdf: the provenance box printed folded")
    assert not problems, "\n".join(problems)
    assert landscape >= 1  # the wide tables of the default studies get landscape pages


_SPLIT_WORDS = """() => {
  const split = [];
  for (const th of document.querySelectorAll('table th')) {
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


def test_no_header_word_is_split_across_lines(served, browser):
    """At 1,280 and 390 px every word of every table header stays on one line (tables wrap at spaces; a wide
    table scrolls instead of breaking words)."""
    base, out = served
    problems = []
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        for slug in _reports(out):
            page.goto(f"{base}/{slug}/{slug}.html")
            split = page.evaluate(_SPLIT_WORDS)
            if split:
                problems.append(f"{slug} at {width} px: words split across lines {split[:6]}")
        page.close()
    assert not problems, "\n".join(problems)


_PHONE = """() => {
  const charts = Array.from(document.querySelectorAll('img.cxlab-figure')).map(img => {
    const pt = parseFloat(img.dataset.textPt), laid = parseFloat(img.getAttribute('width'));
    return {pt, px: pt * 100 / 72 * img.getBoundingClientRect().width / laid, alt: img.alt.slice(0, 40)};
  });
  const tables = Array.from(document.querySelectorAll('table')).filter(t => t.scrollWidth > t.clientWidth + 1)
    .map(t => { const s = getComputedStyle(t);
                return {overflow: s.overflowX, cue: s.backgroundImage.includes('gradient'), id: t.id}; });
  return {charts, tables};
}"""


def test_phone_charts_stay_legible_and_wide_tables_scroll_with_a_cue(served, browser):
    """At 390 px the smallest text of every chart is drawn at least 8 px tall (the chart keeps its width and
    scrolls), and every table wider than the screen scrolls inside its box with a shadow cue at the edge."""
    base, out = served
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems, scrolled = [], 0
    for slug in _reports(out):
        page.goto(f"{base}/{slug}/{slug}.html")
        found = page.evaluate(_PHONE)
        for chart in found["charts"]:
            if not chart["pt"] or chart["px"] < 8 - 1e-6:
                problems.append(f"{slug}: chart '{chart['alt']}' text at {chart['px']:.1f} px")
        for table in found["tables"]:
            scrolled += 1
            if table["overflow"] not in ("auto", "scroll") or not table["cue"]:
                problems.append(f"{slug}: table {table['id']} is cut off or scrolls without a cue {table}")
        if not found["charts"]:
            problems.append(f"{slug}: no charts found")
    page.close()
    assert not problems, "\n".join(problems)
    assert scrolled > 0  # the default reports have tables wider than a phone


def test_methods_page_beside_the_index_and_every_method_link_resolves(served, browser):
    """methods.html is published beside the index; each report's Methods section links every method it names
    to an anchor that exists there (followed in the browser: the target element is on the page)."""
    from bs4 import BeautifulSoup

    base, out = served
    ids = {el["id"] for el in BeautifulSoup((out / "methods.html").read_text(encoding="utf-8"),
                                             "html.parser").select("[id]")}
    page = browser.new_page()
    checked = 0
    for slug in _reports(out):
        soup = BeautifulSoup((out / slug / f"{slug}.html").read_text(encoding="utf-8"), "html.parser")
        links = [a["href"] for a in soup.select('a[href^="../methods.html#"]')]
        assert len(links) >= 3, slug
        assert {h.split("#", 1)[1] for h in links} <= ids, (slug, set(links) - ids)
        href = links[0]
        page.goto(f"{base}/{slug}/{slug}.html")
        page.click(f'a[href="{href}"]')
        page.wait_for_load_state("load")
        assert page.url == f"{base}/methods.html#{href.split('#', 1)[1]}"
        assert page.evaluate("document.getElementById(location.hash.slice(1)) !== null")
        checked += len(links)
    page.close()
    assert checked > 20


def test_each_figure_reads_the_same_in_headline_index_tables_and_xlsx(served, browser):
    """One format per figure kind: each study's lead headline figure is written the same way in the report's
    headline, the index and (R², NPS) the report's tables, and tables.xlsx stores it as a number whose Excel
    format reads the same."""
    from openpyxl import load_workbook

    from cxlab import fmt
    from cxlab.batch.index import format_value

    base, out = served
    page = browser.new_page()
    page.goto(f"{base}/index.html")
    index_text = page.evaluate("document.body.innerText")
    problems = []
    for slug in _reports(out):
        doc = json.loads((out / slug / "results.json").read_text())
        name, spec = next(iter(doc["headline"]["figures"].items()))
        shown = format_value(spec)
        if shown not in doc["headline"]["text"]:
            problems.append(f"{slug}: {name} reads {shown!r} in the index but not so in {doc['headline']['text']!r}")
        if shown not in index_text:
            problems.append(f"{slug}: {name} {shown!r} not in the index")
    drivers = json.loads((out / "drivers" / "results.json").read_text())["results"]
    page.goto(f"{base}/drivers/drivers.html")
    cells = page.evaluate("Array.from(document.querySelectorAll('table')).flatMap(t => { const h = Array.from("
                          "t.querySelectorAll('thead th')).map(c => c.innerText.trim()); const i = h.indexOf('R²');"
                          " return i < 0 ? [] : Array.from(t.querySelectorAll('tbody tr')).map(r => "
                          "r.children[i].innerText.trim()); })")
    if cells != [fmt.number(drivers["r2"], 2)]:
        problems.append(f"drivers: the R² column reads {cells}, the headline {fmt.number(drivers['r2'], 2)}")
    book = load_workbook(out / "drivers" / "tables.xlsx")
    r2 = [(c.value, c.number_format) for ws in book.worksheets for col in ws.iter_cols()
          if col[0].value == "R²" for c in col[1:]]
    if r2 != [(pytest.approx(drivers["r2"]), "#,##0.00")]:
        problems.append(f"drivers: tables.xlsx R² {r2}")
    metrics = json.loads((out / "metrics" / "results.json").read_text())["results"]["overall"]["nps"]
    book = load_workbook(out / "metrics" / "tables.xlsx")
    nps = [(c.value, c.number_format) for ws in book.worksheets[:1] for col in ws.iter_cols()
           if col[0].value == "NPS" for c in col[1:2]]
    if nps != [(pytest.approx(100 * metrics["nps"]), "+0;-0;0")]:
        problems.append(f"metrics: tables.xlsx NPS {nps} for {metrics['nps']}")
    page.close()
    assert not problems, "\n".join(problems)


def test_leftovers_no_sphinx_markup_no_index_name_rows_and_promised_tables(served):
    """No Sphinx role (":func:`premium`") in any page; every table has one header row (no pandas index-name
    row); the loyalty report shows the rows each outcome could use, as its text promises."""
    from bs4 import BeautifulSoup

    _, out = served
    problems = []
    for slug in _reports(out):
        soup = BeautifulSoup((out / slug / f"{slug}.html").read_text(encoding="utf-8"), "html.parser")
        text = soup.get_text(" ")
        roles = re.findall(r":(?:func|class|meth|mod|data|attr):", text)
        if roles:
            problems.append(f"{slug}: Sphinx markup {roles[:3]}")
        for table in soup.select("table.cxlab-table"):
            rows = table.select("thead tr")
            if len(rows) != 1:
                problems.append(f"{slug}: table {table.get('id')} has {len(rows)} header rows")
        if slug.startswith("loyalty"):
            headers = {th.get_text(" ", strip=True) for th in soup.select("th")}
            if "rows each outcome could use" in text and not {"rows used", "rows dropped"} <= headers:
                problems.append(f"{slug}: promises the rows each outcome could use, shows no such table")
    assert not problems, "\n".join(problems)
