"""Every file source read in batches (issue 22): the figures of the whole-file read, memory of one batch.

Each format of tests/formats_data.py is read in batches of a few hundred rows by
the counting loads (loyalty ``read_cells``, metrics ``read_counts``, retention
``read_counts``) and compared with the row path (``read`` then the analysis) to 1e-9.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

import formats_data as F
from conftest import assert_same_figures, run_cli
from cxlab import streaming
from cxlab.errors import DataError
from cxlab.params import parse_study
from cxlab.studies.loyalty import analysis as loyalty_analysis, load as loyalty_load
from cxlab.studies.metrics import analysis as metrics_analysis, load as metrics_load
from cxlab.studies.retention import analysis as retention_analysis, load as retention_load

FORMATS = ("csv", "xlsx", "sav", "dta", "sql-parquet", "sql-duckdb")
WHOLE_VS_BATCHES = ("read whole", "in batches")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    survey, answers = F.survey(900), F.responses(900)
    return {fmt: (F.write(survey, fmt, root / fmt), F.write(answers, fmt, root / f"m-{fmt}"), root)
            for fmt in FORMATS}


def _loyalty(data: dict) -> dict:
    return {"study": "s", "notebook": "loyalty", "data": dict(data, columns={"experience": "Q1"}),
            "experience": {"scale": [1, 5]}, "outcomes": ["rebuy", "recommend"]}


def _retention(data: dict, covariates: list[str]) -> dict:
    return {"study": "s", "notebook": "retention", "data": dict(data, columns={
        "experience": "Q1", "duration": "tenure", "event": "churned"}), "experience": {"scale": [1, 5]},
        "time_unit": "months", "covariates": covariates, "value_per_period": "charge", "value_unit": "EUR"}


def _metrics(data: dict) -> dict:
    return {"study": "s", "notebook": "metrics", "data": dict(data, columns={"nps": "likely"}),
            "segments": ["channel"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_in_batches_gives_the_whole_read_figures(fmt, files):
    data, answers, root = files[fmt]
    folder, mfolder = root / fmt, root / f"m-{fmt}"
    study = parse_study(_loyalty(data), base_dir=folder)
    whole = loyalty_analysis.analyze(loyalty_load.read(study, folder)[0], study).results
    cells, summary = loyalty_load.read_cells(study, folder, batch_rows=250)
    assert_same_figures(whole, loyalty_analysis.analyze(cells, study).results, WHOLE_VS_BATCHES)
    assert summary.rows_read == 900 and summary.dropped == loyalty_load.read(study, folder)[1].dropped

    for covariates in ([], ["channel"], ["channel", "charge"]):      # charge: a continuous covariate
        study = parse_study(_retention(data, covariates), base_dir=folder)
        frame, s1 = retention_load.read(study, folder)
        counts, s2 = retention_load.read_counts(study, folder, batch_rows=250)
        assert_same_figures(retention_analysis.analyze(frame, study).results,
                            retention_analysis.analyze_counts(counts, study).results, WHOLE_VS_BATCHES)
        assert (s1.rows_read, s1.dropped) == (s2.rows_read, s2.dropped)
        assert counts.continuous == (["charge"] if "charge" in covariates else [])

    study = parse_study(_metrics(answers), base_dir=mfolder)
    whole = metrics_analysis.analyze(metrics_load.read(study, mfolder)[0], study).results
    batched = metrics_load.read_counts(study, mfolder, batch_rows=250)[0]
    assert_same_figures(whole, metrics_analysis.analyze(batched, study).results, WHOLE_VS_BATCHES)


def test_a_csv_is_never_read_whole(files, monkeypatch):
    """The counting loads read a CSV through pyarrow's streaming reader, never pandas' whole-file reader."""
    data, answers, root = files["csv"]

    def whole(*args, **kwargs):
        raise AssertionError("the whole file was read")
    monkeypatch.setattr(pd, "read_csv", whole)
    stream = streaming.open_stream(parse_study(_loyalty(data), base_dir=root / "csv").data, root / "csv")
    sizes = [len(b) for b in stream.batches(["Q1", "rebuy"], 100)]
    assert len(sizes) > 3 and sum(sizes) == 900 and max(sizes) < 300
    study = parse_study(_loyalty(data), base_dir=root / "csv")
    assert loyalty_load.read_cells(study, root / "csv", batch_rows=100)[1].rows_read == 900
    study = parse_study(_retention(data, ["channel"]), base_dir=root / "csv")
    counts, summary = retention_load.read_counts(study, root / "csv", batch_rows=100)
    assert summary.rows_read == 900 and counts.n == summary.rows_used == 900 - F.survey(900)["Q1"].isna().sum()


def test_a_bad_value_in_a_later_batch_names_its_row_in_the_file(tmp_path):
    frame = F.survey(900)
    frame["rebuy"] = frame["rebuy"].astype(object)
    frame.loc[777, "rebuy"] = "perhaps"
    frame.to_csv(tmp_path / "survey.csv", index=False)
    study = parse_study(_loyalty({"path": "survey.csv"}), base_dir=tmp_path)
    with pytest.raises(DataError, match=r"column 'rebuy', row 778 \(value 'perhaps'\): is not binary"):
        loyalty_load.read_cells(study, tmp_path, batch_rows=100)


@pytest.mark.parametrize("written", ["9", " 9", "9.50", "1e1", "-0"])
def test_a_bad_number_in_a_later_batch_is_shown_as_written(tmp_path, written):
    """The CSV reader parses numbers (pyarrow), but the error shows the cell's text, not the parsed float."""
    frame = F.survey(900)
    frame["Q1"] = frame["Q1"].map(lambda v: "" if pd.isna(v) else str(int(v))).astype(object)
    frame.loc[777, "Q1"] = written
    frame.to_csv(tmp_path / "survey.csv", index=False)
    study = parse_study(_loyalty({"path": "survey.csv"}), base_dir=tmp_path)
    with pytest.raises(DataError) as err:
        loyalty_load.read_cells(study, tmp_path, batch_rows=100)
    assert f"column 'Q1', row 778 (value {written.lstrip()!r}): is outside the scale [1, 5]" in str(err.value)
    assert err.value.value == written.lstrip()


def test_a_covariate_continuous_only_in_a_later_batch_is_read_again_row_by_row(tmp_path):
    frame = F.survey(900)
    frame["score"] = np.where(np.arange(900) < 500, np.arange(900) % 7, np.arange(900) * 0.5)
    frame.to_csv(tmp_path / "survey.csv", index=False)
    study = parse_study(_retention({"path": "survey.csv"}, ["score"]), base_dir=tmp_path)
    counts, _ = retention_load.read_counts(study, tmp_path, batch_rows=200)
    assert counts.continuous == ["score"] and len(counts.rows) == len(frame.dropna(subset=["Q1"]))
    assert_same_figures(retention_analysis.analyze(retention_load.read(study, tmp_path)[0], study).results,
                        retention_analysis.analyze_counts(counts, study).results, WHOLE_VS_BATCHES)


def test_validate_counts_rows_without_reading_them_through_the_study(files, tmp_path):
    import yaml
    data, _, root = files["sav"]
    path = root / "sav" / "s.yaml"
    path.write_text(yaml.safe_dump(_loyalty(data)))
    res = run_cli("validate", str(path), "--rows", "2", timeout=120)
    assert res.returncode == 0, res.stderr
    assert "900 rows in" in res.stdout and "counted without loading them" in res.stdout
    assert "Very poor" in res.stdout and "Overall, how satisfied" in res.stdout


def test_a_continuous_covariate_past_lifelines_rows_is_fitted_on_the_rows_in_little_memory(tmp_path, monkeypatch):
    """Above cox.LIFELINES_MAX_ROWS the adjusted model is cxlab's Newton fit on the rows as cells (lifelines copies
    10^7 rows several times): the same Efron likelihood, the same figures as lifelines to 1e-9."""
    from cxlab.stats import cox
    frame = F.survey(900)
    frame.to_csv(tmp_path / "survey.csv", index=False)
    study = parse_study(_retention({"path": "survey.csv"}, ["channel", "charge"]), base_dir=tmp_path)
    counts, _ = retention_load.read_counts(study, tmp_path, batch_rows=300)
    assert isinstance(counts.rows["channel"].dtype, pd.CategoricalDtype)     # codes, not 10^7 strings
    by_lifelines = retention_analysis.analyze_counts(counts, study).results["cox_covariates"]
    monkeypatch.setattr(cox, "LIFELINES_MAX_ROWS", 0)
    by_newton = retention_analysis.analyze_counts(counts, study).results["cox_covariates"]
    assert_same_figures(by_lifelines, by_newton, ("by lifelines", "by cxlab's Newton fit"))
    assert len(by_newton["terms"]) == 4 and by_newton["separation"] is False
