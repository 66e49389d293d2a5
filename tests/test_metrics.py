"""The CX metrics study (DESIGN 5.4): estimators against hand and statsmodels values, synthetic truth, bad input."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from cxlab.errors import DataError, StudyFileError
from cxlab.params import parse_study
from cxlab.stats import Z95
from cxlab.stats.means import mean_t_interval
from cxlab.stats.mix import mix_decomposition, paired_change
from cxlab.stats.multitest import level_labels, significance_letters
from cxlab.stats.nps import adjusted_wald, nps_difference
from cxlab.stats.proportions import newcombe_difference, two_proportion_z
from cxlab.studies.metrics import analysis as M_analysis
from cxlab.studies.metrics import load as M_load
from cxlab.studies.metrics import narrative as M_narrative
from cxlab.synth.survey import survey, truth

SEGMENTS = ["plan", "region", "channel"]


def make_study(tmp_path=None, **over):
    raw = {"study": "t", "notebook": "metrics", "data": {"synthetic": "survey", "n": 8000, "seed": 1},
           "segments": SEGMENTS, "mix_by": "plan"}
    raw.update(over)
    return parse_study(raw, base_dir=tmp_path)


def run(study, base_dir=None):
    frame, _ = M_load.read(study, base_dir)
    return M_analysis.analyze(frame, study)


def file_study(tmp_path, frame, **over):
    frame.to_csv(tmp_path / "s.csv", index=False)
    raw = {"study": "f", "notebook": "metrics", "data": {"path": "s.csv"}}
    raw.update(over)
    return parse_study(raw, base_dir=tmp_path)


# --- estimators -----------------------------------------------------------------------------------

def test_adjusted_wald_by_hand():
    # 5 promoters, 3 passives, 2 detractors out of 10: n' = 13, p+ = 5.75/13, p- = 2.75/13
    a = adjusted_wald(5, 2, 10)
    pp, pm = 5.75 / 13, 2.75 / 13
    v = (pp + pm - (pp - pm) ** 2) / 13
    assert a.nps == pytest.approx(0.3)
    assert a.adjusted == pytest.approx(3 / 13)
    assert a.ci_low == pytest.approx(3 / 13 - 1.959963984540054 * math.sqrt(v), abs=1e-12)
    assert a.ci_high == pytest.approx(3 / 13 + 1.959963984540054 * math.sqrt(v), abs=1e-12)
    # written out: p+ - p- = 0.230769, v = (0.653846 - 0.053254) / 13 = 0.046199, half-width 1.96 x 0.214940
    assert a.ci_low == pytest.approx(-0.19050, abs=1e-5) and a.ci_high == pytest.approx(0.65204, abs=1e-5)
    # all promoters: the interval is clipped at +1 only when it reaches it
    b = adjusted_wald(3, 0, 3)
    assert b.nps == 1 and b.ci_high <= 1 and b.ci_low < 1
    assert adjusted_wald(0, 0, 0).nps is None


def test_nps_difference_by_hand():
    a, b = adjusted_wald(40, 10, 80), adjusted_wald(20, 30, 70)
    d = nps_difference(a, b)
    da = (40.75 - 10.75) / 83 - (20.75 - 30.75) / 73
    va = ((40.75 + 10.75) / 83 - ((40.75 - 10.75) / 83) ** 2) / 83
    vb = ((20.75 + 30.75) / 73 - ((20.75 - 30.75) / 73) ** 2) / 73
    assert d.diff == pytest.approx(30 / 80 - (-10 / 70))
    assert d.ci_low == pytest.approx(da - Z95 * math.sqrt(va + vb))
    assert d.p == pytest.approx(2 * sps.norm.sf(abs(da) / math.sqrt(va + vb)))


@pytest.mark.parametrize("ca,na,cb,nb", [(56, 70, 48, 80), (9, 10, 3, 10), (0, 25, 4, 30), (120, 400, 95, 410)])
def test_newcombe_and_z_against_statsmodels(ca, na, cb, nb):
    got = newcombe_difference(ca, na, cb, nb)
    low, high = confint_proportions_2indep(ca, na, cb, nb, method="newcomb", compare="diff")
    assert (got.ci_low, got.ci_high) == pytest.approx((low, high), abs=1e-12)
    # Newcombe's hybrid score interval combines the two Wilson intervals (Newcombe 1998, method 10)
    la, ua = proportion_confint(ca, na, method="wilson")
    lb, ub = proportion_confint(cb, nb, method="wilson")
    pa, pb = ca / na, cb / nb
    assert got.ci_low == pytest.approx(pa - pb - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2), abs=1e-9)
    assert got.ci_high == pytest.approx(pa - pb + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2), abs=1e-9)
    z, p = proportions_ztest([ca, cb], [na, nb])
    assert got.z == pytest.approx(z) and got.p == pytest.approx(p)


def test_newcombe_published_example():
    # Newcombe (1998), Stat Med 17:873, table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339
    got = newcombe_difference(56, 70, 48, 80)
    assert got.ci_low == pytest.approx(0.0524, abs=5e-5) and got.ci_high == pytest.approx(0.3339, abs=5e-5)


def test_two_proportion_z_without_variation_is_undefined():
    assert two_proportion_z(0, 10, 0, 12) == (None, None)
    assert two_proportion_z(5, 0, 1, 3) == (None, None)


def test_mean_t_interval_against_scipy():
    x = np.array([1, 3, 4, 4, 5, 2, 5, 5, 3.0])
    mean, low, high = mean_t_interval(len(x), x.sum(), (x * x).sum(), len(x))
    ref = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert mean == pytest.approx(x.mean()) and (low, high) == pytest.approx(ref)
    assert mean_t_interval(1, 3, 9, 1) == (3, None, None)


def test_holm_within_segment_matches_statsmodels(tmp_path):
    result = run(make_study(data={"synthetic": "survey", "n": 3000, "seed": 4}))
    for by_metric in result.results["segments"].values():
        for block in by_metric.values():
            p = [x["p"] for x in block["pairs"]]
            ref = multipletests(p, method="holm")[1]
            assert [x["p_holm"] for x in block["pairs"]] == pytest.approx(list(ref), abs=1e-12)


def test_letters_on_a_constructed_case():
    levels = ["a", "b", "c", "d"]
    pairs = [("a", "b", -0.2, 0.001),   # b > a
             ("a", "c", -0.3, 0.0001),  # c > a
             ("a", "d", 0.1, 0.01),     # a > d
             ("b", "c", -0.05, 0.30),   # no difference
             ("b", "d", 0.3, 0.0001),   # b > d
             ("c", "d", 0.4, 0.049)]    # c > d
    assert significance_letters(levels, pairs) == {"a": "D", "b": "AD", "c": "AD", "d": ""}
    assert significance_letters(levels, [("a", "b", 0.5, 0.05)]) == {lv: "" for lv in levels}  # not < 0.05
    assert level_labels(28)[-3:] == ["Z", "AA", "AB"]


def test_mix_decomposition_adds_up_exactly_and_is_symmetric_in_the_waves():
    rng = np.random.default_rng(3)
    for _ in range(50):
        k = rng.integers(2, 6)
        s0, s1 = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        v0, v1 = rng.uniform(-1, 1, k), rng.uniform(-1, 1, k)
        change, mix, within = mix_decomposition(s0, s1, v0, v1)
        assert mix + within == pytest.approx(change, abs=1e-14)
        assert change == pytest.approx(s1 @ v1 - s0 @ v0, abs=1e-14)
        # Kitagawa's split is symmetric: the waves the other way round give each part with its sign turned
        assert mix_decomposition(s1, s0, v1, v0) == pytest.approx((-change, -mix, -within), abs=1e-14)


def test_mix_on_study_adds_up_to_the_overall_change():
    result = run(make_study())
    mix, f2l = result.results["mix"], result.results["first_to_last"]
    assert not mix["excluded"]
    assert mix["mix_effect"] + mix["within_effect"] == pytest.approx(mix["change"], abs=1e-12)
    assert mix["change"] == pytest.approx(f2l["diff"], abs=1e-12)
    frame = survey(8000, 1)
    by = frame.groupby("wave")["nps"].agg(lambda s: ((s >= 9).mean() - (s <= 6).mean()))
    assert mix["change"] == pytest.approx(by.iloc[-1] - by.iloc[0], abs=1e-12)


def test_cohort_change_on_a_hand_example(tmp_path):
    # customers 1-4 answer in both waves; 5 only in the first, 6 only in the last
    rows = [(1, "w1", 10), (1, "w2", 10),   # promoter -> promoter: 0
            (2, "w1", 3), (2, "w2", 9),     # detractor -> promoter: +2
            (3, "w1", 7), (3, "w2", 2),     # passive -> detractor: -1
            (4, "w1", 5), (4, "w2", 8),     # detractor -> passive: +1
            (5, "w1", 0), (6, "w2", 10)]
    frame = pd.DataFrame(rows, columns=["customer_id", "wave", "nps"])
    result = run(file_study(tmp_path, frame), tmp_path)
    c = result.results["cohort"]
    d = np.array([0, 2, -1, 1.0])
    half = sps.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert c["n"] == 4 and c["nps_first"] == pytest.approx(-0.25) and c["nps_last"] == pytest.approx(0.25)
    assert c["change"] == pytest.approx(0.5)
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert c["p"] == pytest.approx(sps.ttest_1samp(d, 0).pvalue)
    # all respondents: first wave 1P 3D of 5 -> -0.4; last wave 3P 1D of 5 -> +0.4
    assert c["all_respondents"]["diff"] == pytest.approx(0.8)
    assert paired_change([1.0], [2.0]) == (1.0, None, None, None)


# --- the study on data ----------------------------------------------------------------------------

def test_overall_figures_against_independent_computation():
    study = make_study()
    result = run(study)
    frame = survey(8000, 1)
    n = len(frame)
    pro, det = int((frame["nps"] >= 9).sum()), int((frame["nps"] <= 6).sum())
    o = result.results["overall"]["nps"]
    assert o["n"] == n and o["promoters"] == pytest.approx(pro / n) and o["detractors"] == pytest.approx(det / n)
    ref = adjusted_wald(pro, det, n)
    assert (o["ci_low"], o["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
    csat = frame["csat"].dropna()
    c = result.results["overall"]["csat"]
    top = int((csat >= 4).sum())
    assert c["n"] == len(csat) and c["top_box"] == pytest.approx(top / len(csat))
    assert (c["ci_low"], c["ci_high"]) == pytest.approx(proportion_confint(top, len(csat), method="wilson"))
    assert (c["mean_ci_low"], c["mean_ci_high"]) == pytest.approx(
        sps.t.interval(0.95, len(csat) - 1, loc=csat.mean(), scale=sps.sem(csat)))
    # reverse: the k lowest points
    rev = run(make_study(ces={"scale": [1, 7], "top": 3, "reverse": True}))
    ces = frame["ces"].dropna()
    assert rev.results["overall"]["ces"]["top_box"] == pytest.approx((ces <= 3).mean())


def test_nps_interval_coverage_at_n_100():
    """Adjusted Wald covers the true NPS in at least 93% of samples of 100 (Rocks 2016), here over many truths."""
    rng = np.random.default_rng(2026)
    truths = [(0.2, 0.3, 0.5), (0.45, 0.35, 0.2), (0.65, 0.25, 0.1), (0.1, 0.2, 0.7), (0.85, 0.1, 0.05)]
    for probs in truths:
        counts = rng.multinomial(100, probs, size=4000)
        covered = 0
        for pro, _, det in counts:
            a = adjusted_wald(pro, det, 100)
            covered += a.ci_low <= probs[0] - probs[2] <= a.ci_high
        assert covered / len(counts) >= 0.93, (probs, covered / len(counts))


def test_sampling_weights_invariant_to_scale(tmp_path):
    frame = survey(3000, 5).drop(columns=["csat"])
    frame["w"] = np.random.default_rng(1).uniform(0.3, 3, len(frame))
    common = {"segments": ["plan"], "mix_by": "plan", "data": {"path": "s.csv", "columns": {"weight": "w"}},
              "weight": {"column": "w", "kind": "sampling"}}
    base = run(file_study(tmp_path, frame, **common), tmp_path).results
    frame["w"] *= 37.5
    scaled = run(file_study(tmp_path, frame, **common), tmp_path).results
    for key in ("overall", "segments", "waves", "changes", "mix", "first_to_last"):
        assert _approx_tree(base[key], scaled[key]), key
    o = base["overall"]["nps"]
    assert o["n"] == 3000 and o["n_eff"] < 3000
    w = frame["w"].to_numpy()
    assert o["n_eff"] == pytest.approx(w.sum() ** 2 / (w * w).sum())
    pro = np.average(frame["nps"] >= 9, weights=w)
    assert o["promoters"] == pytest.approx(pro)
    # the interval uses the design-based n (issue 20): the score's variance over its linearised variance
    det = np.average(frame["nps"] <= 6, weights=w)
    s = (frame["nps"] >= 9).to_numpy(float) - (frame["nps"] <= 6).to_numpy(float)
    v = 3000 / 2999 * (w * w * (s - (pro - det)) ** 2).sum() / w.sum() ** 2
    neff = (pro + det - (pro - det) ** 2) / v
    assert o["n_eff_design"] == pytest.approx(neff)
    ref = adjusted_wald(pro * neff, det * neff, neff)
    assert o["ci_low"] == pytest.approx(ref.ci_low)


def test_frequency_weights_equal_expanded_data(tmp_path):
    frame = survey(400, 6)[["wave", "plan", "nps", "csat"]].dropna()
    frame["w"] = np.random.default_rng(2).integers(1, 4, len(frame))
    study = file_study(tmp_path, frame, segments=["plan"], weight={"column": "w", "kind": "frequency"})
    weighted = run(study, tmp_path).results
    expanded = frame.loc[frame.index.repeat(frame["w"])].drop(columns=["w"])
    plain = run(file_study(tmp_path, expanded, segments=["plan"]), tmp_path).results
    for key in ("overall", "segments", "changes"):
        assert _approx_tree(weighted[key], plain[key]), key


def _approx_tree(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_approx_tree(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_approx_tree(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_recovers_synthetic_truth():
    """Per plan and wave, the intervals cover the generator's NPS about 95% of the time; the mix scenario's
    within effect is about 0 and its mix effect about +21 points; the cohort shows no change."""
    covered = total = 0
    mix_effects, within_covered, cohort_covered = [], 0, 0
    seeds = range(12)
    for seed in seeds:
        study = make_study(data={"synthetic": "survey", "n": 8000, "seed": seed}, segments=["plan"])
        frame, _ = M_load.read(study)
        t = truth(4, "mix")
        result = M_analysis.analyze(frame, study)
        for w, tw in zip(result.results["waves"], t["waves"]):
            o = w["nps"]
            covered += o["ci_low"] <= tw["overall_nps"] <= o["ci_high"]
            total += 1
        for tw in t["waves"]:
            sub = frame[frame["wave"] == tw["wave"]]
            for plan, true_nps in tw["nps"].items():
                s = sub.loc[sub["plan"] == plan, "nps"]
                a = adjusted_wald((s >= 9).sum(), (s <= 6).sum(), len(s))
                covered += a.ci_low <= true_nps <= a.ci_high
                total += 1
        mix = result.results["mix"]
        mix_effects.append(mix["mix_effect"])
        within_covered += mix["within_ci_low"] <= 0 <= mix["within_ci_high"]
        c = result.results["cohort"]
        cohort_covered += c["ci_low"] <= 0 <= c["ci_high"]
    assert covered / total >= 0.90
    assert np.mean(mix_effects) == pytest.approx(truth(4, "mix")["mix_effect"], abs=0.01)
    assert within_covered >= 10 and cohort_covered >= 10
    # the within scenario: the change is within, not mix
    within = run(make_study(data={"synthetic": "survey", "n": 20000, "seed": 3, "options": {"scenario": "within"}}))
    mix = within.results["mix"]
    assert mix["within_p"] < 0.05 and abs(mix["mix_effect"]) < 0.02
    assert mix["within_ci_low"] <= truth(4, "within")["within_effect"] <= mix["within_ci_high"]
    assert "mainly within plan levels" in M_narrative.why_moved(within)


def test_report_says_which_part_moved():
    result = run(make_study(data={"synthetic": "survey", "n": 20000, "seed": 2026}))
    text = M_narrative.why_moved(result)
    assert "The score moved mainly through the mix of who answered" in text
    head = M_narrative.headline(result, make_study())
    assert "mainly from who answered" in head and "95% CI" in head and "p < 0.001" in head
    assert "e-" not in head and "nan" not in head.lower()
    stable = run(make_study(data={"synthetic": "survey", "n": 4000, "seed": 1, "options": {"scenario": "stable"}}))
    f2l = stable.results["first_to_last"]
    if f2l["p"] >= 0.05:
        assert "the data cannot tell whether it rose or fell" in M_narrative.headline(stable, make_study())


def test_result_keys_are_design():
    res = run(make_study()).results
    assert set(res["overall"]["nps"]) == {"n", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high"}
    assert set(res["overall"]["csat"]) == {"n", "top_box", "ci_low", "ci_high", "mean", "mean_ci_low", "mean_ci_high"}
    block = res["segments"]["plan"]["nps"]
    assert [lv["level"] for lv in block["levels"]] == ["basic", "plus", "premium"]
    assert [(p["a"], p["b"]) for p in block["pairs"]] == [("basic", "plus"), ("basic", "premium"), ("plus", "premium")]
    assert set(block["pairs"][0]) == {"a", "b", "diff", "ci_low", "ci_high", "p", "p_holm", "diff_adjusted"}
    assert set(res["segments"]["plan"]["csat"]["pairs"][0]) == {"a", "b", "diff", "ci_low", "ci_high", "p", "p_holm"}
    assert block["letters"] == {"basic": "", "plus": "A", "premium": "AB"}
    assert {c["metric"] for c in res["changes"]} == {"nps", "csat", "ces"}
    assert set(res["cohort"]) >= {"n", "nps_first", "nps_last", "change", "ci_low", "ci_high", "p"}


# --- bad input ------------------------------------------------------------------------------------

def test_nps_outside_its_scale_is_a_data_error(tmp_path):
    frame = pd.DataFrame({"nps": [0, 5, 10, 11, 3]})
    with pytest.raises(DataError, match=r"s\.csv, column 'nps', row 4 \(value '11'\): is outside the scale \[0, 10\]"):
        run(file_study(tmp_path, frame), tmp_path)
    ok = run(file_study(tmp_path, pd.DataFrame({"NPS": [1, 11, 10, 8]}), nps={"scale": [1, 11]},
                        data={"path": "s.csv", "columns": {"nps": "NPS"}}), tmp_path)
    assert ok.results["overall"]["nps"]["nps"] == pytest.approx((2 - 1) / 4)  # 10, 11 promoters; 8 passive (8-9); 1 detractor (1-7)
    with pytest.raises(DataError, match="not an integer"):
        run(file_study(tmp_path, pd.DataFrame({"nps": [1, 7.5]})), tmp_path)


def test_scale_not_eleven_points_is_a_study_file_error():
    with pytest.raises(StudyFileError, match=r"key 'nps.scale'.*11 points.*\[1, 10\] has 10"):
        make_study(nps={"scale": [1, 10]})
    with pytest.raises(StudyFileError, match="key 'csat'"):
        make_study(csat={"scale": [1, 5], "top": 5})


def test_segment_with_one_response_is_a_caveat(tmp_path):
    frame = pd.DataFrame({"nps": [9, 10, 3, 7, 8, 9, 2], "csat": [5, 4, 2, 3, 3, 5, 1],
                          "store": ["a", "a", "a", "b", "b", "b", "lonely"]})
    result = run(file_study(tmp_path, frame, segments=["store"]), tmp_path)
    assert any("'lonely' has 1 NPS response" in w for w in result.warnings)
    lonely = result.results["segments"]["store"]["csat"]["levels"][2]
    assert lonely["n"] == 1 and lonely["mean_ci_low"] is None


def test_wave_with_no_responses_is_a_caveat(tmp_path):
    frame = pd.DataFrame({"wave": ["2024-1"] * 4 + ["2024-2"] * 3 + ["2024-3"] * 4,
                          "nps": [9, 3, 7, 10, None, None, None, 9, 9, 2, 8],
                          "csat": [5, 2, 3, 4, 4, 5, 1, 5, 4, 2, 3]})
    result = run(file_study(tmp_path, frame), tmp_path)
    assert any("Wave '2024-2' has no NPS responses" in w for w in result.warnings)
    empty = [c for c in result.results["changes"] if c["metric"] == "nps"]
    assert all(c["diff"] is None and c["p"] is None for c in empty)
    assert result.results["waves"][1]["nps"]["nps"] is None and result.results["waves"][1]["csat"]["n"] == 3
    # a wave whose rows answered no metric at all stays in the report as an empty wave
    frame.loc[4:6, "csat"] = None
    result = run(file_study(tmp_path, frame), tmp_path)
    assert [w["wave"] for w in result.results["waves"]] == ["2024-1", "2024-2", "2024-3"]
    assert any("Wave '2024-2' has no CSAT responses" in w for w in result.warnings)


def test_other_bad_input(tmp_path):
    with pytest.raises(DataError, match="no metric column"):
        run(file_study(tmp_path, pd.DataFrame({"x": [1, 2]})), tmp_path)
    with pytest.raises(DataError, match="column 'tier'.*missing"):
        run(file_study(tmp_path, pd.DataFrame({"nps": [1, 2]}), segments=["tier"]), tmp_path)
    with pytest.raises(DataError, match="weights must be finite and >= 0"):
        run(file_study(tmp_path, pd.DataFrame({"nps": [1, 2], "w": [1, -1]}),
                       weight={"column": "w", "kind": "sampling"}), tmp_path)
    with pytest.raises(StudyFileError, match="kind: sampling"):
        make_study(weight="w")
    no_wave = run(file_study(tmp_path, pd.DataFrame({"nps": [1, 9], "plan": ["a", "b"]}), mix_by="plan"), tmp_path)
    assert no_wave.results["mix"] is None and any("mix_by needs a wave" in w for w in no_wave.warnings)


def test_vanishing_sampling_weights_leave_figures_undefined(tmp_path):
    # a weight so small that its square underflows to 0: the group has no effective n, figures are undefined
    frame = pd.DataFrame({"nps": [0, 0], "wave": ["1", "2"], "plan": ["b", "b"], "w": [1.0, 5e-324]})
    result = run(file_study(tmp_path, frame, segments=["plan"], mix_by="plan",
                            weight={"column": "w", "kind": "sampling"}), tmp_path)
    assert result.results["waves"][1]["nps"]["nps"] is None and result.results["mix"] is None


def test_overall_tables_keep_one_scale_per_column():
    from cxlab.studies.metrics.analysis import overall_tables
    overall = {"nps": {"n": 100, "promoters": 0.5, "passives": 0.3, "detractors": 0.2, "nps": 0.3, "ci_low": 0.15,
                       "ci_high": 0.44},
               "csat": {"n": 90, "top_box": 0.7, "ci_low": 0.6, "ci_high": 0.78, "mean": 3.9, "mean_ci_low": 3.7,
                        "mean_ci_high": 4.1},
               "ces": {"n": 80, "top_box": 0.4, "ci_low": 0.3, "ci_high": 0.5, "mean": 4.0, "mean_ci_low": 3.8,
                       "mean_ci_high": 4.2}}
    nps, ratings = overall_tables(overall)
    assert list(nps.index) == ["nps"] and nps.loc["nps", "ci_low"] == 0.15 and "top_box" not in nps
    assert list(ratings.index) == ["csat", "ces"] and ratings.loc["ces", "ci_high"] == 0.5 and "nps" not in ratings
    assert not ratings.isna().any().any() and not nps.isna().any().any()
    assert overall_tables({"csat": overall["csat"]})[0] is None
    assert overall_tables({"nps": overall["nps"]})[1] is None


def test_nps_axis_ticks_show_the_decimals_they_need():
    from cxlab.studies.metrics.figures import _nps_tick
    assert [_nps_tick(v) for v in (0.025, 0.05, 0.0, -0.2, 1e-17)] == ["+2.5", "+5", "0", "-20", "0"]
