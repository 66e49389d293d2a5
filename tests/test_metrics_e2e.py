"""`cxlab run` end to end on the metrics study: the default study and the user-style example, results.json
against the schema and against the package's own figures, the report's words and figures."""
from __future__ import annotations

import pytest
from conftest import PARAMS, check_results_doc, run_cli

from cxlab.params import load_study_file
from cxlab.record import to_json
from cxlab.studies.metrics import analysis as M_analysis
from cxlab.studies.metrics import load as M_load

pytestmark = pytest.mark.slow


def test_metrics_studies_end_to_end(tmp_path):
    out = tmp_path / "out"
    res = run_cli("run", str(PARAMS / "metrics.yaml"), str(PARAMS / "examples" / "retail-metrics.yaml"),
                  "--out", str(out))
    assert res.returncode == 0, res.stderr
    folder = out / "metrics"
    for name in ("metrics.ipynb", "metrics.html", "metrics-code.html", "results.json"):
        assert (folder / name).is_file(), name
    doc = check_results_doc(folder / "results.json", "metrics", "metrics")
    study = load_study_file(PARAMS / "metrics.yaml")
    direct = to_json(M_analysis.analyze(M_load.read(study, PARAMS)[0], study).results)
    assert doc["results"] == direct
    assert doc["headline"]["text"].startswith("NPS is +")
    assert "mainly from who answered" in doc["headline"]["text"]
    html = (folder / "metrics.html").read_text()
    assert html.count("data:image/png;base64") >= 6  # 3 segments (dots and bars), trend, waterfall, cohort
    assert "The score moved mainly through the mix of who answered" in html and "among all respondents" in html
    retail = check_results_doc(out / "retail-metrics" / "results.json", "retail-metrics", "metrics")
    assert set(retail["provenance"]["inputs"]) == {"data/retail-nps-survey.csv"}
    r = retail["results"]
    assert r["overall"]["nps"]["n"] == 2400 - 25 and "n_eff" in r["overall"]["nps"]
    assert [w["wave"] for w in r["waves"]] == ["2025-03", "2025-06", "2025-09"]
    assert set(r["segments"]) == {"Store Format", "Region"} and r["mix"]["by"] == "Store Format"
    assert "mainly from change within Store Format levels" in retail["headline"]["text"]
