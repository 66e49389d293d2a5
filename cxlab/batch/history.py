"""The history of each study's headline figures: ``DIR/.history/<study>.jsonl``, one line per published run.

The index draws a sparkline of each figure over the last runs from it, so a
reviewer of nightly runs sees drift.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

HISTORY = ".history"
HISTORY_RUNS = 12
"""Runs a sparkline shows."""


def _value(raw: Any) -> Any:
    return raw.get("value") if isinstance(raw, Mapping) else raw


def append_history(out_dir: Path, study: str, doc: Mapping[str, Any]) -> None:
    """Add a published run's headline figures to ``DIR/.history/<study>.jsonl`` (one line per run)."""
    folder = Path(out_dir) / HISTORY
    figures = {k: _value(v) for k, v in (doc.get("headline", {}).get("figures") or {}).items()}
    line = json.dumps({"ended": doc.get("provenance", {}).get("ended"), "figures": figures}, allow_nan=False)
    try:
        if folder.is_symlink() or (folder / f"{study}.jsonl").is_symlink():  # never write through a planted link
            raise OSError("a symbolic link stands in its place")
        folder.mkdir(exist_ok=True)
        with open(folder / f"{study}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:  # the report is published; only the sparkline misses a point
        log.warning("%s: history of %s not written: %s", folder, study, getattr(exc, "strerror", None) or exc)


def read_history(out_dir: Path, study: str, runs: int = HISTORY_RUNS) -> list[dict[str, Any]]:
    """The last ``runs`` history lines of a study, oldest first (unreadable lines skipped)."""
    path = Path(out_dir) / HISTORY / f"{study}.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines[-runs:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
