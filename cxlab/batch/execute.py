"""Executing one study: papermill runs the notebook in a fresh kernel (:mod:`.engine`), then both HTML
pages are rendered.

The kernel is forked by the run's kernel server when there is one (:mod:`.kernels`),
else started cold. The PDF is printed afterwards by the run's process, in one
browser for the whole run (:func:`add_pdf`).

:func:`execute_study` is a pure function of a :class:`~.jobs.Job` returning an
:class:`~.jobs.Outcome` with the content (no files), so it runs in-process, in a
worker process or on a Dask worker alike.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..record import read_results
from .engine import KERNEL_LOG, SOCKET_NAME, execute_notebook
from .jobs import Job, Outcome, error_text, now, provenance
from .tempdirs import owned_folder

log = logging.getLogger(__name__)
WORK_PREFIX = "cxlab-study-"
"""A study's work folder in the temporary folder: ``cxlab-study-<pid>-<study>-*``; the folders of a run that was
killed are removed by the next run (:func:`.tempdirs.sweep`)."""
SOCKET_PATH_MAX = 107
"""Longest path of a Unix socket (``sun_path`` holds 108 bytes with the final NUL); the kernel's are in the
study's temporary folder."""
LABEL_MAX = 24
"""Most characters of the study's name in its work folder's name (fewer when the sockets need the room)."""


def _socket(work: str | os.PathLike[str]) -> int:
    """Bytes of the longest path of a kernel socket in ``work`` (``<work>/k-65535``)."""
    return len(os.fsencode(os.path.join(work, f"{SOCKET_NAME}-65535")))


def _work_label(study: str) -> str:
    """The study's name for its work folder's (``cxlab-study-<pid>-<label>-*``): as much of it, up to
    :data:`LABEL_MAX` characters, as leaves the kernel's sockets within :data:`SOCKET_PATH_MAX` bytes in the
    temporary folder (the name only helps a person looking there; the sockets must fit)."""
    bare = os.path.join(tempfile.gettempdir(), f"{WORK_PREFIX}{os.getpid()}-{'x' * 8}")  # mkdtemp adds 8
    room = SOCKET_PATH_MAX - _socket(bare) - 1                                             # and the label's '-'
    return f"{study[:min(LABEL_MAX, room)]}-" if room > 0 else ""


def execute_study(job: Job) -> Outcome:
    """Run one study's notebook with papermill and render both HTML pages.

    Never raises for a study that fails: the outcome carries the error and the
    executed notebook as far as it ran.
    """
    logging.getLogger("papermill").setLevel(logging.CRITICAL)  # the outcome reports the error once
    started, t0 = now(), time.perf_counter()
    try:  # a short name: the kernel's sockets live in it (a long study name made them too long for Unix)
        work = owned_folder(WORK_PREFIX, _work_label(job.study))  # named with this pid: swept if it is killed
    except OSError as exc:  # the temporary folder is full or read-only
        return Outcome(job.study, "failed", f"cannot create a temporary folder in {tempfile.gettempdir()}: "
                       f"{exc.strerror or exc}", started, now(), time.perf_counter() - t0)
    socket = _socket(work)
    if socket > SOCKET_PATH_MAX:  # zmq would fail to connect, and then hang at exit
        shutil.rmtree(work, ignore_errors=True)
        return Outcome(job.study, "failed", f"the temporary folder {work.parent} is too deep for the kernel's "
                       f"sockets ({socket} bytes, at most {SOCKET_PATH_MAX}); set TMPDIR to a shorter folder",
                       started, now(), time.perf_counter() - t0)
    try:
        return _execute_in(work, job, started, t0)
    except Exception as exc:  # the work folder failed under it (disk full): the study's failure, one line
        return Outcome(job.study, "failed", _error(exc, work), started, now(), time.perf_counter() - t0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _error(exc: Exception, work: Path) -> str:
    """One line for a failure; a file system error of the runner's own names the temporary folder."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        return f"cannot write in the temporary folder {work.parent}: {exc.strerror}"
    return error_text(exc)


def _execute_in(work: Path, job: Job, started: str, t0: float) -> Outcome:
    import nbformat

    from ..exports import EXPORTS, read_folder
    from .render import prewarm, render_html, rerunnable_parameters

    executed = work / f"{job.study}.ipynb"
    results_path = work / "recorded.json"
    params = {"study": job.parameters, "study_dir": job.study_dir, "results_path": str(results_path)}
    error, nb = None, None
    try:
        nb = execute_notebook(job.notebook_path, executed, params, cwd=job.study_dir, timeout=job.timeout, work=work,
                              on_kernel_ready=prewarm)  # the exporters load their templates while the kernel runs
    except Exception as exc:  # any failure of the notebook is the study's failure, not the run's
        error = _error(exc, work)
        log.info("%s failed: %s", job.study, error)
        try:  # as far as it ran (a disk that filled up may have left it cut short)
            nb = nbformat.read(executed, as_version=4) if executed.is_file() else None
        except Exception:  # noqa: BLE001  nbformat raises its own errors for a notebook cut short
            nb = None
    recorded = read_results(results_path) if results_path.is_file() else None
    if error is None and recorded is None:
        error = "the notebook finished without recording results (its last cell calls cxlab.record.record)"
    ended, seconds = now(), time.perf_counter() - t0
    out = Outcome(study=job.study, status="ok" if error is None else "failed", error=error, started=started,
                  ended=ended, seconds=seconds, recorded=recorded)
    kernel_log = work / KERNEL_LOG
    if error is not None and kernel_log.is_file():
        out.log_text = kernel_log.read_text(encoding="utf-8", errors="replace")[-200_000:] or None
    if nb is not None:
        rerunnable_parameters(nb)
        out.notebook_json = nbformat.v4.writes(nb)  # validated as papermill wrote it
        prov = provenance(job, out)
        try:
            out.report_html = render_html(nb, code=False, provenance=prov, title=job.title)
            out.full_html = render_html(nb, code=True, provenance=prov, title=job.title)
        except Exception as exc:  # a rendering failure fails the study, it does not stop the run
            out.status, out.error = "failed", f"rendering failed: {error_text(exc)}"
    if out.status == "ok":
        out.exports = read_folder(work / EXPORTS)
    return out


def add_pdf(job: Job, outcome: Outcome) -> None:
    """Add the PDF of a successful report to its exports (printed by the run's browser; none without Chromium)."""
    from .pdf import print_pdf

    if outcome.status == "ok" and outcome.report_html:
        pdf = print_pdf(outcome.report_html)
        if pdf is not None:
            outcome.exports[f"{job.study}.pdf"] = pdf
