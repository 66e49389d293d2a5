"""Validation: how often each leaders test rejects on null panels (DESIGN 5.3 wave 2 and issue 20, target at most 7%).

Null panels come from ``cxlab.synth.panel`` with ``beta=0`` (the CX score is unrelated to growth) and
``company_sd > 0`` (each company keeps a persistent growth rate, and the same companies lead period after
period). The multi-sector settings add sector-period shocks (``sector_sd``) to sectors whose CX levels differ,
so with cut-offs over all companies (``within: null``) leaders and laggards come unevenly from sectors; they
mirror the shipped study files (``params/leaders.yaml``: 300 companies, 10 periods, within sector;
``params/leaders-pooled.yaml``: 500 companies, 8 periods, within null) and run every quantile pair a report
shows (0.75/0.25, 0.8/0.2 and 0.9/0.1: the shipped cut-offs and the sensitivity table). For each panel and
pair the study's pipeline runs as in ``analysis.analyze``; the script reports, with Wilson 95% intervals:

- ``adjusted_p < 0.05``: the sector-adjusted company-clustered test the headline relies on (target at most 7%);
- ``adjusted block CI excl. 0`` and ``adjusted gap CI excl. 0``: its company block bootstrap intervals of the
  difference and of the annualised gap (the intervals the headline's words use);
- ``cluster_p < 0.05``, ``block CI excl. 0``, ``gap CI excl. 0``: the pooled figures (a description since
  issue 20; equal to the adjusted ones on single-sector panels);
- ``welch_p < 0.05``: the naive test (company-periods taken as independent);
- ``period t-test p < 0.05``: a one-sample t test over the period differences (no remedy, DESIGN 5.3).

And, with a true leader effect (``--power-beta``, default 0.01 per standard deviation of CX), the power of the
adjusted and of the pooled test (``--panels 0`` runs the power panels only).

    .venv/bin/python benchmarks/calibrate_leaders.py [--panels 1000] [--resamples 300] [--only NAME-PART]
"""
from __future__ import annotations

import argparse
import time

from scipy import stats as sps

from cxlab import fmt
from cxlab.stats.proportions import wilson_interval
from cxlab.studies.leaders import inference, portfolios
from cxlab.synth.panel import QUANTILE_PAIRS, panel

SETTINGS = {
    "leaders.yaml: within sector, 300 companies, 5 sectors, 10 periods, company_sd 0.05, sector_sd 0.06":
        {"n": 300, "periods": 10, "sectors": 5, "company_sd": 0.05, "sector_sd": 0.06, "within": "sector"},
    "leaders-pooled.yaml: within null, 500 companies, 5 sectors, 8 periods, company_sd 0.05, sector_sd 0.06":
        {"n": 500, "periods": 8, "sectors": 5, "company_sd": 0.05, "sector_sd": 0.06, "within": None},
    "small: within null, 60 companies, 3 sectors, 10 periods, company_sd 0.10, sector_sd 0.06":
        {"n": 60, "periods": 10, "sectors": 3, "company_sd": 0.10, "sector_sd": 0.06, "within": None},
    "small: within sector, 60 companies, 3 sectors, 10 periods, company_sd 0.10":
        {"n": 60, "periods": 10, "sectors": 3, "company_sd": 0.10, "sector_sd": 0.03, "within": "sector"},
    "one sector: within null, 200 companies, 10 periods, company_sd 0.15":
        {"n": 200, "periods": 10, "sectors": 1, "company_sd": 0.15, "sector_sd": 0.03, "within": None},
}


def panel_runs(seed: int, setting: dict, beta: float, resamples: int) -> dict[tuple[float, float], dict]:
    """The summary figures of one synthetic panel for every quantile pair, plus the period t test."""
    frame = panel(n=setting["n"], periods=setting["periods"], sectors=setting["sectors"], seed=seed, beta=beta,
                  company_sd=setting["company_sd"], sector_sd=setting["sector_sd"])
    cand = portfolios.company_periods(frame, setting["within"])
    out = {}
    for hi, lo in QUANTILE_PAIRS:
        assigned = portfolios.portfolios(cand, hi, lo, setting["within"])
        table = portfolios.period_table(assigned)
        s = inference.summarize(assigned, table, None, resamples=resamples, seed=seed)
        s["period_t_p"] = float(sps.ttest_1samp(table["difference"], 0).pvalue)
        out[(hi, lo)] = s
    return out


def rate(flags: list[bool]) -> str:
    k, n = int(sum(flags)), len(flags)
    low, high = wilson_interval(k, n)
    return f"{fmt.pct(k / n, 1)} ({fmt.pct(float(low), 1)} to {fmt.pct(float(high), 1)}), {k} of {n}"


def excludes(lo: float | None, hi: float | None) -> bool:
    return lo is not None and (lo > 0 or hi < 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=1000, help="null panels per setting")
    parser.add_argument("--resamples", type=int, default=300, help="bootstrap resamples per panel (0 skips them)")
    parser.add_argument("--power-panels", type=int, default=200)
    parser.add_argument("--power-beta", type=float, default=0.01, help="true growth per SD of CX for the power runs")
    parser.add_argument("--only", default="", help="run the settings whose name contains this text")
    args = parser.parse_args()
    for name, setting in SETTINGS.items():
        if args.only not in name:
            continue
        t0 = time.perf_counter()
        runs = [panel_runs(seed, setting, 0.0, args.resamples) for seed in range(args.panels)]
        power = [panel_runs(100_000 + seed, setting, args.power_beta, 0) for seed in range(args.power_panels)]
        print(f"== null panels, {name} ({time.perf_counter() - t0:.0f} s)", flush=True)
        for pair in QUANTILE_PAIRS:
            rs, ps = [r[pair] for r in runs], [r[pair] for r in power]
            print(f"  cut-offs {pair[0]:g}/{pair[1]:g}, adjustment {(rs or ps)[0]['adjustment']}")
            if args.power_panels:
                b = args.power_beta
                print(f"    power, beta {b:g}: adjusted   "
                      f"{rate([r['adjusted_p'] < 0.05 and r['adjusted_diff'] > 0 for r in ps])}")
                print(f"    power, beta {b:g}: pooled     "
                      f"{rate([r['cluster_p'] < 0.05 and r['cluster_diff'] > 0 for r in ps])}")
            if not rs:
                continue
            print(f"    adjusted test p < 0.05       {rate([r['adjusted_p'] < 0.05 for r in rs])}   "
                  "<- headline, target <= 7%")
            if args.resamples:
                print("    adjusted block CI excl. 0    "
                      f"{rate([excludes(r['adjusted_block_ci_low'], r['adjusted_block_ci_high']) for r in rs])}")
                print("    adjusted gap CI excl. 0      " + rate(
                    [excludes(r['adjusted_annualised_gap_ci_low'], r['adjusted_annualised_gap_ci_high']) for r in rs]))
            print(f"    pooled clustered p < 0.05    {rate([r['cluster_p'] < 0.05 for r in rs])}   (description)")
            if args.resamples:
                print(f"    pooled block CI excl. 0      "
                      f"{rate([excludes(r['block_ci_low'], r['block_ci_high']) for r in rs])}")
                print(f"    pooled gap CI excl. 0        "
                      f"{rate([excludes(r['annualised_gap_ci_low'], r['annualised_gap_ci_high']) for r in rs])}")
            print(f"    naive Welch p < 0.05         {rate([r['welch_p'] < 0.05 for r in rs])}")
            print(f"    period t-test p < 0.05       {rate([r['period_t_p'] < 0.05 for r in rs])}", flush=True)


if __name__ == "__main__":
    main()
