"""Command line: ``cxlab run [STUDY.yaml ...] [--out DIR]``, ``cxlab validate``, ``cxlab new`` and ``cxlab synth``.

Exit status: 0 every study succeeded or is up to date; 1 some study failed;
2 the run could not start (bad study file, output folder locked).
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from typing import Any, Callable, Sequence

from . import __version__
from .errors import CxlabError

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_START = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it

RUN_EPILOG = """\
exit status:
  0    every study succeeded or was up to date
  1    some study failed (its own study file invalid, its data, a cell or a time limit): the others still
       ran and were published; see the index and outputs/<study>.failed/
  2    the run could not start (no study files, output folder locked by another run without --wait)
  130  interrupted (Ctrl-C); 128 + N after signal N (143 for SIGTERM): published reports stay complete

study files with `draft: true` (written by `cxlab new` when its draft needs editing) are skipped, with a
line saying so, when no study is named.

environment variables:
  CXLAB_LOG=DEBUG|INFO|WARNING   log level (default WARNING; DEBUG also shows tracebacks of internal errors)
  CXLAB_PDF=0                    no PDF reports (otherwise printed when Chromium is installed)
  CXLAB_WARM=0                   start every kernel cold (default: forked from one that imported the libraries)
  a study's `password_env:`      the variable holding its database server's password

examples:
  cxlab run                                   every study in params/, outputs in outputs/
  cxlab run params/loyalty.yaml --force       one study, rerun even if its inputs are unchanged
  cron, nightly at 02:15, mail only when something failed:
    MAILTO=cx-team@example.com
    15 2 * * *  cd /srv/cxlab && .venv/bin/cxlab run --quiet --wait --out /srv/cxlab/outputs
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxlab", description="cxlab: customer-experience research workbench")
    p.add_argument("--version", action="version", version=f"cxlab {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run studies and publish their reports", epilog=RUN_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run studies and publish their reports (HTML, PDF, results.json, tables.xlsx) "
                                   "and the index of every study.")
    r.add_argument("studies", nargs="*", help="study files (default: every *.yaml in params/)")
    r.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    r.add_argument("--jobs", "-j", type=int, default=None, help="studies run at once (default: number of cores)")
    r.add_argument("--force", action="store_true", help="rerun studies whose inputs are unchanged")
    r.add_argument("--timeout", type=float, default=None, help="seconds allowed per notebook cell")
    r.add_argument("--wait", action="store_true", help="wait for another run holding the output folder")
    r.add_argument("--quiet", "-q", action="store_true", help="print only failures (for cron mail)")
    r.add_argument("--scheduler", default=None,
                   help="run on a Dask cluster: a scheduler address, or 'local' for a LocalCluster")
    r.add_argument("--notebooks", default=None, help="folder of the notebooks (default: the project's)")
    r.add_argument("--params", default="params", help="folder searched when no study is named")
    v = sub.add_parser("validate", help="check study files without running them")
    v.add_argument("studies", nargs="*")
    v.add_argument("--params", default="params")
    v.add_argument("--rows", type=int, default=5, help="rows of canonical data shown per study (0: none; the data are checked either way)")
    n = sub.add_parser("new", help="write params/STUDY.yaml from a look at a data file")
    n.add_argument("study", help="the study's name (letters, digits, '-', '_')")
    n.add_argument("--notebook", required=True, help="the kind of study (loyalty, retention, ...)")
    src = n.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="the data file (.csv, .parquet, .xlsx, .sav, .dta; Qualtrics CSV exports)")
    src.add_argument("--sql", help="a DuckDB query instead of a file")
    n.add_argument("--database", help="with --sql: the DuckDB database file")
    n.add_argument("--sheet", help="with an .xlsx file: the sheet's name or 0-based index")
    n.add_argument("--params", default="params", help="folder the study file goes in (default: params)")
    g = sub.add_parser("synth", help="write an embedded data set to a Parquet file (up to 100,000,000 rows)")
    g.add_argument("name", help="the generator (customers, lifecycles, survey, drivers)")
    g.add_argument("--n", type=int, required=True, help="number of rows")
    g.add_argument("--out", required=True, help="the Parquet file to write (.parquet)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random generator (default 0)")
    g.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="a generator option, e.g. -o scenario=within (repeatable)")
    g.add_argument("--force", action="store_true", help="replace the file if it exists")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    return p


class _Progress:
    """On a terminal, a progress line under the finished studies; otherwise one line per finished study."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and not quiet
        self.total = self.done = 0
        self.t0 = time.perf_counter()

    def _bar(self) -> None:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        sys.stderr.write(f"\r\x1b[2Kcxlab run [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                         f"studies, {time.perf_counter() - self.t0:.0f} s")
        sys.stderr.flush()

    def start(self, total: int) -> None:
        self.total = total
        if self.tty and total:
            self._bar()

    def finish(self, row: dict[str, Any]) -> None:
        line = f"{row['study']}: {row['status']} ({row['seconds']:.1f} s)"
        if row.get("error"):
            line += f" - {row['error']}"
        if row["status"] != "up to date":
            self.done += 1
        if self.quiet and row["status"] != "failed":
            return
        if self.tty and self.total:
            sys.stderr.write("\r\x1b[2K")
        print(line, file=sys.stderr if row["status"] == "failed" else sys.stdout, flush=True)
        if self.tty and self.total:
            self._bar()

    def close(self) -> None:
        if self.tty and self.total:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _stop(progress: _Progress, line: str, status: int) -> int:
    """Interrupted: one line, and out now (no interpreter teardown that could print more).

    What is published is complete (each report is swapped in with one rename),
    the lock goes with the process, workers die with it (``PR_SET_PDEATHSIG``)
    and kernels follow their parent.
    """
    progress.close()
    print(f"cxlab: {line}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(status)


def _run(args: argparse.Namespace) -> int:
    from .batch import kernels
    if args.force and not args.scheduler:
        kernels.start()  # every study will run: the kernel server imports while this process plans the run
    from .batch.plan import discover
    from .batch.pdf import chromium, skipped_line
    from .batch.run import Interrupted, run
    from .fmt import plural
    progress = _Progress(args.quiet)
    if args.quiet or args.scheduler:
        _quiet_libraries()
    try:
        files = discover(args.studies, args.params)
        if not args.studies:
            files = _without_drafts(files, args.quiet)
        report = run(files, args.out, n_jobs=args.jobs, force=args.force, timeout=args.timeout, wait=args.wait,
                     scheduler=args.scheduler, notebooks_dir=args.notebooks, on_finish=progress.finish,
                     on_start=progress.start, keep_going=not args.studies)
    except CxlabError as exc:
        kernels.stop()
        progress.close()
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except Interrupted as exc:
        return _stop(progress, f"{exc}; reports already published are complete", 128 + exc.signum)
    except KeyboardInterrupt:
        return _stop(progress, "interrupted; reports already published are complete", EXIT_INTERRUPTED)
    progress.close()
    if not args.quiet:
        failed = sum(r["status"] == "failed" for r in report.rows)
        print(f"{plural(len(report.rows), 'study')}, {failed} failed; index: "  # --out as given: no machine path
              f"{os.path.normpath(os.path.join(args.out, 'index.html'))}")
        if any(r["status"] == "ok" for r in report.rows) and chromium() is None:
            print(skipped_line())
    return report.exit_status


def _without_drafts(files: list[Any], quiet: bool) -> list[Any]:
    """The study files that are not drafts (``draft: true``), a line printed for each draft left out."""
    from .params import is_draft
    kept = []
    for path in files:
        if is_draft(path):
            if not quiet:
                print(f"{path}: skipped: a draft (draft: true); edit it until `cxlab validate {path}` passes, "
                      "then delete that line")
        else:
            kept.append(path)
    return kept


def _quiet_libraries() -> None:
    """Silence the INFO chatter of Dask (here and in the worker processes it spawns)."""
    if logging.getLogger().getEffectiveLevel() <= logging.INFO:
        return
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    for name in ("distributed", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _validate(args: argparse.Namespace) -> int:
    """Each study file checked as a run checks it, then its data read through the study's own load (the mapping
    against the file's header, the values' checks); "ok" is printed only when both pass, whatever ``--rows``.
    Exit 2 when a study file is invalid, 1 when a study's data fail; every file is checked either way."""
    from .batch.plan import discover, plan
    try:
        files = discover(args.studies, args.params)
    except CxlabError as exc:
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    invalid: dict[str, str] = {}
    try:
        jobs = plan(files, invalid=invalid)  # every file checked, a slug used twice included
    except CxlabError as exc:
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    for error in invalid.values():
        print(f"cxlab: {error}", file=sys.stderr)
    status = EXIT_CANNOT_START if invalid else EXIT_OK
    for job in jobs:
        if _show_data(job, args.rows) != EXIT_OK:
            status = max(status, EXIT_FAILED)
    return status


def _show_data(job: Any, rows: int) -> int:
    """Read the study's data through its load; when they pass, print "ok" and (``rows`` > 0) the resolved
    column mapping and the first rows of the canonical data."""
    import pandas as pd

    from .params import load_study_file
    from .registry import STUDIES
    counted = None
    try:
        study = load_study_file(job.study_file)
        load = STUDIES[study.notebook].part("load")
        counted = _head_only(study, job.study_dir, rows)
        loaded = None
        if counted is not None:
            # every row through the study's checks, as a run reads them (in batches where the study can)
            batched = BATCHED_READERS.get(study.notebook)
            getattr(load, batched)(study, job.study_dir) if batched else load.read(study, job.study_dir)
            if rows > 0:   # what is shown: the first rows only
                try:
                    loaded = load.read(study, job.study_dir, reader=counted[1])
                except CxlabError:  # a check the first rows alone fail (one tier...): show the whole read
                    counted = None
        if loaded is None and (counted is None or rows > 0):
            loaded = load.read(study, job.study_dir)
    except CxlabError as exc:
        print(f"cxlab: {job.study_file}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    draft = "; a draft: delete its line `draft: true` to include it in a run of every study" if study.draft else ""
    checked = (f"all {counted[0]:,} rows checked in batches" if counted is not None else "data read and checked")
    print(f"{job.study_file}: ok ({job.notebook}; {checked}{draft})")
    if rows <= 0:
        return EXIT_OK
    frame, summary = loaded if isinstance(loaded, tuple) else (getattr(loaded, "frame", None), loaded.summary)
    if frame is None:  # drivers: the outcome and the driver columns
        frame = pd.concat([loaded.outcome.rename("outcome"), loaded.drivers], axis=1)
    with pd.option_context("display.width", 120, "display.max_columns", 12, "display.precision", 3):
        if counted is not None:
            from .paths import relative_paths   # the study's folder, never the machine's, as the full read says
            print(f"  {counted[0]:,} rows in {relative_paths(summary.source)} (counted without loading them, checked "
                  "in batches); the mapping and the first rows:")
        else:
            from .report import plain
            print("  " + plain(summary.describe()))
        print("  " + summary.to_frame().to_string().replace("\n", "\n  "))
        print("  " + frame.head(rows).to_string().replace("\n", "\n  "))
    return EXIT_OK


HEAD_ROWS = 1000
"""Rows ``cxlab validate`` shows from (the first batch of) a source read in batches."""
BATCHED_READERS = {"loyalty": "read_cells", "metrics": "read_counts", "retention": "read_counts"}
"""The readers that check every row of a source in batches (bounded memory), as a run reads it."""
HEAD_STUDIES = ("loyalty", "metrics", "retention", "drivers")
"""Studies whose rows are checked one by one (a panel or a transaction log is checked as a whole)."""


def _head_only(study: Any, base_dir: str, rows: int) -> tuple[int, Callable[..., Any]] | None:
    """For a source read in batches (:mod:`cxlab.streaming`): its row count (from metadata, the server's
    ``COUNT(*)`` or one pass over one column) and a reader, for the study's ``read(..., reader=)``, that gives
    only its first rows; None for embedded data and for panels (leaders: growth needs every period of a company)."""
    from .sources import read_source
    from .streaming import count_rows, open_stream
    if study.notebook not in HEAD_STUDIES:
        return None
    stream = open_stream(study.data, base_dir)
    if stream is None:
        return None
    total = count_rows(stream)

    def head(spec: Any, base: Any, columns: Any = None) -> Any:
        if spec is not study.data:
            return read_source(spec, base, columns)
        batch = next(stream.batches(list(columns) if columns is not None else list(stream.header.columns),
                                    max(rows, HEAD_ROWS)))
        batch.attrs = {**stream.header.attrs, "header": list(stream.header.columns)}
        return batch, stream.source
    return total, head


def _new(args: argparse.Namespace) -> int:
    from .scaffold import new_study
    sheet: Any = args.sheet
    if sheet is not None and sheet.isdigit():
        sheet = int(sheet)
    try:
        _, summary, ok = new_study(args.study, args.notebook, args.data, args.params, sheet=sheet, sql=args.sql,
                                   database=args.database)
    except CxlabError as exc:
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    print(summary, file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


def _synth(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from . import synth
    out = Path(args.out)
    problem = None
    if out.suffix.lower() not in (".parquet", ".pq"):
        problem = f"--out {out}: the file name must end in .parquet"
    elif not out.parent.is_dir():
        problem = f"--out {out}: the folder {out.parent} does not exist"
    elif out.exists() and not args.force:
        problem = f"--out {out}: the file exists; choose another name or pass --force to replace it"
    options: dict[str, Any] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problem = problem or f"--option {item!r}: write KEY=VALUE"
        else:
            options[key.strip()] = yaml.safe_load(value) if value.strip() else value
    if problem is not None:
        print(f"cxlab: {problem}", file=sys.stderr)
        return EXIT_CANNOT_START

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"cxlab synth {args.name}: {done:,} of {total:,} rows", file=sys.stderr, flush=True)

    try:
        synth.write_parquet(args.name, args.n, out, seed=args.seed, progress=progress, **options)
    except CxlabError as exc:
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except ValueError as exc:  # the generator's own range checks (n, options)
        print(f"cxlab: synthetic {args.name!r}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except OSError as exc:
        print(f"cxlab: --out {out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    print(f"wrote {args.n:,} rows of synthetic {args.name} (seed {args.seed}) to {out}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cxlab`` console script."""
    logging.basicConfig(level=os.environ.get("CXLAB_LOG", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "new":
            return _new(args)
        if args.command == "synth":
            return _synth(args)
        return _validate(args)
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run stops its own way, see _stop): one line, no traceback
        print("cxlab: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:   # the reader of our output left (`cxlab validate ... | head`): stop quietly, as `yes` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # nothing more to flush at exit
        return 128 + signal.SIGPIPE
    except Exception as exc:  # a bug, not a user error: one line here; the traceback with CXLAB_LOG=DEBUG
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"cxlab: internal error: {type(exc).__name__}: {first} (run with CXLAB_LOG=DEBUG for the traceback)",
              file=sys.stderr)
        return EXIT_CANNOT_START


def entry() -> None:
    """The ``cxlab`` console script (and ``python -m cxlab.cli``): :func:`main`, then exit at once.

    When :func:`main` returns, every file is written and closed, the output folder's lock
    released, and kernels, workers, clusters and the browser stopped. What remains is the
    interpreter's teardown of the libraries a run imports (papermill, nbconvert, jinja2,
    pygments, bs4): about 0.25 s of freeing memory at exit that no one waits for.
    """
    status = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    entry()
