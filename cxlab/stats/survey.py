"""Design-based estimators for sampling weights (survey, post-stratification or raking weights).

The design is one stage, sampled with replacement, without strata or clusters:
R ``survey::svydesign(ids = ~1, weights = ~w)``. Variances are Taylor
linearisation with the ``n / (n - 1)`` factor R uses, so every figure here is
unchanged when all weights are multiplied by a constant.

- :func:`weighted_share`: weighted proportion and Kish effective n;
- :func:`domain_means`: weighted means (shares, NPS, mean ratings) of the domains of one design with
  their linearised variances (``svyby(~y, ~domain, design, svymean)``), the design-based effective n
  ``p (1 - p) / v`` that the Wilson and adjusted-Wald intervals use, and the design effect;
- :func:`design_mean_interval`: the t interval of a weighted mean from its linearised variance;
- :func:`rao_scott_f`: Rao-Scott second-order corrected F test of independence
  (``svychisq(~row + col, design, statistic = "F")``);
- :func:`svy_logit`: weighted logistic regression with design-based (sandwich)
  standard errors (``svyglm(y ~ x, design, family = quasibinomial)``), normal reference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from . import Z95
from .logistic import LogitFit, logistic_slope
from .weights import effective_n, kish_n


def weighted_share(y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted proportion ``sum w y / sum w`` and Kish effective n of ``w`` (NaN share without weight)."""
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    total = float(w.sum())
    share = float((w * y).sum() / total) if total > 0 else math.nan
    return share, kish_n(w)


@dataclass(frozen=True)
class DomainMeans:
    """Weighted means of the domains of one design and their Taylor-linearised variances (arrays, one per domain).

    Attributes
    ----------
    mean : ndarray
        ``sum w y / sum w`` over the domain (NaN without weight).
    variance : ndarray
        Linearised variance of the mean, ``n / (n - 1) sum w^2 (y - mean)^2 / (sum w)^2``
        over the domain's observations, ``n`` the observations of the whole design
        (NaN with fewer than two).
    unit_variance : ndarray
        The weighted variance of ``y`` in the domain, ``sum w (y - mean)^2 / sum w``:
        ``p (1 - p)`` for a share, ``p+ + p- - NPS^2`` for the NPS score.
    rows : ndarray
        Observations in the domain.
    kish_n : ndarray
        Kish's effective n, ``(sum w)^2 / sum w^2``.
    """

    mean: np.ndarray
    variance: np.ndarray
    unit_variance: np.ndarray
    rows: np.ndarray
    kish_n: np.ndarray

    @property
    def n_eff(self) -> np.ndarray:
        """Design-based effective n ``unit_variance / variance`` (R ``svyciprop``'s ``n.eff``); Kish's n where the
        domain's values do not vary (a share of 0 or 1: design variance 0) or the variance is undefined."""
        v, u = self.variance, self.unit_variance
        ok = (v > 0) & (u > 0) & np.isfinite(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, u / np.where(ok, v, 1.0), self.kish_n)

    @property
    def design_effect(self) -> np.ndarray:
        """Design effect ``v / (unit_variance / (rows - 1))``, R ``svymean(..., deff = "replace")``: 1 with equal
        weights (whole sample); NaN where the values do not vary."""
        v, u = self.variance, self.unit_variance
        ok = (v > 0) & (u > 0) & np.isfinite(v) & (self.rows > 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, v * (self.rows - 1) / np.where(ok, u, 1.0), np.nan)


def domain_means(y: np.ndarray, w: np.ndarray, w2: np.ndarray, domain: np.ndarray, n_domains: int,
                 n: int, rows: np.ndarray | None = None) -> DomainMeans:
    """Weighted mean of ``y`` in each domain of a one-stage design, with its linearised (design-based) variance.

    Follows R ``survey::svyby(~y, ~domain, svydesign(ids = ~1, weights = ~w), svymean)``
    (for the whole sample, one domain: ``svymean``): the mean's influence values
    ``w_i (y_i - mean_d) / sum_d w`` are 0 outside the domain, so the variance is
    ``n / (n - 1) sum_d w_i^2 (y_i - mean_d)^2 / (sum_d w)^2`` with ``n`` the
    observations of the **whole design**, domain or not (R's domain estimator),
    and domains are uncorrelated: a difference of two domains has variance
    ``v_a + v_b`` (``svycontrast`` on ``svyby(..., covmat = TRUE)``). Unchanged
    when every weight is multiplied by a constant.

    Only, per cell of equal ``y`` within a domain, the sum of the weights and of
    their squares are needed: pass one entry per observation (``w2 = w**2``), or
    one per cell of aggregated data (``w`` and ``w2`` the cell's sums, ``rows``
    its observations); several entries may share a cell.

    Parameters
    ----------
    y : array-like
        The value of each observation or cell (0/1 for a share, -1/0/+1 for the NPS score, a rating).
    w, w2 : array-like
        Weights and squared weights (or their sums per cell).
    domain : array-like of int
        Domain code of each entry, 0 to ``n_domains - 1`` (entries outside every domain left out).
    n_domains : int
        Number of domains (empty ones get NaN means).
    n : int
        Observations in the whole design.
    rows : array-like, optional
        Observations per entry (default 1).

    Returns
    -------
    DomainMeans
    """
    y, w, w2 = (np.asarray(a, dtype=float) for a in (y, w, w2))
    domain = np.asarray(domain, dtype=np.int64)
    rows = np.ones_like(w) if rows is None else np.asarray(rows, dtype=float)

    def total(v: np.ndarray) -> np.ndarray:
        return np.bincount(domain, weights=v, minlength=n_domains)

    sum_w, sum_w2 = total(w), total(w2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(sum_w > 0, total(w * y) / np.where(sum_w > 0, sum_w, 1.0), np.nan)
        centred = y - mean[domain]
        unit = np.where(sum_w > 0, total(w * centred ** 2) / np.where(sum_w > 0, sum_w, 1.0), np.nan)
        factor = n / (n - 1) if n > 1 else np.nan
        variance = np.where(sum_w > 0, factor * total(w2 * centred ** 2) / np.where(sum_w > 0, sum_w, 1.0) ** 2,
                            np.nan)
    return DomainMeans(mean, variance, unit, total(rows), np.asarray(effective_n(sum_w, sum_w2), dtype=float))


def design_mean_interval(mean: float | None, variance: float, rows: int,
                         level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """A weighted mean with its design-based t interval: ``mean +- t sqrt(variance)``, ``t`` on ``rows - 1``
    degrees of freedom (those of the unweighted interval), ``variance`` from :func:`domain_means`.

    Returns ``(mean, low, high)``: None figures without a mean, no interval with fewer than two rows.
    """
    if mean is None or not np.isfinite(mean):
        return None, None, None
    if rows < 2 or not np.isfinite(variance):
        return float(mean), None, None
    half = float(sps.t.ppf(0.5 + level / 2, rows - 1)) * math.sqrt(max(variance, 0.0))
    return float(mean), float(mean) - half, float(mean) + half


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    levels, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.ravel(), len(levels)


def rao_scott_f(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, w2: np.ndarray | None = None,
                n: int | None = None) -> dict[str, float | None]:
    """Rao-Scott second-order corrected F test of independence of ``rows`` and ``cols`` under sampling weights.

    Follows ``survey:::svychisq.survey.design`` with ``statistic = "F"`` on
    ``svydesign(ids = ~1, weights = ~w)``: ``F = X^2 / tr(Delta)`` on
    ``d0 = tr(Delta)^2 / tr(Delta^2)`` and ``d0 (n - 1)`` degrees of freedom,
    where X^2 is Pearson's statistic of the weighted table scaled to n rows and
    ``Delta`` the design-effect matrix of the interaction contrasts (design
    variance of the cell shares against their multinomial variance).

    The statistic needs only, per (row, column) cell, the sum of the weights and
    the sum of their squares, and the number of observations ``n``: pass one
    entry per observation (``w2`` and ``n`` left out), or one entry per cell of
    aggregated data (``w`` and ``w2`` the cell's sums, ``n`` the total count;
    several entries may share a cell). The figures are the same.

    Parameters
    ----------
    rows, cols : array-like
        Category of each observation or cell (only levels present count, as R's
        ``factor``: leave out cells without observations).
    w : array-like
        Sampling weights (> 0), or their sums per cell.
    w2 : array-like, optional
        Sums of the squared weights per cell (default ``w**2``: one entry per observation).
    n : int, optional
        Number of observations (default ``len(w)``).

    Returns
    -------
    dict
        ``{statistic, dof, dof2, p}``; all None with fewer than two levels on a side.
    """
    r, nr = _codes(rows)
    c, nc = _codes(cols)
    w = np.asarray(w, dtype=float)
    w2 = w * w if w2 is None else np.asarray(w2, dtype=float)
    n = len(w) if n is None else int(n)
    none = {"statistic": None, "dof": None, "dof2": None, "p": None}
    if nr < 2 or nc < 2 or n < 2:
        return none
    cell = r + nr * c                                      # R's interaction(): the first factor varies fastest
    k = nr * nc
    total = w.sum()
    mean2 = np.bincount(cell, weights=w, minlength=k) / total
    s2 = np.bincount(cell, weights=w2, minlength=k)
    centred = np.eye(k) - mean2[None, :]                   # row j: e_j - p
    V = n / (n - 1) * (centred.T * s2) @ centred / total ** 2
    # Pearson X^2 of the weighted table scaled to n rows (svytable(..., Ntotal = n))
    table = mean2.reshape(nc, nr).T * n
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = float(np.where(expected > 0, (table - expected) ** 2 / expected, 0.0).sum())
    grid_r = np.tile(np.arange(nr), nc)
    grid_c = np.repeat(np.arange(nc), nr)
    dummies_r = (grid_r[:, None] == np.arange(1, nr)[None, :]).astype(float)
    dummies_c = (grid_c[:, None] == np.arange(1, nc)[None, :]).astype(float)
    X1 = np.column_stack([np.ones(k), dummies_r, dummies_c])
    inter = np.column_stack([dummies_r[:, i] * dummies_c[:, j] for j in range(nc - 1) for i in range(nr - 1)])
    coef, *_ = np.linalg.lstsq(X1, inter, rcond=None)
    C = inter - X1 @ coef
    inv_d = np.where(mean2 == 0, 0.0, 1.0 / np.where(mean2 == 0, 1.0, mean2))
    denom = C.T @ (C * (inv_d / n)[:, None])
    numr = (C * inv_d[:, None]).T @ V @ (C * inv_d[:, None])
    delta = np.linalg.solve(denom, numr)
    tr, tr2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    if not (tr > 0 and tr2 > 0):
        return none
    statistic = x2 / tr
    d0 = tr * tr / tr2
    dof2 = d0 * (n - 1)
    return {"statistic": statistic, "dof": d0, "dof2": dof2, "p": float(sps.f.sf(statistic, d0, dof2))}


def svy_logit(x: np.ndarray, y: np.ndarray, w: np.ndarray, w2: np.ndarray | None = None,
              n: int | None = None) -> LogitFit:
    """Weighted logistic regression ``logit P(y=1) = a + b x`` with design-based standard errors.

    The estimate is the weighted maximum-likelihood one (:func:`logistic_slope`);
    its variance is the sandwich ``n/(n-1) A^-1 B A^-1`` with
    ``A = sum w mu (1 - mu) x x'`` and ``B = sum w^2 (y - mu)^2 x x'``, as
    ``survey::svyglm(family = quasibinomial)`` computes it on
    ``svydesign(ids = ~1, weights = ~w)``. Interval and Wald test use the normal
    distribution. Separation or a constant outcome give None figures as in
    :func:`logistic_slope`.

    Each observation's score ``w (y - mu) (1, x)`` depends only on its ``(x, y, w)``,
    so ``B`` sums, per ``(x, y)`` cell, the cell's sum of squared weights: on
    aggregated data pass one entry per cell, ``w`` and ``w2`` the sums of the
    weights and of their squares and ``n`` the number of observations (the
    defaults, ``w**2`` and ``len(x)``, are those of one entry per observation).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    w2 = w * w if w2 is None else np.asarray(w2, dtype=float)
    fit = logistic_slope(x, y, w)
    if fit.coef is None or fit.intercept is None:
        return fit
    n = len(x) if n is None else int(n)
    levels, inv_x = np.unique(x, return_inverse=True)
    cell = inv_x.ravel() * 2 + (y > 0.5)                   # (x level, outcome) cells: 2 per level
    sw = np.bincount(cell, weights=w, minlength=2 * len(levels))
    sw2 = np.bincount(cell, weights=w2, minlength=2 * len(levels))
    xs, ys = np.repeat(levels, 2), np.tile([0.0, 1.0], len(levels))
    centre = float(np.average(xs, weights=sw))
    X = np.column_stack([np.ones_like(xs), xs - centre])
    mu = 1 / (1 + np.exp(-(fit.intercept + fit.coef * xs)))
    A = X.T @ (X * (sw * mu * (1 - mu))[:, None])
    B = X.T @ (X * (sw2 * (ys - mu) ** 2)[:, None])
    a_inv = np.linalg.inv(A)
    cov = n / (n - 1) * a_inv @ B @ a_inv
    se = float(math.sqrt(cov[1, 1]))
    b = fit.coef
    return LogitFit(math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se), False,
                    coef=b, se=se, intercept=fit.intercept)
