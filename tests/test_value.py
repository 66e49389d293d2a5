"""Value study (issue 21): BG/NBD and Gamma-Gamma fits against published and lifetimes figures, the CLV formula's
properties, the generator's truth recovered, bad input in one line each, and the report's wording rules."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from cxlab.errors import DataError
from cxlab.params import parse_study
from cxlab.stats import clv, clv_horizon
from cxlab.studies.value import analysis, load, narrative
from cxlab.synth.transactions import DAYS, TRUTH, transactions

ROOT = Path(__file__).resolve().parent.parent
# CDNOW sample summary (2,357 customers, weeks; x, t_x, T, zbar = mean repeat spend), as published by Bruce
# Hardie (brucehardie.com) and shipped by lifetimes 0.11.3 in lifetimes/datasets/
# cdnow_customers_summary_with_transactions.csv (MIT licence), copied unchanged.
CDNOW = pd.read_csv(ROOT / "tests" / "data" / "cdnow_summary.csv")


@pytest.fixture(scope="module")
def cdnow_fits():
    rep = CDNOW["x"] > 0
    return (clv.fit_bgnbd(CDNOW["x"], CDNOW["t_x"], CDNOW["T"]),
            clv.fit_gamma_gamma(CDNOW["x"][rep], CDNOW["zbar"][rep]))


def test_bgnbd_and_gamma_gamma_reproduce_the_published_cdnow_figures(cdnow_fits):
    bg, gg = cdnow_fits
    # Fader, Hardie & Lee (2005), Marketing Science 24:275-284, p. 279: r 0.243, alpha 4.414, a 0.793, b 2.426,
    # LL -9582.4; p. 280: E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226
    for name, value in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert bg[name] == pytest.approx(value, abs=5e-4)
    assert bg.loglik == pytest.approx(-9582.4, abs=0.05) and bg.converged
    assert clv.expected_transactions(bg.params, 39, np.array([2]), np.array([30.43]), np.array([38.86]))[0] == \
        pytest.approx(1.226, abs=5e-4)
    # Fader, Hardie & Lee (2005), "RFM and CLV", JMR 42:415-430 (and Hardie's note 025): p 6.25, q 3.74, gamma 15.44
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert gg[name] == pytest.approx(value, abs=0.01)   # published to two decimals (15.447 shown as 15.44)


# lifetimes 0.11.3 (scratch venv, pandas 3.1.1, scipy 1.17.1), on the same file:
#   f = BetaGeoFitter().fit(d.x, d.t_x, d['T']); f.params_
#   f.conditional_expected_number_of_purchases_up_to_time(39, [2, 0, 5], [30.43, 0, 20.], [38.86, 38.86, 30.])
#   f.conditional_probability_alive([2, 0, 5], [30.43, 0, 20.], [38.86, 38.86, 30.])
#   g = GammaGammaFitter().fit(d.x[rep], d.zbar[rep]); g.params_
#   g.conditional_expected_average_profit(pd.Series([2, 0, 5]), pd.Series([22.35, 0, 30.]))
LIFETIMES_BG = {"r": 0.24259292827982148, "alpha": 4.413532265271809, "a": 0.7928859664406578,
                "b": 2.4257523826257374}
LIFETIMES_EY39 = [1.22591042, 0.19478086, 2.62498261]
LIFETIMES_PALIVE = [0.72660914, 1.0, 0.57261859]
LIFETIMES_GG = {"p": 6.24880249607099, "q": 3.7445884609237634, "gamma": 15.447748064943575}
LIFETIMES_SPEND = [24.65861618923827, 35.17100215250688, 30.417559783166773]


def test_fits_match_lifetimes_to_1e6(cdnow_fits):
    bg, gg = cdnow_fits
    for name, value in LIFETIMES_BG.items():
        assert bg[name] == pytest.approx(value, rel=1e-6)
    for name, value in LIFETIMES_GG.items():
        assert gg[name] == pytest.approx(value, rel=1e-6)
    x, tx, T = np.array([2, 0, 5]), np.array([30.43, 0, 20.0]), np.array([38.86, 38.86, 30.0])
    # same parameters, so the formulas are compared, not the optimisers
    np.testing.assert_allclose(clv.expected_transactions(LIFETIMES_BG, 39, x, tx, T), LIFETIMES_EY39, rtol=1e-7)
    np.testing.assert_allclose(clv.p_alive(LIFETIMES_BG, x, tx, T), LIFETIMES_PALIVE, rtol=1e-7)
    np.testing.assert_allclose(clv.expected_spend(LIFETIMES_GG, x, np.array([22.35, 0, 30.0])), LIFETIMES_SPEND,
                               rtol=1e-9)


def test_standard_errors_and_gradients():
    rep = CDNOW["x"] > 0
    bg = clv._BGNBD(CDNOW["x"], CDNOW["t_x"], CDNOW["T"], None)
    gg = clv._GammaGamma(CDNOW["x"][rep], CDNOW["zbar"][rep], np.arange(rep.sum()) % 3 + 1.0)
    for obj, theta in ((bg, np.log([0.3, 5, 0.8, 2.5])), (gg, np.log([6, 3, 15]))):
        g = obj(theta)[1]
        assert check_grad(lambda t: obj(t)[0], lambda t: obj(t)[1], theta) < 1e-4 * max(1, np.abs(g).max())
    # weights are frequencies: weight 2 equals the row twice
    x, tx, T = CDNOW["x"].to_numpy(), CDNOW["t_x"].to_numpy(), CDNOW["T"].to_numpy()
    w = np.where(np.arange(len(x)) % 2 == 0, 2.0, 1.0)
    twice = np.arange(len(x))[::2]
    a = clv.fit_bgnbd(x, tx, T, weights=w, with_se=False)
    b = clv.fit_bgnbd(np.r_[x, x[twice]], np.r_[tx, tx[twice]], np.r_[T, T[twice]], with_se=False)
    for k in a.params:
        assert a[k] == pytest.approx(b[k], rel=1e-5)


def test_clv_formula_properties():
    bg, gg = LIFETIMES_BG, LIFETIMES_GG
    x, tx, T, m = (CDNOW[c].to_numpy(float) for c in ("x", "t_x", "T", "zbar"))
    x, tx, T, m = x[:300], tx[:300], T[:300], m[:300]
    undiscounted = clv_horizon.clv(bg, gg, x, tx, T, m, horizon=24, discount_rate=0.0, margin=0.3)
    weeks = 24 * clv_horizon.MONTH_DAYS / 7
    np.testing.assert_allclose(undiscounted, 0.3 * clv.expected_spend(gg, x, m) *
                               clv.expected_transactions(bg, weeks, x, tx, T), rtol=1e-10)
    assert np.all(clv_horizon.clv(bg, gg, x, tx, T, m, horizon=0, discount_rate=0.1, margin=0.3) == 0)
    discounted = clv_horizon.clv(bg, gg, x, tx, T, m, horizon=24, discount_rate=0.1, margin=0.3)
    assert np.all(discounted < undiscounted) and np.all(discounted > undiscounted / 1.1 ** 2)
    # month k is discounted by 1.1^(k/12): one month alone checks the exponent
    one = clv_horizon.clv(bg, gg, x, tx, T, m, horizon=1, discount_rate=0.1, margin=1.0)
    month = clv_horizon.MONTH_DAYS / 7
    np.testing.assert_allclose(one, clv.expected_spend(gg, x, m) * clv.expected_transactions(bg, month, x, tx, T)
                               / 1.1 ** (1 / 12), rtol=1e-10)


def _histories(frame: pd.DataFrame) -> pd.DataFrame:
    day = (frame["date"] - pd.Timestamp("2024-01-01")).dt.days
    g = pd.DataFrame({"c": frame["customer_id"], "d": day, "a": frame["amount"], "grp": frame["group"]})
    h = g.groupby("c").agg(first=("d", "min"), last=("d", "max"), n=("d", "nunique"), grp=("grp", "first"))
    return pd.DataFrame({"x": h["n"] - 1, "tx": (h["last"] - h["first"]) / 7, "T": (DAYS - h["first"]) / 7,
                         "grp": h["grp"]})


def test_generator_truth_is_recovered_within_standard_errors():
    frame = transactions(24000, seed=12)
    h = _histories(frame)
    misses = 0
    for name, truth in TRUTH.items():
        s = h[h["grp"] == name]
        fit = clv.fit_bgnbd(s["x"], s["tx"], s["T"])
        for k in ("r", "alpha", "a", "b"):
            z = abs(fit[k] - truth[k]) / fit.se[k]
            assert z < 4, (name, k, fit[k], truth[k], fit.se[k])
            misses += z > 2
    assert misses <= 2                         # of 12 estimates, about 5% outside 2 SE
    # Gamma-Gamma on every amount (each transaction one draw): the repeat-spend means recover p, q, gamma
    repeat = frame[frame.duplicated("customer_id")]
    stats = repeat.groupby("customer_id").agg(x=("amount", "size"), m=("amount", "mean"),
                                              grp=("group", "first"))
    for name, truth in TRUTH.items():
        s = stats[stats["grp"] == name]
        fit = clv.fit_gamma_gamma(s["x"], s["m"])
        for k in ("p", "q", "gamma"):
            z = abs(fit[k] - truth[k]) / fit.se[k]
            assert z < 4, (name, k, fit[k], truth[k], fit.se[k])
            misses += z > 2
    assert misses <= 3                         # of 21 estimates in all


# --- the study: load, bad input, analysis ---------------------------------------------------------------------

def _study(tmp_path: Path, log: pd.DataFrame, customers: pd.DataFrame | None = None, **keys) -> tuple:
    log.to_csv(tmp_path / "log.csv", index=False)
    raw = {"study": "v", "notebook": "value", "data": {"path": "log.csv"},
           "experience": {"scale": [0, 10], "tiers": {"low": [0, 6], "high": [7, 10]}},
           "bootstrap": {"resamples": 20, "seed": 0}, **keys}
    if customers is not None:
        customers.to_csv(tmp_path / "customers.csv", index=False)
        raw["customers"] = {"path": "customers.csv"}
    return parse_study(raw, base_dir=tmp_path), tmp_path


def _log(n: int = 300, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = transactions(n, seed=seed)
    log = pd.DataFrame({"customer_id": t["customer_id"], "date": t["date"].dt.strftime("%Y-%m-%d"),
                        "amount": t["amount"]})
    customers = t.drop_duplicates("customer_id")[["customer_id", "nps"]].rename(columns={"nps": "experience"})
    return log, customers


@pytest.mark.parametrize("batch_rows", [1_000_000, 97])
def test_read_builds_histories_like_an_independent_groupby(tmp_path, monkeypatch, batch_rows):
    monkeypatch.setattr(load, "BATCH_ROWS", batch_rows)          # 97: the log is read in 15 batches
    log, customers = _log()
    log = log.sample(frac=1, random_state=1).reset_index(drop=True)   # a customer's rows spread over batches
    study, base = _study(tmp_path, log, customers, observation_end="2025-12-31")
    data, summary = load.read(study, base)
    assert summary.rows_read == len(log)
    h = data.customers
    day = (pd.to_datetime(log["date"]) - pd.Timestamp("2025-12-31")).dt.days
    per_day = log.assign(day=day).groupby(["customer_id", "day"])["amount"].sum().reset_index()
    g = per_day.groupby("customer_id")
    x = g.size() - 1
    assert (h["x"].sort_index() == x.sort_index()).all()
    assert np.allclose(h["T"].sort_index(), (-g["day"].min() / 7).sort_index())
    first_amount = g["amount"].first()
    m = ((g["amount"].sum() - first_amount) / x).where(x > 0)
    np.testing.assert_allclose(h["m"].sort_index(), m.sort_index())
    assert data.transactions == len(log) and data.groups == ["low", "high"]


@pytest.mark.parametrize("case, needle", [
    ("unknown_customer", "not in the customer table"),
    ("silent_customer", "has no purchase in the transaction log"),
    ("late", "after observation_end 2025-12-31"),
    ("duplicate", "duplicate transaction"),
    ("refund", "is negative (a refund?)"),
    ("zero", "is zero"),
    ("holdout_outside", "lies outside the data"),
    ("one_purchase", "made one purchase only"),
    ("two_experiences", "two different experiences"),
])
def test_bad_input_is_one_clear_line(tmp_path, case, needle):
    log, customers = _log()
    keys: dict = {"observation_end": "2025-12-31"}
    own = False
    if case == "unknown_customer":
        customers = customers.iloc[1:]
    elif case == "silent_customer":
        customers = pd.concat([customers, pd.DataFrame({"customer_id": [99999], "experience": [9]})])
    elif case == "late":
        log.loc[4, "date"] = "2026-01-05"
    elif case == "duplicate":
        log = pd.concat([log, log.iloc[[7]]], ignore_index=True)
    elif case == "refund":
        log.loc[3, "amount"] = -12.5
    elif case == "zero":
        log.loc[3, "amount"] = 0
    elif case == "holdout_outside":
        keys["holdout_from"] = "2023-06-01"
    elif case == "one_purchase":
        log = log.drop_duplicates("customer_id")
    elif case == "two_experiences":
        own = True
        log["experience"] = log["customer_id"].map(customers.set_index("customer_id")["experience"])
        log.loc[log["customer_id"] == log["customer_id"].iloc[0], "experience"] = [3] + [9] * (
            (log["customer_id"] == log["customer_id"].iloc[0]).sum() - 1)
    study, base = _study(tmp_path, log, None if own else customers, **keys)
    with pytest.raises(DataError) as err:
        data, _ = load.read(study, base)
        analysis.analyze(data, study)
    message = str(err.value)
    assert needle in message and "\n" not in message
    if case in ("late", "refund", "zero", "duplicate"):
        assert "log.csv" in message and "row" in message


@pytest.mark.parametrize("case", ["duplicate", "unknown_customer", "two_experiences"])
def test_bad_rows_in_a_later_batch_are_named_by_their_row_in_the_file(tmp_path, monkeypatch, case):
    monkeypatch.setattr(load, "BATCH_ROWS", 100)
    log, customers = _log()
    if case == "duplicate":                      # row 8 repeated as the last row, a few batches later
        log = pd.concat([log, log.iloc[[7]]], ignore_index=True)
        row, needle = len(log), "same customer, date and amount as data row 8"
        customers_used = customers
    elif case == "unknown_customer":
        log.loc[len(log) - 3, "customer_id"] = 99999
        row, needle = len(log) - 2, "not in the customer table"
        customers_used = customers
    else:
        log["experience"] = log["customer_id"].map(customers.set_index("customer_id")["experience"])
        sizes = log["customer_id"].iloc[150:].value_counts()
        rows = np.flatnonzero(log["customer_id"] == sizes.index[0])      # a customer with several rows
        log.loc[rows[-1], "experience"] = 3 if log.loc[rows[0], "experience"] >= 7 else 9
        row, needle = rows[0] + 1, "two different experiences"
        customers_used = None
    study, base = _study(tmp_path, log, customers_used, observation_end="2025-12-31")
    with pytest.raises(DataError) as err:
        load.read(study, base)
    assert needle in str(err.value) and err.value.row == row, str(err.value)


def test_drop_nonpositive_leaves_refunds_out_and_counts_them(tmp_path):
    log, customers = _log()
    log.loc[[3, 10], "amount"] = [-5.0, 0.0]
    study, base = _study(tmp_path, log, customers, drop_nonpositive=True)
    data, summary = load.read(study, base)
    assert data.dropped_nonpositive == 2 and data.transactions == len(log) - 2
    assert summary.dropped == {"an amount of zero or less (drop_nonpositive)": 2}


def test_analysis_on_synthetic_data_and_its_words():
    study = parse_study({"study": "v", "notebook": "value",
                         "data": {"synthetic": "transactions", "n": 2000, "seed": 3,
                                  "columns": {"experience": "nps"}},
                         "experience": {"scale": [0, 10],
                                        "tiers": {"detractor": [0, 6], "passive": [7, 8], "promoter": [9, 10]}},
                         "observation_end": "2025-12-31", "holdout_from": "2025-07-01", "horizon": 24,
                         "margin": 0.5, "value_unit": "EUR", "bootstrap": {"resamples": 40, "seed": 2}})
    data, _ = load.read(study)
    result = analysis.analyze(data, study)
    r = result.results
    assert [g["group"] for g in r["groups"]] == ["detractor", "passive", "promoter"]
    g = {x["group"]: x for x in r["groups"]}
    for x in r["groups"]:
        assert x["ci_low"] <= x["mean_clv"] <= x["ci_high"]
        assert x["mean_clv"] == pytest.approx(result.customers.loc[result.customers["group"] == x["group"],
                                                                    "clv"].mean())
    d = r["difference"]
    assert d["difference"] == pytest.approx(g["promoter"]["mean_clv"] - g["detractor"]["mean_clv"])
    assert r["roi"]["value"] == pytest.approx(0.1 * g["detractor"]["customers"] * d["difference"])
    assert r["value_at_stake"]["value"] == pytest.approx(sum(
        g[k]["customers"] * (g["promoter"]["mean_clv"] - g[k]["mean_clv"]) for k in ("detractor", "passive")))
    assert sum(row["customers"] for row in r["holdout"]["rows"]) == r["holdout"]["customers"]
    text = narrative.headline(result, study)
    assert "association" in text and "EUR" in text
    # the same seed gives the same intervals
    again = analysis.analyze(data, study).results
    assert again["difference"]["ci_low"] == d["ci_low"]


def test_words_never_claim_a_difference_the_test_does_not_support():
    class R:
        results = {"horizon": 12, "value_unit": "EUR", "experiment": False, "best_group": "high",
                   "worst_group": "low", "bootstrap": {"resamples": 200},
                   "groups": [{"group": "low", "mean_clv": 10.0, "ci_low": 5.0, "ci_high": 15.0},
                              {"group": "high", "mean_clv": 12.0, "ci_low": 7.0, "ci_high": 17.0}],
                   "difference": {"best": "high", "worst": "low", "difference": 2.0, "ci_low": -4.0,
                                  "ci_high": 8.0, "p": 0.41}}
    text = narrative.headline(R(), None)
    assert "cannot tell" in text and "-4 to 8" in text
    assert "cannot tell" in narrative.interpret_groups(R()) and "worth more" not in narrative.interpret_groups(R())
    R.results["difference"]["p"] = 0.01
    assert "association" in narrative.headline(R(), None)
    R.results["experiment"] = True
    assert "experiment" in narrative.headline(R(), None) and "association" not in narrative.headline(R(), None)


def test_without_bootstrap_the_words_say_no_bootstrap_was_run_not_cannot_tell():
    class R:
        results = {"horizon": 12, "value_unit": "EUR", "experiment": False, "best_group": "high",
                   "worst_group": "low", "bootstrap": {"resamples": 0, "seed": 0, "failed": 0},
                   "groups": [{"group": "low", "mean_clv": 10.0, "ci_low": None, "ci_high": None},
                              {"group": "high", "mean_clv": 12.0, "ci_low": None, "ci_high": None}],
                   "difference": {"best": "high", "worst": "low", "difference": 2.0, "ci_low": None,
                                  "ci_high": None, "p": None},
                   "value_at_stake": {"value": 50.0, "customers": 25, "ci_low": None, "ci_high": None},
                   "roi": {"share": 0.1, "customers": 2.5, "value": 5.0, "ci_low": None, "ci_high": None}}
    for text in (narrative.headline(R(), None), narrative.interpret_groups(R()), narrative.interpret_roi(R())):
        assert "no bootstrap was run" in text and "cannot tell" not in text and "not defined" not in text
    assert "12 EUR" in narrative.headline(R(), None) and "2 EUR" in narrative.headline(R(), None)


def test_refits_and_resample_means_equal_their_direct_computation():
    x, tx, T, m = (CDNOW[c].to_numpy(float) for c in ("x", "t_x", "T", "zbar"))
    full = clv.fit_bgnbd(x, tx, T)
    counts = np.bincount(np.random.default_rng(3).integers(0, len(x), len(x)), minlength=len(x)).astype(float)
    newton = clv.fit_bgnbd(x, tx, T, counts, start=full, with_se=False)
    bfgs = clv.fit_bgnbd(x, tx, T, counts)                   # from scratch, to gtol 1e-7
    assert newton.message.startswith("Newton") and newton.converged
    for k in newton.params:
        assert abs(newton[k] - bfgs[k]) < 1e-3 * bfgs.se[k]
    # the resample's mean CLV: the counts-weighted mean of every customer's CLV, computed directly
    gg = LIFETIMES_GG
    direct = clv_horizon.clv(newton.params, gg, x, tx, T, m, 36, 0.1, 0.3)
    fast = clv_horizon.mean_clv(newton.params, gg, x, tx, T, m, counts, clv_horizon.purchase_pairs(x, T), 36, 0.1, 0.3)
    assert fast == pytest.approx(np.average(direct, weights=counts), rel=1e-12)


def test_discounted_purchases_interpolated_equal_the_monthly_sum():
    # many customers per x with T in whole days: the Chebyshev path; reference: month by month from E[Y(t)]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, 3000).astype(float)
    T = rng.integers(1, 900, 3000) / 7.0
    px, pT, inv = clv_horizon.purchase_pairs(x, T)
    assert len(px) < len(x)
    for params in (LIFETIMES_BG, {"r": 0.8, "alpha": 1.5, "a": 0.7, "b": 3.5}):
        got = clv_horizon.discounted_purchases(params, 36, 0.1, px, pT)
        month = clv_horizon.MONTH_DAYS / 7
        cum = np.column_stack([np.zeros(len(px))] + [clv.expected_transactions(params, k * month, px, np.zeros(
            len(px)), pT) / clv.p_alive(params, px, np.zeros(len(px)), pT) for k in range(1, 37)])
        want = np.diff(cum, axis=1) @ (1.1 ** (-np.arange(1, 37) / 12))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_bootstrap_figures_do_not_depend_on_the_number_of_workers():
    base = {"study": "v", "notebook": "value",
            "data": {"synthetic": "transactions", "n": 1500, "seed": 4, "columns": {"experience": "nps"}},
            "experience": {"scale": [0, 10], "tiers": {"low": [0, 6], "high": [7, 10]}},
            "observation_end": "2025-12-31", "horizon": 12}
    boots = []
    for workers in (1, 2):
        study = parse_study({**base, "bootstrap": {"resamples": 20, "seed": 7, "workers": workers}})
        data, _ = load.read(study)
        boots.append(analysis.analyze(data, study))
    np.testing.assert_array_equal(boots[0].boot, boots[1].boot)
    assert boots[0].results["difference"] == boots[1].results["difference"]
    assert np.isfinite(boots[0].boot).all()


def test_figure_text_without_bootstrap_shows_no_empty_interval():
    from cxlab.studies.value import figures
    groups = pd.DataFrame({"group": ["low", "high"], "mean_clv": [10.0, 12.0], "ci_low": [None, None],
                           "ci_high": [None, None]})
    text = figures.alt_clv_by_group(groups, "EUR")
    assert "not defined" not in text and "no intervals" in text and "high: 12 EUR" in text
    groups[["ci_low", "ci_high"]] = [[8.0, 12.0], [9.0, 15.0]]
    assert "with 95% intervals" in figures.alt_clv_by_group(groups, "EUR")
