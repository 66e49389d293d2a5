"""Intervals for proportions."""
from __future__ import annotations

import numpy as np

from . import Z95


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
