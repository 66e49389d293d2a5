"""Validation: how often each leaders test rejects on null panels (DESIGN 5.3 wave 2, target at most 7%).

Null panels come from ``cxlab.synth.panel`` with ``beta=0`` (the CX score is unrelated to growth) and
``company_sd > 0`` (each company keeps a persistent growth rate, and the same companies lead period after
period). For each panel the study's pipeline runs as in ``analysis.analyze`` (0.75/0.25 cut-offs); the
script reports, with Wilson 95% intervals over panels:

- ``cluster_p < 0.05``: the company-clustered test the headline relies on (target at most 7%);
- ``block CI excludes 0``: the company block bootstrap interval;
- ``welch_p < 0.05`` and ``row CI excludes 0``: the naive figures (company-periods taken as independent);
- ``period t-test p < 0.05``: a one-sample t test over the period differences (no remedy, DESIGN 5.3).

And, with a true leader effect (``beta=0.03``), the clustered test's power.

    .venv/bin/python benchmarks/calibrate_leaders.py [--panels 500] [--resamples 500]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as sps

from cxlab import fmt
from cxlab.stats.proportions import wilson_interval
from cxlab.studies.leaders import analysis as A
from cxlab.synth.panel import panel

SETTINGS = {
    "within sector: 60 companies, 3 sectors, 10 periods, company_sd 0.10":
        {"n": 60, "periods": 10, "sectors": 3, "company_sd": 0.10, "within": "sector"},
    "pooled: 100 companies, 1 sector, 8 periods, company_sd 0.10":
        {"n": 100, "periods": 8, "sectors": 1, "company_sd": 0.10, "within": None},
    "pooled: 200 companies, 1 sector, 10 periods, company_sd 0.15":
        {"n": 200, "periods": 10, "sectors": 1, "company_sd": 0.15, "within": None},
}


def one_panel(seed: int, setting: dict, beta: float, resamples: int) -> dict:
    """The summary figures of one synthetic panel, plus the period t test."""
    frame = panel(n=setting["n"], periods=setting["periods"], sectors=setting["sectors"], seed=seed, beta=beta,
                  company_sd=setting["company_sd"])
    cand = A.company_periods(frame, setting["within"])
    assigned = A.portfolios(cand, 0.75, 0.25, setting["within"])
    table = A.period_table(assigned)
    s = A.summarize(assigned, table, None, resamples=resamples, seed=seed)
    s["period_t_p"] = float(sps.ttest_1samp(table["difference"], 0).pvalue)
    return s


def rate(flags: list[bool]) -> str:
    k, n = int(sum(flags)), len(flags)
    low, high = wilson_interval(k, n)
    return f"{fmt.pct(k / n, 1)} ({fmt.pct(float(low), 1)} to {fmt.pct(float(high), 1)}), {k} of {n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=500, help="null panels per setting (at least 400)")
    parser.add_argument("--resamples", type=int, default=500, help="bootstrap resamples per panel (0 skips them)")
    parser.add_argument("--power-panels", type=int, default=100)
    args = parser.parse_args()
    excludes = lambda lo, hi: lo is not None and (lo > 0 or hi < 0)
    for name, setting in SETTINGS.items():
        t0 = time.perf_counter()
        runs = [one_panel(seed, setting, 0.0, args.resamples) for seed in range(args.panels)]
        print(f"== null panels, {name} ({time.perf_counter() - t0:.0f} s)")
        print(f"  clustered test p < 0.05     {rate([r['cluster_p'] < 0.05 for r in runs])}   <- headline, target <= 7%")
        if args.resamples:
            print(f"  block bootstrap excludes 0  {rate([excludes(r['block_ci_low'], r['block_ci_high']) for r in runs])}")
            print(f"  naive row bootstrap excl. 0 {rate([excludes(r['diff_ci_low'], r['diff_ci_high']) for r in runs])}")
        print(f"  naive Welch p < 0.05        {rate([r['welch_p'] < 0.05 for r in runs])}")
        print(f"  period t-test p < 0.05      {rate([r['period_t_p'] < 0.05 for r in runs])}")
        power = [one_panel(100_000 + seed, setting, 0.03, 0) for seed in range(args.power_panels)]
        print(f"  power, beta = 0.03 per SD   {rate([r['cluster_p'] < 0.05 and r['cluster_diff'] > 0 for r in power])}")


if __name__ == "__main__":
    main()
