"""Property: any small table of ratings ends in one clear DataError or a valid, schema-conforming result."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cxlab.errors import DataError
from cxlab.params import parse_study
from cxlab.record import record, validate_results
from cxlab.studies.drivers import analysis, load

RATING = st.integers(0, 15).map(lambda v: None if v == 0 else 1 + v % 5)   # 1 in 16 missing


@st.composite
def tables(draw):
    p = draw(st.integers(2, 4))
    n = draw(st.integers(0, 30))
    binary = draw(st.booleans())
    outcome = st.sampled_from(["yes", "no", "no", "yes", "no", None]) if binary else RATING
    frame = pd.DataFrame({f"d{j}": draw(st.lists(RATING, min_size=n, max_size=n)) for j in range(p)})
    frame["y"] = draw(st.lists(outcome, min_size=n, max_size=n))
    if draw(st.booleans()):
        frame["w"] = draw(st.lists(st.sampled_from([0, 1, 2, 3]), min_size=n, max_size=n))
    return frame, p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=tables())
def test_small_shapes_give_a_clear_error_or_a_valid_result(tmp_path, case):
    frame, p = case
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    raw = {"study": "prop", "notebook": "drivers", "data": {"path": "d.csv", "columns": {"outcome": "y"}},
           "drivers": [f"d{j}" for j in range(p)], "drivers_scale": [1, 5], "bootstrap": {"resamples": 100, "seed": 0}}
    if "w" in frame:
        raw["weight"] = {"column": "w", "kind": "frequency"}
    study = parse_study(raw, base_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = analysis.analyze(load.read(study, tmp_path), study)
        except DataError as exc:
            event("DataError: " + str(exc).split(": ", 1)[-1][:40])
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message
            return
    event(f"valid result ({result.results['outcome_type']})")
    payload = record(result.results, headline="h")
    doc = {"study": "prop", "notebook": "drivers", "status": "ok", "results": payload["results"],
           "provenance": {"parameters": {}, "inputs": {}, "packages": {}, "started": "", "ended": ""}}
    assert validate_results(doc) == []
    shares = np.array([w["share"] for w in payload["results"]["weights"]])
    assert np.isfinite(shares).all() and abs(shares.sum() - 1) < 1e-9 and (shares >= -1e-12).all()
