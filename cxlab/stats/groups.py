"""Comparisons of two groups of values: Welch's t-test, Hedges' g, a percentile bootstrap of the mean difference."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np


def welch_test(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    """Welch's t-test of mean(x) - mean(y) (scipy); None when a group has fewer than 2 values or no spread."""
    from scipy import stats
    if len(x) < 2 or len(y) < 2 or (np.var(x) == 0 and np.var(y) == 0):
        return None, None
    res = stats.ttest_ind(x, y, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def hedges_g(x: np.ndarray, y: np.ndarray) -> float | None:
    """Hedges' g of x versus y (pingouin.compute_effsize); None with fewer than 2 values per group or no spread."""
    import pingouin as pg
    if len(x) < 2 or len(y) < 2 or (np.var(x) == 0 and np.var(y) == 0):
        return None
    return float(pg.compute_effsize(x, y, paired=False, eftype="hedges"))


def _boot_means(x: np.ndarray, rng: np.random.Generator, resamples: int, chunk_elems: int = 4_000_000) -> np.ndarray:
    n = len(x)
    out = np.empty(resamples)
    rows = max(1, chunk_elems // max(n, 1))
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n), dtype=np.int32)
        out[start:stop] = np.take(x, idx).mean(axis=1)
    return out


def bootstrap_diff(x: np.ndarray, y: np.ndarray, resamples: int = 10_000, seed: int = 0,
                   level: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of mean(x) - mean(y), resampling within each group.

    ``x`` and ``y`` are the pooled growths ordered by period, then company (as
    :func:`summarize` passes them). The two groups draw from independent streams, ``SeedSequence(seed).spawn(2)``:
    resample b of x is ``x[rng_x.integers(0, len(x), size=(resamples, len(x)), dtype=int32)[b]]``
    (drawn in chunks, which gives the same numbers), likewise y; the interval is
    ``numpy.percentile`` (linear) at 2.5% and 97.5% of the differences. The two
    groups run in two threads.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or len(y) < 2:
        return None, None
    sx, sy = np.random.SeedSequence(seed).spawn(2)
    with ThreadPoolExecutor(2) as pool:
        fx = pool.submit(_boot_means, x, np.random.default_rng(sx), resamples)
        fy = pool.submit(_boot_means, y, np.random.default_rng(sy), resamples)
        diff = fx.result() - fy.result()
    tail = round(50 * (1 - level), 10)  # 2.5 for a 95% interval, without float residue
    low, high = np.percentile(diff, [tail, 100 - tail])
    return float(low), float(high)
