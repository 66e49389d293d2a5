"""Retention study: loading, bad input (one clear line naming file, column and row), study-file checks."""
from __future__ import annotations

import pandas as pd
import pytest

from cxlab.errors import DataError, StudyFileError
from cxlab.params import parse_study
from cxlab.studies.retention import load as R_load

BASE = {"id": [1, 2, 3, 4], "rating": [1, 2, 3, 5], "months": ["3", "5.5", "12", "7"], "churned": ["1", "0", "yes", "no"]}


def write(tmp_path, **changes):
    data = dict(BASE)
    data.update(changes)
    pd.DataFrame(data).to_csv(tmp_path / "c.csv", index=False)
    return parse_study({"study": "c", "notebook": "retention",
                        "data": {"path": "c.csv", "columns": {"duration": "months", "event": "churned",
                                                              "experience": "rating"}}}, base_dir=tmp_path)


def write_dates(tmp_path, joined, left, observation_end="2025-12-31"):
    pd.DataFrame({"rating": [1, 2, 3], "joined": joined, "left": left}).to_csv(tmp_path / "d.csv", index=False)
    return parse_study({"study": "d", "notebook": "retention", "observation_end": observation_end,
                        "data": {"path": "d.csv", "columns": {"start_date": "joined", "end_date": "left",
                                                              "experience": "rating"}}}, base_dir=tmp_path)


def test_good_file_loads(tmp_path):
    frame, summary = R_load.read(write(tmp_path), tmp_path)
    assert frame["duration"].tolist() == [3, 5.5, 12, 7]
    assert frame["event"].tolist() == [1, 0, 1, 0]
    assert summary.rows_used == 4


@pytest.mark.parametrize("value, row, words", [
    (["3", "", "12", "7"], 2, "is missing"),
    (["3", "5", "0", "7"], 3, "is zero"),
    (["3", "5", "12", "-2"], 4, "is negative"),
    (["3", "five", "12", "7"], 2, "is not numeric"),
])
def test_bad_durations(tmp_path, value, row, words):
    with pytest.raises(DataError) as err:
        R_load.read(write(tmp_path, months=value), tmp_path)
    msg = str(err.value)
    assert "c.csv" in msg and "'months'" in msg and f"row {row}" in msg and words in msg
    assert "\n" not in msg


@pytest.mark.parametrize("value, row", [(["1", "2", "0", "1"], 2), (["1", "0", "", "1"], 3), (["1", "0", "maybe", "1"], 3)])
def test_bad_events(tmp_path, value, row):
    with pytest.raises(DataError) as err:
        R_load.read(write(tmp_path, churned=value), tmp_path)
    msg = str(err.value)
    assert "c.csv" in msg and "'churned'" in msg and f"row {row}" in msg


def test_rating_outside_scale(tmp_path):
    with pytest.raises(DataError, match=r"'rating', row 4 \(value '9'\): is outside the scale"):
        R_load.read(write(tmp_path, rating=[1, 2, 3, 9]), tmp_path)


@pytest.mark.parametrize("joined, left, column, row, words", [
    (["2024-01-01", "2024-05-01", "2024-02-01"], ["2024-03-01", "2024-04-01", ""], "left", 2, "before the start date"),
    (["2024-01-01", "2024-05-01", "2024-02-01"], ["", "", "2026-01-15"], "left", 3, "after observation_end 2025-12-31"),
    (["2024-01-01", "2024-05-01", "2024-02-01"], ["2024-01-01", "", ""], "left", 1, "tenure is zero"),
    (["2024-01-01", "first of May", "2024-02-01"], ["", "", ""], "joined", 2, "is not a date"),
    (["2024-01-01", "2024-05-01", "2024-02-01"], ["", "31/12/2024", ""], "left", 2, "is not a date"),
    (["2024-01-01", "", "2024-02-01"], ["", "", ""], "joined", 2, "is missing"),
    (["2024-01-01", "2026-02-01", "2024-02-01"], ["", "", ""], "joined", 2, "no follow-up"),
])
def test_bad_dates(tmp_path, joined, left, column, row, words):
    with pytest.raises(DataError) as err:
        R_load.read(write_dates(tmp_path, joined, left), tmp_path)
    msg = str(err.value)
    assert "d.csv" in msg and f"'{column}'" in msg and f"row {row}" in msg and words in msg, msg


def test_dates_without_observation_end_say_what_to_set(tmp_path):
    pd.DataFrame({"experience": [1, 2], "start_date": ["2024-01-01", "2024-02-01"],
                  "end_date": ["", ""]}).to_csv(tmp_path / "d.csv", index=False)
    s = parse_study({"study": "d", "notebook": "retention", "data": {"path": "d.csv"}}, base_dir=tmp_path)
    with pytest.raises(DataError, match="set observation_end"):
        R_load.read(s, tmp_path)


def test_missing_rating_rows_are_dropped_and_counted(tmp_path):
    pd.DataFrame({"rating": ["1", "", "3", "5"], "months": [1, 2, 3, 4], "churned": [1, 0, 1, 0]}).to_csv(
        tmp_path / "c.csv", index=False)
    s = parse_study({"study": "c", "notebook": "retention", "data": {
        "path": "c.csv", "columns": {"duration": "months", "event": "churned", "experience": "rating"}}},
        base_dir=tmp_path)
    frame, summary = R_load.read(s, tmp_path)
    assert len(frame) == 3 and summary.dropped == {"missing experience": 1}


@pytest.mark.parametrize("over, key", [
    ({"observation_end": "31/12/2025"}, "observation_end"),
    ({"covariates": ["age", "age"]}, "covariates"),
    ({"covariates": ["event"]}, "covariates"),
    ({"horizons": [12, -1]}, "horizons"),
    ({"rmst_tau": 0}, "rmst_tau"),
    ({"time_unit": "years"}, "time_unit"),
])
def test_study_file_errors_name_the_key(over, key):
    raw = {"study": "x", "notebook": "retention", "data": {"synthetic": "lifecycles", "n": 500}}
    raw.update(over)
    with pytest.raises(StudyFileError, match=f"key '{key}'"):
        parse_study(raw)


def test_yaml_date_is_accepted():
    import datetime
    s = parse_study({"study": "x", "notebook": "retention", "observation_end": datetime.date(2025, 12, 31),
                     "data": {"synthetic": "lifecycles", "n": 500}})
    assert s.observation_end == "2025-12-31"


def test_categorical_covariate_and_value_column(tmp_path):
    pd.DataFrame({"rating": [1, 2, 3, 5, 4, 2], "months": [3, 5, 12, 7, 9, 4], "churned": [1, 0, 1, 0, 1, 1],
                  "plan": ["a", "b", "a", "", "b", "a"], "fee": [10, 20, 30, 40, 50, -1]}).to_csv(
        tmp_path / "c.csv", index=False)
    raw = {"study": "c", "notebook": "retention", "covariates": ["plan"],
           "data": {"path": "c.csv", "columns": {"duration": "months", "event": "churned", "experience": "rating"}}}
    frame, summary = R_load.read(parse_study(raw, base_dir=tmp_path), tmp_path)
    assert summary.dropped == {"missing plan": 1} and frame["plan"].tolist() == ["a", "b", "a", "b", "a"]
    with pytest.raises(DataError, match=r"'fee', row 6 \(value '-1'\)"):
        R_load.read(parse_study(dict(raw, value_per_period="fee"), base_dir=tmp_path), tmp_path)
