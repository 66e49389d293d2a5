"""Temporary folders named with the process that owns them, and the sweep of those whose process is gone.

A study's work folder (``cxlab-study-<pid>-<study>-*``, :mod:`.execute`) and the PDF browser's folder
(``cxlab-pdf-<pid>-*``, :mod:`.pdf`) are removed by their own process when it is done; a process killed
with SIGKILL (the OOM killer, ``kill -9``) never gets to. Each carries the owner's process id in its name,
so the next run removes the folders of processes that no longer exist (:func:`sweep`) and never touches
one whose owner still runs.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def owned_folder(prefix: str, label: str = "") -> Path:
    """A new folder ``<prefix><pid>-<label>*`` in the temporary folder, named with this process's id.

    Raises
    ------
    OSError
        The temporary folder cannot be written (full, read-only).
    """
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-{label}"))


def sweep(prefix: str, root: str | os.PathLike[str] | None = None) -> list[str]:
    """Remove the folders ``<prefix><pid>-*`` in ``root`` (the temporary folder) whose process is gone.

    A folder is left alone while process ``<pid>`` exists (this one's, or another user's process that
    cannot be signalled), and when it is not a real folder of this user (a symbolic link, a file,
    another user's folder). Never raises; returns the names removed.
    """
    base = Path(root or tempfile.gettempdir())
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    removed = []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
            continue  # its owner still runs
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
        except (OSError, OverflowError):  # another user's process (EPERM), a pid out of range: left alone
            continue
    if removed:
        log.info("removed %d temporary folders of runs that were killed: %s", len(removed), ", ".join(removed))
    return removed
