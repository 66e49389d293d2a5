"""cxlab.stats against independent implementations (statsmodels, scipy)."""
from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.proportion import proportion_confint

from cxlab.stats.logistic import logistic_slope, separated
from cxlab.stats.proportions import wilson_interval
from cxlab.stats.tables import chi2_independence, cochran_armitage


@pytest.mark.parametrize("count,n", [(0, 10), (3, 10), (10, 10), (262, 2041), (1, 1), (4999, 5000)])
def test_wilson_matches_statsmodels(count, n):
    lo, hi = wilson_interval(count, n)
    ref = proportion_confint(count, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(ref[0], abs=1e-12)
    assert hi == pytest.approx(ref[1], abs=1e-12)


def test_wilson_empty_group_is_nan():
    lo, hi = wilson_interval(np.array([0.0, 2.0]), np.array([0.0, 4.0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < 0.5 < hi[1] < 1


def test_chi2_matches_scipy_without_correction():
    table = np.array([[12, 30], [25, 25], [40, 10]])
    ref = sps.chi2_contingency(table, correction=False)
    got = chi2_independence(table)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert got["dof"] == ref.dof
    assert got["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert got["log10_p"] == pytest.approx(np.log10(ref.pvalue), rel=1e-9)


def test_chi2_two_by_two_is_not_yates_corrected():
    table = np.array([[5, 15], [12, 8]])
    got = chi2_independence(table)["statistic"]
    assert got == pytest.approx(sps.chi2_contingency(table, correction=False).statistic)
    assert got != pytest.approx(sps.chi2_contingency(table, correction=True).statistic)


def test_chi2_drops_empty_rows_and_reports_underflow():
    table = np.array([[0, 0], [5000, 0], [0, 5000]])
    got = chi2_independence(table)
    assert got["dof"] == 1 and got["p"] == 0.0
    assert got["log10_p"] < -300


def test_chi2_undefined_without_variation():
    assert chi2_independence(np.array([[3, 0], [5, 0]]))["statistic"] is None


def test_cochran_armitage_equals_n_r_squared_and_statsmodels():
    count = np.array([5, 12, 20, 31])
    n = np.array([40, 42, 45, 44])
    got = cochran_armitage(count, n)
    # independent 1: z^2 = N r^2, r the correlation of score and outcome over the expanded data
    scores = np.repeat(np.arange(1, 5), n)
    y = np.concatenate([np.r_[np.ones(c), np.zeros(m - c)] for c, m in zip(count, n)])
    r = np.corrcoef(scores, y)[0, 1]
    assert got["z"] ** 2 == pytest.approx(len(y) * r * r, rel=1e-10)
    assert got["z"] > 0
    # independent 2: statsmodels' linear-by-linear statistic is the same test scaled by (N-1)/N
    table = Table(np.column_stack([count, n - count]))
    lbl = table.test_ordinal_association(row_scores=np.arange(1, 5), col_scores=np.array([1, 0]))
    assert got["z"] ** 2 * (len(y) - 1) / len(y) == pytest.approx(lbl.zscore ** 2, rel=1e-10)
    assert got["p"] == pytest.approx(2 * sps.norm.sf(abs(got["z"])), rel=1e-12)


def test_cochran_armitage_by_hand():
    # p = 30/90 = 1/3; T = 1*(15-10) + 2*(10-10) + 3*(5-10) = -10;
    # Var = (1/3)(2/3) * (30*(1+4+9) - 180**2/90) = (2/9) * 60 = 40/3; z^2 = 100 / (40/3) = 7.5
    got = cochran_armitage(np.array([15, 10, 5]), np.array([30, 30, 30]))
    assert got["z"] == pytest.approx(-np.sqrt(7.5), rel=1e-12)
    assert got["p"] == pytest.approx(sps.chi2.sf(7.5, 1), rel=1e-10)


def _expand(x_levels, n, count):
    x = np.repeat(x_levels, n)
    y = np.concatenate([np.r_[np.ones(c), np.zeros(m - c)] for c, m in zip(count, n)])
    return x, y


@pytest.mark.parametrize("count", [[3, 8, 15, 22, 27], [0, 6, 15, 22, 27], [1, 0, 4, 30, 29]])
def test_logit_matches_statsmodels(count):
    x, y = _expand(np.arange(1, 6), [30] * 5, count)
    got = logistic_slope(x, y)
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    ci = ref.conf_int()[1]
    assert not got.separation
    assert got.odds_ratio == pytest.approx(np.exp(ref.params[1]), rel=1e-7)
    assert got.ci_low == pytest.approx(np.exp(ci[0]), rel=1e-7)
    assert got.ci_high == pytest.approx(np.exp(ci[1]), rel=1e-7)


def test_logit_frequency_weights_match_glm():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 400).astype(float)
    y = (rng.random(400) < 1 / (1 + np.exp(-(x - 3)))).astype(float)
    w = rng.integers(1, 4, 400).astype(float)
    got = logistic_slope(x, y, w)
    ref = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial(), freq_weights=w).fit()
    assert got.odds_ratio == pytest.approx(np.exp(ref.params[1]), rel=1e-7)
    assert got.ci_low == pytest.approx(np.exp(ref.conf_int()[1][0]), rel=1e-6)


@pytest.mark.parametrize("count,expected", [
    ([0, 0, 30, 30, 30], True),    # complete separation between 2 and 3
    ([0, 0, 12, 30, 30], True),    # quasi-complete: overlap only at rating 3
    ([0, 5, 12, 30, 30], False),   # overlap at 2, 3 (zero-rate tier at the bottom is not separation)
    ([0, 0, 0, 0, 0], True),       # no variation in the outcome
])
def test_separation_detection(count, expected):
    x, y = _expand(np.arange(1, 6), [30] * 5, count)
    assert separated(x, y) is expected
    fit = logistic_slope(x, y)
    assert fit.separation is expected
    if expected:
        assert fit.odds_ratio is None and fit.ci_low is None and fit.ci_high is None
    else:
        # the statsmodels fit exists and agrees
        ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
        assert fit.odds_ratio == pytest.approx(np.exp(ref.params[1]), rel=1e-6)


def test_quasi_separation_makes_statsmodels_diverge():
    """Independent check that the data flagged as separated have no finite MLE."""
    x, y = _expand(np.arange(1, 6), [30] * 5, [0, 0, 12, 30, 30])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0, maxiter=200)
            slope = ref.params[1]
        except Exception:  # statsmodels raises PerfectSeparationError on some versions
            slope = np.inf
    assert abs(slope) > 10
