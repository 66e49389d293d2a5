"""Up-to-date decisions: a study reruns only when its fingerprint (notebook, study file, data, version) changed."""
from __future__ import annotations

from pathlib import Path

from ..record import read_results, write_json_atomic
from .jobs import Job, now


def is_up_to_date(job: Job, out_dir: Path) -> bool:
    """True when the published report of ``job`` ran successfully on the same inputs."""
    published = read_results(out_dir / job.study / "results.json")
    return bool(published and published.get("status") == "ok"
                and published.get("provenance", {}).get("fingerprint") == job.fingerprint)


def decide(job: Job, out_dir: Path, force: bool) -> str:
    """Why ``job`` runs (``ran: ...``) or ``up to date``; also stored in ``provenance.decision``."""
    if force:
        return "ran: --force"
    if is_up_to_date(job, out_dir):
        return "up to date"
    return "ran: inputs changed" if read_results(out_dir / job.study / "results.json") else "ran: no previous report"

def mark_checked(path: Path) -> None:
    """Record in a published ``results.json`` that it was found up to date, and when."""
    doc = read_results(path)
    if doc is None:
        return
    doc.setdefault("provenance", {})["decision"] = "up to date"
    doc["provenance"]["last_checked"] = now()
    target = path.resolve()
    write_json_atomic(target, doc)
