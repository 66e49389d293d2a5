"""Benchmark: `cxlab run` on the metrics study with 1,000,000 responses, 3 segments and 8 waves, and 10,000,000 from
Parquet, and the analysis alone (load + analyze), beside a small run for the fixed overhead.

Target (2-core machine): 1M responses, 3 segments, 8 waves end to end under 30 s with peak memory under 2 GB.
The 10M case (issue 15, no stated target) reads the file in batches into counts per group and rating value.

    .venv/bin/python benchmarks/bench_metrics.py            # every size
    .venv/bin/python benchmarks/bench_metrics.py --big      # the 10M Parquet case only
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure_study, synth_parquet

SIZES = (2_000, 100_000, 1_000_000)
BIG = 10_000_000
SETUP = {"segments": ["plan", "region", "channel"], "mix_by": "plan"}


def study(n: int) -> dict:
    return {"study": f"metrics-{n}", "notebook": "metrics",
            "data": {"synthetic": "survey", "n": n, "seed": 1, "options": {"waves": 8, "scenario": "mix"}}, **SETUP}


def big_case(tmp: Path) -> dict:
    """10M responses from a Parquet file (written in chunks by `cxlab synth`, deleted afterwards)."""
    data = tmp / "survey-10m.parquet"
    written = synth_parquet("survey", BIG, data, waves=8, scenario="mix")
    try:
        spec = {"study": "metrics-10m-parquet", "notebook": "metrics", "data": {"path": str(data)}, **SETUP}
        return {"n": BIG, "source": "parquet", "generate_s": round(written, 1),
                **measure_study("metrics", spec, tmp, loader="read_counts")}
    finally:
        data.unlink(missing_ok=True)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        measure_study("metrics", study(2_000), tmp)  # warm-up: bytecode and font caches, not counted
        if "--big" not in sys.argv:
            for n in SIZES:
                rows.append({"n": n, **measure_study("metrics", study(n), tmp, loader="read_counts")})
                print(json.dumps(rows[-1]), flush=True)
            print("1M responses, 3 segments, 8 waves: %.1f s (target < 30 s), peak %d MB (target < 2048 MB)"
                  % (rows[-1]["end_to_end_s"], rows[-1]["end_to_end_peak_mb"]))
        rows.append(big_case(tmp))
        print(json.dumps(rows[-1]), flush=True)
    big = rows[-1]
    print("10M responses from Parquet: %.1f s, peak %d MB; read + analysis alone %.1f s, %d MB"
          % (big["end_to_end_s"], big["end_to_end_peak_mb"], big["analysis_s"], big["analysis_peak_mb"]))


if __name__ == "__main__":
    main()
