"""Self-contained HTML renderings of an executed notebook (no network fetches).

Two renderings per study: the report (code hidden, for reviewers) and the full
notebook with code. Both open with a provenance box.
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any, Mapping

from ..report import escape

TEMPLATES = Path(__file__).parent.parent / "templates"

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


def _compact(value: str) -> str:
    """A URL as a browser reads its scheme: control characters and whitespace removed, lower case."""
    return "".join(ch for ch in value if ord(ch) > 0x20 and ch not in "\u007f\u00a0\u200b\ufeff").lower()


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
    for element in soup.find_all(DROPPED):
        element.decompose()
    for element in soup.find_all("meta"):
        if str(element.get("http-equiv", "")).lower() == "refresh":
            element.decompose()
    for element in soup.find_all(True):
        for attr, value in list(element.attrs.items()):
            text = " ".join(value) if isinstance(value, list) else str(value)
            name = attr.lower()
            if name.startswith("on") or name == "srcdoc":
                del element.attrs[attr]
            elif name in URL_ATTRIBUTES or name.endswith(":href"):
                if not _url_allowed(element.name, name, text, element.get("rel")):
                    del element.attrs[attr]
            elif _HARMFUL.match(_compact(text)) and not _IMAGE.match(_compact(text)):
                del element.attrs[attr]
    return str(soup)


def provenance_box(provenance: Mapping[str, Any]) -> str:
    """HTML of the provenance box (every value escaped)."""
    rows = [("study file", provenance.get("study_file")), ("run", f"{provenance.get('started', '')} "
            f"({provenance.get('seconds', 0):.1f} s)" if provenance.get("seconds") is not None else provenance.get("started"))]
    for name, digest in (provenance.get("inputs") or {}).items():
        rows.append((f"data {name}", f"sha256 {digest}"))
    packages = provenance.get("packages") or {}
    rows.append(("packages", ", ".join(f"{k} {v}" for k, v in packages.items())))
    cells = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in rows if v)
    return (f'<details class="cxlab-provenance" open><summary>Provenance</summary><table>{cells}</table>'
            "</details>")


@functools.lru_cache(maxsize=2)
def _exporter(code: bool) -> Any:
    """One HTML exporter per rendering kind and process (loading the templates is the slow part)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="cxlab", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = not code
    exporter.exclude_input_prompt = not code
    exporter.exclude_output_prompt = True
    exporter.log.setLevel(logging.ERROR)  # nbconvert's alt-text lint would print per figure
    return exporter


def render_html(notebook: Any, *, code: bool, provenance: Mapping[str, Any] | None = None) -> str:
    """Render an executed notebook node to one self-contained HTML page.

    Parameters
    ----------
    notebook : NotebookNode
    code : bool
        Show code cells (the full rendering) or hide them (the report).
    provenance : mapping, optional
        Shown in a box at the top of the page.
    """
    exporter = _exporter(code)
    resources = {"cxlab_provenance": provenance_box(provenance) if provenance else "", "cxlab_csp": CSP_META}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return sanitize_html(body)
