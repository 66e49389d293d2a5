"""Properties: any small table of ratings ends in one clear DataError or a valid, schema-conforming result;
rank groups never join drivers whose rank intervals are disjoint."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cxlab.errors import DataError
from cxlab.params import parse_study
from cxlab.record import record, validate_results
from cxlab.studies.drivers import analysis, load, narrative

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


@st.composite
def rank_intervals(draw):
    p = draw(st.integers(2, 8))
    ends = [sorted(draw(st.lists(st.integers(1, p), min_size=2, max_size=2))) for _ in range(p)]
    return pd.DataFrame({"driver": [f"d{j}" for j in range(p)], "rank": list(range(1, p + 1)),
                         "share": np.linspace(0.5, 0.1, p), "rank_ci_low": [lo for lo, _ in ends],
                         "rank_ci_high": [hi for _, hi in ends]})


@settings(max_examples=300, deadline=None)
@given(table=rank_intervals())
def test_rank_groups_hold_only_mutually_overlapping_drivers_and_every_overlapping_pair(table):
    groups = narrative.rank_groups(table)
    low = dict(zip(table["driver"], table["rank_ci_low"]))
    high = dict(zip(table["driver"], table["rank_ci_high"]))
    overlap = lambda a, b: low[a] <= high[b] and low[b] <= high[a]      # closed intervals
    for g in groups:
        assert len(g) > 1 and len(set(g)) == len(g)
        assert all(overlap(a, b) for a in g for b in g), (g, table)     # never two disjoint intervals
    for a in table["driver"]:
        for b in table["driver"]:
            if a < b and overlap(a, b):
                assert any(a in g and b in g for g in groups)        # no pair the data cannot tell apart is lost
    sets = [set(g) for g in groups]
    assert not any(x < y for x in sets for y in sets)                 # groups are maximal
