"""Loyalty from sufficient statistics (issue 15): rows and aggregated counts give the same figures, to 1e-9.

On 100,000 synthetic rows (``tests/bigdata.py``: half-point ratings, missing values, a rare outcome with small
expected counts, frequency and sampling weights), in six cases (one tier per rating or named tiers; no weight,
frequency or sampling weights), three computations are compared to a row-level reference:

- the row path: ``load.read`` then ``analyze`` on the frame;
- the aggregated path: a DuckDB ``GROUP BY`` over the Parquet file (an aggregator independent of cxlab) gives
  per (outcome, rating, outcome value) the rows, sum of weights and sum of squared weights; ``analyze`` on those;
- the reference: ``tests/data/loyalty_100k_reference.json``, the ``results`` of the row-level implementation on
  main before the rewrite (commit cd7d463), and independent row-level computations (scipy chi-square on the
  crosstab, statsmodels Wilson and GLM on the rows, with frequency weights and with HC0 sandwich errors).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.proportion import proportion_confint

from bigdata import LOYALTY_CASES, LOYALTY_OUTCOMES, TOL, loyalty_frame, loyalty_raw, same
from cxlab.params import parse_study
from cxlab.studies.loyalty import analysis, cells, load

REFERENCE = json.loads((Path(__file__).parent / "data" / "loyalty_100k_reference.json").read_text())


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("big")
    loyalty_frame().to_parquet(path / "data.parquet")
    return path


def duckdb_counts(folder: Path, raw: dict) -> tuple[pd.DataFrame, int]:
    """Per outcome, rating and outcome value: rows, sum of weights, sum of squared weights (SQL over Parquet)."""
    weight = raw.get("weight", {}).get("column")
    w = f'"{weight}"' if weight else "1.0"
    parts = [f"SELECT '{o}' AS outcome, experience, CAST({o} AS DOUBLE) AS y, count(*) AS rows, "
             f"sum({w}) AS w, sum({w} * {w}) AS w2 FROM read_parquet('{folder / 'data.parquet'}') "
             f"WHERE experience IS NOT NULL AND {w} IS NOT NULL GROUP BY ALL" for o in LOYALTY_OUTCOMES]
    con = duckdb.connect()
    try:
        counts = con.execute(" UNION ALL ".join(parts)).df()
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{folder / 'data.parquet'}')").fetchone()[0]
    finally:
        con.close()
    return counts, int(rows)


@pytest.mark.parametrize("case", list(LOYALTY_CASES))
def test_row_and_aggregated_paths_equal_the_row_level_reference(folder, case):
    study = parse_study(loyalty_raw(case), base_dir=folder)
    frame, _ = load.read(study, folder)
    by_rows = analysis.analyze(frame, study)
    same(by_rows.results, REFERENCE[case]["results"])
    assert by_rows.warnings == REFERENCE[case]["warnings"]
    counts, rows = duckdb_counts(folder, loyalty_raw(case))
    data = cells.from_counts(counts, study.experience, rows=rows)
    assert len(data.counts) <= len(LOYALTY_OUTCOMES) * 9 * 3      # 9 ratings x (0, 1, missing) per outcome
    by_cells = analysis.analyze(data, study)
    same(by_cells.results, REFERENCE[case]["results"])
    assert by_cells.warnings == by_rows.warnings
    pd.testing.assert_frame_equal(by_cells.rates, by_rows.rates, rtol=TOL)


def test_rare_outcome_uses_the_monte_carlo_p_on_both_paths():
    o = REFERENCE["ratings-none"]["results"]["outcomes"]["rare"]
    assert o["chi2"]["small_expected"] and o["chi2"]["mc_p"] is not None


@pytest.mark.parametrize("weight", ["none", "frequency"])
def test_against_independent_row_level_computation(folder, weight):
    """scipy and statsmodels on the rows themselves (frequency weights: GLM freq_weights, weighted crosstab)."""
    case = f"ratings-{weight}"
    study = parse_study(loyalty_raw(case), base_dir=folder)
    counts, rows = duckdb_counts(folder, loyalty_raw(case))
    got = analysis.analyze(cells.from_counts(counts, study.experience, rows=rows), study).results["outcomes"]
    frame = loyalty_frame()
    for name in LOYALTY_OUTCOMES:
        d = frame.dropna(subset=["experience", name])
        w = d["freq"].to_numpy() if weight == "frequency" else np.ones(len(d))
        table = pd.crosstab(d["experience"], d[name], values=w, aggfunc="sum").fillna(0)
        o = got[name]
        for t, (rating, row) in zip(o["tiers"], table.iterrows()):
            lo, hi = proportion_confint(row[1.0], row.sum(), method="wilson")
            assert t["tier"] == f"{rating:g}"
            assert (t["n"], t["count"]) == (row.sum(), row[1.0])
            assert t["ci_low"] == pytest.approx(lo, rel=TOL) and t["ci_high"] == pytest.approx(hi, rel=TOL)
        ref = sps.chi2_contingency(table.to_numpy(), correction=False)
        assert o["chi2"]["statistic"] == pytest.approx(ref.statistic, rel=TOL)
        assert o["chi2"]["p"] == pytest.approx(ref.pvalue, rel=TOL, abs=1e-300)
        x, y = d["experience"].to_numpy(float), d[name].to_numpy(float)
        fit = GLM(y, np.column_stack([np.ones_like(x), x]), family=families.Binomial(), freq_weights=w).fit(tol=1e-14)
        ci = fit.conf_int()[1]
        assert o["logit"]["odds_ratio"] == pytest.approx(math.exp(fit.params[1]), rel=TOL)
        assert (o["logit"]["ci_low"], o["logit"]["ci_high"]) == pytest.approx(tuple(np.exp(ci)), rel=TOL)


def test_sampling_weights_against_statsmodels_sandwich_on_rows(folder):
    """Odds ratio with sampling weights: GLM with variance weights and HC0 errors times sqrt(n / (n - 1))
    (survey::svyglm's design-based variance) on the rows, against the cells' sandwich."""
    study = parse_study(loyalty_raw("ratings-sampling"), base_dir=folder)
    counts, rows = duckdb_counts(folder, loyalty_raw("ratings-sampling"))
    got = analysis.analyze(cells.from_counts(counts, study.experience, rows=rows), study).results["outcomes"]
    frame = loyalty_frame()
    for name in ("repurchase", "refer"):
        d = frame.dropna(subset=["experience", name, "samp"])
        x, y, w = d["experience"].to_numpy(float), d[name].to_numpy(float), d["samp"].to_numpy(float)
        fit = GLM(y, np.column_stack([np.ones_like(x), x]), family=families.Binomial(),
                  var_weights=w).fit(cov_type="HC0", tol=1e-14)
        se = fit.bse[1] * math.sqrt(len(d) / (len(d) - 1))
        o = got[name]["logit"]
        assert o["odds_ratio"] == pytest.approx(math.exp(fit.params[1]), rel=TOL)
        assert o["ci_low"] == pytest.approx(math.exp(fit.params[1] - sps.norm.ppf(0.975) * se), rel=TOL)
        for t, tier in zip(got[name]["tiers"], sorted(d["experience"].unique())):
            wt = d.loc[d["experience"] == tier, "samp"].to_numpy()
            assert t["n_eff"] == pytest.approx(wt.sum() ** 2 / (wt ** 2).sum(), rel=TOL)


@pytest.mark.parametrize("case", ["ratings-sampling", "named-sampling"])
def test_sampling_intervals_against_the_rows(case):
    """Issue 20: each tier's Wilson interval on the design-based n, p (1 - p) / v with v the linearised variance
    n / (n - 1) sum w^2 (y - p)^2 / (sum w)^2 over the tier's rows, n the outcome's rows (pandas on the rows)."""
    got = REFERENCE[case]["results"]["outcomes"]
    frame = loyalty_frame()
    tiers = case.startswith("named")
    for name in LOYALTY_OUTCOMES:
        d = frame.dropna(subset=["experience", name, "samp"])
        key = (pd.cut(d["experience"], [0, 2.5, 3.5, 5], labels=False) if tiers else d["experience"])
        for t, (_, g) in zip(got[name]["tiers"], d.groupby(key)):
            w, y = g["samp"].to_numpy(), g[name].to_numpy()
            p = (w * y).sum() / w.sum()
            v = len(d) / (len(d) - 1) * (w * w * (y - p) ** 2).sum() / w.sum() ** 2
            neff = p * (1 - p) / v if v > 0 else w.sum() ** 2 / (w * w).sum()
            lo, hi = proportion_confint(p * neff, neff, method="wilson")
            assert t["n_eff_design"] == pytest.approx(neff, rel=TOL)
            assert (t["ci_low"], t["ci_high"]) == pytest.approx((lo, hi), rel=TOL, abs=1e-15)


def test_cells_are_few_and_sum_to_the_rows(folder):
    study = parse_study(loyalty_raw("named-sampling"), base_dir=folder)
    frame, _ = load.read(study, folder)
    data = cells.aggregate(frame, study.outcomes)
    assert data.rows == len(frame)
    for name in study.outcomes:
        c = data.outcome(name)
        rated = frame["experience"].notna() & frame["weight"].notna()
        assert c["rows"].sum() == rated.sum()
        assert c["w"].sum() == pytest.approx(frame.loc[rated, "weight"].sum(), rel=1e-12)
        assert c["w2"].sum() == pytest.approx((frame.loc[rated, "weight"] ** 2).sum(), rel=1e-12)
        assert set(c["tier"].astype(str)) == {"poor", "fair", "good"}


@pytest.mark.parametrize("case", ["ratings-none", "named-frequency", "ratings-sampling", "named-sampling"])
def test_streamed_parquet_gives_the_same_figures(folder, case):
    """read_cells streams the Parquet file in batches (30,000 rows: four batches, the last one partial)."""
    study = parse_study(loyalty_raw(case), base_dir=folder)
    data, summary = load.read_cells(study, folder, batch_rows=30_000)
    _, whole = load.read(study, folder)
    assert (summary.rows_read, summary.dropped, summary.columns) == (whole.rows_read, whole.dropped, whole.columns)
    same(analysis.analyze(data, study).results, REFERENCE[case]["results"])


def test_streamed_parquet_names_the_file_row_of_a_bad_value(tmp_path):
    frame = loyalty_frame(n=2_000)
    frame.loc[1_733, "repurchase"] = 3.0
    frame.to_parquet(tmp_path / "data.parquet")
    study = parse_study(loyalty_raw("ratings-none"), base_dir=tmp_path)
    with pytest.raises(Exception) as streamed:
        load.read_cells(study, tmp_path, batch_rows=500)
    with pytest.raises(Exception) as whole:
        load.read(study, tmp_path)
    assert str(streamed.value) == str(whole.value) and "row 1734" in str(streamed.value)
    assert "row 1734" in str(streamed.value) and "repurchase" in str(streamed.value)


def test_streamed_parquet_lists_a_rating_seen_only_without_weight_as_an_empty_tier(tmp_path):
    frame = loyalty_frame(n=2_000)
    frame.loc[frame["experience"] == 4.5, "samp"] = np.nan        # rating 4.5: only rows without a weight
    frame.to_parquet(tmp_path / "data.parquet")
    study = parse_study(loyalty_raw("ratings-sampling"), base_dir=tmp_path)
    by_rows = analysis.analyze(load.read(study, tmp_path)[0], study)
    streamed = analysis.analyze(load.read_cells(study, tmp_path, batch_rows=700)[0], study)
    assert "4.5" in [t["tier"] for t in by_rows.results["outcomes"]["repurchase"]["tiers"]]
    same(streamed.results, by_rows.results)
    assert streamed.warnings == by_rows.warnings and any("4.5" in w for w in by_rows.warnings)
