"""The percentile bootstrap of relative weights (DESIGN 5.5), with why each failed resample failed.

- :func:`bootstrap`: raw weights and R^2 of many resamples at once, vectorised
  (resamples are multinomial counts, used as frequency weights, processed in
  blocks), each failed resample with its reason (:data:`FAILURES`;
  :func:`separated` tells separation in a logistic fit);
- :func:`percentile_interval`: the 95% percentile interval of the draws.

The weights themselves are :mod:`cxlab.stats.relimp`'s estimators.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import linprog

from .relimp import _products, correlations, johnson, logistic_weights, logit_fits

log = logging.getLogger(__name__)

_BLOCK_CELLS = 8_000_000
"""Resamples are processed in blocks of about this many (resample, row) cells (64 MB of float64)."""
FAILURES = ("outcome_constant", "driver_constant", "drivers_collinear", "separation", "not_converged")
"""Why a bootstrap resample has no weights, in the order they are checked: the outcome (or, yes/no, one of
its values) is missing from the resample; a driver does not vary in it; the drivers are collinear in it;
the drivers separate the yes/no outcome (the logistic fit has no finite estimate); the fit did not converge
for another reason."""


def percentile_interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5th and 97.5th percentiles along axis 0 (numpy's linear interpolation) over finite rows."""
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
    if not keep.any():
        nan = np.full(values.shape[1:], np.nan)
        return nan, nan
    low, high = np.percentile(values[keep], [2.5, 97.5], axis=0)
    return low, high


def _counts(rng: np.random.Generator, weight: np.ndarray, size: int) -> np.ndarray:
    """``size`` bootstrap resamples as float counts per row (size x n).

    Unit weights: n rows drawn uniformly with replacement. Frequency weights:
    round(sum w) rows drawn with probabilities proportional to w (multinomial).
    """
    n = len(weight)
    if np.all(weight == 1):
        idx = rng.integers(0, n, size=(size, n), dtype=np.int64 if n >= 2**31 else np.int32)
        idx += (np.arange(size, dtype=idx.dtype) * n)[:, None]
        return np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(float)
    return rng.multinomial(int(round(weight.sum())), weight / weight.sum(), size=size).astype(float)


def separated(X: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None) -> bool:
    """True when the drivers separate the 0/1 outcome completely or quasi-completely.

    Then the logistic maximum-likelihood estimate does not exist (Albert and
    Anderson 1984). Checked by the linear programme of Konis (2007), as R's
    ``detectseparation`` does: with s_i = 2 y_i - 1 and x_i the row with an
    intercept, the data are separated exactly when some b in [-1, 1]^(p+1)
    has s_i x_i'b >= 0 for every row and sum_i s_i x_i'b > 0 (scipy's HiGHS
    solver; rows of zero ``counts`` are left out, identical rows counted once).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if counts is not None:
        keep = np.asarray(counts) > 0
        X, y = X[keep], y[keep]
    if len(np.unique(y)) < 2:
        return True
    sd = X.std(axis=0)
    Xs = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    rows = np.unique(np.column_stack([Xs, y]), axis=0)
    A = np.column_stack([np.ones(len(rows)), rows[:, :-1]]) * (2 * rows[:, -1] - 1)[:, None]
    res = linprog(-A.sum(axis=0), A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1, 1)] * A.shape[1],
                  method="highs")
    return bool(res.status == 0 and -res.fun > 1e-7 * len(A))


@dataclass
class BootstrapDraws:
    """Bootstrap resamples of the relative weights (:func:`bootstrap`).

    Attributes
    ----------
    raw : (resamples, p) array
        Raw weights; NaN rows for resamples that failed.
    r2 : (resamples,) array
    reason : (resamples,) array of str
        "" for a computed resample, else one of :data:`FAILURES`.
    """

    raw: np.ndarray
    r2: np.ndarray
    reason: np.ndarray

    def failures(self) -> dict[str, int]:
        """How many resamples failed for each reason of :data:`FAILURES` (every reason, zeros included)."""
        return {name: int((self.reason == name).sum()) for name in FAILURES}


def _reasons(C: np.ndarray, raw: np.ndarray, p: int, separation: Callable[[int], bool] | None) -> np.ndarray:
    """The :data:`FAILURES` reason of each resample of a block (``C``: correlations of drivers and outcome)."""
    reason = np.full(len(raw), "", dtype=object)
    with np.errstate(invalid="ignore"):
        diag = np.diagonal(C, axis1=1, axis2=2)
    for b in np.flatnonzero(~np.isfinite(raw).all(axis=1)):
        if not np.isfinite(diag[b, p]):
            reason[b] = "outcome_constant"
        elif not np.isfinite(diag[b, :p]).all():
            reason[b] = "driver_constant"
        elif np.linalg.eigvalsh(C[b, :p, :p])[0] < 1e-10:
            reason[b] = "drivers_collinear"
        elif separation is not None and separation(b):
            reason[b] = "separation"
        else:
            reason[b] = "not_converged"
    return reason


def bootstrap(X: np.ndarray, y: np.ndarray, weight: np.ndarray, binary: bool, resamples: int,
              seed: int) -> BootstrapDraws:
    """Raw weights and R^2 of ``resamples`` bootstrap resamples of the rows (vectorised).

    Each resample draws sum(weight) rows (rounded) with probabilities
    proportional to the frequency weights, as counts; weighted moments give the
    correlation matrices of every resample at once, and batched
    eigendecompositions the weights. Resamples in which a variable does not
    vary (or a logistic fit fails) give NaN rows, with the reason in
    :attr:`BootstrapDraws.reason`.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.asarray(weight, dtype=float)
    n, p = X.shape
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, _BLOCK_CELLS // max(n, 1)))
    raws, r2s, reasons = [], [], []
    if binary:
        full_fit = logit_fits(X, y, w[None, :])
    V = np.column_stack([X, y])
    V = V - np.average(V, axis=0, weights=w)
    Q = _products(V)
    for start in range(0, resamples, block):
        counts = _counts(rng, w, min(block, resamples - start))
        if binary:
            raw, r2 = logistic_weights(X, y, counts, full_fit)
            reason = np.full(len(raw), "", dtype=object)
            bad = np.flatnonzero(~np.isfinite(raw).all(axis=1))
            if len(bad):
                reason[bad] = _reasons(correlations(V, counts[bad], Q), raw[bad], p,
                                       lambda b: separated(X, y, counts[bad[b]]))
            reasons.append(reason)
        else:
            C = correlations(V, counts, Q)
            ok = np.isfinite(C).all(axis=(1, 2))
            raw = np.full((len(C), p), np.nan)
            r2 = np.full(len(C), np.nan)
            if ok.any():
                Rxx, rxy = C[ok, :p, :p], C[ok, :p, p]
                raw[ok] = johnson(Rxx, rxy)
                r2[ok] = raw[ok].sum(axis=1)
            reasons.append(_reasons(C, raw, p, None))
        raws.append(raw)
        r2s.append(r2)
    draws = BootstrapDraws(np.concatenate(raws), np.concatenate(r2s), np.concatenate(reasons))
    log.info("bootstrap: %d resamples of %d rows x %d drivers, failures %s", resamples, n, p, draws.failures())
    return draws
