"""Synthetic customers for the loyalty study."""
from __future__ import annotations

import numpy as np
import pandas as pd

RATING_SHARES = (0.10, 0.15, 0.25, 0.30, 0.20)
# outcome -> (rate at rating 1, rate at rating 5); the log-odds are linear in the rating
ENDPOINT_RATES = {
    "repurchase": (0.13, 0.86),
    "recommend": (0.08, 0.77),
    "retain": (0.30, 0.89),
    "refer": (0.05, 0.45),
}


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _truth() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name, (p1, p5) in ENDPOINT_RATES.items():
        slope = (_logit(p5) - _logit(p1)) / 4
        rates = {r: float(1 / (1 + np.exp(-(_logit(p1) + slope * (r - 1))))) for r in range(1, 6)}
        out[name] = {"odds_ratio": float(np.exp(slope)), "rates": rates}
    return out


TRUTH = _truth()


def customers(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Customers with a 1-5 experience rating and four loyalty outcomes.

    Ground truth. Ratings 1..5 are drawn with shares 10%, 15%, 25%, 30%, 20%.
    Each outcome is an independent Bernoulli draw whose log-odds are linear in
    the rating, so the odds ratio per rating point is constant:

    | outcome    | rating 1 | rating 2 | rating 3 | rating 4 | rating 5 | odds ratio/point |
    |------------|---------:|---------:|---------:|---------:|---------:|-----------------:|
    | repurchase | 13.0%    | 27.5%    | 48.9%    | 70.8%    | 86.0%    | 2.532            |
    | recommend  |  8.0%    | 17.8%    | 35.0%    | 57.3%    | 77.0%    | 2.491            |
    | retain     | 30.0%    | 47.2%    | 65.1%    | 79.5%    | 89.0%    | 2.084            |
    | refer      |  5.0%    |  9.5%    | 17.2%    | 29.2%    | 45.0%    | 1.986            |

    The repurchase rates echo the Temkin Group finding (86% after a great
    experience, 13% after a poor one). ``cxlab.synth.customers.TRUTH`` holds
    the exact figures.

    Parameters
    ----------
    n : int
        Number of customers, 100 to 1,000,000.
    seed : int
        Seed of the random generator; the same seed gives the same rows.

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``experience`` and the four outcomes (0/1).
    """
    if not 100 <= n <= 1_000_000:
        raise ValueError(f"n must be between 100 and 1,000,000, got {n}")
    rng = np.random.default_rng(seed)
    rating = rng.choice(np.arange(1, 6), size=n, p=RATING_SHARES)
    frame = {"customer_id": np.arange(1, n + 1), "experience": rating}
    for name, truth in TRUTH.items():
        p = np.asarray([truth["rates"][r] for r in range(1, 6)])[rating - 1]
        frame[name] = (rng.random(n) < p).astype(np.int8)
    return pd.DataFrame(frame)
