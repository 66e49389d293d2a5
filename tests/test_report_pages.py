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


# --- item 13: a failed study's report has the report's anatomy ----------------------------------------------

def _failed_notebook(study_dir) -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook()
    trace = ["\x1b[0;31mDataError\x1b[0m  Traceback (most recent call last)",
             f"File \x1b[0;32m{ROOT}/cxlab/data.py:215\x1b[0m, in map_columns",
             f"\x1b[0;31mDataError\x1b[0m: {study_dir}/../data/x.csv, column 'Score': column is missing"]
    nb.cells = [
        v4.new_markdown_cell("An Exception was encountered at 'In [3]'.", metadata={"tags": ["papermill-error-cell-tag"]}),
        v4.new_code_cell("data = load.read(spec)", execution_count=3, outputs=[v4.new_output(
            "error", ename="DataError", evalue=f"{study_dir}/../data/x.csv, column 'Score': column is missing <b>",
            traceback=trace)]),
        v4.new_markdown_cell("## Rates by experience tier\n\nThe first table says ..."),
    ]
    return nb


def test_a_failed_study_reads_as_a_report_with_the_traceback_folded(tmp_path, monkeypatch):
    from cxlab.batch.render import render_html

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params").mkdir()
    prov = {"study_file": "params/bad.yaml", "started": "2026-12-04T15:41:40+00:00", "seconds": 1.0}
    page = render_html(_failed_notebook(tmp_path / "params"), code=False, provenance=prov, title="Bad <study>")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", page, flags=re.S))
    for needed in ("This study failed", "What failed.", "Reading the data", "Reason.", "What to do.",
                   "cxlab validate params/bad.yaml", "cxlab run params/bad.yaml", "../data/x.csv"):
        assert needed in " ".join(text.split()), needed
    folded = re.search(r'<details class="cxlab-traceback"><summary>.*?</summary><pre>(.*?)</pre></details>', page, re.S)
    assert folded and "File cxlab/data.py:215" in folded.group(1) and "\x1b" not in folded.group(1)
    assert "An Exception was encountered" not in page and "Rates by experience tier" not in page
    assert str(tmp_path) not in page and str(ROOT) not in page
    assert "<b>" not in page and "Bad &lt;study&gt;" in page  # data-derived text stays text


def test_the_code_rendering_of_a_failed_study_keeps_the_notebook(tmp_path):
    from cxlab.batch.render import render_html

    page = render_html(_failed_notebook(tmp_path), code=True, title="T")
    assert "Rates by experience tier" in page and "This study failed" not in page


# --- item 9: the printed page's header and footer, provenance open ------------------------------------------

def test_print_header_names_study_and_run_and_footer_numbers_pages():
    from cxlab.batch.pdf import for_print, header_footer
    from cxlab.batch.render import print_meta, run_date

    assert run_date("2026-12-04T15:41:40+00:00") == "2026-12-04 15:41 UTC"
    page = f"<html><head>{print_meta('Loyalty <&> churn', {'started': '2026-12-04T15:41:40+00:00'})}</head></html>"
    options = header_footer(page)
    assert options["displayHeaderFooter"] and options["preferCSSPageSize"]
    assert "Loyalty &lt;&amp;&gt; churn" in options["headerTemplate"] and "<&>" not in options["headerTemplate"]
    assert "Run 2026-12-04 15:41 UTC" in options["headerTemplate"]
    assert '<span class="pageNumber"></span> of <span class="totalPages"></span>' in options["footerTemplate"]
    assert for_print('<details class="cxlab-provenance"><details open>') == \
        '<details open class="cxlab-provenance"><details open>'


# --- item 12: one format per figure kind -------------------------------------------------------------------

def test_interval_bounds_read_like_their_figure_and_a_median_not_reached():
    frame = pd.DataFrame({"driver": ["a"], "share": [0.3214], "ci_low": [0.2912], "ci_high": [0.3588],
                          "r2": [0.4417], "r2_ci_low": [0.4121], "r2_ci_high": [0.4633],
                          "odds_ratio": [2.5312], "or_ci_low": [2.46], "median": [None], "median_ci_high": [None]})
    text = fmt.table_text(frame, kinds={"odds_ratio": "ratio"})
    cells = text.splitlines()[1].split()
    assert cells[1:4] == ["32%", "29%", "36%"]  # the share's interval in percent, as the share
    assert cells[4:7] == ["0.44", "0.41", "0.46"]  # R² as a proportion, as the headline writes it
    assert cells[-2:] == ["not", "reached"] and text.count("not reached") == 2


def test_a_named_index_is_a_column_not_a_row_of_index_names():
    frame = pd.DataFrame({"meaning": ["no score"], "n": [3]}, index=pd.Index(["missing"], name="reason"))
    html = fmt.table(frame).to_html()
    assert len(re.findall(r"<tr>", html.split("<tbody>")[0])) == 1  # one header row
    assert re.findall(r"<th [^>]*>([^<]*)</th>", html) == ["reason", "meaning", "n"]


# --- item 5: tables.xlsx formatted as the report ------------------------------------------------------------

def test_tables_xlsx_has_labels_number_formats_and_no_index_column(tmp_path):
    from openpyxl import load_workbook

    from cxlab import exports

    exports.clear()
    rates = pd.DataFrame({"tier": ["1", "5"], "rate": [0.1401673640167364, 0.87], "ci_low": [0.12, 0.86],
                          "p": [8.4e-229, 0.0372], "n_used": [1912, 20000], "separation": [False, True]})
    exports.add_table("rates", rates.set_index("tier"))
    scores = pd.DataFrame({"nps": [0.135], "ci_low": [0.10], "ci_high": [0.17], "diff": [0.052],
                           "median": [38.24], "r2": [0.4417]}, index=[7])  # an unnamed integer index
    exports.add_table("scores", scores, kinds={"nps": "nps", "ci_low": "nps", "ci_high": "nps", "diff": "points"},
                      units={"median": "months"}, labels={"r2": "R² (all drivers)"})
    exports.write(tmp_path)
    exports.clear()
    book = load_workbook(tmp_path / "tables.xlsx")
    ws = book["rates"]
    assert [c.value for c in ws[1]] == ["tier", "rate", "95% CI low", "p", "rows used", "separation"]
    row = ws[2]
    assert [c.value for c in row] == ["1", 0.1401673640167364, 0.12, 8.4e-229, 1912, "no"]  # values stay numeric
    assert [c.number_format for c in row[1:5]] == ["0%", "0%", '[<0.001]"< 0.001";0.000', "#,##0"]
    assert ws["D3"].value == 0.0372 and ws["D3"].number_format == "0.000"  # each p-value cell its own format
    ws = book["scores"]
    assert [c.value for c in ws[1]] == ["NPS", "95% CI low", "95% CI high", "difference", "median (months)",
                                        "R² (all drivers)"]  # no index column
    values = [c.value for c in ws[2]]
    assert values[:4] == pytest.approx([13.5, 10.0, 17.0, 5.2])  # NPS and points as the report writes them
    assert [c.number_format for c in ws[2]] == ["+0;-0;0", "+0;-0;0", "+0;-0;0",
                                                '+0.0" points";-0.0" points";0.0" points"', "#,##0.00", "#,##0.00"]


@pytest.mark.parametrize("spec, text", [
    ({"value": 0.768, "format": "pct", "half_width": 0.005}, "76.8%"),  # the headline's "76.8% (76.3% to 77.3%)"
    ({"value": 0.8715, "format": "pct", "half_width": 0.0104}, "87%"),  # "87% (86% to 88%)"
    ({"value": 0.135, "format": "nps", "half_width": 0.0114}, "+14"),  # "NPS is +14 (95% CI +12 to +15)"
    ({"value": 121.03, "format": "quantity", "unit": "EUR", "digits": 0}, "121 EUR"),
    ({"value": 19.33, "format": "quantity", "unit": "months"}, "19.3 months"),
    ({"value": 0.4369, "format": "number", "half_width": 0.026}, "0.44"),  # "R² = 0.44 (0.41 to 0.46)"
])
def test_the_index_writes_a_figure_as_its_headline_does(spec, text):
    from cxlab.batch.index import format_value

    assert format_value(spec) == text
    low, high = spec["value"] - spec.get("half_width", 0), spec["value"] + spec.get("half_width", 0)
    if spec.get("half_width") and spec["format"] in ("pct", "nps"):
        formatter = {"pct": fmt.pct, "nps": fmt.nps}[spec["format"]]
        assert fmt.interval(spec["value"], low, high, formatter).startswith(text + " (")


# --- item 13: no Sphinx markup in the ground-truth boxes --------------------------------------------------

def test_ground_truth_boxes_carry_no_sphinx_roles():
    from cxlab import synth

    texts = {name: synth.describe(name) for name in synth.NAMES}
    assert not [n for n, t in texts.items() if re.search(r":(?:func|class|meth|mod|data|attr):`", t)]
    assert "`cxlab.stats.survival.calendar_months`" in texts["lifecycles"]


# --- items 8 and 13 end to end: a user's study in its own folder, one good and one failing -------------------

@pytest.mark.slow
def test_no_machine_path_in_pages_results_or_cli_output_and_a_failed_study_reads_as_a_report(tmp_path):
    """A study in <project>/params reading ../data/*.csv, run by the real CLI from the project folder:
    neither the project's absolute path nor the checkout's appears in any page, PDF, results.json or the
    index, nor in what the CLI prints (cron mail); the failing study's page is a report with the traceback
    folded."""
    import shutil

    from conftest import run_cli

    project = tmp_path / "survey-project"
    (project / "params").mkdir(parents=True)
    (project / "data").mkdir()
    shutil.copy(ROOT / "params" / "examples" / "data" / "telco-survey.csv", project / "data")
    good = (ROOT / "params" / "examples" / "telco-loyalty.yaml").read_text().replace(
        "path: data/telco-survey.csv", "path: ../data/telco-survey.csv")
    (project / "params" / "telco.yaml").write_text(good.replace("study: telco-loyalty", "study: telco"))
    bad = good.replace("study: telco-loyalty", "study: telco-bad").replace(
        "experience: Satisfaction Score", "experience: Satisfaction Scor")
    (project / "params" / "telco-bad.yaml").write_text(bad)
    res = run_cli("run", "params/telco.yaml", "params/telco-bad.yaml", "--out", "out", cwd=project, timeout=600)
    assert res.returncode == 1, res.stdout + res.stderr
    cli = res.stdout + res.stderr
    assert "telco-bad: failed" in cli and "../data/telco-survey.csv, column 'Satisfaction Scor'" in cli, cli
    machine = [str(project), str(ROOT)]
    for where in machine:
        assert where not in cli, (where, cli)
    out = project / "out"
    texts = {"index.html": (out / "index.html").read_text(encoding="utf-8")}
    for folder in ("telco", "telco-bad.failed"):
        for path in (out / folder).iterdir():
            if path.suffix in (".html", ".json"):
                texts[f"{folder}/{path.name}"] = path.read_text(encoding="utf-8")
    from pypdf import PdfReader
    if (out / "telco" / "telco.pdf").exists():
        texts["telco.pdf"] = "\n".join(p.extract_text() for p in PdfReader(out / "telco" / "telco.pdf").pages)
    for name, text in texts.items():
        for where in machine:
            assert where not in text, (name, where)
    assert "Read 2,000 rows from ../data/telco-survey.csv" in texts["telco/telco.html"]
    failed = texts["telco-bad.failed/telco-bad.html"]
    for needed in ("This study failed", "Reading the data", "What to do", "cxlab validate params/telco-bad.yaml",
                   '<details class="cxlab-traceback">'):
        assert needed in failed, needed
    assert "An Exception was encountered" not in failed


# --- item 14: a chart is never shown so narrow that its text is under 8 px ----------------------------------

def test_chart_min_width_keeps_its_smallest_text_8_px():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cxlab import plots

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.set_title("Title", fontsize=12)
    ax.annotate("note", (0.5, 0.5), fontsize=7)
    ax.text(0.1, 0.1, "", fontsize=3)  # empty text is not drawn: it does not count
    assert plots.smallest_text_pt(fig) == 7
    # 7 pt at 100 px an inch is 7 x 100 / 72 = 9.72 px at full width (900 px): 8 px needs 900 x 8 / 9.72 = 741 px
    assert plots.min_width(900, 7) == 741
    assert plots.min_width(900, 30) == 173 and plots.min_width(300, 4) == 300 and plots.min_width(900, None) is None
    plt.close(fig)
