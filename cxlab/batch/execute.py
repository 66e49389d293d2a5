"""Executing one study: papermill runs the notebook in a fresh kernel, then both HTML pages are rendered.

The kernel is forked by the run's kernel server when there is one (:mod:`.kernels`),
else started cold. The PDF is printed afterwards by the run's process, in one
browser for the whole run (:func:`add_pdf`).

:func:`execute_study` is a pure function of a :class:`~.jobs.Job` returning an
:class:`~.jobs.Outcome` with the content (no files), so it runs in-process, in a
worker process or on a Dask worker alike.
"""
from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..record import read_results
from . import kernels
from .jobs import Job, Outcome, error_text, now, provenance

log = logging.getLogger(__name__)


KERNEL_LOG = "kernel.log"
ENGINE = "cxlab"
"""The papermill engine of a run: nbclient's, writing the executed notebook once (:func:`engine`)."""


@functools.lru_cache(maxsize=1)
def engine() -> str:
    """Register, once per process, papermill's nbclient engine writing the notebook when it ends.

    papermill writes the whole notebook (serialised and validated) before and after every cell,
    about 8 ms each time: a third of a second per study that nobody reads, since the notebook is
    read only when it ends. This engine writes it once, when execution ends, as papermill itself
    does after a failing cell, a timeout or a dead kernel; the notebook as far as it ran is kept.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class WriteAtEnd(NotebookExecutionManager):
        def save(self, **kwargs: Any) -> None:
            if self.end_time is not None:  # set by notebook_complete, which runs however execution ended
                super().save(**kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None,
                             progress_bar: bool = False, log_output: bool = False, autosave_cell_every: int = 30,
                             **kwargs: Any) -> Any:
            manager = WriteAtEnd(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                 autosave_cell_every=autosave_cell_every)
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(ENGINE, Engine)
    return ENGINE


def ipc_kernel_manager(sock_dir: Path) -> type:
    """A kernel manager class on the ipc transport, its sockets in ``sock_dir``.

    ipc needs no TCP ports (parallel kernel starts cannot race for one) and
    spares the "running over TCP without encryption" warning. The kernel's own
    stdout and stderr (its log lines, tracebacks on interrupt or timeout) go to
    ``sock_dir/kernel.log``, never to the terminal; a failed study keeps them.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            self.ip = str(sock_dir / "kernel")

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if await kernels.launch(self, kernel_cmd, kw, sock_dir / KERNEL_LOG):
                return  # forked, imports done, by the run's kernel server
            with open(sock_dir / KERNEL_LOG, "ab") as log_file:  # the child keeps its own copy
                kw["stdout"] = kw["stderr"] = log_file
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return IpcKernelManager


def execute_study(job: Job) -> Outcome:
    """Run one study's notebook with papermill and render both HTML pages.

    Never raises for a study that fails: the outcome carries the error and the
    executed notebook as far as it ran.
    """
    logging.getLogger("papermill").setLevel(logging.CRITICAL)  # the outcome reports the error once
    started, t0 = now(), time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"cxlab-{job.study}-"))
    try:
        return _execute_in(work, job, started, t0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _execute_in(work: Path, job: Job, started: str, t0: float) -> Outcome:
    import nbformat
    import papermill as pm

    from ..exports import EXPORTS, read_folder
    from .render import prewarm, render_html, rerunnable_parameters

    prewarm()  # the exporters load their templates while the kernel runs

    executed = work / f"{job.study}.ipynb"
    results_path = work / "recorded.json"
    params = {"study": job.parameters, "study_dir": job.study_dir, "results_path": str(results_path)}
    error = None
    try:
        pm.execute_notebook(job.notebook_path, str(executed), parameters=params, kernel_name="python3",
                            cwd=job.study_dir, progress_bar=False, log_output=False, engine_name=engine(),
                            execution_timeout=job.timeout, kernel_manager_class=ipc_kernel_manager(work))
    except Exception as exc:  # any failure of the notebook is the study's failure, not the run's
        error = error_text(exc)
        log.info("%s failed: %s", job.study, error)
    recorded = read_results(results_path) if results_path.is_file() else None
    if error is None and recorded is None:
        error = "the notebook finished without recording results (its last cell calls cxlab.record.record)"
    ended, seconds = now(), time.perf_counter() - t0
    out = Outcome(study=job.study, status="ok" if error is None else "failed", error=error, started=started,
                  ended=ended, seconds=seconds, recorded=recorded)
    kernel_log = work / KERNEL_LOG
    if error is not None and kernel_log.is_file():
        out.log_text = kernel_log.read_text(encoding="utf-8", errors="replace")[-200_000:] or None
    if executed.is_file():
        nb = nbformat.read(executed, as_version=4)
        rerunnable_parameters(nb)
        out.notebook_json = nbformat.writes(nb)
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
