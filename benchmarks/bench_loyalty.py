"""Benchmark: `cxlab run` on the loyalty study at 10k, 100k and 1M customers, and 10M from Parquet; the analysis alone.

Targets (2-core machine): 1M customers end to end under 60 s with peak memory under 2 GB;
the notebook's fixed overhead (kernel start, imports, rendering) under 6 s; 10M customers from Parquet
under 20 s and 1.5 GB (issue 15: the notebook streams the file into sufficient statistics).

    .venv/bin/python benchmarks/bench_loyalty.py            # every size
    .venv/bin/python benchmarks/bench_loyalty.py --big      # the 10M Parquet case only
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure_study, synth_parquet

SIZES = (100, 10_000, 100_000, 1_000_000)
BIG = 10_000_000
OUTCOMES = ["repurchase", "recommend", "retain", "refer"]


def study(n: int) -> dict:
    return {"study": f"loyalty-{n}", "notebook": "loyalty", "data": {"synthetic": "customers", "n": n, "seed": 1},
            "outcomes": OUTCOMES}


def big_case(tmp: Path) -> dict:
    """10M customers from a Parquet file (written in chunks by `cxlab synth`, deleted afterwards)."""
    data = tmp / "customers-10m.parquet"
    written = synth_parquet("customers", BIG, data)
    try:
        spec = {"study": "loyalty-10m-parquet", "notebook": "loyalty", "data": {"path": str(data)},
                "outcomes": OUTCOMES}
        row = {"n": BIG, "source": "parquet", "generate_s": round(written, 1),
               **measure_study("loyalty", spec, tmp, loader="read_cells")}
    finally:
        data.unlink(missing_ok=True)
    return row


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        measure_study("loyalty", study(100), tmp)  # warm-up: bytecode and font caches, not counted
        if "--big" not in sys.argv:
            for n in SIZES:
                rows.append({"n": n, **measure_study("loyalty", study(n), tmp, loader="read_cells")})
                print(json.dumps(rows[-1]), flush=True)
        rows.append(big_case(tmp))
        print(json.dumps(rows[-1]), flush=True)
    if "--big" not in sys.argv:
        print("fixed overhead (n = 100, end to end): %.2f s (target < 6 s)" % rows[0]["end_to_end_s"])
        print("1M customers: %.1f s (target < 60 s), peak %d MB (target < 2048 MB)"
              % (rows[-2]["end_to_end_s"], rows[-2]["end_to_end_peak_mb"]))
    big = rows[-1]
    print("10M customers from Parquet: %.1f s (target < 20 s), peak %d MB (target < 1536 MB); read + analysis "
          "alone %.1f s, %d MB" % (big["end_to_end_s"], big["end_to_end_peak_mb"], big["analysis_s"],
                                   big["analysis_peak_mb"]))


if __name__ == "__main__":
    main()
