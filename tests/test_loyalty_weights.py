"""Loyalty wave 2 (DESIGN 5.1 revisions): sampling weights against R `survey`, weight-scale invariance,
trend scores with an absent rating, the Monte Carlo p under small expected counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from cxlab.params import parse_study
from cxlab.stats.survey import rao_scott_f, svy_logit
from cxlab.stats.tables import chi2_monte_carlo_p, cochran_armitage, small_expected
from cxlab.studies.loyalty import analysis as Y_analysis
from cxlab.studies.loyalty import load as Y_load

# The fixture: 36 respondents, rating 1-5, one binary outcome y, sampling weights w.
X = [1, 3, 4, 1, 1, 5, 1, 1, 5, 4, 3, 3, 4, 2, 1, 4, 4, 3, 4, 3, 5, 2, 3, 3, 3, 3, 2, 4, 5, 1, 3, 2, 1, 5, 3, 1]
Y = [0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0]
W = [0.73, 0.54, 1.23, 2.32, 1.73, 2.63, 1.04, 1.29, 1.15, 2.95, 2.85, 1.35, 1.59, 1.29, 2.37, 0.6, 0.67, 1.51,
     1.11, 2.61, 2.35, 1.86, 2.15, 2.23, 2.45, 2.82, 0.87, 2.07, 0.86, 1.61, 2.47, 2.74, 2.4, 0.59, 1.4, 0.91]
TIERS = {"poor": [1, 2], "fair": [3, 3], "great": [4, 5]}

# Reference values from R 4.2, survey 4.1.1 (R is not a project dependency; run by hand):
#   library(survey); d <- read.csv("fixture.csv")                         # columns x, y, w above
#   d$tier <- cut(d$x, c(0, 2, 3, 5), labels = c("poor", "fair", "great"))
#   d$score <- ave(d$x * d$w, d$tier, FUN = sum) / ave(d$w, d$tier, FUN = sum)
#   des <- svydesign(ids = ~1, weights = ~w, data = d)
#   svychisq(~x + y, des, statistic = "F")       # F, parameter (ndf, ddf), p.value
#   svychisq(~tier + y, des, statistic = "F")
#   ctl <- glm.control(epsilon = 1e-14, maxit = 100)  # tighter than the default so that SEs agree to 1e-9
#   m <- svyglm(y ~ x, des, family = quasibinomial, control = ctl); coef(m)[2]; SE(m)[2]
#   m2 <- svyglm(y ~ score, des, family = quasibinomial, control = ctl); coef(m2)[2] / SE(m2)[2]
#   coef(svyby(~y, ~tier, des, svymean)); tapply(d$w, d$tier, sum)^2 / tapply(d$w^2, d$tier, sum)  # Kish
#   b <- svyby(~y, ~tier, des, svymean, deff = "replace")   # tiers are domains: the whole design's n/(n-1)
#   p <- coef(b); neff <- p * (1 - p) / SE(b)^2; b$DEff     # svyciprop's n.eff = p(1-p)/v_design; design effect
#   wilson <- function(p, n, z = qnorm(0.975)) { c0 <- (p + z^2/(2*n))/(1 + z^2/n)
#     h <- z*sqrt(p*(1-p)/n + z^2/(4*n^2))/(1 + z^2/n); c(c0 - h, c0 + h) }   # Wilson with the design-based n
#   (the same with ~x for one tier per rating; rating 2 has a share of 0: design variance 0, Kish's n is used)
R_F_RATING = {"statistic": 3.02840593504127, "dof": 3.87451296097906, "dof2": 135.607953634267,
              "p": 0.0210111579383001}
R_F_TIERS = {"statistic": 4.62618765752902, "dof": 1.98273074993817, "dof2": 69.3955762478361,
             "p": 0.0132169365944132}
R_LOGIT = {"coef": 0.860647549863448, "se": 0.335103906924671}          # odds ratio exp(coef), normal interval
R_TREND_TIERS = {"z": 2.45636228715635, "p": 0.0140351584074897}
R_SCORES = [1.31947069943289, 3.0, 4.42584269662921]
R_RATES = [0.081758034026465, 0.694816800714924, 0.604494382022472]
R_NEFF = [11.2388200566276, 9.83243816254417, 9.34107727232525]                  # Kish, a description
R_NEFF_DESIGN = [11.7986958176153, 9.16952453542421, 9.14883580947303]
R_DEFF = [1.0170615621842, 1.09056908691039, 1.20233877064557]
R_WILSON = [(0.0142142991570796, 0.354754889600693), (0.380559257167052, 0.894036042077307),
            (0.305908478254828, 0.841278628943778)]
# one tier per rating (1..5)
R_NEFF_DESIGN_X = [8.02479416191475, None, 9.16952453542421, 5.47175318986315, 5.69201842953966]
R_DEFF_X = [0.996910305558687, None, 1.09056908691039, 1.09654068665149, 0.702738413361655]
R_WILSON_X = [(0.0209801369929268, 0.465242307236017), None, (0.380559257167052, 0.894036042077307),
              (0.136244234365971, 0.774074709778269), (0.4404514978313, 0.975439653197739)]
Z = sps.norm.ppf(0.975)


def _study(tmp_path, frame, tiers=None, weight=None, outcomes=("y",)):
    frame.to_csv(tmp_path / "d.csv", index=False)
    raw = {"study": "t", "notebook": "loyalty", "data": {"path": "d.csv", "columns": {"experience": "x"}},
           "experience": {"scale": [1, 5], "tiers": tiers}, "outcomes": list(outcomes)}
    if weight:
        raw["weight"] = weight
    study = parse_study(raw, base_dir=tmp_path)
    frame, _ = Y_load.read(study, tmp_path)
    return Y_analysis.analyze(frame, study)


def _fixture(scale: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"x": X, "y": Y, "w": np.asarray(W) * scale})


SAMPLING = {"column": "w", "kind": "sampling"}


def test_sampling_weights_named_tiers_match_r_survey(tmp_path):
    o = _study(tmp_path, _fixture(), TIERS, SAMPLING).results["outcomes"]["y"]
    tiers = o["tiers"]
    x, y = np.asarray(X), np.asarray(Y)
    groups = [(x <= 2), (x == 3), (x >= 4)]
    assert [t["n"] for t in tiers] == [int(g.sum()) for g in groups]     # row counts
    assert [t["count"] for t in tiers] == [int(y[g].sum()) for g in groups]
    assert [t["rate"] for t in tiers] == pytest.approx(R_RATES, rel=1e-12)
    assert [t["n_eff"] for t in tiers] == pytest.approx(R_NEFF, rel=1e-12)
    assert [t["n_eff_design"] for t in tiers] == pytest.approx(R_NEFF_DESIGN, rel=1e-10)
    assert [t["design_effect"] for t in tiers] == pytest.approx(R_DEFF, rel=1e-10)
    assert [t["score"] for t in tiers] == pytest.approx(R_SCORES, rel=1e-12)
    for t, (lo, hi) in zip(tiers, R_WILSON):
        assert (t["ci_low"], t["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
    chi2 = o["chi2"]
    for key, value in R_F_TIERS.items():
        assert chi2[key] == pytest.approx(value, rel=1e-10), key
    assert o["trend"]["z"] == pytest.approx(R_TREND_TIERS["z"], rel=1e-8)
    assert o["trend"]["p"] == pytest.approx(R_TREND_TIERS["p"], rel=1e-7)
    logit = o["logit"]
    assert logit["odds_ratio"] == pytest.approx(np.exp(R_LOGIT["coef"]), rel=1e-10)
    assert logit["ci_low"] == pytest.approx(np.exp(R_LOGIT["coef"] - Z * R_LOGIT["se"]), rel=1e-9)
    assert logit["ci_high"] == pytest.approx(np.exp(R_LOGIT["coef"] + Z * R_LOGIT["se"]), rel=1e-9)


def test_sampling_weights_one_tier_per_rating_match_r_survey(tmp_path):
    o = _study(tmp_path, _fixture(), None, SAMPLING).results["outcomes"]["y"]
    for key, value in R_F_RATING.items():
        assert o["chi2"][key] == pytest.approx(value, rel=1e-10), key
    for t, neff, deff, ci in zip(o["tiers"], R_NEFF_DESIGN_X, R_DEFF_X, R_WILSON_X):
        if neff is None:        # a share of 0: no design variance; Wilson with Kish's n
            assert t["rate"] == 0 and t["design_effect"] is None and t["n_eff_design"] == t["n_eff"]
            assert t["ci_high"] == pytest.approx(Z * Z / (t["n_eff"] + Z * Z), rel=1e-12)
            continue
        assert t["n_eff_design"] == pytest.approx(neff, rel=1e-10)
        assert t["design_effect"] == pytest.approx(deff, rel=1e-10)
        assert (t["ci_low"], t["ci_high"]) == pytest.approx(ci, rel=1e-10)
    # one tier per rating: the trend regression is the odds-ratio regression, so z = coef / se
    assert o["trend"]["z"] == pytest.approx(R_LOGIT["coef"] / R_LOGIT["se"], rel=1e-8)


def test_svy_logit_sandwich_equals_statsmodels_hc0_with_n_over_n_minus_1():
    rng = np.random.default_rng(5)
    x = rng.integers(1, 8, 600).astype(float)
    y = (rng.random(600) < 1 / (1 + np.exp(-(-1.5 + 0.3 * x)))).astype(float)
    w = rng.gamma(2.0, 1.5, 600)
    fit = svy_logit(x, y, w)
    ref = GLM(y, np.column_stack([np.ones_like(x), x]), family=families.Binomial(),
              var_weights=w).fit(cov_type="HC0", tol=1e-14)
    assert fit.coef == pytest.approx(ref.params[1], rel=1e-9)
    assert fit.se == pytest.approx(ref.bse[1] * np.sqrt(600 / 599), rel=1e-8)


@pytest.mark.parametrize("tiers", [None, TIERS])
@pytest.mark.parametrize("scale", [1000.0, 0.001, 1 / 1.7])
def test_sampling_figures_unchanged_when_weights_are_rescaled(tmp_path, tiers, scale):
    a = _study(tmp_path, _fixture(), tiers, SAMPLING).results["outcomes"]["y"]
    b = _study(tmp_path, _fixture(scale), tiers, SAMPLING).results["outcomes"]["y"]
    for ta, tb in zip(a["tiers"], b["tiers"]):
        for key in ("n", "count", "rate", "ci_low", "ci_high", "n_eff", "n_eff_design", "design_effect", "score"):
            assert ta[key] == (None if tb[key] is None else pytest.approx(tb[key], rel=1e-9)), key
    for part in ("chi2", "trend", "logit", "top_vs_bottom"):
        for key, value in a[part].items():
            if isinstance(value, float):
                assert b[part][key] == pytest.approx(value, rel=1e-8), (part, key)
            else:
                assert b[part][key] == value, (part, key)


def test_sampling_separation_makes_trend_and_odds_ratio_null(tmp_path):
    frame = pd.DataFrame({"x": [1, 1, 2, 2, 3, 4, 4, 5, 5, 5], "y": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
                          "w": [1.0, 2, 1, 3, 1, 2, 1, 1, 2, 1]})
    result = _study(tmp_path, frame, None, SAMPLING)
    o = result.results["outcomes"]["y"]
    assert o["trend"] == {"z": None, "p": None}
    assert o["logit"] == {"odds_ratio": None, "ci_low": None, "ci_high": None, "separation": True}
    assert o["chi2"]["p"] is not None


def test_rao_scott_equals_pearson_when_weights_are_equal():
    """With equal weights the design effects are n/(n-1): F = X^2 (n-1) / n / dof on dof and dof (n-1) df."""
    rng = np.random.default_rng(2)
    rows, cols = rng.integers(0, 4, 300), rng.integers(0, 2, 300)
    got = rao_scott_f(rows, cols, np.full(300, 2.5))
    x2 = sps.chi2_contingency(pd.crosstab(rows, cols).to_numpy(), correction=False).statistic
    assert got["dof"] == pytest.approx(3) and got["dof2"] == pytest.approx(3 * 299)
    assert got["statistic"] == pytest.approx(x2 * 299 / 300 / 3, rel=1e-10)


# ---- trend scores: an absent rating keeps its spacing ----

def test_trend_scores_keep_the_spacing_of_an_absent_rating(tmp_path):
    # counts and sizes per rating 1, 2, 4, 5 (no one rated 3), the R reference:
    #   prop.trend.test(c(3, 8, 15, 20), c(20, 25, 30, 28), score = c(1, 2, 4, 5))
    #   X-squared = 16.6686353470633, p-value = 4.45108723352727e-05
    # (with the old scores 1..4: X-squared = 17.1481561903984, p-value = 3.45744865992108e-05)
    count, n, ratings = [3, 8, 15, 20], [20, 25, 30, 28], [1, 2, 4, 5]
    rows = [(r, 1) for r, c, m in zip(ratings, count, n) for _ in range(c)]
    rows += [(r, 0) for r, c, m in zip(ratings, count, n) for _ in range(m - c)]
    frame = pd.DataFrame(rows, columns=["x", "y"])
    o = _study(tmp_path, frame).results["outcomes"]["y"]
    assert [t["tier"] for t in o["tiers"]] == ["1", "2", "4", "5"]
    assert [t["score"] for t in o["tiers"]] == [1, 2, 4, 5]
    assert o["trend"]["z"] ** 2 == pytest.approx(16.6686353470633, rel=1e-12)
    assert o["trend"]["p"] == pytest.approx(4.45108723352727e-05, rel=1e-9)
    # named tiers with one empty: left out of the tests, no score
    named = _study(tmp_path, frame, {"low": [1, 2], "mid": [3, 3], "high": [4, 5]}).results["outcomes"]["y"]
    assert named["tiers"][1]["n"] == 0 and named["tiers"][1]["score"] is None
    scores = [(1 * 20 + 2 * 25) / 45, (4 * 30 + 5 * 28) / 58]
    assert [named["tiers"][i]["score"] for i in (0, 2)] == pytest.approx(scores)
    ref = cochran_armitage(np.array([11, 35]), np.array([45, 58]), np.array(scores))
    assert named["trend"]["z"] == pytest.approx(ref["z"]) and named["chi2"]["dof"] == 1


def test_cochran_armitage_with_scores_equals_n_times_r_squared():
    """An independent formula: the trend statistic is N r^2, r the correlation of the score and the outcome."""
    x = np.repeat([1.0, 2.0, 4.0, 5.0], [20, 25, 30, 28])
    y = np.r_[np.ones(3), np.zeros(17), np.ones(8), np.zeros(17), np.ones(15), np.zeros(15), np.ones(20), np.zeros(8)]
    got = cochran_armitage(np.array([3, 8, 15, 20]), np.array([20, 25, 30, 28]), np.array([1, 2, 4, 5]))
    assert got["z"] ** 2 == pytest.approx(len(x) * np.corrcoef(x, y)[0, 1] ** 2, rel=1e-12)


# ---- small expected counts: Monte Carlo permutation p ----

def test_monte_carlo_p_is_reproducible_and_close_to_fisher_on_a_2x2():
    table = np.array([[3, 1], [1, 7]])
    assert small_expected(table)
    first, second = chi2_monte_carlo_p(table), chi2_monte_carlo_p(table)
    assert first == second
    fisher = sps.fisher_exact(table).pvalue                               # R: fisher.test(...) = 0.0666666666666667
    assert fisher == pytest.approx(0.0666666666666667)
    assert first == pytest.approx(fisher, abs=3 * np.sqrt(fisher * (1 - fisher) / 9999))
    ref = sps.chi2_contingency(table, correction=False,
                               method=sps.PermutationMethod(n_resamples=9999, random_state=0))
    assert first == ref.pvalue


def test_monte_carlo_p_on_a_large_table_draws_the_same_null():
    """Above the permutation size limit, random tables with fixed margins: still close to Fisher's exact p."""
    table = np.array([[4, 1500], [0, 1200]])
    fisher = sps.fisher_exact(table).pvalue
    got = chi2_monte_carlo_p(table)
    assert got == chi2_monte_carlo_p(table)
    assert got == pytest.approx(fisher, abs=3 * np.sqrt(fisher * (1 - fisher) / 9999) + 1e-4)


def test_small_expected_flag_and_mc_p_in_results(tmp_path):
    frame = pd.DataFrame({"x": [1] * 4 + [3] * 30 + [5] * 30,
                          "y": [0, 0, 0, 1] + [0] * 12 + [1] * 18 + [0] * 6 + [1] * 24})
    result = _study(tmp_path, frame)
    chi2 = result.results["outcomes"]["y"]["chi2"]
    assert chi2["small_expected"] is True
    counts = np.array([[1, 3], [18, 12], [24, 6]])
    assert chi2["mc_p"] == sps.chi2_contingency(counts, correction=False, method=sps.PermutationMethod(
        n_resamples=9999, random_state=0)).pvalue
    assert any("below 5" in w and "Monte Carlo" in w for w in result.warnings)
    big = pd.DataFrame({"x": [1] * 40 + [5] * 40, "y": [0] * 20 + [1] * 20 + [0] * 10 + [1] * 30})
    chi2 = _study(tmp_path, big).results["outcomes"]["y"]["chi2"]
    assert chi2["small_expected"] is False and chi2["mc_p"] is None


def test_constant_outcome_is_not_an_infinite_odds_ratio(tmp_path):
    frame = pd.DataFrame({"x": [1, 2, 3, 4, 5] * 4, "y": [1] * 20})
    result = _study(tmp_path, frame)
    o = result.results["outcomes"]["y"]
    assert o["logit"] == {"odds_ratio": None, "ci_low": None, "ci_high": None, "separation": False}
    assert o["trend"] == {"z": None, "p": None} and o["chi2"]["p"] is None
    assert not any("infinite" in w for w in result.warnings)
    assert any("same outcome" in w for w in result.warnings)


@pytest.mark.parametrize("weight", [None, {"column": "w", "kind": "frequency"}, SAMPLING])
def test_results_match_the_schema(tmp_path, weight):
    from cxlab.record import to_json, validate_results
    frame = _fixture().assign(z=[1] * 30 + [0] * 6)
    result = _study(tmp_path, frame, TIERS, weight, outcomes=("y", "z"))
    doc = {"study": "t", "notebook": "loyalty", "status": "ok", "results": to_json(result.results),
           "provenance": {"parameters": {}, "inputs": {}, "packages": {}, "started": "", "ended": ""}}
    assert validate_results(doc) == []
    doc["results"]["outcomes"]["y"]["chi2"]["mc_p"] = 2.0
    assert validate_results(doc)
