"""Means with Student-t intervals, from weighted sums (so a million rows cost one pass)."""
from __future__ import annotations

import math

from scipy import stats as sps


def mean_t_interval(sum_w: float, sum_wx: float, sum_wx2: float, n: float,
                    level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """Weighted mean and its t interval: (mean, low, high).

    Parameters
    ----------
    sum_w, sum_wx, sum_wx2 : float
        Sums of the weights, of weight x value and of weight x value^2.
    n : float
        The sample size the interval uses: the row count (no weights), the sum of
        frequency weights, or Kish's effective n (sampling weights).

    Notes
    -----
    s^2 = (sum_wx2 / sum_w - mean^2) n / (n - 1), standard error sqrt(s^2 / n),
    t quantile on n - 1 degrees of freedom. Without weights this is the usual
    one-sample t interval; with frequency weights, that of the expanded data.
    The interval is None with fewer than two responses.
    """
    if not sum_w > 0:
        return None, None, None
    mean = sum_wx / sum_w
    if not n > 1:
        return mean, None, None
    var = max(sum_wx2 / sum_w - mean * mean, 0.0) * n / (n - 1)
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * math.sqrt(var / n)
    return mean, mean - half, mean + half
