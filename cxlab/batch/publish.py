"""Atomic publishing of an outcome into the output folder.

Each study folder ``DIR/<study>`` is a symbolic link to a complete report under
``DIR/.reports/``, swapped with one ``rename``; a failed run is published beside
it as ``DIR/<study>.failed`` and never replaces the last good report.
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import re
import shutil
import signal
import uuid
from pathlib import Path
from typing import Any

from ..errors import CxlabError
from ..record import read_results, to_json, write_json_atomic
from .cache import damage
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


def checkpoint(name: str) -> None:
    """Fault injection for the tests, at the named point of a run.

    ``CXLAB_KILL_AT=<name>`` kills this process right here (SIGKILL, as the OOM
    killer would); ``CXLAB_FAULT=<name>:<ERRNO>`` (e.g. ``writing:ENOSPC``,
    ``lock:EROFS``) raises the ``OSError`` a full disk or a read-only mount would.
    """
    if os.environ.get("CXLAB_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    where, _, code = os.environ.get("CXLAB_FAULT", "").partition(":")
    if where == name:
        number = getattr(errno, code, errno.EIO)
        raise OSError(number, os.strerror(number))


class PublishError(CxlabError):
    """A report cannot be published (the place is not cxlab's, or the output folder cannot be written)."""


#: Names cxlab gives to what it writes under ``.reports/``: garbage collection touches nothing else.
_OURS = re.compile(r"^(\.staging-)?[A-Za-z0-9_-]+-(ok|failed)-\d{8}T\d{6}-[0-9a-f]{6}$")


def is_ours(link: Path) -> bool:
    """True when ``link`` is absent or a symbolic link cxlab made (pointing into ``.reports/``)."""
    if not os.path.lexists(link):
        return True
    return link.is_symlink() and os.readlink(link).startswith(f"{REPORTS}/")


def check_place(out_dir: Path, study: str, names: tuple[str, ...] = ("", ".failed")) -> None:
    """Refuse to publish over anything at ``DIR/<study>`` (or ``DIR/<study>.failed``) that cxlab did not create."""
    for suffix in names:
        link = out_dir / f"{study}{suffix}"
        if not is_ours(link):
            kind = "folder" if link.is_dir() and not link.is_symlink() else \
                "symbolic link" if link.is_symlink() else "file"
            raise PublishError(f"{link}: a {kind} cxlab did not create is in the way; cxlab never replaces it "
                               "(move it, or choose another --out or study name)")


def _swap_link(link: Path, target_name: str) -> None:
    tmp = link.parent / f".{link.name}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(target_name, tmp)
    if not is_ours(link):  # checked before staging; checked again in case it appeared meanwhile
        tmp.unlink()
        raise PublishError(f"{link}: appeared during the run and is not cxlab's; it was left untouched")
    os.replace(tmp, link)


def publish(job: Job, outcome: Outcome, out_dir: str | Path) -> Path:
    """Write the outcome into ``out_dir`` atomically; return the published folder.

    The report is written completely under ``.reports/`` and then the study's
    link is swapped in one rename. A failed study is linked as
    ``<study>.failed`` and leaves ``<study>`` untouched. Nothing cxlab did not
    create is ever moved, replaced or deleted.

    Raises
    ------
    PublishError
        One line: the place is taken by something not cxlab's, or the folder
        cannot be written (disk full, read-only); nothing is left half-written.
    """
    out_dir = Path(out_dir)
    check_place(out_dir, job.study, ("",) if outcome.status == "ok" else (".failed",))
    reports = out_dir / REPORTS
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    kind = "ok" if outcome.status == "ok" else "failed"
    folder = reports / f"{job.study}-{kind}-{stamp}"
    staging = reports / f".staging-{folder.name}"
    link = out_dir / (job.study if kind == "ok" else f"{job.study}.failed")
    try:
        reports.mkdir(parents=True, exist_ok=True)
        if reports.is_symlink():  # refused when the run started; never followed should one appear since
            raise PublishError(f"{reports}: the reports folder is a symbolic link; cxlab never follows it")
        previous = read_results(out_dir / job.study / "results.json") if is_ours(out_dir / job.study) else None
        if previous is not None and damage(previous, job.study) is not None:
            previous = None  # a report damaged by hand is no previous run to compare with
        staging.mkdir()
        files = {f"{job.study}.ipynb": outcome.notebook_json, f"{job.study}.html": outcome.report_html,
                 f"{job.study}-code.html": outcome.full_html}
        if outcome.status != "ok":
            files["kernel.log"] = outcome.log_text or None
        for name, text in files.items():
            if text is not None:
                (staging / name).write_text(text, encoding="utf-8")
        for name, data in (outcome.exports or {}).items():
            target = (staging / name).resolve()
            if staging.resolve() not in target.parents:  # a name from a worker never escapes the folder
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        checkpoint("writing")
        doc = results_document(job, outcome, previous)
        write_json_atomic(staging / "results.json", doc)
        _fsync_dir(staging)
        staging.rename(folder)
        checkpoint("staged")
        _swap_link(link, f"{REPORTS}/{folder.name}")
    except OSError as exc:
        for leftover in (staging, folder):
            shutil.rmtree(leftover, ignore_errors=True)
        raise PublishError(f"{out_dir}: cannot write the report of {job.study}: "
                           f"{exc.strerror or exc}") from None
    checkpoint("linked")
    if kind == "ok":
        append_history(out_dir, job.study, doc)
        stale = out_dir / f"{job.study}.failed"
        if stale.is_symlink() and is_ours(stale):
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
    """Remove report folders no link points to (old reports, staging left by a killed run).

    Only what cxlab names and creates is touched: links into ``.reports/`` and
    folders under it named like a report.
    """
    reports = out_dir / REPORTS
    if not reports.is_dir() or reports.is_symlink():  # never delete in a folder a link points to
        return
    links = [p for p in out_dir.iterdir() if p.is_symlink() and is_ours(p)]
    live = {os.readlink(p).split("/")[-1] for p in links}
    for p in links:
        if p.name.startswith(".") and p.name.endswith(".tmp"):
            p.unlink()
    for folder in reports.iterdir():
        if folder.name not in live and _OURS.match(folder.name) and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
