"""Local execution: in this process, or in forked worker processes (papermill and nbconvert imported once, inherited).

Workers belong to the run: each closes the run's lock descriptor as it starts
(a worker never holds the output folder), dies with the run
(``PR_SET_PDEATHSIG``: a SIGKILLed run leaves no orphan behind), leaves SIGTERM
at its default and ignores Ctrl-C (the run stops them itself).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Iterator

from .execute import execute_study
from .jobs import Job, Outcome, error_text, now
from .kernels import die_with_parent
from .lock import close_inherited
from .pdf import forget_inherited

log = logging.getLogger(__name__)


def _worker_start(parent: int) -> None:
    close_inherited()
    forget_inherited()
    die_with_parent(parent)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_local(jobs: list[Job], n_jobs: int) -> Iterator[tuple[Job, Outcome]]:
    """Run the jobs on ``n_jobs`` processes and yield ``(job, outcome)`` as each finishes."""
    if not jobs:
        return
    if n_jobs <= 1 or len(jobs) == 1:
        for job in jobs:
            yield job, execute_study(job)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import papermill  # noqa: F401  imported once here, inherited by the forked workers

    from .render import prewarm
    prewarm(wait=True)  # nbconvert and both exporters too (their kernels are not ready before this is done)

    pool = ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=mp.get_context("fork"),
                               initializer=_worker_start, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(execute_study, job): job for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                yield job, fut.result()
            except Exception as exc:  # a worker process that died (killed, out of memory)
                stamp = now()
                yield job, Outcome(job.study, "failed", f"worker died: {error_text(exc)}", stamp, stamp, 0.0)
    except BaseException:  # interrupted (SIGTERM, Ctrl-C): stop the workers now, publish nothing more
        stop_workers(pool)
        raise
    pool.shutdown()


def stop_workers(pool: object) -> None:
    """SIGKILL the pool's workers (their kernels follow: a kernel exits when its parent is gone)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        try:
            proc.kill()
        except (OSError, AttributeError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[attr-defined]
