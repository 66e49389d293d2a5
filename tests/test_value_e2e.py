"""`cxlab run` on value studies end to end: the default study and the shop example, and bad input that keeps the
last good report (issue 21)."""
from __future__ import annotations

import json

import pandas as pd
from conftest import PARAMS, check_results_doc, run_cli


def test_default_and_example_studies_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("run", str(PARAMS / "value.yaml"), str(PARAMS / "examples" / "shop-value.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = check_results_doc(out / "value" / "results.json", "value", "value")
    r = doc["results"]
    assert [g["group"] for g in r["groups"]] == ["detractor", "passive", "promoter"]
    assert r["difference"]["best"] == "promoter" and r["difference"]["ci_low"] > 0   # truth: promoters worth more
    assert r["holdout"]["rows"] and r["bootstrap"] == {"resamples": 100, "seed": 0, "failed": r["bootstrap"]["failed"]}
    assert "association" in doc["headline"]["text"] and "EUR" in doc["headline"]["text"]
    shop = check_results_doc(out / "shop-value" / "results.json", "shop-value", "value")["results"]
    assert [g["group"] for g in shop["groups"]] == ["Bronze", "Silver", "Gold"]
    assert shop["dropped_nonpositive"] == 3 and shop["horizon"] == 24
    for name in ("tables.xlsx", "figures/clv-by-group.png", "figures/holdout-fit.png", "figures/p-alive.png"):
        assert (out / "value" / name).is_file(), name


def test_bad_input_fails_in_one_line_and_keeps_the_last_good_report(tmp_path, write_study):
    orders = pd.read_csv(PARAMS / "examples" / "data" / "shop-orders.csv", dtype=str)
    orders = orders[~orders["Order Total (EUR)"].str.startswith("-")]
    orders.to_csv(tmp_path / "orders.csv", index=False)
    (tmp_path / "customers.csv").write_text((PARAMS / "examples" / "data" / "shop-customers.csv").read_text())
    study = {"study": "shop", "notebook": "value", "groups": ["Bronze", "Silver", "Gold"], "horizon": 12,
             "observation_end": "2025-12-31", "bootstrap": {"resamples": 20, "seed": 0},
             "data": {"path": "orders.csv", "columns": {"customer_id": "Customer", "date": "Order Date",
                                                        "amount": "Order Total (EUR)"}},
             "customers": {"path": "customers.csv", "columns": {"customer_id": "Customer",
                                                                "experience": "Loyalty Tier"}}}
    path = write_study(study)
    out = tmp_path / "out"
    proc = run_cli("run", str(path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    good = (out / "shop").resolve()
    orders.iloc[5, orders.columns.get_loc("Order Total (EUR)")] = "-20.00"     # a refund on data row 6
    orders.to_csv(tmp_path / "orders.csv", index=False)
    proc = run_cli("run", str(path), "--out", str(out))
    assert proc.returncode == 1                    # cxlab.cli.EXIT_FAILED: a study failed on its data
    doc = check_results_doc(out / "shop.failed" / "results.json", "shop", "value", status="failed")
    assert "orders.csv" in doc["error"] and "row 6" in doc["error"] and "refund" in doc["error"]
    assert (out / "shop").resolve() == good
    assert json.loads((out / "shop" / "results.json").read_text())["status"] == "ok"


def test_bad_study_file_cannot_start(tmp_path, write_study):
    study = {"study": "v", "notebook": "value", "data": {"synthetic": "transactions", "n": 200},
             "observation_end": "2025-06-30", "holdout_from": "2025-07-01"}
    proc = run_cli("run", str(write_study(study)), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2                    # cxlab.cli.EXIT_CANNOT_START: the study file is refused
    assert "holdout_from 2025-07-01 is not before observation_end" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "holdout_from" in line]) == 1
