"""Self-contained HTML renderings of an executed notebook (no network fetches).

Two renderings per study: the report (code hidden, for reviewers) and the full
notebook with code. Both open with a provenance box.

The report honours cell tags (nbconvert's ``TagRemovePreprocessor``):
``remove_cell`` hides a cell, ``remove_input`` its code, ``remove_output`` its
outputs. Cells nbval checks (``# NBVAL_CHECK_OUTPUT``), the parameters cells
and the ``record(...)`` cell carry ``remove_cell`` in the notebooks; the
renderer adds the tag to the first two kinds too, so no notebook can leak them.
The page title is the study's title; a table of contents of the report's
sections is put before the first section; every image has an alt text (the
notebook's, else one naming the chart's section). The head carries the study's
title and run date for the PDF's page header (:func:`print_meta`).

A study that failed gets a report of its own (:func:`failure_notebook`): what
failed, the one-line reason, what to do, and the traceback folded in a
``<details>``, instead of the notebook as far as it ran.
"""
from __future__ import annotations

import ast
import copy
import functools
import html
import json
import logging
import pprint
import re
import threading
from pathlib import Path
from typing import Any, Mapping

from ..report import escape
from .failure import failure_notebook, relative_tracebacks

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent.parent / "templates"

HIDE_IN_REPORT = "remove_cell"
"""The tag that hides a cell from the report (the code rendering keeps it)."""

DEFAULT_ALT = "No description has been provided for this image"  # nbconvert's filler
#: The report needs no script and fetches nothing: figures are inline ``data:`` images, styles inline.
CSP = ("default-src 'none'; script-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "base-uri 'none'; form-action 'none'; object-src 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

SAFE_SCHEMES = {"http", "https", "mailto"}
#: Attributes that hold a URL; any other attribute may not carry a script URL either.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite", "data",
                  "longdesc", "srcset", "ping", "manifest", "codebase", "lowsrc", "dynsrc", "icon"}
#: Elements that run code, load documents, or redirect: none belongs in a report.
DROPPED = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "portal",
           "noscript"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp)[;,]")
_HARMFUL = re.compile(r"^(javascript|vbscript|data|livescript|file|blob|filesystem):")


_INVISIBLE = dict.fromkeys([*range(0x21), 0x7F, 0xA0, 0x200B, 0xFEFF])
#: Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): in a title, label or data value they
#: would reverse the text shown around them (a right-to-left override), so no page carries them.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text: str) -> str:
    """``text`` without bidi embedding, override and isolate characters (:data:`BIDI_CONTROLS`); letters of
    any script, and the marks U+200E/U+200F, stay."""
    return BIDI_CONTROLS.sub("", text)


def _compact(value: str) -> str:
    """A URL as a browser reads its scheme: control characters and whitespace removed, lower case."""
    return value.translate(_INVISIBLE).lower()


def _url_allowed(tag: str, attr: str, value: str, rel: Any) -> bool:
    url = _compact(value)
    match = _SCHEME.match(url)
    if match is None:
        return True  # relative: same folder, a fragment
    if match.group(1) in SAFE_SCHEMES:
        return True
    if tag == "img" and attr == "src" and _IMAGE.match(url):
        return True  # the figures
    return tag == "link" and attr == "href" and url == "data:," and "icon" in (rel or [])


def sanitize_html(page: str) -> str:
    """The page with every script, event handler and non-http(s)/mailto/relative link removed.

    A second layer behind the escaping of data-derived text (:func:`cxlab.report.text`):
    whatever a title, label or data value became in the rendering, it cannot run.
    Figures (``data:image/png`` images) and styles are kept.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    _sanitize(soup)
    return str(soup)


_JOINED = re.compile(r"(\S*[\w%)\]][-/‐][\w(\[]\S*)")


def keep_header_words(soup: Any) -> None:
    """Wrap every hyphenated or slashed word of a table header ("sector-adjusted", "leaders/laggards") in a
    ``cxlab-word`` span that does not wrap, in place: headers wrap at spaces only, never inside a word."""
    for th in soup.find_all("th"):
        for node in list(th.find_all(string=_JOINED)):
            if node.parent.name in ("style", "script") or "cxlab-word" in (node.parent.get("class") or []):
                continue
            parts = _JOINED.split(str(node))
            pieces = []
            for i, part in enumerate(parts):
                if i % 2:
                    span = soup.new_tag("span", attrs={"class": "cxlab-word"})
                    span.string = part
                    pieces.append(span)
                elif part:
                    pieces.append(soup.new_string(part))
            node.replace_with(*pieces)


def _sanitize(soup: Any) -> None:
    for element in soup.find_all(DROPPED):
        element.decompose()
    for node in soup.find_all(string=BIDI_CONTROLS):  # text, comments and all
        node.replace_with(type(node)(without_bidi_controls(str(node))))
    for element in soup.find_all("meta"):
        if str(element.get("http-equiv", "")).lower() == "refresh":
            element.decompose()
    for element in soup.find_all(True):
        for attr, value in list(element.attrs.items()):
            text = " ".join(value) if isinstance(value, list) else str(value)
            if BIDI_CONTROLS.search(text):  # a title or an alt text from the data
                element.attrs[attr] = ([without_bidi_controls(v) for v in value] if isinstance(value, list)
                                       else without_bidi_controls(text))
                text = without_bidi_controls(text)
            name = attr.lower()
            if name.startswith("on") or name == "srcdoc":
                del element.attrs[attr]
            elif name in URL_ATTRIBUTES or name.endswith(":href"):
                if not _url_allowed(element.name, name, text, element.get("rel")):
                    del element.attrs[attr]
            elif _HARMFUL.match(_compact(text)) and not _IMAGE.match(_compact(text)):
                del element.attrs[attr]


def provenance_box(provenance: Mapping[str, Any]) -> str:
    """HTML of the provenance box (every value escaped)."""
    rows = [("study file", provenance.get("study_file")), ("run", f"{provenance.get('started', '')} "
            f"({provenance.get('seconds', 0):.1f} s)" if provenance.get("seconds") is not None else provenance.get("started"))]
    for name, digest in (provenance.get("inputs") or {}).items():
        rows.append((f"data {name}", f"sha256 {digest}"))
    packages = provenance.get("packages") or {}
    rows.append(("packages", ", ".join(f"{k} {v}" for k, v in packages.items())))
    cells = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in rows if v)
    return (f'<details class="cxlab-provenance"><summary>Provenance</summary><table>{cells}</table>'
            "</details>")


@functools.lru_cache(maxsize=512)
def _clean_html(html_text: Any) -> str:
    """nbconvert's ``clean_html`` (bleach), once per distinct text: the two pages share their cells' HTML."""
    from nbconvert.filters import clean_html
    return clean_html(html_text)


@functools.lru_cache(maxsize=512)
def _markdown(source: str, attachments: str, path: str) -> str:
    exporter = _exporter(True)
    context = {"cell": {"attachments": json.loads(attachments)}, "resources": {"metadata": {"path": path}}}
    return exporter.markdown2html(context, source)


def _shared_markdown(context: Any, source: str) -> str:
    """nbconvert's ``markdown2html``, once per distinct (text, attachments, path) for both pages."""
    cell = context.get("cell", {}) or {}
    path = (context.get("resources", {}) or {}).get("metadata", {}).get("path", "")
    return _markdown(source, json.dumps(cell.get("attachments", {}) or {}, sort_keys=True), str(path or ""))


@functools.lru_cache(maxsize=2)
def _exporter(code: bool) -> Any:
    """One HTML exporter per rendering kind and process (loading the templates is the slow part).

    Both share the memoised ``clean_html`` and ``markdown2html`` filters, so a page's markdown and
    HTML outputs are converted and cleaned once for the two renderings.
    """
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="cxlab", extra_template_basedirs=[str(TEMPLATES)])
    exporter.register_filter("clean_html", _clean_html)
    exporter.register_filter("markdown2html", pass_context(_shared_markdown))
    exporter.exclude_input = not code
    exporter.exclude_input_prompt = not code
    exporter.exclude_output_prompt = True
    if not code:
        tags = TagRemovePreprocessor(remove_cell_tags={HIDE_IN_REPORT}, remove_input_tags={"remove_input"},
                                     remove_all_outputs_tags={"remove_output"}, enabled=True)
        exporter.register_preprocessor(tags, enabled=True)
    exporter.log.setLevel(logging.ERROR)  # every image gets its alt text before nbconvert lints it
    return exporter


def _tags(cell: Any) -> list[str]:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


def tag_plumbing(notebook: Any) -> None:
    """Tag the cells a reviewer never needs (checked cells, parameters) ``remove_cell``, in place."""
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        tags = _tags(cell)
        plumbing = (cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")
                    or {"parameters", "injected-parameters"} & set(tags))
        if plumbing and HIDE_IN_REPORT not in tags:
            tags.append(HIDE_IN_REPORT)


_HEADING = re.compile(r"^\s{0,3}(#{1,3})\s+(.+?)\s*#*\s*$", re.M)


def add_alt_text(notebook: Any) -> None:
    """Give every image output an alt text: the notebook's own, else "Chart: <section heading>"."""
    section = str(notebook.metadata.get("title") or "the report")
    for cell in notebook.cells:
        texts = [cell.source] if cell.get("cell_type") == "markdown" else []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                texts.append(data["text/markdown"])
            for mime in ("image/png", "image/jpeg", "image/svg+xml"):
                if mime in data:
                    meta = out.setdefault("metadata", {}).setdefault(mime, {})
                    if not str(meta.get("alt") or "").strip() or meta.get("alt") == DEFAULT_ALT:
                        meta["alt"] = f"Chart in the section '{section}'"
        for text in texts:
            found = _HEADING.findall(text if isinstance(text, str) else "".join(text))
            if found:
                section = found[-1][1]


def rerunnable_parameters(notebook: Any) -> None:
    """In the executed notebook that is published, point ``results_path`` away from the run's temporary file.

    The published ``.ipynb`` keeps ``study_dir`` (the study's own folder, so that it reruns in
    JupyterLab) and sets ``results_path = None`` (a rerun records nothing over the published report),
    in the parameters cell and in papermill's metadata (whose ``output_path`` becomes the file's own name).
    """
    meta = notebook.metadata.get("papermill", {})
    if "results_path" in meta.get("parameters", {}):
        meta["parameters"]["results_path"] = None
    if meta.get("output_path"):
        meta["output_path"] = Path(meta["output_path"]).name
    for cell in notebook.cells:
        if "injected-parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        cell.source = re.sub(r"(?m)^results_path = .*$",
                             "results_path = None  # `cxlab run` recorded to a temporary file; a rerun records nothing",
                             cell.source)


def tidy_parameters(notebook: Any) -> None:
    """Pretty-print the injected-parameters cell; omit its machine paths (``study_dir``, ``results_path``)."""
    for cell in notebook.cells:
        if "injected-parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        lines = ["# Parameters injected by `cxlab run` from the study file (see the provenance box)"]
        omitted = []
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            name = node.targets[0].id
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if name in ("study_dir", "results_path"):
                omitted.append(name)
                continue
            lines.append(f"{name} = {pprint.pformat(value, width=100, sort_dicts=False)}")
        if omitted:
            lines.append(f"# {' and '.join(omitted)}: folders of this run, omitted here")
        cell.source = "\n".join(lines)


_H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)


def add_contents(body: str) -> str:
    """Insert a table of contents of the ``<h2>`` sections before the first of them."""
    found = list(_H2.finditer(body))
    if len(found) < 2:
        return body
    items = []
    for m in found:
        text = re.sub(r"<[^>]+>", "", m.group(2)).replace("¶", "").strip()
        items.append(f'<li><a href="#{m.group(1)}">{html.escape(html.unescape(text))}</a></li>')
    nav = ('<nav class="cxlab-toc" aria-label="Contents"><p class="cxlab-toc-title">Contents</p><ol>'
           + "".join(items) + "</ol></nav>\n")
    first = found[0].start()
    return body[:first] + nav + body[first:]


def run_date(started: Any) -> str:
    """A run's start as the PDF header shows it: "2026-12-04 15:41 UTC" (the ISO time as given when not UTC)."""
    import datetime as dt
    try:
        when = dt.datetime.fromisoformat(str(started))
    except ValueError:
        return str(started or "")
    if when.utcoffset() == dt.timedelta(0):
        return when.strftime("%Y-%m-%d %H:%M UTC")
    return when.isoformat(sep=" ", timespec="minutes")


def print_meta(title: str | None, provenance: Mapping[str, Any] | None) -> str:
    """``<meta>`` elements naming the study and its run date, for the printed page's header (:mod:`.pdf`)."""
    run = run_date((provenance or {}).get("started")) if provenance else ""
    return (f'<meta name="cxlab-study" content="{escape(title or "cxlab report")}">'
            f'<meta name="cxlab-run" content="{escape(run)}">')


_PREWARM: threading.Thread | None = None


def prewarm(wait: bool = False) -> None:
    """Import nbconvert, load both exporters' templates and compile their filters (markdown, the Python
    lexer) in a background thread (the caller waits on its kernel meanwhile; :func:`render_html` waits for
    the thread); with ``wait``, before returning (a run does so before it forks its workers, which inherit
    the loaded exporters)."""
    global _PREWARM
    if _PREWARM is not None or _exporter.cache_info().currsize == 2:
        return
    def load() -> None:
        from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

        # a markdown cell, and a code cell with an output: the Python lexer and the filters compile now too
        notebook = new_notebook(cells=[new_markdown_cell("## Warm-up\n\nSome *text*."), new_code_cell(
            "x = {'a': 1}  # comment", outputs=[new_output("execute_result", {"text/plain": "1"}, execution_count=1)])],
            metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})
        for code in (False, True):
            try:
                _exporter(code).from_notebook_node(notebook, resources={"cxlab_provenance": "", "cxlab_csp": CSP_META})
            except Exception:  # noqa: BLE001  the real rendering reports any problem
                log.debug("prewarming the %s exporter failed", "code" if code else "report", exc_info=True)

    _PREWARM = threading.Thread(target=load, name="cxlab-prewarm", daemon=True)
    _PREWARM.start()
    if wait:
        _join_prewarm()


def _join_prewarm() -> None:
    global _PREWARM
    if _PREWARM is not None:
        _PREWARM.join()
        _PREWARM = None


def render_html(notebook: Any, *, code: bool, provenance: Mapping[str, Any] | None = None,
                title: str | None = None) -> str:
    """Render an executed notebook node to one self-contained HTML page.

    Parameters
    ----------
    notebook : NotebookNode
        Not modified (a copy is rendered).
    code : bool
        Show code cells (the full rendering) or hide them (the report).
    provenance : mapping, optional
        Shown in a box at the top of the page.
    title : str, optional
        The page title (the study's title).
    """
    nb = (None if code else failure_notebook(notebook, title, provenance)) or copy.deepcopy(notebook)
    if code:
        relative_tracebacks(nb, provenance)
    if title:
        nb.metadata["title"] = title if not code else f"{title} (notebook with code)"
    tag_plumbing(nb)
    add_alt_text(nb)
    if code:
        tidy_parameters(nb)
    _join_prewarm()
    exporter = _exporter(code)
    resources = {"cxlab_provenance": provenance_box(provenance) if provenance else "", "cxlab_csp": CSP_META,
                 "cxlab_meta": print_meta(title, provenance), "metadata": {"name": title or "cxlab report"}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(add_contents(body) if not code else body, "html.parser")
    _sanitize(soup)
    keep_header_words(soup)
    return str(soup)
