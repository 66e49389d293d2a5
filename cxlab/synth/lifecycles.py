"""Synthetic customer lifecycles for the retention study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.survival import calendar_months

RATING_SHARES = (0.10, 0.15, 0.25, 0.30, 0.20)
HAZARD_RATIO = 0.70            # per rating point
SHAPE = 0.8                    # Weibull shape: churn risk is highest early in the tenure
MEDIAN_RATING_1 = 12.0         # months, median tenure of a customer who rated 1 (without censoring)
ENROLMENT_MONTHS = 84          # customers joined uniformly over the 84 months before observation_end
OBSERVATION_END = "2025-12-31"
DAYS_PER_MONTH = 365.25 / 12
CHANNELS = ("web", "store", "phone")
CHANNEL_SHARES = (0.5, 0.3, 0.2)


def _truth() -> dict[str, object]:
    # Weibull survival S(t | r) = exp(-(t / scale_1)^k * HR^(r - 1)); median of rating r solves S = 1/2.
    scale_1 = MEDIAN_RATING_1 / np.log(2) ** (1 / SHAPE)
    medians = {r: float(scale_1 * (np.log(2) / HAZARD_RATIO ** (r - 1)) ** (1 / SHAPE)) for r in range(1, 6)}
    survival = {r: {h: float(np.exp(-((h / scale_1) ** SHAPE) * HAZARD_RATIO ** (r - 1))) for h in (12, 24)}
                for r in range(1, 6)}
    return {"hazard_ratio": HAZARD_RATIO, "log_hazard_ratio": float(np.log(HAZARD_RATIO)), "shape": SHAPE,
            "scale_rating_1": float(scale_1), "medians": medians, "survival": survival,
            "channel_hazard_ratio": 1.0, "observation_end": OBSERVATION_END,
            "enrolment_months": ENROLMENT_MONTHS}


TRUTH = _truth()


def lifecycles(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Customers with a 1-5 experience rating, a tenure and whether they churned.

    Ground truth. Ratings 1..5 are drawn with shares 10%, 15%, 25%, 30%, 20%.
    Each customer's time to churn (in months) is Weibull with shape 0.8 and a
    hazard proportional to 0.70 per rating point: the **hazard ratio per rating
    point is 0.70** (log 0.70 = -0.357), the proportional-hazards assumption
    holds, and the median time to churn without censoring is

    | rating                 |     1 |     2 |     3 |     4 |     5 |
    |------------------------|------:|------:|------:|------:|------:|
    | median tenure (months) |  12.0 |  18.7 |  29.3 |  45.7 |  71.4 |
    | survival at 12 months  | 50.0% | 61.6% | 71.2% | 78.8% | 84.7% |
    | survival at 24 months  | 29.9% | 43.0% | 55.4% | 66.1% | 74.8% |

    Censoring is administrative and independent of the rating: customers
    joined on a day drawn uniformly over the 84 months before the observation
    end, 2025-12-31; a customer still active then is censored (``end_date``
    empty, ``event`` 0). Dates are whole days (a churn time, drawn in months
    of 365.25 / 12 days, is rounded up to the next whole day, so no tenure is
    zero); ``duration`` is the tenure in calendar months from ``start_date``
    to ``end_date`` (or the observation end), as the retention study derives
    it from the dates (:func:`cxlab.stats.survival.calendar_months`). ``channel`` (web 50%, store 30%, phone 20%) is
    drawn independently and has **no effect on churn** (hazard ratio 1, a
    negative control for adjusted models). ``monthly_charge`` is lognormal
    around 60 and independent of everything else. ``cxlab.synth.lifecycles.TRUTH``
    holds the exact figures.

    Parameters
    ----------
    n : int
        Number of customers, 100 to 2,000,000.
    seed : int
        Seed of the random generator; the same seed gives the same rows.

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``experience`` (1-5), ``start_date``,
        ``end_date`` (NaT while still a customer), ``duration`` (months),
        ``event`` (1 churned, 0 censored), ``monthly_charge`` and ``channel``.
    """
    if not 100 <= n <= 2_000_000:
        raise ValueError(f"n must be between 100 and 2,000,000, got {n}")
    rng = np.random.default_rng(seed)
    rating = rng.choice(np.arange(1, 6), size=n, p=RATING_SHARES)
    # Weibull by inversion: S(t) = exp(-(t/scale)^k * HR^(r-1)) = U
    u = rng.random(n)
    t_months = TRUTH["scale_rating_1"] * (-np.log(u) / HAZARD_RATIO ** (rating - 1)) ** (1 / SHAPE)
    churn_days = np.maximum(np.ceil(t_months * DAYS_PER_MONTH), 1).astype(np.int64)
    window_days = int(round(ENROLMENT_MONTHS * DAYS_PER_MONTH))
    follow_days = rng.integers(1, window_days + 1, size=n)          # days from start to observation end
    end = np.datetime64(OBSERVATION_END, "D")
    start = end - follow_days.astype("timedelta64[D]")
    event = churn_days <= follow_days
    end_date = np.where(event, start + churn_days.astype("timedelta64[D]"), np.datetime64("NaT", "D"))
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARES)
    charge = np.round(np.exp(rng.normal(np.log(60.0), 0.35, size=n)), 2)
    return pd.DataFrame({
        "customer_id": np.arange(1, n + 1),
        "experience": rating,
        "start_date": pd.to_datetime(start),
        "end_date": pd.to_datetime(end_date),
        "duration": calendar_months(pd.Series(start), pd.Series(np.where(event, end_date, end))).to_numpy(),
        "event": event.astype(np.int8),
        "monthly_charge": charge,
        "channel": pd.Categorical.from_codes(channel, categories=list(CHANNELS)),
    })
