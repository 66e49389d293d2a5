"""Discounted customer lifetime value over a horizon, from fitted BG/NBD and Gamma-Gamma parameters.

CLV = margin x E[spend] x P(alive) x sum over months k of E[purchases in month k] / (1 + d)^(k/12); the
models and their fits are in :mod:`cxlab.stats.clv`. Expected purchases depend on a customer's (x, T) only,
so they are evaluated once per distinct pair, and for frequent x interpolated in log(alpha + T).
"""
from __future__ import annotations

import numpy as np

from .clv import expected_spend, p_alive, purchases_if_alive

#: Days in a month (a year of 365.25 days over 12): the CLV horizon and discounting count these months.
MONTH_DAYS = 365.25 / 12
#: Chebyshev points in log(alpha + T) at which :func:`discounted_purchases` evaluates the discounted purchases of a
#: frequent x before interpolating, the pairs it checks the interpolant at, and the largest difference it accepts
#: (relative to the largest value).
CHEB_NODES = 32
CHEB_CHECKS = 64
CHEB_TOL = 1e-11


def discount_factors(horizon: int, discount_rate: float) -> np.ndarray:
    """1 / (1 + d)^(k/12) for months k = 1..horizon (an annual rate applied monthly)."""
    k = np.arange(1, int(horizon) + 1)
    return (1.0 + discount_rate) ** (-k / 12.0)


def purchase_pairs(x: np.ndarray, T: np.ndarray, unit_days: float = 7.0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, T) pairs of the customers and each customer's pair: ``(px, pT, inverse)``.

    Expected future purchases of a customer alive at T depend on (x, T) only; T is a whole number of days in the
    study's data, so many customers share a pair (a T not in whole days makes every customer its own pair).
    """
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    if len(x) == 0:
        return x, T, np.zeros(0, np.int64)
    days = np.round(T * unit_days).astype(np.int64)
    if np.abs(days - T * unit_days).max() > 1e-6:
        return x, T, np.arange(len(x))
    width = days.max() + 1
    keys, inv = np.unique(x.astype(np.int64) * width + days, return_inverse=True)
    return (keys // width).astype(float), (keys % width) / unit_days, inv.ravel()


def _discounted_direct(params: dict[str, float], horizon: int, discount_rate: float, x: np.ndarray,
                       T: np.ndarray, unit_days: float) -> np.ndarray:
    month = MONTH_DAYS / unit_days
    if discount_rate == 0:                         # the undiscounted sum telescopes to the whole horizon
        return purchases_if_alive(params, horizon * month, x, T)
    t = np.arange(1, int(horizon) + 1) * month
    per_month = np.diff(purchases_if_alive(params, t[None, :], x[:, None], T[:, None]), axis=1, prepend=0.0)
    return np.einsum("ij,j->i", per_month, discount_factors(horizon, discount_rate))


def _barycentric(s: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Barycentric interpolation matrix (len(s) x len(nodes)) at Chebyshev points of the second kind."""
    w = (-1.0) ** np.arange(len(nodes))
    w[[0, -1]] /= 2
    diff = s[:, None] - nodes[None, :]
    hit = diff == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        L = w / diff
        L /= L.sum(axis=1, keepdims=True)
    rows = hit.any(axis=1)
    L[rows] = hit[rows].astype(float)
    return L


def discounted_purchases(params: dict[str, float], horizon: int, discount_rate: float, x: np.ndarray,
                         T: np.ndarray, unit_days: float = 7.0) -> np.ndarray:
    """Sum over months k = 1..horizon of the expected purchases in month k of a customer alive at T, discounted
    by 1 / (1 + d)^(k/12) (multiply by P(alive) for the customer's expected discounted purchases).

    Direct evaluation costs ``horizon`` Gauss hypergeometric functions per (x, T). For values of x with more
    than :data:`CHEB_NODES` distinct T, the sum is evaluated at Chebyshev points in log(alpha + T) and
    interpolated (barycentric formula): it is analytic in log(alpha + T), so the interpolant converges
    geometrically. The interpolant is checked against the direct sum at up to :data:`CHEB_CHECKS` of the
    (x, T) pairs it serves; if any differs by more than :data:`CHEB_TOL` of the largest value, every pair is
    evaluated directly.
    """
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    if horizon <= 0 or len(x) == 0:
        return np.zeros(len(x))
    ux, xi = np.unique(x, return_inverse=True)
    dense = np.bincount(xi, minlength=len(ux)) > CHEB_NODES          # x values with many distinct T
    served = dense[xi]
    if discount_rate == 0 or served.sum() < 2 * CHEB_NODES * max(int(dense.sum()), 1):
        return _discounted_direct(params, horizon, discount_rate, x, T, unit_days)
    out = np.empty(len(x))
    if (~served).any():
        out[~served] = _discounted_direct(params, horizon, discount_rate, x[~served], T[~served], unit_days)
    alpha = params["alpha"]
    s = np.log(alpha + T[served])
    lo, hi = s.min(), s.max()
    nodes = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * np.arange(CHEB_NODES) / (CHEB_NODES - 1))
    dx = ux[dense]
    at_nodes = _discounted_direct(params, horizon, discount_rate, np.repeat(dx, CHEB_NODES),
                                  np.tile(np.exp(nodes) - alpha, len(dx)), unit_days).reshape(len(dx), CHEB_NODES)
    row = np.searchsorted(dx, x[served])
    value = np.einsum("ij,ij->i", _barycentric(s, nodes), at_nodes[row])
    check = np.unique(np.linspace(0, len(value) - 1, min(CHEB_CHECKS, len(value))).astype(np.int64))
    direct = _discounted_direct(params, horizon, discount_rate, x[served][check], T[served][check], unit_days)
    scale = max(float(np.abs(at_nodes).max()), 1e-300)
    if not np.all(np.abs(value[check] - direct) <= CHEB_TOL * scale):
        return _discounted_direct(params, horizon, discount_rate, x, T, unit_days)
    out[served] = value
    return out


def clv(bgnbd: dict[str, float], gamma_gamma: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray,
        m: np.ndarray, horizon: int, discount_rate: float, margin: float, unit_days: float = 7.0) -> np.ndarray:
    """Discounted customer lifetime value over ``horizon`` months, per customer.

    CLV = margin x E[spend] x sum over months k of E[purchases in month k] / (1 + d)^(k/12),
    ``d`` the annual ``discount_rate``, a month being 365.25/12 days. With ``discount_rate`` 0 it is
    margin x E[spend] x E[Y(horizon)]; with ``horizon`` 0 it is 0. The purchases are evaluated once per
    distinct (x, T) pair (:func:`purchase_pairs`), which keeps 100,000 customers over 36 months near 0.3 s.
    """
    px, pT, inv = purchase_pairs(x, T, unit_days)
    per_pair = discounted_purchases(bgnbd, horizon, discount_rate, px, pT, unit_days)
    return margin * expected_spend(gamma_gamma, x, m) * p_alive(bgnbd, x, tx, T) * per_pair[inv]


def mean_clv(bgnbd: dict[str, float], gamma_gamma: dict[str, float], x: np.ndarray, tx: np.ndarray,
             T: np.ndarray, m: np.ndarray, weights: np.ndarray, pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
             horizon: int, discount_rate: float, margin: float, unit_days: float = 7.0) -> float:
    """The ``weights``-weighted mean of :func:`clv` (a bootstrap resample's mean: weights are the times each
    customer was drawn), with the purchases evaluated only for the pairs of customers of positive weight.

    ``pairs`` is :func:`purchase_pairs` of (x, T), computed once for all resamples.
    """
    w = np.asarray(weights, dtype=float)
    px, pT, inv = pairs
    per_customer = w * expected_spend(gamma_gamma, x, m) * p_alive(bgnbd, x, tx, T)
    per_customer[w == 0] = 0.0
    by_pair = np.bincount(inv, per_customer, minlength=len(px))
    used = by_pair != 0
    total = np.einsum("i,i->", by_pair[used],
                      discounted_purchases(bgnbd, horizon, discount_rate, px[used], pT[used], unit_days))
    return float(margin * total / w.sum())
