"""Leaders, DESIGN 5.3 wave 2: the company-clustered test (against statsmodels and the CR1 formula written out),
the company block bootstrap (against a plain loop, reproducible, covering), calibration on null panels with
persistent company growth, power with a true leader effect, and the narrative rules (tables)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.regression.linear_model import OLS

from cxlab import words
from cxlab.stats import clustered
from cxlab.studies.leaders import analysis as L_analysis
from cxlab.studies.leaders import inference, portfolios
from cxlab.studies.leaders import narrative as N
from cxlab.synth.panel import panel, premium


def cr1_reference(y, group, clusters):
    """Cluster-robust (CR1) inference on the slope of y ~ 1 + group, written out from the textbook formula."""
    y, group = np.asarray(y, float), np.asarray(group, float)
    x = np.column_stack([np.ones(len(y)), group])
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    e = y - x @ beta
    labels = sorted(set(clusters))
    meat = np.zeros((k, k))
    for g in labels:
        m = np.array([c == g for c in clusters])
        s = x[m].T @ e[m]
        meat += np.outer(s, s)
    big_g = len(labels)
    v = big_g / (big_g - 1) * (n - 1) / (n - k) * bread @ meat @ bread
    se = np.sqrt(v[1, 1])
    t = beta[1] / se
    q = sps.t.ppf(0.975, big_g - 1)
    return {"cluster_diff": beta[1], "cluster_se": se, "cluster_t": t, "cluster_df": big_g - 1,
            "cluster_p": 2 * sps.t.sf(abs(t), big_g - 1), "cluster_ci_low": beta[1] - q * se,
            "cluster_ci_high": beta[1] + q * se, "n_clusters": big_g}


# a hand panel of pooled company-periods: (company, group, growth); C3's 0.02 is a leader and a laggard
HAND = [("C1", 1, 0.10), ("C1", 1, 0.14), ("C1", 0, -0.02), ("C2", 1, 0.03), ("C2", 0, 0.01),
        ("C3", 1, 0.02), ("C3", 0, 0.02), ("C4", 0, -0.05), ("C4", 0, 0.00), ("C4", 0, 0.04),
        ("C5", 1, 0.07), ("C5", 0, 0.06), ("C6", 0, 0.11), ("C6", 1, 0.09), ("C7", 1, 0.12)]


def test_clustered_test_against_statsmodels_and_cr1_formula():
    comp, grp, y = map(list, zip(*HAND))
    got = clustered.cluster_diff_test(np.array(y), np.array(grp), np.array(comp))
    want = cr1_reference(y, grp, comp)
    assert set(got) == set(clustered.CLUSTER_KEYS)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-10), key
    lead = [v for _, g, v in HAND if g == 1]
    lag = [v for _, g, v in HAND if g == 0]
    assert got["cluster_diff"] == pytest.approx(np.mean(lead) - np.mean(lag), rel=1e-12)
    fit = OLS(np.array(y), np.column_stack([np.ones(len(y)), grp])).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(pd.Series(comp))[0]}, use_t=True)
    assert (got["cluster_se"], got["cluster_p"]) == pytest.approx((fit.bse[1], fit.pvalues[1]), rel=1e-12)
    assert got["cluster_df"] == 6 and got["n_clusters"] == 7


@pytest.mark.parametrize("rows, defined", [
    ([("A", 1, 0.1), ("A", 0, 0.2), ("A", 1, 0.3)], False),                     # one cluster
    ([("A", 1, 0.1), ("B", 0, 0.1), ("C", 1, 0.1), ("D", 0, 0.1)], False),     # no spread
    ([("A", 1, 0.1), ("B", 1, 0.2), ("C", 1, 0.3)], False),                     # one group only
    ([("A", 1, 0.1), ("B", 0, 0.2), ("C", 1, 0.3), ("D", 0, 0.1)], True),
])
def test_clustered_test_undefined_cases(rows, defined):
    comp, grp, y = map(np.array, zip(*rows))
    got = clustered.cluster_diff_test(y, grp, comp)
    assert (got["cluster_p"] is not None) == defined and got["n_clusters"] == len(set(comp))


# ------------------------------------------------------------------------------ block bootstrap

def block_reference(frame, draws, level=0.95, measure="growth", offsets=None):
    """Plain loop: for each draw, stack the drawn companies' company-periods and recompute the pooled difference
    of ``measure`` and the chain of (1 + offset + portfolio period mean) (offsets 0 by default)."""
    companies = sorted(frame["company"].unique())
    periods = sorted(frame["period"].unique())
    offsets = np.zeros(len(periods)) if offsets is None else offsets
    by = {c: frame[frame["company"] == c] for c in companies}
    diffs, ratios, gaps = [], [], []
    for row in draws:
        d = pd.concat([by[companies[i]] for i in row])
        lead, lag = d[d["leader"]], d[d["laggard"]]
        if len(lead) and len(lag):
            diffs.append(lead[measure].mean() - lag[measure].mean())
        if all((lead["period"] == p).any() and (lag["period"] == p).any() for p in periods):
            le = np.prod([1 + o + lead.loc[lead["period"] == p, measure].mean() for p, o in zip(periods, offsets)])
            ge = np.prod([1 + o + lag.loc[lag["period"] == p, measure].mean() for p, o in zip(periods, offsets)])
            ratios.append(le / ge)
            gaps.append(le ** (1 / len(periods)) - ge ** (1 / len(periods)))
    q = [50 * (1 - level), 100 - 50 * (1 - level)]
    return np.percentile(diffs, q), np.percentile(ratios, q), np.percentile(gaps, q), len(diffs), len(ratios)


def small_labelled_panel(seed=0, companies=8, periods=3):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(companies):
        for p in range(periods):
            leader = c == 0 or (c == 1 and rng.random() < 0.5)  # few leaders: some draws hold none
            laggard = c >= companies - 3 or (c == 2 and p == 0)
            rows.append((f"K{c}", 2000 + p, rng.normal(0.05, 0.1), leader, laggard or (c == 1 and p == 1)))
    return pd.DataFrame(rows, columns=["company", "period", "growth", "leader", "laggard"])


def test_block_bootstrap_matches_plain_loop_and_is_reproducible():
    f = small_labelled_panel()
    args = [f[c].to_numpy() for c in ("growth", "leader", "laggard", "company", "period")]
    got = clustered.block_bootstrap(*args, resamples=400, seed=5)
    draws = np.random.default_rng(5).integers(0, 8, size=(400, 8), dtype=np.int32)
    d, r, g, kept, kept_chain = block_reference(f, draws)
    assert (got["diff_low"], got["diff_high"]) == pytest.approx(tuple(d), rel=1e-10)
    assert (got["ratio_low"], got["ratio_high"]) == pytest.approx(tuple(r), rel=1e-10)
    assert (got["gap_low"], got["gap_high"]) == pytest.approx(tuple(g), rel=1e-10)
    assert (got["kept"], got["kept_chain"]) == (kept, kept_chain)
    assert kept < 400 and kept_chain < kept  # draws without a leader (or a period without one) were skipped
    assert clustered.block_bootstrap(*args, resamples=400, seed=5) == got
    assert clustered.block_bootstrap(*args, resamples=400, seed=6) != got
    # drawing in chunks gives the same draws
    one = np.concatenate(list(clustered.cluster_draws(8, 50, seed=2)))
    chunked = np.concatenate(list(clustered.cluster_draws(8, 50, seed=2, chunk_elems=24)))
    assert np.array_equal(one, chunked) and (one.sum(axis=1) == 8).all()


def test_block_bootstrap_covers_a_known_difference_with_clustered_data():
    """Companies keep their growth rate and mostly their label; the true pooled difference is 0.03."""
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(300 + seed)
        n, periods = 60, 5
        rate = rng.normal(0, 0.08, n)
        lead_company = rng.random(n) < 0.5
        rows = []
        for p in range(periods):
            switch = rng.random(n) < 0.1
            leader = lead_company ^ switch
            growth = rate + 0.03 * leader + rng.normal(0, 0.1, n)
            rows.append(pd.DataFrame({"company": np.arange(n), "period": p, "growth": growth,
                                      "leader": leader, "laggard": ~leader}))
        f = pd.concat(rows)
        res = clustered.block_bootstrap(*[f[c].to_numpy() for c in ("growth", "leader", "laggard", "company",
                                                                     "period")], resamples=400, seed=seed)
        covered += res["diff_low"] <= 0.03 <= res["diff_high"]
    assert covered >= 34


# ------------------------------------------------------------------------------ calibration and power

def clustered_summary(seed, n, periods, beta, company_sd, sectors=3, within="sector"):
    frame = panel(n=n, periods=periods, seed=seed, beta=beta, company_sd=company_sd, sectors=sectors)
    cand = portfolios.company_periods(frame, within)
    assigned = portfolios.portfolios(cand, 0.75, 0.25, within)
    return inference.summarize(assigned, portfolios.period_table(assigned), None, resamples=0)


def test_calibration_on_null_panels_with_persistent_company_growth():
    """CX unrelated to growth, each company with a persistent rate: the clustered test holds its level."""
    runs = [clustered_summary(seed, 60, 10, beta=0.0, company_sd=0.1) for seed in range(80)]
    cluster = sum(r["cluster_p"] < 0.05 for r in runs)
    welch = sum(r["welch_p"] < 0.05 for r in runs)
    assert cluster <= 8, cluster                 # at most 10% of 80 panels
    assert welch >= 12, welch                    # the naive test does not: the panels have the dependence
    assert all(r["block_ci_low"] is None for r in runs)  # resamples=0 skips the bootstraps


def test_power_with_a_true_leader_effect():
    runs = [clustered_summary(2000 + seed, 120, 6, beta=0.03, company_sd=0.1) for seed in range(20)]
    assert sum(r["cluster_p"] < 0.05 and r["cluster_diff"] > 0 for r in runs) >= 14
    truth = premium(0.75, 0.25, beta=0.03)
    covered = sum(r["cluster_ci_low"] <= truth <= r["cluster_ci_high"] for r in runs)
    assert covered >= 16


# ------------------------------------------------------------------------------ narrative rules

def summary(**over):
    s = {"cluster_diff": 0.051, "cluster_p": 0.0004, "cluster_ci_low": 0.038, "cluster_ci_high": 0.065,
         "cluster_se": 0.007, "cluster_t": 7.5, "cluster_df": 280, "n_clusters": 281,
         "end_ratio": 1.553, "end_ratio_ci_low": 1.39, "end_ratio_ci_high": 1.73, "annualised_gap": 0.0518,
         "annualised_gap_ci_low": 0.039, "annualised_gap_ci_high": 0.065, "block_ci_low": 0.038,
         "block_ci_high": 0.065, "period_diff": 0.052, "leader_mean": 0.086, "laggard_mean": 0.035,
         "leader_cumulative": 1.09, "laggard_cumulative": 0.35, "cumulative_ratio": 3.1, "welch_t": 7.3,
         "welch_p": 1e-12, "hedges_g": 0.39, "diff_ci_low": 0.037, "diff_ci_high": 0.065,
         "benchmark_cumulative": None}
    s.update(over)
    return s


def fake_result(s, sens=None):
    periods = [{"period": 2011, "n_leaders": 5, "n_laggards": 5, "leader_mean": 0.1, "laggard_mean": 0.0},
               {"period": 2012, "n_leaders": 5, "n_laggards": 6, "leader_mean": 0.1, "laggard_mean": 0.0}]
    sens = sens or [dict(s, leader_quantile=0.75, laggard_quantile=0.25)]
    return L_analysis.LeadersResult({"summary": s, "periods": periods, "sensitivity": sens}, *[None] * 5)


@pytest.mark.parametrize("diff, p, text", [
    (0.05, 0.001, "CX leaders grew faster than CX laggards"),
    (-0.05, 0.001, "CX leaders grew more slowly than CX laggards"),
    (0.05, 0.2, "the data cannot tell whether CX leaders grew faster or more slowly than CX laggards"),
    (-0.05, 0.05, "the data cannot tell whether CX leaders grew faster or more slowly than CX laggards"),
    (0.05, None, "CX leaders cannot be compared with a test to CX laggards"),
])
def test_direction_only_when_the_clustered_test_is_significant(diff, p, text):
    assert N.comparison_words(summary(cluster_diff=diff, cluster_p=p)) == text


@pytest.mark.parametrize("over, text", [
    ({}, "from equal starting values the leader portfolio ended 1.55 times as large as the laggard portfolio "
         "(95% CI 1.39 to 1.73)"),
    ({"end_ratio": 0.9, "end_ratio_ci_low": None}, "ended 0.90 times as large as the laggard portfolio "
                                                    "(interval not defined)"),
])
def test_end_ratio_words(over, text):
    assert text in N.ratio_words(summary(**over))


@pytest.mark.parametrize("over, text", [
    ({}, "an annualised gap of +5.2 points a year (95% CI +3.9 to +6.5)"),
    ({"annualised_gap": -0.004, "annualised_gap_ci_low": -0.02, "annualised_gap_ci_high": 0.011},
     "an annualised gap of -0.4 points a year (95% CI -2.0 to +1.1)"),
])
def test_annualised_gap_words(over, text):
    assert N.gap_words(summary(**over)) == text


@pytest.mark.parametrize("q, text", [(0.75, "75th percentile"), (0.25, "25th percentile"), (0.9, "90th percentile"),
                                     (0.21, "21st percentile"), (0.02, "2nd percentile"),
                                     (0.875, "87.5th percentile")])
def test_percentile_words(q, text):
    assert N.percentile_words(q) == text


@pytest.mark.parametrize("over, present, absent", [
    ({}, ["grew faster", "company-clustered p < 0.001, 281 companies", "+5.1 points (95% CI +3.8 to +6.5)",
          "1.55 times as large", "(95% CI 1.39 to 1.73)", "+5.2 points a year (95% CI +3.9 to +6.5)"],
     ["Welch", "times the laggards'"]),
    ({"cluster_p": 0.43, "cluster_diff": 0.008, "cluster_ci_low": -0.012, "cluster_ci_high": 0.028,
      "welch_p": 0.001}, ["the data cannot tell whether CX leaders grew faster or more slowly", "p = 0.43",
                          "+0.8 points (95% CI -1.2 to +2.8)"],
     ["grew faster than", "grew more slowly than", "no clear difference", "Welch", "p < 0.001"]),
    # the wave-1 defect: laggards shrank, so a ratio of growth rates read "-1.0 times the laggards'"
    ({"laggard_cumulative": -0.5, "cumulative_ratio": None, "end_ratio": 4.2, "end_ratio_ci_low": 2.0,
      "end_ratio_ci_high": 9.0}, ["4.20 times as large", "(95% CI 2.00 to 9.00)"], ["-1.0 times", "times the"]),
    ({"cluster_p": None, "cluster_ci_low": None, "cluster_ci_high": None, "n_clusters": 1},
     ["cannot be compared", "no clustered test: 1 company", "(interval not defined)"], ["faster", "slower"]),
])
def test_headline_rules(over, present, absent):
    text = N.headline(fake_result(summary(**over)))
    for needle in present:
        assert needle in text, needle
    for needle in absent:
        assert needle not in text, needle
    assert text.startswith("Over 2011-2013, ")


@pytest.mark.parametrize("over", [{}, {"cluster_p": 0.3}, {"cluster_diff": -0.05}, {"welch_t": None}])
def test_no_effect_words_and_naive_figures_said_to_be_naive(over):
    text = N.headline(fake_result(summary(**over))) + " " + N.interpret(fake_result(summary(**over)))
    low = text.lower()
    assert not [w for w in words.EFFECT_WORDS if w in low]
    assert "not a causal effect" in low and "headline relies on the company-clustered regression" in low
    assert "for comparison only" in low or "naive welch test cannot be computed" in low
    assert "e-" not in text and "nan" not in low


@pytest.mark.parametrize("rows, text", [
    ([(0.9, 0.1, 0.06, 0.001), (0.75, 0.25, 0.05, 0.01)],
     "90th/10th, 75th/25th (leaders/laggards), 2 of 2 show a significant clustered difference "
     "(2 with leaders growing faster)"),
    ([(0.9, 0.1, -0.06, 0.001), (0.75, 0.25, 0.05, 0.3)],
     "1 of 2 show a significant clustered difference (1 with leaders growing more slowly)"),
    ([(0.8, 0.2, 0.01, 0.5), (0.75, 0.25, -0.01, None)], "none shows a significant clustered difference"),
])
def test_sensitivity_words(rows, text):
    sens = [{"leader_quantile": hi, "laggard_quantile": lo, "cluster_diff": d, "cluster_p": p} for hi, lo, d, p in rows]
    assert text in N.sensitivity_words(sens)


def test_results_schema_requires_the_wave_2_keys():
    from cxlab.record import to_json, validate_results
    s = clustered_summary(1, 40, 4, beta=0.0, company_sd=0.1)
    s = {k: s[k] for k in inference.SUMMARY_KEYS}
    prov = {"parameters": {}, "inputs": {}, "packages": {}, "started": "", "ended": ""}
    doc = {"study": "t", "notebook": "leaders", "status": "ok", "provenance": prov,
           "results": to_json({"periods": [], "summary": s})}
    assert validate_results(doc) == []
    for key in ("cluster_p", "n_clusters", "block_ci_low", "end_ratio", "annualised_gap", "period_diff"):
        broken = dict(doc, results={"periods": [], "summary": {k: v for k, v in doc["results"]["summary"].items()
                                                                 if k != key}})
        assert validate_results(broken), key
