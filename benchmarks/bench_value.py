"""Benchmark: the value study (issue 21) at 100,000 customers / about 1,000,000 transactions, and 1,000,000
customers from Parquet.

Cases (2-core machine; targets from issue 21):

- ``fit``: load + analysis (both models per NPS group, CLV over 36 months, holdout check) and the three
  figures rendered to PNG, without the bootstrap: target < 10 s.
- ``bootstrap``: the same with 200 customer bootstrap refits, on 1 and on 2 worker processes: target < 60 s.
- ``parquet``: 1,000,000 customers (about 10 million transactions) written to Parquet with
  ``cxlab.synth.write_parquet`` (chunked), then load + analysis without the bootstrap in a fresh process:
  target < 60 s and < 2 GB.

Each row gives the wall seconds, the CPU seconds (process and workers) and the load average before the case: the
machine is shared, so the wall time under load overstates what an idle 2-core machine takes.

The embedded data use ``rate: 5.5`` (purchase rates x 5.5: about 9 purchase days per customer, 870,000 for 100,000 customers).

    .venv/bin/python benchmarks/bench_value.py [fit] [bootstrap] [parquet]
"""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, measure_command  # noqa: E402

STUDY = {"study": "value-bench", "notebook": "value", "data": {"synthetic": "transactions", "n": 100_000, "seed": 1,
                                                               "options": {"rate": 5.5},
                                                               "columns": {"experience": "nps"}},
         "experience": {"scale": [0, 10], "tiers": {"detractor": [0, 6], "passive": [7, 8], "promoter": [9, 10]}},
         "observation_end": "2025-12-31", "holdout_from": "2025-07-01", "horizon": 36, "discount_rate": 0.1,
         "margin": 0.3, "value_unit": "EUR", "bootstrap": {"resamples": 0, "seed": 0}}

RUN = """
import json, sys, time
t0 = time.perf_counter()
import cxlab
from cxlab import plots
from cxlab.studies.value import analysis, figures, load
study = cxlab.parse_study(json.loads(sys.argv[1]), base_dir=sys.argv[2])
t = time.perf_counter()
data, _ = load.read(study, base_dir=sys.argv[2])
t_load = time.perf_counter() - t
result = analysis.analyze(data, study)
t_analysis = time.perf_counter() - t - t_load
for ax in (figures.clv_by_group(result.groups, "EUR"), figures.holdout_fit(result.holdout),
           figures.p_alive_matrix(result.fits[result.results["best_group"]][0].params, T=52.0)):
    plots.figure_bytes(ax.figure)
print(json.dumps({"load": t_load, "analysis": t_analysis, "total": time.perf_counter() - t,
                  "customers": data.customers.shape[0], "transactions": data.transactions,
                  "failed": result.results["bootstrap"]["failed"],
                  "difference": result.results["difference"]}))
"""


def run(study: dict, base: Path) -> dict:
    """Wall seconds and peak MB of the case in a fresh process, with its CPU seconds (the process and its
    bootstrap workers: on a loaded machine the wall time overstates what an idle one takes) and the load average
    before it started."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = measure_command([sys.executable, "-c", RUN, json.dumps(study), str(base)])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out["rc"] != 0:
        raise SystemExit(out["err"])
    out["cpu"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)
    out["load"] = round(load, 1)
    return out


def _row(case: str, out: dict) -> str:
    return json.dumps({"case": case, "seconds": round(out["seconds"], 1), "cpu_seconds": out["cpu"],
                       "peak_mb": round(out["peak_mb"]), "load_average": out["load"]})


def main(cases: list[str]) -> None:
    if "fit" in cases:
        print(_row("100k customers, no bootstrap", run(STUDY, ROOT)), flush=True)
    if "bootstrap" in cases:
        for workers in (1, 2):
            study = {**STUDY, "bootstrap": {"resamples": 200, "seed": 0, "workers": workers}}
            print(_row(f"100k customers, 200 bootstrap refits, {workers} worker(s)", run(study, ROOT)), flush=True)
    if "parquet" in cases:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "transactions.parquet"
            t = time.perf_counter()
            from cxlab import synth
            synth.write_parquet("transactions", 1_000_000, path, seed=1, rate=5.5)
            print(json.dumps({"case": "write parquet, 1M customers", "seconds": round(time.perf_counter() - t, 1),
                              "bytes": path.stat().st_size}), flush=True)
            study = {**STUDY, "data": {"path": str(path), "columns": {"experience": "nps"}}}
            print(_row("1M customers from Parquet, no bootstrap", run(study, Path(tmp))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["fit", "bootstrap", "parquet"])
