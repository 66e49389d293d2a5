"""Intervals for proportions."""
from __future__ import annotations

import numpy as np

from . import Z95
from .nps import UNDEFINED, Difference


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


def newcombe_difference(count_a: float, n_a: float, count_b: float, n_b: float) -> Difference:
    """Share a minus share b: Newcombe's hybrid score interval (method 10) and the pooled two-proportion z test.

    The interval is statsmodels' ``confint_proportions_2indep(..., method="newcomb")``
    (Wilson intervals of each share combined); ``p`` is from
    :func:`two_proportion_z`. Counts may be weighted (shares times effective n).
    Undefined (None) when a group is empty.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    if not (n_a > 0 and n_b > 0):
        return UNDEFINED
    low, high = confint_proportions_2indep(count_a, n_a, count_b, n_b, method="newcomb", compare="diff")
    z, p = two_proportion_z(count_a, n_a, count_b, n_b)
    return Difference(count_a / n_a - count_b / n_b, float(low), float(high), p, z)


def two_proportion_z(count_a: float, n_a: float, count_b: float, n_b: float) -> tuple[float | None, float | None]:
    """Pooled two-proportion z test of share a = share b, two-sided: (z, p).

    z = (p_a - p_b) / sqrt(p (1 - p) (1/n_a + 1/n_b)) with p the pooled share;
    (None, None) when a group is empty or the pooled share is 0 or 1 (no variation: no test).
    """
    from scipy import stats as sps
    if not (n_a > 0 and n_b > 0):
        return None, None
    pooled = (count_a + count_b) / (n_a + n_b)
    var = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if not var > 0:
        return None, None
    z = (count_a / n_a - count_b / n_b) / float(np.sqrt(var))
    return z, float(2 * sps.norm.sf(abs(z)))
