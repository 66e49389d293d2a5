"""One run per output folder: an exclusive ``flock`` on ``DIR/.cxlab.lock``."""
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
