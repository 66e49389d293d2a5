"""Fixture files for the format tests: one data set written as CSV, Excel, SPSS, Stata, Qualtrics, Parquet, DuckDB.

Each writer uses the format's own library (pandas, pyreadstat, duckdb), so the
readers are checked against files those libraries produce. The SPSS file codes
its yes/no outcome 1 = Yes, 2 = No and its channel 1/2/3 with value labels,
as SPSS users do; the CSV holds the plain words.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cxlab import synth

RATING_LABELS = {1.0: "Very poor", 2.0: "Poor", 3.0: "Fair", 4.0: "Good", 5.0: "Excellent"}
QUESTIONS = {"Q1": "Overall, how satisfied are you with us? (1-5)", "rebuy": "Did you buy from us again?",
             "recommend": "Did you recommend us to a friend?", "tenure": "Months as a customer",
             "churned": "Has the customer left?", "channel": "Sales channel", "charge": "Monthly charge",
             "likely": "How likely are you to recommend us? (0-10)", "wave": "Survey wave"}
CHANNELS = {1.0: "phone", 2.0: "store", 3.0: "web", 4.0: "app"}
FORMATS = ("csv", "xlsx", "sav", "dta", "qualtrics", "sql-parquet", "sql-duckdb")


def survey(n: int = 900, seed: int = 7) -> pd.DataFrame:
    """User-style data for both studies: Q1 rating (some empty), yes/no and 0/1 outcomes, tenure, churn, channel."""
    cust = synth.generate("customers", n, seed)
    life = synth.generate("lifecycles", n, seed)
    rng = np.random.default_rng(seed)
    q1 = life["experience"].astype(float).where(rng.random(n) > 0.03)
    return pd.DataFrame({
        "Q1": q1,
        "rebuy": np.where(cust["repurchase"] == 1, "yes", "no"),
        "recommend": cust["recommend"].astype(int),
        "tenure": life["duration"].round(3),
        "churned": life["event"].astype(int),
        "channel": life["channel"].astype(str),
        "charge": life["monthly_charge"],
    })


def responses(n: int = 900, seed: int = 7) -> pd.DataFrame:
    """User-style survey answers for the metrics study: an NPS question (some empty), a wave, a channel."""
    answers = synth.generate("survey", n, seed, waves=2)
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"likely": answers["nps"].astype(float).where(rng.random(n) > 0.05),
                         "wave": answers["wave"].to_numpy(), "channel": answers["channel"].to_numpy()})


def _present(mapping: dict, frame: pd.DataFrame) -> dict:
    return {k: v for k, v in mapping.items() if k in frame}


def _coded(frame: pd.DataFrame, codes: dict[str, dict], dtype=float) -> pd.DataFrame:
    """The columns in ``codes`` replaced by their numeric codes (as SPSS/Stata files hold them)."""
    return frame.assign(**{c: frame[c].map(m).astype(dtype) for c, m in codes.items() if c in frame})


def write(frame: pd.DataFrame, fmt: str, folder: Path) -> dict:
    """Write ``frame`` in format ``fmt`` under ``folder``; return the study's ``data:`` (without columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(folder / "survey.csv", index=False)
        return {"path": "survey.csv"}
    if fmt == "xlsx":
        with pd.ExcelWriter(folder / "survey.xlsx", engine="openpyxl") as xl:
            pd.DataFrame({"note": ["exported from the survey tool"]}).to_excel(xl, sheet_name="About", index=False)
            frame.to_excel(xl, sheet_name="Responses", index=False)
        return {"path": "survey.xlsx", "sheet": "Responses"}
    if fmt == "sav":
        import pyreadstat
        coded = _coded(frame, {"rebuy": {"yes": 1.0, "no": 2.0}, "channel": {v: k for k, v in CHANNELS.items()}})
        labels = {"Q1": RATING_LABELS, "rebuy": {1.0: "Yes", 2.0: "No"}, "channel": CHANNELS}
        pyreadstat.write_sav(coded, str(folder / "survey.sav"), column_labels=_present(QUESTIONS, frame),
                             variable_value_labels=_present(labels, frame))
        return {"path": "survey.sav"}
    if fmt == "dta":
        coded = _coded(frame, {"rebuy": {"yes": 1, "no": 0}, "channel": {v: int(k) for k, v in CHANNELS.items()}},
                       np.int8)
        labels = {"rebuy": {1: "yes", 0: "no"}, "channel": {int(k): v for k, v in CHANNELS.items()}}
        coded.to_stata(folder / "survey.dta", write_index=False, version=118,
                       variable_labels={k: v[:80] for k, v in _present(QUESTIONS, frame).items()},
                       value_labels=_present(labels, frame))
        return {"path": "survey.dta"}
    if fmt == "qualtrics":
        meta = pd.DataFrame({"StartDate": "2025-01-01 10:00:00", "ResponseId": [f"R_{i}" for i in range(len(frame))],
                             "Finished": "True"})
        full = pd.concat([meta, frame], axis=1)
        texts = {c: QUESTIONS.get(c, c) for c in full.columns}
        ids = {c: json.dumps({"ImportId": f"QID{i}"}) for i, c in enumerate(full.columns)}
        pd.concat([pd.DataFrame([texts, ids]), full]).to_csv(folder / "survey.csv", index=False)
        return {"path": "survey.csv", "format": "qualtrics"}
    if fmt == "sql-parquet":
        (folder / "extract").mkdir(exist_ok=True)
        for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
            frame.iloc[part].to_parquet(folder / "extract" / f"part-{i}.parquet", index=False)
        return {"sql": "SELECT * FROM read_parquet('extract/*.parquet')"}
    if fmt == "sql-duckdb":
        import duckdb
        con = duckdb.connect(str(folder / "warehouse.duckdb"))
        con.register("frame", frame)
        con.execute("CREATE TABLE answers AS SELECT * FROM frame")
        con.close()
        return {"sql": "SELECT * FROM answers", "database": "warehouse.duckdb"}
    raise ValueError(fmt)
