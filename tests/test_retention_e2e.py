"""`cxlab run` on retention studies end to end: the default study, a CSV with dates, bad input, no events."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from conftest import PARAMS, check_results_doc, run_cli

from cxlab.synth.lifecycles import TRUTH, lifecycles


def test_default_study_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("run", str(PARAMS / "retention.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = check_results_doc(out / "retention" / "results.json", "retention", "retention")
    r = doc["results"]
    assert [t["tier"] for t in r["tiers"]] == ["1", "2", "3", "4", "5"]
    assert r["cox"]["ci_low"] <= TRUTH["hazard_ratio"] <= r["cox"]["ci_high"]
    assert r["cox"]["penalizer"] == 0 and r["cox"]["separation"] is False and 0 <= r["cox"]["ph_p"] <= 1
    assert r["logrank"]["dof"] == 4 and r["logrank"]["p"] == 0 and r["logrank"]["log10_p"] < -300
    assert r["rmst_tau"] == 60 and r["value"]["gain_at_best_retention"]["value"] > 0
    assert r["rmst_tau_requested"] == 60 and r["cox"]["ph_violated"] is False
    assert r["value"]["value_unit"] == "EUR" and r["value"]["basis"] == "value within the first 60 months, undiscounted"
    assert all(t["median_ci_low"] <= t["median"] for t in r["tiers"])
    assert r["cox_covariates"]["reference_levels"] == {"channel": "web"}
    assert "stayed" in doc["headline"]["text"] and "95% CI" in doc["headline"]["text"]
    for name in ("retention.ipynb", "retention.html"):
        assert (out / "retention" / name).is_file()


def test_csv_with_dates_then_bad_input_keeps_last_good_report(tmp_path, write_study):
    data = lifecycles(n=400, seed=3)
    csv = tmp_path / "customers.csv"
    table = pd.DataFrame({"Rating": data["experience"], "Joined": data["start_date"].dt.strftime("%Y-%m-%d"),
                          "Left": data["end_date"].dt.strftime("%Y-%m-%d").fillna("")})
    table.to_csv(csv, index=False)
    study = {"study": "churn", "notebook": "retention", "observation_end": "2025-12-31", "rmst_tau": 48,
             "data": {"path": "customers.csv",
                      "columns": {"experience": "Rating", "start_date": "Joined", "end_date": "Left"}}}
    path = write_study(study)
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = check_results_doc(out / "churn" / "results.json", "churn", "retention")
    assert doc["results"]["events"] == int(data["event"].sum())
    good_target = (out / "churn").resolve()

    table.loc[6, "Left"] = "2026-03-01"          # after observation_end: data row 7
    table.to_csv(csv, index=False)
    proc = run_cli("run", str(path), "--out", str(out))
    assert proc.returncode != 0
    failed = out / "churn.failed" / "results.json"
    doc = check_results_doc(failed, "churn", "retention", status="failed")
    assert "customers.csv" in doc["error"] and "'Left'" in doc["error"] and "row 7" in doc["error"]
    assert "after observation_end" in doc["error"]
    assert (out / "churn").resolve() == good_target            # the last good report is still published
    assert json.loads((out / "churn" / "results.json").read_text())["status"] == "ok"


def test_no_events_is_a_report_not_a_failure(tmp_path, write_study):
    pd.DataFrame({"experience": [1, 2, 3, 4, 5] * 8, "duration": np.arange(1, 41) / 2.0, "event": 0}).to_csv(
        tmp_path / "quiet.csv", index=False)
    path = write_study({"study": "quiet", "notebook": "retention", "data": {"path": "quiet.csv"}})
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = check_results_doc(out / "quiet" / "results.json", "quiet", "retention")
    r = doc["results"]
    assert r["events"] == 0 and r["cox"]["hazard_ratio"] is None and r["logrank"]["p"] is None
    assert all(t["median"] is None and t["rmst"] == r["rmst_tau"] for t in r["tiers"])
    assert any("No customer churned" in w for w in doc["warnings"])
    html = (out / "quiet" / "quiet.html").read_text(encoding="utf-8")
    assert "No customer churned" in html
