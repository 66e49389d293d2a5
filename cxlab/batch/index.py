"""``index.html`` of an output folder: a dashboard of every study, its status, headline and what moved.

Each headline figure is shown with its unit, its change since the previous run
(coloured better or worse by the figure's declared direction, grey when the
change is smaller than the figure's interval half-width) and a sparkline of
its last runs, read from ``DIR/.history/<study>.jsonl``, drawn on a scale that holds the
figure's 95% interval (a band) or, without one, the fixed scale of its kind, never the values'
own range, where a change within the interval would fill the box. Which studies it lists, in
which order, and the compact table above them: :mod:`.overview`.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from .. import fmt
from ..record import read_results
from ..methods import PAGE as METHODS_PAGE
from ..methods import write_page
from ..report import escape
from .cache import damage
from .history import read_history
from .overview import OVERVIEW_STYLE, in_order, invalid_document, overview, read_run_state, stale_section
from .render import CSP_META, without_bidi_controls

STYLE = """
body { font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1100px;
       color: #1f2328; padding: 0 1em; box-sizing: border-box; overflow-wrap: anywhere; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
.sub { color: #59636e; margin-top: 0; }
.study { border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; margin: 14px 0; }
.study h2 { font-size: 1.15em; margin: 0 0 4px; }
.meta { color: #59636e; font-size: 13px; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.status-ok { background: #ddf4ff; color: #0550ae; }
.status-failed { background: #fff1e5; color: #953800; }
.headline { margin: 8px 0; }
.error { background: #fff8f2; border-left: 3px solid #bc4c00; padding: 6px 10px; font-family: monospace;
         white-space: pre-wrap; font-size: 12.5px; }
.scroll { max-width: 100%; overflow-x: auto; }
table.figures { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
table.figures td, table.figures th { padding: 3px 14px 3px 0; text-align: left; vertical-align: middle; }
table.figures td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.better { color: #0550ae; font-weight: 600; } .worse { color: #bc4c00; font-weight: 600; }
.same { color: #6e7781; }
.spark { vertical-align: middle; }
.links a { margin-right: 14px; display: inline-block; }
.legend { color: #59636e; font-size: 12.5px; }
"""

METHODS_LINK = f'<a href="{METHODS_PAGE}">Methods: how every figure is computed</a>'
"""The index's link to ``methods.html`` beside it."""

FORMATS = ("pct", "signed_pct", "points", "nps", "ratio", "number", "count", "quantity", "p")


def figure_spec(value: Any, name: str | None = None) -> dict[str, Any]:
    """A headline figure as ``{value, better, format, unit, half_width}``.

    Accepts the old form (a bare number) and the new one (a mapping with
    ``value`` and optionally ``better`` "higher" | "lower" | None, ``format``
    one of :data:`FORMATS`, ``unit`` and ``half_width``, the half-width of the
    figure's 95% interval).
    """
    if isinstance(value, Mapping):
        spec = {"value": value.get("value"), "better": value.get("better"), "format": value.get("format") or "number",
                "unit": value.get("unit"), "half_width": value.get("half_width")}
    else:  # the old form: a bare number, its format guessed from the name
        guess = fmt.kind_of(name.split(":")[-1].strip().replace(" ", "_")) if name else "number"
        spec = {"value": value, "better": None, "format": guess if guess in ("p", "pct", "count") else "number",
                "unit": None, "half_width": None}
    if spec["format"] not in FORMATS:
        spec["format"] = "number"
    if spec["better"] not in ("higher", "lower"):
        spec["better"] = None
    return spec


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def format_value(spec: Mapping[str, Any]) -> str:
    """The figure's value as a reader wants it, with its unit."""
    v, unit, kind = _number(spec.get("value")), spec.get("unit"), spec.get("format")
    if v is None:
        return fmt.UNDEFINED
    # as the report's headline writes each kind (fmt's defaults: 87%, +14, +5.2 points, 12.3 months), with the
    # figure's own "digits" when it has them, and the headline's extra digits when its interval needs them
    digits = spec.get("digits")
    digits = digits if isinstance(digits, int) and not isinstance(digits, bool) and 0 <= digits <= 6 else None
    formatter = {"pct": (fmt.pct, 0), "points": (fmt.points, 1), "nps": (fmt.nps, 0),
                 "quantity": (fmt.number, 1), "number": (fmt.number, 2)}.get(kind)
    if formatter is not None:
        shown = functools.partial(formatter[0], digits=formatter[1] if digits is None else digits)
        half = _number(spec.get("half_width"))
        if half is not None:
            shown = fmt.interval_formatters(v, v - half, v + half, shown)[0]
        text = shown(v)
    else:
        text = {"signed_pct": lambda: fmt.pct(v, 0, signed=True), "ratio": lambda: fmt.ratio(v),
                "count": lambda: fmt.count(v), "p": lambda: fmt.p_value(v)}.get(kind, lambda: fmt.number(v, 2))()
    return f"{text} {unit}" if unit and kind not in ("pct", "signed_pct", "points", "nps", "p") else text


def format_change(spec: Mapping[str, Any], before: Any) -> tuple[str, str]:
    """``(text, css class)`` of the change since ``before``: better, worse or same (grey)."""
    now, then = _number(spec.get("value")), _number(figure_spec(before)["value"] if before is not None else None)
    if now is None or then is None:
        return ("not comparable", "same")
    diff, kind, unit = now - then, spec.get("format"), spec.get("unit")
    if kind == "p":
        return (f"was {fmt.p_value(then)}", "same")
    if abs(diff) < 1e-12:
        return ("unchanged", "same")
    if kind in ("pct", "signed_pct", "points", "nps"):
        text = fmt.points(diff)
    elif kind == "count":
        text = f"{'+' if diff > 0 else '-'}{fmt.count(abs(diff))}"
    else:
        text = f"{'+' if diff > 0 else '-'}{fmt.number(abs(diff), 1 if kind == 'quantity' else 2)}"
        text += f" {unit}" if unit else ""
    half = _number(spec.get("half_width"))
    if spec.get("better") is None:
        return (text, "same")
    if half is not None and abs(diff) < half:
        return (f"{text} (within the interval)", "same")
    improved = diff > 0 if spec["better"] == "higher" else diff < 0
    return (f"{text}, {'better' if improved else 'worse'}", "better" if improved else "worse")


_FIXED = {"pct": (0.0, 1.0), "signed_pct": (-1.0, 1.0), "nps": (-1.0, 1.0), "p": (0.0, 1.0)}
"""Scales of figures without an interval: a share on 0-100%, an NPS on -100 to +100, a p-value on 0-1."""


def scale(values: list[float], spec: Mapping[str, Any]) -> tuple[float, float]:
    """The sparkline's vertical scale: the values with their interval (``half_width``) around each, at least
    the figure's fixed scale when it has no interval (0-100% for a share, -100 to +100 for an NPS), else from 0."""
    half = _number(spec.get("half_width"))
    lo, hi = min(values), max(values)
    if half is not None and half > 0:
        lo, hi = lo - half, hi + half
    else:
        fixed = _FIXED.get(str(spec.get("format")), (min(0.0, lo), max(0.0, hi)))
        lo, hi = min(lo, fixed[0]), max(hi, fixed[1])
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def sparkline(values: list[Any], spec: Mapping[str, Any], width: int = 110, height: int = 24) -> str:
    """An inline SVG sparkline of a figure's last runs (oldest first), its values in the accessible label.

    The scale is :func:`scale`'s; the current figure's 95% interval is drawn as a band around each run's
    value (the history keeps values only, so every run gets the latest half-width).
    """
    points = [(i, float(v)) for i, v in enumerate(values) if _number(v) is not None]
    words = ", ".join(format_value({**spec, "value": v}) for v in values)
    label = escape(f"last {fmt.plural(len(values), 'run')}: {words}")
    if len(points) < 2:
        return f'<span class="same" title="{label}">{escape(words) or "no history"}</span>'
    lo, hi = scale([v for _, v in points], spec)
    n = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return 2 + (width - 4) * i / n

    def y(v: float) -> float:
        return height - 3 - (height - 6) * (v - lo) / (hi - lo)
    path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
    band = ""
    half = _number(spec.get("half_width"))
    if half is not None and half > 0:
        upper = [f"{x(i):.1f},{y(v + half):.1f}" for i, v in points]
        lower = [f"{x(i):.1f},{y(v - half):.1f}" for i, v in reversed(points)]
        band = f'<polygon fill="#0969da" fill-opacity="0.15" stroke="none" points="{" ".join(upper + lower)}"/>'
    last_x, last_y = x(points[-1][0]), y(points[-1][1])
    return (f'<svg class="spark" role="img" aria-label="{label}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{label}</title>{band}'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{path}"/>'
            f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="#0969da"/></svg>')


def _link(folder: str, name: str, label: str) -> str:
    return f'<a href="{escape(quote(folder))}/{escape(quote(name))}">{escape(label)}</a>'


def _when(iso: str | None) -> str:
    if not iso:
        return "n/a"
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _figures_table(head: Mapping[str, Any], history: list[dict[str, Any]]) -> str:
    figures = head.get("figures") or {}
    previous = head.get("previous")
    before = (previous or {}).get("figures", {})
    rows = []
    for name, raw in figures.items():
        spec = figure_spec(raw, name)
        if previous:
            text, cls = format_change(spec, before.get(name))
        else:
            text, cls = "first run", "same"
        values = [h.get("figures", {}).get(name) for h in history] or [spec["value"]]
        better = {"higher": "higher is better", "lower": "lower is better"}.get(spec["better"] or "", "")
        rows.append(f'<tr><td>{escape(name)}{f"<br><span class=legend>{better}</span>" if better else ""}</td>'
                    f'<td class="num">{escape(format_value(spec))}</td>'
                    f'<td class="num"><span class="{cls}">{escape(text)}</span></td>'
                    f"<td>{sparkline(values, spec)}</td></tr>")
    since = f"change since the previous run ({_when(previous.get('ended'))})" if previous else "change"
    runs = fmt.plural(len(history), "run") if history else "this run"
    return (f'<div class="scroll"><table class="figures"><tr><th>figure</th><th>value</th><th>{escape(since)}</th>'
            f'<th>history (last {escape(runs)})</th></tr>{"".join(rows)}</table></div>')


def _entry(slug: str, ok: dict[str, Any] | None, failed: dict[str, Any] | None,
           history: list[dict[str, Any]]) -> str:
    latest = failed or ok or {}
    status = latest.get("status", "failed")
    prov = latest.get("provenance", {})
    seconds = _number(prov.get("seconds"))
    parts = [f'<section class="study" id="{escape(slug)}">',
             f'<h2><bdi>{escape(latest.get("title") or slug)}</bdi> <span class="status status-{escape(status)}">'
             f'{escape(status)}</span></h2>',
             f'<div class="meta">study <code>{escape(slug)}</code> · notebook <code>{escape(latest.get("notebook"))}'
             f'</code> · ran {escape(_when(prov.get("ended")))}'
             f'{" · " + escape(fmt.quantity(seconds, "s")) if seconds is not None else ""}'
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
        if head.get("figures"):
            parts.append(_figures_table(head, history))
        links = [_link(slug, f"{slug}.html", "report"), _link(slug, f"{slug}-code.html", "notebook with code"),
                 _link(slug, "results.json", "results.json"), _link(slug, f"{slug}.ipynb", "executed notebook")]
        for name, label in ((f"{slug}.pdf", "PDF"), ("tables.xlsx", "tables (xlsx)")):
            if name in ok.get("exports", []):
                links.append(_link(slug, name, label))
        parts.append('<div class="links">' + "".join(links) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_index(entries: Iterable[tuple[str, dict[str, Any]]],
                 histories: Mapping[str, list[dict[str, Any]]] | None = None,
                 run: Mapping[str, Any] | None = None, methods: bool = False) -> str:
    """HTML of the index from ``(folder name, results.json object)`` pairs and each study's history.

    ``methods``: ``methods.html`` is published beside the index; the page links to it (a relative link, which
    holds when the folder is moved).

    ``run``: the last run's state (:func:`.overview.read_run_state`): the index then shows exactly its
    studies (an invalid study file as failed, with its error), and lists the other studies published here
    apart, as not in the last run. Failures come first, under a compact table of every study.
    """
    published: dict[str, dict[str, Any]] = {}
    for folder, doc in entries:
        slug = folder[:-len(".failed")] if folder.endswith(".failed") else folder
        published.setdefault(slug, {})["failed" if folder.endswith(".failed") else "ok"] = doc
    studies, stale = published, []
    if run is not None:
        for name, entry in run.get("invalid", {}).items():
            published.setdefault(name, {})["failed"] = invalid_document(name, entry)
        current = set(run["studies"]) | set(run.get("invalid", {}))
        studies = {slug: s for slug, s in published.items() if slug in current}
        stale = in_order({slug: s for slug, s in published.items() if slug not in current})
    n_failed = sum(1 for s in studies.values() if "failed" in s)
    histories = histories or {}
    slugs = in_order(studies)
    body = (overview(studies, slugs, "Every study of the last run, failures first; details below.",
                     lambda name, raw: format_value(figure_spec(raw, name)))
            + "\n".join(_entry(slug, studies[slug].get("ok"), studies[slug].get("failed"), histories.get(slug, []))
                        for slug in slugs) + stale_section(published, stale))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = f"{fmt.plural(len(studies), 'study')}, {n_failed} failed" if studies else "no studies yet"
    legend = ('Changes are <span class="better">better</span> or <span class="worse">worse</span> by each '
              'figure\'s declared direction, and <span class="same">grey</span> when smaller than the figure\'s '
              "95% interval half-width or without a direction.")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP_META}'
            f'<meta name="generator" content="cxlab"><title>cxlab reports</title><link rel="icon" href="data:,">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}{OVERVIEW_STYLE}</style></head>'
            f'<body><h1>cxlab reports</h1><p class="sub">{escape(summary)} · index written {escape(stamp)}'
            f'{f" · {METHODS_LINK}" if methods else ""}</p>'
            f'<p class="legend">{legend}</p>{body}</body></html>\n')
    return without_bidi_controls(page)  # a title or label's override never reverses the text around it


def write_index(out_dir: Path, unpublished: Mapping[str, dict[str, Any]] | None = None) -> Path:
    """Write ``out_dir/index.html`` from the published ``results.json`` files (atomically).

    ``unpublished``: ``results.json`` objects of studies whose failure could not
    be written to disk (disk full), keyed by study, so the index still says so.
    """
    from .publish import is_ours
    entries, histories = [], {}
    for link in sorted(out_dir.iterdir()):
        if link.name.startswith(".") or not link.is_dir() or not link.is_symlink() or not is_ours(link):
            continue
        doc = read_results(link / "results.json")
        if doc is not None and damage(doc) is None:  # a damaged one is left out (its study reruns next time)
            doc = dict(doc, exports=sorted(p.name for p in link.iterdir()))
            entries.append((link.name, doc))
            if not link.name.endswith(".failed"):
                histories[link.name] = read_history(out_dir, link.name)
    entries += [(f"{slug}.failed", doc) for slug, doc in (unpublished or {}).items()]
    methods = write_page(out_dir)  # methods.html beside the index: it and the reports link to it
    path = out_dir / "index.html"
    tmp = out_dir / f".index.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(render_index(entries, histories, read_run_state(out_dir), methods is not None),
                       encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
