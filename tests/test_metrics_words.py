"""Issue 20, metrics: Kitagawa's split with intervals for both parts, one rule for "why NPS moved" in the headline
and the body, letters and directions from the difference the test is about, no absence-of-evidence sentences."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from cxlab.params import parse_study
from cxlab.stats import Z95
from cxlab.stats.mix import mix_decomposition, mix_standard_errors
from cxlab.stats.nps import adjusted_wald
from cxlab.studies.metrics import analysis as M_analysis
from cxlab.studies.metrics import load as M_load
from cxlab.studies.metrics import narrative as N
from cxlab.studies.metrics.analysis import MetricsResult

CATEGORY_VALUE = {"pro": 10, "pas": 8, "det": 3}


def counts_frame(counts: dict[tuple[str, str], tuple[int, int, int]], column: str = "plan") -> pd.DataFrame:
    """Rows of (wave, level, nps) with frequency ``w`` from counts of promoters, passives, detractors."""
    rows = [(wave, level, CATEGORY_VALUE[cat], k)
            for (wave, level), ks in counts.items() for cat, k in zip(("pro", "pas", "det"), ks) if k]
    return pd.DataFrame(rows, columns=["wave", column, "nps", "w"])


def analyse(tmp_path, frame: pd.DataFrame, **over) -> tuple[MetricsResult, object]:
    frame.to_csv(tmp_path / "s.csv", index=False)
    raw = {"study": "w", "notebook": "metrics", "data": {"path": "s.csv"}, "segments": ["plan"], "mix_by": "plan",
           "weight": {"column": "w", "kind": "frequency"}}
    raw.update(over)
    study = parse_study(raw, base_dir=tmp_path)
    return M_analysis.analyze(M_load.read(study, tmp_path)[0], study), study


# --- item 2: Kitagawa's symmetric split ------------------------------------------------------------------

HAND = {("w1", "a"): (3, 3, 0), ("w1", "b"): (1, 1, 2),    # shares 3/5, 2/5; NPS 1/2, -1/4
        ("w2", "a"): (1, 2, 0), ("w2", "b"): (3, 3, 1)}    # shares 3/10, 7/10; NPS 1/3, 2/7


def test_kitagawa_split_by_hand(tmp_path):
    # mix    = (3/10 - 3/5)(1/2 + 1/3)/2 + (7/10 - 2/5)(-1/4 + 2/7)/2 = -1/8 + 3/560 = -67/560
    # within = (3/5 + 3/10)/2 (1/3 - 1/2) + (2/5 + 7/10)/2 (2/7 + 1/4) = -3/40 + 165/560 = 123/560
    # change = 3/10 - 2/10 = 1/10 = 56/560 (the asymmetric split would give mix -0.225, within +0.325)
    mix, within = Fraction(-67, 560), Fraction(123, 560)
    change, m, w = mix_decomposition([3 / 5, 2 / 5], [3 / 10, 7 / 10], [1 / 2, -1 / 4], [1 / 3, 2 / 7])
    assert (change, m, w) == pytest.approx((0.1, float(mix), float(within)), abs=1e-15)
    result, _ = analyse(tmp_path, counts_frame(HAND))
    res = result.results["mix"]
    assert res["mix_effect"] == pytest.approx(float(mix), abs=1e-15)
    assert res["within_effect"] == pytest.approx(float(within), abs=1e-15)
    assert res["mix_effect"] + res["within_effect"] == pytest.approx(res["change"], abs=1e-15)
    assert res["change"] == pytest.approx(result.results["first_to_last"]["diff"], abs=1e-15)


# --- item 1: an interval for each part --------------------------------------------------------------------

def _parts(p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    s0, s1 = p0.sum(1) / p0.sum(), p1.sum(1) / p1.sum()
    v0, v1 = (p0[:, 0] - p0[:, 2]) / p0.sum(1), (p1[:, 0] - p1[:, 2]) / p1.sum(1)
    return np.array(mix_decomposition(s0, s1, v0, v1)[1:])


def test_standard_errors_equal_the_multinomial_delta_method_by_numerical_derivatives():
    """Independent: central differences of the split over each wave's cell shares, times the multinomial
    covariance (diag(p) - p p') / n, summed over the two (independent) waves."""
    w0 = np.array([[27, 25, 60], [47, 23, 37], [51, 25, 16.0]])
    w1 = np.array([[25, 34, 45], [49, 17, 31], [67, 25, 15.0]])
    var = np.zeros(2)
    for wave in (0, 1):
        counts = (w0, w1)[wave]
        p = (counts / counts.sum()).ravel()
        cov = (np.diag(p) - np.outer(p, p)) / counts.sum()

        def f(x: np.ndarray) -> np.ndarray:
            cells = x.reshape(3, 3)
            return _parts(cells, w1 / w1.sum()) if wave == 0 else _parts(w0 / w0.sum(), cells)

        h = 1e-6
        jac = np.column_stack([(f(p + h * e) - f(p - h * e)) / (2 * h) for e in np.eye(len(p))])
        var += np.diag(jac @ cov @ jac.T)
    assert mix_standard_errors(w0, w0, w1, w1) == pytest.approx(tuple(np.sqrt(var)), rel=1e-6)


# Sampling weights, 2 waves x 24 responses (the design variance of R `survey`, waves as strata):
#   library(survey); d <- read.csv("d.csv"); d$score <- ifelse(d$nps >= 9, 1, ifelse(d$nps <= 6, -1, 0))
#   for (h in c("w1", "w2")) for (l in c("a", "b", "c")) {
#     d[[paste0("t_", h, "_", l)]] <- as.numeric(d$wave == h & d$plan == l)
#     d[[paste0("y_", h, "_", l)]] <- d$score * (d$wave == h & d$plan == l) }
#   des <- svydesign(ids = ~1, strata = ~wave, weights = ~w, data = d)
#   tot <- svytotal(~ t_w1_a + y_w1_a + ... + t_w2_c + y_w2_c, des)
#   s <- function(h, l) sprintf("(t_%s_%s / (t_%s_a + t_%s_b + t_%s_c))", h, l, h, h, h)
#   v <- function(h, l) sprintf("(y_%s_%s / t_%s_%s)", h, l, h, l)
#   mix: sum over l of (s(w2,l) - s(w1,l)) * (v(w1,l) + v(w2,l)) / 2; within: sum of (s(w1,l) + s(w2,l)) / 2 *
#   (v(w2,l) - v(w1,l)); svycontrast(tot, list(mix = ..., within = ...))   (R 4.2, survey 4.1)
R_ROWS = [
    ("w1", "c", 3, 1.55), ("w1", "c", 1, 1.71), ("w1", "a", 4, 0.49), ("w1", "a", 1, 2.96), ("w1", "c", 7, 1.51),
    ("w1", "b", 7, 1.03), ("w1", "c", 3, 0.5), ("w1", "a", 0, 2.48), ("w1", "c", 8, 0.31), ("w1", "c", 3, 0.54),
    ("w1", "a", 5, 1.97), ("w1", "c", 6, 0.66), ("w1", "b", 7, 1.96), ("w1", "b", 5, 1.1), ("w1", "c", 10, 0.53),
    ("w1", "a", 1, 1.32), ("w1", "a", 2, 1.96), ("w1", "c", 7, 2.2), ("w1", "b", 8, 0.77), ("w1", "a", 8, 0.96),
    ("w1", "b", 5, 0.9), ("w1", "a", 8, 0.59), ("w1", "c", 4, 2.01), ("w1", "b", 7, 0.56), ("w2", "c", 9, 1.51),
    ("w2", "b", 3, 0.41), ("w2", "b", 10, 1.85), ("w2", "a", 3, 2.81), ("w2", "a", 6, 1.26), ("w2", "b", 5, 2.76),
    ("w2", "c", 10, 1.06), ("w2", "a", 6, 1.56), ("w2", "a", 5, 0.49), ("w2", "a", 5, 1.74), ("w2", "b", 4, 1.31),
    ("w2", "c", 10, 1.35), ("w2", "c", 5, 0.99), ("w2", "b", 4, 2.47), ("w2", "c", 3, 1.93), ("w2", "b", 7, 1.6),
    ("w2", "b", 9, 1.03), ("w2", "c", 8, 1.27), ("w2", "b", 2, 2.65), ("w2", "c", 10, 2.53), ("w2", "c", 4, 1.88),
    ("w2", "c", 8, 0.45), ("w2", "b", 7, 0.63), ("w2", "b", 5, 0.79)]
R_MIX, R_WITHIN = 0.104104092147, 0.160052274081
R_MIX_SE, R_WITHIN_SE = 0.110954732923, 0.196636006301


def test_sampling_weighted_parts_and_standard_errors_equal_r_survey(tmp_path):
    frame = pd.DataFrame(R_ROWS, columns=["wave", "plan", "nps", "w"])
    result, _ = analyse(tmp_path, frame, weight={"column": "w", "kind": "sampling"})
    mix = result.results["mix"]
    assert mix["mix_effect"] == pytest.approx(R_MIX, abs=1e-11)
    assert mix["within_effect"] == pytest.approx(R_WITHIN, abs=1e-11)
    for part, se in (("mix", R_MIX_SE), ("within", R_WITHIN_SE)):
        est = mix[f"{part}_effect"]
        assert (mix[f"{part}_ci_low"], mix[f"{part}_ci_high"]) == pytest.approx((est - Z95 * se, est + Z95 * se),
                                                                               abs=1e-10)
        assert mix[f"{part}_p"] == pytest.approx(math.erfc(abs(est / se) / math.sqrt(2)), rel=1e-9)
    # unchanged when every weight is multiplied by a constant
    frame["w"] *= 13.7
    scaled = analyse(tmp_path, frame, weight={"column": "w", "kind": "sampling"})[0].results["mix"]
    assert scaled["mix_ci_low"] == pytest.approx(mix["mix_ci_low"], abs=1e-12)


SHARES = np.array([0.4, 0.35, 0.25])
CATS0 = np.array([[0.2, 0.3, 0.5], [0.45, 0.35, 0.2], [0.65, 0.25, 0.1]])
CATS1 = np.array([[0.35, 0.3, 0.35], [0.45, 0.35, 0.2], [0.65, 0.25, 0.1]])   # basic +30: within +12, mix 0


def test_parts_intervals_cover_the_truth_and_mix_is_not_credited_when_it_is_zero():
    """The issue's case (two waves of 400, true mix 0, within +12): both intervals cover about 95% of the time,
    and "mainly from mix" (larger and interval excluding 0) is said rarely. 800 draws; the full run is
    ``benchmarks/calibrate_mix.py``."""
    rng = np.random.default_rng(20)
    covered, credits_mix, draws = np.zeros(2), 0, 800
    for _ in range(draws):
        c0 = rng.multinomial(400, (SHARES[:, None] * CATS0).ravel()).reshape(3, 3).astype(float)
        c1 = rng.multinomial(400, (SHARES[:, None] * CATS1).ravel()).reshape(3, 3).astype(float)
        est = _parts(c0, c1)
        se = np.array(mix_standard_errors(c0, c0, c1, c1))
        covered += np.abs(est - [0.0, 0.12]) <= Z95 * se
        credits_mix += N.which_part({"mix_effect": est[0], "within_effect": est[1],
                                     "mix_p": math.erfc(abs(est[0] / se[0]) / math.sqrt(2)),
                                     "within_p": math.erfc(abs(est[1] / se[1]) / math.sqrt(2))}) == N.MAINLY_MIX
    assert np.all(np.abs(covered / draws - 0.95) < 0.025), covered / draws
    assert credits_mix / draws < 0.03


# --- item 1: one rule for the headline and the body -------------------------------------------------------

# the issue's case, drawn from two waves of 400 with true mix 0 and within +12 (four plans): on main the headline
# said "mainly from who answered" while the body said that neither part stands out
ISSUE = {("w1", "a"): (27, 25, 60), ("w1", "b"): (47, 23, 37), ("w1", "c"): (51, 25, 16), ("w1", "d"): (52, 24, 13),
         ("w2", "a"): (25, 34, 45), ("w2", "b"): (49, 17, 31), ("w2", "c"): (67, 25, 15), ("w2", "d"): (57, 27, 8)}


def test_issue_case_headline_and_body_say_the_data_cannot_tell(tmp_path):
    result, study = analyse(tmp_path, counts_frame(ISSUE))
    mix, change = result.results["mix"], result.results["first_to_last"]
    assert change["p"] < 0.05 and abs(mix["within_effect"]) > abs(mix["mix_effect"]) and mix["within_p"] >= 0.05
    head, body = N.headline(result, study), N.why_moved(result)
    assert "mainly from who answered" not in head and "mainly" not in body
    assert "the data cannot tell whether who answered or change within plan levels moved it more" in head
    assert "The data cannot tell which part moved the score" in body
    for part in ("mix", "within"):  # both parts with their intervals, in both places
        bounds = f"95% CI {N.fmt.nps(mix[f'{part}_ci_low'], 1)} to {N.fmt.nps(mix[f'{part}_ci_high'], 1)}"
        assert bounds in head and bounds in body


def fake(mix_effect, within_effect, mix_p, within_p) -> MetricsResult:
    def ci(est):
        return est - 0.05, est + 0.05
    mix = {"from": "w1", "to": "w2", "by": "plan", "change": mix_effect + within_effect, "mix_effect": mix_effect,
           "within_effect": within_effect, "mix_p": mix_p, "within_p": within_p,
           "mix_ci_low": ci(mix_effect)[0], "mix_ci_high": ci(mix_effect)[1],
           "within_ci_low": ci(within_effect)[0], "within_ci_high": ci(within_effect)[1], "levels": [], "excluded": []}
    overall = {"n": 800, "promoters": 0.4, "passives": 0.3, "detractors": 0.3, "nps": 0.1, "ci_low": 0.05,
               "ci_high": 0.15}
    f2l = {"from": "w1", "to": "w2", "metric": "nps", "diff": mix_effect + within_effect, "ci_low": 0.01,
           "ci_high": 0.2, "p": 0.01, "diff_adjusted": mix_effect + within_effect}
    return MetricsResult({"metrics": ["nps"], "overall": {"nps": overall}, "first_to_last": f2l, "mix": mix},
                         pd.DataFrame(), pd.DataFrame())


@pytest.mark.parametrize("mix, within, mix_p, within_p, verdict", [
    (0.02, 0.10, 0.31, 0.078, N.CANNOT_TELL),   # the issue: within larger, neither excludes 0
    (0.10, 0.02, 0.001, 0.60, N.MAINLY_MIX),
    (0.10, 0.02, 0.20, 0.001, N.CANNOT_TELL),   # mix larger but its interval includes 0
    (0.02, 0.10, 0.001, 0.20, N.CANNOT_TELL),   # within larger but its interval includes 0
    (0.02, -0.10, 0.50, 0.001, N.MAINLY_WITHIN),
    (0.12, 0.05, 0.001, 0.01, N.MAINLY_MIX),
    (0.05, 0.12, 0.01, 0.001, N.MAINLY_WITHIN),
    (0.10, 0.02, None, 0.01, N.CANNOT_TELL),    # no interval for the larger part
])
def test_headline_and_body_follow_one_rule(mix, within, mix_p, within_p, verdict):
    result = fake(mix, within, mix_p, within_p)
    assert N.which_part(result.results["mix"]) == verdict
    head, body = N.headline(result, None), N.why_moved(result)
    said = {N.MAINLY_MIX: ("mainly from who answered" in head, "mainly through the mix" in body),
            N.MAINLY_WITHIN: ("mainly from change within" in head, "mainly within plan levels" in body),
            N.CANNOT_TELL: ("data cannot tell whether who answered" in head, "data cannot tell which part" in body)}
    assert said[verdict] == (True, True)
    assert all(said[v] == (False, False) for v in said if v != verdict)
    assert head.count("95% CI") == 4 and "mix +" in head  # overall, change, and both parts with intervals


# --- item 3: letters and directions follow the adjusted difference ----------------------------------------

def test_letters_and_directions_use_the_tested_difference(tmp_path):
    """Level a: 1 response, a promoter (raw NPS +100, adjusted +25); level b: 9,950 promoters and 50 passives
    (raw +99.5, adjusted +99.47). The raw difference favours a (+0.5 points); the interval and the test are
    about d = 1/4 - 9,950/10,003 = -74.5 points, z = -1.99: b exceeds a."""
    counts = {("w1", "b"): (9950, 50, 0), ("w2", "a"): (1, 0, 0)}
    result, _ = analyse(tmp_path, counts_frame(counts), mix_by=None)
    a, b = adjusted_wald(1, 0, 1), adjusted_wald(9950, 0, 10000)
    d = a.adjusted - b.adjusted
    se = math.sqrt(a.variance + b.variance)
    assert d == pytest.approx(0.25 - 9950 / 10003, abs=1e-12) and abs(d / se) > Z95
    pair = result.results["segments"]["plan"]["nps"]["pairs"][0]
    assert pair["diff"] == pytest.approx(0.005) and pair["diff_adjusted"] == pytest.approx(d, abs=1e-12)
    assert pair["ci_high"] < 0 and pair["p_holm"] < 0.05
    assert result.results["segments"]["plan"]["nps"]["letters"] == {"a": "", "b": "A"}
    assert "B exceeds a" in N.segments(result)
    # the change from w1 (all b) to w2 (the single a): raw +0.5 points, tested d -74.5 points: it fell
    change = [c for c in result.results["changes"] if c["metric"] == "nps"][0]
    assert change["diff"] > 0 and change["diff_adjusted"] < 0 and change["p"] < 0.05
    text = N.changes(result)
    assert "NPS fell: +0.5 points (95% CI -" in text and "centred on the adjusted difference -74.5 points" in text


# --- item 4: absence of evidence ------------------------------------------------------------------------

NO_DIFFERENCE = ("not how each", "no significant change", "did not change significantly", "no level differs",
                 "neither part stands out", "no change", "does not differ", "the same as")


def test_no_sentence_turns_a_non_significant_test_into_no_difference(tmp_path):
    # the mix scenario (within not significant), a stable one, and segments that the data cannot tell apart
    from cxlab.synth.survey import survey
    for scenario, n, seed in (("mix", 6000, 3), ("stable", 3000, 1)):
        frame = survey(n, seed, scenario=scenario)[["wave", "plan", "region", "nps", "csat", "customer_id"]]
        frame["w"] = 1
        result, study = analyse(tmp_path, frame, segments=["plan", "region"])
        text = " ".join([N.headline(result, study), N.why_moved(result), N.changes(result), N.segments(result),
                         N.cohort_sentence(result)])
        assert not [s for s in NO_DIFFERENCE if s in text], scenario
        assert "cannot tell" in text


# --- item 5: number words in the metrics sentences --------------------------------------------------------

def test_change_bounds_never_read_as_the_estimate():
    text = N._change({"diff": 0.003, "ci_low": 0.0001, "ci_high": 0.0031, "p": 0.04})
    assert text == "+0.30 points (95% CI +0.01 to +0.31; p = 0.040)"
    assert N._change({"diff": 0.052, "ci_low": 0.031, "ci_high": 0.073, "p": 0.0001}) == \
        "+5.2 points (95% CI +3.1 to +7.3; p < 0.001)"
