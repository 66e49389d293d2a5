"""The loyalty study's figures (DESIGN 5.1): keys, independent checks, synthetic truth, loading, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from cxlab.errors import DataError, StudyFileError
from cxlab.paths import shown
from cxlab.params import load_study_file, parse_study
from cxlab.studies.loyalty import analysis as Y_analysis
from cxlab.studies.loyalty import load as Y_load
from cxlab.studies.loyalty import narrative as Y_narrative
from cxlab.synth.customers import TRUTH, customers

OUTCOMES = ["repurchase", "recommend", "retain", "refer"]


def make_study(tmp_path=None, **over):
    raw = {"study": "t", "notebook": "loyalty", "data": {"synthetic": "customers", "n": 5000, "seed": 1},
           "experience": {"scale": [1, 5], "tiers": None}, "outcomes": OUTCOMES}
    raw.update(over)
    return parse_study(raw, base_dir=tmp_path)


def analyse(study, base_dir=None):
    frame, summary = Y_load.read(study, base_dir)
    return Y_analysis.analyze(frame, study), summary


def test_result_keys_are_exactly_design():
    result, _ = analyse(make_study())
    assert set(result.results["outcomes"]) == set(OUTCOMES)
    for o in result.results["outcomes"].values():
        assert {"n_used", "n_dropped", "tiers", "top_vs_bottom", "chi2", "trend", "logit"} <= set(o)
        assert [t["tier"] for t in o["tiers"]] == ["1", "2", "3", "4", "5"]
        for t in o["tiers"]:  # wave 2: each tier's trend score (its mean rating) beside the design keys
            assert set(t) == {"tier", "n", "count", "rate", "ci_low", "ci_high", "score"}
        assert set(o["top_vs_bottom"]) == {"top", "bottom", "ratio", "difference"}
        assert {"statistic", "dof", "p", "small_expected", "mc_p"} <= set(o["chi2"])
        assert {"z", "p"} <= set(o["trend"])
        assert set(o["logit"]) == {"odds_ratio", "ci_low", "ci_high", "separation"}


def test_figures_against_independent_computation():
    study = make_study()
    frame = customers(n=5000, seed=1)
    result, _ = analyse(study)
    for name in OUTCOMES:
        o = result.results["outcomes"][name]
        table = pd.crosstab(frame["experience"], frame[name]).reindex(columns=[0, 1], fill_value=0)
        for t, (rating, row) in zip(o["tiers"], table.iterrows()):
            n, c = row.sum(), row[1]
            lo, hi = proportion_confint(c, n, method="wilson")
            assert (t["n"], t["count"]) == (n, c)
            assert t["rate"] == pytest.approx(c / n) and t["ci_low"] == pytest.approx(lo) and t["ci_high"] == pytest.approx(hi)
        rates = table[1] / table.sum(axis=1)
        assert o["top_vs_bottom"]["ratio"] == pytest.approx(rates.iloc[-1] / rates.iloc[0])
        assert o["top_vs_bottom"]["difference"] == pytest.approx(rates.iloc[-1] - rates.iloc[0])
        ref = sps.chi2_contingency(table.to_numpy(), correction=False)
        assert o["chi2"]["statistic"] == pytest.approx(ref.statistic) and o["chi2"]["dof"] == 4
        r = np.corrcoef(frame["experience"], frame[name])[0, 1]
        assert o["trend"]["z"] == pytest.approx(np.sqrt(len(frame)) * r, rel=1e-9)
        fit = sm.Logit(frame[name].to_numpy(float), sm.add_constant(frame["experience"].to_numpy(float))).fit(disp=0)
        assert o["logit"]["odds_ratio"] == pytest.approx(np.exp(fit.params[1]), rel=1e-7)
        assert o["logit"]["ci_low"] == pytest.approx(np.exp(fit.conf_int()[1][0]), rel=1e-6)


def test_recovers_synthetic_truth_within_intervals():
    """Over 40 seeds, the 95% intervals cover the generator's truth about 95% of the time."""
    covered_or = covered_rate = total_or = total_rate = 0
    for seed in range(40):
        result, _ = analyse(make_study(data={"synthetic": "customers", "n": 3000, "seed": seed}))
        for name, truth in TRUTH.items():
            o = result.results["outcomes"][name]
            covered_or += o["logit"]["ci_low"] <= truth["odds_ratio"] <= o["logit"]["ci_high"]
            total_or += 1
            for t in o["tiers"]:
                covered_rate += t["ci_low"] <= truth["rates"][int(t["tier"])] <= t["ci_high"]
                total_rate += 1
    # 160 odds-ratio intervals and 800 rate intervals at 95%: the bounds are about 3 standard errors below
    assert covered_or >= 144, covered_or
    assert covered_rate >= 742, covered_rate


def test_repurchase_echoes_temkin():
    result, _ = analyse(make_study(data={"synthetic": "customers", "n": 100_000, "seed": 2}))
    tvb = result.results["outcomes"]["repurchase"]["top_vs_bottom"]
    assert tvb["top"] == pytest.approx(0.86, abs=0.01) and tvb["bottom"] == pytest.approx(0.13, abs=0.01)


def _csv(tmp_path, frame, name="d.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_csv_mapping_words_and_missing_values_per_outcome(tmp_path):
    """Wave 2: a row missing one outcome still counts for the others (was dropped from every outcome)."""
    f = pd.DataFrame({"Satisfaction Score": ["1", "2", "", "5", "5", "4", "1"],
                      "Bought Again": ["No", "YES", "yes", "True", "1", "false", ""],
                      "Recommend": ["1", "0", "1", "", "1", "1", "0"]})
    _csv(tmp_path, f)
    study = make_study(tmp_path, data={"path": "d.csv", "columns": {"experience": "Satisfaction Score",
                                                                    "repurchase": "Bought Again",
                                                                    "recommend": "Recommend"}},
                       outcomes=["repurchase", "recommend"])
    frame, summary = Y_load.read(study, tmp_path)
    assert summary.rows_read == 7 and summary.rows_used == 6
    assert summary.dropped == {"missing experience": 1}
    assert frame["repurchase"].tolist()[:2] == [0, 1] and np.isnan(frame["repurchase"].iloc[6])
    assert "Dropped" in summary.describe()
    o = Y_analysis.analyze(frame, study).results["outcomes"]
    # repurchase: rows 0, 1, 3, 4, 5 (row 2 has no rating, row 6 no repurchase)
    assert (o["repurchase"]["n_used"], o["repurchase"]["n_dropped"]) == (5, 2)
    # recommend: rows 0, 1, 4, 5, 6 (row 2 has no rating, row 3 no recommend)
    assert (o["recommend"]["n_used"], o["recommend"]["n_dropped"]) == (5, 2)
    assert [t["n"] for t in o["recommend"]["tiers"]] == [2, 1, 1, 1]
    assert [t["count"] for t in o["recommend"]["tiers"]] == [1, 0, 1, 1]
    assert [t["n"] for t in o["repurchase"]["tiers"]] == [1, 1, 1, 2]


def test_parquet_gives_same_figures_as_csv(tmp_path):
    f = customers(n=500, seed=9)
    _csv(tmp_path, f)
    f.to_parquet(tmp_path / "d.parquet")
    a, _ = analyse(make_study(tmp_path, data={"path": "d.csv"}), tmp_path)
    b, _ = analyse(make_study(tmp_path, data={"path": "d.parquet"}), tmp_path)
    assert a.results == b.results


def _same(a: dict, b: dict, rel: float = 1e-8) -> bool:
    """Dicts equal key by key: numbers within ``rel``, everything else (None, bools, strings) exactly."""
    if set(a) != set(b):
        return False
    return all(a[k] == pytest.approx(b[k], rel=rel) if isinstance(a[k], float) and isinstance(b[k], (int, float))
               else a[k] == b[k] for k in a)


def test_weights_equal_replicated_rows(tmp_path):
    f = customers(n=400, seed=4)
    f["w"] = np.random.default_rng(0).integers(1, 4, len(f))
    _csv(tmp_path, f, "w.csv")
    _csv(tmp_path, f.loc[f.index.repeat(f["w"])].drop(columns="w"), "rep.csv")
    a, _ = analyse(make_study(tmp_path, data={"path": "w.csv"}, weight={"column": "w", "kind": "frequency"}), tmp_path)
    b, _ = analyse(make_study(tmp_path, data={"path": "rep.csv"}), tmp_path)
    for name in OUTCOMES:
        oa, ob = a.results["outcomes"][name], b.results["outcomes"][name]
        for ta, tb in zip(oa["tiers"], ob["tiers"]):              # n, count, rate, interval, score
            assert _same(ta, tb)
        for key in ("chi2", "trend", "logit", "top_vs_bottom"):
            assert _same(oa[key], ob[key]), key
    # with replicated rows an expected count below 5 gives the same Monte Carlo p
    small = f.head(12).assign(w=[1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
    _csv(tmp_path, small, "ws.csv")
    _csv(tmp_path, small.loc[small.index.repeat(small["w"])].drop(columns="w"), "reps.csv")
    a, _ = analyse(make_study(tmp_path, data={"path": "ws.csv"}, weight={"column": "w", "kind": "frequency"}),
                   tmp_path)
    b, _ = analyse(make_study(tmp_path, data={"path": "reps.csv"}), tmp_path)
    for name in OUTCOMES:
        ca, cb = a.results["outcomes"][name]["chi2"], b.results["outcomes"][name]["chi2"]
        assert _same(ca, cb) and ca["small_expected"] is True and ca["mc_p"] is not None


def test_bare_weight_column_is_one_line_naming_file_and_key(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("study: s\nnotebook: loyalty\ndata: {synthetic: customers}\noutcomes: [repurchase]\n"
                    "weight: Survey Weight\n")
    with pytest.raises(StudyFileError) as err:
        load_study_file(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: key 'weight': ") and "\n" not in msg
    assert "kind: frequency" in msg and "kind: sampling" in msg and "Survey Weight" in msg


def test_separated_outcome_and_zero_rate_tier(tmp_path):
    x = np.repeat([1, 2, 3, 4, 5], 40)
    f = pd.DataFrame({"experience": x,
                      "sep": (x >= 4).astype(int),                          # complete separation
                      "zero": np.r_[np.zeros(40), np.tile([0, 1, 1, 0], 40)].astype(int)})  # tier 1 rate 0
    _csv(tmp_path, f)
    result, _ = analyse(make_study(tmp_path, data={"path": "d.csv"}, outcomes=["sep", "zero"]), tmp_path)
    sep, zero = result.results["outcomes"]["sep"], result.results["outcomes"]["zero"]
    assert sep["logit"] == {"odds_ratio": None, "ci_low": None, "ci_high": None, "separation": True}
    assert any("separates 'sep'" in w for w in result.warnings)
    assert zero["tiers"][0]["rate"] == 0 and zero["top_vs_bottom"]["ratio"] is None
    assert zero["top_vs_bottom"]["difference"] == pytest.approx(0.5)
    ref = sm.Logit(f["zero"].to_numpy(float), sm.add_constant(x.astype(float))).fit(disp=0)
    assert zero["logit"]["separation"] is False
    assert zero["logit"]["odds_ratio"] == pytest.approx(np.exp(ref.params[1]), rel=1e-7)
    assert zero["tiers"][0]["ci_low"] == 0 and zero["tiers"][0]["ci_high"] == pytest.approx(
        proportion_confint(0, 40, method="wilson")[1])
    # wave 2: the headline gives both rates with their intervals (the ratio, without an interval, is left out)
    assert "against 0% (0% to 9%) among those who rated 1" in Y_narrative.headline(
        result, make_study(tmp_path, data={"path": "d.csv"}, outcomes=["zero"]))


def test_named_tiers_and_empty_tier_reported(tmp_path):
    f = pd.DataFrame({"experience": [1, 2, 4, 5, 5, 4], "repurchase": [0, 0, 1, 1, 0, 1]})
    _csv(tmp_path, f)
    study = make_study(tmp_path, data={"path": "d.csv"}, outcomes=["repurchase"],
                       experience={"scale": [1, 5], "tiers": {"poor": [1, 2], "fair": [3, 3], "great": [4, 5]}})
    result, _ = analyse(study, tmp_path)
    tiers = result.results["outcomes"]["repurchase"]["tiers"]
    assert [t["tier"] for t in tiers] == ["poor", "fair", "great"]
    assert tiers[1]["n"] == 0 and tiers[1]["rate"] is None or np.isnan(tiers[1]["rate"])
    assert result.results["outcomes"]["repurchase"]["chi2"]["dof"] == 1
    assert any("fair has no customers" in w for w in result.warnings)
    assert "great tier" in Y_narrative.headline(result, study)


# ---- bad input: one clear error naming file, column and an example row ----

@pytest.mark.parametrize("frame,over,needle", [
    (pd.DataFrame({"Score": [1, 2], "repurchase": [0, 1]}), {"data": {"path": "d.csv", "columns": {"experience": "Sat"}}},
     "column 'Sat': column is missing"),
    (pd.DataFrame({"experience": ["1", "abc", "3"], "repurchase": [0, 1, 1]}), {}, "column 'experience', row 2 (value 'abc'): is not numeric"),
    (pd.DataFrame({"experience": [1, 2, 7], "repurchase": [0, 1, 1]}), {}, "column 'experience', row 3 (value '7'): is outside the scale [1, 5]"),
    (pd.DataFrame({"experience": [1, 2, 3], "repurchase": ["yes", "maybe", "no"]}), {}, "column 'repurchase', row 2 (value 'maybe'): is not binary"),
    (pd.DataFrame({"experience": [1, 2.5, 3], "repurchase": [0, 1, 1]}),
     {"experience": {"scale": [1, 5], "tiers": {"low": [1, 2], "high": [3, 5]}}}, "row 2 (value 2.5): falls in no tier"),
])
def test_bad_data_names_file_column_row(tmp_path, frame, over, needle):
    _csv(tmp_path, frame)
    over = {"data": {"path": "d.csv"}, "outcomes": ["repurchase"], **over}
    study = make_study(tmp_path, **over)
    with pytest.raises(DataError) as err:
        Y_load.read(study, tmp_path)
    msg = str(err.value)
    # the file as a reader sees it (relative to the working folder, issue 24 item 8), never the machine path
    assert shown(tmp_path / "d.csv") in msg and not msg.startswith(str(tmp_path)) and needle in msg and "\n" not in msg


def test_empty_and_non_tabular_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("experience,repurchase\n")
    (tmp_path / "fake.parquet").write_text("experience,repurchase\n1,0\n")
    for name, needle in [("empty.csv", "the file is empty"), ("header.csv", "header but no rows"),
                         ("fake.parquet", "cannot be read as Parquet")]:
        with pytest.raises(DataError, match=needle):
            Y_load.read(make_study(tmp_path, data={"path": name}, outcomes=["repurchase"]), tmp_path)
    (tmp_path / "data.json").write_text("x")
    with pytest.raises(StudyFileError, match="key 'data.path': data.json is not a data file cxlab reads"):
        make_study(tmp_path, data={"path": "data.json"})


def test_overlapping_tiers_rejected():
    with pytest.raises(StudyFileError, match="key 'experience': tiers 'a' \\[1.0, 3.0\\] and 'b' \\[3.0, 5.0\\] overlap"):
        make_study(experience={"scale": [1, 5], "tiers": {"a": [1, 3], "b": [3, 5]}})
