"""A whole run: plan, decide, execute, publish and index, under a lock on the output folder."""
from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import CxlabError, RunnerError
from ..exports import SLUG_MAX
from ..methods import PAGE as METHODS_PAGE
from ..params import NAME_MAX
from . import kernels
from .cache import decide, mark_checked
from .execute import WORK_PREFIX, add_pdf
from .index import write_index
from .jobs import Job, Outcome, now
from .lock import OutputLock
from .overview import write_run_state
from .pdf import start_browser, stop_browser
from .plan import longest_first, plan
from .publish import REPORTS, PublishError, check_place, collect_garbage, publish, results_document
from .tempdirs import sweep

log = logging.getLogger(__name__)
INDEX_MARKERS = ('<meta name="generator" content="cxlab">', "<title>cxlab reports</title>")
METHODS_MARKERS = ("<title>cxlab methods</title>",)


class Interrupted(BaseException):
    """The run was stopped by a signal (SIGTERM); what is published stays complete."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


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
        on_start: Callable[[int], None] | None = None, keep_going: bool = False) -> RunReport:
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
    keep_going : bool
        An invalid study file fails alone (a failed row named by its file, its one-line error in the index)
        while the others run: a scheduled run of every study. Without it, the first invalid file stops the run.

    Raises
    ------
    StudyFileError, RunnerError
        The run could not start.
    """
    invalid: dict[str, str] | None = {} if keep_going else None
    jobs = plan(study_files, notebooks_dir, timeout, invalid=invalid)
    broken = {Path(path).stem: {"file": path, "error": error} for path, error in (invalid or {}).items()}
    _exit_on_sigterm()
    out = prepare_output(Path(out_dir), jobs)
    n_jobs = n_jobs or os.cpu_count() or 1
    rows: list[dict[str, Any]] = []
    unpublished: dict[str, dict[str, Any]] = {}
    said: set[str] = set()  # index errors already said (the index is rewritten after every study)
    state = {"studies": [job.study for job in jobs], "invalid": broken}  # the index shows this run's set of studies
    with OutputLock(out, wait):
        collect_garbage(out)
        _record(out, state)  # a failure (disk full) is retried and said with the index (:func:`_index`)
        for name, entry in broken.items():
            row = {"study": name, "status": "failed", "seconds": 0.0, "error": entry["error"]}
            rows.append(row)
            if on_finish:
                on_finish(row)
        todo = []
        for job in jobs:
            try:
                check_place(out, job.study)
            except PublishError as exc:  # never run a study whose report could not be published
                stamp = now()
                failed = _publish(job, Outcome(job.study, "failed", str(exc), stamp, stamp, 0.0), out, unpublished)
                row = {"study": job.study, "status": "failed", "seconds": 0.0, "error": failed.error}
                rows.append(row)
                if on_finish:
                    on_finish(row)
                continue
            job.decision = decide(job, out, force)
            if job.decision != "up to date":
                todo.append(job)
                continue
            mark_checked(out / job.study / "results.json")
            row = {"study": job.study, "status": "up to date", "seconds": 0.0, "error": None}
            rows.append(row)
            if on_finish:
                on_finish(row)
        todo = longest_first(todo, out)
        if on_start:
            on_start(len(todo))
        if todo and not scheduler:
            server = kernels.start()  # warm kernels for a local run (the CLI may have started it already)
            if server is not None:
                server.eager = len(todo) == 1
        else:
            kernels.stop()
        if todo:
            sweep(WORK_PREFIX)  # the work folders of runs that were killed (SIGKILL: their cleanup never ran)
            start_browser()  # one Chromium prints every PDF of the run
        try:
            for job, outcome in _executor(todo, n_jobs, scheduler):
                add_pdf(job, outcome)
                outcome = _publish(job, outcome, out, unpublished)
                row = {"study": job.study, "status": outcome.status, "seconds": round(outcome.seconds, 1),
                       "error": outcome.error}
                rows.append(row)
                _index(out, unpublished, said, state)
                if on_finish:
                    on_finish(row)
        finally:
            kernels.stop()
            stop_browser()
        _index(out, unpublished, said, state)
        collect_garbage(out)
    order = {job.study: i for i, job in enumerate(jobs)}
    rows.sort(key=lambda r: order.get(r["study"], -1))  # invalid study files first
    return RunReport(rows)


def prepare_output(out: Path, jobs: list[Job]) -> Path:
    """The output folder, created if need be, after checking it can hold reports without harm.

    Raises
    ------
    RunnerError
        One line: ``--out`` is a file or a dangling link, cannot be created, is
        a folder the study files or data live in, holds an ``index.html`` or
        ``methods.html`` cxlab did not write, or a ``.reports`` that is a link or not a folder.
    """
    if out.is_symlink() and not out.exists():
        raise RunnerError(f"{out}: the output folder is a symbolic link to {os.readlink(out)}, which does not exist")
    if out.exists() and not out.is_dir():
        raise RunnerError(f"{out}: the output folder is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunnerError(f"{out}: cannot create the output folder: {exc.strerror or exc}") from None
    here = out.resolve()
    for job in jobs:
        inputs = [Path(job.study_file), *(Path(job.study_dir) / rel for rel in job.inputs)]
        for path in inputs:
            if path.resolve().parent == here:
                raise RunnerError(f"{out}: the output folder holds {path.name}, an input of study {job.study}; "
                                  "choose another --out (reports never go beside their data)")
    _check_lengths(out, jobs)
    for name, markers in (("index.html", INDEX_MARKERS), (METHODS_PAGE, METHODS_MARKERS)):
        page = out / name
        if not (page.is_symlink() or page.exists()):
            continue
        head = ""
        try:  # its first bytes only (cxlab writes its markers there): it may be huge; never a FIFO's
            if page.is_file():
                with open(page, "rb") as fh:
                    head = fh.read(4096).decode("utf-8", errors="replace")
        except OSError:
            pass
        if page.is_symlink() or not any(marker in head for marker in markers):
            raise RunnerError(f"{page}: {'an' if name[0] in 'aeiou' else 'a'} {name} cxlab did not write is in the "
                              "way; cxlab never replaces it (move it, or choose another --out)")
    reports = out / REPORTS
    if reports.is_symlink():  # publishing and garbage collection would write and delete wherever it points
        raise RunnerError(f"{reports}: the reports folder is a symbolic link; cxlab never follows it (remove the link)")
    if reports.exists() and not reports.is_dir():
        raise RunnerError(f"{reports}: the reports folder is not a folder; cxlab never writes to it (remove it)")
    return out


def _check_lengths(out: Path, jobs: list[Job]) -> None:
    """Refuse a run whose reports would need names or paths longer than the output folder's file system allows."""
    def limit(name: str, default: int) -> int:
        try:
            return os.pathconf(out, name) or default
        except (OSError, ValueError):
            return default

    name_max, path_max = limit("PC_NAME_MAX", NAME_MAX), limit("PC_PATH_MAX", 4096)
    base = out.resolve()
    for job in jobs:
        staging = f".staging-{job.study}-failed-{'0' * 15}-{'0' * 6}"  # the longest names publish() writes
        longest = max((base / REPORTS / staging / name for name in (f"{job.study}-code.html",
                                                                    f"figures/{'x' * SLUG_MAX}.png")),
                      key=lambda p: len(os.fsencode(str(p))))
        n_name, n_path = len(os.fsencode(staging)), len(os.fsencode(str(longest)))
        if n_name > name_max:
            raise RunnerError(f"{out}: study {job.study}: its report folder's name would be {n_name} bytes, longer "
                              f"than this file system allows ({name_max}); choose a shorter study name")
        if n_path >= path_max:
            raise RunnerError(f"{out}: study {job.study}: its report would be written at a path of {n_path} bytes, "
                              f"longer than the file system allows ({path_max - 1}); choose a shorter --out")


def _publish(job: Job, outcome: Outcome, out: Path, unpublished: dict[str, dict[str, Any]]) -> Outcome:
    """Publish ``outcome``; when that fails, publish the failure (one line) instead, or keep it for the index."""
    try:
        publish(job, outcome, out)
        return outcome
    except PublishError as exc:
        failed = Outcome(job.study, "failed", str(exc), outcome.started, outcome.ended, outcome.seconds)
    try:
        publish(job, failed, out)
    except CxlabError:  # not even the failure can be written (disk full): the index still says so
        unpublished[job.study] = results_document(job, failed, None)
    return failed


def _record(out: Path, state: dict[str, Any]) -> OSError | None:
    """Write the run's set of studies (:func:`.overview.write_run_state`) unless it is written already; the
    error (disk full) if it cannot be."""
    if state.get("written"):
        return None
    try:
        write_run_state(out, state["studies"], state["invalid"])
    except OSError as exc:
        return exc
    state["written"] = True
    return None


def _index(out: Path, unpublished: dict[str, dict[str, Any]], said: set[str], state: dict[str, Any]) -> None:
    """Rewrite the index, after the run's set of studies it is drawn from (``state``, written now if it could
    not be before); a failure (disk full) is said once per run, in one line: the index's, or, when only the
    set of studies could not be written, that the index lists the previous run's."""
    unrecorded = _record(out, state)
    line = None
    try:
        from .publish import checkpoint
        checkpoint("index")
        write_index(out, unpublished)
    except OSError as exc:
        line = f"{out}: cannot write index.html: {exc.strerror or exc}"
    else:
        if unrecorded is not None:
            line = (f"{out}: cannot record the run's studies (the index lists the previous run's): "
                    f"{unrecorded.strerror or unrecorded}")
    if line is not None and line not in said:
        said.add(line)
        log.error("%s", line)


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Interrupted` so the lock is released and workers stopped on the way out."""
    def stop(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
