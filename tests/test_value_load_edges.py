"""Value study's loader, edges: a bad number in a later batch of a streamed CSV shown as the file writes it (as the
loyalty study shows it, :func:`cxlab.streaming.as_written`), and the loader importing no survival library."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab.errors import DataError
from cxlab.params import parse_study
from cxlab.studies.value import load
from cxlab.synth.transactions import transactions

ROOT = Path(__file__).resolve().parent.parent


def _log(n: int = 300, seed: int = 5) -> pd.DataFrame:
    """A transaction log whose own experience column (named 'CSAT', 1-5, one per customer) is written as text."""
    t = transactions(n, seed=seed)
    return pd.DataFrame({"customer_id": t["customer_id"], "date": t["date"].dt.strftime("%Y-%m-%d"),
                         "spend": t["amount"].map(repr).astype(object),
                         "CSAT": (t["customer_id"] % 5 + 1).astype(str).astype(object)})


def _study(tmp_path: Path, log: pd.DataFrame, **keys) -> parse_study:
    log.to_csv(tmp_path / "log.csv", index=False)
    return parse_study({"study": "v", "notebook": "value",
                        "data": {"path": "log.csv", "columns": {"amount": "spend", "experience": "CSAT"}},
                        "experience": {"scale": [1, 5], "tiers": {"low": [1, 3], "high": [4, 5]}},
                        "observation_end": "2025-12-31", "bootstrap": {"resamples": 20, "seed": 0}, **keys},
                       base_dir=tmp_path)


def _error(tmp_path: Path, log: pd.DataFrame, **keys) -> DataError:
    study = _study(tmp_path, log, **keys)
    with pytest.raises(DataError) as err:
        load.read(study, tmp_path)
    assert "\n" not in str(err.value)
    return err.value


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(load, "BATCH_ROWS", 100)      # the 1,269-row log in 13 batches


@pytest.mark.parametrize("written", ["9", "1e1", "5.50", "-0"])
def test_a_rating_outside_the_scale_in_a_later_batch_is_shown_as_written(tmp_path, small_batches, written):
    log = _log()
    row = len(log) - 30                                   # in the last batch but one
    log.loc[row, "CSAT"] = written
    err = _error(tmp_path, log)
    assert (f"log.csv, column 'CSAT', row {row + 1} (value {written!r}): is outside the scale [1, 5]"
            in str(err)), str(err)
    assert err.value == written and err.row == row + 1 and err.column == "CSAT"


@pytest.mark.parametrize("written, needle", [("-1.5e1", "is negative (a refund?)"), ("0.00", "is zero"),
                                             ("-3", "is negative (a refund?)")])
def test_a_bad_amount_in_a_later_batch_is_shown_as_written(tmp_path, small_batches, written, needle):
    log = _log()
    row = len(log) - 130
    log.loc[row, "spend"] = written
    err = _error(tmp_path, log)
    assert f"log.csv, column 'spend', row {row + 1} (value {written!r}): {needle}" in str(err), str(err)
    assert err.value == written


def test_a_second_experience_found_after_the_read_is_shown_as_written(tmp_path, small_batches):
    """Two experiences for one customer are found once every batch is read; the row is read again for the
    message, and its rating shown as the file writes it."""
    log = _log()
    sizes = log["customer_id"].iloc[1000:].value_counts()
    rows = np.flatnonzero(log["customer_id"] == sizes.index[0])      # a late customer with several rows
    assert len(rows) > 1 and rows[0] >= 1000
    first = int(rows[0])
    log.loc[first, "CSAT"] = "5.0" if int(log.loc[rows[-1], "CSAT"]) <= 3 else "1.0"   # the other tier
    err = _error(tmp_path, log)
    assert (f"column 'CSAT', row {first + 1} (value {log.loc[first, 'CSAT']!r}): this customer has two different "
            "experiences" in str(err)), str(err)


def test_a_bad_value_in_the_customer_table_is_left_as_that_table_has_it(tmp_path, small_batches):
    """Only the log is streamed: an error in a (typed) customer table keeps its own value, even when the table
    names its rating column as the log names its amount (the log's cell at that row is not the bad value)."""
    log = _log().drop(columns="CSAT")
    customers = pd.DataFrame({"customer_id": log["customer_id"].unique()})
    customers["spend"] = customers["customer_id"] % 5 + 1
    customers.loc[len(customers) - 1, "spend"] = 9
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    err = _error(tmp_path, log, customers={"path": "customers.parquet", "columns": {"experience": "spend"}})
    assert f"customers.parquet, column 'spend', row {len(customers)} (value 9): is outside the scale" in str(err), \
        str(err)


def test_good_logs_read_the_same_in_batches_and_whole(tmp_path, monkeypatch):
    log = _log()
    study = _study(tmp_path, log)
    whole, _ = load.read(study, tmp_path)
    monkeypatch.setattr(load, "BATCH_ROWS", 100)
    batched, _ = load.read(study, tmp_path)
    pd.testing.assert_frame_equal(whole.customers, batched.customers)


def test_the_value_loader_imports_no_survival_library():
    """Dates are read by :func:`cxlab.data.parse_dates`: importing the value study's loader no longer pulls
    lifelines in through the retention study (about 2 s of import)."""
    code = ("import sys, cxlab.studies.value.load as v; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lifelines' "
            "or m.startswith('cxlab.studies.retention')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_dates_have_one_parser_shared_by_retention_and_value():
    from cxlab import data
    from cxlab.studies.retention import load as retention_load
    assert load.d.parse_dates is data.parse_dates and retention_load.d.parse_dates is data.parse_dates
    assert not hasattr(retention_load, "parse_dates") and not hasattr(load, "parse_dates")
    frame = pd.DataFrame({"when": ["2025-01-02", " 2025-03-04 ", "", None, "2025-05-06T07:08:09"]})
    got = data.parse_dates(frame, "when", "x.csv", "When")
    expected = pd.Series([pd.Timestamp(2025, 1, 2), pd.Timestamp(2025, 3, 4), pd.NaT, pd.NaT,
                          pd.Timestamp(2025, 5, 6, 7, 8, 9)], name="when")
    pd.testing.assert_series_equal(got, expected, check_dtype=False)
    frame.loc[2, "when"] = "31/12/2025"
    with pytest.raises(DataError, match=r"^x.csv, column 'When', row 3 \(value '31/12/2025'\): is not a date "
                                        r"\(write dates as YYYY-MM-DD\)$"):
        data.parse_dates(frame, "when", "x.csv", "When")


def test_dates_with_mixed_utc_offsets_read_as_written():
    """A column mixing dates, times with an offset and times with another (an export from two systems): each is
    read as its local time, the offset dropped, as a column with one offset throughout is read; before, pandas
    gave an object column and the study stopped with an AttributeError traceback."""
    from cxlab import data
    frame = pd.DataFrame({"when": ["2025-01-02", "2025-05-06T07:08:09+02:00", "2025-05-07 10:00Z",
                                   "2025-05-08T23:30:00.5-0500", "2025-05-09T01:02+01", ""]})
    got = data.parse_dates(frame, "when", "x.csv", "When")
    expected = pd.Series([pd.Timestamp(2025, 1, 2), pd.Timestamp(2025, 5, 6, 7, 8, 9), pd.Timestamp(2025, 5, 7, 10),
                          pd.Timestamp(2025, 5, 8, 23, 30, 0, 500000), pd.Timestamp(2025, 5, 9, 1, 2), pd.NaT],
                         name="when")
    pd.testing.assert_series_equal(got, expected, check_dtype=False)
    one = pd.DataFrame({"when": ["2025-05-06T07:08:09+02:00", "2025-05-07T00:00:00+02:00"]})
    assert data.parse_dates(one, "when", "x.csv", "When").tolist() == [pd.Timestamp(2025, 5, 6, 7, 8, 9),
                                                                       pd.Timestamp(2025, 5, 7)]
    frame.loc[1, "when"] = "2025-05-06T07:08:09+02:00 CET"
    with pytest.raises(DataError, match=r"row 2 .*is not a date"):
        data.parse_dates(frame, "when", "x.csv", "When")
