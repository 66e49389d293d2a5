"""``index.html`` of an output folder: every study, its status, headline, changes and links."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from ..record import read_results
from ..report import escape
from .render import CSP_META

STYLE = """
body { font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1f2328; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
.sub { color: #59636e; margin-top: 0; }
.study { border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; margin: 14px 0; }
.study h2 { font-size: 1.15em; margin: 0 0 4px; }
.meta { color: #59636e; font-size: 13px; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.status-ok { background: #dafbe1; color: #116329; }
.status-failed { background: #ffebe9; color: #a40e26; }
.headline { margin: 8px 0; }
.error { background: #fff5f5; border-left: 3px solid #cf222e; padding: 6px 10px; font-family: monospace;
         white-space: pre-wrap; font-size: 12.5px; }
table.figures { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
table.figures td, table.figures th { padding: 2px 12px 2px 0; text-align: left; }
.up { color: #116329; } .down { color: #a40e26; } .same { color: #59636e; }
.links a { margin-right: 14px; }
"""


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _change(now: Any, before: Any) -> str:
    if not isinstance(now, (int, float)) or not isinstance(before, (int, float)):
        return '<span class="same">new</span>' if before is None else '<span class="same">n/a</span>'
    diff = now - before
    if abs(diff) < 1e-12:
        return '<span class="same">unchanged</span>'
    cls = "up" if diff > 0 else "down"
    return f'<span class="{cls}">{diff:+.4g}</span>'


def _link(folder: str, name: str, label: str) -> str:
    return f'<a href="{escape(quote(folder))}/{escape(quote(name))}">{escape(label)}</a>'


def _when(iso: str | None) -> str:
    if not iso:
        return "n/a"
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _entry(slug: str, ok: dict[str, Any] | None, failed: dict[str, Any] | None) -> str:
    latest = failed or ok or {}
    status = latest.get("status", "failed")
    prov = latest.get("provenance", {})
    parts = [f'<section class="study" id="{escape(slug)}">',
             f'<h2>{escape(latest.get("title") or slug)} <span class="status status-{escape(status)}">'
             f'{escape(status)}</span></h2>',
             f'<div class="meta">study <code>{escape(slug)}</code> · notebook <code>{escape(latest.get("notebook"))}'
             f'</code> · ran {escape(_when(prov.get("ended")))} · {escape(_fmt(prov.get("seconds")))} s'
             f' · {escape(prov.get("decision", ""))}</div>']
    if failed is not None:
        parts.append(f'<div class="error">{escape(failed.get("error", "failed"))}</div>')
        parts.append('<div class="links">This run failed: '
                     + _link(f"{slug}.failed", f"{slug}.ipynb", "executed notebook")
                     + _link(f"{slug}.failed", f"{slug}-code.html", "notebook with code")
                     + _link(f"{slug}.failed", "results.json", "results.json") + "</div>")
        if ok is not None:
            parts.append(f'<div class="meta">Last good report below, from {escape(_when(ok["provenance"].get("ended")))}.'
                         "</div>")
    if ok is not None:
        head = ok.get("headline", {})
        if head.get("text"):
            parts.append(f'<p class="headline">{escape(head["text"])}</p>')
        figures = head.get("figures", {})
        before = (head.get("previous") or {}).get("figures", {})
        if figures:
            rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(_fmt(v))}</td><td>{_change(v, before.get(k))}</td></tr>"
                           for k, v in figures.items())
            since = _when((head.get("previous") or {}).get("ended")) if head.get("previous") else "no previous run"
            parts.append(f'<table class="figures"><tr><th>figure</th><th>value</th><th>change since '
                         f'{escape(since)}</th></tr>{rows}</table>')
        parts.append('<div class="links">' + _link(slug, f"{slug}.html", "report")
                     + _link(slug, f"{slug}-code.html", "notebook with code")
                     + _link(slug, "results.json", "results.json")
                     + _link(slug, f"{slug}.ipynb", "executed notebook") + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_index(entries: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """HTML of the index from ``(folder name, results.json object)`` pairs."""
    studies: dict[str, dict[str, Any]] = {}
    for folder, doc in entries:
        slug = folder[:-len(".failed")] if folder.endswith(".failed") else folder
        studies.setdefault(slug, {})["failed" if folder.endswith(".failed") else "ok"] = doc
    n_failed = sum(1 for s in studies.values() if "failed" in s)
    body = "\n".join(_entry(slug, s.get("ok"), s.get("failed")) for slug, s in sorted(studies.items()))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = f"{len(studies)} studies, {n_failed} failed" if studies else "no studies yet"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP_META}<meta name="generator" content="cxlab"><title>cxlab reports</title><link rel="icon" href="data:,">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><h1>cxlab reports</h1><p class="sub">{escape(summary)} · index written {escape(stamp)}</p>'
            f"{body}</body></html>\n")


def write_index(out_dir: Path, unpublished: Mapping[str, dict[str, Any]] | None = None) -> Path:
    """Write ``out_dir/index.html`` from the published ``results.json`` files (atomically).

    ``unpublished``: ``results.json`` objects of studies whose failure could not
    be written to disk (disk full), keyed by study, so the index still says so.
    """
    from .publish import is_ours
    entries = []
    for link in sorted(out_dir.iterdir()):
        if link.name.startswith(".") or not link.is_dir() or not link.is_symlink() or not is_ours(link):
            continue
        doc = read_results(link / "results.json")
        if doc is not None:
            entries.append((link.name, doc))
    entries += [(f"{slug}.failed", doc) for slug, doc in (unpublished or {}).items()]
    path = out_dir / "index.html"
    tmp = out_dir / f".index.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(render_index(entries), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
