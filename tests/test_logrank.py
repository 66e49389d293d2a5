"""The multi-group log-rank test from counts (issue 22): R ``survdiff`` and lifelines on moderate data, and
exact rational arithmetic on the same counts scaled to 10^8 customers (where lifelines stops on its check
that observed minus expected sums to zero)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from lifelines.statistics import multivariate_logrank_test

from cxlab.stats.survival import logrank_counts, pairwise_logrank

# Events (D) and censored (C) per group at times 1..12. R reference (survival 3.x):
#   library(survival)
#   D <- list(a = c(30, 7, 10, 18, 13, 33, 10, 24, 13, 13, 18, 16), b = c(14, 37, 26, 5, 34, 2, 22, 20, 19, 13, 31, 25),
#             c = c(0, 3, 0, 39, 12, 2, 6, 2, 36, 8, 14, 4))
#   C <- list(a = c(17, 27, 12, 2, 13, 12, 9, 23, 26, 12, 7, 25), b = c(11, 6, 5, 7, 20, 29, 15, 9, 17, 18, 21, 0),
#             c = c(17, 11, 11, 15, 27, 25, 20, 16, 29, 3, 1, 21))
#   rows <- do.call(rbind, lapply(names(D), function(g) data.frame(
#     time = c(rep(1:12, D[[g]]), rep(1:12, C[[g]])),
#     event = c(rep(1, sum(D[[g]])), rep(0, sum(C[[g]]))), group = g)))
#   sprintf("%.15g", survdiff(Surv(time, event) ~ group, data = rows)$chisq)                        # 15.9545689089706
#   sprintf("%.15g", survdiff(Surv(time, event) ~ group, data = subset(rows, group != "c"))$chisq)  # 3.55660269083442
D = {"a": [30, 7, 10, 18, 13, 33, 10, 24, 13, 13, 18, 16], "b": [14, 37, 26, 5, 34, 2, 22, 20, 19, 13, 31, 25],
     "c": [0, 3, 0, 39, 12, 2, 6, 2, 36, 8, 14, 4]}
C = {"a": [17, 27, 12, 2, 13, 12, 9, 23, 26, 12, 7, 25], "b": [11, 6, 5, 7, 20, 29, 15, 9, 17, 18, 21, 0],
     "c": [17, 11, 11, 15, 27, 25, 20, 16, 29, 3, 1, 21]}
R_SURVDIFF_ABC, R_SURVDIFF_AB = 15.9545689089706, 3.55660269083442


def cells(scale: int = 1, groups: str = "abc") -> tuple[np.ndarray, ...]:
    """(time, group, removed, deaths) per time and group, counts multiplied by ``scale``."""
    t = np.tile(np.arange(1.0, 13.0), len(groups))
    g = np.repeat(list(groups), 12)
    d = np.concatenate([D[x] for x in groups]).astype(float) * scale
    removed = d + np.concatenate([C[x] for x in groups]).astype(float) * scale
    return t, g, removed, d


def rows(groups: str = "abc") -> tuple[np.ndarray, ...]:
    t, g, removed, d = cells(1, groups)
    n, dd = removed.astype(int), d.astype(int)
    return (np.repeat(t, n), np.repeat(g, n),
            np.concatenate([np.r_[np.ones(a), np.zeros(b - a)] for a, b in zip(dd, n)]))


def exact_statistic(scale: int) -> float:
    """U' V^-1 U on groups a and b in exact rational arithmetic (an independent reference at any scale)."""
    groups = "abc"
    n = {x: sum(D[x]) * scale + sum(C[x]) * scale for x in groups}
    u = {x: Fraction(0) for x in "ab"}
    v = {(x, y): Fraction(0) for x in "ab" for y in "ab"}
    for i in range(12):
        nt = sum(n.values())
        dt = sum(D[x][i] * scale for x in groups)
        for x in "ab":
            u[x] += D[x][i] * scale - Fraction(n[x] * dt, nt)
            for y in "ab":
                v[x, y] += Fraction(dt * (nt - dt), nt - 1) * Fraction(n[x], nt) * ((x == y) - Fraction(n[y], nt))
        for x in groups:
            n[x] -= (D[x][i] + C[x][i]) * scale
    det = v["a", "a"] * v["b", "b"] - v["a", "b"] ** 2
    q = (u["a"] ** 2 * v["b", "b"] - 2 * u["a"] * u["b"] * v["a", "b"] + u["b"] ** 2 * v["a", "a"]) / det
    return float(q)


def test_equals_r_survdiff_and_lifelines():
    mine = logrank_counts(*cells())
    assert mine["statistic"] == pytest.approx(R_SURVDIFF_ABC, rel=1e-9) and mine["dof"] == 2
    t, g, e = rows()
    assert mine["statistic"] == pytest.approx(multivariate_logrank_test(t, g, e).test_statistic, rel=1e-9)
    assert logrank_counts(*cells(1, "ab"))["statistic"] == pytest.approx(R_SURVDIFF_AB, rel=1e-9)


def test_pairwise_equals_r_survdiff_on_two_groups():
    tallies = {x: (np.arange(1.0, 13.0), np.add(D[x], C[x]).astype(float), np.asarray(D[x], float)) for x in "abc"}
    table = pairwise_logrank(tallies, "b").set_index("tier")
    assert table.loc["a", "statistic"] == pytest.approx(R_SURVDIFF_AB, rel=1e-9)


def test_hundred_million_customers():
    scale = 10 ** 8 // sum(sum(D[x]) + sum(C[x]) for x in "abc")
    args = cells(scale)
    assert args[2].sum() > 0.99e8
    mine = logrank_counts(*args)
    assert mine["statistic"] == pytest.approx(exact_statistic(scale), rel=1e-9)
    assert mine["p"] == 0 and mine["log10_p"] < -300
    assert exact_statistic(1) == pytest.approx(R_SURVDIFF_ABC, rel=1e-12)  # the rational reference is R's
