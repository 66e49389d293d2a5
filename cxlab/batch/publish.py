"""Atomic publishing of an outcome into the output folder.

Each study folder ``DIR/<study>`` is a symbolic link to a complete report under
``DIR/.reports/``, swapped with one ``rename``; a failed run is published beside
it as ``DIR/<study>.failed`` and never replaces the last good report.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import uuid
from pathlib import Path
from typing import Any

from ..record import read_results, to_json, write_json_atomic
from .history import append_history
from .jobs import Job, Outcome, provenance

REPORTS = ".reports"


def results_document(job: Job, outcome: Outcome, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The ``results.json`` object of DESIGN section 4."""
    rec = outcome.recorded or {}
    doc: dict[str, Any] = {"study": job.study, "notebook": job.notebook, "title": job.title,
                           "status": outcome.status}
    if outcome.error:
        doc["error"] = outcome.error
    doc["provenance"] = provenance(job, outcome)
    doc["headline"] = rec.get("headline", {"text": "", "figures": {}})
    if previous and previous.get("status") == "ok":
        doc["headline"]["previous"] = {"figures": previous.get("headline", {}).get("figures", {}),
                                       "ended": previous.get("provenance", {}).get("ended")}
    doc["warnings"] = rec.get("warnings", [])
    doc["results"] = rec.get("results", {}) if outcome.status == "ok" else rec.get("results")
    return to_json(doc)


def _checkpoint(name: str) -> None:
    """Fault injection for the kill tests: ``CXLAB_KILL_AT=<name>`` kills this process right here."""
    if os.environ.get("CXLAB_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _swap_link(link: Path, target_name: str) -> None:
    tmp = link.parent / f".{link.name}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(target_name, tmp)
    if link.exists() and not link.is_symlink():  # a folder from an older layout: move it aside first
        link.rename(link.parent / REPORTS / f"{link.name}-legacy-{uuid.uuid4().hex[:8]}")
    os.replace(tmp, link)


def publish(job: Job, outcome: Outcome, out_dir: str | Path) -> Path:
    """Write the outcome into ``out_dir`` atomically; return the published folder.

    The report is written completely under ``.reports/`` and then the study's
    link is swapped in one rename. A failed study is linked as
    ``<study>.failed`` and leaves ``<study>`` untouched.
    """
    out_dir = Path(out_dir)
    reports = out_dir / REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    previous = read_results(out_dir / job.study / "results.json")
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    kind = "ok" if outcome.status == "ok" else "failed"
    folder = reports / f"{job.study}-{kind}-{stamp}"
    staging = reports / f".staging-{folder.name}"
    staging.mkdir()
    files = {f"{job.study}.ipynb": outcome.notebook_json, f"{job.study}.html": outcome.report_html,
             f"{job.study}-code.html": outcome.full_html}
    for name, text in files.items():
        if text is not None:
            (staging / name).write_text(text, encoding="utf-8")
    for name, data in (outcome.exports or {}).items():
        target = (staging / name).resolve()
        if staging.resolve() not in target.parents:  # a name from a worker never escapes the folder
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _checkpoint("writing")
    doc = results_document(job, outcome, previous)
    write_json_atomic(staging / "results.json", doc)
    _fsync_dir(staging)
    staging.rename(folder)
    _checkpoint("staged")
    link = out_dir / (job.study if kind == "ok" else f"{job.study}.failed")
    _swap_link(link, f"{REPORTS}/{folder.name}")
    _checkpoint("linked")
    if kind == "ok":
        append_history(out_dir, job.study, doc)
        stale = out_dir / f"{job.study}.failed"
        if stale.is_symlink():
            stale.unlink()
    _fsync_dir(out_dir)
    return link


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def collect_garbage(out_dir: Path) -> None:
    """Remove report folders no link points to (old reports, staging left by a killed run)."""
    reports = out_dir / REPORTS
    if not reports.is_dir():
        return
    live = {os.readlink(p).split("/")[-1] for p in out_dir.iterdir() if p.is_symlink()}
    for p in out_dir.iterdir():
        if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_symlink():
            p.unlink()
    for folder in reports.iterdir():
        if folder.name not in live:
            shutil.rmtree(folder, ignore_errors=True)
