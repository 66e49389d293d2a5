"""Benchmark: `cxlab run` on the retention study at 10k, 100k and 1M customers, and the analysis alone.

The study is the default one (params/retention.yaml: durations derived from dates, a categorical
covariate, value per period) with a larger n. Targets (2-core machine, issue 3): 1M customers end
to end under 90 s with peak memory under 3 GB.

    .venv/bin/python benchmarks/bench_retention.py [n ...]
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, measure_study  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)


def study(n: int) -> dict:
    raw = yaml.safe_load((ROOT / "params" / "retention.yaml").read_text())
    raw["study"] = f"retention-{n}"
    raw["data"]["n"] = n
    raw["data"]["seed"] = 1
    return raw


def main(sizes: tuple[int, ...] = SIZES) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in sizes:
            rows.append({"n": n, **measure_study("retention", study(n), tmp)})
            print(json.dumps(rows[-1]), flush=True)
    big = rows[-1]
    print("%d customers: %.1f s end to end (target < 90 s), peak %d MB (target < 3072 MB)"
          % (big["n"], big["end_to_end_s"], big["end_to_end_peak_mb"]))


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
