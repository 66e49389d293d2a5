"""Benchmark: a 5,000,000-row Parquet folder through a `sql:` source, `cxlab run` end to end (loyalty study).

Target (2-core machine): under 60 s and 2 GB peak memory. The metrics study had not
landed when this was written; the loyalty study (four binary outcomes per row) stands in.
Also times reading the same rows from the other formats at 200,000 rows (reader alone).

    .venv/bin/python benchmarks/bench_formats.py
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, cxlab_run, measure_command, write_study

ROWS, PARTS = 5_000_000, 5


def write_extract(folder: Path) -> None:
    from cxlab import synth
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(PARTS):
        frame = synth.generate("customers", ROWS // PARTS, seed=part)
        frame.rename(columns={"experience": "csat"}).to_parquet(folder / f"part-{part}.parquet", index=False)


def study() -> dict:
    return {"study": "loyalty-sql-5m", "notebook": "loyalty",
            "data": {"sql": "SELECT csat, repurchase, recommend, retain, refer FROM read_parquet('extract/*.parquet')",
                     "columns": {"experience": "csat"}},
            "outcomes": ["repurchase", "recommend", "retain", "refer"]}


def read_formats(folder: Path) -> dict:
    """Seconds to read 200,000 rows from each file format (fresh process each, reader only)."""
    code = r"""
import json, sys, time
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, 'tests')
import formats_data as F
from cxlab.sources import read_source
frame = F.survey(1000)
big = frame.sample(200_000, replace=True, random_state=1).reset_index(drop=True)
out = {}
for fmt in F.FORMATS:
    folder = Path(sys.argv[1]) / fmt
    spec = F.write(big, fmt, folder)
    ns = SimpleNamespace(synthetic=None, **{k: spec.get(k) for k in ('path', 'sheet', 'format', 'sql', 'database')})
    t = time.perf_counter(); read_source(ns, folder); out[fmt] = round(time.perf_counter() - t, 2)
print(json.dumps(out))
"""
    res = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_extract(tmp / "params" / "extract")
        path = write_study(tmp / "params", study())
        e2e = measure_command(cxlab_run(str(path), "--out", str(tmp / "out"), "--force", "--jobs", "1"))
        doc = json.loads((tmp / "out" / "loyalty-sql-5m" / "results.json").read_text())
        print(json.dumps({"rows": ROWS, "end_to_end_s": round(e2e["seconds"], 1), "peak_mb": round(e2e["peak_mb"]),
                          "ok": e2e["rc"] == 0, "n": doc["results"].get("n"), "inputs": len(doc["provenance"]["inputs"])}))
        print("5M rows via sql: %.1f s (target < 60 s), peak %d MB (target < 2048 MB)"
              % (e2e["seconds"], e2e["peak_mb"]))
        print("reading 200,000 rows, seconds by format:", json.dumps(read_formats(tmp / "formats")))


if __name__ == "__main__":
    main()
