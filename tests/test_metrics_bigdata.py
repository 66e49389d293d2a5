"""CX metrics from counts per (group, rating value) (issue 15): rows and counts give the same figures, to 1e-9.

On 100,000 synthetic responses (``tests/bigdata.py``: 4 waves, 3 segments, ``mix_by``, customer ids, missing
values, half-point CSAT ratings), without weights and with frequency and sampling weights:

- the row path: ``load.read`` then ``analyze`` on the frame (collapsed to counts by ``bincount``);
- the aggregated path: counts built here by pandas ``groupby`` on the canonical rows (an aggregator independent of
  :mod:`cxlab.studies.metrics.counts`), then ``analyze`` on them;
- the reference: ``tests/data/metrics_100k_reference.json``, the ``results`` of the row-level implementation on
  main before the rewrite (commit cd7d463, per-group weighted sums over the rows), and an independent check of
  the overall figures (NPS adjusted Wald, Wilson, t interval) on the rows.
The fixed cohort (each customer's mean category score in the first and last wave) by pandas groupby on the rows.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from bigdata import METRICS_CASES, metrics_frame, metrics_raw, same
from cxlab.params import parse_study
from cxlab.studies.metrics import analysis, cohort, counts, load

REFERENCE = json.loads((Path(__file__).parent / "data" / "metrics_100k_reference.json").read_text())
Z = sps.norm.ppf(0.975)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("big")
    metrics_frame().to_parquet(path / "data.parquet")
    return path


def groupby_counts(frame: pd.DataFrame, study) -> counts.MetricsCounts:
    """The counts of every grouping by pandas groupby (observed cells only) and the cohort."""
    metrics = [m for m in ("nps", "csat", "ces") if m in frame]
    tables = {}
    for by in counts.groupings(study, "wave" in frame):
        parts = []
        for m in metrics:
            d = frame.dropna(subset=[m, *by]).assign(w2=lambda f: f["weight"] ** 2)
            g = d.groupby([*by, m], observed=True).agg(rows=("weight", "size"), w=("weight", "sum"),
                                                       w2=("w2", "sum")).reset_index()
            parts.append(g.rename(columns={m: "value"}).assign(metric=m)[["metric", *by, "value", "rows", "w", "w2"]])
        tables[by] = pd.concat(parts, ignore_index=True)
    levels = {c: list(frame[c].cat.categories) for c in frame if isinstance(frame[c].dtype, pd.CategoricalDtype)}
    return counts.MetricsCounts(tables, levels, len(frame), metrics, groupby_cohort(frame, study))


def groupby_cohort(frame: pd.DataFrame, study) -> cohort.CohortPairs:
    """The fixed cohort by pandas groupby: each customer's mean category score in the first and the last wave."""
    waves = frame["wave"].cat.categories
    rows = frame[frame["nps"].notna() & (frame["customer_id"] >= 0) & frame["wave"].isin([waves[0], waves[-1]])]
    score = np.select([rows["nps"] >= study.nps.promoter_from, rows["nps"] <= study.nps.detractor_to], [1, -1], 0)
    per = (rows.assign(score=score, last=rows["wave"] == waves[-1])
           .groupby(["customer_id", "last"])["score"].agg(["mean", "size"]).unstack("last"))
    pairs = per["mean"].dropna().value_counts().sort_index().reset_index()
    return cohort.CohortPairs(pairs[False].to_numpy(float), pairs[True].to_numpy(float),
                              pairs["count"].to_numpy(np.int64), int((per["size"] > 1).sum().sum()))


@pytest.mark.parametrize("weight", METRICS_CASES)
def test_row_and_aggregated_paths_equal_the_row_level_reference(folder, weight):
    study = parse_study(metrics_raw(weight), base_dir=folder)
    frame, _ = load.read(study, folder)
    by_rows = analysis.analyze(frame, study)
    same(by_rows.results, REFERENCE[weight]["results"])
    assert by_rows.warnings == REFERENCE[weight]["warnings"]
    by_counts = analysis.analyze(groupby_counts(frame, study), study)
    same(by_counts.results, REFERENCE[weight]["results"])
    assert by_counts.warnings == by_rows.warnings


def test_counts_are_per_group_and_value(folder):
    study = parse_study(metrics_raw("sampling"), base_dir=folder)
    frame, _ = load.read(study, folder)
    data = counts.aggregate(frame, study)
    assert set(data.tables) == {(), ("plan",), ("region",), ("channel",), ("wave",), ("wave", "plan")}
    nps = data.table("nps", ("wave", "plan"))
    assert len(nps) <= 4 * 3 * 11 and nps["value"].isin(range(11)).all()
    assert nps["rows"].sum() == frame["nps"].notna().sum()
    assert nps["w2"].sum() == pytest.approx((frame.loc[frame["nps"].notna(), "weight"] ** 2).sum(), rel=1e-12)
    assert len(data.table("csat", ())) == 9                      # 1, 1.5, ..., 5


@pytest.mark.parametrize("weight", ["none", "frequency"])
def test_overall_figures_against_the_rows(folder, weight):
    study = parse_study(metrics_raw(weight), base_dir=folder)
    got = analysis.analyze(load.read(study, folder)[0], study).results["overall"]
    frame = metrics_frame().dropna(subset=["samp"] if weight == "sampling" else [])
    w_all = frame["freq"] if weight == "frequency" else pd.Series(1.0, index=frame.index)
    d = frame[frame["nps"].notna()]
    w = w_all[d.index]
    n, pro, det = w.sum(), w[d["nps"] >= 9].sum(), w[d["nps"] <= 6].sum()
    pp, pm = (pro + 0.75) / (n + 3), (det + 0.75) / (n + 3)
    half = Z * np.sqrt((pp + pm - (pp - pm) ** 2) / (n + 3))
    assert got["nps"]["nps"] == pytest.approx((pro - det) / n, rel=1e-9)
    assert (got["nps"]["ci_low"], got["nps"]["ci_high"]) == pytest.approx((pp - pm - half, pp - pm + half), rel=1e-9)
    c = frame[frame["csat"].notna()]
    wc, x = w_all[c.index].to_numpy(), c["csat"].to_numpy()
    lo, hi = proportion_confint((wc * (x >= 4)).sum(), wc.sum(), method="wilson")
    assert (got["csat"]["ci_low"], got["csat"]["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)
    expanded = np.repeat(x, wc.astype(int))                       # frequency weights: the expanded responses
    mean, sem = expanded.mean(), sps.sem(expanded)
    t = sps.t.ppf(0.975, len(expanded) - 1)
    assert got["csat"]["mean"] == pytest.approx(mean, rel=1e-9)
    assert got["csat"]["mean_ci_low"] == pytest.approx(mean - t * sem, rel=1e-9)


def test_sampling_intervals_against_the_rows():
    """Issue 20: NPS overall and by plan, the adjusted Wald interval on the design-based n (the score's variance
    over its linearised variance n / (n - 1) sum w^2 (s - NPS)^2 / (sum w)^2, n the rows with an NPS), and the
    CSAT top box's Wilson interval on p (1 - p) / v (pandas on the rows)."""
    ref = REFERENCE["sampling"]["results"]
    frame = metrics_frame().dropna(subset=["samp"])
    d = frame[frame["nps"].notna()]
    s = np.where(d["nps"] >= 9, 1.0, np.where(d["nps"] <= 6, -1.0, 0.0))
    groups = [("overall", np.ones(len(d), bool), ref["overall"]["nps"])]
    groups += [(lv, (d["plan"] == lv).to_numpy(), f) for lv, f in
               zip([f["level"] for f in ref["segments"]["plan"]["nps"]["levels"]], ref["segments"]["plan"]["nps"]["levels"])]
    for name, mask, f in groups:
        w, sc = d["samp"].to_numpy()[mask], s[mask]
        nps = (w * sc).sum() / w.sum()
        v = len(d) / (len(d) - 1) * (w * w * (sc - nps) ** 2).sum() / w.sum() ** 2
        pro, det = w[sc == 1].sum() / w.sum(), w[sc == -1].sum() / w.sum()
        neff = (pro + det - nps ** 2) / v
        pp, pm = (pro * neff + 0.75) / (neff + 3), (det * neff + 0.75) / (neff + 3)
        half = Z * np.sqrt((pp + pm - (pp - pm) ** 2) / (neff + 3))
        assert f["n_eff_design"] == pytest.approx(neff, rel=1e-9), name
        assert (f["ci_low"], f["ci_high"]) == pytest.approx((pp - pm - half, pp - pm + half), rel=1e-9), name
    c = frame[frame["csat"].notna()]
    w, top = c["samp"].to_numpy(), (c["csat"] >= 4).to_numpy(float)
    p = (w * top).sum() / w.sum()
    v = len(c) / (len(c) - 1) * (w * w * (top - p) ** 2).sum() / w.sum() ** 2
    lo, hi = proportion_confint(p * p * (1 - p) / v, p * (1 - p) / v, method="wilson")
    assert (ref["overall"]["csat"]["ci_low"], ref["overall"]["csat"]["ci_high"]) == pytest.approx((lo, hi), rel=1e-9)


@pytest.mark.parametrize("weight", METRICS_CASES)
def test_streamed_parquet_gives_the_same_figures(folder, weight):
    """read_counts streams the file in batches of 30,000 rows (each batch sees its own levels and customers)."""
    study = parse_study(metrics_raw(weight), base_dir=folder)
    data, summary = load.read_counts(study, folder, batch_rows=30_000)
    _, whole = load.read(study, folder)
    assert (summary.rows_read, summary.dropped, summary.columns) == (whole.rows_read, whole.dropped, whole.columns)
    result = analysis.analyze(data, study)
    same(result.results, REFERENCE[weight]["results"])
    assert result.warnings == REFERENCE[weight]["warnings"]


def test_streamed_parquet_names_the_file_row_of_a_bad_value(tmp_path):
    frame = metrics_frame(n=3_000)
    frame.loc[2_345, "nps"] = 7.5
    frame.to_parquet(tmp_path / "data.parquet")
    study = parse_study(metrics_raw("none"), base_dir=tmp_path)
    with pytest.raises(Exception) as streamed:
        load.read_counts(study, tmp_path, batch_rows=1_000)
    with pytest.raises(Exception) as whole:
        load.read(study, tmp_path)
    assert str(streamed.value) == str(whole.value) and "row 2346" in str(streamed.value)
