"""Data sources (DESIGN section 3): every format gives the CSV's figures; labels; one-line errors; cxlab new."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml
from conftest import run_cli
from formats_data import FORMATS, QUESTIONS, responses, survey, write

from cxlab.errors import DataError, StudyFileError
from cxlab.params import load_study_file, parse_study
from cxlab.paths import shown
from cxlab.registry import STUDIES
from cxlab.scaffold import new_study
from cxlab.sources import read_source

STUDY_KEYS = {
    "loyalty": {"notebook": "loyalty", "experience": {"scale": [1, 5], "tiers": None},
                "outcomes": ["repurchase", "recommend"],
                "columns": {"experience": "Q1", "repurchase": "rebuy"}},
    "retention": {"notebook": "retention", "experience": {"scale": [1, 5], "tiers": {"low": [1, 2], "high": [3, 5]}},
                  "time_unit": "months", "horizons": [12], "covariates": ["channel"], "value_per_period": "charge",
                  "columns": {"experience": "Q1", "duration": "tenure", "event": "churned"}},
    "metrics": {"notebook": "metrics", "segments": ["channel"], "columns": {"nps": "likely"}},
}
#: the file each study reads: the customer survey, or the NPS answers (a separate export)
FRAMES = {"loyalty": "survey", "retention": "survey", "metrics": "responses"}


def study_for(name: str, data: dict, folder):
    keys = dict(STUDY_KEYS[name])
    raw = {"study": f"{name}-t", **{k: v for k, v in keys.items() if k != "columns"},
           "data": {**data, "columns": keys["columns"]}}
    return parse_study(raw, base_dir=folder)


def figures(name: str, study, folder) -> tuple[dict, object]:
    parts = STUDIES[name]
    frame, summary = parts.part("load").read(study, folder)
    return json.loads(json.dumps(parts.part("analysis").analyze(frame, study).results)), summary


def _write_all(frame, tmp_path_factory, prefix=""):
    out = {}
    for fmt in FORMATS:
        folder = tmp_path_factory.mktemp(prefix + fmt)
        out[fmt] = (write(frame, fmt, folder), folder)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return _write_all(survey(), tmp_path_factory)


@pytest.fixture(scope="module")
def response_files(tmp_path_factory):
    return _write_all(responses(), tmp_path_factory, "responses-")


@pytest.fixture(scope="module")
def every_file(files, response_files):
    return {"survey": files, "responses": response_files}


@pytest.fixture(scope="module")
def reference(every_file):
    out = {}
    for name in STUDY_KEYS:
        data, folder = every_file[FRAMES[name]]["csv"]
        out[name] = figures(name, study_for(name, data, folder), folder)[0]
    return out


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "csv"])
@pytest.mark.parametrize("name", list(STUDY_KEYS))
def test_every_format_gives_the_csv_figures(name, fmt, every_file, reference):
    data, folder = every_file[FRAMES[name]][fmt]
    got, summary = figures(name, study_for(name, data, folder), folder)
    assert got == reference[name]
    assert summary.rows_read == 900 and summary.dropped  # same rows, same drops (empty Q1 or NPS cells)


def test_reference_figures_are_the_data_s(files, reference):
    # independent count: the CSV's own repurchase rate among rated rows
    import pandas as pd
    frame = pd.read_csv(files["csv"][1] / "survey.csv").dropna(subset=["Q1"])
    rates = {r["tier"]: r for r in reference["loyalty"]["outcomes"]["repurchase"]["tiers"]}
    for tier, group in frame.groupby("Q1"):
        assert rates[f"{tier:g}"]["n"] == len(group)
        assert rates[f"{tier:g}"]["rate"] == pytest.approx((group["rebuy"] == "yes").mean(), abs=1e-12)


def test_spss_labels_name_levels_and_show_beside_ratings(files):
    data, folder = files["sav"]
    got, summary = figures("retention", study_for("retention", data, folder), folder)
    assert "web" in json.dumps(got) and "store" in json.dumps(got)  # channel levels by label, not codes 1/2/3
    got, summary = figures("loyalty", study_for("loyalty", data, folder), folder)
    # tiers: null keeps the numbers as tier names
    assert [t["tier"] for t in got["outcomes"]["repurchase"]["tiers"]] == ["1", "2", "3", "4", "5"]
    table = summary.to_frame()
    assert table.loc["experience", "label"] == QUESTIONS["Q1"]
    assert "1 = Very poor" in table.loc["experience", "value labels"] and "5 = Excellent" in summary.describe()


def test_spss_labels_become_tier_names_through_cxlab_new(files, tmp_path):
    data, folder = files["sav"]
    path, _, ok = new_study("sav-loyalty", "loyalty", str(folder / data["path"]), tmp_path / "params")
    assert ok
    study = load_study_file(path)
    assert list(study.experience.tiers) == ["Very poor", "Poor", "Fair", "Good", "Excellent"]
    got, _ = figures("loyalty", study, path.parent)
    assert [r["tier"] for r in got["outcomes"]["rebuy"]["tiers"]] == list(study.experience.tiers)


def test_qualtrics_question_texts_label_the_columns(files):
    data, folder = files["qualtrics"]
    _, summary = figures("loyalty", study_for("loyalty", data, folder), folder)
    assert summary.labels == {"experience": QUESTIONS["Q1"], "repurchase": QUESTIONS["rebuy"],
                              "recommend": QUESTIONS["recommend"]}
    assert summary.rows_read == 900  # the question-text and ImportId rows are not data


def test_sql_names_its_files_in_the_fingerprint(files):
    from cxlab.sources import input_files
    data, folder = files["sql-parquet"]
    study = study_for("loyalty", data, folder)
    assert input_files(study.data, folder) == [f"extract/part-{i}.parquet" for i in range(3)]
    data, folder = files["sql-duckdb"]
    assert input_files(study_for("loyalty", data, folder).data, folder) == ["warehouse.duckdb"]


@pytest.mark.parametrize("bad", [
    {"path": "survey.csv", "sheet": "x"}, {"path": "survey.csv", "sql": "select 1"},
    {"database": "w.duckdb", "path": "survey.csv"}, {"path": "survey.parquet", "format": "qualtrics"},
    {"sql": "  "}])
def test_source_keys_are_validated(bad):
    with pytest.raises(StudyFileError) as err:
        parse_study({"study": "t", "notebook": "loyalty", "outcomes": ["a"], "data": bad}, check_files=False)
    assert "key 'data'" in str(err.value) and "\n" not in str(err.value)


CORRUPT = {"xlsx": ("survey.xlsx", {}, "cannot be read as an Excel workbook"),
           "sav": ("survey.sav", {}, "cannot be read as an SPSS file"),
           "dta": ("survey.dta", {}, "cannot be read as a Stata file"),
           "qualtrics": ("survey.csv", {"format": "qualtrics"}, "is not a Qualtrics export"),
           "parquet": ("survey.parquet", {}, "cannot be read as Parquet")}


@pytest.mark.parametrize("fmt", list(CORRUPT))
def test_a_corrupt_file_gives_one_line(fmt, tmp_path):
    name, extra, needle = CORRUPT[fmt]
    (tmp_path / name).write_text("Q1,rebuy\n3,yes\n4,no\n" if fmt == "qualtrics" else "PK\x03\x04 garbage " * 20)
    with pytest.raises(DataError) as err:
        figures("loyalty", study_for("loyalty", {"path": name, **extra}, tmp_path), tmp_path)
    msg = str(err.value)
    assert needle in msg and shown(tmp_path / name) in msg and not msg.startswith(str(tmp_path)) and "\n" not in msg


@pytest.mark.parametrize("data, needle", [
    ({"sql": "SELECT * FROM read_parquet('nowhere/*.parquet')"}, "SQL query: the query failed"),
    ({"sql": "SELEC nonsense"}, "SQL query: the query failed: Parser Error"),
    ({"sql": "SELECT 1", "database": "broken.duckdb"}, "cannot open the DuckDB database")])
def test_sql_errors_give_one_line(data, needle, tmp_path):
    (tmp_path / "broken.duckdb").write_text("not a database " * 100)
    with pytest.raises(DataError) as err:
        figures("loyalty", study_for("loyalty", data, tmp_path), tmp_path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_excel_errors_name_sheet_column_and_row(files, tmp_path):
    import pandas as pd
    frame = survey(200).astype({"Q1": object})
    frame.loc[2, "Q1"] = "great"
    data = write(frame, "xlsx", tmp_path)
    with pytest.raises(DataError) as err:
        figures("loyalty", study_for("loyalty", data, tmp_path), tmp_path)
    assert str(err.value) == f"{shown(tmp_path / 'survey.xlsx')} (sheet 'Responses'), column 'Q1', row 3 (value 'great'): " \
                             "is not numeric"
    with pytest.raises(DataError, match=r"sheet 'Answers' not found \(the workbook has: About, Responses\)"):
        figures("loyalty", study_for("loyalty", {**data, "sheet": "Answers"}, tmp_path), tmp_path)
    spec = parse_study({"study": "t", "notebook": "loyalty", "outcomes": ["note"], "data": {"path": "survey.xlsx"}},
                       base_dir=tmp_path).data
    first, _ = read_source(spec, tmp_path)
    assert list(first.columns) == ["note"]  # default: the first sheet
    assert pd.api.types.is_object_dtype(first["note"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_cxlab_new_maps_each_format(fmt, files, tmp_path):
    data, folder = files[fmt]
    if "sql" in data:
        if (folder / "extract").is_dir():  # a query reads only files in the study's folder
            shutil.copytree(folder / "extract", tmp_path / "extract")
        path, summary, ok = new_study("s", "retention", None, tmp_path, sql=data["sql"],
                                      database=str(folder / data["database"]) if "database" in data else None)
    else:
        path, summary, ok = new_study("s", "retention", str(folder / data["path"]), tmp_path,
                                      sheet=data.get("sheet"))
    assert ok, summary
    written = yaml.safe_load(path.read_text())
    assert written["data"]["columns"]["experience"] == "Q1"
    assert written["data"]["columns"]["duration"] == "tenure" and written["data"]["columns"]["event"] == "churned"
    assert written["covariates"] == ["channel"] and written["value_per_period"] == "charge"
    assert written["data"].get("format") == ("qualtrics" if fmt == "qualtrics" else None)
    if fmt == "qualtrics":
        assert "#   ResponseId:" in path.read_text()  # metadata columns are commented, not mapped
    with pytest.raises(StudyFileError, match="already exists"):
        new_study("s", "retention", str(files["csv"][1] / "survey.csv"), tmp_path)


def test_cxlab_new_and_validate_on_the_command_line(files, tmp_path):
    data, folder = files["sav"]
    res = run_cli("new", "shop", "--notebook", "loyalty", "--data", str(folder / "survey.sav"),
                  "--params", str(tmp_path), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "it validates" in res.stdout
    text = (tmp_path / "shop.yaml").read_text()
    assert 'outcomes: ["rebuy", "recommend", "churned"]' in text and '    "Very poor": [1, 1]' in text
    again = run_cli("new", "shop", "--notebook", "loyalty", "--data", str(folder / "survey.sav"),
                    "--params", str(tmp_path), timeout=120)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert (tmp_path / "shop.yaml").read_text() == text
    shown = run_cli("validate", str(tmp_path / "shop.yaml"), timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "experience" in shown.stdout and "Overall, how satisfied" in shown.stdout and "Very poor" in shown.stdout


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_declares_its_canonical_columns(name):
    from cxlab.params import Column
    columns = STUDIES[name].part("spec").COLUMNS
    assert columns and all(isinstance(c, Column) for c in columns)


@pytest.mark.slow
def test_an_spss_study_runs_end_to_end_with_its_labels(files, tmp_path):
    data, folder = files["sav"]
    assert new_study("spss-shop", "loyalty", str(folder / "survey.sav"), tmp_path / "params")[2]
    res = run_cli("run", str(tmp_path / "params" / "spss-shop.yaml"), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "out" / "spss-shop" / "results.json").read_text())
    assert [t["tier"] for t in doc["results"]["outcomes"]["rebuy"]["tiers"]][0] == "Very poor"
    assert "survey.sav" in " ".join(doc["provenance"]["inputs"])
    html = (tmp_path / "out" / "spss-shop" / "spss-shop.html").read_text()
    assert "Overall, how satisfied are you with us?" in html


def test_cxlab_new_drafts_a_metrics_study_with_its_cohort_ids(tmp_path):
    from cxlab import synth
    synth.generate("survey", 2_000, 1).to_csv(tmp_path / "answers.csv", index=False)
    path, summary, ok = new_study("m", "metrics", str(tmp_path / "answers.csv"), tmp_path)
    assert ok, summary
    study = load_study_file(path)
    assert study.data.columns["customer_id"] == "customer_id" and "response_id" not in study.data.columns.values()
    assert list(study.segments) == ["plan", "region", "channel"]


def test_cxlab_new_drafts_a_drivers_study_from_continuous_scores(tmp_path):
    from cxlab import synth
    synth.generate("drivers", 800, 1).to_csv(tmp_path / "drivers.csv", index=False)
    path, summary, ok = new_study("d", "drivers", str(tmp_path / "drivers.csv"), tmp_path)
    assert ok, summary
    study = load_study_file(path)
    assert study.data.columns["outcome"] == "satisfaction"
    assert set(study.driver_columns().values()) == {"product_quality", "value_for_money", "support", "delivery",
                                                     "website", "billing"}   # not response_id, not recommend
    lo, hi = study.drivers_scale
    frame = pd.read_csv(tmp_path / "drivers.csv")
    assert lo <= frame["support"].min() and hi >= frame["delivery"].max()


def test_cxlab_new_writes_a_valid_mapping_even_when_nothing_maps(tmp_path):
    pd.DataFrame({"a": ["x", "y"] * 20, "b": ["u", "v"] * 20}).to_csv(tmp_path / "odd.csv", index=False)
    path, summary, ok = new_study("o", "drivers", str(tmp_path / "odd.csv"), tmp_path)
    assert not ok
    text = path.read_text()
    assert "columns: {}" in text and "Input should be a valid dictionary" not in summary
