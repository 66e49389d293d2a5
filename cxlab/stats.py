"""Intervals and tests that the dependencies do not provide in the form DESIGN defines.

All functions are pure and vectorised; each is tested against an independent
computation (scipy, statsmodels) in ``tests/test_stats.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

Z95 = float(sps.norm.ppf(0.975))


def wilson_interval(count: np.ndarray | float, n: np.ndarray | float, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``count / n`` (NaN where ``n`` is 0).

    Parameters
    ----------
    count, n : array-like
        Successes and trials (weighted totals are accepted).
    z : float
        Normal quantile, 1.96 for a 95% interval.

    Returns
    -------
    (low, high) : arrays
    """
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        low, high = centre - half, centre + half
    low = np.where(n > 0, np.clip(low, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(high, 0, 1), np.nan)
    return low, high


def log10_chi2_sf(statistic: float, dof: float) -> float | None:
    """log10 of the chi-square upper tail, finite far beyond where the p-value underflows to 0.

    scipy's ``chi2.logsf`` where it is finite; past that, the continued fraction
    for the regularised upper incomplete gamma function (Numerical Recipes
    ``gcf``) evaluated in log space.
    """
    if statistic is None or not math.isfinite(statistic) or dof <= 0:
        return None
    value = float(sps.chi2.logsf(statistic, dof))
    if math.isfinite(value):
        return value / math.log(10)
    a, x = dof / 2.0, statistic / 2.0
    tiny = 1e-300
    b = x + 1.0 - a
    c, dd = 1.0 / tiny, 1.0 / b
    h = dd
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        dd = an * dd + b
        dd = tiny if abs(dd) < tiny else dd
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        dd = 1.0 / dd
        delta = dd * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return (-x + a * math.log(x) - math.lgamma(a) + math.log(h)) / math.log(10)


def chi2_independence(table: np.ndarray) -> dict[str, float | None]:
    """Pearson chi-square test of independence, no continuity correction.

    Rows or columns whose total is 0 are left out (they carry no information).
    Returns ``{statistic, dof, p, log10_p}``; all None when fewer than two
    non-empty rows or columns remain.
    """
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return {"statistic": None, "dof": None, "p": None, "log10_p": None}
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()
    statistic = float(((t - expected) ** 2 / expected).sum())
    dof = (t.shape[0] - 1) * (t.shape[1] - 1)
    return {"statistic": statistic, "dof": int(dof), "p": float(sps.chi2.sf(statistic, dof)),
            "log10_p": log10_chi2_sf(statistic, dof)}


def cochran_armitage(count: np.ndarray, n: np.ndarray, scores: np.ndarray | None = None) -> dict[str, float | None]:
    """Cochran-Armitage test for trend in proportions, two-sided, no continuity correction.

    ``z = sum s_i (x_i - n_i p) / sqrt(p (1 - p) (sum n_i s_i^2 - (sum n_i s_i)^2 / N))``
    with ``p = X / N`` (the form of R's ``prop.trend.test``). Scores default to 1..k.
    Returns ``{z, p, log10_p}`` (None when undefined: no variation in outcome or in scores).
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    s = np.arange(1, len(n) + 1, dtype=float) if scores is None else np.asarray(scores, dtype=float)
    big_n, big_x = n.sum(), x.sum()
    if big_n <= 0:
        return {"z": None, "p": None, "log10_p": None}
    p = big_x / big_n
    var = p * (1 - p) * ((n * s * s).sum() - (n * s).sum() ** 2 / big_n)
    if not var > 0:
        return {"z": None, "p": None, "log10_p": None}
    z = float((s * (x - n * p)).sum() / math.sqrt(var))
    log10_p = float((math.log(2) + sps.norm.logsf(abs(z))) / math.log(10))
    return {"z": z, "p": float(2 * sps.norm.sf(abs(z))), "log10_p": log10_p}


@dataclass
class LogitFit:
    """Logistic regression of a binary outcome on one numeric predictor."""

    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    separation: bool
    coef: float | None = None
    se: float | None = None
    intercept: float | None = None

    def to_dict(self) -> dict[str, float | bool | None]:
        return {"odds_ratio": self.odds_ratio, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "separation": self.separation}


def separated(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> bool:
    """True when ``x`` separates ``y`` completely or quasi-completely (the MLE slope is infinite).

    With one predictor and an intercept the maximum-likelihood estimate is finite
    exactly when the ranges of x among outcome 0 and outcome 1 overlap in their
    interiors; an outcome without variation also has no finite estimate.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if w is not None:
        keep = np.asarray(w, dtype=float) > 0
        x, y = x[keep], y[keep]
    x0, x1 = x[y == 0], x[y == 1]
    if len(x0) == 0 or len(x1) == 0:
        return True
    return bool(x0.max() <= x1.min() or x1.max() <= x0.min())


def logistic_slope(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
                   max_iter: int = 100, tol: float = 1e-10) -> LogitFit:
    """Maximum-likelihood logistic regression ``logit P(y=1) = a + b x`` by Newton-Raphson.

    Observations are first collapsed to distinct ``(x, y)`` cells, so a million
    rows with a five-point scale cost five binomial cells. ``weight`` are
    frequency weights. The odds ratio per unit of ``x`` is ``exp(b)`` with a
    95% Wald interval. Under (quasi-)complete separation the estimate does not
    exist: ``separation`` is True and the figures are None.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=float)
    if separated(x, y, w):
        return LogitFit(None, None, None, True)
    xs, inv = np.unique(x, return_inverse=True)
    if len(xs) < 2:
        return LogitFit(None, None, None, False)
    trials = np.bincount(inv, weights=w, minlength=len(xs))
    succ = np.bincount(inv, weights=w * y, minlength=len(xs))
    centre = float(np.average(xs, weights=trials))
    X = np.column_stack([np.ones_like(xs), xs - centre])
    beta = np.zeros(2)
    beta[0] = math.log(succ.sum() / (trials.sum() - succ.sum()))
    converged = False
    for _ in range(max_iter):
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        grad = X.T @ (succ - trials * mu)
        info = X.T @ (X * (trials * mu * (1 - mu))[:, None])
        step = np.linalg.solve(info, grad)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    if not converged or not np.all(np.isfinite(beta)) or abs(beta[1]) > 30:
        return LogitFit(None, None, None, True)
    mu = 1 / (1 + np.exp(-(X @ beta)))
    info = X.T @ (X * (trials * mu * (1 - mu))[:, None])
    se = float(math.sqrt(np.linalg.inv(info)[1, 1]))
    b = float(beta[1])
    return LogitFit(math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se), False,
                    coef=b, se=se, intercept=float(beta[0] - b * centre))
