"""`cxlab run` end to end on the leaders study: the default study, a wide CSV study with a benchmark file,
and a bad input that fails without replacing the last good report."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import PARAMS, check_results_doc, run_cli

from cxlab import synth
from cxlab.params import load_study_file
from cxlab.record import to_json
from cxlab.studies.leaders import analysis as L_analysis
from cxlab.studies.leaders import load as L_load

pytestmark = pytest.mark.slow


def test_default_leaders_study_end_to_end(tmp_path):
    out = tmp_path / "out"
    res = run_cli("run", str(PARAMS / "leaders.yaml"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    folder = out / "leaders"
    for name in ("leaders.ipynb", "leaders.html", "leaders-code.html", "results.json"):
        assert (folder / name).is_file(), name
    doc = check_results_doc(folder / "results.json", "leaders", "leaders")
    results = doc["results"]
    assert set(results) >= {"periods", "summary", "sensitivity", "excluded"}
    # the notebook's figures are the package's figures on the same study
    study = load_study_file(PARAMS / "leaders.yaml")
    direct = to_json(L_analysis.analyze(L_load.read(study, PARAMS), study).results)
    assert results["summary"] == direct["summary"]
    assert results["periods"] == direct["periods"]
    assert results["sensitivity"] == direct["sensitivity"]
    assert results["summary"]["benchmark_cumulative"] is not None
    # five sectors: the headline is the sector-adjusted comparison (issue 20), the pooled one a description
    assert results["summary"]["adjustment"] == "sector-period"
    assert doc["headline"]["text"].startswith("Over 2011-2020, comparing each company with its sector in the same "
                                              "period, CX leaders grew faster than CX laggards (sector-adjusted, "
                                              "company-clustered")
    html = (folder / "leaders.html").read_text()
    assert html.count("data:image/png;base64") >= 3 and "not a causal effect" in html
    # companies and rows counted apart (the generator's n counts companies)
    assert "300 companies, seed 2026" in html and "300 rows" not in html
    assert "3,000 rows (one per company-period)" in html and "3,000 company-periods from 300 companies" in html


def _wide_files(folder, bad: bool = False):
    frame = synth.generate("panel", 40, 3, periods=5)
    scores = frame.pivot(index="company", columns="period", values="cx_score")
    scores.insert(0, "Industry", frame.groupby("company")["sector"].first())
    values = frame.pivot(index="company", columns="period", values="value")
    if bad:
        values = values.rename(columns={2013: "FY2013"})
    scores.rename_axis("Company").reset_index().to_csv(folder / "scores.csv", index=False)
    values.rename_axis("Company").reset_index().to_csv(folder / "values.csv", index=False)
    bench = synth.generate("panel", None, 3, periods=5, part="benchmark")
    bench.rename(columns={"period": "Year", "value": "Index"}).to_csv(folder / "index.csv", index=False)


def test_wide_study_then_bad_input_keeps_last_good_report(tmp_path, write_study):
    _wide_files(tmp_path)
    study = {"study": "wide", "notebook": "leaders", "layout": "wide",
             "data": {"scores": "scores.csv", "values": "values.csv",
                      "columns": {"company": "Company", "sector": "Industry"}},
             "benchmark": {"path": "index.csv", "columns": {"period": "Year", "value": "Index"}},
             "within": "sector", "bootstrap": {"resamples": 1000, "seed": 1}}
    path = write_study(study)
    out = tmp_path / "out"
    res = run_cli("run", str(path), "--out", str(out))
    assert res.returncode == 0, res.stderr
    good = check_results_doc(out / "wide" / "results.json", "wide", "leaders")
    assert set(good["provenance"]["inputs"]) == {"scores.csv", "values.csv", "index.csv"}
    assert len(good["results"]["periods"]) >= 1
    _wide_files(tmp_path, bad=True)
    res = run_cli("run", str(path), "--out", str(out))
    assert res.returncode != 0
    failed = check_results_doc(out / "wide.failed" / "results.json", "wide", "leaders", status="failed")
    assert "values.csv, column 'FY2013': column name is not an integer period" in failed["error"]
    kept = json.loads((out / "wide" / "results.json").read_text())
    assert kept["status"] == "ok" and kept["results"] == good["results"]


@pytest.mark.parametrize("rows,needle", [
    ([("A", 2011, 50, 10), ("A", 2011, 60, 11)], "1 (company, period) keys appear more than once"),
    ([("A", 2011, 50, 10), ("B", 2011, 60, 11), ("A", 2012, 55, 12)], "fewer than 4 eligible companies"),
])
def test_bad_long_inputs_fail_with_one_line(tmp_path, write_study, rows, needle):
    pd.DataFrame(rows, columns=["company", "period", "cx_score", "value"]).to_csv(tmp_path / "p.csv", index=False)
    path = write_study({"study": "bad", "notebook": "leaders", "data": {"path": "p.csv"},
                        "bootstrap": {"resamples": 100}})
    res = run_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert res.returncode != 0
    failed = check_results_doc(tmp_path / "out" / "bad.failed" / "results.json", "bad", "leaders", status="failed")
    assert needle in failed["error"] and "\n" not in failed["error"].strip()
