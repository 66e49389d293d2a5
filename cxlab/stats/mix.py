"""Why a score moved: the mix decomposition of a change, and the change within a fixed cohort."""
from __future__ import annotations

import numpy as np
from scipy import stats as sps


def mix_decomposition(share_from: np.ndarray, share_to: np.ndarray, score_from: np.ndarray,
                      score_to: np.ndarray) -> tuple[float, float, float]:
    """Split the change of a share-weighted score into mix and within parts: (change, mix, within).

    change = sum_s share1_s score1_s - sum_s share0_s score0_s
           = sum_s (share1_s - share0_s) score0_s    [mix: who answered]
           + sum_s share1_s (score1_s - score0_s)     [within: change inside segments]
    The two parts add up to the change exactly (shares of each side sum to 1).
    """
    s0, s1 = np.asarray(share_from, float), np.asarray(share_to, float)
    v0, v1 = np.asarray(score_from, float), np.asarray(score_to, float)
    mix = float(np.sum((s1 - s0) * v0))
    within = float(np.sum(s1 * (v1 - v0)))
    return float(np.sum(s1 * v1) - np.sum(s0 * v0)), mix, within


def paired_change(first: np.ndarray, last: np.ndarray,
                  level: float = 0.95) -> tuple[float | None, float | None, float | None, float | None]:
    """Mean of ``last - first`` over pairs, with its t interval and one-sample t test: (change, low, high, p).

    None for the interval and p with fewer than two pairs; with no spread the
    interval is the point and p is None.
    """
    d = np.asarray(last, float) - np.asarray(first, float)
    if len(d) == 0:
        return None, None, None, None
    change = float(d.mean())
    if len(d) < 2:
        return change, None, None, None
    se = float(d.std(ddof=1)) / np.sqrt(len(d))
    if se == 0:
        return change, change, change, None
    half = float(sps.t.ppf(0.5 + level / 2, len(d) - 1)) * se
    p = float(2 * sps.t.sf(abs(change / se), len(d) - 1))
    return change, change - half, change + half, p
