"""The proportional-hazards test (issue 20): R survival >= 3.0 ``cox.zph`` score test, rank transform, per term
and global, on the aggregated risk sets and on the row-level path; and how the report describes a violation.

Reference values from R 4.2 / survival 3.5.3, pasted with the code that produced them (R is not needed at run
time). The data sets were written from cxlab's own loading (``load.read``) to CSV with full precision, and
lifelines' Rossi data with ``load_rossi().to_csv``:

    library(survival)
    ctl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)
    r <- read.csv("rossi.csv")
    f1 <- coxph(Surv(week, arrest) ~ prio + age + fin, data = r, ties = "efron", control = ctl)
    cox.zph(f1, transform = "rank", terms = FALSE)$table
    f2 <- coxph(Surv(week, arrest) ~ prio, data = r, ties = "efron", control = ctl)
    cox.zph(f2, transform = "rank")$table
    for (nm in c("synth.csv", "crm.csv")) {     # params/retention.yaml, params/examples/crm-retention.yaml
      d <- read.csv(nm); d$channel <- relevel(factor(d$channel), ref = "web")
      fa <- coxph(Surv(duration, event) ~ experience + channel, data = d, ties = "efron", control = ctl)
      print(cox.zph(fa, transform = "rank", terms = FALSE)$table)
      fr <- coxph(Surv(duration, event) ~ experience, data = d, ties = "efron", control = ctl)
      print(cox.zph(fr, transform = "rank")$table)
    }
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from cxlab.params import load_study_file
from cxlab.stats import cox, efron
from cxlab.stats.counts import aggregate, rows_as_cells
from cxlab.studies.retention import analysis as R_analysis
from cxlab.studies.retention import load as R_load
from cxlab.studies.retention import narrative as R_narrative

ROOT = Path(__file__).resolve().parents[1]

# cox.zph(f1, transform = "rank", terms = FALSE)$table: prio, age, fin, GLOBAL (chisq, p)
ROSSI_CHISQ = [1.649790121801233, 0.968100267622657, 1.392571825626294]
ROSSI_P = [0.198987499042149, 0.325154424057749, 0.237971259606814]
ROSSI_GLOBAL = (3.847957887177040, 0.278356888383301)
ROSSI_PRIO = (1.80880515863231, 0.17865162882777)          # cox.zph(f2, transform = "rank")


def _rossi_test(cols, aggregated):
    r = load_rossi()
    if aggregated:
        cells = aggregate(r["week"], r["arrest"], r[cols])
        X = cells.patterns[cols].to_numpy(float)
    else:
        cells, X = rows_as_cells(r["week"], r["arrest"]), r[cols].to_numpy(float)
    rs = efron.RiskSets.build(cells, X)
    return efron.ph_test(rs, efron.newton(rs))


@pytest.mark.parametrize("aggregated", [False, True])
def test_ph_score_test_equals_r_cox_zph_on_rossi(aggregated):
    test = _rossi_test(["prio", "age", "fin"], aggregated)
    np.testing.assert_allclose(test.table["test_statistic"], ROSSI_CHISQ, rtol=1e-9)
    np.testing.assert_allclose(test.table["p"], ROSSI_P, rtol=1e-9)
    assert (test.statistic, test.p, test.dof) == (pytest.approx(ROSSI_GLOBAL[0], rel=1e-9),
                                                  pytest.approx(ROSSI_GLOBAL[1], rel=1e-9), 3)
    one = _rossi_test(["prio"], aggregated)
    assert one.table["test_statistic"].iloc[0] == pytest.approx(ROSSI_PRIO[0], rel=1e-9)
    assert one.p == pytest.approx(ROSSI_PRIO[1], rel=1e-9)


def test_ph_score_test_on_the_row_level_path_equals_r():
    """cox_fit with ``row_level`` (lifelines' fit on the rows): per-term and global p as R's."""
    r = load_rossi()
    X = r[["prio", "age", "fin"]].astype(float)
    fit = cox.cox_fit(rows_as_cells(r["week"], r["arrest"]), X, row_level=True)
    np.testing.assert_allclose(fit.table["ph_p"], ROSSI_P, rtol=1e-7)
    assert fit.ph_p == pytest.approx(ROSSI_GLOBAL[1], rel=1e-7)


def test_ph_trend_sign_follows_the_coefficient_drift():
    """A known truth: the log hazard ratio of x rises from -1 to +1 over time; the trend is positive, and the
    time-split hazard ratios show it (early < 1 < late)."""
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.integers(0, 2, n).astype(float)
    # piecewise hazard: before t = 1 rate exp(-x), after it exp(+x)
    t1 = rng.exponential(1 / np.exp(-x))
    t = np.where(t1 < 1, t1, 1 + rng.exponential(1 / np.exp(x)))
    c = rng.uniform(0.5, 3, n)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    cells = aggregate(time, event, pd.DataFrame({"x": x}))
    rating = cells.patterns["x"].to_numpy(float)
    model = cox.rating_model(cells, rating)
    assert model["ph_violated"] and model["ph_trend"] > 0
    split = cox.time_split(cells, rating)
    assert split["early"]["hazard_ratio"] < 1 < split["late"]["hazard_ratio"]
    assert split["early"]["events"] + split["late"]["events"] == int(event.sum())


def _study_results(path):
    s = load_study_file(ROOT / path)
    frame, _ = R_load.read(s, (ROOT / path).parent)
    return R_analysis.analyze(frame, s), frame, s


# (chisq p) of cox.zph(fa, transform = "rank", terms = FALSE): experience, channelphone, channelstore, GLOBAL;
# and cox.zph(fr, transform = "rank") for the rating alone
REFERENCE = {
    "params/retention.yaml": {"adjusted": [0.5997224846351318, 0.2728975213204344, 0.0225707202884558],
                              "global": 0.1332735261215455, "rating": 0.602906017619572},
    "params/examples/crm-retention.yaml": {"adjusted": [0.00271618544068597, 0.93783735893939835,
                                                        0.83014935488703689],
                                           "global": 0.02916720427663195, "rating": 0.00272089903199668},
}


@pytest.mark.parametrize("path", sorted(REFERENCE))
def test_study_ph_p_equal_r_on_the_shipped_studies(path):
    """The issue's case: params/retention.yaml, channel=store read 0.069 (the approximation); R: 0.0226."""
    result, _, _ = _study_results(path)
    ref = REFERENCE[path]
    r = result.results
    terms = {t["term"]: t["ph_p"] for t in r["cox_covariates"]["terms"]}
    np.testing.assert_allclose([terms["experience"], terms["channel=phone"], terms["channel=store"]],
                               ref["adjusted"], rtol=1e-8)
    assert r["cox_covariates"]["ph_p"] == pytest.approx(ref["global"], rel=1e-8)
    assert r["cox"]["ph_p"] == pytest.approx(ref["rating"], rel=1e-8)
    assert r["cox"]["ph_violated"] is (ref["rating"] < 0.05)


def test_adjusted_model_on_the_row_level_path_equals_r():
    """The row-level path (lifelines' fit on the rows, as with a continuous covariate) on the CRM example's
    one-hot design: R's per-term and global p."""
    _, frame, _ = _study_results("params/examples/crm-retention.yaml")
    rows = frame.assign(ch_phone=(frame["channel"] == "phone").astype(float),
                        ch_store=(frame["channel"] == "store").astype(float))
    X = rows[["experience", "ch_phone", "ch_store"]].reset_index(drop=True)
    fit = cox.cox_fit(rows_as_cells(rows["duration"], rows["event"]), X, row_level=True)
    np.testing.assert_allclose(fit.table["ph_p"], REFERENCE["params/examples/crm-retention.yaml"]["adjusted"],
                               rtol=1e-7)
    assert fit.ph_p == pytest.approx(REFERENCE["params/examples/crm-retention.yaml"]["global"], rel=1e-7)


# ---------------------------------------------------------------- the violation in words (item 5)

def test_violation_paragraph_describes_the_shape_in_the_data():
    """CRM example: PH violated (R p = 0.0027), hazard ratio < 1 and rising toward 1 (early 0.69, late 0.76):
    the paragraph says the association weakens, with the split's figures; never a fixed example text."""
    result, _, _ = _study_results("params/examples/crm-retention.yaml")
    r = result.results
    assert r["cox"]["ph_violated"] and r["cox_detail"]["ph_trend"] > 0
    split = r["cox_time_split"]
    assert split["early"]["hazard_ratio"] < split["late"]["hazard_ratio"] < 1
    text = R_narrative.interpret_cox(result)
    assert "weakens" in text and "strong in the first months" not in text
    assert "0.69" in text and "0.76" in text


@pytest.mark.parametrize("hr, p, trend, expected", [
    (0.7, 0.001, 0.01, "moves toward 1 over the tenure: the association weakens"),
    (0.7, 0.001, -0.01, "moves away from 1 over the tenure: the association strengthens"),
    (1.3, 0.001, 0.01, "moves away from 1 over the tenure: the association strengthens"),
    (1.3, 0.001, -0.01, "moves toward 1 over the tenure: the association weakens"),
    (0.95, 0.4, 0.01, "rises over the tenure"),
    (0.95, 0.4, -0.01, "falls over the tenure"),
])
def test_ph_shape_words(hr, p, trend, expected):
    assert expected in R_narrative.ph_shape(hr, p, trend)


def test_split_figures_in_words_when_they_disagree_with_the_trend():
    split = {"split": 12.0, "early": {"events": 50, "hazard_ratio": 0.8, "ci_low": 0.7, "ci_high": 0.9},
             "late": {"events": 50, "hazard_ratio": 0.7, "ci_low": 0.6, "ci_high": 0.8}}
    text = R_narrative.ph_paragraph(0.01, True, hr=0.75, p=0.001, trend=0.02, split=split, unit="months")
    assert "0.80 (95% CI 0.70 to 0.90)" in text and "0.70" in text and "12.0 months" in text
    assert "do not show this trend" in text


def test_no_violation_is_not_a_claim_of_constancy():
    """Item 6: a non-significant PH test says the data cannot tell, with its p."""
    text = R_narrative.ph_paragraph(0.42, False)
    assert "looks constant" not in text and "cannot tell" in text and "p = 0.42" in text
