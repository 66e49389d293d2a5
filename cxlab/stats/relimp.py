"""Relative importance of correlated drivers (DESIGN 5.5).

- :func:`johnson`: Johnson's (2000) relative weights of a numeric outcome, from
  correlations (batched over leading axes);
- :func:`logistic_weights`: the logistic relative weights of Tonidandel and
  LeBreton (2010) with Menard's standardisation (batched over resample weights);
- :func:`lmg`: the exact LMG (Shapley) decomposition of R^2 over all subsets;
- :func:`correlations`: weighted correlation matrices, many resamples at once;
- :func:`vif`, :func:`ranks`.

Their percentile bootstrap is :mod:`cxlab.stats.relimp_bootstrap`.

Frequency weights ``w`` everywhere: each row stands for ``w`` identical rows,
so every figure equals the figure of the expanded data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.special import expit

LMG_MAX_DRIVERS = 12
"""The exact LMG decomposition enumerates 2^p subsets; above this many drivers it is not computed."""


def _triu(q: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(q)


def _unpack(packed: np.ndarray, q: int) -> np.ndarray:
    """Symmetric (..., q, q) matrices from their packed upper triangles (..., q(q+1)/2)."""
    i, j = _triu(q)
    out = np.empty(packed.shape[:-1] + (q, q))
    out[..., i, j] = packed
    out[..., j, i] = packed
    return out


def _products(V: np.ndarray) -> np.ndarray:
    """Products of every pair of columns (upper triangle), transposed: q(q+1)/2 x n, C-contiguous."""
    i, j = _triu(V.shape[1])
    VT = np.ascontiguousarray(V.T)
    return VT[i] * VT[j]


def _weighted_sums(T: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """counts @ T.T for a C-contiguous (k, n) ``T``: (B, k).

    The operand order matters for OpenBLAS with n in the 100,000s (measured): for
    many columns (k = 136) (T @ counts.T).T is about 5x faster than counts @ T.T;
    for few (k = 16) the reverse holds.
    """
    return counts @ T.T if T.shape[0] <= 32 else (T @ counts.T).T


def correlations(V: np.ndarray, counts: np.ndarray, products: np.ndarray | None = None) -> np.ndarray:
    """Weighted correlation matrices of the columns of ``V``, one per row of ``counts``.

    Parameters
    ----------
    V : (n, q) array
        The variables (best centred, for accuracy).
    counts : (B, n) array
        Non-negative frequency weights, one set per resample.
    products : (q(q+1)/2, n) array, optional
        :func:`_products` of ``V`` when already computed.

    Returns
    -------
    (B, q, q) array
        Correlation matrices; NaN where a variable does not vary in a resample.
    """
    q = V.shape[1]
    Q = _products(V) if products is None else products
    total = counts.sum(axis=1)
    mean = _weighted_sums(np.ascontiguousarray(V.T), counts) / total[:, None]
    second = _unpack(_weighted_sums(Q, counts) / total[:, None], q)
    cov = second - mean[:, :, None] * mean[:, None, :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    scale = np.abs(V).max(axis=0) if len(V) else np.ones(q)
    sd = np.where(sd > 1e-12 * np.maximum(scale, 1e-300), sd, np.nan)
    return cov / (sd[:, :, None] * sd[:, None, :])


def _sqrt_and_inverse(R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L = R^(1/2) and L^-1 through the eigendecomposition R = P diag(d) P' (batched)."""
    d, P = np.linalg.eigh(R)
    root = np.sqrt(np.clip(d, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):   # a singular R gives inf/NaN, filtered by the callers
        inv_root = np.where(root > 0, 1 / root, np.inf)
        L = (P * root[..., None, :]) @ np.swapaxes(P, -1, -2)
        L_inv = (P * inv_root[..., None, :]) @ np.swapaxes(P, -1, -2)
    return L, L_inv


def johnson(R: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Johnson's relative weights from the drivers' correlations (DESIGN 5.5).

    With R = P diag(d) P' and L = P diag(sqrt d) P': beta = L^-1 r and
    raw_j = sum_k L_jk^2 beta_k^2. The raw weights sum to the R^2 of the OLS
    regression of the outcome on all drivers.

    Parameters
    ----------
    R : (..., p, p) array
        Correlation matrices of the drivers (positive definite).
    r : (..., p) array
        Correlations of each driver with the outcome.

    Returns
    -------
    (..., p) array
        Raw weights.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        L, L_inv = _sqrt_and_inverse(np.asarray(R, dtype=float))
        beta = (L_inv @ np.asarray(r, dtype=float)[..., None])[..., 0]
        raw = ((L ** 2) @ (beta ** 2)[..., None])[..., 0]
    return np.where(np.isfinite(raw), raw, np.nan)


@dataclass
class LogitFits:
    """Logistic regressions of one outcome on the drivers, one per set of row weights.

    Attributes
    ----------
    coef : (B, p) array
        Slopes on the raw driver scales (NaN where the fit failed).
    converged : (B,) bool array
    """

    coef: np.ndarray
    intercept: np.ndarray
    converged: np.ndarray


def logit_fits(X: np.ndarray, y: np.ndarray, counts: np.ndarray, start: LogitFits | None = None,
               max_iter: int = 60, tol: float = 1e-10) -> LogitFits:
    """Maximum-likelihood logistic regressions of ``y`` on ``X`` (with intercept) by Newton-Raphson.

    One fit per row of ``counts`` (frequency weights), all iterated together,
    from the fit ``start`` when given (e.g. the full-sample fit, for bootstrap
    resamples) or else from the intercept-only fit; a fit that fails from
    ``start`` is tried again from the intercept-only fit (Newton steps from a
    distant start can overshoot). A fit that does not converge (separation, a
    resample without both outcomes) has NaN coefficients and ``converged`` False.
    """
    fits = _newton(X, y, counts, start, max_iter, tol)
    if start is not None and not fits.converged.all():
        again = np.flatnonzero(~fits.converged)
        retry = _newton(X, y, counts[again], None, max_iter, tol)
        fits.coef[again], fits.intercept[again], fits.converged[again] = retry.coef, retry.intercept, retry.converged
    return fits


def _newton(X: np.ndarray, y: np.ndarray, counts: np.ndarray, start: LogitFits | None, max_iter: int,
            tol: float) -> LogitFits:
    """The Newton-Raphson iterations of :func:`logit_fits`, from ``start`` or the intercept-only fit."""
    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    X1 = np.column_stack([np.ones(len(X)), (X - mean) / sd])
    q = X1.shape[1]
    Q = _products(X1)
    X1T = np.ascontiguousarray(X1.T)
    B = counts.shape[0]
    ybar = (counts @ y) / counts.sum(axis=1)
    beta = np.zeros((B, q))
    with np.errstate(divide="ignore", invalid="ignore"):
        beta[:, 0] = np.log(ybar / (1 - ybar))
    active = np.isfinite(beta[:, 0])
    if start is not None and start.converged[0]:
        beta[:, 1:] = start.coef[0] * sd
        beta[:, 0] = start.intercept[0] + start.coef[0] @ mean
    converged = np.zeros(B, dtype=bool)
    beta[~active] = np.nan
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if len(idx) == 0:
            break
        c = counts if len(idx) == B else counts[idx]
        p = expit(beta[idx] @ X1T)                        # (b, n)
        grad = _weighted_sums(X1T, c * (y - p))
        hess = _unpack(_weighted_sums(Q, c * p * (1 - p)), q)
        try:
            step = np.linalg.solve(hess, grad[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(h, g, rcond=None)[0] for h, g in zip(hess, grad)])
        beta[idx] += step
        size = np.abs(step).max(axis=1)
        done = size < tol * (1 + np.abs(beta[idx]).max(axis=1))
        diverged = ~np.isfinite(size) | (np.abs(beta[idx]).max(axis=1) > 50)
        converged[idx[done & ~diverged]] = True
        active[idx[done | diverged]] = False
    beta[~converged] = np.nan
    coef = beta[:, 1:] / sd
    intercept = beta[:, 0] - coef @ mean
    return LogitFits(coef, intercept, converged)


def _weighted_corr(a: np.ndarray, b: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted correlation of ``a`` (B, n) or (n,) with ``b`` (n,), per row of counts."""
    total = counts.sum(axis=1)
    ma = (counts * a).sum(axis=1) / total
    mb = counts @ b / total
    ca = a - ma[:, None]
    cb = b[None, :] - mb[:, None]
    cov = (counts * ca * cb).sum(axis=1)
    va = (counts * ca * ca).sum(axis=1)
    vb = (counts * cb * cb).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / np.sqrt(va * vb)


def logistic_weights(X: np.ndarray, y: np.ndarray, counts: np.ndarray,
                     start: LogitFits | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Logistic relative weights (Tonidandel and LeBreton 2010), one set per row of ``counts``.

    Logistic regression of the 0/1 outcome on the orthogonal counterparts
    Z = X_std L^-1 of the standardized drivers; coefficients standardized as
    Menard's b*_k = b_k sd(Z_k) R / sd(logit p_hat), R the correlation of the
    outcome with the fitted probabilities; raw_j = sum_k L_jk^2 b*_k^2, summing
    to R^2. The fit on Z has the same fitted probabilities as the fit on X, so
    it is done once on X: b = L S gamma (S the drivers' sds, gamma the slopes).

    Returns
    -------
    raw : (B, p) array
    r2 : (B,) array
        R^2 = corr(y, p_hat)^2 (NaN where the fit failed).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    centred = X - X.mean(axis=0)
    R = correlations(centred, counts)
    fits = logit_fits(X, y, counts, start)
    # failed resamples (a constant variable, no convergence) give inf/NaN here and are set to NaN below
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        L, _ = _sqrt_and_inverse(np.nan_to_num(R))
        total = counts.sum(axis=1)
        CT = np.ascontiguousarray(centred.T)
        mean = _weighted_sums(CT, counts) / total[:, None]
        var = _weighted_sums(CT ** 2, counts) / total[:, None] - mean ** 2
        b = (L @ (np.sqrt(np.clip(var, 0, None)) * fits.coef)[..., None])[..., 0]
        eta = fits.intercept[:, None] + fits.coef @ np.ascontiguousarray(X.T)
        r = _weighted_corr(expit(eta), y, counts)
        b_star2 = b ** 2 * (r ** 2 / (b ** 2).sum(axis=1))[:, None]
        raw = ((L ** 2) @ b_star2[..., None])[..., 0]
    bad = ~fits.converged | ~np.isfinite(R).all(axis=(1, 2)) | ~np.isfinite(raw).all(axis=1)
    raw[bad] = np.nan
    return raw, np.where(bad, np.nan, r ** 2)


def r_squared(R: np.ndarray, r: np.ndarray) -> np.ndarray:
    """R^2 of the OLS regression of the outcome on drivers with correlations ``R`` and ``r``: r' R^-1 r."""
    return np.einsum("...i,...i->...", r, np.linalg.solve(R, r[..., None])[..., 0])


def lmg(R: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """Exact LMG (Shapley) decomposition of R^2 over all 2^p subsets of drivers.

    lmg_j = sum over subsets S without j of |S|! (p - |S| - 1)! / p! x
    (R^2(S + j) - R^2(S)); the values sum to the full R^2. None when there are
    more than :data:`LMG_MAX_DRIVERS` drivers.
    """
    R = np.asarray(R, dtype=float)
    r = np.asarray(r, dtype=float)
    p = len(r)
    if p > LMG_MAX_DRIVERS:
        return None
    r2 = {0: 0.0}
    for size in range(1, p + 1):
        subsets = list(combinations(range(p), size))
        idx = np.array(subsets)
        sub_R = R[idx[:, :, None], idx[:, None, :]]
        values = r_squared(sub_R, r[idx])
        for s, v in zip(subsets, values):
            r2[sum(1 << k for k in s)] = float(v)
    out = np.zeros(p)
    for mask, value in r2.items():
        size = bin(mask).count("1")
        for j in range(p):
            if not mask >> j & 1:
                weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
                out[j] += weight * (r2[mask | 1 << j] - value)
    return out


def vif(R: np.ndarray) -> np.ndarray:
    """Variance inflation factors: the diagonal of R^-1."""
    return np.diag(np.linalg.inv(np.asarray(R, dtype=float))).copy()


def ranks(raw: np.ndarray) -> np.ndarray:
    """Rank of each driver along the last axis: 1 = largest; ties take the smallest rank."""
    raw = np.asarray(raw, dtype=float)
    return 1 + (raw[..., None, :] > raw[..., :, None]).sum(axis=-1)


