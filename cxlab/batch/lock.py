"""One run per output folder: an exclusive ``flock`` on ``DIR/.cxlab.lock``.

The lock lives as long as its open file description. It is opened close-on-exec
(kernels and Dask workers never get it) and every forked worker closes its copy
first thing (:func:`close_inherited`), so the lock is held by the run's own
process alone and the kernel releases it the moment that process is gone,
killed or not.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from ..errors import RunnerError
from .jobs import now

log = logging.getLogger(__name__)


LOCK = ".cxlab.lock"
_HELD: set[int] = set()  # descriptors of the locks this process holds (closed by forked workers)


def close_inherited() -> None:
    """In a forked child: close the lock descriptors inherited from the run (never unlock: that is the parent's)."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


class OutputLock:
    """An exclusive lock on an output folder (``flock``: released by the kernel when a run dies)."""

    def __init__(self, out_dir: Path, wait: bool) -> None:
        self.path, self.wait, self.fd = out_dir / LOCK, wait, -1

    def __enter__(self) -> "OutputLock":
        from .publish import checkpoint
        try:
            checkpoint("lock")
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RunnerError(f"{self.path.parent}: cannot use the output folder: {exc.strerror or exc}") from None
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
        _HELD.add(self.fd)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()} since {now()}\n".encode(), 0)
        return self

    def __exit__(self, *exc: Any) -> None:
        _HELD.discard(self.fd)
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
