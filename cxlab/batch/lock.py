"""One run per output folder: an exclusive ``flock`` on ``DIR/.cxlab.lock``.

The lock lives as long as its open file description. The lock file is cxlab's: a
symbolic link, a hard link, a FIFO or a device standing in its place is refused
with one line, never followed, truncated or written (``O_NOFOLLOW``, opened
non-blocking, checked by ``fstat`` before anything is written to it). It is opened close-on-exec
(kernels and Dask workers never get it) and every forked worker closes its copy
first thing (:func:`close_inherited`), so the lock is held by the run's own
process alone and the kernel releases it the moment that process is gone,
killed or not.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
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
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            checkpoint("lock")
            self.fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RunnerError(f"{self.path}: the lock file is a symbolic link; cxlab never follows it "
                                  "(remove the link)") from None
            raise RunnerError(f"{self.path.parent}: cannot use the output folder: {exc.strerror or exc}") from None
        info = os.fstat(self.fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            os.close(self.fd)
            kind = "a file with other names (a hard link)" if stat.S_ISREG(info.st_mode) else "not a regular file"
            raise RunnerError(f"{self.path}: the lock file is {kind}; cxlab never writes to it (remove it)")
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
        try:  # who holds it, for a run that finds it taken; a full disk only leaves it unsaid
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"pid {os.getpid()} since {now()}\n".encode(), 0)
        except OSError as exc:
            log.debug("%s: holder not written: %s", self.path, exc)
        return self

    def __exit__(self, *exc: Any) -> None:
        _HELD.discard(self.fd)
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
