"""Up-to-date decisions: a study reruns only when its fingerprint (notebook, study file, data, version) changed.

A published ``results.json`` is trusted only when it reads as the runner wrote
it (:func:`damage`): one damaged by hand or by a full disk (cut short, not JSON,
keys of the wrong type) makes its study out of date, said in one warning line.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from ..record import load_results, read_results, write_json_atomic
from .jobs import Job, now

log = logging.getLogger(__name__)

#: What the runner and the index read in a published ``results.json``: key, then allowed types.
_SHAPE: tuple[tuple[tuple[str, ...], tuple[type, ...]], ...] = (
    (("study",), (str,)), (("notebook",), (str,)), (("title",), (str,)), (("status",), (str,)),
    (("provenance",), (dict,)), (("provenance", "fingerprint"), (str,)), (("provenance", "ended"), (str,)),
    (("provenance", "decision"), (str,)), (("provenance", "seconds"), (int, float)),
    (("headline",), (dict,)), (("headline", "text"), (str,)), (("headline", "figures"), (dict,)),
    (("headline", "previous"), (dict,)), (("warnings",), (list,)), (("error",), (str,)))


def damage(doc: Mapping[str, Any], study: str | None = None) -> str | None:
    """Why a published ``results.json`` object cannot be trusted (one phrase), or None when it can.

    Checks the keys the runner and the index read: their types, ``status``, the
    ``results`` object of a successful study, and (given ``study``) the study it is of.
    """
    for path, types in _SHAPE:
        value: Any = doc
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            return f"key {'.'.join(path)!r} is a {type(value).__name__}"
    if doc.get("status") not in ("ok", "failed"):
        return "key 'status' is neither ok nor failed"
    if not isinstance(doc.get("provenance"), dict):
        return "key 'provenance' is missing"
    if doc["status"] == "ok" and not isinstance(doc.get("results"), dict):
        return "key 'results' is not an object"
    if study is not None and doc.get("study") != study:
        return f"it is the report of study {str(doc.get('study'))[:60]!r}"
    return None


def published(job: Job, out_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The ``results.json`` published for ``job``, and why it cannot be trusted (None: it can, or there is none)."""
    path = out_dir / job.study / "results.json"
    if not os.path.lexists(out_dir / job.study):
        return None, None
    try:
        doc = load_results(path)
    except OSError as exc:
        return None, None if not os.path.lexists(path) else (exc.strerror or str(exc))
    except ValueError as exc:
        return None, str(exc)
    problem = damage(doc, job.study)
    return (None, problem) if problem else (doc, None)


def decide(job: Job, out_dir: Path, force: bool) -> str:
    """Why ``job`` runs (``ran: ...``) or ``up to date``; also stored in ``provenance.decision``.

    A damaged published ``results.json`` is said in one warning line, and the study reruns. So does a
    study whose last run failed after its report was published (the failure was not its inputs'), and a
    study that reads a database server (``url:``), whose changes no fingerprint of files can see.
    """
    if force:
        return "ran: --force"
    doc, problem = published(job, out_dir)
    if problem is not None:
        log.warning("%s: %s; study %s is out of date and reruns", out_dir / job.study / "results.json", problem,
                    job.study)
        return f"ran: the published results.json was damaged ({problem})"
    if doc is None:
        return "ran: no previous report"
    if job.server_source:  # no fingerprint sees a change on the server: its study reruns on every run
        return "ran: a database source is always read again"
    if doc["status"] != "ok" or doc["provenance"].get("fingerprint") != job.fingerprint:
        return "ran: inputs changed"
    if os.path.lexists(out_dir / f"{job.study}.failed"):  # newer than the report (publishing one removes it)
        return "ran: the last run failed"  # on the same inputs: the disk was full, a kernel killed, a timeout
    return "up to date"


def mark_checked(path: Path) -> None:
    """Record in a published ``results.json`` that it was found up to date, and when (skipped on a full disk)."""
    doc = read_results(path)
    if doc is None:
        return
    doc.setdefault("provenance", {})["decision"] = "up to date"
    doc["provenance"]["last_checked"] = now()
    try:
        write_json_atomic(path.resolve(), doc)
    except OSError as exc:  # bookkeeping only: the report stands as it is
        log.info("%s: not marked as checked: %s", path, exc.strerror or exc)
