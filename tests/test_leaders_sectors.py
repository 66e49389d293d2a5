"""Leaders, issue 20: the sector-adjusted headline test (calibration on multi-sector null panels with
sector-period shocks, the bootstrap of the adjusted figures against a plain loop), the period unit in
words, companies and rows counted apart, and non-significant tests read as "the data cannot tell"."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlab.errors import StudyFileError
from cxlab.params import parse_study
from cxlab.report import data_source_line, plain
from cxlab.stats import clustered
from cxlab.studies.leaders import analysis as A
from cxlab.studies.leaders import inference, portfolios
from cxlab.studies.leaders import load as L
from cxlab.studies.leaders import narrative as N
from cxlab.synth.panel import panel
from test_leaders_inference import block_reference, fake_result, small_labelled_panel, summary


def null_summary(seed, within, hi=0.75, lo=0.25, resamples=99, beta=0.0, n=80, sectors=4):
    """One multi-sector panel: sectors differ in CX level (leaders come unevenly from them) and each sector
    has its own growth shock per period (sd 0.08); CX unrelated to growth unless ``beta``."""
    frame = panel(n=n, periods=6, sectors=sectors, seed=seed, beta=beta, company_sd=0.05, sector_sd=0.08)
    cand = portfolios.company_periods(frame, within)
    assigned = portfolios.portfolios(cand, hi, lo, within)
    return inference.summarize(assigned, portfolios.period_table(assigned), None, resamples=resamples, seed=seed)


def excludes(low, high):
    return low is not None and (low > 0 or high < 0)


# ------------------------------------------------------------------------------ calibration and power

def test_sector_adjusted_test_holds_its_level_with_cut_offs_over_all_companies():
    """within: null, several sectors: the pooled clustered test over-rejects (sector shocks do not cancel);
    the sector-adjusted test, its block bootstrap and the adjusted gap's interval hold their level."""
    runs = [null_summary(seed, None) for seed in range(60)]
    assert {r["adjustment"] for r in runs} == {"sector-period"}
    pooled = sum(r["cluster_p"] < 0.05 for r in runs)
    pooled_block = sum(excludes(r["block_ci_low"], r["block_ci_high"]) for r in runs)
    adjusted = sum(r["adjusted_p"] < 0.05 for r in runs)
    adjusted_block = sum(excludes(r["adjusted_block_ci_low"], r["adjusted_block_ci_high"]) for r in runs)
    adjusted_gap = sum(excludes(r["adjusted_annualised_gap_ci_low"], r["adjusted_annualised_gap_ci_high"])
                       for r in runs)
    assert pooled >= 7 and pooled_block >= 7, (pooled, pooled_block)  # the panels have the problem
    assert adjusted <= 6 and adjusted_block <= 6 and adjusted_gap <= 6, (adjusted, adjusted_block, adjusted_gap)


@pytest.mark.parametrize("within, hi, lo", [(None, 0.8, 0.2), ("sector", 0.75, 0.25)])
def test_sector_adjusted_test_holds_its_level_in_the_shipped_settings(within, hi, lo):
    runs = [null_summary(500 + seed, within, hi, lo, resamples=0) for seed in range(60)]
    assert sum(r["adjusted_p"] < 0.05 for r in runs) <= 6


def test_sector_adjusted_test_keeps_its_power():
    runs = [null_summary(900 + seed, None, resamples=0, beta=0.03, n=120) for seed in range(20)]
    adjusted = sum(r["adjusted_p"] < 0.05 and r["adjusted_diff"] > 0 for r in runs)
    assert adjusted >= 15, adjusted


# ------------------------------------------------------------------------------ the adjusted figures

def test_no_sector_or_one_sector_means_no_adjustment():
    for frame in (panel(n=40, periods=4, sectors=1, seed=3, company_sd=0.05),
                  panel(n=40, periods=4, seed=3, company_sd=0.05).assign(sector=None)):
        cand = portfolios.company_periods(frame, None)
        assigned = portfolios.portfolios(cand, 0.75, 0.25, None)
        s = inference.summarize(assigned, portfolios.period_table(assigned), None, resamples=200, seed=1)
        assert s["adjustment"] == "none"
        for key in ("diff", "se", "t", "df", "p", "ci_low", "ci_high"):
            assert s[f"adjusted_{key}"] == s[f"cluster_{key}"], key
        for key in ("block_ci_low", "block_ci_high", "end_ratio", "end_ratio_ci_low", "end_ratio_ci_high",
                    "annualised_gap", "annualised_gap_ci_low", "annualised_gap_ci_high"):
            assert s[f"adjusted_{key}"] == s[key], key


def test_block_bootstrap_of_two_measures_with_offsets_matches_plain_loop():
    f = small_labelled_panel(seed=4)
    f["relative"] = f["growth"] - f.groupby("period")["growth"].transform("mean") + 0.01 * (f["company"] == "K3")
    offsets = np.array([0.02, -0.01, 0.05])
    args = [f[c].to_numpy() for c in ("leader", "laggard", "company", "period")]
    got = clustered.block_bootstrap_set([f["growth"].to_numpy(), f["relative"].to_numpy()], *args, resamples=300,
                                        seed=9, offsets=[None, offsets])
    draws = np.random.default_rng(9).integers(0, 8, size=(300, 8), dtype=np.int32)
    for res, measure, off in ((got[0], "growth", np.zeros(3)), (got[1], "relative", offsets)):
        d, r, g, *_ = block_reference(f, draws, measure=measure, offsets=off)
        assert (res["diff_low"], res["diff_high"]) == pytest.approx(tuple(d), rel=1e-10)
        assert (res["ratio_low"], res["ratio_high"]) == pytest.approx(tuple(r), rel=1e-10)
        assert (res["gap_low"], res["gap_high"]) == pytest.approx(tuple(g), rel=1e-10)
    assert got[0] == clustered.block_bootstrap(f["growth"].to_numpy(), *args, resamples=300, seed=9)
    with pytest.raises(ValueError, match="one number per period"):
        clustered.block_bootstrap_set([f["growth"].to_numpy()], *args, resamples=10, offsets=[np.zeros(2)])


# ------------------------------------------------------------------------------ words

ADJ = dict(adjustment="sector-period", adjusted_diff=0.021, adjusted_se=0.01, adjusted_t=2.1, adjusted_df=280,
           adjusted_p=0.037, adjusted_ci_low=0.001, adjusted_ci_high=0.041, adjusted_block_ci_low=0.002,
           adjusted_block_ci_high=0.040, adjusted_end_ratio=1.23, adjusted_end_ratio_ci_low=1.01,
           adjusted_end_ratio_ci_high=1.47, adjusted_annualised_gap=0.022, adjusted_annualised_gap_ci_low=0.001,
           adjusted_annualised_gap_ci_high=0.043)


def test_headline_uses_the_sector_adjusted_figures_and_describes_the_pooled_ones():
    s = summary(**ADJ)
    res = fake_result(s, sens=[dict(s, leader_quantile=0.75, laggard_quantile=0.25)])
    text = N.headline(res)
    for needle in ("comparing each company with its sector in the same period", "grew faster than CX laggards",
                   "sector-adjusted, company-clustered p = 0.037", "+2.1 points (95% CI +0.1 to +4.1)",
                   "1.23 times as large", "(95% CI 1.01 to 1.47)", "+2.2 points a year (95% CI +0.1 to +4.3)"):
        assert needle in text, needle
    assert "+5.1 points" not in text and "1.55" not in text  # the pooled figures are not the headline's
    body = N.interpret(res)
    assert "runs from +0.2 to +4.0 points" in body  # the adjusted block bootstrap
    assert "description only: pooled company-period growth differed by +5.1 points (95% CI +3.8 to +6.5)" in body
    assert "1 of 1 show a significant sector-adjusted clustered difference" in body
    figs = N.headline_figures(res)
    assert figs["clustered p (sector-adjusted)"]["value"] == 0.037
    assert figs["end ratio (sector-adjusted)"]["value"] == 1.23
    assert figs["annualised gap (sector-adjusted)"]["half_width"] == pytest.approx(0.021)
    table = N.figures_table(res)
    assert table.loc["difference relative to the sector-period mean, company-clustered test", "role"] == "headline"
    assert table.loc["pooled difference, company-clustered test", "role"].startswith("description")
    # a non-significant adjusted test gives no direction even when the pooled one is significant
    text = N.headline(fake_result(summary(**dict(ADJ, adjusted_p=0.3, adjusted_ci_low=-0.01))))
    assert "the data cannot tell whether CX leaders grew faster or more slowly" in text
    assert "(95% CI -1.0 to +4.1)" in text


@pytest.mark.parametrize("over", [{}, {"cluster_p": 0.3, "cluster_ci_low": -0.01}, ADJ,
                                  dict(ADJ, adjusted_p=0.5, adjusted_ci_low=-0.02)])
def test_non_significant_never_reads_as_no_difference(over):
    s = summary(**over)
    res = fake_result(s, sens=[dict(s, leader_quantile=0.75, laggard_quantile=0.25)])
    text = (N.headline(res) + " " + N.interpret(res)).lower()
    for phrase in ("no clear difference", "no difference", "did not differ", "same growth", "no evidence"):
        assert phrase not in text, phrase
    v = N.headline_view(s)
    if v["cluster_p"] >= 0.05:
        assert "the data cannot tell" in text and "95% ci" in text


@pytest.mark.parametrize("unit, gap, absent", [
    ("year", "an annualised gap of +5.2 points a year (95% CI +3.9 to +6.5)", "per year gap"),
    ("quarter", "a gap of +5.2 points per quarter (95% CI +3.9 to +6.5)", "a year"),
    ("month", "a gap of +5.2 points per month (95% CI +3.9 to +6.5)", "annualised"),
])
def test_period_unit_in_words(unit, gap, absent):
    res = fake_result(summary())
    res.results["period_unit"] = unit
    text = N.headline(res) + N.interpret(res)
    assert gap in text and absent not in text
    if unit != "year":
        assert "annualised" not in text and "a year" not in text and f"per {unit}" in text
        assert f"gap per {unit}" in N.headline_figures(res)
        assert f"gap per {unit}" in N.figures_table(res).index


def test_period_unit_in_the_study_file(tmp_path):
    base = {"study": "t", "notebook": "leaders", "data": {"synthetic": "panel", "n": 40, "seed": 1}}
    assert parse_study(base).period_unit == "year"
    study = parse_study(dict(base, period_unit="quarter"))
    assert study.period_unit == "quarter"
    result = A.analyze(L.read(study), study)
    assert result.results["period_unit"] == "quarter" and "per quarter" in N.headline(result)
    with pytest.raises(StudyFileError, match="period_unit"):
        parse_study(dict(base, period_unit="fortnight"))


def test_rows_and_companies_are_counted_apart(tmp_path):
    long = pd.DataFrame({"company": np.repeat(["A", "B", "C"], 4), "period": np.tile([2020, 2021, 2022, 2023], 3),
                         "cx_score": np.arange(12.0), "value": np.arange(1.0, 13.0)})
    _, s = L.read_long(long, {}, "long.csv")
    assert s.describe().startswith("Read 12 rows (one per company-period) from long.csv: 12 company-periods from "
                                   "3 companies over 4 periods (2020-2023)")
    wide_scores = pd.DataFrame({"company": ["A", "B", "C"], "2020": [1, 2, 3], "2021": [2, 3, 4]})
    wide_values = pd.DataFrame({"company": ["A", "B", "C"], "2020": [5, 6, 7], "2021": [6, 7, 8]})
    _, s = L.read_wide(wide_scores, wide_values, {}, ("s.csv", "v.csv"))
    assert plain(s.describe()).startswith(      # names from files are escaped markdown: read as displayed
        "Read 3 and 3 rows (one per company in each table) from s.csv (cx_score) and v.csv (value): 6 "
        "company-periods from 3 companies over 2 periods")
    study = parse_study({"study": "t", "notebook": "leaders", "data": {"synthetic": "panel", "n": 300, "seed": 1,
                                                                        "options": {"periods": 5}}})
    assert "(300 companies, seed 1, periods 5)" in data_source_line(study)
    assert "300 rows" not in data_source_line(study)
