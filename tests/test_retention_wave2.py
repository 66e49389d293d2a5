"""DESIGN 5.2 "Revisions (wave 2)": median intervals, calendar months, the RMST window cap, PH violation and
Cox separation in the headline, Kaplan-Meier curves drawn while 10+ are at risk, value at stake wording.

Independent references: R ``survival`` 3.5.3 (values stored below with the R code that produced them; R is
not needed at run time), dateutil ``relativedelta`` and hand computations.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from lifelines import KaplanMeierFitter

from cxlab.params import ExperienceSpec, parse_study
from cxlab.stats import survival
from cxlab.studies.retention import analysis as R_analysis
from cxlab.studies.retention import figures as R_figures
from cxlab.studies.retention import narrative as R_narrative
from cxlab.tiers import assign_tiers
from cxlab.words import EFFECT_WORDS


def study(**over):
    raw = {"study": "t", "notebook": "retention", "data": {"synthetic": "lifecycles", "n": 1000, "seed": 1}}
    raw.update(over)
    return parse_study(raw)


def framed(x, t, e, **extra):
    frame = pd.DataFrame({"experience": np.asarray(x, float), "duration": np.asarray(t, float),
                          "event": np.asarray(e, float), **extra})
    frame["tier"] = assign_tiers(frame["experience"], ExperienceSpec(), "x")
    return frame


# ---------------------------------------------------------------- median intervals against R

# library(survival)   # 3.5.3
# t <- c(1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 9, 10, 10, 11, 12, 13, 15, 16, 18, 20, 21, 24, 27, 30)
# e <- c(1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0)
# quantile(survfit(Surv(t, e) ~ 1, conf.type = "log-log"), 0.5)       # 13, lower 6, upper 21
# t2 <- c(2, 3, 3, 5, 6, 8, 9, 9, 11, 12, 14, 15, 17, 19, 20, 22, 23, 25)
# e2 <- c(1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0)
# quantile(survfit(Surv(t2, e2) ~ 1, conf.type = "log-log"), 0.5)     # 22, lower 8, upper NA
# t3 <- 1:6; e3 <- c(1, 1, 1, 0, 1, 1)
# quantile(survfit(Surv(t3, e3) ~ 1, conf.type = "log-log"), 0.5)     # 4 (R: midpoint of a flat 0.5), lower 1,
#                                                                     # upper NA (the band is NA where S = 0)
FIXTURES = [
    ([1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 9, 10, 10, 11, 12, 13, 15, 16, 18, 20, 21, 24, 27, 30],
     [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0], 13.0, 6.0, 21.0),
    ([2, 3, 3, 5, 6, 8, 9, 9, 11, 12, 14, 15, 17, 19, 20, 22, 23, 25],
     [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0], 22.0, 8.0, None),
    # DESIGN's median is the first time S <= 0.5 (3), not R's midpoint of the flat stretch at 0.5 (4)
    ([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1], 3.0, 1.0, None),
]

# s <- summary(survfit(Surv(t, e) ~ 1, conf.type = "log-log")); cbind(s$time, s$lower, s$upper)  (first fixture)
R_BAND = {1: (0.7483850241948, 0.994266950749), 4: (0.5744738004690, 0.908988196118),
          11: (0.2924975606586, 0.696936685652), 21: (0.0761031150081, 0.473556926142),
          27: (0.0105172638372, 0.386549309313)}


@pytest.mark.parametrize("t, e, median, low, high", FIXTURES)
def test_median_interval_equals_r_survfit_loglog(t, e, median, low, high):
    table = survival.km_table(np.array(t, float), np.array(e, float))
    assert survival.km_median(table) == median
    assert survival.km_median_ci(table) == (low, high)


def test_band_equals_r_and_lifelines():
    t, e = np.array(FIXTURES[0][0], float), np.array(FIXTURES[0][1], float)
    band = survival.km_table(t, e).set_index("time")
    for time, (lo, hi) in R_BAND.items():
        assert band.loc[time, "ci_low"] == pytest.approx(lo, rel=1e-9)
        assert band.loc[time, "ci_high"] == pytest.approx(hi, rel=1e-9)
    ci = KaplanMeierFitter().fit(t, e).confidence_interval_
    np.testing.assert_allclose(band[["ci_low", "ci_high"]].to_numpy(), ci.loc[band.index].to_numpy(), rtol=1e-9)


def test_median_interval_in_results():
    t, e = FIXTURES[0][0], FIXTURES[0][1]
    frame = framed([1] * 25 + [2] * 25, t + t, e + e)
    r = R_analysis.analyze(frame, study(rmst_tau=None)).results
    assert [(x["median"], x["median_ci_low"], x["median_ci_high"]) for x in r["tiers"]] == [(13, 6, 21)] * 2


# ---------------------------------------------------------------- calendar months

def months_by_dateutil(start: str, end: str) -> float:
    """DESIGN's definition with dateutil, one anniversary at a time (an independent computation)."""
    s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    k = 0
    while s + relativedelta(months=k + 1) <= e:
        k += 1
    lo, hi = s + relativedelta(months=k), s + relativedelta(months=k + 1)
    return k + (e - lo).days / (hi - lo).days


@pytest.mark.parametrize("start, end, months", [
    ("2024-01-31", "2024-02-29", 1.0),              # 31 January + 1 month = 29 February (leap year)
    ("2023-01-31", "2023-02-28", 1.0),              # ... = 28 February
    ("2024-01-31", "2024-03-31", 2.0),              # + 2 months = 31 March, from the start, not from February
    ("2024-01-31", "2024-03-30", 1 + 30 / 31),      # 29 Feb -> 30 Mar is 30 of the 31 days to 31 Mar
    ("2024-01-31", "2024-02-28", 28 / 29),
    ("2024-02-29", "2025-02-28", 12.0),             # the 12-month anniversary of a leap day, clamped
    ("2024-02-29", "2025-03-01", 12 + 1 / 29),      # 28 Feb 2025 -> 29 Mar 2025 has 29 days
    ("2023-03-15", "2024-03-15", 12.0),             # cancelling on the anniversary across a leap year: exactly 12
    ("2024-04-30", "2024-05-31", 1 + 1 / 31),       # month ends: 30 May is the anniversary, 30 June the next
    ("2024-12-31", "2025-01-01", 1 / 31),
    ("2020-02-29", "2024-02-29", 48.0),
])
def test_calendar_months_hand_cases(start, end, months):
    got = survival.calendar_months(pd.Series(pd.to_datetime([start])), pd.Series(pd.to_datetime([end])))
    assert got.iloc[0] == pytest.approx(months, rel=1e-12)
    assert got.iloc[0] == pytest.approx(months_by_dateutil(start, end), rel=1e-12)


def test_calendar_months_against_dateutil_on_random_dates():
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2000, 400), "D")
    end = start + pd.to_timedelta(rng.integers(1, 1500, 400), "D")
    got = survival.calendar_months(pd.Series(start), pd.Series(end)).to_numpy()
    want = [months_by_dateutil(s.date().isoformat(), e.date().isoformat()) for s, e in zip(start, end)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_cancel_on_twelve_month_anniversary_is_not_still_active_at_twelve():
    # leap year: 366 days from 2024-01-15 to 2025-01-15; days / 30.4375 gave 12.02 (active at 12); calendar: 12
    start, end = pd.Series(pd.to_datetime(["2024-01-15"])), pd.Series(pd.to_datetime(["2025-01-15"]))
    duration = survival.duration_between(start, end, "months").iloc[0]
    assert duration == 12.0
    table = survival.km_table(np.array([duration, 30.0]), np.array([1.0, 0.0]))
    assert survival.survival_at(table, 12, 30) == 0.5          # the churn at 12 counts at the 12-month horizon
    assert survival.duration_between(start, end, "weeks").iloc[0] == pytest.approx(366 / 7)
    assert survival.duration_between(start, end, "days").iloc[0] == 366


# ---------------------------------------------------------------- the RMST window

def short_tier_data(seed=4, n=1500):
    """Tiers 1-4 followed up to 60 months, tier 5 only 20 (everyone still active at 20 is censored)."""
    rng = np.random.default_rng(seed)
    x = rng.choice([1.0, 2, 3, 4, 5], n)
    t = rng.exponential(20 / 0.8 ** (x - 1))
    c = np.where(x == 5, 20.0, rng.uniform(1, 60, n))
    return framed(x, np.minimum(t, c), (t <= c).astype(float), value=np.full(n, 50.0))


def test_tau_past_a_tier_follow_up_is_capped_with_a_warning():
    frame = short_tier_data()
    result = R_analysis.analyze(frame, study(rmst_tau=40, value_per_period="v", value_unit="EUR"))
    r = result.results
    assert r["rmst_tau"] == 20.0 and r["rmst_tau_requested"] == 40
    cap = [w for w in result.warnings if "capped" in w]
    assert len(cap) == 1 and "asked for, 40 months" in cap[0] and "ends at 20 months" in cap[0] and "tier 5" in cap[0]
    # nothing extrapolated: every RMST is below the window with a positive standard error
    for row in result.tiers.itertuples():
        assert 0 < row.rmst < 20 and row.rmst_se > 0
    for d in r["rmst_difference"]["tiers"]:
        assert d["se"] > 0 and d["ci_low"] < d["difference"] < d["ci_high"] and d["log10_p"] > -30
    g = r["value"]["gain_at_best_retention"]
    assert g["ci_low"] < g["value"] < g["ci_high"]
    assert r["value"]["basis"] == "value within the first 20 months, undiscounted"
    assert r["value"]["value_unit"] == "EUR"


def test_default_tau_is_the_shortest_tier_follow_up_and_a_shorter_request_stands():
    frame = short_tier_data()
    r = R_analysis.analyze(frame, study(rmst_tau=None)).results
    assert r["rmst_tau"] == frame.groupby("tier", observed=True)["duration"].max().min() == 20.0
    assert r["rmst_tau_requested"] is None
    result = R_analysis.analyze(frame, study(rmst_tau=12))
    assert result.results["rmst_tau"] == 12 and not any("capped" in w for w in result.warnings)


# ---------------------------------------------------------------- PH violation and separation

def crossing_hazards(seed=3, n=600):
    """Low ratings churn early (Weibull shape 0.5), high ratings late (shape 3): hazards cross."""
    rng = np.random.default_rng(seed)
    x = rng.choice([1.0, 2, 3, 4, 5], n)
    shape = np.where(x <= 2, 0.5, np.where(x >= 4, 3.0, 1.0))
    t = 20 * (-np.log(rng.random(n))) ** (1 / shape)
    c = rng.uniform(5, 40, n)
    return framed(x, np.minimum(t, c), (t <= c).astype(float))


def test_ph_violation_is_a_caveat_and_the_headline_leads_with_rmst():
    s = study(rmst_tau=None)
    result = R_analysis.analyze(crossing_hazards(), s)
    cox = result.results["cox"]
    assert cox["ph_p"] < 0.05 and cox["ph_violated"] is True and cox["hazard_ratio"] is not None
    assert any(w.startswith("Proportional hazards do not hold") for w in result.warnings)
    text = R_narrative.headline(result, s)
    assert text.startswith("Over the first ") and "RMST difference" in text and "95% CI" in text
    assert "hazards are not proportional" in text and "hazard ratio 0" not in text


def test_separation_gives_a_penalised_hazard_ratio_and_no_interval():
    t = np.arange(1, 41, dtype=float)
    x = np.repeat([1.0, 2, 3, 4, 5], 8)             # every churner has the lowest rating still at risk
    s = study(rmst_tau=None)
    result = R_analysis.analyze(framed(x, t, np.ones(40)), s)
    cox = result.results["cox"]
    assert cox["separation"] is True and 0 < cox["penalised_hazard_ratio"] < 1
    assert cox["hazard_ratio"] is None and cox["ci_low"] is None and cox["ci_high"] is None
    assert R_narrative.headline(result, s).startswith("Over the first ")
    assert "no finite estimate" in R_narrative.headline(result, s)
    assert "no confidence interval" in R_narrative.interpret_cox(result)
    assert "Proportional hazards" not in R_narrative.interpret_cox(result)   # no PH reading of a penalised fit
    row = result.hazard_ratios.iloc[0]
    assert row["model"] == "rating only (penalised)" and np.isnan(row["ci_low"])


# ---------------------------------------------------------------- KM curves drawn while 10+ at risk

def test_km_curves_drawn_only_while_ten_at_risk():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(2)
    sizes = {1: 30, 2: 8, 3: 200}
    x = np.concatenate([[k] * v for k, v in sizes.items()]).astype(float)
    t = np.round(rng.exponential(10, len(x)), 2) + 0.01
    frame = framed(x, t, rng.random(len(x)) < 0.7)
    result = R_analysis.analyze(frame, study(rmst_tau=None))
    # the figures are unaffected: the curves run to each tier's last time
    last = result.curves.groupby("tier", observed=True)["time"].max()
    assert last.to_dict() == frame.groupby("tier", observed=True)["duration"].max().to_dict()
    fig = R_figures.km_curves(result.curves, result.at_risk)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    for tier in ("1", "3"):
        dur = np.sort(frame.loc[frame["experience"] == int(tier), "duration"].to_numpy())
        assert max(lines[tier].get_xdata()) == dur[-10]          # 10 at risk (duration >= t) up to here, 9 after
    assert "2 (not drawn: fewer than 10 at risk)" in lines and len(lines["2 (not drawn: fewer than 10 at risk)"]
                                                                  .get_xdata()) == 0
    plt.close("all")


# ---------------------------------------------------------------- narrative rules (tables)

@pytest.mark.parametrize("events, cox, lead", [
    (0, {"hazard_ratio": None}, "none"),
    (10, {"hazard_ratio": 0.7, "separation": False, "ph_violated": False}, "hazard_ratio"),
    (10, {"hazard_ratio": 0.7, "separation": False, "ph_violated": True}, "rmst_difference"),
    (10, {"hazard_ratio": None, "separation": True, "ph_violated": False}, "rmst_difference"),
    (10, {"hazard_ratio": None, "separation": False, "ph_violated": False}, "rmst_difference"),
])
def test_lead_figure(events, cox, lead):
    assert R_narrative.lead_figure(events, cox) == lead


@pytest.mark.parametrize("hr, low, high, p, text", [
    (0.70, 0.69, 0.71, 1e-20,
     "each extra rating point goes with a 30% lower churn hazard (hazard ratio 0.70, 95% CI 0.69 to 0.71, p < 0.001)"),
    (1.25, 1.05, 1.49, 0.012,
     "each extra rating point goes with a 25% higher churn hazard (hazard ratio 1.25, 95% CI 1.05 to 1.49, p = 0.012)"),
    (0.95, 0.88, 1.03, 0.198,
     "the data cannot tell whether the churn hazard is associated with the rating (hazard ratio 0.95, 95% CI 0.88 "
     "to 1.03, p = 0.20)"),
    (None, None, None, None, "the hazard ratio per rating point is not defined"),
])
def test_hazard_ratio_clause(hr, low, high, p, text):
    assert R_narrative.hazard_ratio_clause(hr, low, high, p) == text


@pytest.mark.parametrize("diff, text", [
    ({"difference": -25.43, "ci_low": -26.6, "ci_high": -24.2, "p": 1e-50},
     "over the first 60 months, customers who rated 1 stayed 25.4 months less on average than those who rated 5 "
     "(RMST difference -25.4 months, 95% CI -26.6 months to -24.2 months, p < 0.001)"),
    ({"difference": 2.0, "ci_low": 0.5, "ci_high": 3.5, "p": 0.009},
     "over the first 60 months, customers who rated 1 stayed 2.0 months longer on average than those who rated 5 "
     "(RMST difference 2.0 months, 95% CI 0.5 months to 3.5 months, p = 0.0090)"),
    ({"difference": -1.2, "ci_low": -3.0, "ci_high": 0.6, "p": 0.19},
     "over the first 60 months, the data cannot tell whether customers who rated 1 and those who rated 5 differ in "
     "mean time as a customer (RMST difference -1.2 months, 95% CI -3.0 months to 0.6 months, p = 0.19)"),
    ({"difference": 0.0, "ci_low": None, "ci_high": None, "p": None},
     "over the first 60 months, the difference in mean time as a customer is not defined"),
    (None, "over the first 60 months, the difference in mean time as a customer is not defined"),
])
def test_rmst_difference_clause(diff, text):
    assert R_narrative.rmst_difference_clause(diff, 60, "months", "who rated 1", "who rated 5") == text


@pytest.mark.parametrize("named, tier, versus, p, text", [
    (True, "poor", "great", 0.001, "The poor tier differs from the great tier (Holm-adjusted p = 0.0010)."),
    (True, "fair", "great", 0.3,
     "The data cannot tell whether the fair tier differs from the great tier (Holm-adjusted p = 0.30)."),
    (False, "1", "5", 1e-9, "Customers who rated 1 differ from those who rated 5 (Holm-adjusted p < 0.001)."),
    (False, "4", "5", 0.07, "The data cannot tell whether customers who rated 4 differ from those who rated 5 "
                            "(Holm-adjusted p = 0.070)."),
])
def test_pair_verdict(named, tier, versus, p, text):
    assert R_narrative.pair_verdict(named, tier, versus, p) == text


@pytest.mark.parametrize("rule, args, text", [
    ("who", (True, "poor"), "in the poor tier"), ("who", (False, "3"), "who rated 3"),
    ("time", (12.345, "months"), "12.3 months"), ("time", (None, "weeks"), "not defined"),
    ("window", (48.0, "months"), "the first 48 months"), ("span", (24.0, "months"), "24 months"), ("window", (19.97, "weeks"), "the first 20.0 weeks"),
    ("window", (83.5, "days"), "the first 83.5 days"),
    ("money", (1792.4, "EUR"), "1,792 EUR"), ("money", (1792.4, None), "1,792"),
    ("with_ci", (0.7, 0.6, 0.8), "0.70, 95% CI 0.60 to 0.80"), ("with_ci", (0.7, None, None),
                                                                 "0.70, interval not defined"),
    ("time_interval", (19.34, 18.4, 20.2, "months"), "19.3 months (95% CI 18.4 months to 20.2 months)"),
    ("sentence", ("over the first 60 months, x.",), "Over the first 60 months, x."),
])
def test_small_rules(rule, args, text):
    assert getattr(R_narrative, rule)(*args) == text


def test_caveat_rules():
    assert R_narrative.tau_capped(40, 19.5, "5", "months").startswith(
        "The RMST window asked for, 40 months, reaches past the follow-up of tier 5, which ends at 19.5 months: "
        "the window was capped to 19.5 months")
    assert "Schoenfeld test p = 0.0025" in R_narrative.ph_violated(0.0025)
    assert "no confidence interval" in R_narrative.separation(0.1)


def all_text(result, s):
    return "\n".join([R_narrative.headline(result, s), R_narrative.interpret_tests(result, s),
                      R_narrative.interpret_cox(result), R_narrative.interpret_value(result, s),
                      R_narrative.describe_censoring(result), *result.warnings])


@pytest.mark.parametrize("case", ["default", "crossing", "separated", "capped"])
def test_no_effect_words_and_units_after_times(case):
    s = study(rmst_tau=40 if case == "capped" else None, value_per_period="v", value_unit="EUR")
    if case == "default":
        from cxlab.synth.lifecycles import lifecycles
        data = lifecycles(n=2000, seed=1)
        frame = framed(data["experience"], data["duration"], data["event"], value=data["monthly_charge"])
    elif case == "crossing":
        frame = crossing_hazards().assign(value=30.0)
    elif case == "separated":
        frame = framed(np.repeat([1.0, 2, 3, 4, 5], 8), np.arange(1, 41.0), np.ones(40), value=10.0)
    else:
        frame = short_tier_data()
    result = R_analysis.analyze(frame, s)
    text = all_text(result, s)
    lower = text.lower()
    assert not [w for w in EFFECT_WORDS if w in lower], text
    assert "e-" not in text and "nan" not in lower
    if case != "separated":
        assert "undiscounted" in text and "If the experience were the cause" in text and " EUR" in text


def test_value_unit_needs_value_per_period():
    from cxlab.errors import StudyFileError
    with pytest.raises(StudyFileError, match="value_unit"):
        study(value_unit="EUR")


def test_results_schema_holds_the_wave2_keys():
    from cxlab.record import record, validate_results

    s = study(rmst_tau=40, value_per_period="v", value_unit="EUR")
    result = R_analysis.analyze(short_tier_data(), s)
    doc = {"study": "t", "notebook": "retention", "status": "ok",
           "provenance": {"parameters": {}, "inputs": {}, "packages": {}, "started": "t0", "ended": "t1"},
           **record(result.results, headline=R_narrative.headline(result, s))}
    assert validate_results(doc) == []
    broken = {**doc, "results": {**doc["results"], "cox": {k: v for k, v in doc["results"]["cox"].items()
                                                            if k != "ph_violated"}}}
    assert any("ph_violated" in p for p in validate_results(broken))
    no_tau = {**doc, "results": {k: v for k, v in doc["results"].items() if k != "rmst_tau_requested"}}
    assert any("rmst_tau_requested" in p for p in validate_results(no_tau))
