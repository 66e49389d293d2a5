"""The records a run passes between its parts: a :class:`Job` in, an :class:`Outcome` out."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__


@dataclass
class Job:
    """Everything a worker needs to run one study (plain data, picklable)."""

    study: str
    title: str
    notebook: str
    notebook_path: str
    study_file: str
    study_dir: str
    parameters: dict[str, Any]
    inputs: dict[str, str]
    fingerprint: str
    decision: str = "ran"
    timeout: float | None = None
    packages: dict[str, str] = field(default_factory=dict)
    server_source: bool = False
    """The study reads a database server (``url:``): its data can change unseen, so it is never up to date."""


@dataclass
class Outcome:
    """What running a study produced (content, not files: a Dask worker returns it to the client)."""

    study: str
    status: str
    error: str | None
    started: str
    ended: str
    seconds: float
    notebook_json: str | None = None
    report_html: str | None = None
    full_html: str | None = None
    recorded: dict[str, Any] | None = None
    exports: dict[str, bytes] = field(default_factory=dict)
    """Files for the study folder: ``tables.xlsx``, ``figures/<name>.png|svg``, ``<study>.pdf``."""
    log_text: str | None = None          # the kernel's own stderr (tracebacks), kept beside a failed report


def now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

def provenance(job: Job, outcome: Outcome) -> dict[str, Any]:
    """The ``provenance`` of ``results.json``: inputs, versions, timing, decision."""
    from ..paths import shown

    project = Path(__file__).resolve().parents[2]  # the notebook as the project names it, not the machine's path
    return {"study_file": job.study_file, "notebook_file": shown(job.notebook_path, project),
            "parameters": job.parameters,
            "inputs": job.inputs, "fingerprint": job.fingerprint, "decision": job.decision,
            "packages": job.packages, "cxlab_version": __version__, "started": outcome.started,
            "ended": outcome.ended, "seconds": round(outcome.seconds, 3), "host": os.uname().nodename}


def error_text(exc: BaseException) -> str:
    """One line for an exception: a kernel error's name and value, else the type and first line."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip()
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()
