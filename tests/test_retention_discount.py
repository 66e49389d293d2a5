"""Issue 21, retention link: the value at stake discounted month by month (the area under the Kaplan-Meier curve
with each month's discount factor, times the mean value per period), with an interval that carries the value's
uncertainty.

References: direct numeric integration of lifelines' Kaplan-Meier step function with the discount factor of each
month (an independent computation), lifelines' RMST with no discount, and a simulation for the standard error.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from cxlab.params import load_study_file
from cxlab.stats import survival
from cxlab.studies.retention import analysis as R_analysis
from cxlab.studies.retention import counts as R_counts
from cxlab.studies.retention import load as R_load
from cxlab.studies.retention import narrative as R_narrative

ROOT = Path(__file__).resolve().parents[1]


def _sample(rng, n):
    latent = rng.exponential(20, n)
    censor = rng.uniform(5, 40, n)
    duration, event = np.ceil(np.minimum(latent, censor) * 4) / 4, (latent <= censor).astype(float)
    value = rng.lognormal(3.5, 0.9, n) * (1 + latent / 20)        # skewed, rises with tenure
    return pd.DataFrame({"duration": duration, "event": event, "value": value, "experience": 1.0,
                         "tier": pd.Categorical(["a"] * n, categories=["a"])})


def _direct(frame, tau, rate, month):
    """Integral of lifelines' KM step function times (1 + rate)^(-k/12) on month k, piece by piece."""
    kmf = KaplanMeierFitter().fit(frame["duration"], frame["event"])
    breaks = np.unique(np.concatenate([[0.0, tau], frame["duration"][frame["duration"] < tau],
                                       np.arange(month, tau, month)]))
    mid = (breaks[:-1] + breaks[1:]) / 2
    s = kmf.survival_function_at_times(mid).to_numpy()
    k = np.ceil(mid / month)
    return float(np.sum(s * (1 + rate) ** (-k / 12) * np.diff(breaks)))


@pytest.mark.parametrize("rate, month", [(0.1, 1.0), (0.25, 365.25 / 12 / 7), (0.05, 2.5)])
def test_discounted_area_equals_direct_integration_of_the_km_curve(rate, month):
    frame = _sample(np.random.default_rng(1), 400)
    tally = R_analysis.tally_all(R_counts.summarise(frame, [], value=True).cells)
    for tau in (17.3, 30.0):
        area, _ = survival.discounted_rmst(*tally, tau, rate, month)
        assert area == pytest.approx(_direct(frame, tau, rate, month), rel=1e-12)


def test_no_discount_is_the_rmst_and_its_variance():
    frame = _sample(np.random.default_rng(2), 300)
    tally = R_analysis.tally_all(R_counts.summarise(frame, [], value=True).cells)
    area, var = survival.discounted_rmst(*tally, 25.0, 0.0, 1.0)
    ref_area, ref_var = survival.rmst(survival.km_fit(*tally), 25.0)     # lifelines' area, Greenwood-type var
    assert area == pytest.approx(ref_area, rel=1e-12) and var == pytest.approx(ref_var, rel=1e-10)
    # a discount lowers the area, by at most the last month's factor
    low, _ = survival.discounted_rmst(*tally, 25.0, 0.2, 1.0)
    assert ref_area * 1.2 ** (-25 / 12) < low < ref_area


def test_discounted_value_standard_error_matches_the_spread_over_repeated_samples():
    """150 samples of 300 customers: the delta-method SE of the discounted value (discounted area's variance,
    the mean value's variance, their covariance) matches the standard deviation of the estimate."""
    rng = np.random.default_rng(21)
    tau, rate = 30.0, 0.3
    out = []
    for _ in range(150):
        data = R_counts.summarise(_sample(rng, 300), [], value=True)
        tally = R_analysis.tally_all(data.cells)
        area, var = survival.discounted_rmst(*tally, tau, rate, 1.0)
        mean, var_mean, cov = R_analysis.tier_value_moments(data, 0, tally, tau, rate, 1.0)
        out.append((area * mean, math.sqrt(R_analysis.product_variance(area, var, mean, var_mean, cov))))
    out = np.array(out)
    assert out[:, 1].mean() == pytest.approx(out[:, 0].std(ddof=1), rel=0.15)


def test_study_with_a_discount_rate_reports_discounted_value_in_words():
    raw = load_study_file(ROOT / "params" / "retention.yaml")
    study = type(raw).model_validate({**raw.model_dump(), "discount_rate": 0.1})
    frame, _ = R_load.read(study, ROOT / "params")
    result = R_analysis.analyze(frame, study)
    v = result.results["value"]
    assert v["discount_rate"] == 0.1 and "discounted at 10% a year" in v["discounted_basis"]
    for t in v["tiers"]:
        assert t["discounted_value"] < t["expected_value"]
        assert t["discounted_ci_low"] < t["discounted_value"] < t["discounted_ci_high"]
        assert t["discounted_value"] == pytest.approx(t["discounted_rmst"] * t["value_per_period"])
    g = v["gain_at_best_retention"]
    assert g["discounted_ci_low"] < g["discounted_value"] < g["discounted_ci_high"]
    text = R_narrative.interpret_value(result, study)
    assert "discounted at 10% a year" in text and "undiscounted" not in text
    undiscounted = R_analysis.analyze(frame, raw).results["value"]
    assert undiscounted["discount_rate"] is None and "discounted_basis" not in undiscounted
    assert "undiscounted" in R_narrative.interpret_value(R_analysis.analyze(frame, raw), raw)
