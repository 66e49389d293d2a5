"""The retention study's figures (DESIGN 5.2, issue 3) against independent code and known truths.

Independent references: statsmodels ``SurvfuncRight`` (Kaplan-Meier), ``survdiff``
(log-rank), ``PHReg(ties="efron")`` (Cox), ``multipletests`` (Holm); hand
computations (the PH test against R: tests/test_retention_ph.py). R is not needed at run time.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi, load_waltons
from scipy import integrate
from scipy import stats as sps
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.stats.multitest import multipletests

from cxlab.params import parse_study
from cxlab.stats import cox as cox_model
from cxlab.stats import multitest, survival
from cxlab.stats.tables import log10_chi2_sf
from cxlab.studies.retention import analysis as R_analysis
from cxlab.studies.retention import figures as R_figures
from cxlab.studies.retention import load as R_load
from cxlab.studies.retention import narrative as R_narrative
from cxlab.synth.lifecycles import TRUTH, lifecycles

REL = 1e-6


def study(base_dir=None, **over):
    raw = {"study": "t", "notebook": "retention", "data": {"synthetic": "lifecycles", "n": 3000, "seed": 1},
           "rmst_tau": 48}
    raw.update(over)
    return parse_study(raw, base_dir=base_dir)


def run(s, base_dir=None):
    frame, summary = R_load.read(s, base_dir)
    return R_analysis.analyze(frame, s), frame


@pytest.fixture(scope="module")
def rossi_csv(tmp_path_factory):
    """The Rossi recidivism data (lifelines, real) as a study CSV: prior convictions 0..4+ as the 'rating'."""
    r = load_rossi()
    folder = tmp_path_factory.mktemp("rossi")
    out = pd.DataFrame({"weeks": r["week"], "arrested": r["arrest"], "priors": np.minimum(r["prio"], 4) + 1,
                        "age": r["age"], "fin": np.where(r["fin"] == 1, "aid", "none")})
    out.to_csv(folder / "rossi.csv", index=False)
    return folder, out


def rossi_study(folder, **over):
    raw = {"study": "rossi", "notebook": "retention", "time_unit": "weeks", "horizons": [20, 40], "rmst_tau": 50,
           "data": {"path": "rossi.csv", "columns": {"duration": "weeks", "event": "arrested", "experience": "priors"}}}
    raw.update(over)
    return parse_study(raw, base_dir=folder)


# ---------------------------------------------------------------- keys

def test_result_keys_follow_design():
    result, _ = run(study())
    r = result.results
    assert [t["tier"] for t in r["tiers"]] == ["1", "2", "3", "4", "5"]
    for t in r["tiers"]:
        assert set(t) == {"tier", "n", "events", "median", "median_ci_low", "median_ci_high", "survival", "rmst"}
        assert set(t["survival"]) == {"12", "24"}
    assert set(r["logrank"]) == {"statistic", "dof", "p", "log10_p"}
    assert set(r["cox"]) == {"hazard_ratio", "ci_low", "ci_high", "penalizer", "separation", "ph_p", "ph_violated",
                             "penalised_hazard_ratio"}
    assert r["cox"]["penalised_hazard_ratio"] is None and r["rmst_tau"] == 48 and r["rmst_tau_requested"] == 48
    assert r["cox"]["penalizer"] == 0 and r["cox"]["separation"] is False
    assert [t["tier"] for t in r["pairwise_logrank"]] == ["1", "2", "3", "4"]
    assert all(t["versus"] == "5" for t in r["pairwise_logrank"])
    assert [t["tier"] for t in r["rmst_difference"]["tiers"]] == ["1", "2", "3", "4"]
    assert r["cox_covariates"] is None and r["value"] is None


# ---------------------------------------------------------------- against statsmodels, real data

def test_waltons_km_and_logrank_against_statsmodels():
    w = load_waltons()
    for _, sub in w.groupby("group"):
        ref = SurvfuncRight(sub["T"].to_numpy(float), sub["E"].to_numpy(float))
        tab = survival.km_table(sub["T"].to_numpy(), sub["E"].to_numpy())
        np.testing.assert_allclose(tab["time"], ref.surv_times, rtol=REL)
        np.testing.assert_allclose(tab["survival"], ref.surv_prob, rtol=REL)
        np.testing.assert_allclose(tab["at_risk"], ref.n_risk, rtol=REL)
        assert survival.km_median(tab) == pytest.approx(ref.quantile(0.5), rel=REL)
    stat, _ = survdiff(w["T"].to_numpy(float), w["E"].to_numpy(float), w["group"].to_numpy())
    lr = survival.logrank(w["T"], w["E"], w["group"])
    assert lr["statistic"] == pytest.approx(stat, rel=REL) and lr["dof"] == 1
    assert lr["p"] == pytest.approx(sps.chi2.sf(stat, 1), rel=REL)


def test_rossi_study_against_statsmodels(rossi_csv):
    folder, data = rossi_csv
    s = rossi_study(folder)
    result, frame = run(s, folder)
    r = result.results
    assert r["n"] == 432 and r["events"] == 114
    for t in r["tiers"]:
        sub = data[data["priors"] == int(t["tier"])]
        ref = SurvfuncRight(sub["weeks"].to_numpy(float), sub["arrested"].to_numpy(float))
        assert (t["n"], t["events"]) == (len(sub), sub["arrested"].sum())
        for h, value in t["survival"].items():
            k = np.searchsorted(ref.surv_times, float(h), side="right")
            assert value == pytest.approx(ref.surv_prob[k - 1] if k else 1.0, rel=REL)
    stat, _ = survdiff(data["weeks"].to_numpy(float), data["arrested"].to_numpy(float), data["priors"].to_numpy())
    assert r["logrank"]["statistic"] == pytest.approx(stat, rel=REL) and r["logrank"]["dof"] == 4
    fit = PHReg(data["weeks"].to_numpy(float), data[["priors"]].to_numpy(float),
                status=data["arrested"].to_numpy(float), ties="efron").fit()
    beta, se = fit.params[0], fit.bse[0]
    assert r["cox"]["hazard_ratio"] == pytest.approx(math.exp(beta), rel=REL)
    assert r["cox"]["ci_low"] == pytest.approx(math.exp(beta - 1.959963984540054 * se), rel=REL)
    assert r["cox"]["ci_high"] == pytest.approx(math.exp(beta + 1.959963984540054 * se), rel=REL)


def test_rossi_cox_on_raw_prior_count_against_statsmodels():
    r = load_rossi()
    fit = PHReg(r["week"].to_numpy(float), r[["prio"]].to_numpy(float), status=r["arrest"].to_numpy(float),
                ties="efron").fit()
    cox = cox_model.cox_rating(r["week"], r["arrest"], r["prio"])
    assert cox["hazard_ratio"] == pytest.approx(math.exp(fit.params[0]), rel=REL)
    assert cox["se"] == pytest.approx(fit.bse[0], rel=REL)


def test_adjusted_cox_one_hot_against_statsmodels(rossi_csv):
    folder, data = rossi_csv
    s = rossi_study(folder, covariates=["age", "fin"])
    result, _ = run(s, folder)
    adj = result.results["cox_covariates"]
    assert adj["reference_levels"] == {"fin": "aid"} or adj["reference_levels"] == {"fin": "none"}
    ref_level = adj["reference_levels"]["fin"]
    counts = data["fin"].value_counts()
    assert ref_level == sorted(counts.index[counts == counts.max()])[0]   # most frequent, ties alphabetical
    other = "none" if ref_level == "aid" else "aid"
    X = np.column_stack([data["priors"], data["age"], (data["fin"] == other).astype(float)])
    fit = PHReg(data["weeks"].to_numpy(float), X, status=data["arrested"].to_numpy(float), ties="efron").fit()
    terms = {t["term"]: t for t in adj["terms"]}
    assert list(terms) == ["experience", "age", f"fin={other}"]
    for (name, t), b, se in zip(terms.items(), fit.params, fit.bse):
        assert t["hazard_ratio"] == pytest.approx(math.exp(b), rel=REL)
        assert t["ci_high"] == pytest.approx(math.exp(b + 1.959963984540054 * se), rel=REL)
    assert terms[f"fin={other}"]["reference"] == ref_level
    labels = result.hazard_ratios["term"].tolist()
    assert f"fin: {other} vs {ref_level}" in labels


# ---------------------------------------------------------------- against statsmodels, synthetic data

def test_synthetic_study_against_statsmodels():
    s = study(data={"synthetic": "lifecycles", "n": 3000, "seed": 7})
    result, frame = run(s)
    data = lifecycles(n=3000, seed=7)
    r = result.results
    for t in r["tiers"]:
        sub = data[data["experience"] == int(t["tier"])]
        ref = SurvfuncRight(sub["duration"].to_numpy(float), sub["event"].to_numpy(float))
        q = ref.quantile(0.5)
        assert (t["median"] is None and np.isnan(q)) or t["median"] == pytest.approx(q, rel=REL)
        for h, value in t["survival"].items():
            k = np.searchsorted(ref.surv_times, float(h), side="right")
            assert value == pytest.approx(ref.surv_prob[k - 1], rel=REL)
    stat, _ = survdiff(data["duration"].to_numpy(float), data["event"].to_numpy(float), data["experience"].to_numpy())
    assert r["logrank"]["statistic"] == pytest.approx(stat, rel=REL)
    fit = PHReg(data["duration"].to_numpy(float), data[["experience"]].to_numpy(float),
                status=data["event"].to_numpy(float), ties="efron").fit()
    assert r["cox"]["hazard_ratio"] == pytest.approx(math.exp(fit.params[0]), rel=REL)
    assert r["cox"]["ci_low"] == pytest.approx(math.exp(fit.params[0] - 1.959963984540054 * fit.bse[0]), rel=REL)
    assert 0.05 < r["cox"]["ph_p"] <= 1   # proportional hazards hold by construction (a test can fail by chance)
    # pairwise log-rank against the best tier, Holm-adjusted like statsmodels
    raw = []
    for t in r["pairwise_logrank"]:
        pair = data[data["experience"].isin([int(t["tier"]), 5])]
        st, _ = survdiff(pair["duration"].to_numpy(float), pair["event"].to_numpy(float), pair["experience"].to_numpy())
        assert t["statistic"] == pytest.approx(st, rel=REL)
        raw.append(sps.chi2.sf(st, 1))
    holm = multipletests(raw, method="holm")[1]
    np.testing.assert_allclose([t["p_holm"] for t in r["pairwise_logrank"]], holm, rtol=REL)


def test_holm_against_statsmodels():
    p = [0.01, 0.04, 0.03, 0.5, 0.0001, 0.02]
    np.testing.assert_allclose(multitest.holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    assert multitest.holm([0.2, None, 0.01]) == [pytest.approx(0.2), None, pytest.approx(0.02)]


# ---------------------------------------------------------------- RMST

def rmst_reference(t, e, tau):
    """RMST by numerical integration of statsmodels' KM step function; variance by the textbook sum, looped."""
    ref = SurvfuncRight(np.asarray(t, float), np.asarray(e, float))

    def S(u):
        k = np.searchsorted(ref.surv_times, u, side="right")
        return ref.surv_prob[k - 1] if k else 1.0

    knots = [0.0] + [x for x in ref.surv_times if x < tau] + [tau]
    area = sum(integrate.quad(S, a, b, limit=2)[0] for a, b in zip(knots, knots[1:]) if b > a)
    var = 0.0
    for ti, n, dd in zip(ref.surv_times, ref.n_risk, ref.n_events):
        if ti > tau:
            break
        A = sum(integrate.quad(S, a, b, limit=2)[0] for a, b in zip(knots, knots[1:]) if a >= ti and b > a)
        if n > dd:
            var += A * A * dd / (n * (n - dd))
    return area, var


def test_rmst_against_integration_waltons_and_synthetic():
    w = load_waltons()
    for _, sub in w.groupby("group"):
        for tau in (30.0, 50.5, 80.0):
            area, var = survival.rmst(survival.km_fit(*survival.tally(sub["T"], sub["E"])), tau)
            ref_area, ref_var = rmst_reference(sub["T"], sub["E"], tau)
            assert area == pytest.approx(ref_area, rel=REL) and var == pytest.approx(ref_var, rel=REL)
    data = lifecycles(n=800, seed=3)
    area, var = survival.rmst(survival.km_fit(*survival.tally(data["duration"], data["event"])), 36.0)
    ref_area, ref_var = rmst_reference(data["duration"], data["event"], 36.0)
    assert area == pytest.approx(ref_area, rel=REL) and var == pytest.approx(ref_var, rel=REL)
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time
    km = KaplanMeierFitter().fit(data["duration"], data["event"])
    assert area == pytest.approx(restricted_mean_survival_time(km, t=36.0), rel=1e-4)


def test_rmst_difference_interval():
    result, _ = run(study())
    r = result.results
    rm = {t["tier"]: t for t in r["rmst"]}
    for diff in r["rmst_difference"]["tiers"]:
        a, b = rm[diff["tier"]], rm["5"]
        se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
        assert diff["difference"] == pytest.approx(a["rmst"] - b["rmst"])
        assert diff["ci_low"] == pytest.approx(a["rmst"] - b["rmst"] - 1.959963984540054 * se)
        assert diff["ci_high"] == pytest.approx(a["rmst"] - b["rmst"] + 1.959963984540054 * se)


# ---------------------------------------------------------------- hand-checkable

def test_hand_example_survival_exactly_half_over_an_interval():
    # four customers churn at 1, 2, 3, 4: S = 0.75, 0.5, 0.25, 0; S is exactly 0.5 on [2, 3).
    tab = survival.km_table([1, 2, 3, 4], [1, 1, 1, 1])
    # lifelines forms S as exp(sum log(1 - d/n)): a hair off the exact products, hence DESIGN's 1e-9 tolerance
    np.testing.assert_allclose(tab["survival"], [0.75, 0.5, 0.25, 0.0], rtol=1e-12, atol=1e-15)
    assert survival.km_median(tab) == 2.0                      # first time S <= 0.5 (R would print 2.5)
    area, var = survival.rmst(survival.km_fit(*survival.tally([1, 2, 3, 4], [1, 1, 1, 1])), 4.0)
    assert area == pytest.approx(1 + 0.75 + 0.5 + 0.25)
    # A_1 = 1.5, A_2 = 0.75, A_3 = 0.25, A_4 = 0: 1.5^2/12 + 0.75^2/6 + 0.25^2/2
    assert var == pytest.approx(0.1875 + 0.09375 + 0.03125)
    assert survival.survival_at(tab, 2.5, last_time=4) == 0.5
    assert survival.survival_at(tab, 2.0, last_time=4) == 0.5     # events at the horizon count


def test_median_tolerates_a_product_a_hair_above_half():
    # at risk 10, 9, 8, 7, 6 with one churn each: S = 9/10 * 8/9 * 7/8 * 6/7 * 5/6 = 1/2 exactly on paper
    t = np.arange(1, 11, dtype=float)
    e = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=float)
    tab = survival.km_table(t, e)
    assert abs(tab["survival"].iloc[4] - 0.5) < 1e-12
    assert survival.km_median(tab) == 5.0
    assert survival.km_median(survival.km_table([1, 2, 3], [1, 0, 0])) is None    # never reaches 0.5


def test_survival_past_follow_up_is_not_estimated():
    tab = survival.km_table([1, 2, 5], [1, 0, 0])
    assert survival.survival_at(tab, 4, last_time=5) == pytest.approx(2 / 3)
    assert survival.survival_at(tab, 6, last_time=5) is None


# ---------------------------------------------------------------- synthetic truth

def test_hazard_ratio_interval_covers_truth_in_at_least_34_of_40_seeds():
    covered = 0
    for seed in range(40):
        data = lifecycles(n=400, seed=seed)
        cox = cox_model.cox_rating(data["duration"], data["event"], data["experience"])
        covered += cox["ci_low"] <= TRUTH["hazard_ratio"] <= cox["ci_high"]
    assert covered >= 34, covered


def test_generator_truth_is_consistent():
    data = lifecycles(n=200_000, seed=11)
    cox = cox_model.cox_rating(data["duration"], data["event"], data["experience"])
    assert cox["ci_low"] <= TRUTH["hazard_ratio"] <= cox["ci_high"]
    for rating in (1, 3):
        sub = data[data["experience"] == rating]
        tab = survival.km_table(sub["duration"], sub["event"])
        assert survival.km_median(tab) == pytest.approx(TRUTH["medians"][rating], rel=0.03)
        assert survival.survival_at(tab, 12, 84) == pytest.approx(TRUTH["survival"][rating][12], abs=0.01)


# ---------------------------------------------------------------- dates

def test_durations_from_dates_by_hand(tmp_path):
    pd.DataFrame({"id": [1, 2, 3, 4],
                  "joined": ["2024-01-01", "2024-03-01", "2025-06-30", "2024-02-29"],
                  "left": ["2024-01-31", "", "", "2025-02-28"],
                  "rating": [1, 2, 3, 4]}).to_csv(tmp_path / "d.csv", index=False)
    cols = {"start_date": "joined", "end_date": "left", "experience": "rating"}
    # 30 days churned; 2024-03-01 -> 2025-12-31 = 670 days active; 2025-06-30 -> 184 days; leap day -> 365 days.
    # Calendar months (DESIGN 5.2, wave 2), by hand: 30/31 of January; 21 months to 2025-12-01, then 30 of
    # December's 31 days; 6 months to 2025-12-30, then 1 of the 31 days to 2026-01-30; 29 February + 12 months
    # is 28 February 2025 (day clamped): exactly 12.
    expected = {"days": np.array([30, 670, 184, 365]), "weeks": np.array([30, 670, 184, 365]) / 7,
                "months": np.array([30 / 31, 21 + 30 / 31, 6 + 1 / 31, 12])}
    for unit, values in expected.items():
        s = parse_study({"study": "d", "notebook": "retention", "time_unit": unit, "observation_end": "2025-12-31",
                         "data": {"path": "d.csv", "columns": cols}}, base_dir=tmp_path)
        frame, _ = R_load.read(s, tmp_path)
        np.testing.assert_allclose(frame["duration"], values, rtol=1e-12)
        assert frame["event"].tolist() == [1, 0, 0, 1]


def test_synthetic_dates_and_durations_agree():
    s_dates = study(observation_end="2025-12-31", data={"synthetic": "lifecycles", "n": 1000, "seed": 2})
    s_dur = study(data={"synthetic": "lifecycles", "n": 1000, "seed": 2})
    a, _ = R_load.read(s_dates)
    b, _ = R_load.read(s_dur)
    np.testing.assert_allclose(a["duration"], b["duration"], rtol=1e-12)
    assert (a["event"] == b["event"]).all()


# ---------------------------------------------------------------- special cases

def test_no_events_gives_a_report_not_an_error():
    frame = pd.DataFrame({"experience": [1, 2, 3, 1, 2, 3.0], "duration": [1, 2, 3, 4, 5, 6.0], "event": 0.0})
    s = study(rmst_tau=None)
    from cxlab.params import ExperienceSpec
    from cxlab.tiers import assign_tiers
    frame["tier"] = assign_tiers(frame["experience"], ExperienceSpec(), "x")
    result = R_analysis.analyze(frame, s)
    r = result.results
    assert r["events"] == 0
    assert r["logrank"]["statistic"] is None and r["cox"]["hazard_ratio"] is None
    assert all(t["median"] is None for t in r["tiers"])
    assert r["tiers"][0]["rmst"] == pytest.approx(r["rmst_tau"])      # everyone stays
    assert any("No customer churned" in w for w in result.warnings)
    assert "no customer churned" in R_narrative.headline(result, s)


def test_tier_without_events_is_said_and_cox_still_converges():
    data = lifecycles(n=2000, seed=5)
    data.loc[data["experience"] == 5, "event"] = 0
    from cxlab.params import ExperienceSpec
    from cxlab.tiers import assign_tiers
    data["tier"] = assign_tiers(data["experience"].astype(float), ExperienceSpec(), "x")
    result = R_analysis.analyze(data, study())
    assert result.results["cox"]["separation"] is False and result.results["cox"]["penalizer"] == 0
    assert result.results["tiers"][-1]["median"] is None
    assert any("tier 5 churned" in w for w in result.warnings)


def test_monotone_likelihood_triggers_penalised_refit():
    # every churner has the lowest rating still at risk: the coefficient diverges to -inf
    t = np.arange(1, 21, dtype=float)
    x = np.repeat([1.0, 2, 3, 4, 5], 4)
    e = np.ones(20)
    assert cox_model.monotone_likelihood(t, e, x)
    cox = cox_model.cox_rating(t, e, x)
    assert cox["separation"] is True and cox["penalizer"] == 0.1
    # wave 2: the penalised refit is a description without an interval; the hazard ratio itself is undefined
    assert 0 < cox["penalised_hazard_ratio"] < 1
    assert cox["hazard_ratio"] is None and cox["ci_low"] is None and cox["ci_high"] is None
    assert not cox_model.monotone_likelihood(t, e, np.r_[x[1:], x[:1]])   # one churner out of order
    frame = pd.DataFrame({"experience": x, "duration": t, "event": e})
    from cxlab.params import ExperienceSpec
    from cxlab.tiers import assign_tiers
    frame["tier"] = assign_tiers(frame["experience"], ExperienceSpec(), "x")
    result = R_analysis.analyze(frame, study(rmst_tau=5))
    assert any("ridge penalty of 0.1" in w for w in result.warnings)
    assert "penalised" in R_narrative.interpret_cox(result)


def test_value_at_stake():
    s = study(value_per_period="monthly_charge")
    result, frame = run(s)
    v = result.results["value"]
    rm = {t["tier"]: t["rmst"] for t in result.results["rmst"]}
    means = frame.groupby("tier", observed=True)["value"].mean()
    for t in v["tiers"]:
        assert t["expected_value"] == pytest.approx(rm[t["tier"]] * means[t["tier"]])
    g = v["gain_at_best_retention"]
    assert g["value"] == pytest.approx((rm["5"] - rm["1"]) * means["1"])
    assert g["ci_low"] < g["value"] < g["ci_high"]


def test_log10_p_beyond_underflow():
    for x in (50.0, 800.0, 3000.0):
        assert log10_chi2_sf(x, 1) == pytest.approx((sps.norm.logsf(math.sqrt(x)) + math.log(2)) / math.log(10),
                                                      rel=1e-9)
        # 2 dof: the tail is exp(-x/2)
        assert log10_chi2_sf(x, 2) == pytest.approx(-x / 2 / math.log(10), rel=1e-9)
        # 4 dof: exp(-x/2) (1 + x/2)
        assert log10_chi2_sf(x, 4) == pytest.approx((-x / 2 + math.log1p(x / 2)) / math.log(10), rel=1e-9)
    result, _ = run(study(data={"synthetic": "lifecycles", "n": 20000, "seed": 1}))
    lr = result.results["logrank"]
    assert lr["p"] == 0 and lr["log10_p"] < -300


def test_named_tiers_and_headline_words():
    s = study(experience={"scale": [1, 5], "tiers": {"poor": [1, 2], "okay": [3, 3], "great": [4, 5]}})
    result, frame = run(s)
    r = result.results
    assert [t["tier"] for t in r["tiers"]] == ["poor", "okay", "great"]
    assert r["best_tier"] == "great" and r["worst_tier"] == "poor"
    assert r["tiers"][0]["n"] == int((frame["experience"] <= 2).sum())
    text = R_narrative.headline(result, s)
    poor = r["rmst"][0]
    # wave 2: the hazard ratio (proportional hazards hold in this generator) leads, with its interval
    assert not r["cox"]["ph_violated"]
    assert text.startswith(f"Each extra rating point goes with a {1 - r['cox']['hazard_ratio']:.0%} lower churn hazard "
                           f"(hazard ratio {r['cox']['hazard_ratio']:.2f}, 95% CI {r['cox']['ci_low']:.2f} to ")
    assert (f"customers in the poor tier stayed {poor['rmst']:.1f} months (95% CI {poor['ci_low']:.1f} months to "
            f"{poor['ci_high']:.1f} months) on average over the first 48 months") in text
    assert "for those in the great tier" in text
    # the Cox model is on the numeric rating whatever the tiers
    data = lifecycles(n=3000, seed=1)
    assert r["cox"]["hazard_ratio"] == pytest.approx(
        cox_model.cox_rating(data["duration"], data["event"], data["experience"])["hazard_ratio"], rel=1e-12)


def test_at_risk_table_and_plots():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    result, frame = run(study(covariates=["channel"]))
    for tier, row in result.at_risk.iterrows():
        dur = frame.loc[frame["tier"].astype(str) == tier, "duration"]
        assert row.tolist() == [int((dur >= t).sum()) for t in result.at_risk.columns]
    fig = R_figures.km_curves(result.curves, result.at_risk, "months")
    curves_ax, table_ax = fig.axes
    shown = {t.get_text() for t in table_ax.texts}
    assert f"{int(result.at_risk.iloc[0, 0]):,}" in shown
    assert len(curves_ax.get_legend().get_texts()) == 5
    ax = R_figures.forest(result.hazard_ratios)
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "experience (per point) (rating only)"
    assert any("channel: " in t.get_text() for t in ax.get_yticklabels())
    ax2 = R_figures.rmst_bars(pd.DataFrame(result.results["rmst"]), 48, "months")
    heights = [p.get_height() for p in ax2.patches]
    np.testing.assert_allclose(heights, [t["rmst"] for t in result.results["rmst"]])
    plt.close("all")
    # curves start at 1 and the bands contain the estimate
    first = result.curves.groupby("tier", observed=True).first()
    assert (first["survival"] == 1).all()
    assert (result.curves["ci_low"] <= result.curves["survival"] + 1e-12).all()
