"""Synthetic survey responses for the key-drivers study, with known population relative weights."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ..stats.relimp import johnson, lmg

DRIVERS = ("product_quality", "value_for_money", "support", "delivery", "website", "billing")
BETA = np.array([0.40, 0.12, 0.30, 0.25, 0.0, 0.05])   # relative standardized coefficients, scaled to R2
R2 = 0.45
MEANS = np.array([7.1, 5.2, 5.6, 7.0, 6.9, 5.9])        # driver means on the 0-10 scale
SD = 0.75


def _correlation() -> np.ndarray:
    R = np.full((6, 6), 0.3)
    np.fill_diagonal(R, 1.0)
    for a, b, v in ((0, 1, 0.6), (2, 5, 0.5), (3, 4, 0.7), (0, 2, 0.4)):
        R[a, b] = R[b, a] = v
    return R


CORRELATION = _correlation()


def _truth() -> dict[str, object]:
    beta = BETA * np.sqrt(R2 / (BETA @ CORRELATION @ BETA))
    r = CORRELATION @ beta
    raw = johnson(CORRELATION, r)
    shapley = lmg(CORRELATION, r)
    return {"r2": R2, "beta": dict(zip(DRIVERS, beta.tolist())), "r": dict(zip(DRIVERS, r.tolist())),
            "raw": dict(zip(DRIVERS, raw.tolist())), "share": dict(zip(DRIVERS, (raw / raw.sum()).tolist())),
            "lmg_share": dict(zip(DRIVERS, (shapley / shapley.sum()).tolist())),
            "performance": dict(zip(DRIVERS, (MEANS * 10).tolist()))}


TRUTH = _truth()


def drivers(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Survey responses: six correlated experience ratings, overall satisfaction and would-recommend.

    Ground truth. The six driver scores (0-10 index scores, each the mean of a
    few items) are multivariate normal with sd 0.75, means 7.1, 5.2, 5.6, 7.0,
    6.9, 5.9 (performance 71, 52, 56, 70, 69, 59 on 0-100) and correlations
    0.3, except product_quality-value_for_money 0.6, support-billing 0.5,
    delivery-website 0.7, product_quality-support 0.4. Satisfaction is linear
    in the standardized drivers plus normal noise, with population R^2 = 0.45.
    The drivers are correlated, so the regression coefficients and the
    relative weights disagree: website has coefficient 0 yet a share of 7.2%
    (it goes with delivery), and value_for_money ranks 4th by coefficient but
    3rd by weight. Population figures, computed from the correlation matrix:

    | driver          | std. coefficient | correlation with satisfaction | Johnson share | rank | LMG share |
    |-----------------|-----------------:|------------------------------:|--------------:|-----:|----------:|
    | product_quality | 0.329            | 0.561                         | 32.5%         | 1    | 32.8%     |
    | value_for_money | 0.099            | 0.444                         | 15.0%         | 3    | 14.8%     |
    | support         | 0.247            | 0.490                         | 23.2%         | 2    | 22.8%     |
    | delivery        | 0.206            | 0.420                         | 14.4%         | 4    | 14.3%     |
    | website         | 0.000            | 0.358                         | 7.2%          | 6    | 7.5%      |
    | billing         | 0.041            | 0.354                         | 7.8%          | 5    | 7.7%      |

    Quadrants at these shares (mean share 1/6) and performances (mean 62.8):
    product_quality keep up, support fix first, value_for_money and billing
    low priority, delivery and website possible overkill.
    ``cxlab.synth.drivers.TRUTH`` holds the exact figures. Scores are rounded
    to 2 decimals and clipped to [0, 10] (which touches fewer than 1 in 10,000
    values); satisfaction is 7 + 1.5 x (signal + noise), unbounded. ``recommend``
    (yes/no) is a Bernoulli draw with log-odds 0.8 + 1.5 x the standardized linear
    predictor of satisfaction (no noise term), so its drivers rank as above;
    its logistic relative weights have no closed form.

    Parameters
    ----------
    n : int
        Number of responses, 10 to 1,000,000.
    seed : int
        Seed of the random generator; the same seed gives the same rows.

    Returns
    -------
    DataFrame
        Columns ``response_id``, the six drivers, ``satisfaction`` and
        ``recommend`` ("yes"/"no").
    """
    if not 10 <= n <= 1_000_000:
        raise ValueError(f"n must be between 10 and 1,000,000, got {n}")
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(np.zeros(6), CORRELATION, size=n, method="cholesky")
    beta = np.array(list(TRUTH["beta"].values()))
    signal = z @ beta
    noise = rng.normal(scale=np.sqrt(1 - R2), size=n)
    frame = {"response_id": np.arange(1, n + 1)}
    for j, name in enumerate(DRIVERS):
        frame[name] = np.clip(MEANS[j] + SD * z[:, j], 0, 10).round(2)
    frame["satisfaction"] = (7.0 + 1.5 * (signal + noise)).round(2)
    recommend = rng.random(n) < expit(0.8 + 1.5 * signal / np.sqrt(R2))
    frame["recommend"] = np.where(recommend, "yes", "no")
    return pd.DataFrame(frame)
