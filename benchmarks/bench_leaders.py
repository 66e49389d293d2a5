"""Benchmark: `cxlab run` on the leaders study, 5,000 companies x 30 periods, within sector, 10,000 resamples.

Target (2-core machine): end to end under 30 s. Also times the analysis alone (load + analyze, which
includes the three sensitivity cut-offs, each with its own 10,000-resample bootstrap).

    .venv/bin/python benchmarks/bench_leaders.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure_study

SIZES = ((300, 10), (5_000, 30))


def study(n: int, periods: int) -> dict:
    return {"study": f"leaders-{n}x{periods}", "notebook": "leaders",
            "data": {"synthetic": "panel", "n": n, "seed": 1, "options": {"periods": periods}},
            "benchmark": {"synthetic": "panel", "seed": 1, "options": {"periods": periods}},
            "within": "sector", "bootstrap": {"resamples": 10_000, "seed": 0}}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n, periods in SIZES:
            rows.append({"companies": n, "periods": periods,
                         **measure_study("leaders", study(n, periods), tmp, preload="import pingouin")})
            print(json.dumps(rows[-1]), flush=True)
    big = rows[-1]
    print("5,000 companies x 30 periods, within sector, 10,000 resamples: %.1f s end to end (target < 30 s), "
          "analysis alone %.1f s" % (big["end_to_end_s"], big["analysis_s"]))


if __name__ == "__main__":
    main()
