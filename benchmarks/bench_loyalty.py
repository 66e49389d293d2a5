"""Benchmark: `cxlab run` on the loyalty study at 10k, 100k and 1M customers, and the analysis alone.

Targets (2-core machine): 1M customers end to end under 60 s with peak memory under 2 GB;
the notebook's fixed overhead (kernel start, imports, rendering) under 6 s.

    .venv/bin/python benchmarks/bench_loyalty.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure_study

SIZES = (100, 10_000, 100_000, 1_000_000)


def study(n: int) -> dict:
    return {"study": f"loyalty-{n}", "notebook": "loyalty", "data": {"synthetic": "customers", "n": n, "seed": 1},
            "outcomes": ["repurchase", "recommend", "retain", "refer"]}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        measure_study("loyalty", study(100), tmp)  # warm-up: bytecode and font caches, not counted
        for n in SIZES:
            rows.append({"n": n, **measure_study("loyalty", study(n), tmp)})
            print(json.dumps(rows[-1]), flush=True)
    print("fixed overhead (n = 100, end to end): %.2f s (target < 6 s)" % rows[0]["end_to_end_s"])
    big = rows[-1]
    print("1M customers: %.1f s (target < 60 s), peak %d MB (target < 2048 MB)" % (big["end_to_end_s"], big["end_to_end_peak_mb"]))


if __name__ == "__main__":
    main()
