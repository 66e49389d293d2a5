"""Running studies on a Dask distributed cluster (``cxlab run --scheduler ADDRESS|local``).

Each study is one task that executes its notebook on a worker
(:func:`cxlab.batch.execute.execute_study`) and returns the content; the client
publishes it atomically, as a local run does. Workers need the same
environment as the client (this project installed, the same package versions)
and read access to the notebooks and data files at the same absolute paths.
"""
from __future__ import annotations

import logging
from typing import Iterator

from .execute import execute_study
from .jobs import Job, Outcome, now

log = logging.getLogger(__name__)


def run_on_dask(jobs: list[Job], scheduler: str, n_workers: int) -> Iterator[tuple[Job, Outcome]]:
    """Execute ``jobs`` on the cluster at ``scheduler`` ("local": a new LocalCluster of ``n_workers``
    worker processes) and yield ``(job, outcome)`` as each finishes."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    log.info("dask: %s with %d workers", client.scheduler.address, len(client.scheduler_info()["workers"]))
    try:
        futures = client.map(execute_study, jobs, key=[f"cxlab-{j.study}-{j.fingerprint[:12]}" for j in jobs],
                             pure=False)
        by_key = {f.key: job for f, job in zip(futures, jobs)}
        for fut in as_completed(futures):
            job = by_key[fut.key]
            try:
                yield job, fut.result()
            except Exception as exc:  # the worker died or the task could not run
                stamp = now()
                yield job, Outcome(job.study, "failed", f"dask task failed: {type(exc).__name__}: {exc}",
                                   stamp, stamp, 0.0)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
