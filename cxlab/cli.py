"""Command line: ``cxlab run [STUDY.yaml ...] [--out DIR]`` and ``cxlab validate``.

Exit status: 0 every study succeeded or is up to date; 1 some study failed;
2 the run could not start (bad study file, output folder locked).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any, Sequence

from . import __version__
from .errors import CxlabError

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_START = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxlab", description="cxlab: customer-experience research workbench")
    p.add_argument("--version", action="version", version=f"cxlab {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run studies and publish their reports")
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


def _run(args: argparse.Namespace) -> int:
    from .batch.plan import discover
    from .batch.pdf import SKIPPED, chromium
    from .batch.run import run
    from .fmt import plural
    progress = _Progress(args.quiet)
    try:
        files = discover(args.studies, args.params)
        report = run(files, args.out, n_jobs=args.jobs, force=args.force, timeout=args.timeout, wait=args.wait,
                     scheduler=args.scheduler, notebooks_dir=args.notebooks, on_finish=progress.finish,
                     on_start=progress.start)
    except CxlabError as exc:
        progress.close()
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    progress.close()
    if not args.quiet:
        failed = sum(r["status"] == "failed" for r in report.rows)
        print(f"{plural(len(report.rows), 'study')}, {failed} failed; index: "
              f"{os.path.abspath(os.path.join(args.out, 'index.html'))}")
        if any(r["status"] == "ok" for r in report.rows) and chromium() is None:
            print(SKIPPED)
    return report.exit_status


def _validate(args: argparse.Namespace) -> int:
    from .batch.plan import discover, plan
    try:
        jobs = plan(discover(args.studies, args.params))
    except CxlabError as exc:
        print(f"cxlab: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    for job in jobs:
        print(f"{job.study_file}: ok ({job.notebook})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cxlab`` console script."""
    logging.basicConfig(level=os.environ.get("CXLAB_LOG", "WARNING").upper(), format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "run":
        return _run(args)
    return _validate(args)


if __name__ == "__main__":
    sys.exit(main())
