"""The leaders study (DESIGN 5.3): every figure against a straightforward reference on a hand-made panel,
long versus wide layouts, the bootstrap, the synthetic truth, and bad inputs."""
from __future__ import annotations

import importlib
import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cxlab.errors import DataError, FewCompaniesWarning
from cxlab.params import parse_study
from cxlab.record import to_json
from cxlab.stats import groups
from cxlab.studies.leaders import analysis as L_analysis
from cxlab.studies.leaders import inference, portfolios
from cxlab.studies.leaders import load as L_load
from cxlab.studies.leaders import narrative as L_narrative
from test_leaders_inference import cr1_reference

synth_panel = importlib.import_module("cxlab.synth.panel")

NaN = float("nan")
# company, sector, period, cx_score, value. Sector B has 3 companies (fewer than 4); A3 has no row in
# period 3 (a gap), A4 falls to a value of 0, A5 stops after period 3, A6 lacks a cx_score in period 2,
# A7 lacks a value in period 3 and stops; several cut-offs fall on tied scores.
ROWS = [
    ("A1", "A", 1, 1, 100), ("A1", "A", 2, 2, 110), ("A1", "A", 3, 2, 121), ("A1", "A", 4, 3, 120),
    ("A2", "A", 1, 2, 100), ("A2", "A", 2, 2, 95), ("A2", "A", 3, 4, 99), ("A2", "A", 4, 4, 100),
    ("A3", "A", 1, 2, 50), ("A3", "A", 2, 3, 55), ("A3", "A", 4, 5, 60),
    ("A4", "A", 1, 3, 80), ("A4", "A", 2, 5, 88), ("A4", "A", 3, 5, 0), ("A4", "A", 4, 5, 10),
    ("A5", "A", 1, 5, 200), ("A5", "A", 2, 5, 210), ("A5", "A", 3, 1, 190),
    ("A6", "A", 1, 5, 20), ("A6", "A", 2, NaN, 22), ("A6", "A", 3, 3, 25), ("A6", "A", 4, 3, 30),
    ("A7", "A", 1, 5, 40), ("A7", "A", 2, 1, 44), ("A7", "A", 3, 1, NaN),
    ("A8", "A", 1, 4, 30), ("A8", "A", 2, 4, 33), ("A8", "A", 3, 2, 30), ("A8", "A", 4, 2, 36),
    ("A9", "A", 1, 1, 60), ("A9", "A", 2, 2, 57), ("A9", "A", 3, 4, 63), ("A9", "A", 4, 5, 70),
    ("B1", "B", 1, 1, 10), ("B1", "B", 2, 2, 11), ("B1", "B", 3, 3, 12), ("B1", "B", 4, 3, 13),
    ("B2", "B", 1, 2, 10), ("B2", "B", 2, 3, 12), ("B2", "B", 3, 1, 9), ("B2", "B", 4, 1, 9),
    ("B3", "B", 1, 3, 10), ("B3", "B", 2, 1, 9), ("B3", "B", 3, 2, 10), ("B3", "B", 4, 2, 11),
]
BENCH = {1: 100.0, 2: 104.0, 3: 101.0, 4: 110.0}


def long_frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["company", "sector", "period", "cx_score", "value"])


def write_long(tmp_path, frame=None, name="panel.csv"):
    path = tmp_path / name
    (long_frame() if frame is None else frame).to_csv(path, index=False)
    return path


def write_wide(tmp_path):
    f = long_frame()
    scores = f.pivot(index="company", columns="period", values="cx_score")
    values = f.pivot(index="company", columns="period", values="value")
    scores.insert(0, "sector", f.groupby("company")["sector"].first())
    scores.reset_index().to_csv(tmp_path / "scores.csv", index=False)
    values.reset_index().to_csv(tmp_path / "values.csv", index=False)


def make_study(tmp_path, **over):
    raw = {"study": "t", "notebook": "leaders", "data": {"path": "panel.csv"}, "bootstrap": {"resamples": 2000,
                                                                                             "seed": 7}}
    raw.update(over)
    return parse_study(raw, base_dir=tmp_path)


def run(study, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewCompaniesWarning)
        return L_analysis.analyze(L_load.read(study, tmp_path), study)


# ------------------------------------------------------------------------------ independent reference

def reference(rows, lq, gq, within, bench=None):
    """Straightforward loops over the hand-made rows, following DESIGN 5.3 word by word."""
    cell = {(c, p): (s, sc, v) for c, s, p, sc, v in rows}
    last = max(p for _, _, p, _, _ in rows)
    ok = lambda x: x is not None and not math.isnan(x)
    eligible, reasons = [], {}
    for (c, p), (s, sc, v) in sorted(cell.items()):
        if p >= last or not (ok(sc) or ok(v)):
            continue
        nv = cell.get((c, p + 1), (None, None, None))[2]
        later = any(ok(cell[(c, q)][2]) for q in range(p + 2, last + 1) if (c, q) in cell)
        if not ok(sc):
            why = "missing_cx_score"
        elif not ok(v):
            why = "missing_value"
        elif v <= 0:
            why = "non_positive_value"
        elif not ok(nv):
            why = "gap_in_periods" if later else "missing_next_value"
        elif nv <= 0:
            why = "non_positive_value"
        else:
            eligible.append((c, s, p, sc, nv / v - 1))
            continue
        reasons[why] = reasons.get(why, 0) + 1
    groups = {}
    for e in eligible:
        groups.setdefault((e[1], e[2]) if within else e[2], []).append(e)
    lead, lag, leadc, lagc = {}, {}, {}, {}
    split_rows = []  # (company, sector, period, growth, leader, laggard) of every split company-period
    for key, members in groups.items():
        if len(members) < 4:
            reasons["too_few_companies"] = reasons.get("too_few_companies", 0) + len(members)
            continue
        scores = [m[3] for m in members]
        hi, lo = np.percentile(scores, 100 * lq), np.percentile(scores, 100 * gq)
        p = members[0][2]
        split_rows.extend((m[0], m[1], m[2], m[4], m[3] >= hi, m[3] <= lo) for m in members)
        lead.setdefault(p, []).extend(m[4] for m in members if m[3] >= hi)
        lag.setdefault(p, []).extend(m[4] for m in members if m[3] <= lo)
        leadc.setdefault(p, []).extend(m[0] for m in members if m[3] >= hi)
        lagc.setdefault(p, []).extend(m[0] for m in members if m[3] <= lo)
    periods = sorted(lead)
    table = [{"period": p, "n_leaders": len(lead[p]), "n_laggards": len(lag[p]),
              "leader_mean": statistics.fmean(lead[p]), "laggard_mean": statistics.fmean(lag[p])} for p in periods]
    x = [g for p in periods for g in lead[p]]
    y = [g for p in periods for g in lag[p]]
    lc = math.prod(1 + r["leader_mean"] for r in table) - 1
    gc = math.prod(1 + r["laggard_mean"] for r in table) - 1
    t = sps.ttest_ind(x, y, equal_var=False)
    nx, ny = len(x), len(y)
    sp = math.sqrt(((nx - 1) * statistics.variance(x) + (ny - 1) * statistics.variance(y)) / (nx + ny - 2))
    g = (statistics.fmean(x) - statistics.fmean(y)) / sp * (1 - 3 / (4 * (nx + ny) - 9))
    summary = {"leader_mean": statistics.fmean(r["leader_mean"] for r in table),
               "laggard_mean": statistics.fmean(r["laggard_mean"] for r in table),
               "leader_cumulative": lc, "laggard_cumulative": gc, "cumulative_ratio": lc / gc,
               "welch_t": t.statistic, "welch_p": t.pvalue, "hedges_g": g,
               "benchmark_cumulative": (math.prod(bench[p + 1] / bench[p] for p in periods) - 1) if bench else None}
    # wave 2: the company-clustered test (CR1 written out), the period description and the chained figures
    xc = [c for p in periods for c in leadc[p]]
    yc = [c for p in periods for c in lagc[p]]
    summary.update(cr1_reference(x + y, [1] * len(x) + [0] * len(y), xc + yc))
    summary["n_clusters"] = len(set(xc + yc))
    summary["period_diff"] = statistics.fmean(r["leader_mean"] - r["laggard_mean"] for r in table)
    summary["end_ratio"] = (1 + lc) / (1 + gc)
    summary["annualised_gap"] = (1 + lc) ** (1 / len(table)) - (1 + gc) ** (1 / len(table))
    # issue 20: with two or more sectors, the same figures on growth minus its sector-period mean
    sectors = {r[1] for r in split_rows}
    if len(sectors) < 2:
        summary["adjustment"] = "none"
        summary.update({"adjusted_" + k.removeprefix("cluster_"): summary[k] for k in
                        ("cluster_diff", "cluster_se", "cluster_t", "cluster_df", "cluster_p", "cluster_ci_low",
                         "cluster_ci_high")})
        summary["adjusted_end_ratio"], summary["adjusted_annualised_gap"] = (summary["end_ratio"],
                                                                             summary["annualised_gap"])
        return table, summary, reasons, x, y
    cells = {}
    for c, sec, p, g, _, _ in split_rows:
        cells.setdefault((sec, p), []).append(g)
    rel = [(c, p, g - statistics.fmean(cells[(sec, p)]), le, la) for c, sec, p, g, le, la in split_rows]
    rx = [(c, r) for c, p, r, le, la in sorted(rel, key=lambda r: (r[1], r[0])) if le]
    ry = [(c, r) for c, p, r, le, la in sorted(rel, key=lambda r: (r[1], r[0])) if la]
    adj = cr1_reference([r for _, r in rx + ry], [1] * len(rx) + [0] * len(ry), [c for c, _ in rx + ry])
    summary["adjustment"] = "sector-period"
    summary.update({"adjusted_" + k.removeprefix("cluster_"): v for k, v in adj.items() if k != "n_clusters"})
    ends = []
    for flag in (3, 4):  # leaders, laggards: period mean growth plus the members' mean relative growth
        ends.append(math.prod(1 + statistics.fmean(g for _, _, q, g, _, _ in split_rows if q == p)
                              + statistics.fmean(r[2] for r in rel if r[1] == p and r[flag]) for p in periods))
    summary["adjusted_end_ratio"] = ends[0] / ends[1]
    summary["adjusted_annualised_gap"] = ends[0] ** (1 / len(periods)) - ends[1] ** (1 / len(periods))
    return table, summary, reasons, x, y


def check_against_reference(result, lq, gq, within, bench=None):
    table, summary, reasons, x, y = reference(ROWS, lq, gq, within, bench)
    assert len(result.results["periods"]) == len(table)
    for got, want in zip(result.results["periods"], table):
        assert got == pytest.approx(want, rel=1e-12)
    for key, value in summary.items():
        if value is None or isinstance(value, str):
            assert result.results["summary"][key] == value, key
        else:
            assert result.results["summary"][key] == pytest.approx(value, rel=1e-12), key
    ex = result.results["excluded"]
    assert {k: v for k, v in ex.items() if v} == reasons
    lo, hi = groups.bootstrap_diff(np.array(x), np.array(y), 2000, 7)
    assert (result.results["summary"]["diff_ci_low"], result.results["summary"]["diff_ci_high"]) == (lo, hi)
    return table, reasons


@pytest.mark.parametrize("within", [None, "sector"])
@pytest.mark.parametrize("lq,gq", [(0.75, 0.25), (0.8, 0.2), (0.6, 0.4)])
def test_figures_against_reference(tmp_path, within, lq, gq):
    write_long(tmp_path)
    pd.DataFrame({"period": list(BENCH), "value": list(BENCH.values())}).to_csv(tmp_path / "bench.csv", index=False)
    study = make_study(tmp_path, within=within, leader_quantile=lq, laggard_quantile=gq,
                       benchmark={"path": "bench.csv"})
    result = run(study, tmp_path)
    table, reasons = check_against_reference(result, lq, gq, within, BENCH)
    # the panel has what this test is about
    assert {"gap_in_periods", "non_positive_value", "missing_cx_score", "missing_next_value",
            "missing_value"} <= set(reasons)
    if within:
        assert reasons["too_few_companies"] == 3 * 3  # sector B: 3 companies in each of 3 periods
    # cut-offs over all companies mix sectors A and B, so the headline's figures are sector-adjusted
    # (within sector only sector A is split: nothing to adjust, the adjusted figures are the pooled ones)
    s = result.results["summary"]
    assert s["adjustment"] == ("none" if within else "sector-period")
    assert (s["adjusted_p"] == s["cluster_p"]) == bool(within)


def test_ties_at_cut_off_are_included(tmp_path):
    write_long(tmp_path)
    result = run(make_study(tmp_path, within="sector"), tmp_path)
    first = result.results["periods"][0]
    # sector A, period 1: scores 1,1,2,2,3,4,5,5,5 -> cut-offs 5 and 2, so 3 leaders and 4 laggards of 9
    assert (first["period"], first["n_leaders"], first["n_laggards"]) == (1, 3, 4)
    a = result.company_periods.query("period == 1 and split")
    assert a["leader_cut"].iloc[0] == 5 and a["laggard_cut"].iloc[0] == 2


def test_sensitivity_pairs_match_single_runs(tmp_path):
    write_long(tmp_path)
    result = run(make_study(tmp_path), tmp_path)
    sens = result.results["sensitivity"]
    assert [(r["leader_quantile"], r["laggard_quantile"]) for r in sens] == [(0.9, 0.1), (0.8, 0.2), (0.75, 0.25)]
    for row in sens:
        _, summary, _, _, _ = reference(ROWS, row["leader_quantile"], row["laggard_quantile"], None)
        for key in ("leader_mean", "laggard_mean", "leader_cumulative", "welch_t", "hedges_g"):
            assert row[key] == pytest.approx(summary[key]), key
        assert set(inference.SUMMARY_KEYS) <= set(row)
    assert sens[2] == {k: v for k, v in sens[2].items()} and sens[2]["welch_t"] == result.results["summary"]["welch_t"]


def test_long_and_wide_give_identical_results(tmp_path):
    write_long(tmp_path)
    write_wide(tmp_path)
    for within in (None, "sector"):
        long = run(make_study(tmp_path, within=within), tmp_path)
        wide = run(make_study(tmp_path, within=within, layout="wide",
                              data={"scores": "scores.csv", "values": "values.csv"}), tmp_path)
        assert to_json(long.results) == to_json(wide.results)
        assert long.warnings == wide.warnings


def test_result_keys_are_design(tmp_path):
    write_long(tmp_path)
    res = run(make_study(tmp_path), tmp_path).results
    for row in res["periods"]:
        assert set(row) == {"period", "n_leaders", "n_laggards", "leader_mean", "laggard_mean"}
    assert set(res["summary"]) == set(inference.SUMMARY_KEYS)
    assert res["summary"]["benchmark_cumulative"] is None
    assert set(res["excluded"]) == set(portfolios.REASONS)


# ------------------------------------------------------------------------------ bootstrap

def test_bootstrap_matches_direct_draws_and_is_reproducible():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0.05, 0.1, 60), rng.normal(0, 0.1, 45)
    lo, hi = groups.bootstrap_diff(x, y, 500, seed=11)
    sx, sy = np.random.SeedSequence(11).spawn(2)
    bx = x[np.random.default_rng(sx).integers(0, 60, size=(500, 60), dtype=np.int32)].mean(axis=1)
    by = y[np.random.default_rng(sy).integers(0, 45, size=(500, 45), dtype=np.int32)].mean(axis=1)
    assert (lo, hi) == tuple(np.percentile(bx - by, [2.5, 97.5]))
    assert groups.bootstrap_diff(x, y, 500, seed=11) == (lo, hi)
    assert groups.bootstrap_diff(x, y, 500, seed=12) != (lo, hi)
    # chunked draws give the same numbers as one draw
    chunked = groups._boot_means(x, np.random.default_rng(sx), 500, chunk_elems=7 * 60)
    assert np.array_equal(chunked, bx)


def test_bootstrap_covers_a_known_difference():
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        x, y = rng.normal(0.05, 0.2, 300), rng.exponential(0.2, 250) - 0.2  # true difference 0.05
        lo, hi = groups.bootstrap_diff(x, y, 1000, seed=seed)
        covered += lo <= 0.05 <= hi
    assert 34 <= covered <= 40


def test_welch_and_hedges_against_scipy():
    rng = np.random.default_rng(5)
    x, y = rng.normal(1, 2, 40), rng.normal(0, 1, 70)
    t, p = groups.welch_test(x, y)
    ref = sps.ttest_ind(x, y, equal_var=False)
    assert (t, p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)
    nx, ny = len(x), len(y)
    sp = np.sqrt(((nx - 1) * x.var(ddof=1) + (ny - 1) * y.var(ddof=1)) / (nx + ny - 2))
    assert groups.hedges_g(x, y) == pytest.approx((x.mean() - y.mean()) / sp * (1 - 3 / (4 * (nx + ny) - 9)))
    assert groups.welch_test(x[:1], y) == (None, None) and groups.hedges_g(x, y[:1]) is None


# ------------------------------------------------------------------------------ synthetic truth

def synthetic_study(seed, **over):
    raw = {"study": "s", "notebook": "leaders", "data": {"synthetic": "panel", "n": 400, "seed": seed},
           "within": "sector", "bootstrap": {"resamples": 1000, "seed": seed}}
    raw.update(over)
    return parse_study(raw)


def test_recovers_leader_premium_within_interval():
    covered, covered_cluster, covered_block = 0, 0, 0
    diffs = {pair: [] for pair in synth_panel.QUANTILE_PAIRS}
    seeds = range(20)
    for seed in seeds:
        study = synthetic_study(seed)
        result = L_analysis.analyze(L_load.read(study), study, sensitivity_pairs=synth_panel.QUANTILE_PAIRS)
        s = result.results["summary"]
        truth = synth_panel.TRUTH["premium"]["0.75/0.25"]
        covered += s["diff_ci_low"] <= truth <= s["diff_ci_high"]
        covered_cluster += s["cluster_ci_low"] <= truth <= s["cluster_ci_high"]
        covered_block += s["block_ci_low"] <= truth <= s["block_ci_high"]
        for row in result.results["sensitivity"]:
            diffs[(row["leader_quantile"], row["laggard_quantile"])].append(row["leader_mean"] - row["laggard_mean"])
    assert covered >= 16 and covered_cluster >= 16 and covered_block >= 16
    for (hi, lo), values in diffs.items():
        truth = synth_panel.TRUTH["premium"][f"{hi:g}/{lo:g}"]
        se = np.std(values, ddof=1) / np.sqrt(len(values))
        assert abs(np.mean(values) - truth) < 3.5 * se, (hi, lo)


def test_synthetic_panel_truth_and_benchmark():
    f = synth_panel.panel(n=2000, periods=6, seed=4)
    assert list(f.columns) == ["company", "sector", "period", "cx_score", "value"]
    assert len(f) == 12000 and f["period"].min() == 2011 and (f["value"] > 0).all()
    b = synth_panel.panel(n=50, periods=6, seed=4, part="benchmark")
    assert b.equals(synth_panel.panel(n=2000, periods=6, seed=4, part="benchmark"))  # independent of n
    assert b["value"].iloc[0] == 100 and len(b) == 6
    assert synth_panel.TRUTH["premium"]["0.75/0.25"] == pytest.approx(0.0508, abs=1e-4)
    assert synth_panel.premium(0.9, 0.1) == pytest.approx(2 * 0.02 * sps.norm.pdf(sps.norm.ppf(0.9)) / 0.1)
    # growth regressed on the within-sector standardised score recovers beta per SD
    w = f.sort_values(["company", "period"])
    w["growth"] = w.groupby("company")["value"].shift(-1) / w["value"] - 1
    w = w.dropna()
    w["z"] = (w["cx_score"] - w.groupby("sector")["cx_score"].transform("mean")) / synth_panel.SCORE_SD
    w["g"] = w["growth"] - w.groupby(["sector", "period"])["growth"].transform("mean")
    slope = np.polyfit(w["z"], w["g"], 1)[0]
    assert slope == pytest.approx(synth_panel.BETA, abs=0.004)


# ------------------------------------------------------------------------------ loading and bad input

def test_duplicates_are_an_error_naming_them(tmp_path):
    f = pd.concat([long_frame(), long_frame().iloc[[0, 5]]], ignore_index=True)
    write_long(tmp_path, f)
    with pytest.raises(DataError) as err:
        L_load.read(make_study(tmp_path), tmp_path)
    msg = str(err.value)
    assert "panel.csv" in msg and "'company'" in msg and "2 (company, period) keys" in msg
    assert "company 'A1', period 1 (data rows 1, 46)" in msg and "aggregate: mean" in msg


def test_aggregate_mean_merges_duplicates(tmp_path):
    extra = long_frame().iloc[[0]].assign(cx_score=3.0, value=120.0)
    write_long(tmp_path, pd.concat([long_frame(), extra], ignore_index=True))
    p = L_load.read(make_study(tmp_path, aggregate="mean"), tmp_path)
    assert p.summary.merged == 1 and "1 duplicate" in p.summary.describe()
    row = p.frame.query("company == 'A1' and period == 1").iloc[0]
    assert (row["cx_score"], row["value"]) == (2.0, 110.0)


@pytest.mark.parametrize("column,value,needle", [
    ("period", "2.5", "column 'period', row 3 (value '2.5'): is not an integer"),
    ("period", "FY2", "column 'period', row 3 (value 'FY2'): is not numeric"),
    ("cx_score", "good", "column 'cx_score', row 3 (value 'good'): is not numeric"),
])
def test_bad_cells(tmp_path, column, value, needle):
    f = long_frame().astype({column: object})
    f.loc[2, column] = value
    write_long(tmp_path, f)
    with pytest.raises(DataError, match="panel.csv") as err:
        L_load.read(make_study(tmp_path), tmp_path)
    assert needle in str(err.value)


def test_mapped_column_missing(tmp_path):
    write_long(tmp_path)
    with pytest.raises(DataError) as err:
        L_load.read(make_study(tmp_path, data={"path": "panel.csv", "columns": {"cx_score": "CX Index"}}), tmp_path)
    assert "column 'CX Index'" in str(err.value) and "missing" in str(err.value)


def test_wide_period_columns_must_parse(tmp_path):
    write_wide(tmp_path)
    scores = pd.read_csv(tmp_path / "scores.csv").rename(columns={"2": "FY2"})
    scores.to_csv(tmp_path / "scores.csv", index=False)
    study = make_study(tmp_path, layout="wide", data={"scores": "scores.csv", "values": "values.csv"})
    with pytest.raises(DataError) as err:
        L_load.read(study, tmp_path)
    assert "scores.csv, column 'FY2': column name is not an integer period" in str(err.value)


def test_wide_duplicate_company(tmp_path):
    write_wide(tmp_path)
    values = pd.read_csv(tmp_path / "values.csv")
    pd.concat([values, values.iloc[[2]]]).to_csv(tmp_path / "values.csv", index=False)
    study = make_study(tmp_path, layout="wide", data={"scores": "scores.csv", "values": "values.csv"})
    with pytest.raises(DataError, match=r"values.csv, column 'company', row 3: 1 company keys .*A3"):
        L_load.read(study, tmp_path)


def test_too_few_companies_everywhere_is_a_clear_error(tmp_path):
    write_long(tmp_path, long_frame().query("company in ['A1', 'A2', 'B1']"))
    study = make_study(tmp_path)
    panel = L_load.read(study, tmp_path)
    with pytest.raises(DataError, match="fewer than 4 eligible companies in every period"):
        L_analysis.analyze(panel, study)
    write_long(tmp_path, long_frame().query("sector == 'B' or company in ['A1', 'A2', 'A5']"))
    study = make_study(tmp_path, within="sector")
    with pytest.raises(DataError, match="every sector-period"):
        L_analysis.analyze(L_load.read(study, tmp_path), study)


def test_few_companies_warnings(tmp_path):
    write_long(tmp_path)
    study = make_study(tmp_path, within="sector")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = L_analysis.analyze(L_load.read(study, tmp_path), study)
    assert any(issubclass(w.category, FewCompaniesWarning) for w in caught) or result.warnings
    text = " ".join(result.warnings)
    assert "3 sector-periods have fewer than 4 eligible companies (e.g. B in 1 with 3)" in text
    assert "fewer than 10 eligible companies" in text


def test_benchmark_gap_gives_null_and_a_warning(tmp_path):
    write_long(tmp_path)
    pd.DataFrame({"period": [1, 2, 4], "value": [100, 101, 103]}).to_csv(tmp_path / "bench.csv", index=False)
    study = make_study(tmp_path, benchmark={"path": "bench.csv"})
    result = L_analysis.analyze(L_load.read(study, tmp_path), study)
    assert result.results["summary"]["benchmark_cumulative"] is None
    assert any("benchmark has no growth for periods 2, 3" in w for w in result.warnings)


def test_wide_sector_in_either_table_and_mapped_sector_missing(tmp_path):
    write_long(tmp_path)
    write_wide(tmp_path)
    study = make_study(tmp_path, layout="wide", within="sector",
                       data={"scores": "scores.csv", "values": "values.csv", "columns": {"sector": "sector"}})
    assert L_load.read(study, tmp_path).summary.sectors == 2
    pd.read_csv(tmp_path / "scores.csv").drop(columns="sector").to_csv(tmp_path / "scores.csv", index=False)
    bad = make_study(tmp_path, layout="wide", data={"scores": "scores.csv", "values": "values.csv",
                                                    "columns": {"sector": "Industry"}})
    with pytest.raises(DataError, match="scores.csv, column 'Industry': column is missing"):
        L_load.read(bad, tmp_path)


def test_tied_cut_offs_and_shrinking_laggards(tmp_path):
    # period 1: every score tied, so the cut-offs coincide and all five companies are leaders and laggards;
    # period 2: laggards (score 1) lose value, so the laggards' cumulative growth is negative
    rows = [(c, "S", 1, 3, 100) for c in "ABCDE"] + [
        ("A", "S", 2, 1, 90), ("B", "S", 2, 1, 80), ("C", "S", 2, 5, 120), ("D", "S", 2, 5, 130), ("E", "S", 2, 3, 100),
        ("A", "S", 3, 1, 45), ("B", "S", 3, 1, 40), ("C", "S", 3, 5, 150), ("D", "S", 3, 5, 140), ("E", "S", 3, 3, 100)]
    write_long(tmp_path, pd.DataFrame(rows, columns=["company", "sector", "period", "cx_score", "value"]))
    result = run(make_study(tmp_path), tmp_path)
    p1, p2 = result.results["periods"]
    assert (p1["n_leaders"], p1["n_laggards"]) == (5, 5) and p1["leader_mean"] == p1["laggard_mean"]
    assert (p2["n_leaders"], p2["n_laggards"]) == (2, 2)
    s = result.results["summary"]
    assert s["laggard_cumulative"] == pytest.approx((1 + p1["laggard_mean"]) * 0.5 - 1) and s["laggard_cumulative"] < 0
    assert s["cumulative_ratio"] is None
    text = " ".join(result.warnings)
    assert "5 company-periods are both leaders and laggards" in text and "ratio of cumulative growths is not defined" in text
    # wave 2: the headline chains the portfolios (end ratio), never a ratio of growth rates ("-1.0 times the laggards'")
    assert "times as large as the laggard portfolio" in L_narrative.headline(result)
    assert "times the laggards'" not in L_narrative.headline(result)
    assert s["end_ratio"] == pytest.approx((1 + s["leader_cumulative"]) / (1 + s["laggard_cumulative"]))
