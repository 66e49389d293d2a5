"""Customer lifetime value: BG/NBD repeat purchasing and Gamma-Gamma spend, fitted by maximum likelihood.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while
alive a customer buys at rate lambda ~ Gamma(r, alpha); after each repeat purchase
they drop out with probability p ~ Beta(a, b). Gamma-Gamma (Fader, Hardie & Lee
2005, "RFM and CLV"): a customer's purchase amounts are Gamma(p, nu), nu ~
Gamma(q, gamma), independent of the purchase process.

Inputs are per-customer sufficient statistics in the model's time unit (weeks in
cxlab): ``x`` repeat purchases (purchase days after the first), ``tx`` time of the
last purchase since the first, ``T`` time from the first purchase to the end of
observation, ``m`` mean amount of the repeat purchases. Log-likelihoods are
vectorised, with the terms that depend on ``x`` only computed once per distinct
``x``; :func:`scipy.optimize.minimize` (BFGS with the analytic gradient)
fits the log-parameters, and a refit from a previous fit (a bootstrap
resample) takes Newton steps with that fit's curvature; standard errors come from the Hessian of the
log-likelihood (central differences of the analytic gradient) by the delta method.
Every fit takes optional ``weights`` (a customer-level bootstrap passes counts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

#: Largest gradient of the log-likelihood (in log-parameters) at which a fit counts as converged outright; above
#: it, the fit is accepted when the remaining Newton step is under 1% of each standard error.
GRAD_TOL = 1e-3
#: A Newton refit (:func:`_newton`) has converged when its next step is under this many standard errors in every
#: parameter (the bootstrap's spread is about one standard error).
NEWTON_TOL = 1e-4
#: Newton steps tried before a refit falls back to BFGS.
NEWTON_ITER = 30


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters by name, their standard errors, the log-likelihood and convergence."""

    params: dict[str, float]
    se: dict[str, float | None]
    loglik: float
    converged: bool
    n: int
    message: str = ""
    cov_log: np.ndarray | None = field(default=None, repr=False)

    def __getitem__(self, name: str) -> float:
        return self.params[name]


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Inner product without BLAS (a threaded BLAS call costs milliseconds on a busy machine; einsum does not)."""
    return float(np.einsum("i,i->", u, v))


def _unique_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ux, inv = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return ux, inv


def _weights(w: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n) if w is None else np.asarray(w, dtype=float)


class _BGNBD:
    """Negative log-likelihood of the BG/NBD and its gradient in log-parameters (r, alpha, a, b)."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray | None) -> None:
        self.x = np.asarray(x, dtype=float)
        self.tx = np.asarray(tx, dtype=float)
        self.T = np.asarray(T, dtype=float)
        self.w = _weights(w, len(self.x))
        self.ux, inv = _unique_x(self.x)
        self.wx = np.bincount(inv, self.w, minlength=len(self.ux))
        self.rep = self.x > 0
        self.xm1 = np.maximum(self.x, 1.0) - 1.0
        self.total = self.w.sum()

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        ux, wx, x, w = self.ux, self.wx, self.x, self.w
        # terms in x only (once per distinct x)
        lx = (gammaln(r + ux) - gammaln(r) + gammaln(b + ux) + gammaln(a + b) - gammaln(a + b + ux) - gammaln(b))
        la_T, la_tx = np.log(alpha + self.T), np.log(alpha + self.tx)
        d = np.where(self.rep, np.log(a) - np.log(b + self.xm1) + (r + x) * (la_T - la_tx), -np.inf)
        c = np.logaddexp(0.0, d)                       # log(1 + delta * exp(D)), 0 for x = 0
        ll = _dot(wx, lx) + self.total * r * np.log(alpha) + _dot(w, c - (r + x) * la_T)
        s = w * np.where(self.rep, np.exp(d - c), 0.0)  # weight * sigmoid(D) on repeaters
        g_r = _dot(wx, digamma(r + ux) - digamma(r)) + self.total * np.log(alpha) - _dot(w, la_T) + _dot(s, la_T - la_tx)
        g_alpha = (self.total * r / alpha - _dot(w, (r + x) / (alpha + self.T))
                   + _dot(s, (r + x) * (1.0 / (alpha + self.T) - 1.0 / (alpha + self.tx))))
        common = digamma(a + b) - digamma(a + b + ux)
        g_a = _dot(wx, common) + s.sum() / a
        g_b = _dot(wx, digamma(b + ux) - digamma(b) + common) - _dot(s, 1.0 / (b + self.xm1))
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -ll, -grad


class _GammaGamma:
    """Negative log-likelihood of the Gamma-Gamma model of mean spend and its gradient in log (p, q, gamma)."""

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray | None) -> None:
        self.x = np.asarray(x, dtype=float)
        self.m = np.asarray(m, dtype=float)
        self.w = _weights(w, len(self.x))
        self.ux, inv = _unique_x(self.x)
        self.wx = np.bincount(inv, self.w, minlength=len(self.ux))
        self.total = self.w.sum()
        self.log_m, self.log_x = np.log(self.m), np.log(self.x)
        self.wxlx = _dot(self.w, self.x * self.log_x)
        self.wxlm = _dot(self.w, self.x * self.log_m)
        self.wlm = _dot(self.w, self.log_m)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(theta)
        ux, wx, x, w = self.ux, self.wx, self.x, self.w
        lgm = np.log(g + self.m * x)
        lx = gammaln(p * ux + q) - gammaln(p * ux)
        ll = (_dot(wx, lx) + self.total * (q * np.log(g) - gammaln(q)) + p * (self.wxlm + self.wxlx)
              - self.wlm - _dot(w, (p * x + q) * lgm))
        g_p = _dot(wx, ux * (digamma(p * ux + q) - digamma(p * ux))) + self.wxlm + self.wxlx - _dot(w, x * lgm)
        g_q = _dot(wx, digamma(p * ux + q)) - self.total * digamma(q) + self.total * np.log(g) - _dot(w, lgm)
        g_g = self.total * q / g - _dot(w, (p * x + q) / (g + self.m * x))
        return -ll, -np.array([g_p * p, g_q * q, g_g * g])


def _newton(objective, theta: np.ndarray, hess_inv: np.ndarray, max_iter: int = NEWTON_ITER
            ) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Newton steps with a fixed curvature ``hess_inv`` (a previous fit's inverse Hessian), halved while the
    objective does not fall; the optimum once a step is under :data:`NEWTON_TOL` standard errors in every
    parameter, or None (no such step within ``max_iter`` steps, or a step that cannot lower the objective).

    A bootstrap refit starts at the full-data optimum with the full-data curvature: the resample's optimum is
    about one standard error away and its curvature close, so a few steps (one likelihood each) reach it.
    """
    se = np.sqrt(np.diag(hess_inv))
    f, g = objective(theta)
    if not (np.isfinite(f) and np.all(np.isfinite(g))):
        return None
    for _ in range(max_iter):
        step = np.einsum("ij,j->i", hess_inv, g)      # no BLAS: its threads cost more than 4x4
        if np.all(np.abs(step) < NEWTON_TOL * se):
            return theta, f, g
        t = 1.0
        while True:
            cand = theta - t * step
            fc, gc = objective(cand)
            if np.isfinite(fc) and np.all(np.isfinite(gc)) and fc <= f:
                break
            t /= 2
            if t < 1e-3:
                return None
        theta, f, g = cand, fc, gc
    return None


def _fit(objective, names: tuple[str, ...], start: np.ndarray, n: int, with_se: bool,
         hess_inv0: np.ndarray | None = None) -> Fit:
    if hess_inv0 is not None and not with_se:      # a refit near a previous fit: Newton with its curvature
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            found = _newton(objective, start, hess_inv0)
        if found is not None:
            theta, f, _ = found
            diverged = bool(np.any(np.abs(theta) > 25.0))
            return Fit(dict(zip(names, np.exp(theta).tolist())), dict.fromkeys(names), float(-f), not diverged, n,
                       "Newton steps with the previous fit's curvature")
    # BFGS on log-parameters (unbounded); scipy's L-BFGS-B costs ~10 ms per call on top of the likelihood
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        options = {"maxiter": 2000, "gtol": 1e-7 if with_se else 1e-5}
        if hess_inv0 is not None:    # a refit near a previous fit starts from its curvature: a few steps suffice
            options["hess_inv0"] = hess_inv0
        res = minimize(objective, start, jac=True, method="BFGS", options=options)
    theta = res.x
    grad = np.asarray(res.jac, dtype=float)
    ok = bool(np.isfinite(res.fun) and np.all(np.isfinite(theta)) and np.all(np.isfinite(grad)))
    params = dict(zip(names, np.exp(theta).tolist()))
    se: dict[str, float | None] = dict.fromkeys(names)
    cov = None
    if with_se:
        cov = _cov_log(objective, theta)
        if cov is not None:
            se = {k: float(v * math.sqrt(c)) if c > 0 else None
                  for k, v, c in zip(names, np.exp(theta), np.diag(cov))}
    curvature = cov if cov is not None else hess_inv0
    if ok and np.abs(grad).max() >= GRAD_TOL:
        # BFGS may stop on "precision loss" a hair from the optimum of a large sample's likelihood: accept the
        # fit when the step the gradient still asks for is under 1% of each parameter's standard error
        step = np.abs(curvature @ grad) if curvature is not None else np.full(len(grad), np.inf)
        ok = curvature is not None and bool(np.all(step < 0.01 * np.sqrt(np.diag(curvature))))
    diverged = bool(np.any(np.abs(theta) > 25.0))       # a parameter running off to 0 or infinity (a and b of
    # the BG/NBD may grow together to millions: drop-out the same for everyone, a proper limit of the model)
    return Fit(params, se, float(-res.fun), ok and not diverged, n, str(res.message), cov)


def _cov_log(objective, theta: np.ndarray) -> np.ndarray | None:
    """Inverse Hessian of the negative log-likelihood in log-parameters (central differences of the gradient)."""
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        e = np.zeros(k)
        e[j] = h
        hess[:, j] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * h)
    hess = (hess + hess.T) / 2
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return None
    cov = (cov + cov.T) / 2                            # exactly symmetric (BFGS checks before taking it as a start)
    return cov if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0) else None


def fit_bgnbd(x: np.ndarray, tx: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None,
              start: "dict[str, float] | Fit | None" = None, with_se: bool = True) -> Fit:
    """Maximum-likelihood BG/NBD (parameters ``r``, ``alpha``, ``a``, ``b``).

    Parameters
    ----------
    x, tx, T : array
        Repeat purchases, time of the last purchase and age of each customer (since the first purchase).
    weights : array, optional
        Customer weights (counts of a bootstrap resample); None for one each.
    start : dict or Fit, optional
        Starting values; a :class:`Fit` also gives its curvature (a bootstrap starts from the full-data fit).
    with_se : bool
        Compute standard errors (skipped in bootstrap refits).
    """
    objective = _BGNBD(x, tx, T, weights)
    guess, h0 = _start(start, {"r": 1.0, "alpha": max(float(np.mean(T)), 1e-3), "a": 1.0, "b": 1.0})
    theta0 = np.log([guess["r"], guess["alpha"], guess["a"], guess["b"]])
    return _fit(objective, ("r", "alpha", "a", "b"), theta0, len(objective.x), with_se, h0)


def _start(start: "dict[str, float] | Fit | None", default: dict[str, float]
           ) -> tuple[dict[str, float], np.ndarray | None]:
    if isinstance(start, Fit):
        try:
            np.linalg.cholesky(start.cov_log)          # BFGS takes a positive definite start only
            return start.params, start.cov_log
        except (np.linalg.LinAlgError, ValueError, TypeError):
            return start.params, None
    return (start or default), None


def bgnbd_loglik(params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> float:
    """Total BG/NBD log-likelihood at ``params`` (for tests and model comparison)."""
    theta = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    return -float(_BGNBD(x, tx, T, None)(theta)[0])


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray, weights: np.ndarray | None = None,
                    start: "dict[str, float] | Fit | None" = None, with_se: bool = True) -> Fit:
    """Maximum-likelihood Gamma-Gamma model of mean spend (parameters ``p``, ``q``, ``gamma``) on repeaters.

    ``x`` (> 0) repeat purchases and ``m`` (> 0) their mean amount per customer.
    """
    objective = _GammaGamma(x, m, weights)
    guess, h0 = _start(start, {"p": 1.0, "q": 2.0, "gamma": max(float(np.mean(m)), 1e-3)})
    theta0 = np.log([guess["p"], guess["q"], guess["gamma"]])
    return _fit(objective, ("p", "q", "gamma"), theta0, len(objective.x), with_se, h0)


def p_alive(params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Probability that a customer with history (x, tx, T) is still alive (1 for x = 0)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x = np.asarray(x, dtype=float)
    d = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + np.asarray(T)) -
                                                                   np.log(alpha + np.asarray(tx)))
    return np.where(x > 0, np.exp(-np.logaddexp(0.0, d)), 1.0)


def purchases_if_alive(params: dict[str, float], t: float | np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]:
    expected purchases in (T, T+t] of a customer alive at T (depends on x and T, not on tx)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    z = t / (alpha + T + t)
    head = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return (a + b + x - 1) / (a - 1) * (1 - head * hyp2f1(r + x, b + x, a + b + x - 1, z))


def expected_transactions(params: dict[str, float], t: float, x: np.ndarray, tx: np.ndarray,
                          T: np.ndarray) -> np.ndarray:
    """E[Y(t) | x, tx, T]: expected repeat purchases in the next ``t`` (eq. 10 of Fader, Hardie & Lee 2005)."""
    return p_alive(params, x, tx, T) * purchases_if_alive(params, t, x, T)


def expected_spend(params: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[Z | x, m]: conditional expected amount per purchase (the population mean p gamma / (q - 1) for x = 0).

    Needs ``q`` > 1 (else the mean spend is infinite: NaN here).
    """
    p, q, g = params["p"], params["q"], params["gamma"]
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, np.asarray(m, dtype=float), 0.0)
    if q <= 1:
        return np.full(x.shape, np.nan)
    return p * (g + m * x) / (p * x + q - 1)


def spend_frequency_correlation(x: np.ndarray, m: np.ndarray) -> tuple[float | None, float | None, int]:
    """Pearson correlation of repeat purchases and mean spend among repeaters, its p-value and n.

    The Gamma-Gamma model assumes spend independent of frequency; a significant
    correlation says the assumption fails in these data.
    """
    from scipy.stats import pearsonr
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    keep = x > 0
    n = int(keep.sum())
    if n < 3 or np.ptp(x[keep]) == 0 or np.ptp(m[keep]) == 0:
        return None, None, n
    res = pearsonr(x[keep], m[keep])
    return float(res.statistic), float(res.pvalue), n
