"""Shared helpers for the tests: running the real CLI and checking results.json documents."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    """Run ``cxlab`` as a user would (a real process), capturing its output."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "cxlab.cli", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def _no_nan(value: Any, where: str) -> None:
    if isinstance(value, float):
        assert math.isfinite(value), f"{where} is not finite"
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nan(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_nan(v, f"{where}[{i}]")


def check_results_doc(path: Path, study: str, notebook: str, status: str = "ok") -> dict[str, Any]:
    """Load a results.json and check the keys DESIGN section 4 requires (strict JSON, no NaN)."""
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"{path}: non-JSON constant {c}"))
    assert doc["study"] == study
    assert doc["notebook"] == notebook
    assert doc["status"] == status
    if status == "failed":
        assert doc["error"]
    prov = doc["provenance"]
    for key in ("parameters", "inputs", "packages", "started", "ended", "fingerprint"):
        assert key in prov, f"provenance lacks {key}"
    for name, digest in prov["inputs"].items():
        assert len(digest) == 64 and int(digest, 16) >= 0, name
    assert {"pandas", "lifelines", "papermill"} <= set(prov["packages"])
    assert "results" in doc
    _no_nan(doc, "results.json")
    from cxlab.record import validate_results
    problems = validate_results(doc)
    assert not problems, f"{path} does not match cxlab/schemas/results.schema.json: {problems[:5]}"
    return doc


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children...), read from /proc."""
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for c in map(int, children):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_same_figures(a: Any, b: Any, sources: tuple[str, str], where: str = "results") -> None:
    """Two results documents hold the same keys and figures (floats to 1e-9); ``sources`` names where each came
    from, for the message."""
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            assert_same_figures(a[key], b[key], sources, f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_figures(x, y, sources, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), \
            f"{where}: {a!r} {sources[0]}, {b!r} {sources[1]}"
    else:
        assert a == b, f"{where}: {a!r} {sources[0]}, {b!r} {sources[1]}"


@pytest.fixture
def write_study(tmp_path: Path):
    """Write a study YAML (and optional data files) into tmp_path; returns its path."""
    import yaml

    def _write(study: dict[str, Any], name: str | None = None) -> Path:
        path = tmp_path / f"{name or study['study']}.yaml"
        path.write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
        return path

    return _write
