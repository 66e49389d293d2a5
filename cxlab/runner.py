"""Batch execution of studies: validation, caching, parallel execution, atomic publishing.

The pieces, in the order a run uses them:

- :func:`plan` validates every study file before any kernel starts and works out,
  from a fingerprint of its inputs, whether each study is up to date;
- :func:`execute_study` runs one study's notebook with papermill and renders it
  (a pure function of a :class:`Job`, so it runs in-process, in a worker process
  or on a Dask worker alike) and returns an :class:`Outcome` holding the content;
- :func:`publish` writes an outcome into the output folder atomically: each
  study folder ``DIR/<study>`` is a symbolic link to a complete report under
  ``DIR/.reports/``, swapped with one ``rename``; a failed run is published
  beside it as ``DIR/<study>.failed`` and never replaces the last good report;
- :func:`run` ties them together under a lock on the output folder.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from . import __version__
from .errors import RunnerError, StudyFileError
from .params import load_study_file, study_dict
from .record import to_json, write_json_atomic

log = logging.getLogger(__name__)

# jsonschema imports rfc3987_syntax, when installed, only to check IRI formats that notebook
# validation never uses; building its grammar costs ~0.9 s in every process that imports nbformat.
# Marking it absent makes jsonschema skip that checker (see STACK.md, "Import cost").
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cxlab", "pandas", "numpy", "scipy", "seaborn", "matplotlib", "lifelines", "pingouin", "papermill",
            "nbconvert", "ipykernel")
REPORTS = ".reports"
LOCK = ".cxlab.lock"


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the project checkout, else of the current folder."""
    here = PROJECT_ROOT / "notebooks"
    return here if here.is_dir() else Path("notebooks").resolve()


def discover(paths: Iterable[str | Path], params_dir: str | Path = "params") -> list[Path]:
    """The study files to run: the paths given, or every ``*.yaml``/``*.yml`` in ``params_dir``."""
    paths = [Path(p) for p in paths]
    if paths:
        return paths
    folder = Path(params_dir)
    found = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not found:
        raise StudyFileError(f"{folder}: no study files (*.yaml) to run")
    return found


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Job:
    """Everything a worker needs to run one study (plain data, picklable)."""

    study: str
    title: str
    notebook: str
    notebook_path: str
    study_file: str
    study_dir: str
    parameters: dict[str, Any]
    inputs: dict[str, str]
    fingerprint: str
    decision: str = "ran"
    timeout: float | None = None
    packages: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What running a study produced (content, not files: a Dask worker returns it to the client)."""

    study: str
    status: str
    error: str | None
    started: str
    ended: str
    seconds: float
    notebook_json: str | None = None
    report_html: str | None = None
    full_html: str | None = None
    recorded: dict[str, Any] | None = None


def plan(study_files: Iterable[str | Path], notebooks_dir: str | Path | None = None,
         timeout: float | None = None) -> list[Job]:
    """Validate every study file and build its :class:`Job` (no kernel starts here).

    Raises
    ------
    StudyFileError
        The first invalid study file, one line naming the file and the key.
    """
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    jobs: list[Job] = []
    seen: dict[str, Path] = {}
    versions = package_versions()
    for path in study_files:
        path = Path(path)
        study = load_study_file(path)
        if study.study in seen:
            raise StudyFileError(f"{path}: key 'study': slug {study.study!r} is also used by {seen[study.study]}")
        seen[study.study] = path
        nb_path = nb_dir / f"{study.notebook}.ipynb"
        if not nb_path.is_file():
            raise StudyFileError(f"{path}: key 'notebook': notebook file not found: {nb_path}")
        inputs = {}
        specs = [study.data] + ([study.benchmark] if getattr(study, "benchmark", None) is not None else [])
        for spec in specs:
            for rel in spec.files():
                inputs[rel] = sha256_file(path.parent / rel)
        parameters = study_dict(study)
        h = hashlib.sha256()
        for part in (sha256_file(nb_path), sha256_file(path), json.dumps(inputs, sort_keys=True), __version__,
                     json.dumps(parameters, sort_keys=True)):
            h.update(part.encode())
        jobs.append(Job(study=study.study, title=study.title or study.study, notebook=study.notebook,
                        notebook_path=str(nb_path.resolve()), study_file=str(path),
                        study_dir=str(path.parent.resolve()), parameters=parameters, inputs=inputs,
                        fingerprint=h.hexdigest(), timeout=timeout, packages=versions))
    return jobs


def read_results(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_up_to_date(job: Job, out_dir: Path) -> bool:
    """True when the published report of ``job`` ran successfully on the same inputs."""
    published = read_results(out_dir / job.study / "results.json")
    return bool(published and published.get("status") == "ok"
                and published.get("provenance", {}).get("fingerprint") == job.fingerprint)


def ipc_kernel_manager(sock_dir: Path) -> type:
    """A kernel manager class on the ipc transport, its sockets in ``sock_dir``.

    ipc needs no TCP ports (parallel kernel starts cannot race for one) and
    spares the "running over TCP without encryption" warning.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            self.ip = str(sock_dir / "kernel")

    return IpcKernelManager


def _error_text(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        return f"{ename}: {evalue}".strip()
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


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

    from .render import render_html

    executed = work / f"{job.study}.ipynb"
    results_path = work / "recorded.json"
    params = {"study": job.parameters, "study_dir": job.study_dir, "results_path": str(results_path)}
    error = None
    try:
        pm.execute_notebook(job.notebook_path, str(executed), parameters=params, kernel_name="python3",
                            cwd=job.study_dir, progress_bar=False, log_output=False,
                            execution_timeout=job.timeout, kernel_manager_class=ipc_kernel_manager(work))
    except Exception as exc:  # any failure of the notebook is the study's failure, not the run's
        error = _error_text(exc)
        log.info("%s failed: %s", job.study, error)
    recorded = read_results(results_path) if results_path.is_file() else None
    if error is None and recorded is None:
        error = "the notebook finished without recording results (its last cell calls cxlab.record.record)"
    ended, seconds = now(), time.perf_counter() - t0
    out = Outcome(study=job.study, status="ok" if error is None else "failed", error=error, started=started,
                  ended=ended, seconds=seconds, recorded=recorded)
    if executed.is_file():
        nb = nbformat.read(executed, as_version=4)
        out.notebook_json = nbformat.writes(nb)
        prov = provenance(job, out)
        try:
            out.report_html = render_html(nb, code=False, provenance=prov)
            out.full_html = render_html(nb, code=True, provenance=prov)
        except Exception as exc:  # a rendering failure fails the study, it does not stop the run
            out.status, out.error = "failed", f"rendering failed: {_error_text(exc)}"
    return out


def provenance(job: Job, outcome: Outcome) -> dict[str, Any]:
    return {"study_file": job.study_file, "notebook_file": job.notebook_path, "parameters": job.parameters,
            "inputs": job.inputs, "fingerprint": job.fingerprint, "decision": job.decision,
            "packages": job.packages, "cxlab_version": __version__, "started": outcome.started,
            "ended": outcome.ended, "seconds": round(outcome.seconds, 3), "host": os.uname().nodename}


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


def _checkpoint(name: str) -> None:
    """Fault injection for the kill tests: ``CXLAB_KILL_AT=<name>`` kills this process right here."""
    if os.environ.get("CXLAB_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _swap_link(link: Path, target_name: str) -> None:
    tmp = link.parent / f".{link.name}.{uuid.uuid4().hex[:8]}.tmp"
    os.symlink(target_name, tmp)
    if link.exists() and not link.is_symlink():  # a folder from an older layout: move it aside first
        link.rename(link.parent / REPORTS / f"{link.name}-legacy-{uuid.uuid4().hex[:8]}")
    os.replace(tmp, link)


def publish(job: Job, outcome: Outcome, out_dir: str | Path) -> Path:
    """Write the outcome into ``out_dir`` atomically; return the published folder.

    The report is written completely under ``.reports/`` and then the study's
    link is swapped in one rename. A failed study is linked as
    ``<study>.failed`` and leaves ``<study>`` untouched.
    """
    out_dir = Path(out_dir)
    reports = out_dir / REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    previous = read_results(out_dir / job.study / "results.json")
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    kind = "ok" if outcome.status == "ok" else "failed"
    folder = reports / f"{job.study}-{kind}-{stamp}"
    staging = reports / f".staging-{folder.name}"
    staging.mkdir()
    files = {f"{job.study}.ipynb": outcome.notebook_json, f"{job.study}.html": outcome.report_html,
             f"{job.study}-code.html": outcome.full_html}
    for name, text in files.items():
        if text is not None:
            (staging / name).write_text(text, encoding="utf-8")
    _checkpoint("writing")
    write_json_atomic(staging / "results.json", results_document(job, outcome, previous))
    _fsync_dir(staging)
    staging.rename(folder)
    _checkpoint("staged")
    link = out_dir / (job.study if kind == "ok" else f"{job.study}.failed")
    _swap_link(link, f"{REPORTS}/{folder.name}")
    _checkpoint("linked")
    if kind == "ok":
        stale = out_dir / f"{job.study}.failed"
        if stale.is_symlink():
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
    """Remove report folders no link points to (old reports, staging left by a killed run)."""
    reports = out_dir / REPORTS
    if not reports.is_dir():
        return
    live = {os.readlink(p).split("/")[-1] for p in out_dir.iterdir() if p.is_symlink()}
    for p in out_dir.iterdir():
        if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_symlink():
            p.unlink()
    for folder in reports.iterdir():
        if folder.name not in live:
            shutil.rmtree(folder, ignore_errors=True)


class OutputLock:
    """An exclusive lock on an output folder (``flock``: released by the kernel when a run dies)."""

    def __init__(self, out_dir: Path, wait: bool) -> None:
        self.path, self.wait, self.fd = out_dir / LOCK, wait, -1

    def __enter__(self) -> "OutputLock":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip() or "another run"
            if not self.wait:
                os.close(self.fd)
                raise RunnerError(f"{self.path.parent}: another cxlab run holds the output folder ({holder}); "
                                  "use --wait to wait for it") from None
            log.warning("waiting for the lock on %s held by %s", self.path.parent, holder)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()} since {now()}\n".encode(), 0)
        return self

    def __exit__(self, *exc: Any) -> None:
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _executor(jobs: list[Job], n_jobs: int, scheduler: str | None) -> Iterator[tuple[Job, Outcome]]:
    """Run the jobs and yield (job, outcome) as each finishes: in-process, in worker processes or on Dask."""
    if not jobs:
        return
    if scheduler:
        from .cluster import run_on_dask
        yield from run_on_dask(jobs, scheduler, n_jobs)
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
                yield job, Outcome(job.study, "failed", f"worker died: {_error_text(exc)}", stamp, stamp, 0.0)
    except BaseException:  # interrupted (SIGTERM, Ctrl-C): stop the workers now, publish nothing more
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


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
            if force:
                job.decision = "ran: --force"
            elif is_up_to_date(job, out):
                job.decision = "up to date"
                _mark_checked(out / job.study / "results.json")
                row = {"study": job.study, "status": "up to date", "seconds": 0.0, "error": None}
                rows.append(row)
                if on_finish:
                    on_finish(row)
                continue
            else:
                prev = read_results(out / job.study / "results.json")
                job.decision = "ran: inputs changed" if prev else "ran: no previous report"
            todo.append(job)
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


def _mark_checked(path: Path) -> None:
    doc = read_results(path)
    if doc is None:
        return
    doc.setdefault("provenance", {})["decision"] = "up to date"
    doc["provenance"]["last_checked"] = now()
    target = path.resolve()
    write_json_atomic(target, doc)


def write_index(out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` from the published ``results.json`` files (atomically)."""
    from .index import render_index
    entries = []
    for link in sorted(out_dir.iterdir()):
        if link.name.startswith(".") or not link.is_dir():
            continue
        doc = read_results(link / "results.json")
        if doc is not None:
            entries.append((link.name, doc))
    path = out_dir / "index.html"
    tmp = out_dir / f".index.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(render_index(entries), encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = ["Job", "Outcome", "RunReport", "discover", "plan", "execute_study", "publish", "run", "write_index"]
