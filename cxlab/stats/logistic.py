"""Logistic regression of a binary outcome on one numeric rating, with a separation check."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from . import Z95


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

    def wald(self) -> dict[str, float | None]:
        """Two-sided Wald test of a zero slope, normal reference: ``{z, p}`` (None without an estimate)."""
        if self.coef is None or self.se is None or not self.se > 0:
            return {"z": None, "p": None}
        z = self.coef / self.se
        return {"z": z, "p": float(2 * sps.norm.sf(abs(z)))}

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
    frequency weights; aggregated data are passed as one entry per ``(x, y)``
    cell with its count (or sum of weights) as the weight, which gives the same
    estimate and standard error as the rows (the likelihood is the same). The odds ratio per unit of ``x`` is ``exp(b)`` with a
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
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:  # information singular (extreme weights): no estimate
            return LogitFit(None, None, None, False)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    if not converged or not np.all(np.isfinite(beta)) or abs(beta[1]) > 30:
        return LogitFit(None, None, None, True)
    mu = 1 / (1 + np.exp(-(X @ beta)))
    info = X.T @ (X * (trials * mu * (1 - mu))[:, None])
    try:
        se = float(math.sqrt(np.linalg.inv(info)[1, 1]))
    except (np.linalg.LinAlgError, ValueError):
        return LogitFit(None, None, None, False)
    b = float(beta[1])
    if not math.isfinite(se) or abs(b) + Z95 * se > 700:  # an interval beyond exp's range says nothing
        return LogitFit(None, None, None, False)
    return LogitFit(math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se), False,
                    coef=b, se=se, intercept=float(beta[0] - b * centre))
