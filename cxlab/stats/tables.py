"""Tests on contingency tables: Pearson chi-square, Cochran-Armitage trend, and far-tail p-values."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps


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


MC_RESAMPLES = 9999
PERMUTE_MAX_N = 1000
"""Tables up to this many observations are permuted row by row (scipy ``PermutationMethod``); larger ones
draw random tables with the same margins (``MonteCarloMethod``, Patefield's algorithm), the same null
distribution at a fraction of the cost (a 4,000-row table takes about 10 s to permute 9,999 times)."""


def small_expected(table: np.ndarray) -> bool:
    """True when an expected count of the table (rows and columns with a total of 0 left out) is below 5."""
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.size == 0 or t.sum() <= 0:
        return False
    return bool((np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum() < 5).any())


def chi2_monte_carlo_p(table: np.ndarray, resamples: int = MC_RESAMPLES, seed: int = 0) -> float | None:
    """Monte Carlo permutation p-value of Pearson's chi-square test of independence.

    scipy's ``chi2_contingency(table, correction=False, method=PermutationMethod(n_resamples=resamples,
    random_state=seed))``, which permutes one variable against the other; above
    :data:`PERMUTE_MAX_N` observations, ``MonteCarloMethod(n_resamples=resamples, rng=seed)``, which draws
    tables with the observed margins (the permutation distribution) directly. None when the table has
    fewer than two non-empty rows or columns or non-integer counts.
    """
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2 or not np.all(t == np.round(t)):
        return None
    t = t.astype(np.int64)
    if t.sum() <= PERMUTE_MAX_N:
        method = sps.PermutationMethod(n_resamples=resamples, random_state=seed)
    else:
        method = sps.MonteCarloMethod(n_resamples=resamples, rng=seed)
    return float(sps.chi2_contingency(t, correction=False, method=method).pvalue)
