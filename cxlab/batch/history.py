"""The history of each study's headline figures: ``DIR/.history/<study>.jsonl``, one line per published run.

The index draws a sparkline of each figure over the last runs from it, so a
reviewer of nightly runs sees drift.

The file is the user's to keep and may be anything by the time a run looks at it
(edited by hand, cut short by a full disk, grown huge, replaced by a FIFO, a
device or a symbolic link). A run never follows a link there, never blocks on
it (opened non-blocking, then checked to be a regular file), reads only its last
:data:`TAIL_BYTES` (from the end), skips lines that are not a run, and adds its
line without touching the lines already there.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

HISTORY = ".history"
HISTORY_RUNS = 12
"""Runs a sparkline shows."""
TAIL_BYTES = 1 << 20
"""Bytes read, at most, from the end of a history file (a run's line takes a few hundred)."""
_BLOCK = 1 << 16
_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _value(raw: Any) -> Any:
    return raw.get("value") if isinstance(raw, Mapping) else raw


def _open(out_dir: Path, study: str, flags: int, create: bool = False) -> int:
    """A descriptor on ``DIR/.history/<study>.jsonl``: no link followed (folder or file), never blocking.

    Raises
    ------
    OSError
        Also when the file is not a regular file (a FIFO, a device, a folder).
    """
    folder = Path(out_dir) / HISTORY
    if create:
        try:
            folder.mkdir()
        except FileExistsError:
            pass
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _FLAGS)
    try:
        fd = os.open(f"{study}.jsonl", flags | _FLAGS, 0o644, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


def append_history(out_dir: Path, study: str, doc: Mapping[str, Any]) -> None:
    """Add a published run's headline figures to ``DIR/.history/<study>.jsonl`` (one line per run).

    A last line cut short (a disk that was full) is ended first, so the new line
    stays whole; a write that fails is undone (the file keeps its former lines).
    Never raises: a history that cannot be written is one warning (the report is published).
    """
    figures = {k: _value(v) for k, v in (doc.get("headline", {}).get("figures") or {}).items()}
    line = json.dumps({"ended": doc.get("provenance", {}).get("ended"), "figures": figures}, allow_nan=False)
    try:
        fd = _open(out_dir, study, os.O_RDWR | os.O_APPEND | os.O_CREAT, create=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (Path(out_dir) / HISTORY).is_symlink():  # the file, or the folder
            exc = OSError(errno.ELOOP, "a symbolic link stands in its place")
        elif exc.errno == errno.ENXIO:  # a FIFO nobody reads
            exc = OSError(errno.ENXIO, "not a regular file")
        log.warning("%s: history of %s not written: %s", Path(out_dir) / HISTORY, study, exc.strerror or exc)
        return
    try:
        size = os.fstat(fd).st_size
        data = (line + "\n").encode()
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        try:
            while data:
                data = data[os.write(fd, data):]
        except OSError:
            os.ftruncate(fd, size)  # no half line left behind
            raise
    except OSError as exc:  # the report is published; only the sparkline misses a point
        log.warning("%s: history of %s not written: %s", Path(out_dir) / HISTORY, study, exc.strerror or exc)
    finally:
        os.close(fd)


def read_history(out_dir: Path, study: str, runs: int = HISTORY_RUNS) -> list[dict[str, Any]]:
    """The last ``runs`` runs of a study's history, oldest first.

    Reads backwards from the end of the file, at most :data:`TAIL_BYTES`; lines
    that are not a run (not JSON, not an object with ``figures``) are skipped.
    A history that is missing, a link, or not a regular file reads as none.
    """
    try:
        fd = _open(out_dir, study, os.O_RDONLY)
    except OSError:
        return []
    found: list[dict[str, Any]] = []  # newest first
    try:
        end = pos = os.fstat(fd).st_size
        carry = b""  # the start of a line that began before ``pos``
        while pos > 0 and end - pos < TAIL_BYTES and len(found) < runs:
            step = min(_BLOCK, pos, TAIL_BYTES - (end - pos))
            pos -= step
            pieces = (os.pread(fd, step, pos) + carry).split(b"\n")
            carry = pieces.pop(0) if pos > 0 else b""
            for raw in reversed(pieces):
                entry = _run(raw)
                if entry is not None:
                    found.append(entry)
                    if len(found) == runs:
                        break
    except OSError:
        pass
    finally:
        os.close(fd)
    return found[::-1]


def _run(raw: bytes) -> dict[str, Any] | None:
    """One history line as a run (``{"ended": ..., "figures": {...}}``), or None."""
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError):  # also not UTF-8, or nested too deep
        return None
    if isinstance(entry, dict) and isinstance(entry.get("figures"), dict):
        return entry
    return None
