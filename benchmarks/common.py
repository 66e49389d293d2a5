"""Shared helpers for the benchmarks: time and peak memory of a command or a function."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent


def measure_command(cmd: list[str], cwd: Path = ROOT) -> dict[str, Any]:
    """Wall time and peak RSS (largest single process among the command and its descendants)."""
    probe = ("import resource, subprocess, sys, time, json; t=time.perf_counter(); "
             "r=subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(json.dumps({'seconds': time.perf_counter()-t, 'rc': r.returncode, "
             "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024, 'err': r.stderr[-500:]}))")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def peak_mb() -> float:
    """This process's peak RSS in MB: ``VmHWM`` (its own, reset by exec), else ``ru_maxrss`` (which can carry the
    high-water mark of the process that started it)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_function(func: Callable[[], Any]) -> dict[str, Any]:
    """Wall time and the process's peak RSS after calling ``func`` (run each in a fresh process for clean peaks)."""
    t = time.perf_counter()
    func()
    return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb()}


def write_study(folder: Path, study: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{study['study']}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def cxlab_run(*args: str) -> list[str]:
    return [sys.executable, "-m", "cxlab.cli", "run", *args]


def analysis_alone(module: str, study: dict[str, Any], preload: str = "", loader: str = "read") -> dict[str, Any]:
    """Time and peak memory of study ``module``'s load + analysis, in a fresh process (so the peak is its own).

    ``preload`` is code run before the clock starts (e.g. an import the analysis makes lazily); ``loader`` the
    function of the study's ``load`` module that reads the data (``read``, or ``read_cells`` for sufficient
    statistics).
    """
    code = (f"import json, sys; sys.path.insert(0, 'benchmarks'); from common import measure_function; "
            f"from cxlab.studies.{module} import analysis, load; from cxlab.params import parse_study; "
            f"{preload or 'pass'}; s = parse_study({study!r}); loaded = lambda: load.{loader}(s); "
            "first = lambda x: x[0] if isinstance(x, tuple) else x; "
            "print(json.dumps(measure_function(lambda: analysis.analyze(first(loaded()), s))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_study(module: str, study: dict[str, Any], folder: Path, preload: str = "",
                  loader: str = "read") -> dict[str, Any]:
    """One benchmark row: `cxlab run --force` of ``study`` end to end, and its analysis alone (see
    :func:`analysis_alone` for ``loader``)."""
    path = write_study(folder / "params", study)
    e2e = measure_command(cxlab_run(str(path), "--out", str(folder / "out"), "--force", "--jobs", "1"))
    alone = analysis_alone(module, study, preload, loader)
    row = {"end_to_end_s": round(e2e["seconds"], 2), "end_to_end_peak_mb": round(e2e["peak_mb"]),
           "analysis_s": round(alone["seconds"], 3), "analysis_peak_mb": round(alone["peak_mb"]), "ok": e2e["rc"] == 0}
    if e2e["rc"] != 0:
        row["error"] = e2e["err"]
    return row


def synth_parquet(name: str, n: int, path: Path, seed: int = 1, **options: Any) -> float:
    """Write ``n`` rows of the embedded generator ``name`` to Parquet with ``cxlab synth`` (chunk by chunk, so memory
    stays that of one chunk); the seconds it took."""
    cmd = [sys.executable, "-m", "cxlab.cli", "synth", name, "--n", str(n), "--out", str(path), "--seed", str(seed),
           "--force", "--quiet", *[f"--option={k}={v}" for k, v in options.items()]]
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - t
