"""Calibration: coverage of the retention value-at-stake interval (issue 20).

One tier of customers: churn exponential with mean 20 periods, uniform censoring on 5-40, a value per period
that is skewed (lognormal) and rises with the customer's latent tenure. The estimand RMST(tau) x E[value] is
known in closed form, and so is the discounted one (each month k weighted by 1.3^(-k/12)).
Over many samples, the share of 95% intervals that cover it: cxlab's (RMST and mean
value uncertainty with their covariance, delta method) and the old one (mean value treated as known).

    .venv/bin/python benchmarks/calibrate_retention_value.py [samples] [customers]
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

from cxlab.stats import survival
from cxlab.studies.retention import analysis, counts

MEAN, TAU, MU, SIGMA = 20.0, 30.0, 3.5, 0.9
# E[value] = E[lognormal] E[1 + T / 20] with T ~ exponential(mean 20): exp(mu + sigma^2 / 2) x 2
TRUTH = MEAN * (1 - math.exp(-TAU / MEAN)) * math.exp(MU + SIGMA ** 2 / 2) * 2
# discounted (issue 21): month k weighted by (1 + RATE)^(-k/12); the area under exp(-t / MEAN), month by month
RATE = 0.3
DISCOUNTED_TRUTH = sum((1 + RATE) ** (-k / 12) * MEAN * (math.exp(-(k - 1) / MEAN) - math.exp(-min(k, TAU) / MEAN))
                       for k in range(1, math.ceil(TAU) + 1)) * math.exp(MU + SIGMA ** 2 / 2) * 2


def sample(rng: np.random.Generator, n: int) -> pd.DataFrame:
    latent = rng.exponential(MEAN, n)
    censor = rng.uniform(5, 40, n)
    return pd.DataFrame({"duration": np.minimum(latent, censor), "event": (latent <= censor).astype(float),
                         "experience": 1.0, "value": rng.lognormal(MU, SIGMA, n) * (1 + latent / 20),
                         "tier": pd.Categorical(["a"] * n, categories=["a"])})


def main(samples: int = 1000, n: int = 300, seed: int = 2020) -> None:
    rng = np.random.default_rng(seed)
    new = old = disc = 0
    widths = []
    for _ in range(samples):
        data = counts.summarise(sample(rng, n), [], value=True)
        tally = analysis.tally_all(data.cells)
        area, var = survival.rmst(survival.km_fit(*tally), TAU)
        mean, var_mean, cov = analysis.tier_value_moments(data, 0, tally, TAU)
        est = area * mean
        se = math.sqrt(analysis.product_variance(area, var, mean, var_mean, cov))
        se_old = math.sqrt(var) * mean
        new += abs(est - TRUTH) <= 1.959963984540054 * se
        old += abs(est - TRUTH) <= 1.959963984540054 * se_old
        widths.append(se / se_old)
        d_area, d_var = survival.discounted_rmst(*tally, TAU, RATE, 1.0)
        d_cov = analysis.tier_value_moments(data, 0, tally, TAU, RATE, 1.0)[2]
        d_se = math.sqrt(analysis.product_variance(d_area, d_var, mean, var_mean, d_cov))
        disc += abs(d_area * mean - DISCOUNTED_TRUTH) <= 1.959963984540054 * d_se
    print(f"{samples} samples of {n} customers, truth {TRUTH:.1f}")
    print(f"coverage, value and RMST uncertainty (cxlab): {new / samples:.1%}")
    print(f"coverage, mean value treated as known (old):  {old / samples:.1%}")
    print(f"interval width, cxlab / old: median {np.median(widths):.2f}")
    print(f"coverage, discounted at {RATE:.0%} a year (truth {DISCOUNTED_TRUTH:.1f}): {disc / samples:.1%}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
