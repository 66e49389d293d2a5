"""Benchmark: the retention study at 10k, 100k and 1M customers (embedded data), and 10M from Parquet.

The embedded cases use the default study (params/retention.yaml: durations derived from dates, a
categorical covariate, value per period) with a larger n, end to end (`cxlab run`) and the analysis
alone. The Parquet case (issue 15) writes 10,000,000 synthetic customers with `cxlab.synth.write_parquet`
(chunked), then measures load + analysis in a fresh process for the study with a categorical covariate,
once with durations and events read from the file and once with durations derived from the dates, and
`cxlab run` end to end on the first; the file is deleted afterwards. Targets (2-core machine): 1M
customers end to end under 90 s and 3 GB (issue 3); 10M from Parquet under 30 s and 2 GB (issue 15).

    .venv/bin/python benchmarks/bench_retention.py [n ...]        # embedded cases
    .venv/bin/python benchmarks/bench_retention.py --parquet [n]  # Parquet case (default 10,000,000)
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, analysis_alone, measure_command, measure_study, write_study, cxlab_run  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
PARQUET_ROWS = 10_000_000


def study(n: int) -> dict:
    raw = yaml.safe_load((ROOT / "params" / "retention.yaml").read_text())
    raw["study"] = f"retention-{n}"
    raw["data"]["n"] = n
    raw["data"]["seed"] = 1
    return raw


def parquet_study(path: Path, dates: bool) -> dict:
    raw = {"study": "retention-parquet" + ("-dates" if dates else ""), "notebook": "retention",
           "title": "Retention, 10M customers from Parquet", "data": {"path": str(path)},
           "experience": {"scale": [1, 5], "tiers": None}, "time_unit": "months", "horizons": [12, 24],
           "rmst_tau": 60, "covariates": ["channel"]}
    if dates:
        raw["observation_end"] = "2025-12-31"
    return raw


def parquet_case(n: int = PARQUET_ROWS) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "lifecycles.parquet"
        gen = measure_command([sys.executable, "-c", "import sys; from cxlab import synth; "
                               f"synth.write_parquet('lifecycles', {n}, {str(path)!r}, seed=1)"])
        print(json.dumps({"case": "write parquet", "n": n, "seconds": round(gen["seconds"], 1),
                          "peak_mb": round(gen["peak_mb"]), "bytes": path.stat().st_size}), flush=True)
        try:
            for dates in (False, True):
                s = parquet_study(path, dates)
                alone = analysis_alone("retention", s)
                print(json.dumps({"case": "load + analysis", "n": n, "durations": "dates" if dates else "column",
                                  "seconds": round(alone["seconds"], 1), "peak_mb": round(alone["peak_mb"])}),
                      flush=True)
            s = parquet_study(path, False)
            file = write_study(tmp / "params", s)
            e2e = measure_command(cxlab_run(str(file), "--out", str(tmp / "out"), "--force", "--jobs", "1"))
            print(json.dumps({"case": "cxlab run end to end", "n": n, "seconds": round(e2e["seconds"], 1),
                              "peak_mb": round(e2e["peak_mb"]), "ok": e2e["rc"] == 0,
                              **({"error": e2e["err"]} if e2e["rc"] else {})}), flush=True)
        finally:
            path.unlink(missing_ok=True)


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
    args = sys.argv[1:]
    if args[:1] == ["--parquet"]:
        parquet_case(int(args[1]) if len(args) > 1 else PARQUET_ROWS)
    else:
        main(tuple(int(a) for a in args) or SIZES)
