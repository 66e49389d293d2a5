"""Net Promoter Score with the adjusted-Wald interval of Rocks (2016), and the difference of two scores.

NPS = (promoters - detractors) / n, a proportion in [-1, 1]. The adjusted Wald
interval adds 3 to n and 3/4 to each of promoters and detractors:
n' = n + 3, p+ = (promoters + 3/4) / n', p- = (detractors + 3/4) / n',
v = (p+ + p- - (p+ - p-)^2) / n', interval (p+ - p-) +- z sqrt(v), clipped to
[-1, 1] (DESIGN 5.4). Counts may be weighted: with sampling weights pass the
weighted shares times the design-based effective n (the score's variance over its
linearised variance, :func:`cxlab.stats.survey.domain_means`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy import stats as sps

from . import Z95


@dataclass(frozen=True)
class AdjustedNps:
    """One score: raw NPS, its interval, and the adjusted centre and variance used by tests of differences."""

    n: float
    nps: float | None
    ci_low: float | None
    ci_high: float | None
    adjusted: float | None
    variance: float | None


def adjusted_wald(promoters: float, detractors: float, n: float, z: float = Z95) -> AdjustedNps:
    """The NPS of ``promoters`` and ``detractors`` out of ``n`` with its adjusted-Wald interval.

    Parameters
    ----------
    promoters, detractors : float
        Counts (or weighted shares times the effective n).
    n : float
        Responses (or the effective n); 0 gives undefined figures (None).
    z : float
        Normal quantile (the exact 95% quantile by default).

    Returns
    -------
    AdjustedNps
    """
    promoters, detractors, n = float(promoters), float(detractors), float(n)
    if not n > 0:
        return AdjustedNps(n, None, None, None, None, None)
    if promoters < 0 or detractors < 0 or promoters + detractors > n * (1 + 1e-12):
        raise ValueError(f"promoters ({promoters}) and detractors ({detractors}) do not fit in n = {n}")
    n_adj = n + 3
    pp, pd_ = (promoters + 0.75) / n_adj, (detractors + 0.75) / n_adj
    centre = pp - pd_
    v = (pp + pd_ - centre ** 2) / n_adj
    half = z * float(np.sqrt(v))
    return AdjustedNps(n, (promoters - detractors) / n, max(-1.0, centre - half), min(1.0, centre + half),
                       centre, v)


@dataclass(frozen=True)
class Difference:
    """A difference a - b with its interval and two-sided p-value (None when undefined)."""

    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    z: float | None = None
    adjusted: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        """``diff``, ``ci_low``, ``ci_high``, ``p``, and ``diff_adjusted`` when the interval and test are
        centred on an adjusted difference (NPS)."""
        out = {"diff": self.diff, "ci_low": self.ci_low, "ci_high": self.ci_high, "p": self.p}
        if self.adjusted is not None:
            out["diff_adjusted"] = self.adjusted
        return out


def tested_difference(pair: Mapping[str, Any]) -> float | None:
    """The difference a pair's interval and test are about, whose sign letters and direction words follow:
    ``diff_adjusted`` (an NPS pair's adjusted difference d) when present, else ``diff``."""
    return pair.get("diff_adjusted", pair["diff"])


UNDEFINED = Difference(None, None, None, None)


def nps_difference(a: AdjustedNps, b: AdjustedNps, z: float = Z95) -> Difference:
    """NPS of ``a`` minus NPS of ``b`` (DESIGN 5.4 pairs).

    ``diff`` is the raw difference; with the adjusted values d = adj_a - adj_b
    (``adjusted``), the interval is d +- z sqrt(v_a + v_b) (centred on the
    adjusted difference) and the two-sided test is z = d / sqrt(v_a + v_b); the
    sign of d, not of ``diff``, says which score the test favours.
    """
    if a.nps is None or b.nps is None:
        return UNDEFINED
    d = a.adjusted - b.adjusted
    se = float(np.sqrt(a.variance + b.variance))
    stat = d / se
    return Difference(a.nps - b.nps, d - z * se, d + z * se, float(2 * sps.norm.sf(abs(stat))), stat, d)
