"""Why a score moved: the mix decomposition of a change, and the change within a fixed cohort."""
from __future__ import annotations

import numpy as np
from scipy import stats as sps


def mix_decomposition(share_from: np.ndarray, share_to: np.ndarray, score_from: np.ndarray,
                      score_to: np.ndarray) -> tuple[float, float, float]:
    """Kitagawa's (1955) symmetric split of the change of a share-weighted score: (change, mix, within).

    change = sum_s share1_s score1_s - sum_s share0_s score0_s
           = sum_s (share1_s - share0_s) (score0_s + score1_s) / 2    [mix: who answered]
           + sum_s (share0_s + share1_s) / 2 (score1_s - score0_s)    [within: change inside segments]
    Each part is weighted by the average of the two waves, so neither wave is the
    reference; the two parts add up to the change exactly.
    """
    s0, s1 = np.asarray(share_from, float), np.asarray(share_to, float)
    v0, v1 = np.asarray(score_from, float), np.asarray(score_to, float)
    mix = float(np.sum((s1 - s0) * (v0 + v1) / 2))
    within = float(np.sum((s0 + s1) / 2 * (v1 - v0)))
    return float(np.sum(s1 * v1) - np.sum(s0 * v0)), mix, within


SCORES = np.array([1.0, 0.0, -1.0])
"""Category scores of promoters, passives and detractors: NPS is their weighted mean."""


def mix_standard_errors(weight_from: np.ndarray, square_from: np.ndarray, weight_to: np.ndarray,
                        square_to: np.ndarray, factor_from: float = 1.0,
                        factor_to: float = 1.0) -> tuple[float | None, float | None]:
    """Linearised (delta-method) standard errors of the mix and within parts of an NPS change: (mix, within).

    The two waves are independent samples. Within a wave, the shares of the
    levels and each level's NPS are ratios of weighted sums, so each part is a
    smooth function of the wave's weighted shares of level x category; its
    Taylor linearisation gives each respondent (level l, category score c) the
    influence value, with m_l = (v0_l + v1_l) / 2, a_l = (s0_l + s1_l) / 2 and
    D_l = v1_l - v0_l (s the shares, v the level NPS):

    - mix, first wave: -(m_l - sum s0 m) + (s1_l - s0_l) / (2 s0_l) (c - v0_l);
      last wave: (m_l - sum s1 m) + (s1_l - s0_l) / (2 s1_l) (c - v1_l);
    - within, first wave: (D_l - sum s0 D) / 2 - a_l / s0_l (c - v0_l);
      last wave: (D_l - sum s1 D) / 2 + a_l / s1_l (c - v1_l);

    and var = sum over waves of factor x sum_i (w_i u_i)^2 / (sum_i w_i)^2, the
    with-replacement design variance of R ``survey`` (``svydesign(ids = ~1,
    strata = ~wave, weights = ~w)``, whose factor is n / (n - 1) per wave).

    Parameters
    ----------
    weight_from, weight_to : array (levels x 3)
        Sums of weights (counts without weights) of promoters, passives and
        detractors per level, in the first and the last wave; every level must
        have some weight in both waves.
    square_from, square_to : array (levels x 3)
        The sums whose weighted squares give the variance: the sums of squared
        weights for sampling weights, the same as ``weight_*`` for counts and
        frequency weights.
    factor_from, factor_to : float
        Finite-sample factors: n / (n - 1) (n the rows of the wave) for sampling
        weights as R ``survey`` uses, 1 for counts (the multinomial variance).

    Returns
    -------
    tuple of float or None
        The two standard errors; None where the variance is not finite (a factor
        for a wave of one row, or weights so small that their sums underflow).
    """
    w0, w1 = np.asarray(weight_from, float), np.asarray(weight_to, float)
    q0, q1 = np.asarray(square_from, float), np.asarray(square_to, float)
    if w0.shape != w1.shape or w0.ndim != 2 or w0.shape[1] != 3 or q0.shape != w0.shape or q1.shape != w1.shape:
        raise ValueError("weights and squares must be arrays of levels x 3 (promoters, passives, detractors)")
    if not ((w0.sum(axis=1) > 0).all() and (w1.sum(axis=1) > 0).all()):
        raise ValueError("every level needs some weight in both waves")
    t0, t1 = w0.sum(), w1.sum()
    s0, s1 = w0.sum(axis=1) / t0, w1.sum(axis=1) / t1
    v0, v1 = (w0 @ SCORES) / w0.sum(axis=1), (w1 @ SCORES) / w1.sum(axis=1)
    m, a, dv = (v0 + v1) / 2, (s0 + s1) / 2, v1 - v0
    dev0, dev1 = SCORES[None, :] - v0[:, None], SCORES[None, :] - v1[:, None]
    mix0 = -(m - s0 @ m)[:, None] + ((s1 - s0) / (2 * s0))[:, None] * dev0
    mix1 = (m - s1 @ m)[:, None] + ((s1 - s0) / (2 * s1))[:, None] * dev1
    within0 = ((dv - s0 @ dv) / 2)[:, None] - (a / s0)[:, None] * dev0
    within1 = ((dv - s1 @ dv) / 2)[:, None] + (a / s1)[:, None] * dev1

    def se(u0: np.ndarray, u1: np.ndarray) -> float | None:
        with np.errstate(all="ignore"):   # weights so small that their sums underflow: no variance
            var = factor_from * np.sum(q0 * u0 ** 2) / t0 ** 2 + factor_to * np.sum(q1 * u1 ** 2) / t1 ** 2
        return float(np.sqrt(var)) if np.isfinite(var) else None

    return se(mix0, mix1), se(within0, within1)


def paired_change(first: np.ndarray, last: np.ndarray, level: float = 0.95, counts: np.ndarray | None = None
                  ) -> tuple[float | None, float | None, float | None, float | None]:
    """Mean of ``last - first`` over pairs, with its t interval and one-sample t test: (change, low, high, p).

    ``counts``: how many pairs each (``first``, ``last``) stands for (default 1 each).
    None for the interval and p with fewer than two pairs; with no spread the
    interval is the point and p is None.
    """
    d = np.asarray(last, float) - np.asarray(first, float)
    w = np.ones(len(d)) if counts is None else np.asarray(counts, float)
    n = float(w.sum())
    if n == 0:
        return None, None, None, None
    change = float(w @ d / n)
    if n < 2:
        return change, None, None, None
    if np.ptp(d[w > 0]) == 0:                  # no spread (exactly: the weighted mean may round off d)
        change = float(d[w > 0][0])
        return change, change, change, None
    se = float(np.sqrt(w @ (d - change) ** 2 / (n - 1) / n))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * se
    p = float(2 * sps.t.sf(abs(change / se), n - 1))
    return change, change - half, change + half, p
