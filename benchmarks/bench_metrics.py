"""Benchmark: `cxlab run` on the metrics study with 1,000,000 responses, 3 segments and 8 waves, and the
analysis alone (load + analyze), beside a small run for the fixed overhead.

Target (2-core machine): 1M responses, 3 segments, 8 waves end to end under 30 s with peak memory under 2 GB.

    .venv/bin/python benchmarks/bench_metrics.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure_study

SIZES = (2_000, 100_000, 1_000_000)


def study(n: int) -> dict:
    return {"study": f"metrics-{n}", "notebook": "metrics",
            "data": {"synthetic": "survey", "n": n, "seed": 1, "options": {"waves": 8, "scenario": "mix"}},
            "segments": ["plan", "region", "channel"], "mix_by": "plan"}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        measure_study("metrics", study(2_000), tmp)  # warm-up: bytecode and font caches, not counted
        for n in SIZES:
            rows.append({"n": n, **measure_study("metrics", study(n), tmp)})
            print(json.dumps(rows[-1]), flush=True)
    big = rows[-1]
    print("1M responses, 3 segments, 8 waves: %.1f s (target < 30 s), peak %d MB (target < 2048 MB)"
          % (big["end_to_end_s"], big["end_to_end_peak_mb"]))


if __name__ == "__main__":
    main()
