"""Paths as a reader sees them: relative to the study's folder (or the project), never the machine's.

A study reads ``data/x.csv`` relative to its study file; the readers open the
absolute path, and an error or a "Read 640 rows from ..." line would carry the
server's folders (``/srv/team/cx/params/../data/x.csv``) into reports, PDFs, the
index and cron mail. :func:`relative_paths` rewrites every absolute path in a
text relative to a base folder: the working folder by default, which is the
study's folder inside a study's kernel (``cxlab run`` starts it there) and the
project for ``cxlab validate``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

_ABSOLUTE = re.compile(r"(?<![\w.~/\\:-])/[^\s'\"()<>,;:|*?]+")

MAX_UP = 2
"""A path more than this many folders above the base is shown as ``…/<folder>/<file>`` (its last two parts)."""


def shown(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """One path as a reader sees it: relative to ``base`` (default: the working folder), normalised.

    ``/srv/cx/params/../data/x.csv`` with base ``/srv/cx/params`` is ``../data/x.csv``; a path far
    outside the base (more than :data:`MAX_UP` folders up) shows its last two parts, ``…/data/x.csv``.
    A relative path is only normalised.
    """
    text = os.fspath(path)
    if not os.path.isabs(text):
        return os.path.normpath(text) if text else text
    folder = os.path.abspath(base) if base is not None else os.getcwd()
    normal = os.path.normpath(text)
    try:
        rel = os.path.relpath(normal, folder)
    except ValueError:  # another drive (Windows)
        rel = normal
    parts = Path(rel).parts
    if os.path.isabs(rel) or parts[:MAX_UP + 1] == ("..",) * (MAX_UP + 1):
        return os.path.join("…", *Path(normal).parts[-2:])
    return rel


def relative_paths(text: str, *bases: str | os.PathLike[str] | None) -> str:
    """``text`` with every absolute path in it (a token starting with ``/`` whose first folder exists on this
    machine) written as :func:`shown` writes it: relative to the first of ``bases`` that holds it, else to the
    one it is fewest folders above (default: the working folder)."""
    folders = [os.path.abspath(b) for b in bases if b is not None] or [os.getcwd()]

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        first = token.lstrip("/").split("/", 1)[0]
        if not first or not os.path.isdir("/" + first):
            return token  # "and/or", "/ 2": not a path of this machine
        normal = os.path.normpath(token)
        def ups(folder: str) -> int:
            try:
                parts = Path(os.path.relpath(normal, folder)).parts
            except ValueError:
                return 1 << 30
            return len(parts) - len([p for p in parts if p != ".."])
        return shown(token, min(folders, key=ups))  # min keeps the first of equals
    return _ABSOLUTE.sub(one, text)
