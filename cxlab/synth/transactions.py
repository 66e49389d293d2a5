"""Embedded transaction log with known BG/NBD and Gamma-Gamma parameters per NPS group (value study)."""
from __future__ import annotations

import numpy as np
import pandas as pd

N_UNIT = "customers"

#: First calendar day of the log; the log ends ``DAYS`` days later (the study's observation end).
START = "2024-01-01"
DAYS = 730
OBSERVATION_END = (pd.Timestamp(START) + pd.Timedelta(days=DAYS)).date().isoformat()   # 2025-12-31
ACQUISITION_DAYS = 365

#: Truth per NPS group (worst to best), time in weeks: share of customers, the NPS answers drawn (uniformly),
#: BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma).
TRUTH: dict[str, dict] = {
    "detractor": {"share": 0.25, "answers": (0, 6), "r": 0.6, "alpha": 10.0, "a": 0.8, "b": 1.6,
                  "p": 4.0, "q": 4.0, "gamma": 60.0},
    "passive": {"share": 0.35, "answers": (7, 8), "r": 0.7, "alpha": 9.0, "a": 0.8, "b": 2.8,
                "p": 4.0, "q": 4.0, "gamma": 66.0},
    "promoter": {"share": 0.40, "answers": (9, 10), "r": 0.8, "alpha": 8.0, "a": 0.7, "b": 3.5,
                 "p": 4.0, "q": 4.0, "gamma": 72.0},
}


def transactions(n: int = 3000, seed: int = 0, rate: float = 1.0) -> pd.DataFrame:
    """A transaction log of ``n`` customers over two years (2024-01-01 to 2025-12-31), NPS answer per customer.

    Truth (time in weeks; ``TRUTH`` in cxlab.synth.transactions). Each customer is a detractor (25%, NPS
    answer 0-6), passive (35%, 7-8) or promoter (40%, 9-10), the answer drawn
    uniformly within the group. A customer's first purchase falls on a uniform
    day of the first year. While alive they buy at rate lambda ~ Gamma(r,
    rate alpha) per week; after each repeat purchase they drop out with
    probability p ~ Beta(a, b) (BG/NBD). Detractors: r 0.6, alpha 10, a 0.8,
    b 1.6; passives: r 0.7, alpha 9, a 0.8, b 2.8; promoters: r 0.8, alpha 8,
    a 0.7, b 3.5. Every amount is Gamma(p = 4, rate nu) with nu ~ Gamma(q = 4,
    rate gamma), gamma 60 (detractors), 66 (passives), 72 (promoters): mean
    amounts 80, 88 and 96 (Gamma-Gamma). Amounts are rounded to cents (at least
    0.01); purchases of a customer on the same day are one row (amounts summed), as the study counts them. The
    experience is associated with value here by construction; nothing in these
    data is an experiment.

    Parameters
    ----------
    n : int
        Customers (rows are transactions: about 5 per customer).
    seed : int
        Seed of the random generator.
    rate : float
        Multiplies every purchase rate (alpha divided by ``rate``; 5.5 gives about 9 purchase days per customer,
        for benchmarks); the default 1 is the truth above.

    Returns
    -------
    DataFrame
        ``customer_id`` (1..n), ``date`` (datetime64, day), ``amount``, ``nps`` (0-10) and ``group``.
    """
    rng = np.random.default_rng(seed)
    names = list(TRUTH)
    group = rng.choice(len(names), size=n, p=[TRUTH[g]["share"] for g in names])
    par = {k: np.array([TRUTH[g][k] for g in names])[group] for k in ("r", "alpha", "a", "b", "p", "q", "gamma")}
    lo = np.array([TRUTH[g]["answers"][0] for g in names])[group]
    hi = np.array([TRUTH[g]["answers"][1] for g in names])[group]
    nps = rng.integers(lo, hi + 1)
    lam = rng.gamma(par["r"], rate / par["alpha"]) / 7.0   # per day
    drop = rng.beta(par["a"], par["b"])
    nu = rng.gamma(par["q"], 1.0 / par["gamma"])
    first = rng.integers(0, ACQUISITION_DAYS, size=n).astype(float)

    cust, times = [np.arange(n)], [first]
    now = first.copy()
    alive = np.arange(n)
    while alive.size:
        now[alive] += rng.exponential(1.0, alive.size) / lam[alive]
        alive = alive[now[alive] <= DAYS]
        cust.append(alive)
        times.append(now[alive].copy())
        alive = alive[rng.random(alive.size) >= drop[alive]]      # drop out after a repeat purchase
    ids = np.concatenate(cust)
    day = np.floor(np.concatenate(times)).astype("int64")
    amount = np.maximum(np.round(rng.gamma(par["p"][ids], 1.0 / nu[ids]), 2), 0.01)
    order = np.lexsort((day, ids))
    ids, day, amount = ids[order], day[order], amount[order]
    new = np.r_[True, (ids[1:] != ids[:-1]) | (day[1:] != day[:-1])]   # one row per customer and day
    amount = np.round(np.bincount(np.cumsum(new) - 1, amount), 2)
    ids, day = ids[new], day[new]
    return pd.DataFrame({
        "customer_id": ids + 1,
        "date": pd.Timestamp(START) + pd.to_timedelta(day, unit="D"),
        "amount": amount,
        "nps": nps[ids],
        "group": pd.Categorical.from_codes(group[ids], categories=names, ordered=True),
    })
