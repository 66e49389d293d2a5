"""Benchmark: regenerate the default study set three ways (issue 5).

(a) the baseline a user would otherwise script: `papermill` then `jupyter nbconvert --no-input`
    per study, one after another;
(b) `cxlab run --jobs 2 --force`;
(c) `cxlab run` again with nothing changed.

Targets on a 2-core machine: (b) at least 5x faster than (a) (issue 15: warm kernels, one browser for the
PDFs, shared rendering); (c) under 2 s.

    .venv/bin/python benchmarks/bench_batch.py
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, cxlab_run, measure_command

BIN = Path(sys.executable).parent


def baseline(studies: list[Path], work: Path) -> float:
    t = time.perf_counter()
    for path in studies:
        study = yaml.safe_load(path.read_text())
        params = yaml.safe_dump({"study": study, "study_dir": str(path.parent.resolve()),
                                 "results_path": str(work / f"{study['study']}.json")}, sort_keys=False)
        nb_out = work / f"{study['study']}.ipynb"
        for cmd in ([str(BIN / "papermill"), str(ROOT / "notebooks" / f"{study['notebook']}.ipynb"), str(nb_out),
                     "-y", params, "--cwd", str(path.parent)],
                    [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb_out)]):
            res = measure_command(cmd)
            if res["rc"] != 0:
                raise SystemExit(f"baseline failed: {' '.join(cmd)}\n{res['err']}")
    return time.perf_counter() - t


def main() -> None:
    studies = sorted((ROOT / "params").glob("*.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        a = baseline(studies, tmp)
        out = tmp / "out"
        b = measure_command(cxlab_run("--out", str(out), "--jobs", "2", "--force"))
        c = measure_command(cxlab_run("--out", str(out)))
    row = {"studies": len(studies), "a_baseline_s": round(a, 1), "b_cxlab_jobs2_s": round(b["seconds"], 1),
           "c_up_to_date_s": round(c["seconds"], 2), "speedup_a_over_b": round(a / b["seconds"], 2),
           "b_peak_mb": round(b["peak_mb"]), "ok": b["rc"] == 0 and c["rc"] == 0}
    print(json.dumps(row))
    print(f"(b) is {row['speedup_a_over_b']}x faster than (a) (target >= 5); (c) took {row['c_up_to_date_s']} s (target < 2)")


if __name__ == "__main__":
    main()
