"""Two-group comparisons when observations come in clusters (a company seen in many periods).

- :func:`cluster_diff_test`: OLS of the outcome on an intercept and a group
  indicator with standard errors clustered by company (CR1), t with G - 1
  degrees of freedom (statsmodels);
- :func:`block_bootstrap`: percentile bootstrap that resamples whole clusters
  (companies with all their observations and labels), for the pooled mean
  difference and for the chained portfolio figures of the leaders study;
  :func:`block_bootstrap_set` does the same for several growth measures of the
  same company-periods from the same draws (the leaders study's pooled and
  sector-adjusted figures).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

CLUSTER_KEYS = ("cluster_diff", "cluster_se", "cluster_t", "cluster_df", "cluster_p", "cluster_ci_low",
                "cluster_ci_high", "n_clusters")


def cluster_diff_test(y: np.ndarray, group: np.ndarray, clusters: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """Difference of means between ``group == 1`` and ``group == 0`` with cluster-robust inference.

    Ordinary least squares of ``y`` on an intercept and ``group`` (statsmodels
    ``OLS(...).fit(cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True)``):
    the slope is the difference of the two means; its variance is the CR1
    sandwich, ``G/(G-1) x (N-1)/(N-K)`` times ``(X'X)^-1 (sum_g X_g' e_g e_g' X_g) (X'X)^-1``,
    and the reference distribution is t with ``G - 1`` degrees of freedom.

    Parameters
    ----------
    y : array of float
        The outcome, one value per observation (an observation in both groups appears twice).
    group : array of {0, 1}
        1 for the first group (leaders), 0 for the second (laggards).
    clusters : array
        The cluster (company) of each observation; any hashable labels.
    level : float
        Confidence level of the interval.

    Returns
    -------
    dict
        :data:`CLUSTER_KEYS`: ``cluster_diff``, ``cluster_se``, ``cluster_t``,
        ``cluster_df`` (G - 1), ``cluster_p``, ``cluster_ci_low``,
        ``cluster_ci_high``, ``n_clusters`` (G). The inferential figures are
        None with fewer than 2 clusters, without both groups, or without any
        spread (a standard error of 0).
    """
    y = np.asarray(y, float)
    group = np.asarray(group, float)
    if not (y.shape == group.shape == np.shape(clusters)) or y.ndim != 1:
        raise ValueError("y, group and clusters must be one-dimensional and of the same length")
    codes, uniques = _codes(clusters)
    g = len(uniques)
    out: dict[str, Any] = dict.fromkeys(CLUSTER_KEYS)
    out["n_clusters"] = int(g)
    has_both = bool((group == 1).any() and (group == 0).any())
    if has_both:
        out["cluster_diff"] = float(y[group == 1].mean() - y[group == 0].mean())
    if g < 2 or not has_both:
        return out
    from statsmodels.regression.linear_model import OLS
    x = np.column_stack([np.ones(len(y)), group])
    fit = OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    se = float(fit.bse[1])
    if not np.isfinite(se) or se <= 1e-12 * max(1.0, float(np.abs(y).max())):
        return out
    low, high = fit.conf_int(alpha=1 - level)[1]
    out.update(cluster_diff=float(fit.params[1]), cluster_se=se, cluster_t=float(fit.tvalues[1]),
               cluster_df=int(g - 1), cluster_p=float(fit.pvalues[1]), cluster_ci_low=float(low),
               cluster_ci_high=float(high))
    return out


def _codes(labels: Any) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.ravel(), uniques


def cluster_draws(n_clusters: int, resamples: int, seed: int,
                  chunk_elems: int = 2_000_000) -> Iterator[np.ndarray]:
    """Bootstrap draws of clusters, as counts: chunks of ``(rows, n_clusters)`` matrices.

    Draw b picks ``n_clusters`` clusters with replacement: it is row b of
    ``default_rng(seed).integers(0, n_clusters, size=(resamples, n_clusters), dtype=np.int32)``
    (drawn in chunks of rows, which gives the same numbers), and its count
    matrix row holds how many times each cluster was picked.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, chunk_elems // max(n_clusters, 1))
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        idx = rng.integers(0, n_clusters, size=(stop - start, n_clusters), dtype=np.int32).astype(np.int64)
        flat = (idx + n_clusters * np.arange(stop - start)[:, None]).ravel()
        yield np.bincount(flat, minlength=(stop - start) * n_clusters).reshape(stop - start, n_clusters)


def block_bootstrap(growth: np.ndarray, leader: np.ndarray, laggard: np.ndarray, company: np.ndarray,
                    period: np.ndarray, resamples: int = 10_000, seed: int = 0,
                    level: float = 0.95) -> dict[str, float | None]:
    """Company block bootstrap of the leader-minus-laggard comparison.

    Each draw resamples companies with replacement (``cluster_draws``: as many
    draws as companies, a company drawn twice counts twice), each with all its
    company-periods and their leader and laggard labels. For each draw:

    - the pooled mean difference, mean growth of the drawn leader
      company-periods minus that of the drawn laggard company-periods; a draw
      without a leader or without a laggard is skipped;
    - the period means of each portfolio, chained as in the study:
      ``end_ratio = prod(1 + leader mean) / prod(1 + laggard mean)`` and
      ``annualised_gap = prod(1 + leader mean)^(1/P) - prod(1 + laggard mean)^(1/P)``
      over the P periods; a draw that leaves some period without a leader or
      without a laggard is skipped for these two.

    Intervals are percentiles (``numpy.percentile``, linear) of the kept draws.

    Parameters
    ----------
    growth : array of float
        Growth of each company-period.
    leader, laggard : array of bool
        Portfolio labels (a company-period may carry both).
    company, period : array
        Company and period of each company-period.
    resamples : int
        Number of draws.
    seed : int
        Seed of the draws.
    level : float
        Confidence level.

    Returns
    -------
    dict
        ``diff_low``, ``diff_high``, ``ratio_low``, ``ratio_high``, ``gap_low``,
        ``gap_high`` and ``kept`` (draws kept for the difference), ``kept_chain``
        (for the chained figures); bounds are None when no draw is kept.
    """
    return block_bootstrap_set([growth], leader, laggard, company, period, resamples, seed, level)[0]


def block_bootstrap_set(growths: Sequence[np.ndarray], leader: np.ndarray, laggard: np.ndarray,
                        company: np.ndarray, period: np.ndarray, resamples: int = 10_000, seed: int = 0,
                        level: float = 0.95,
                        offsets: Sequence[np.ndarray | None] | None = None) -> list[dict[str, float | None]]:
    """:func:`block_bootstrap` of several growth measures of the same company-periods, from the same draws.

    Parameters
    ----------
    growths : list of arrays of float
        Each a growth measure of every company-period (e.g. growth, and growth
        relative to the company's sector-period mean).
    leader, laggard, company, period, resamples, seed, level
        As in :func:`block_bootstrap`.
    offsets : list of (array of float or None), optional
        For each measure, a number per period (in the order of ``numpy.unique(period)``)
        added to both portfolios' period means before they are chained (None: 0).
        The pooled difference does not use them.

    Returns
    -------
    list of dict
        One :func:`block_bootstrap` result per measure; the draws, and so ``kept``
        and ``kept_chain``, are shared.
    """
    growths = [np.asarray(g, float) for g in growths]
    leader, laggard = np.asarray(leader, bool), np.asarray(laggard, bool)
    c, companies = _codes(company)
    p, periods = _codes(period)
    n_c, n_p, n_k = len(companies), len(periods), len(growths)
    offsets = [np.zeros(n_p) if o is None else np.asarray(o, float) for o in (offsets or [None] * n_k)]
    if len(offsets) != n_k or any(o.shape != (n_p,) for o in offsets):
        raise ValueError("offsets must give one number per period for each growth measure")
    # per company and period: leader count, laggard count, then per measure leader sum and laggard sum
    cols = [(leader, None), (laggard, None)] + [(m, g) for g in growths for m in (leader, laggard)]
    stats = np.zeros((n_c, len(cols), n_p))
    for k, (mask, val) in enumerate(cols):
        np.add.at(stats[:, k, :], (c[mask], p[mask]), 1.0 if val is None else val[mask])
    stats = stats.reshape(n_c, len(cols) * n_p)
    diffs: list[list[np.ndarray]] = [[] for _ in growths]
    ratios: list[list[np.ndarray]] = [[] for _ in growths]
    gaps: list[list[np.ndarray]] = [[] for _ in growths]
    kept = kept_chain = 0
    for counts in cluster_draws(n_c, resamples, seed):
        m = (counts @ stats).reshape(len(counts), len(cols), n_p)
        lead_n, lag_n = m[:, 0], m[:, 1]
        ok = (lead_n.sum(axis=1) > 0) & (lag_n.sum(axis=1) > 0)
        full = (lead_n > 0).all(axis=1) & (lag_n > 0).all(axis=1)
        kept, kept_chain = kept + int(ok.sum()), kept_chain + int(full.sum())
        for k, offset in enumerate(offsets):
            lead_s, lag_s = m[:, 2 + 2 * k], m[:, 3 + 2 * k]
            diffs[k].append(lead_s[ok].sum(axis=1) / lead_n[ok].sum(axis=1)
                            - lag_s[ok].sum(axis=1) / lag_n[ok].sum(axis=1))
            with np.errstate(invalid="ignore", divide="ignore"):
                lead_end = np.prod(1 + offset + lead_s[full] / lead_n[full], axis=1)
                lag_end = np.prod(1 + offset + lag_s[full] / lag_n[full], axis=1)
            ratios[k].append(lead_end / lag_end)
            gaps[k].append(lead_end ** (1 / n_p) - lag_end ** (1 / n_p))
    tail = round(50 * (1 - level), 10)
    results = []
    for k in range(n_k):
        out: dict[str, Any] = {}
        for name, draws in (("diff", diffs[k]), ("ratio", ratios[k]), ("gap", gaps[k])):
            d = np.concatenate(draws) if draws else np.array([])
            low, high = np.percentile(d, [tail, 100 - tail]) if len(d) else (None, None)
            out[f"{name}_low"] = None if low is None else float(low)
            out[f"{name}_high"] = None if high is None else float(high)
        out["kept"], out["kept_chain"] = kept, kept_chain
        results.append(out)
    return results
