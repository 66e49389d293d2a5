"""The loyalty sentences, rule by rule (table-driven), and whole reports checked for effect words."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlab.params import parse_study
from cxlab.studies.loyalty import analysis as Y_analysis
from cxlab.studies.loyalty import load as Y_load
from cxlab.studies.loyalty import narrative as N
from cxlab.words import EFFECT_WORDS


@pytest.mark.parametrize("name, expected", [
    ("repurchase", ("repurchased", "repurchasing", "repurchase rate")),
    ("recommend", ("recommended", "recommending", "recommendation rate")),
    ("Retain", ("were retained", "being retained", "retention rate")),
    ("refer", ("referred someone", "referring someone", "referral rate")),
    ("bought_again", None), ("NPS promoter", None),
])
def test_outcome_verbs(name, expected):
    assert N.outcome_verbs(name) == expected


@pytest.mark.parametrize("name, text", [("retain", "the retention rate"), ("Bought Again", "the Bought Again rate")])
def test_rate_name(name, text):
    assert N.rate_name(name) == text


@pytest.mark.parametrize("label, named, phrase, subject", [
    ("5", False, "who rated 5", "rating 5"), ("great", True, "in the great tier", "the great tier"),
])
def test_tier_words(label, named, phrase, subject):
    assert N.tier_phrase(label, named) == phrase and N.tier_name(label, named) == subject


BEST = {"tier": "great", "rate": 0.8715, "ci_low": 0.853, "ci_high": 0.889}
WORST = {"tier": "poor", "rate": 0.14, "ci_low": 0.127, "ci_high": 0.156}


@pytest.mark.parametrize("name, named, weighted, text", [
    ("repurchase", True, False,
     "87% (85% to 89%) of customers in the great tier repurchased, against 14% (13% to 16%) of those in the poor tier."),
    ("recommend", False, True,
     "87% (85% to 89%) of customers who rated great recommended, against 14% (13% to 16%) of those who rated poor "
     "(weighted shares)."),
    ("Bought Again", True, False,
     "The Bought Again rate was 87% (85% to 89%) among customers in the great tier, against 14% (13% to 16%) among "
     "those in the poor tier."),
])
def test_comparison_gives_every_rate_its_interval(name, named, weighted, text):
    assert N.comparison(name, BEST, WORST, named, weighted) == text


@pytest.mark.parametrize("chi2, p, source", [
    ({"statistic": 9.0, "dof": 2, "p": 0.011, "small_expected": False, "mc_p": None}, 0.011, "chi-square"),
    ({"statistic": 9.0, "dof": 2, "p": 0.011, "small_expected": True, "mc_p": 0.03}, 0.03, "Monte Carlo permutation"),
    ({"statistic": 9.0, "dof": 2, "p": 0.011, "small_expected": True, "mc_p": None}, 0.011, "chi-square"),
    ({"statistic": 3.0, "dof": 3.9, "dof2": 135.6, "p": 0.021, "small_expected": False, "mc_p": None}, 0.021,
     "Rao-Scott F"),
])
def test_relied_p(chi2, p, source):
    assert N.relied_p(chi2) == (p, source)


@pytest.mark.parametrize("chi2, text", [
    ({"statistic": 677.71, "dof": 4, "p": 1e-40, "small_expected": False, "mc_p": None},
     "chi-square 677.7 on 4 df, p < 0.001"),
    ({"statistic": 7.2, "dof": 2, "p": 0.0273, "small_expected": True, "mc_p": 0.0412},
     "chi-square 7.2 on 2 df; some expected counts are below 5, so the Monte Carlo permutation p is used: "
     "p = 0.041, against p = 0.027 from the chi-square approximation"),
    ({"statistic": 7.2, "dof": 2, "p": 0.0273, "small_expected": True, "mc_p": None},
     "chi-square 7.2 on 2 df, p = 0.027, approximate: some expected counts are below 5"),
    ({"statistic": 3.0284, "dof": 3.8745, "dof2": 135.608, "p": 0.02101, "small_expected": False, "mc_p": None},
     "Rao-Scott F = 3.03 on 3.9 and 135.6 df, p = 0.021"),
])
def test_statistic_phrase_says_which_p(chi2, text):
    assert N.statistic_phrase(chi2) == text


OK = {"statistic": 12.0, "dof": 1, "p": 0.0005, "small_expected": False, "mc_p": None}
NS = {"statistic": 1.0, "dof": 2, "p": 0.6, "small_expected": False, "mc_p": None}


@pytest.mark.parametrize("chi2, tested, named, text", [
    (OK, ["poor", "great"], True,
     "the poor tier differs from the great tier in its repurchase rate (chi-square 12.0 on 1 df, p < 0.001)"),
    (NS, ["1", "3", "5"], False,
     "the repurchase rate does not differ significantly between tiers (chi-square 1.0 on 2 df, p = 0.60)"),
    ({"statistic": None, "dof": None, "p": None, "small_expected": False, "mc_p": None}, ["1"], False,
     "the repurchase rate cannot be compared between tiers (one outcome value, or one tier with data)"),
])
def test_association_sentence(chi2, tested, named, text):
    assert N.association_sentence("repurchase", chi2, tested, named) == text


@pytest.mark.parametrize("trend, text", [
    ({"z": -0.49, "p": 0.622}, "there is no evidence of a trend in the repurchase rate across tiers "
                               "(trend z = -0.49, p = 0.62)"),
    ({"z": 25.87, "p": 1e-100}, "the repurchase rate rises from the worst to the best tier (trend z = 25.87, p < 0.001)"),
    ({"z": -2.5, "p": 0.0124}, "the repurchase rate falls from the worst to the best tier (trend z = -2.50, p = 0.012)"),
    ({"z": 1.96, "p": 0.0500001}, "there is no evidence of a trend in the repurchase rate across tiers "
                                  "(trend z = 1.96, p = 0.050)"),
    ({"z": None, "p": None}, "the trend in the repurchase rate cannot be estimated"),
])
def test_trend_direction_only_when_significant(trend, text):
    assert N.trend_sentence("repurchase", trend) == text


LOGIT = {"odds_ratio": 2.5, "ci_low": 2.3, "ci_high": 2.71, "separation": False}


@pytest.mark.parametrize("name, logit, constant, text", [
    ("recommend", LOGIT, False, "the odds of recommending are 2.50 times as high per rating point (95% CI 2.30 to 2.71)"),
    ("churn", {"odds_ratio": 0.6, "ci_low": 0.5, "ci_high": 0.72, "separation": False}, False,
     "the odds of churning are 0.60 times as high per rating point (95% CI 0.50 to 0.72)"),
    ("vip", {"odds_ratio": 1.1, "ci_low": 0.9, "ci_high": 1.34, "separation": False}, False,
     "the odds of vip are 1.10 times as high per rating point (95% CI 0.90 to 1.34, compatible with no association)"),
    ("refer", {"odds_ratio": None, "ci_low": None, "ci_high": None, "separation": True}, False,
     "no odds ratio is reported: the rating separates the outcome (on one side of a rating every customer had the "
     "same outcome), so it has no finite estimate"),
    ("refer", {"odds_ratio": None, "ci_low": None, "ci_high": None, "separation": False}, True,
     "every customer with a recorded refer had the same outcome, so there is no odds ratio to estimate"),
])
def test_odds_ratio_as_association(name, logit, constant, text):
    got = N.odds_sentence(name, logit, constant)
    assert got == text
    assert not any(w in got for w in EFFECT_WORDS) and "infinite" not in got


# ---- whole reports: no effect words, no "infinite", every headline rate with its interval ----

def _report(tmp_path, frame, **over):
    frame.to_csv(tmp_path / "d.csv", index=False)
    raw = {"study": "t", "notebook": "loyalty", "data": {"path": "d.csv"}, "experience": {"scale": [1, 5]},
           "outcomes": [c for c in frame.columns if c not in ("experience", "w")], **over}
    study = parse_study(raw, base_dir=tmp_path)
    frame, _ = Y_load.read(study, tmp_path)
    result = Y_analysis.analyze(frame, study)
    return result, study, "\n".join([N.headline(result, study), N.interpret(result, study), *result.warnings])


@pytest.mark.parametrize("weight", [None, {"column": "w", "kind": "sampling"}, {"column": "w", "kind": "frequency"}])
def test_reports_use_association_words_only(tmp_path, weight):
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 400)
    frame = pd.DataFrame({"experience": x, "repurchase": (rng.random(400) < x / 6).astype(int),
                          "recommend": rng.integers(0, 2, 400), "constant": 1, "sep": (x >= 3).astype(int),
                          "w": rng.integers(1, 4, 400)})
    result, study, text = _report(tmp_path, frame, **({"weight": weight} if weight else {}))
    lowered = text.lower()
    assert not [w for w in EFFECT_WORDS if w in lowered] and "infinite" not in lowered
    assert "%)" in N.headline(result, study) and " to " in N.headline(result, study)
    assert "the odds of repurchasing are" in text and "times as high per rating point" in text
    assert "every customer with a recorded constant had the same outcome" in text
    o = result.results["outcomes"]["recommend"]
    if o["trend"]["p"] >= 0.05:
        assert "no evidence of a trend in the recommendation rate" in text
