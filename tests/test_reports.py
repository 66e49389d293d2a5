"""What a reviewer reads: rendering (tags, title, contents, alt text), the index dashboard, exports, methods."""
from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from cxlab import exports
from cxlab.batch import history, index
from cxlab.batch.render import render_html
from cxlab.methods import METHODS, STUDY_METHODS, methods_markdown

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.cells = [
        v4.new_markdown_cell("*Notebook intro.*", metadata={"tags": ["remove_cell"]}),
        v4.new_code_cell('study = {"a": 1}\nstudy_dir = "."\nresults_path = None', metadata={"tags": ["parameters"]}),
        v4.new_code_cell('# Parameters\nstudy = {"title": "T", "data": {"n": 3, "seed": 1}}\n'
                         'study_dir = "/tmp/pytest-of-x/params"\nresults_path = "/tmp/cxlab-abc/recorded.json"\n',
                         metadata={"tags": ["injected-parameters"]}),
        v4.new_code_cell("x", outputs=[v4.new_output("display_data", data={"text/markdown": "## The data\n\ntext"})]),
        v4.new_code_cell("show()", outputs=[v4.new_output("display_data", data={"image/png": PNG},
                                                          metadata={"image/png": {"alt": "Bars of <rates>"}})]),
        v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(h)", outputs=[v4.new_output("stream", name="stdout",
                                                                                  text="CHECKED DUMP\n")]),
        v4.new_markdown_cell("## Methods"),
        v4.new_code_cell("plt.show()", outputs=[v4.new_output("display_data", data={"image/png": PNG})]),
        v4.new_code_cell("recorded = record(...)", metadata={"tags": ["remove_cell"]},
                         outputs=[v4.new_output("stream", name="stdout", text="RECORD PLUMBING\n")]),
    ]
    return nb


def test_report_hides_plumbing_and_has_one_title_contents_and_alt_text():
    page = render_html(_notebook(), code=False, title="Loyalty <by> rating")
    assert re.findall(r"<title>(.*?)</title>", page) == ["Loyalty &lt;by&gt; rating"]
    for hidden in ("CHECKED DUMP", "RECORD PLUMBING", "Notebook intro", "results_path", "/tmp/"):
        assert hidden not in page, hidden
    alts = re.findall(r'<img[^>]*alt="([^"]*)"', page)
    assert alts == ["Bars of &lt;rates&gt;", "Chart in the section 'Methods'"]
    toc = re.search(r'<nav [^>]*class="cxlab-toc".*?</nav>', page, re.S).group(0)  # attribute order is the sanitiser's
    assert re.findall(r'href="#([^"]+)"', toc) == ["The-data", "Methods"]
    assert page.index("cxlab-toc") < page.index('id="The-data"')


def test_code_rendering_keeps_cells_but_no_machine_paths():
    page = render_html(_notebook(), code=True, title="T")
    assert "CHECKED DUMP" in page and "Parameters injected by" in page
    assert "/tmp/" not in page and "recorded.json" not in page
    assert "<title>T (notebook with code)</title>" in page


def test_renderer_tags_checked_cells_even_untagged():
    nb = _notebook()
    nb.cells[5].metadata = {}
    assert "CHECKED DUMP" not in render_html(nb, code=False, title="T")


# --- index ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, text", [
    ({"value": 0.8715, "format": "pct"}, "87%"), ({"value": 1.091, "format": "signed_pct"}, "+109%"),
    ({"value": 4.72e-13, "format": "p"}, "p < 0.001"), ({"value": 38.2, "format": "quantity", "unit": "months"},
                                                        "38.2 months"),
    (0.8715, "0.87"), (None, "not defined"), ({"value": 12345, "format": "count"}, "12,345"),
    ({"value": 0.1423, "format": "nps"}, "+14"), ({"value": -0.3, "format": "nps"}, "-30"),
])
def test_index_values_are_formatted_with_units(raw, text):
    assert index.format_value(index.figure_spec(raw)) == text


@pytest.mark.parametrize("raw, before, text, cls", [
    ({"value": 0.70, "better": "lower", "format": "ratio", "half_width": 0.01}, 0.75, "-0.05, better", "better"),
    ({"value": 0.80, "better": "lower", "format": "ratio", "half_width": 0.01}, 0.75, "+0.05, worse", "worse"),
    ({"value": 30.0, "better": "higher", "format": "quantity", "unit": "months"}, 32.5, "-2.5 months, worse",
     "worse"),
    ({"value": 0.87, "better": "higher", "format": "pct", "half_width": 0.02}, 0.86, "+1.0 points (within the "
     "interval)", "same"),
    ({"value": 0.87, "better": "higher", "format": "pct", "half_width": 0.002}, {"value": 0.86}, "+1.0 points, "
     "better", "better"),
    (2.0, 1.0, "+1.00", "same"),  # the old form: no direction, grey
    ({"value": 0.01, "format": "p"}, 0.2, "was p = 0.20", "same"),
    ({"value": 0.5, "better": "higher"}, None, "not comparable", "same"),
    ({"value": 0.15, "better": "higher", "format": "nps", "half_width": 0.01}, 0.12, "+3.0 points, better", "better"),
])
def test_index_change_coloured_by_direction_and_interval(raw, before, text, cls):
    assert index.format_change(index.figure_spec(raw), before) == (text, cls)


@pytest.mark.parametrize("low, high, half", [(0.2, 0.6, 0.2), (None, 1.0, None), (0.1, float("nan"), None),
                                             (-3, 1, 2.0)])
def test_half_width(low, high, half):
    from cxlab.report import half_width
    assert half_width(low, high) == (pytest.approx(half) if half is not None else None)


def test_every_study_declares_its_headline_figures():
    """Each default study's headline figures carry a format the index knows (no bare numbers guessed from names)."""
    import yaml
    from cxlab.batch.index import FORMATS
    from cxlab.params import parse_study
    from cxlab.registry import STUDIES
    import importlib
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for name in STUDIES:
        spec = parse_study(yaml.safe_load((root / "params" / f"{name}.yaml").read_text()), base_dir=root / "params")
        pkg = f"cxlab.studies.{name}"
        load, analysis, narrative = (importlib.import_module(f"{pkg}.{m}") for m in ("load", "analysis", "narrative"))
        data = load.read(spec, base_dir=root / "params")
        figures = narrative.headline_figures(analysis.analyze(data[0] if isinstance(data, tuple) else data, spec))
        assert figures, name
        for key, f in figures.items():
            assert isinstance(f, dict) and f["format"] in FORMATS and f.get("better") in ("higher", "lower", None), (
                name, key)
            assert "_" not in key.split(" ")[0] or key.startswith("RMST"), (name, key)


def _doc(value, previous=None):
    doc = {"study": "s", "notebook": "loyalty", "title": "S", "status": "ok",
           "provenance": {"ended": "2026-01-02T03:04:05+00:00", "seconds": 12.3, "decision": "ran"},
           "headline": {"text": "Head.", "figures": {"hazard ratio": {"value": value, "better": "lower",
                                                                      "format": "ratio", "half_width": 0.01}}}}
    if previous is not None:
        doc["headline"]["previous"] = {"figures": {"hazard ratio": previous}, "ended": "2026-01-01T03:04:05+00:00"}
    return doc


def test_index_first_run_wording_and_plural():
    page = index.render_index([("s", _doc(0.7))])
    assert "1 study, 0 failed" in page and "first run" in page and "change since no previous run" not in page
    assert "lower is better" in page and "0.70" in page


def test_index_history_sparkline(tmp_path):
    for i, value in enumerate([0.72, 0.71, 0.70]):
        history.append_history(tmp_path, "s", _doc(value))
    runs = history.read_history(tmp_path, "s")
    assert [r["figures"]["hazard ratio"] for r in runs] == [0.72, 0.71, 0.70]
    page = index.render_index([("s", _doc(0.70, previous=0.71))], {"s": runs})
    svg = re.search(r"<svg class=\"spark\".*?</svg>", page, re.S).group(0)
    assert "last 3 runs: 0.72, 0.71, 0.70" in svg and svg.count("<polyline") == 1
    assert 'class="better"' in page and "change since the previous run (2026-01-01 03:04 UTC)" in page
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|svg)\b.*?</\1>", "", page, flags=re.S))
    assert not re.search(r"\d[eE][+-]?\d", visible)


def test_history_keeps_the_last_runs(tmp_path):
    for i in range(history.HISTORY_RUNS + 5):
        history.append_history(tmp_path, "s", _doc(float(i)))
    (tmp_path / history.HISTORY / "s.jsonl").open("a").write("not json\n")
    runs = history.read_history(tmp_path, "s")
    assert len(runs) == history.HISTORY_RUNS and runs[-1]["figures"]["hazard ratio"] == history.HISTORY_RUNS + 4


# --- exports ----------------------------------------------------------------------------------------------

def test_exports_write_every_table_and_figure(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from openpyxl import load_workbook

    from cxlab import plots

    exports.clear()
    rates = pd.DataFrame({"tier": ["1", "2"], "rate": [0.14, 0.87], "ci_low": [0.12, 0.86]}).set_index("tier")
    exports.add_table("rates by tier", rates)
    exports.add_table("a name that is far too long for an excel sheet: x", pd.DataFrame({"n": [1]}))
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    exports.add_figure("Rates by tier", *plots.figure_bytes(fig))
    written = exports.write(tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        "tables.xlsx", "figures/rates-by-tier.png", "figures/rates-by-tier.svg"}
    book = load_workbook(tmp_path / "tables.xlsx")
    assert book.sheetnames == ["rates by tier", "a name that is far too long for"]
    rows = list(book["rates by tier"].values)
    assert rows == [("tier", "rate", "95% CI low"), ("1", 0.14, 0.12), ("2", 0.87, 0.86)]
    assert (tmp_path / "figures/rates-by-tier.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "figures/rates-by-tier.svg").read_bytes()[:400]
    assert exports.read_folder(tmp_path).keys() == {"tables.xlsx", "figures/rates-by-tier.png",
                                                    "figures/rates-by-tier.svg"}
    exports.clear()


def test_figure_exports_crop_like_savefig_tight():
    """PNG and SVG come from one layout, cropped to the box ``bbox_inches="tight"`` finds (a legend outside
    the axes included), within a pixel or two of rounding."""
    import io
    import re as re_

    import matplotlib.pyplot as plt
    from PIL import Image

    from cxlab import plots

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([1, 2], [3, 4], label="a long legend label outside the axes")
    ax.set_title("A title")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    png, svg = plots.figure_bytes(fig)
    tight = io.BytesIO()
    fig.savefig(tight, format="png", dpi=plots.DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    width, height = Image.open(io.BytesIO(png)).size
    ref_width, ref_height = Image.open(tight).size
    assert abs(width - ref_width) <= 0.01 * ref_width and abs(height - ref_height) <= 0.01 * ref_height
    assert width > 6 * plots.DPI  # the legend outside the axes widens the crop beyond the figure
    svg_w, svg_h = (float(v) for v in re_.search(rb'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
    assert svg_w / 72 == pytest.approx(width / plots.DPI, abs=0.02)  # the same box, in inches
    assert svg_h / 72 == pytest.approx(height / plots.DPI, abs=0.02)
    from matplotlib.figure import Figure  # a figure made without pyplot (no Agg canvas yet) exports too
    bare = Figure(figsize=(4, 3))
    bare.subplots().plot([1, 2], [3, 4])
    png, svg = plots.figure_bytes(bare)
    assert png[:4] == b"\x89PNG" and b"<svg" in svg[:400]


# --- methods ----------------------------------------------------------------------------------------------

def _anchors(markdown: str) -> set[str]:
    from cxlab.methods import Method
    return {Method(h, "").anchor for h in re.findall(r"^#{2,3} (.+)$", markdown, re.M)}


def test_every_cited_method_is_defined_in_docs_methods():
    doc = (ROOT / "docs" / "methods.md").read_text()
    anchors = _anchors(doc)
    for study, names in STUDY_METHODS.items():
        for name in names:
            assert METHODS[name].anchor in anchors, (study, name)
    for link in re.findall(r"\]\(#([^)]+)\)", doc):
        assert link in anchors, link
    text = methods_markdown("retention")
    assert text.startswith("## Methods") and "(../methods.html#kaplan-meier-estimator)" in text


def test_methods_page_has_every_cited_anchor_and_escapes_html(tmp_path):
    """methods.html (beside the index) has an element with each cited method's anchor, and each report's
    Methods section links its methods there; raw HTML in the markdown is shown as text."""
    from cxlab.methods import page_html, write_page

    page = write_page(tmp_path).read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    for study in STUDY_METHODS:
        links = re.findall(r"\]\(\.\./methods\.html#([^)]+)\)", methods_markdown(study))
        assert links and set(links) <= ids, (study, set(links) - ids)
    assert "<title>cxlab methods</title>" in page and "Content-Security-Policy" in page
    hostile = page_html("## Hedges' `g` <b>value</b>\n\n<script>alert(1)</script>")
    assert "<script>" not in hostile and "<b>" not in hostile and "&lt;script&gt;" in hostile
    assert 'id="hedges-g-bvalueb"' in hostile


def test_readme_and_notebooks_cite_methods_not_design():
    for path in [ROOT / "README.md", *(ROOT / "notebooks").glob("*.ipynb")]:
        assert "DESIGN section" not in path.read_text(), path


@pytest.mark.parametrize("name, value, text", [("Welch p", 4.7e-13, "p < 0.001"), ("repurchase: best-tier rate", 0.8715,
                                                "87%"), ("Hedges g", 0.39, "0.39")])
def test_index_old_form_guesses_the_format_from_the_name(name, value, text):
    assert index.format_value(index.figure_spec(value, name)) == text


def test_pdf_skip_line_says_why(monkeypatch):
    from cxlab.batch import pdf
    monkeypatch.setenv("CXLAB_PDF", "0")
    assert pdf.chromium() is None and "CXLAB_PDF=0" in pdf.skipped_line()
    monkeypatch.delenv("CXLAB_PDF")
    assert "not installed" in pdf.skipped_line()
