"""Key drivers (DESIGN 5.5): relative weights, LMG and bootstrap checked against independent computations."""
from __future__ import annotations

import itertools
import math
import warnings

import matplotlib
import matplotlib.collections
import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy.linalg import sqrtm
from statsmodels.discrete.discrete_model import Logit
from statsmodels.regression.linear_model import OLS

from cxlab import fmt, synth, words
from cxlab.errors import DataError, StudyFileError, UnreliableBootstrapWarning
from cxlab.params import parse_study
from cxlab.stats import relimp, relimp_bootstrap
from cxlab.studies.drivers import analysis, figures, load, narrative
from cxlab.synth.drivers import DRIVERS, TRUTH

matplotlib.use("Agg")


def correlated(n: int = 400, p: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) @ (np.eye(p) + 0.6 * rng.random((p, p)))
    y = X @ rng.normal(size=p) + 2 * rng.normal(size=n)
    return X, y


def study(**keys):
    base = {"study": "d", "notebook": "drivers", "data": {"path": "d.csv", "columns": {"outcome": "y"}},
            "drivers": ["a", "b", "c"], "drivers_scale": [-100, 100], "bootstrap": {"resamples": 200, "seed": 0}}
    base.update(keys)
    return parse_study(base, check_files=False)


def run(frame: pd.DataFrame, tmp_path, **keys):
    frame.to_csv(tmp_path / "d.csv", index=False)
    s = study(**keys)
    return analysis.analyze(load.read(s, tmp_path), s)


def johnson_by_svd(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson (2000) as first published: Z = U V' from the SVD of the standardized drivers."""
    n = len(y)
    Xs = (X - X.mean(0)) / X.std(0)
    ys = (y - y.mean()) / y.std()
    U, _, Vt = np.linalg.svd(Xs / math.sqrt(n), full_matrices=False)
    Z = U @ Vt * math.sqrt(n)
    beta = Z.T @ ys / n                  # Z'Z / n = I
    lam = Z.T @ Xs / n                   # regression of each standardized driver on Z
    return (lam ** 2 * (beta ** 2)[:, None]).sum(axis=0)


def test_relative_weights_sum_to_ols_r2_and_match_johnsons_svd_route(tmp_path):
    X, y = correlated()
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})
    res = run(frame, tmp_path)
    fit = OLS(y, np.column_stack([np.ones(len(y)), X[:, :3]])).fit()
    assert res.results["r2"] == pytest.approx(fit.rsquared, abs=1e-12)
    raw = res.table["raw"].to_numpy()
    assert raw.sum() == pytest.approx(fit.rsquared, abs=1e-12)
    np.testing.assert_allclose(raw, johnson_by_svd(X[:, :3], y), atol=1e-12)
    assert res.table["share"].sum() == pytest.approx(1.0)


def lmg_by_orderings(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LMG as the average over all p! orderings of each driver's increase in R^2 (numpy least squares)."""
    n, p = X.shape

    def r2(cols: tuple[int, ...]) -> float:
        if not cols:
            return 0.0
        A = np.column_stack([np.ones(n), X[:, cols]])
        resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
        return 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))

    out = np.zeros(p)
    orders = list(itertools.permutations(range(p)))
    for order in orders:
        for i, j in enumerate(order):
            out[j] += r2(tuple(sorted(order[:i + 1]))) - r2(tuple(sorted(order[:i])))
    return out / len(orders)


def test_lmg_equals_pingouin_and_an_enumeration_of_orderings(tmp_path):
    X, y = correlated(p=5, seed=3)
    frame = pd.DataFrame(X, columns=list("abcde")).assign(y=y)
    res = run(frame, tmp_path, drivers=list("abcde"))
    expected = pingouin.linear_regression(frame[list("abcde")], frame["y"], relimp=True)["relimp"].to_numpy()[1:]
    np.testing.assert_allclose(res.table["lmg"], expected, atol=1e-12)
    np.testing.assert_allclose(res.table["lmg"], lmg_by_orderings(X, y), atol=1e-12)
    np.testing.assert_allclose(res.table["lmg_share"], expected / expected.sum(), atol=1e-12)


def test_lmg_is_null_above_twelve_drivers():
    assert relimp.lmg(np.eye(13), np.full(13, 0.1)) is None
    np.testing.assert_allclose(relimp.lmg(np.eye(12), np.full(12, 0.1)), np.full(12, 0.01))


def test_logistic_weights_against_a_hand_computation_on_statsmodels_logit(tmp_path):
    # hand computation of DESIGN 5.5 on 12 responses: Z = X_std L^-1 (L = R^1/2 by scipy's sqrtm),
    # Logit of y on Z, Menard's b*_k = b_k sd(Z_k) R / sd(logit p_hat), raw_j = sum_k L_jk^2 b*_k^2
    a = np.array([1, 2, 2, 3, 3, 4, 4, 5, 5, 2, 4, 3], float)
    b = np.array([2, 1, 3, 2, 4, 3, 5, 4, 5, 4, 2, 1], float)
    y = np.array([0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0], float)
    X = np.column_stack([a, b])
    Xs = (X - X.mean(0)) / X.std(0, ddof=1)
    R = np.corrcoef(X, rowvar=False)
    L = np.real(sqrtm(R))
    Z = Xs @ np.linalg.inv(L)
    fit = Logit(y, np.column_stack([np.ones(len(y)), Z])).fit(disp=0, tol=1e-12)
    eta = fit.fittedvalues
    r = np.corrcoef(y, fit.predict())[0, 1]
    b_star = fit.params[1:] * Z.std(0, ddof=1) * r / eta.std(ddof=1)
    hand = (L ** 2) @ (b_star ** 2)
    raw, r2 = relimp.logistic_weights(X, y, np.ones((1, len(y))))
    np.testing.assert_allclose(raw[0], hand, rtol=1e-7)
    assert r2[0] == pytest.approx(r ** 2, rel=1e-9) and hand.sum() == pytest.approx(r ** 2, rel=1e-9)
    frame = pd.DataFrame({"a": a, "b": b, "y": np.where(y == 1, "yes", "no")})
    res = run(frame, tmp_path, drivers=["a", "b"])
    assert res.results["outcome_type"] == "binary" and res.results["weights"][0]["lmg"] is None
    np.testing.assert_allclose(res.table["raw"], hand, rtol=1e-7)


def test_synthetic_population_shares_fall_in_their_intervals_at_about_95_percent():
    """60 samples of 800 responses, 400 resamples each: every driver's population share (synth TRUTH) is
    covered by at least 75% of its intervals, and 88% of all 360 intervals (measured: 94%; nominal 95%)."""
    truth = np.array([TRUTH["share"][d] for d in DRIVERS])
    hits = []
    for rep in range(60):
        f = synth.generate("drivers", 800, seed=1000 + rep)
        draws = relimp_bootstrap.bootstrap(f[list(DRIVERS)].to_numpy(float), f["satisfaction"].to_numpy(float),
                                 np.ones(800), False, 400, rep)
        low, high = relimp_bootstrap.percentile_interval(draws.raw / draws.r2[:, None])
        hits.append((low <= truth) & (truth <= high))
    hits = np.array(hits)
    assert hits.mean() >= 0.88 and hits.mean(axis=0).min() >= 0.75, hits.mean(axis=0)


def test_default_study_recovers_the_documented_truth():
    s = parse_study({"study": "d", "notebook": "drivers", "data": {"synthetic": "drivers", "n": 20000, "seed": 5,
                     "columns": {"outcome": "satisfaction"}}, "drivers": list(DRIVERS), "drivers_scale": [0, 10],
                     "bootstrap": {"resamples": 200, "seed": 0}})
    res = analysis.analyze(load.read(s), s)
    t = res.table.set_index("driver")
    for d in DRIVERS:
        assert t.loc[d, "share"] == pytest.approx(TRUTH["share"][d], abs=0.02)
        assert t.loc[d, "lmg_share"] == pytest.approx(TRUTH["lmg_share"][d], abs=0.02)
        assert t.loc[d, "performance"] == pytest.approx(TRUTH["performance"][d], abs=1)
    assert res.results["r2"] == pytest.approx(TRUTH["r2"], abs=0.02)
    assert dict(t["quadrant"]) == {"product_quality": "keep up", "support": "fix first",
                                   "value_for_money": "low priority", "billing": "low priority",
                                   "delivery": "possible overkill", "website": "possible overkill"}
    # coefficients and weights disagree: website has coefficient 0 but a clearly positive share
    assert TRUTH["beta"]["website"] == 0 and t.loc["website", "ci_low"] > 0.03


@pytest.mark.parametrize("outcome", ["numeric", "binary"])
def test_invariant_to_rescaling_a_driver(tmp_path, outcome):
    X, y = correlated(n=300, seed=7)
    yv = y if outcome == "numeric" else np.where(y > np.median(y), "yes", "no")
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": yv})
    base = run(frame, tmp_path).table
    frame["b"] = 25 * frame["b"] - 40
    scaled = run(frame, tmp_path, drivers_scale=[-1e4, 1e4]).table
    for col in ("raw", "share", "ci_low", "ci_high", "rank", "rank_ci_low", "rank_ci_high", "vif"):
        np.testing.assert_allclose(scaled[col], base[col], rtol=1e-6, atol=1e-9, err_msg=col)


def test_bootstrap_reproducible_by_seed():
    X, y = correlated(n=200)
    one = relimp_bootstrap.bootstrap(X, y, np.ones(200), False, 300, seed=4)
    two = relimp_bootstrap.bootstrap(X, y, np.ones(200), False, 300, seed=4)
    other = relimp_bootstrap.bootstrap(X, y, np.ones(200), False, 300, seed=5)
    np.testing.assert_array_equal(one.raw, two.raw)
    assert not np.allclose(one.raw, other.raw)
    yb = (y > 0).astype(float)
    np.testing.assert_array_equal(relimp_bootstrap.bootstrap(X, yb, np.ones(200), True, 150, seed=1).raw,
                                  relimp_bootstrap.bootstrap(X, yb, np.ones(200), True, 150, seed=1).raw)


def test_bootstrap_resamples_are_row_resamples_and_intervals_their_percentiles():
    X, y = correlated(n=150, p=3, seed=2)
    draws = relimp_bootstrap.bootstrap(X, y, np.ones(150), False, 500, seed=0)
    raw, r2 = draws.raw, draws.r2
    rng = np.random.default_rng(0)   # the same draws: the first resample's rows, refitted by statsmodels OLS
    first = rng.integers(0, 150, size=(500, 150), dtype=np.int32)[0]
    Xb, yb = X[first], y[first]
    assert r2[0] == pytest.approx(OLS(yb, np.column_stack([np.ones(150), Xb])).fit().rsquared, abs=1e-10)
    np.testing.assert_allclose(raw[0], johnson_by_svd(Xb, yb), atol=1e-10)
    share = raw / r2[:, None]
    low, high = relimp_bootstrap.percentile_interval(share)
    np.testing.assert_allclose(low, np.percentile(share, 2.5, axis=0))
    np.testing.assert_allclose(high, np.percentile(share, 97.5, axis=0))
    np.testing.assert_array_equal(relimp.ranks(np.array([[0.2, 0.5, 0.2], [0.1, 0.3, 0.6]])), [[2, 1, 2], [3, 2, 1]])


def test_frequency_weights_equal_the_expanded_rows(tmp_path):
    X, y = correlated(n=60, seed=9)
    w = np.random.default_rng(1).integers(1, 4, size=60)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y, "w": w})
    weighted = run(frame, tmp_path, weight={"column": "w", "kind": "frequency"})
    expanded = run(frame.loc[frame.index.repeat(w)].drop(columns="w"), tmp_path)
    for col in ("raw", "share", "lmg", "performance", "vif"):
        np.testing.assert_allclose(weighted.table[col], expanded.table[col], rtol=1e-10, err_msg=col)
    assert weighted.results["r2"] == pytest.approx(expanded.results["r2"], rel=1e-12)
    assert weighted.results["n_used"] == 60


def test_sampling_weights_and_bad_keys_are_refused():
    with pytest.raises(StudyFileError, match="key 'weight'.*frequency weights only"):
        parse_study({"study": "d", "notebook": "drivers", "data": {"synthetic": "drivers"}, "drivers": ["a", "b"],
                     "drivers_scale": [0, 10], "weight": {"column": "w", "kind": "sampling"}})
    with pytest.raises(StudyFileError, match="key 'drivers'.*at least two"):
        study(drivers=["a"])
    with pytest.raises(StudyFileError, match="key 'drivers'.*'y' is also listed"):
        study(drivers={"A": "a", "Y": "y"})
    with pytest.raises(StudyFileError, match="key 'drivers_scale'"):
        study(drivers_scale=[5, 1])


@pytest.mark.parametrize("make, message", [
    (lambda f: f.assign(b=3.0), r"column 'b': the driver is constant"),
    (lambda f: f.assign(c=f["a"] + 2 * f["b"]), r"columns 'a', 'b' and 'c' are perfectly collinear"),
    (lambda f: f.assign(c=f["a"]), r"columns 'a' and 'c' are perfectly collinear"),
    (lambda f: f.head(4), r"4 usable rows for 3 drivers: .* at least drivers \+ 2 = 5 rows"),
    (lambda f: f.assign(y=1.0), r"column 'y': the outcome is constant"),
    (lambda f: f.assign(b=f["b"].astype(object).where(f.index != 3, "n/a")), r"column 'b', row 4 .*not numeric"),
])
def test_bad_input_is_one_clear_data_error(tmp_path, make, message):
    X, y = correlated(n=40, seed=1)
    frame = make(pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}))
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=message):
        load.read(study(), tmp_path)


def test_missing_rows_are_dropped_and_counted(tmp_path):
    X, y = correlated(n=50, seed=1)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})
    frame.loc[[2, 5], "b"] = np.nan
    frame.loc[[5, 9], "y"] = np.nan
    res = run(frame, tmp_path)
    assert res.results["n_used"] == 47 and res.results["n_dropped"] == 3


def test_collinearity_caveat_above_vif_10(tmp_path):
    X, y = correlated(n=300, seed=4)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})
    frame["c"] = frame["a"] + 0.05 * np.random.default_rng(0).normal(size=300)
    res = run(frame, tmp_path)
    others = {c: [o for o in "abc" if o != c] for c in "abc"}
    vifs = [1 / (1 - OLS(frame[c], np.column_stack([np.ones(300), frame[others[c]]])).fit().rsquared) for c in "abc"]
    np.testing.assert_allclose(res.table["vif"], vifs, rtol=1e-9)
    R = np.corrcoef(frame[list("abc")].to_numpy(), rowvar=False)
    assert res.results["condition_number"] == pytest.approx(np.linalg.cond(R))
    assert any("a and c have variance inflation factors above 10" in w for w in res.warnings)


def table(**cols) -> pd.DataFrame:
    n = len(cols["share"])
    return pd.DataFrame({"driver": list("ABCDEF"[:n]), "rank": list(range(1, n + 1)), **cols})


def test_words_name_the_leaders_and_the_indistinguishable_ranks():
    t = table(share=[0.4, 0.3, 0.2, 0.1], ci_low=[0.33, 0.26, 0.1, 0.05], ci_high=[0.47, 0.34, 0.24, 0.15],
              rank_ci_low=[1, 2, 3, 3], rank_ci_high=[1, 2, 4, 4])
    assert narrative.leading_drivers(t) == ["A", "B"]
    assert narrative.rank_groups(t) == [["C", "D"]]
    t2 = t.assign(ci_low=[0.2, 0.2, 0.1, 0.05], ci_high=[0.5, 0.5, 0.4, 0.3])
    assert narrative.leading_drivers(t2) == []


def test_report_words_use_association_not_effect():
    s = parse_study({"study": "d", "notebook": "drivers", "data": {"synthetic": "drivers", "n": 3000, "seed": 2026,
                     "columns": {"outcome": "satisfaction"}}, "drivers": list(DRIVERS), "drivers_scale": [0, 10],
                     "bootstrap": {"resamples": 300, "seed": 0}})
    res = analysis.analyze(load.read(s), s)
    text = narrative.headline(res, s) + "\n" + narrative.interpret(res, s)
    assert not [w for w in words.EFFECT_WORDS if w in text.lower()]
    assert "not say what improving a driver would do" in text
    assert "lies above those of every other driver" in text and "Ranks the data cannot tell apart" in text
    assert "e-0" not in text and "nan" not in text.lower()


def test_importance_performance_labels_never_overlap():
    crowded = pd.DataFrame({"driver": [f"driver number {i}" for i in range(8)],
                            "share": [0.125 + 0.001 * i for i in range(8)],
                            "performance": [60 + 0.2 * i for i in range(8)]})
    ax = figures.importance_performance(crowded)
    assert figures.label_overlaps(ax) == 0
    assert {t.get_text() for t in ax.texts} >= {"fix first", "keep up", "low priority", "possible overkill"}


def test_no_stray_numpy_warnings_on_degenerate_resamples(tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 1, 2, 1, 2, 3], "b": [1, 1, 2, 2, 3, 3, 1], "c": [3, 1, 2, 1, 1, 2, 2],
                          "y": [1, 2, 2, 3, 3, 5, 4]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = run(frame, tmp_path)
    assert res.results["resamples_failed"] > 0
    assert any("bootstrap resamples of 200 could not be computed" in w for w in res.warnings)


# --- issue 20: failed resamples, labels only where the interval clears the cut-off, rank groups, words ---

def eighty_rows() -> pd.DataFrame:
    """80 responses, 5 drivers rated 1-5, a rare yes/no outcome driven mostly by driver a.

    Drawn from logit P(yes) = -11 + 2.5 a + 0.6 b (numpy seed 6): 24 yes; the full data are not separated,
    but most bootstrap resamples are (a's lowest 'yes' and highest 'no' ratings are few rows).
    """
    rng = np.random.default_rng(6)
    X = rng.integers(1, 6, size=(80, 5)).astype(float)
    eta = -11 + 2.5 * X[:, 0] + 0.6 * X[:, 1]
    y = rng.random(80) < 1 / (1 + np.exp(-eta))
    frame = pd.DataFrame(X.astype(int), columns=list("abcde"))
    frame["y"] = np.where(y, "yes", "no")
    return frame


def separated_by_lp(X: np.ndarray, y: np.ndarray) -> bool:
    """Separation as a feasibility problem (not the package's route): some b with s_i x_i'b >= 0 for all rows
    and sum_i s_i x_i'b = 1 (x_i with an intercept, s_i = 2 y_i - 1) exists exactly when the rows are
    completely or quasi-completely separated (Albert and Anderson 1984), for a full-rank design."""
    from scipy.optimize import linprog
    A = np.column_stack([np.ones(len(X)), X]) * (2 * y - 1)[:, None]
    res = linprog(np.zeros(A.shape[1]), A_ub=-A, b_ub=np.zeros(len(A)), A_eq=A.sum(axis=0)[None, :], b_eq=[1.0],
                  bounds=[(None, None)] * A.shape[1], method="highs-ipm")
    return res.status == 0


def test_logistic_bootstrap_counts_failed_resamples_and_says_the_intervals_are_unreliable(tmp_path, monkeypatch):
    frame = eighty_rows()
    X, y = frame[list("abcde")].to_numpy(float), (frame["y"] == "yes").to_numpy(float)
    assert not separated_by_lp(X, y)
    # the resamples the bootstrap draws (unit weights, one block): the same generator calls as relimp_bootstrap._counts
    idx = np.random.default_rng(0).integers(0, 80, size=(300, 80), dtype=np.int32)
    separated = np.array([separated_by_lp(X[i], y[i]) for i in idx])
    draws = relimp_bootstrap.bootstrap(X, y, np.ones(80), True, 300, seed=0)
    np.testing.assert_array_equal(np.isnan(draws.r2), separated)      # every failure is a separation, and back
    assert draws.failures()["separation"] == separated.sum() > 200
    for b in np.flatnonzero(~separated)[:3]:                           # the others: statsmodels' Logit converges
        fit = Logit(y[idx[b]], np.column_stack([np.ones(80), X[idx[b]]])).fit(disp=0, maxiter=100)
        assert fit.mle_retvals["converged"]

    categories = []
    monkeypatch.setattr(analysis, "warn", lambda category, sentence: categories.append(category))
    run(frame, tmp_path, drivers=list("abcde"), drivers_scale=[1, 5], bootstrap={"resamples": 300, "seed": 0})
    assert categories == [UnreliableBootstrapWarning]
    monkeypatch.undo()
    res = run(frame, tmp_path, drivers=list("abcde"), drivers_scale=[1, 5], bootstrap={"resamples": 300, "seed": 0})
    boot = res.results["bootstrap"]
    failed = int(separated.sum())
    assert boot == {"resamples": 300, "failed": failed, "reliable": False,
                    "reasons": {"outcome_constant": 0, "driver_constant": 0, "drivers_collinear": 0,
                                "separation": failed, "not_converged": 0}}
    assert res.results["resamples_failed"] == failed == np.isnan(res.boot_shares).any(axis=1).sum()
    [sentence] = [w for w in res.warnings if "bootstrap resamples" in w]
    events = int(min(y.sum(), 80 - y.sum()))
    assert f"{failed} bootstrap resamples of 300 could not be computed" in sentence
    assert "separate the yes/no outcome" in sentence and "unreliable" in sentence
    assert f"has {events} responses for 5 drivers ({events / 5:.1f} per driver" in sentence
    # quadrant stays the point-estimate rule of DESIGN 5.5; no driver is labelled on an unreliable interval
    perf = res.table["performance"]
    assert list(res.table["quadrant"]) == [analysis.quadrant(s, q, 0.2, perf.mean())
                                           for s, q in zip(res.table["share"], perf)]
    assert set(res.table["priority"]) == {"cannot tell yet"}
    text = narrative.headline(res, study()) + narrative.interpret(res, study())
    assert "unreliable" in narrative.headline(res, study()) and "goes with the largest share" not in text
    assert "lies above those of every other driver" not in text and "**fix first**" not in text


def test_a_few_failed_resamples_are_reported_and_more_than_one_percent_make_the_intervals_unreliable():
    y, w = np.r_[np.ones(30), np.zeros(70)], np.ones(100)
    none = dict.fromkeys(relimp_bootstrap.FAILURES, 0)
    few = analysis.failure_sentence({**none, "driver_constant": 3}, 300, y, w, True, 2)
    many = analysis.failure_sentence({**none, "separation": 4}, 300, y, w, True, 2)
    assert few.startswith("3 bootstrap resamples of 300 could not be computed (3 because a driver did not vary")
    assert "unreliable" not in few and "unreliable" in many and "Too few events" not in many
    rare = analysis.failure_sentence({**none, "separation": 4}, 300, y, w, True, 4)
    assert "Too few events" in rare and "30 responses for 4 drivers (7.5 per driver" in rare
    assert analysis.failure_sentence(none, 300, y, w, True, 2) is None


def test_labels_only_where_the_share_interval_clears_the_mean_share():
    s = parse_study({"study": "d", "notebook": "drivers", "data": {"synthetic": "drivers", "n": 3000, "seed": 2026,
                     "columns": {"outcome": "satisfaction"}}, "drivers": list(DRIVERS), "drivers_scale": [0, 10],
                     "bootstrap": {"resamples": 300, "seed": 0}})
    res = analysis.analyze(load.read(s), s)
    t = res.table
    cut = 1 / len(t)
    above, below = t["ci_low"] > cut, t["ci_high"] < cut
    important = t["share"] >= cut
    clears = (important & above) | (~important & below)
    assert (~clears).any() and clears.any()                      # value_for_money's interval includes 1/6
    assert list(t["priority"]) == [q if c else "cannot tell yet" for q, c in zip(t["quadrant"], clears)]
    assert [w["priority"] for w in res.results["weights"]] == list(t["priority"])
    text = narrative.interpret(res, s)
    for _, row in t[~clears].iterrows():
        assert f"{row['driver']} {fmt.interval(row['share'], row['ci_low'], row['ci_high'])}" in text
        assert row["driver"] not in next(line for line in text.splitlines() if f"**{row['quadrant']}**" in line)
    assert "**cannot tell yet** (the share interval includes 16.7%" in text
    ax = figures.importance_performance(t)
    hollow = [c for c in ax.collections if isinstance(c, matplotlib.collections.PathCollection)
              and len(c.get_facecolor()) and np.allclose(c.get_facecolor()[:, :3], 1)]
    assert sum(len(c.get_offsets()) for c in hollow) == (~clears).sum()
    assert figures.label_overlaps(ax) == 0
    assert f"{t.loc[~clears, 'driver'].iloc[0]} cannot tell yet" in figures.alt_importance_performance(t)


def test_priority_rule_at_the_edges():
    assert analysis.priority("fix first", 0.21, 0.4, 0.2) == "fix first"
    assert analysis.priority("fix first", 0.2, 0.4, 0.2) == "cannot tell yet"           # touches the cut-off
    assert analysis.priority("keep up", 0.1, 0.4, 0.2) == "cannot tell yet"
    assert analysis.priority("low priority", 0.05, 0.19, 0.2) == "low priority"
    assert analysis.priority("possible overkill", 0.05, 0.25, 0.2) == "cannot tell yet"
    assert analysis.priority("keep up", None, None, 0.2) == "cannot tell yet"
    assert analysis.priority("keep up", 0.3, 0.4, 0.2, reliable=False) == "cannot tell yet"


def fake_result(**cols) -> analysis.DriversResult:
    """A DriversResult built by hand around a table, for the words."""
    t = table(**cols)
    n = len(t)
    t = t.assign(quadrant=cols.get("quadrant", ["keep up"] * n), priority=cols.get("priority", ["keep up"] * n))
    results = {"n_used": 500, "n_dropped": 0, "r2": 0.4, "r2_ci_low": 0.35, "r2_ci_high": 0.45,
               "outcome_type": "continuous", "resamples": 300, "resamples_failed": 0,
               "bootstrap": {"resamples": 300, "failed": 0, "reliable": True,
                             "reasons": {"separation": 0}}}
    return analysis.DriversResult(results, t, np.zeros((1, n)), np.zeros((1, n)))


def test_rank_groups_never_chain_drivers_whose_intervals_are_disjoint():
    t = table(share=[0.4, 0.3, 0.2, 0.1], ci_low=[0.3, 0.2, 0.1, 0.0], ci_high=[0.5, 0.4, 0.3, 0.2],
              rank_ci_low=[1, 2, 3, 4], rank_ci_high=[2, 3, 3, 4])
    assert narrative.rank_groups(t) == [["A", "B"], ["B", "C"]]            # A [1, 2] and C [3, 3] are disjoint
    t = t.assign(rank_ci_low=[1, 1, 2, 4], rank_ci_high=[2, 3, 3, 4])
    assert narrative.rank_groups(t) == [["A", "B", "C"]]                  # all three share rank 2
    t = t.assign(rank_ci_low=[1, 2, 3, 4], rank_ci_high=[2, 3, 4, 4])
    assert narrative.rank_groups(t) == [["A", "B"], ["B", "C"], ["C", "D"]]
    text = narrative.interpret(fake_result(**{c: t[c] for c in t if c not in ("driver", "rank")},
                                           lmg_share=t["share"]), study())
    assert "A and B; B and C; C and D" in text and "a driver can sit in two groups" in text


def test_lmg_comparison_states_the_largest_gap_not_a_rounded_down_bound():
    res = fake_result(share=[0.5, 0.3, 0.2], ci_low=[0.4, 0.2, 0.1], ci_high=[0.6, 0.4, 0.3],
                      rank_ci_low=[1, 2, 3], rank_ci_high=[1, 2, 3], lmg_share=[0.5, 0.3034, 0.1966])
    text = narrative.interpret(res, study())
    assert "within 0.3 " not in text
    assert "the largest difference is 0.34 percentage points (B: 30.34% against 30.00%)" in text
    for gap in (0.0004, 0.012345, 0.0999, 0.25):
        sentence = narrative.lmg_comparison(table(share=[0.5, 0.5], lmg_share=[0.5 + gap, 0.5 - gap]))
        shown = sentence.split("difference is ")[1].split(" percentage")[0]
        decimals = len(shown.split(".")[1])
        assert abs(float(shown) - 100 * gap) <= 0.5 * 10 ** -decimals + 1e-12
        assert float(shown) > 0


def test_overlapping_top_shares_are_not_turned_into_a_leader():
    res = fake_result(share=[0.35, 0.3, 0.2, 0.15], ci_low=[0.25, 0.22, 0.15, 0.1], ci_high=[0.45, 0.38, 0.25, 0.2],
                      rank_ci_low=[1, 1, 3, 4], rank_ci_high=[2, 2, 3, 4], lmg_share=[0.35, 0.3, 0.2, 0.15])
    head = narrative.headline(res, study())
    assert "goes with the largest share" not in head
    assert head.startswith("A has the largest share") and "cannot tell" in head
    assert f"B {fmt.interval(0.3, 0.22, 0.38)}" in head
    text = narrative.interpret(res, study())
    assert "the data cannot tell which driver leads" in text and f"A {fmt.interval(0.35, 0.25, 0.45)}" in text
    clear = fake_result(share=[0.5, 0.3, 0.2], ci_low=[0.45, 0.2, 0.1], ci_high=[0.55, 0.4, 0.3],
                        rank_ci_low=[1, 2, 2], rank_ci_high=[1, 3, 3], lmg_share=[0.5, 0.3, 0.2])
    assert narrative.headline(clear, study()).startswith("A goes with the largest share")
