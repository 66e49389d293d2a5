"""Benchmark: the drivers study on 100,000 responses x 15 drivers with 1,000 bootstrap resamples.

Target (2-core machine): end to end (`cxlab run`, kernel start to published report) under 60 s for a
numeric outcome. The same data with a yes/no outcome (logistic relative weights: a Newton fit per
resample) is reported beside it, without a target.

    .venv/bin/python benchmarks/bench_drivers.py
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cxlab_run, measure_command, write_study

N, P, RESAMPLES = 100_000, 15, 1_000


def write_data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(P, P)) * 0.4 + np.eye(P)
    z = rng.normal(size=(N, P)) @ A.T
    z /= z.std(axis=0)
    ratings = np.clip(np.round(6 + 1.8 * z), 0, 10)
    y = z @ rng.uniform(0, 0.4, size=P) + rng.normal(size=N)
    frame = pd.DataFrame(ratings, columns=[f"Q{j + 1}" for j in range(P)])
    frame["satisfaction"] = np.round(7 + y, 2)
    frame["recommend"] = np.where(y > np.median(y), "yes", "no")
    (folder / "params").mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "params" / "survey.parquet")


def study(outcome: str) -> dict:
    return {"study": f"drivers-{outcome}", "notebook": "drivers",
            "data": {"path": "survey.parquet", "columns": {"outcome": outcome}},
            "drivers": [f"Q{j + 1}" for j in range(P)], "drivers_scale": [0, 10],
            "bootstrap": {"resamples": RESAMPLES, "seed": 0}}


def analysis_alone(path: Path) -> float:
    """Seconds of load + analysis in this process (imports already done)."""
    from cxlab.params import load_study_file
    from cxlab.studies.drivers import analysis, load
    s = load_study_file(path)
    t = time.perf_counter()
    analysis.analyze(load.read(s, path.parent), s)
    return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_data(tmp)
        rows = {}
        for outcome in ("satisfaction", "recommend"):
            path = write_study(tmp / "params", study(outcome))
            e2e = measure_command(cxlab_run(str(path), "--out", str(tmp / "out"), "--force", "--jobs", "1"))
            rows[outcome] = {"end_to_end_s": round(e2e["seconds"], 1), "peak_mb": round(e2e["peak_mb"]),
                             "ok": e2e["rc"] == 0, "analysis_s": round(analysis_alone(path), 1)}
            print(json.dumps({"outcome": outcome, "n": N, "drivers": P, "resamples": RESAMPLES, **rows[outcome]}),
                  flush=True)
    print("numeric outcome, 100,000 x 15, 1,000 resamples: %.1f s end to end (target < 60 s), analysis %.1f s"
          % (rows["satisfaction"]["end_to_end_s"], rows["satisfaction"]["analysis_s"]))


if __name__ == "__main__":
    main()
