"""Benchmark: one small study end to end (issue 15): `cxlab run --out X --force params/loyalty.yaml`.

Runs it ``--repeat`` times with warm kernels (the default) and with cold ones (``CXLAB_WARM=0``),
and reports each time, the best and the median. Target: under 4 s with warm kernels. A single
`cxlab run` starts its own kernel server, so its time includes importing the study stack once;
the server starts with the command, and plans, papermill's import and Chromium's start overlap it.

    .venv/bin/python benchmarks/bench_single.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, cxlab_run, measure_command


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    row: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, warm in (("warm", "1"), ("cold", "0")):
            os.environ["CXLAB_WARM"] = warm
            times = []
            for i in range(args.repeat):
                res = measure_command(cxlab_run("--out", str(Path(tmp) / mode), "--force",
                                                str(ROOT / "params" / "loyalty.yaml")))
                if res["rc"] != 0:
                    raise SystemExit(f"cxlab run failed: {res['err']}")
                times.append(round(res["seconds"], 2))
            row[f"{mode}_s"] = times
            row[f"{mode}_best_s"] = min(times)
            row[f"{mode}_median_s"] = statistics.median(times)
    os.environ.pop("CXLAB_WARM", None)
    print(json.dumps(row))
    print(f"one small study: best {row['warm_best_s']} s warm (target < 4), {row['cold_best_s']} s cold")


if __name__ == "__main__":
    main()
