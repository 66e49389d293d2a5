"""What the index shows of the last run: its set of studies and their state as the CLI printed them.

A run writes its set of studies to ``DIR/.run.json`` (:func:`write_run_state`): the studies it planned and
the study files it found invalid, each with its one-line error. The index (:mod:`.index`) lists exactly
those studies, failures first, under a compact table of all of them; a study published in ``DIR`` but not
in the last run's set (its study file deleted or not named) is listed apart as not in the last run, and
never counted as failed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import fmt
from ..report import escape

RUN_STATE = ".run.json"


def write_run_state(out_dir: Path, studies: list[str], invalid: Mapping[str, Mapping[str, str]]) -> None:
    """Record the run's set of studies (in the run's order) and its invalid study files (name -> file, error).

    Written atomically; a failure (disk full) leaves the previous state and is raised as :class:`OSError`.
    """
    doc = {"written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "studies": list(studies),
           "invalid": {name: {"file": str(v["file"]), "error": str(v["error"])} for name, v in invalid.items()}}
    tmp = out_dir / f".run.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, out_dir / RUN_STATE)
    finally:
        tmp.unlink(missing_ok=True)


def read_run_state(out_dir: Path) -> dict[str, Any] | None:
    """The last run's state, or None when there is none or it does not read as :func:`write_run_state` wrote it
    (the index then lists every study published)."""
    path = out_dir / RUN_STATE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 16 << 20:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("studies"), list) or not isinstance(
            doc.get("invalid", {}), dict):
        return None
    if not all(isinstance(s, str) for s in doc["studies"]):
        return None
    invalid = {str(k): v for k, v in doc.get("invalid", {}).items()
               if isinstance(v, dict) and isinstance(v.get("error"), str)}
    return {"studies": doc["studies"], "invalid": invalid}


def invalid_document(name: str, entry: Mapping[str, str]) -> dict[str, Any]:
    """A failed ``results.json``-like object for a study file the run found invalid (it never ran)."""
    return {"study": name, "notebook": "not known", "title": name, "status": "failed", "error": entry["error"],
            "provenance": {"decision": f"study file {entry.get('file', name)} is invalid: it did not run"}}


def in_order(studies: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The studies, failures first, then the others, each group by title (then name)."""
    def key(slug: str) -> tuple[int, str, str]:
        s = studies[slug]
        doc = s.get("failed") or s.get("ok") or {}
        return (0 if "failed" in s else 1, str(doc.get("title") or slug).casefold(), slug)
    return sorted(studies, key=key)


def overview(studies: Mapping[str, Mapping[str, Any]], slugs: list[str], caption: str,
             figure_text: Callable[[str, Any], str]) -> str:
    """The compact table of ``slugs``: status, title, when it ran, its first headline figure (as
    ``figure_text(name, figure)`` writes it, or a failure's error), and a link to the report."""
    rows = []
    for slug in slugs:
        s = studies[slug]
        latest = s.get("failed") or s.get("ok") or {}
        status = "failed" if "failed" in s else "up to date" if (
            (latest.get("provenance") or {}).get("decision") == "up to date") else "ok"
        ok = s.get("ok") or {}
        figures = (ok.get("headline") or {}).get("figures") or {}
        first = next(iter(figures.items()), None)
        figure = f"{escape(first[0])}: {escape(figure_text(*first))}" if first else ""
        if "failed" in s:
            figure = escape((str(s["failed"].get("error") or "failed").splitlines() or ["failed"])[0][:160])
        ended = (latest.get("provenance") or {}).get("ended")
        report = (f'<a href="{escape(slug)}/{escape(slug)}.html">report</a>' if ok else "")
        rows.append(f'<tr class="row-{"failed" if "failed" in s else "ok"}"><td><a href="#{escape(slug)}">'
                    f'<bdi>{escape(latest.get("title") or slug)}</bdi></a></td>'
                    f'<td><span class="status status-{"failed" if "failed" in s else "ok"}">{escape(status)}'
                    f'</span></td><td class="num">{escape(_day(ended))}</td><td>{figure}</td><td>{report}</td></tr>')
    return (f'<div class="scroll"><table class="overview"><caption>{escape(caption)}</caption><tr><th>study</th>'
            f'<th>status</th><th>ran</th><th>first figure, or the error</th><th></th></tr>{"".join(rows)}'
            "</table></div>")


def _day(iso: Any) -> str:
    try:
        return dt.datetime.fromisoformat(str(iso)).strftime("%Y-%m-%d %H:%M") if iso else ""
    except ValueError:
        return ""


OVERVIEW_STYLE = """
table.overview { border-collapse: collapse; font-size: 13px; margin: 8px 0 18px; width: 100%; }
table.overview caption { text-align: left; color: #59636e; padding-bottom: 4px; }
table.overview td, table.overview th { padding: 3px 12px 3px 0; text-align: left; border-bottom: 1px solid #eaeef2;
                                       vertical-align: top; }
table.overview td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.overview tr.row-failed td { background: #fff8f2; }
#stale { margin-top: 28px; color: #59636e; } #stale ul { padding-left: 1.2em; }
"""


def stale_section(studies: Mapping[str, Mapping[str, Any]], slugs: list[str]) -> str:
    """The studies published here that were not in the last run (a study file deleted, or not named): listed
    apart, with their last report, never counted as failed."""
    if not slugs:
        return ""
    items = []
    for slug in slugs:
        s = studies[slug]
        latest = s.get("ok") or s.get("failed") or {}
        ended = _day((latest.get("provenance") or {}).get("ended"))
        link = f' · <a href="{escape(slug)}/{escape(slug)}.html">last report</a>' if s.get("ok") else ""
        items.append(f'<li class="stale" id="stale-{escape(slug)}"><bdi>{escape(latest.get("title") or slug)}</bdi> '
                     f'(<code>{escape(slug)}</code>), last run {escape(ended or "not known")}{link}</li>')
    return (f'<section id="stale"><h2>Not in the last run</h2><p>{fmt.plural(len(slugs), "study")} published '
            "here earlier that the last run did not include (its study file was deleted, or the run named other "
            f"files): kept for reference, not counted above.</p><ul>{''.join(items)}</ul></section>")
