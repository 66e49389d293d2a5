"""Retention from sufficient statistics (issue 15): the counts path gives the row path's figures.

The row path is an independent reference (``tests/retention_rowpath.py``: lifelines fitted on the rows,
Cox with a tight tolerance, PH test with mid-ranks for tied event times). Every numeric figure of
``results`` that the reference computes must agree to a relative 1e-9 (absolute 1e-300 for exact zeros,
e.g. p-values that underflow on both sides); the keys that are inputs echoed back or bookkeeping are listed
in ``NOT_FIGURES`` and every other numeric key must have been compared.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.hazard_regression import PHReg

import retention_rowpath as rowpath
from cxlab.params import parse_study
from cxlab.stats import cox as cox_model
from cxlab.stats import efron
from cxlab.stats.counts import aggregate, weighted_median
from cxlab.stats.survival import logrank_counts
from cxlab.studies.retention import analysis, load

REL = 1e-9
NOT_FIGURES = {"horizons", "rmst_tau_requested", "penalizer", "computation", "dof", "n", "events", "censored"}


def numeric_leaves(obj, path=()):
    """(path, number) for every int/float leaf; list items are keyed by their tier name when they have one."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from numeric_leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            key = v.get("tier", v.get("term", i)) if isinstance(v, dict) else i
            yield from numeric_leaves(v, path + (key,))
    elif isinstance(obj, (int, float, np.integer, np.floating)) and not isinstance(obj, bool):
        yield path, float(obj)


def compare(mine: dict, ref: dict) -> set:
    got = dict(numeric_leaves(mine))
    compared = set()
    for path, want in numeric_leaves(ref):
        assert path in got, f"{path} missing from the counts path"
        assert math.isclose(got[path], want, rel_tol=REL, abs_tol=1e-300), (path, got[path], want)
        compared.add(path)
    return compared


def study(**over):
    raw = {"study": "big", "notebook": "retention", "data": {"synthetic": "lifecycles", "n": 100_000, "seed": 15},
           "observation_end": "2025-12-31", "rmst_tau": 60, "covariates": ["channel"],
           "value_per_period": "monthly_charge", "value_unit": "EUR"}
    raw.update(over)
    return parse_study(raw)


@pytest.fixture(scope="module")
def big():
    s = study()
    frame, _ = load.read(s)
    return s, frame, analysis.analyze(frame, s)


def test_counts_path_equals_lifelines_on_100k_rows(big):
    s, frame, result = big
    r = result.results
    assert r["computation"]["path"] == "counts" and r["computation"]["row_level"] == []
    assert r["computation"]["cells"] < len(frame) / 2            # fewer cells than rows (10^7 rows: far fewer)
    ref = rowpath.results(frame, s.horizons, s.rmst_tau, s.covariates, value=True)
    compared = compare(r, ref)
    left = {p for p, _ in numeric_leaves(r) if p not in compared and not (set(p) & NOT_FIGURES)}
    assert not left, f"numeric figures not compared: {sorted(map(str, left))[:10]}"
    # the Cox model with the rating and a categorical covariate is there, with its PH tests
    terms = {t["term"]: t for t in r["cox_covariates"]["terms"]}
    assert set(terms) == {"experience", "channel=phone", "channel=store"}
    assert r["cox_covariates"]["reference_levels"] == {"channel": "web"}


def test_cox_on_counts_equals_statsmodels_efron(big):
    s, frame, result = big
    X = np.column_stack([frame["experience"], frame["channel"] == "phone", frame["channel"] == "store"]).astype(float)
    fit = PHReg(frame["duration"].to_numpy(float), X, status=frame["event"].to_numpy(float), ties="efron").fit()
    terms = result.results["cox_covariates"]["terms"]
    for t, b, se in zip(terms, fit.params, fit.bse):
        assert t["hazard_ratio"] == pytest.approx(math.exp(b), rel=1e-9)
        assert t["ci_high"] == pytest.approx(math.exp(b + 1.959963984540054 * se), rel=1e-9)


def test_efron_sums_in_small_chunks_equal_statsmodels(big, monkeypatch):
    """The Efron sums run over the events a chunk of event times at a time (memory of a chunk at 10^8 rows): chunks
    of 7 events (most times split apart, several to a chunk, times with more events alone) give the same fit."""
    s, frame, result = big
    monkeypatch.setattr(efron, "CHUNK", 7)
    again = analysis.analyze(frame, s).results["cox_covariates"]["terms"]
    X = np.column_stack([frame["experience"], frame["channel"] == "phone", frame["channel"] == "store"]).astype(float)
    fit = PHReg(frame["duration"].to_numpy(float), X, status=frame["event"].to_numpy(float), ties="efron").fit()
    for t, ref, b, se in zip(again, result.results["cox_covariates"]["terms"], fit.params, fit.bse):
        assert t["hazard_ratio"] == pytest.approx(math.exp(b), rel=1e-9)
        assert t["ci_high"] == pytest.approx(math.exp(b + 1.959963984540054 * se), rel=1e-9)
        assert t["ph_p"] == pytest.approx(ref["ph_p"], rel=1e-9)


def test_continuous_covariate_falls_back_to_rows_with_a_note():
    s = study(data={"synthetic": "lifecycles", "n": 4000, "seed": 3}, covariates=["channel", "charge"],
              value_per_period=None, value_unit=None)
    from cxlab.synth.lifecycles import lifecycles
    from cxlab.params import ExperienceSpec
    from cxlab.tiers import assign_tiers
    data = lifecycles(4000, seed=3)
    frame = pd.DataFrame({"experience": data["experience"].astype(float), "duration": data["duration"],
                          "event": data["event"].astype(float), "channel": data["channel"].astype(str),
                          "charge": data["monthly_charge"]})
    frame["tier"] = assign_tiers(frame["experience"], ExperienceSpec(), "x")
    result = analysis.analyze(frame, s)
    r = result.results
    assert r["computation"]["row_level"] == ["cox_covariates"]
    assert r["computation"]["continuous_covariates"] == ["charge"]
    note = [w for w in result.warnings if "row-level path" in w]
    assert note and "'charge' is continuous" in note[0]
    ref = rowpath.results(frame, s.horizons, s.rmst_tau, s.covariates)
    compared = compare(r, ref)
    assert any(p[0] == "cox_covariates" and p[-2] == "charge" for p in compared)
    # a numeric covariate with few values stays in the counts (no note)
    frame["charge"] = np.round(frame["charge"] / 20)
    result = analysis.analyze(frame, s)
    assert result.results["computation"]["row_level"] == [] and not any("row-level" in w for w in result.warnings)
    compare(result.results, rowpath.results(frame, s.horizons, s.rmst_tau, s.covariates))


def test_aggregate_by_hand():
    t = [3.0, 1.0, 3.0, 2.0, 3.0, 1.0]
    e = [1, 0, 1, 1, 0, 1]
    g = pd.DataFrame({"g": ["b", "a", "b", "a", "a", "b"]})
    cells = aggregate(t, e, g)
    got = pd.DataFrame({"time": cells.time, "g": cells.patterns["g"].to_numpy()[cells.pattern], "n": cells.n,
                        "d": cells.d})
    want = pd.DataFrame({"time": [1.0, 1.0, 2.0, 3.0, 3.0], "g": ["a", "b", "a", "a", "b"],
                         "n": [1.0, 1, 1, 1, 2], "d": [0.0, 1, 1, 0, 2]})
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("values", [[1.0, 2, 2, 5], [3.0], [1.0, 1, 2, 9, 9, 9, 10], [4.0, 4]])
def test_weighted_median_is_pandas_median(values):
    v, c = np.unique(values, return_counts=True)
    assert weighted_median(v, c) == pd.Series(values).median()


def test_logrank_on_counts_equals_lifelines_with_ties():
    rng = np.random.default_rng(4)
    t = rng.integers(1, 15, 600).astype(float)
    e = rng.random(600) < 0.6
    g = rng.choice(["x", "y", "z"], 600)
    cells = aggregate(t, e, pd.DataFrame({"g": g}))
    mine = logrank_counts(cells.time, cells.patterns["g"].to_numpy()[cells.pattern], cells.n, cells.d)
    ref = multivariate_logrank_test(t, g, e)
    assert mine["statistic"] == pytest.approx(ref.test_statistic, rel=1e-12)


def _tied_rating_times(n: int = 3000, seed: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rating 1-5, whole-month times with many ties (hazard ratio 0.8 per point), 70% events."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, n).astype(float)
    t = np.ceil(rng.exponential(10 / 0.8 ** x))
    e = (rng.random(n) < 0.7).astype(float)
    return x, t, e

def test_penalised_fit_equals_lifelines_ridge_on_counts():
    from lifelines import CoxPHFitter
    x, t, e = _tied_rating_times()
    df = pd.DataFrame({"duration": t, "event": e, "x": x})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CoxPHFitter(penalizer=0.1).fit(df, "duration", "event", fit_options=rowpath.TIGHT)
    cells = aggregate(t, e, df[["x"]])
    fit = efron.newton(efron.RiskSets.build(cells, cells.patterns[["x"]].to_numpy(float)), 0.1)
    assert fit.beta[0] == pytest.approx(ref.params_["x"], rel=1e-9)
    assert math.sqrt(fit.variance[0, 0]) == pytest.approx(ref.standard_errors_["x"], rel=1e-9)


def test_km_curves_from_counts_equal_lifelines_tables():
    from lifelines import KaplanMeierFitter

    from cxlab.stats.survival import at_risk_table, km_curves, km_fit, tally
    rng = np.random.default_rng(8)
    t = np.ceil(rng.exponential(6, 400))
    e = (rng.random(400) < 0.8).astype(float)
    t[-1], e[-1] = t.max() + 1, 1.0          # the last customer churns: survival reaches 0
    curves = km_curves({"a": km_fit(*tally(t, e))})          # lifelines on the counts as weighted rows
    kmf = KaplanMeierFitter().fit(t, e)                       # lifelines on the rows
    np.testing.assert_allclose(curves["time"], kmf.survival_function_.index, rtol=0)
    np.testing.assert_allclose(curves["survival"], kmf.survival_function_.iloc[:, 0], rtol=1e-12)
    np.testing.assert_allclose(curves[["ci_low", "ci_high"]], kmf.confidence_interval_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(curves["at_risk"], kmf.event_table["at_risk"])
    ticks = [0.0, 5.0, 10.0, 40.0]
    assert at_risk_table({"a": km_fit(*tally(t, e))}, ticks).loc["a"].tolist() == [int((t >= x).sum()) for x in ticks]


def test_row_level_fallback_is_lifelines_coxph_with_its_ridge_refit():
    """The row-level path (continuous covariate) is lifelines' CoxPHFitter: its unpenalised figures, and when
    the likelihood is monotone (every churner has the largest x at risk) its penalizer=0.1 refit."""
    from lifelines import CoxPHFitter
    from cxlab.stats.counts import rows_as_cells
    from cxlab.stats.covariates import cox_adjusted
    rng = np.random.default_rng(5)
    n = 400
    table = pd.DataFrame({"experience": rng.integers(1, 6, n).astype(float), "x": rng.normal(size=n)})
    t = np.ceil(rng.exponential(10, n))
    e = (rng.random(n) < 0.7).astype(float)
    df = table.assign(duration=t, event=e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CoxPHFitter().fit(df, "duration", "event", fit_options=rowpath.TIGHT)
    got = cox_adjusted(rows_as_cells(t, e), table, ["x"], row_level=True)
    assert got["separation"] is False and got["penalizer"] == 0
    for term in got["terms"]:
        b, se = ref.params_[term["term"]], ref.standard_errors_[term["term"]]
        assert term["hazard_ratio"] == pytest.approx(math.exp(b), rel=1e-9)
        assert term["ci_low"] == pytest.approx(math.exp(b - 1.959963984540054 * se), rel=1e-9)
    # monotone likelihood in x: the churners, in time order, each have the largest x still at risk
    x = np.sort(rng.normal(size=n))[::-1]
    t = np.arange(1, n + 1, dtype=float)
    e = np.ones(n)
    table = pd.DataFrame({"experience": rng.integers(1, 6, n).astype(float), "x": x})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cox_adjusted(rows_as_cells(t, e), table, ["x"], row_level=True)
        ref = CoxPHFitter(penalizer=0.1).fit(table.assign(duration=t, event=e), "duration", "event",
                                             fit_options=rowpath.TIGHT)
    assert got["separation"] is True and got["penalizer"] == 0.1
    for term in got["terms"]:
        assert term["hazard_ratio"] is None
        assert term["penalised_hazard_ratio"] == pytest.approx(math.exp(ref.params_[term["term"]]), rel=1e-9)


def test_lifelines_weighted_efron_is_not_replicated_rows_but_cells_are():
    """Why the counts' Cox model is cxlab's own: lifelines' weighted Efron counts tied rows, not weights."""
    from lifelines import CoxPHFitter
    x, t, e = _tied_rating_times()
    rows = pd.DataFrame({"T": t, "E": e, "x": x})
    weighted = rows.groupby(["T", "E", "x"]).size().rename("w").reset_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_rows = CoxPHFitter().fit(rows, "T", "E", fit_options=cox_model.FIT_OPTIONS).params_["x"]
        on_cells = CoxPHFitter().fit(weighted, "T", "E", weights_col="w",
                                     fit_options=cox_model.FIT_OPTIONS).params_["x"]
    cells = aggregate(t, e, rows[["x"]])
    mine = efron.newton(efron.RiskSets.build(cells, cells.patterns[["x"]].to_numpy(float))).beta[0]
    assert mine == pytest.approx(on_rows, rel=1e-9)
    assert abs(on_cells / on_rows - 1) > 1e-3
