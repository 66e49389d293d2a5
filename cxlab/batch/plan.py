"""Planning a run: find the study files, validate every one, build a :class:`~.jobs.Job` each.

No kernel starts here: a bad study file stops the run before anything executes.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Iterable

from .. import __version__
from ..errors import StudyFileError
from ..params import load_study_file, study_dict
from ..record import read_results
from ..registry import STUDIES
from ..sources import input_files
from .jobs import Job

PACKAGES = ("cxlab", "pandas", "numpy", "scipy", "seaborn", "matplotlib", "lifelines", "pingouin", "papermill",
            "nbconvert", "ipykernel")


def discover(paths: Iterable[str | Path], params_dir: str | Path = "params") -> list[Path]:
    """The study files to run: the paths given, or every ``*.yaml``/``*.yml`` in ``params_dir``."""
    paths = [Path(p) for p in paths]
    if paths:
        return paths
    folder = Path(params_dir)
    found = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not found:
        raise StudyFileError(f"{folder}: no study files (*.yaml) to run")
    return found


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def plan(study_files: Iterable[str | Path], notebooks_dir: str | Path | None = None,
         timeout: float | None = None, invalid: dict[str, str] | None = None) -> list[Job]:
    """Validate every study file and build its :class:`Job` (no kernel starts here).

    ``invalid``: given, an invalid study file is left out and its one-line error kept there (study file ->
    error), so that one bad file fails alone while the others run (a run of every study); without it the
    first invalid file stops the plan.

    Raises
    ------
    StudyFileError
        The first invalid study file, one line naming the file and the key (without ``invalid``).
    """
    jobs: list[Job] = []
    seen: dict[str, Path] = {}
    versions = package_versions()
    for path in study_files:
        path = Path(path)
        try:
            jobs.append(_job(path, seen, notebooks_dir, timeout, versions))
        except StudyFileError as exc:
            if invalid is None:
                raise
            invalid[str(path)] = str(exc)
    return jobs


def _job(path: Path, seen: dict[str, Path], notebooks_dir: str | Path | None, timeout: float | None,
         versions: dict[str, str]) -> Job:
    """The :class:`Job` of one study file (``seen``: the slugs planned so far, each with its file)."""
    study = load_study_file(path)
    if study.study in seen:
        raise StudyFileError(f"{path}: key 'study': slug {study.study!r} is also used by {seen[study.study]}")
    nb_path = STUDIES[study.notebook].notebook_file(notebooks_dir)
    if not nb_path.is_file():
        raise StudyFileError(f"{path}: key 'notebook': notebook file not found: {nb_path}")
    inputs = {}
    for _, spec in study.data_specs():
        for rel in input_files(spec, path.parent):
            inputs[rel] = sha256_file(path.parent / rel)
    parameters = study_dict(study)
    h = hashlib.sha256()
    for part in (sha256_file(nb_path), sha256_file(path), json.dumps(inputs, sort_keys=True), __version__,
                 json.dumps(parameters, sort_keys=True)):
        h.update(part.encode())
    seen[study.study] = path
    return Job(study=study.study, title=study.title or study.study, notebook=study.notebook,
               notebook_path=str(nb_path.resolve()), study_file=str(path), study_dir=str(path.parent.resolve()),
               parameters=parameters, inputs=inputs, fingerprint=h.hexdigest(), timeout=timeout,
               packages=versions,
               server_source=any(getattr(spec, "url", None) is not None for _, spec in study.data_specs()))


def longest_first(jobs: list[Job], out_dir: Path) -> list[Job]:
    """The jobs, longest expected first: on a few workers the run then ends soonest.

    A study's expected length is the seconds of its report published in ``out_dir``
    (``provenance.seconds``). Studies without one come first (they may be the longest), ordered
    by their notebook's number of code cells. Ties keep the planned order.
    """
    def seconds(job: Job) -> float | None:
        doc = read_results(out_dir / job.study / "results.json")
        prov = doc.get("provenance") if isinstance(doc, dict) else None
        value = prov.get("seconds") if isinstance(prov, dict) else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return float(value) if ok else None

    def code_cells(job: Job) -> int:
        try:
            cells = json.loads(Path(job.notebook_path).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            return 0
        return sum(1 for cell in cells if isinstance(cell, dict) and cell.get("cell_type") == "code")

    def key(job: Job) -> tuple[int, float]:
        known = seconds(job)
        return (0, -code_cells(job)) if known is None else (1, -known)

    return sorted(jobs, key=key)
