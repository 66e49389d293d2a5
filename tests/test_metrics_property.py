"""Property: any small survey file ends in one clear DataError or a valid, JSON-clean, schema-valid result."""
from __future__ import annotations

import json
import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlab.errors import DataError
from cxlab.params import parse_study
from cxlab.record import to_json, validate_results
from cxlab.studies.metrics import analysis as M_analysis
from cxlab.studies.metrics import load as M_load

cells = {
    "nps": st.one_of(st.none(), st.integers(0, 10)),
    "csat": st.one_of(st.none(), st.integers(1, 5)),
    "wave": st.one_of(st.none(), st.sampled_from(["2024-Q1", "2024-Q2", "2024-Q3", " "])),
    "customer_id": st.one_of(st.none(), st.integers(1, 4)),
    "plan": st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    "w": st.one_of(st.floats(0, 5, allow_nan=False), st.sampled_from([0.0, 1.0, 2.5]), st.just(float("nan"))),
}
rows = st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, kind=st.sampled_from([None, "sampling", "frequency"]), drop=st.sets(st.sampled_from(
    ["csat", "wave", "customer_id"])), bad=st.one_of(st.none(), st.sampled_from([-1, 11, "x", "9.5", " 7 "])))
def test_small_shapes_end_in_data_error_or_valid_result(tmp_path, rows, kind, drop, bad):
    frame = pd.DataFrame(rows).drop(columns=sorted(drop))
    if bad is not None:  # one odd NPS cell: out of scale, text, a fraction, or a padded number (valid)
        frame["nps"] = frame["nps"].astype(object)
        frame.loc[len(frame) // 2, "nps"] = bad
    frame.to_csv(tmp_path / "p.csv", index=False)
    raw = {"study": "prop", "notebook": "metrics", "data": {"path": "p.csv"}, "segments": ["plan"], "mix_by": "plan"}
    if kind:
        raw["weight"] = {"column": "w", "kind": kind}
    study = parse_study(raw, base_dir=tmp_path)
    try:
        frame, _ = M_load.read(study, tmp_path)
    except DataError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return
    result = M_analysis.analyze(frame, study)
    results = to_json(result.results)
    json.dumps(results, allow_nan=False)
    doc = {"study": "prop", "notebook": "metrics", "status": "ok", "results": results,
           "provenance": {"parameters": {}, "inputs": {}, "packages": {}, "started": "", "ended": ""}}
    assert validate_results(doc) == []
    for f in results["overall"].values():
        if f["ci_low"] is not None:
            assert f["ci_low"] <= f["ci_high"]
    if results["mix"] is not None:
        mix = results["mix"]
        assert math.isclose(mix["mix_effect"] + mix["within_effect"], mix["change"], abs_tol=1e-12)
    assert all(isinstance(s, str) and s.endswith(".") for s in result.warnings)
