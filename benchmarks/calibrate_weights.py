"""Validation: coverage of the sampling-weight intervals, design-based (issue 20) against Kish's n (before).

Informative weights: the sample over-represents some latent groups of a population (selection probability
``q_g`` against population share ``pi_g``), the groups' outcomes differ, and each weight is
``pi_g / q_g`` times an independent mean-1 log-normal factor (raking noise). So the weights go with the
outcome, which Kish's n, a function of the weights alone, cannot see. Every simulated sample is analysed by
the study code (loyalty: :func:`cxlab.studies.loyalty.analysis.rates_by_tier`; metrics: the Cells of
:func:`cxlab.studies.metrics.analysis.cells` and their ``compare``), and the intervals are checked against the
population truth of each domain (tier, segment level, or everyone). "old" recomputes the same intervals with
Kish's effective n in place of the design-based one (the code before issue 20). Reported with Wilson 95%
intervals of the coverage; target 93-97%.

    .venv/bin/python benchmarks/calibrate_weights.py [--sims 2000] [--only NAME-PART]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from cxlab.params import parse_study
from cxlab.stats.means import mean_t_interval
from cxlab.stats.nps import adjusted_wald, nps_difference
from cxlab.stats.proportions import newcombe_difference, wilson_interval
from cxlab.studies.loyalty.analysis import rates_by_tier
from cxlab.studies.metrics import analysis as M
from cxlab.studies.metrics.counts import aggregate


@dataclass
class Scenario:
    """A population of latent groups g (rows) by domains d (columns) and a sample design over g.

    ``pi``: population shares of the groups; ``q``: their shares in the sample; ``domain``: P(d | g), the same
    in population and sample (selection depends on g only); ``outcome``: per (g, d) the probabilities of the
    categories (loyalty: [no, yes]; NPS: [detractor, passive, promoter]; CSAT: ratings 1-5, top box 4-5).
    """

    name: str
    kind: str                      # "loyalty", "nps" or "csat"
    n: int
    pi: list[float]
    q: list[float]
    domain: list[list[float]]
    outcome: list[list[list[float]]]
    noise: float = 0.3
    values: list[float] = field(default_factory=list)

    def truth(self, f: Callable[[np.ndarray], float]) -> np.ndarray:
        """Per domain, the population value of ``f`` (applied to the category probabilities)."""
        pi, dom = np.asarray(self.pi), np.asarray(self.domain)
        joint = pi[:, None] * dom                                   # P(g, d) in the population
        vals = np.array([[f(np.asarray(p)) for p in row] for row in self.outcome])
        return (joint * vals).sum(axis=0) / joint.sum(axis=0)

    def sample(self, rng: np.random.Generator) -> pd.DataFrame:
        q, dom = np.asarray(self.q), np.asarray(self.domain)
        g = rng.choice(len(q), size=self.n, p=q)
        u = rng.random(self.n)
        d = (u[:, None] > np.cumsum(dom[g], axis=1)).sum(axis=1)
        probs = np.asarray(self.outcome)[g, d]
        cat = (rng.random(self.n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
        w = (np.asarray(self.pi) / q)[g] * np.exp(rng.normal(-self.noise ** 2 / 2, self.noise, self.n))
        return pd.DataFrame({"d": d, "cat": np.minimum(cat, probs.shape[1] - 1), "w": w})


TWO = [[0.5, 0.5], [0.5, 0.5]]
THREE = [[0.3, 0.4, 0.3], [0.3, 0.4, 0.3]]
SCENARIOS = [
    # a heavily weighted group (5% of the sample, half the population) whose outcome hardly varies: the weights
    # vary a lot but add little variance, so Kish's n is far too small
    Scenario("loyalty, high weights on a group that rarely says yes (Kish too wide)", "loyalty", 1500,
             [0.5, 0.5], [0.95, 0.05], THREE,
             [[[0.5, 0.5], [0.4, 0.6], [0.3, 0.7]], [[0.95, 0.05], [0.94, 0.06], [0.93, 0.07]]]),
    # a heavily weighted group (5% of the sample, 10% of the population) unlike the rest: its rows carry the
    # variance, so Kish's n is too large
    Scenario("loyalty, high weights on a group unlike the rest (Kish too narrow)", "loyalty", 1500,
             [0.9, 0.1], [0.95, 0.05], THREE,
             [[[0.97, 0.03], [0.96, 0.04], [0.95, 0.05]], [[0.5, 0.5], [0.45, 0.55], [0.4, 0.6]]]),
    Scenario("loyalty, small tiers (about 50 rows each), 3 groups, moderate weights", "loyalty", 150,
             [0.2, 0.3, 0.5], [0.5, 0.3, 0.2], [[0.3, 0.4, 0.3]] * 3,
             [[[0.7, 0.3], [0.6, 0.4], [0.5, 0.5]], [[0.5, 0.5], [0.4, 0.6], [0.3, 0.7]],
              [[0.3, 0.7], [0.2, 0.8], [0.1, 0.9]]]),
    Scenario("NPS, high weights on a group of promoters (Kish too wide)", "nps", 1500,
             [0.5, 0.5], [0.95, 0.05], TWO,
             [[[0.35, 0.35, 0.3], [0.3, 0.35, 0.35]], [[0.01, 0.04, 0.95], [0.01, 0.05, 0.94]]]),
    Scenario("NPS, high weights on a divided group among passives (Kish too narrow)", "nps", 1500,
             [0.9, 0.1], [0.95, 0.05], TWO,
             [[[0.03, 0.94, 0.03], [0.04, 0.92, 0.04]], [[0.5, 0.0, 0.5], [0.45, 0.05, 0.5]]]),
    Scenario("NPS, small segments (about 60 each), 3 groups, moderate weights", "nps", 120,
             [0.2, 0.3, 0.5], [0.5, 0.3, 0.2], [[0.5, 0.5]] * 3,
             [[[0.1, 0.3, 0.6], [0.15, 0.3, 0.55]], [[0.3, 0.3, 0.4], [0.3, 0.35, 0.35]],
              [[0.5, 0.3, 0.2], [0.55, 0.25, 0.2]]]),
    Scenario("CSAT top box and mean, high weights on the satisfied (Kish too wide)", "csat", 1500,
             [0.5, 0.5], [0.95, 0.05], TWO,
             [[[0.2, 0.2, 0.3, 0.2, 0.1], [0.15, 0.25, 0.3, 0.2, 0.1]],
              [[0.0, 0.01, 0.02, 0.07, 0.9], [0.0, 0.01, 0.02, 0.07, 0.9]]]),
    Scenario("CSAT top box and mean, high weights on a divided group (Kish too narrow)", "csat", 1500,
             [0.9, 0.1], [0.95, 0.05], TWO,
             [[[0.01, 0.02, 0.9, 0.04, 0.03], [0.01, 0.02, 0.9, 0.03, 0.04]],
              [[0.5, 0.0, 0.0, 0.0, 0.5], [0.45, 0.05, 0.0, 0.0, 0.5]]]),
]

METRICS_STUDY = parse_study({"study": "calibrate", "notebook": "metrics",
                             "data": {"synthetic": "survey", "n": 100, "seed": 0}, "segments": ["seg"],
                             "weight": {"column": "w", "kind": "sampling"}})


def _inside(low, high, truth) -> bool:
    return low is not None and high is not None and low <= truth <= high


def run_loyalty(s: Scenario, rng: np.random.Generator) -> dict[str, list[bool]]:
    truth = s.truth(lambda p: p[1])
    frame = s.sample(rng)
    labels = [str(i) for i in range(len(s.domain[0]))]
    frame = pd.DataFrame({"experience": frame["d"].astype(float) + 1,
                          "tier": pd.Categorical.from_codes(frame["d"], categories=labels, ordered=True),
                          "y": frame["cat"].astype(float), "weight": frame["w"]})
    table = rates_by_tier(frame, "y", "sampling")
    out: dict[str, list[bool]] = {"rate new": [], "rate old": []}
    for (_, r), t in zip(table.iterrows(), truth):
        out["rate new"].append(_inside(r.ci_low, r.ci_high, t))
        lo, hi = wilson_interval(r.rate * r.n_eff, r.n_eff)
        out["rate old"].append(_inside(float(lo), float(hi), t))
    return out


def _metrics_frame(s: Scenario, frame: pd.DataFrame) -> pd.DataFrame:
    values = {"nps": np.array([0.0, 7.0, 10.0]), "csat": np.arange(1.0, 6.0)}[s.kind]
    levels = [str(i) for i in range(len(s.domain[0]))]
    return pd.DataFrame({s.kind: values[frame["cat"].to_numpy()],
                         "seg": pd.Categorical.from_codes(frame["d"], categories=levels),
                         "weight": frame["w"]})


def run_metrics(s: Scenario, rng: np.random.Generator) -> dict[str, list[bool]]:
    frame = _metrics_frame(s, s.sample(rng))
    data = aggregate(frame, METRICS_STUDY)
    by_seg = M.cells(data, s.kind, METRICS_STUDY, ("seg",))
    everyone = M.cells(data, s.kind, METRICS_STUDY, ())[None]
    groups = [everyone, *by_seg.values()]
    out: dict[str, list[bool]] = {}

    def add(key: str, ok: bool) -> None:
        out.setdefault(key, []).append(ok)

    if s.kind == "nps":
        f = lambda p: p[2] - p[0]                                   # noqa: E731
        truth = np.array([s.truth(f) @ (np.asarray(s.pi)[:, None] * s.domain).sum(axis=0), *s.truth(f)])
        olds = []
        for c, t in zip(groups, truth):
            new = c.nps()
            old = adjusted_wald(c.share("pro") * c.n_eff, c.share("det") * c.n_eff, c.n_eff)
            olds.append(old)
            add("NPS new", _inside(new.ci_low, new.ci_high, t))
            add("NPS old", _inside(old.ci_low, old.ci_high, t))
        a, b = list(by_seg.values())[:2]
        d = truth[1] - truth[2]
        new = M.compare(a, b)
        old = nps_difference(olds[1], olds[2])
        add("NPS pair new", _inside(new.ci_low, new.ci_high, d))
        add("NPS pair old", _inside(old.ci_low, old.ci_high, d))
        return out
    top = lambda p: p[3] + p[4]                                     # noqa: E731
    mean = lambda p: float(p @ np.arange(1.0, 6.0))                 # noqa: E731
    weights = (np.asarray(s.pi)[:, None] * s.domain).sum(axis=0)
    truth_top = np.array([s.truth(top) @ weights / weights.sum(), *s.truth(top)])
    truth_mean = np.array([s.truth(mean) @ weights / weights.sum(), *s.truth(mean)])
    for c, tt, tm in zip(groups, truth_top, truth_mean):
        f = c.figures()
        add("top box new", _inside(f["ci_low"], f["ci_high"], tt))
        lo, hi = wilson_interval(c.share("top") * c.n_eff, c.n_eff)
        add("top box old", _inside(float(lo), float(hi), tt))
        add("mean new", _inside(f["mean_ci_low"], f["mean_ci_high"], tm))
        _, mlo, mhi = mean_t_interval(c.w, float(c.sums["wx"]), float(c.sums["wx2"]), c.n_eff)
        add("mean old", _inside(mlo, mhi, tm))
    a, b = list(by_seg.values())[:2]
    d = truth_top[1] - truth_top[2]
    new = M.compare(a, b)
    old = newcombe_difference(a.share("top") * a.n_eff, a.n_eff, b.share("top") * b.n_eff, b.n_eff)
    add("top-box pair new", _inside(new.ci_low, new.ci_high, d))
    add("top-box pair old", _inside(old.ci_low, old.ci_high, d))
    return out


def coverage(s: Scenario, sims: int, seed: int = 0) -> dict[str, tuple[int, int]]:
    """Intervals that contain the truth, and intervals, per figure (all domains of all simulations)."""
    rng = np.random.default_rng(seed)
    runner = run_loyalty if s.kind == "loyalty" else run_metrics
    totals: dict[str, list[int]] = {}
    for _ in range(sims):
        for key, hits in runner(s, rng).items():
            t = totals.setdefault(key, [0, 0])
            t[0] += sum(hits)
            t[1] += len(hits)
    return {k: (v[0], v[1]) for k, v in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    for s in SCENARIOS:
        if args.only and args.only not in s.name:
            continue
        start = time.perf_counter()
        result = coverage(s, args.sims)
        print(f"\n{s.name} (n = {s.n}, {args.sims} samples, {time.perf_counter() - start:.0f} s)")
        for key, (hit, total) in result.items():
            lo, hi = wilson_interval(hit, total)
            print(f"  {key:<18} {hit / total:6.1%}  ({float(lo):.1%} to {float(hi):.1%}, {total} intervals)")


if __name__ == "__main__":
    main()
