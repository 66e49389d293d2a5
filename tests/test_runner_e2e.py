"""`cxlab run` end to end with real kernels: files, results.json, index links, failures, atomic publishing."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
from conftest import PARAMS, check_results_doc, run_cli

from cxlab.batch.execute import WORK_PREFIX


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


def links_of(path: Path) -> list[str]:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p.links


def test_loyalty_run_end_to_end(tmp_path):
    out = tmp_path / "out"
    res = run_cli("run", str(PARAMS / "loyalty.yaml"), str(PARAMS / "examples" / "telco-loyalty.yaml"),
                  "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert str(out / "index.html") in res.stdout
    for study in ("loyalty", "telco-loyalty"):
        folder = out / study
        for name in (f"{study}.ipynb", f"{study}.html", f"{study}-code.html", "results.json"):
            assert (folder / name).is_file(), name
        doc = check_results_doc(folder / "results.json", study, "loyalty")
        assert doc["results"]["outcomes"]["repurchase"]["tiers"]
        report = (folder / f"{study}.html").read_text()
        assert "<img" in report and "data:image/png;base64" in report
        assert not re.search(r"""(src|href)=["']https?://""", report), "report fetches from the network"
        assert "Provenance" in report and "parse_study" not in report  # code hidden
        assert "parse_study" in (folder / f"{study}-code.html").read_text()
        stored = (folder / f"{study}.ipynb").read_text()  # reruns in JupyterLab: no temporary file of the run
        assert WORK_PREFIX not in stored and "results_path = None" in stored
    telco = json.loads((out / "telco-loyalty" / "results.json").read_text())
    assert set(telco["provenance"]["inputs"]) == {"data/telco-survey.csv"}
    assert [t["tier"] for t in telco["results"]["outcomes"]["repurchase"]["tiers"]] == ["detractor", "passive", "promoter"]
    assert telco["results"]["n"] == 2000 - 15  # 15 empty ratings dropped
    repurchase = telco["results"]["outcomes"]["repurchase"]
    assert repurchase["n_used"] + repurchase["n_dropped"] == 2000 and repurchase["n_dropped"] >= 15
    links = [l for l in links_of(out / "index.html") if not l.startswith(("#", "data:"))]
    assert len(links) >= 8 and {f"{s}/{s}.html" for s in ("loyalty", "telco-loyalty")} <= set(links)
    for link in links:
        assert (out / link).is_file(), link
    assert "of customers who rated 5 repurchased" in (out / "index.html").read_text()  # wave-2 headline wording


def test_failed_study_keeps_last_good_report(tmp_path, write_study):
    data = tmp_path / "survey.csv"
    pd.DataFrame({"Score": [1, 2, 3, 4, 5] * 20, "Bought": ["yes", "no"] * 50}).to_csv(data, index=False)
    study = write_study({"study": "mine", "notebook": "loyalty", "data": {"path": "survey.csv",
                         "columns": {"experience": "Score", "repurchase": "Bought"}}, "outcomes": ["repurchase"]})
    out = tmp_path / "out"
    assert run_cli("run", str(study), "--out", str(out)).returncode == 0
    good = (out / "mine" / "results.json").read_text()
    good_target = (out / "mine").resolve()

    frame = pd.read_csv(data)
    frame.loc[6, "Bought"] = "perhaps"
    frame.to_csv(data, index=False)
    res = run_cli("run", str(study), "--out", str(out))
    assert res.returncode == 1
    line = [l for l in res.stderr.splitlines() if l.startswith("mine: failed")]
    assert len(line) == 1
    # the data file named as the study file reads it, relative to the study's folder (issue 24 item 8)
    assert "DataError: survey.csv, column 'Bought', row 7 (value 'perhaps'): is not binary" in line[0]
    assert str(tmp_path) not in line[0]
    assert (out / "mine" / "results.json").read_text() == good and (out / "mine").resolve() == good_target
    failed = check_results_doc(out / "mine.failed" / "results.json", "mine", "loyalty", status="failed")
    assert "is not binary" in failed["error"]
    nb = json.loads((out / "mine.failed" / "mine.ipynb").read_text())
    assert any(o.get("ename") == "DataError" for c in nb["cells"] for o in c.get("outputs", []))
    index = (out / "index.html").read_text()
    assert "is not binary" in index and "mine.failed/mine.ipynb" in index and "mine/mine.html" in index

    frame.loc[6, "Bought"] = "no"
    frame.to_csv(data, index=False)
    assert run_cli("run", str(study), "--out", str(out)).returncode == 0
    assert not (out / "mine.failed").exists()
    assert len(list((out / ".reports").iterdir())) == 1  # old reports collected


def test_bad_data_in_a_real_run_names_column_and_row(tmp_path, write_study):
    (tmp_path / "d.csv").write_text("experience,repurchase\n1,0\n9,1\n")
    study = write_study({"study": "s", "notebook": "loyalty", "data": {"path": "d.csv"}, "outcomes": ["repurchase"]})
    res = run_cli("run", str(study), "--out", str(tmp_path / "o"))
    assert res.returncode == 1
    assert "column 'experience', row 2 (value '9'): is outside the scale [1, 5]" in res.stderr
    assert not (tmp_path / "o" / "s").exists()


def test_results_schema_rejects_what_design_forbids():
    from cxlab.record import validate_results

    good = {"study": "s", "notebook": "loyalty", "status": "failed", "error": "DataError: x",
            "provenance": {"parameters": {}, "inputs": {"d.csv": "0" * 64}, "packages": {"pandas": "2.3.3"},
                           "started": "t0", "ended": "t1"}, "results": None}
    assert validate_results(good) == []
    assert any("'error' is a required property" in p for p in validate_results({**good, "error": None} | {}) +
               validate_results({k: v for k, v in good.items() if k != "error"}))
    assert validate_results({**good, "study": "bad slug"})
    assert validate_results({**good, "provenance": {**good["provenance"], "inputs": {"d.csv": "abc"}}})
    ok = {**good, "status": "ok", "results": {"outcomes": {"buy": {"tiers": [], "top_vs_bottom": {}, "chi2": {},
                                                                      "trend": {}, "logit": {}}}}}
    problems = validate_results(ok)
    assert any("results/outcomes/buy/tiers" in p for p in problems)
