"""Self-contained HTML renderings of an executed notebook (no network fetches).

Two renderings per study: the report (code hidden, for reviewers) and the full
notebook with code. Both open with a provenance box.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Mapping

from ..report import escape

TEMPLATES = Path(__file__).parent.parent / "templates"


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
    resources = {"cxlab_provenance": provenance_box(provenance) if provenance else ""}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return body
