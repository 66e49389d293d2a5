"""A whole run: plan, decide, execute, publish and index, under a lock on the output folder."""
from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .cache import decide, mark_checked
from .index import write_index
from .jobs import Job, Outcome
from .lock import OutputLock
from .plan import plan
from .publish import collect_garbage, publish


def _executor(jobs: list[Job], n_jobs: int, scheduler: str | None) -> Iterator[tuple[Job, Outcome]]:
    """Run the jobs and yield (job, outcome) as each finishes: locally or on Dask."""
    if scheduler and jobs:
        from .cluster import run_on_dask
        return run_on_dask(jobs, scheduler, n_jobs)
    from .pool import run_local
    return run_local(jobs, n_jobs)

@dataclass
class RunReport:
    """The outcome of :func:`run`: per study, its status and seconds."""

    rows: list[dict[str, Any]]

    @property
    def exit_status(self) -> int:
        return 1 if any(r["status"] == "failed" for r in self.rows) else 0


def run(study_files: Iterable[str | Path], out_dir: str | Path = "outputs", *, n_jobs: int | None = None,
        force: bool = False, timeout: float | None = None, wait: bool = False, scheduler: str | None = None,
        notebooks_dir: str | Path | None = None,
        on_finish: Callable[[dict[str, Any]], None] | None = None,
        on_start: Callable[[int], None] | None = None) -> RunReport:
    """Run studies and publish their reports into ``out_dir``.

    Parameters
    ----------
    study_files : paths
        Validated all together before any kernel starts.
    out_dir : path
        Output folder; locked for the whole run.
    n_jobs : int, optional
        Studies executed at once (default: the number of cores).
    force : bool
        Rerun studies whose inputs are unchanged.
    timeout : float, optional
        Seconds allowed per cell.
    wait : bool
        Wait for a lock held by another run instead of failing.
    scheduler : str, optional
        A Dask scheduler address, or "local" for a LocalCluster.
    on_finish, on_start : callables, optional
        Progress hooks: ``on_start(number of studies to execute)``, ``on_finish(row)`` per study.

    Raises
    ------
    StudyFileError, RunnerError
        The run could not start.
    """
    jobs = plan(study_files, notebooks_dir, timeout)
    _exit_on_sigterm()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_jobs = n_jobs or os.cpu_count() or 1
    rows: list[dict[str, Any]] = []
    with OutputLock(out, wait):
        collect_garbage(out)
        todo = []
        for job in jobs:
            job.decision = decide(job, out, force)
            if job.decision != "up to date":
                todo.append(job)
                continue
            mark_checked(out / job.study / "results.json")
            row = {"study": job.study, "status": "up to date", "seconds": 0.0, "error": None}
            rows.append(row)
            if on_finish:
                on_finish(row)
        if on_start:
            on_start(len(todo))
        for job, outcome in _executor(todo, n_jobs, scheduler):
            publish(job, outcome, out)
            row = {"study": job.study, "status": outcome.status, "seconds": round(outcome.seconds, 1),
                   "error": outcome.error}
            rows.append(row)
            write_index(out)
            if on_finish:
                on_finish(row)
        write_index(out)
        collect_garbage(out)
    order = {job.study: i for i, job in enumerate(jobs)}
    rows.sort(key=lambda r: order[r["study"]])
    return RunReport(rows)


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so the lock is released and workers stopped on the way out."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
