"""Words for the reports: markdown output, caveat boxes and the ground-truth box.

These helpers keep notebooks thin: a notebook computes figures with cxlab,
then hands sentences to :func:`say`.
"""
from __future__ import annotations

import html
from typing import Any, Iterable

from .params import StudyBase


def fmt_p(p: float | None) -> str:
    """A p-value as a reader wants it: "p < 0.001", "p = 0.037", "p not defined"."""
    if p is None or p != p:
        return "p not defined"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def say(markdown: str) -> None:
    """Display markdown in the notebook.

    Raw HTML is neutralised (``<`` and ``&`` escaped), so a data-derived string
    such as a tier label or a title can never inject markup into a report.
    """
    from IPython.display import Markdown, display
    display(Markdown(markdown.replace("&", "&amp;").replace("<", "&lt;")))


def caveats(sentences: Iterable[str], none: str = "every model converged and every tier has data.") -> str:
    """Markdown block listing statistical caveats, or "**Caveats.** None: ``none``" when there are none."""
    sentences = list(sentences)
    if not sentences:
        return f"**Caveats.** None: {none}"
    return "**Caveats.**\n\n" + "\n".join(f"- {s}" for s in sentences)


def data_source(study: StudyBase) -> str:
    """One sentence saying where the data come from, with the generator's truth for embedded data."""
    from . import synth
    spec = study.data
    if spec.synthetic is not None:
        truth = synth.describe(spec.synthetic)
        opts = ", ".join(f"{k}={v}" for k, v in spec.options.items())
        head = (f"Embedded synthetic data `{spec.synthetic}` (n = {spec.n if spec.n else 'default'}, "
                f"seed = {spec.seed}{', ' + opts if opts else ''}). Ground truth it was drawn from:")
        return head + "\n\n" + "\n".join("> " + line for line in truth.splitlines())
    if spec.sql is not None:
        where = f" in the DuckDB database `{spec.database}`" if spec.database else ""
        return f"Data read by a SQL query{where}:\n\n```sql\n{spec.sql.strip()}\n```"
    files = ", ".join(f"`{f}`" for f in spec.files())
    how = (f" (sheet {spec.sheet!r})" if spec.sheet is not None else "") + (
        " (a Qualtrics export; its question texts label the columns below)" if spec.format == "qualtrics" else "")
    return f"Data read from {files}{how}."


def escape(text: Any) -> str:
    """HTML-escape a data-derived string."""
    return html.escape(str(text), quote=True)
