"""Synthetic company panel for the leaders study: a persistent CX score and growth with a known leader premium."""
from __future__ import annotations

from statistics import NormalDist
from typing import Literal, Sequence

import numpy as np
import pandas as pd

N_UNIT = "companies"   # what `n` counts (a study file's `data.n`): companies, each seen in every period

SECTORS = ("airlines", "banking", "insurance", "retail", "telecom")
BETA = 0.02          # expected growth per standard deviation of CX score (within sector)
RHO = 0.9            # period-to-period persistence of the standardised CX score
SCORE_SD = 10.0      # points of cx_score per standard deviation
MARKET_MEAN = 0.04   # mean market growth per period
MARKET_SD = 0.08     # sd of the market growth per period (common to every company)
SECTOR_SD = 0.03     # sd of a sector's growth shock per period (common within a sector)
NOISE_SD = 0.12      # sd of a company's own growth shock per period
QUANTILE_PAIRS = ((0.75, 0.25), (0.8, 0.2), (0.9, 0.1))


def premium(leader_quantile: float, laggard_quantile: float, beta: float = BETA) -> float:
    """True expected growth difference between within-sector leaders and laggards.

    With growth linear in a standard normal CX factor ``z`` (slope ``beta``), the
    top-``1 - leader_quantile`` share has ``E[z] = phi(a) / (1 - q_hi)`` and the
    bottom ``laggard_quantile`` share ``E[z] = -phi(b) / q_lo`` (``a``, ``b`` the
    normal quantiles), so the difference is ``beta`` times their gap.
    """
    nd = NormalDist()
    hi = nd.pdf(nd.inv_cdf(leader_quantile)) / (1 - leader_quantile)
    lo = nd.pdf(nd.inv_cdf(laggard_quantile)) / laggard_quantile
    return float(beta * (hi + lo))


TRUTH = {
    "beta_per_sd": BETA, "rho": RHO, "score_sd": SCORE_SD, "market_mean": MARKET_MEAN, "market_sd": MARKET_SD,
    "sector_sd": SECTOR_SD, "noise_sd": NOISE_SD,
    # leader-minus-laggard expected growth per period, within-sector splits
    "premium": {f"{hi:g}/{lo:g}": premium(hi, lo) for hi, lo in QUANTILE_PAIRS},
}


def panel(n: int = 300, periods: int = 10, seed: int = 0, start: int = 2011,
          sectors: int | Sequence[str] = SECTORS, missing: float = 0.0, beta: float = BETA,
          company_sd: float = 0.0, part: Literal["companies", "benchmark"] = "companies",
          sector_sd: float = SECTOR_SD) -> pd.DataFrame:
    """Companies in sectors with a persistent CX score and growth that rewards CX.

    Ground truth. Each company belongs to one sector (drawn uniformly). Its
    standardised CX factor ``z`` is an AR(1) series, ``z[t] = 0.9 z[t-1] +
    sqrt(1 - 0.81) e[t]``, standard normal in every period; its ``cx_score`` is
    the sector's level (evenly spaced from 55 to 70 points) plus 10 points per
    unit of ``z``, rounded to 0.1 (so ties occur). Growth from period t to t+1 is

        g = m[t] + u[sector, t] + beta z[t] + a + noise,

    with ``beta = 0.02`` by default, the market growth m[t] ~ N(0.04, 0.08), a
    sector shock u ~ N(0, sector_sd) (``sector_sd = 0.03`` by default), a company shock ~ N(0, 0.12) and the company's
    persistent growth rate ``a ~ N(0, company_sd)`` (``company_sd = 0`` by
    default: no persistent rate), all independent (growth is floored at -90%,
    which changes nothing measurable); ``value[t+1] = value[t] (1 + g)`` from a
    start level of 100 exp(N(0, 0.5)).

    Null panels for calibration: ``beta=0`` makes the CX score unrelated to
    growth (the true leader-minus-laggard difference is 0), and ``company_sd``
    above 0 (e.g. 0.05) gives each company a persistent growth rate, so a
    company's company-periods are correlated while the same companies lead
    period after period (the CX score is persistent too): tests that treat
    company-periods as independent reject far more often than their level.
    Sector-period shocks: the sectors' CX levels differ (55 to 70 points, 1.5
    standard deviations apart), so with cut-offs over all companies
    (``within: null``) leaders come mostly from the high sectors and laggards
    from the low ones, and each sector's shock u[sector, t] does not cancel
    between the two portfolios; a larger ``sector_sd`` (e.g. 0.06) makes the
    company-clustered test on raw growth reject well above its level on null
    panels, while the sector-adjusted test holds it.
    A true leader effect: ``beta > 0``, with or without ``company_sd``;
    the expected difference per period is :func:`premium` with that ``beta``.

    So within a sector, one standard deviation of CX is worth 2 points of
    growth per period, and the expected leader-minus-laggard growth per period
    is 5.08 points for the 0.75/0.25 split (within sector), 5.60 for 0.8/0.2
    and 7.02 for 0.9/0.1. The benchmark (``part="benchmark"``) is the market
    index, 100 at the first period and growing by m[t]; it depends only on
    ``seed``, ``periods`` and ``start``, so the benchmark of a study asks for
    the same seed and periods as its panel. ``cxlab.synth.panel.TRUTH`` holds
    the figures.

    Parameters
    ----------
    n : int
        Number of companies, 4 to 100,000.
    periods : int
        Number of consecutive periods, 2 to 200.
    seed : int
        Seed of the random generator; the same seed gives the same rows.
    start : int
        The first period (e.g. a year).
    sectors : int or list of str
        Sector names, or a number of sectors (named ``sector-1`` ...).
    missing : float
        Share of company-period values blanked at random (gaps in the panel), 0 to 0.5.
    beta : float
        Expected growth per standard deviation of CX score, -1 to 1 (0: CX unrelated to growth).
    company_sd : float
        Standard deviation of each company's persistent growth rate, 0 to 1.
    part : {"companies", "benchmark"}
        The company panel, or the market benchmark series.
    sector_sd : float
        Standard deviation of each sector's growth shock per period, 0 to 1.

    Returns
    -------
    DataFrame
        ``part="companies"``: one row per company-period with columns ``company``,
        ``sector``, ``period``, ``cx_score``, ``value``. ``part="benchmark"``:
        columns ``period``, ``value``.
    """
    if not 4 <= n <= 100_000:
        raise ValueError(f"n must be between 4 and 100,000, got {n}")
    if not 2 <= periods <= 200:
        raise ValueError(f"periods must be between 2 and 200, got {periods}")
    if not 0 <= missing <= 0.5:
        raise ValueError(f"missing must be between 0 and 0.5, got {missing}")
    if not -1 <= beta <= 1:
        raise ValueError(f"beta must be between -1 and 1, got {beta}")
    if not 0 <= company_sd <= 1:
        raise ValueError(f"company_sd must be between 0 and 1, got {company_sd}")
    if not 0 <= sector_sd <= 1:
        raise ValueError(f"sector_sd must be between 0 and 1, got {sector_sd}")
    names = [f"sector-{i + 1}" for i in range(sectors)] if isinstance(sectors, int) else list(sectors)
    if not names:
        raise ValueError("sectors must name at least one sector")
    # a third stream for the persistent rates, so that the first two (and default panels) are unchanged
    market_ss, company_ss, rate_ss = np.random.SeedSequence(seed).spawn(3)
    market = MARKET_MEAN + MARKET_SD * np.random.default_rng(market_ss).standard_normal(periods - 1)
    period_labels = np.arange(start, start + periods)
    if part == "benchmark":
        level = 100 * np.concatenate([[1.0], np.cumprod(1 + market)])
        return pd.DataFrame({"period": period_labels, "value": level})
    if part != "companies":
        raise ValueError(f"part must be 'companies' or 'benchmark', got {part!r}")
    rng = np.random.default_rng(company_ss)
    k = len(names)
    sector = rng.integers(0, k, size=n)
    level = np.linspace(55, 70, k) if k > 1 else np.array([62.5])
    z = np.empty((n, periods))
    z[:, 0] = rng.standard_normal(n)
    for t in range(1, periods):
        z[:, t] = RHO * z[:, t - 1] + np.sqrt(1 - RHO ** 2) * rng.standard_normal(n)
    score = np.round(level[sector][:, None] + SCORE_SD * z, 1)
    shock = sector_sd * rng.standard_normal((k, periods - 1))
    rate = company_sd * np.random.default_rng(rate_ss).standard_normal(n)
    growth = (market[None, :] + shock[sector] + beta * z[:, :-1] + rate[:, None]
              + NOISE_SD * rng.standard_normal((n, periods - 1)))
    growth = np.maximum(growth, -0.9)
    value = np.empty((n, periods))
    value[:, 0] = 100 * np.exp(0.5 * rng.standard_normal(n))
    value[:, 1:] = value[:, [0]] * np.cumprod(1 + growth, axis=1)
    if missing > 0:
        value[rng.random((n, periods)) < missing] = np.nan
    width = len(str(n))
    return pd.DataFrame({
        "company": np.repeat([f"C{i + 1:0{width}d}" for i in range(n)], periods),
        "sector": np.repeat(np.asarray(names, dtype=object)[sector], periods),
        "period": np.tile(period_labels, n),
        "cx_score": score.ravel(),
        "value": value.ravel(),
    })
