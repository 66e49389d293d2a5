"""`cxlab run` end to end on the drivers study: the default study and the commented CSV example."""
from __future__ import annotations

import pytest
from conftest import PARAMS, check_results_doc, run_cli

from cxlab.params import load_study_file
from cxlab.record import to_json
from cxlab.studies.drivers import analysis, load

pytestmark = pytest.mark.slow


def test_default_and_example_drivers_studies_end_to_end(tmp_path):
    out = tmp_path / "out"
    res = run_cli("run", str(PARAMS / "drivers.yaml"), str(PARAMS / "examples" / "retail-drivers.yaml"),
                  "--out", str(out), "--jobs", "1")
    assert res.returncode == 0, res.stderr
    doc = check_results_doc(out / "drivers" / "results.json", "drivers", "drivers")
    results = doc["results"]
    study = load_study_file(PARAMS / "drivers.yaml")
    direct = to_json(analysis.analyze(load.read(study, PARAMS), study).results)
    assert results == direct                      # the notebook records exactly the package's figures
    assert results["n_used"] == 3000 and results["n_dropped"] == 0 and results["outcome_type"] == "continuous"
    assert [w["driver"] for w in results["weights"]] == study.drivers
    assert all(w["lmg"] is not None for w in results["weights"])
    assert doc["headline"]["text"].startswith("product_quality goes with the largest share")
    html = (out / "drivers" / "drivers.html").read_text()
    assert html.count("data:image/png;base64") >= 3
    assert "not say what improving a driver would do" in html and "fix first" in html

    retail_doc = check_results_doc(out / "retail-drivers" / "results.json", "retail-drivers", "drivers")
    assert set(retail_doc["provenance"]["inputs"]) == {"data/retail-survey.csv"}
    retail = retail_doc["results"]
    assert retail["outcome_type"] == "binary" and retail["n_dropped"] > 0
    assert retail["n_used"] + retail["n_dropped"] == 1500
    assert [w["driver"] for w in retail["weights"]][0] == "Product quality"
