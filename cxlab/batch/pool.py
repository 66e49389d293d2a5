"""Local execution: in this process, or in forked worker processes (papermill imported once, inherited)."""
from __future__ import annotations

from typing import Iterator

from .execute import execute_study
from .jobs import Job, Outcome, error_text, now


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

    pool = ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs)), mp_context=mp.get_context("fork"))
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
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
