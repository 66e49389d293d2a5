"""Benchmark (issue 22): every source read in batches, a PostgreSQL server with the counts pushed down, 100M rows.

Each figure is one study's load and analysis in a fresh process (seconds, and that process's peak RSS,
``VmHWM``; the PostgreSQL server's own memory is not cxlab's and is not counted). Targets on a
2-core machine:

- 10M-row CSV into loyalty: < 30 s, < 1.5 GB;
- PostgreSQL table of 10M rows into loyalty and into retention (counts pushed down): < 30 s, < 1 GB;
- 100M rows of Parquet (written by ``cxlab synth`` in chunks): loyalty < 60 s, metrics, retention with a
  categorical covariate < 120 s, each < 2 GB;
- retention with a continuous covariate at 10M rows: < 2 GB.

    .venv/bin/python benchmarks/bench_sources.py [--data DIR] [--only csv,pg,parquet,continuous] [--big N]

``--data`` keeps the generated files between runs (default: a temporary folder); ``--big`` the Parquet rows.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import ROOT, synth_parquet

TEN_M = 10_000_000
CUSTOMERS = ["repurchase", "recommend", "retain", "refer"]


def measure(study: dict[str, Any], base: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Seconds and peak RSS (MB, ``VmHWM``) of the study's counting load and its analysis, in a fresh process."""
    code = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
from common import peak_mb
from cxlab.params import parse_study
from cxlab.registry import STUDIES
study = parse_study(json.loads(sys.argv[1]), base_dir=sys.argv[2])
load, analysis = STUDIES[study.notebook].part("load"), STUDIES[study.notebook].part("analysis")
t = time.perf_counter()
if study.notebook == "loyalty":
    data, summary = load.read_cells(study, sys.argv[2]); result = analysis.analyze(data, study)
elif study.notebook == "metrics":
    data, summary = load.read_counts(study, sys.argv[2]); result = analysis.analyze(data, study)
else:
    data, summary = load.read_counts(study, sys.argv[2]); result = analysis.analyze_counts(data, study)
seconds = time.perf_counter() - t
r = result.results
headline = (r.get("outcomes", {}).get("repurchase", {}).get("logit", {}).get("odds_ratio") if study.notebook == "loyalty"
            else r.get("overall", {}).get("nps", {}).get("nps") if study.notebook == "metrics"
            else r.get("cox", {}).get("hazard_ratio"))
print(json.dumps({"seconds": round(seconds, 1), "peak_mb": round(peak_mb()),
                  "rows": summary.rows_read, "headline": headline,
                  "adjusted": (r.get("cox_covariates") or {}).get("terms") if study.notebook == "retention" else None}))
"""
    out = subprocess.run([sys.executable, "-c", code, json.dumps(study), str(base), str(Path(__file__).parent)],
                         cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, **(env or {})))
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def duck(sql: str) -> None:
    import duckdb
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(sql)
    con.close()


def parquet(folder: Path, name: str, n: int) -> Path:
    path = folder / f"{name}-{n // 1_000_000}m.parquet"
    if not path.exists():
        print(f"writing {path} ({synth_parquet(name, n, path):.0f} s)", file=sys.stderr)
    return path


def loyalty(data: dict[str, Any]) -> dict[str, Any]:
    return {"study": "bench-loyalty", "notebook": "loyalty", "data": data, "experience": {"scale": [1, 5]},
            "outcomes": CUSTOMERS}


def retention(data: dict[str, Any], covariates: list[str]) -> dict[str, Any]:
    return {"study": "bench-retention", "notebook": "retention", "data": data, "experience": {"scale": [1, 5]},
            "time_unit": "months", "horizons": [12, 24], "covariates": covariates}


def bench_csv(folder: Path) -> dict[str, Any]:
    csv = folder / "customers-10m.csv"
    if not csv.exists():
        src = parquet(folder, "customers", TEN_M)
        duck(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{csv}' (HEADER, DELIMITER ',')")
    return {"csv_10m_loyalty": measure(loyalty({"path": csv.name}), folder)}


def bench_pg(folder: Path) -> dict[str, Any]:
    import pg_server
    customers = parquet(folder, "customers", TEN_M)
    lifecycles = parquet(folder, "lifecycles", TEN_M)
    gen = pg_server.server()
    server = next(gen)
    try:
        for table, query in (("customers", f"SELECT experience, {', '.join(CUSTOMERS)} FROM read_parquet('{customers}')"),
                             ("lifecycles", "SELECT experience, ceil(duration)::INTEGER AS tenure, event, "
                                            f"channel::VARCHAR AS channel FROM read_parquet('{lifecycles}')")):
            csv = folder / f"pg-{table}.csv"
            if not csv.exists():
                duck(f"COPY ({query}) TO '{csv}' (HEADER, DELIMITER ',')")
            with open(csv) as fh:
                names = fh.readline().strip().split(",")
            types = ", ".join(f'"{c}" {"text" if c == "channel" else "integer"}' for c in names)
            with server.connect() as conn:
                conn.execute(f"CREATE TABLE {table} ({types})")
                with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER)") as copy, open(csv, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        copy.write(block)
                conn.execute(f"ANALYZE {table}")
        env = {"CXLAB_BENCH_PG": server.password}
        data = {"url": server.url, "password_env": "CXLAB_BENCH_PG"}
        return {"pg_10m_loyalty": measure(loyalty(dict(data, sql="SELECT * FROM customers")), folder, env),
                "pg_10m_retention": measure(retention(dict(data, sql="SELECT * FROM lifecycles", columns={
                    "duration": "tenure"}), ["channel"]), folder, env)}
    finally:
        next(gen, None)


def bench_parquet(folder: Path, n: int) -> dict[str, Any]:
    out = {}
    out[f"parquet_{n // 1_000_000}m_loyalty"] = measure(loyalty({"path": parquet(folder, "customers", n).name}), folder)
    out[f"parquet_{n // 1_000_000}m_retention_categorical"] = measure(
        retention({"path": parquet(folder, "lifecycles", n).name}, ["channel"]), folder)
    out[f"parquet_{n // 1_000_000}m_metrics"] = measure(
        {"study": "bench-metrics", "notebook": "metrics", "data": {"path": parquet(folder, "survey", n).name},
         "segments": ["plan", "region", "channel"], "mix_by": "plan"}, folder)
    return out


def bench_continuous(folder: Path) -> dict[str, Any]:
    return {"parquet_10m_retention_continuous": measure(
        retention({"path": parquet(folder, "lifecycles", TEN_M).name}, ["channel", "monthly_charge"]), folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--only", default="csv,pg,continuous,parquet")
    parser.add_argument("--big", type=int, default=100_000_000)
    args = parser.parse_args()
    folder = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="cxlab-bench-sources-"))
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for part in args.only.split(","):
        got = {"csv": lambda: bench_csv(folder), "pg": lambda: bench_pg(folder),
               "continuous": lambda: bench_continuous(folder), "parquet": lambda: bench_parquet(folder, args.big)}[part]()
        for key, value in got.items():
            print(json.dumps({key: value}), flush=True)
        results.update(got)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
