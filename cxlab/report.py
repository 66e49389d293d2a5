"""Words for the reports: markdown output, caveat boxes and the ground-truth box.

These helpers keep notebooks thin: a notebook computes figures with cxlab,
then hands sentences to :func:`say`.
"""
from __future__ import annotations

import html
import re
from typing import Any, Iterable

from .params import StudyBase


def fmt_p(p: float | None) -> str:
    """A p-value as a reader wants it: "p < 0.001", "p = 0.037", "p not defined"."""
    if p is None or p != p:
        return "p not defined"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


#: Markdown punctuation a data-derived string could use to make a link, an image, emphasis, code, maths,
#: a table or a heading (``<`` and ``&`` are left to :func:`say`, which turns them into entities).
_MARKDOWN = re.compile(r"([\\`*_\[\]{}()#+!|~>$^])")
_LINE_START = re.compile(r"^(\s*)(?:([-=+])|(\d+)([.)]))")


def text(value: Any) -> str:
    """A data-derived string (title, tier, outcome, covariate or column name, data value) as inert markdown.

    Every markdown character is backslash-escaped and line breaks become spaces,
    so the string shows as written and can never become a link, an image, maths,
    a heading or a list. Use it for every value that enters :func:`say` from a
    study file or a data file.
    """
    out = _MARKDOWN.sub(r"\\\1", " ".join(str(value).splitlines()))
    return _LINE_START.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}"),
                           out)


def say(markdown: str) -> None:
    """Display markdown in the notebook.

    Raw HTML is neutralised (``<`` and ``&`` escaped); data-derived strings in
    ``markdown`` must come through :func:`text`. The rendered report is
    sanitised again (:func:`cxlab.batch.render.sanitize_html`).
    """
    from IPython.display import Markdown, display
    display(Markdown(markdown.replace("&", "&amp;").replace("<", "&lt;")))


def heading(study: StudyBase) -> str:
    """The report's title as a markdown heading (the title escaped as text)."""
    return "## " + text(study.title or study.study)


def caveats(sentences: Iterable[str], none: str = "every model converged and every tier has data.") -> str:
    """Markdown block listing statistical caveats, or "**Caveats.** None: ``none``" when there are none.

    The sentences are plain text (they name tiers and columns): each is escaped with :func:`text`.
    """
    sentences = list(sentences)
    if not sentences:
        return f"**Caveats.** None: {text(none)}"
    return "**Caveats.**\n\n" + "\n".join(f"- {text(s)}" for s in sentences)


def data_source(study: StudyBase) -> str:
    """One sentence saying where the data come from, with the generator's truth for embedded data."""
    from . import synth
    spec = study.data
    if spec.synthetic is not None:
        truth = synth.describe(spec.synthetic)
        opts = text(", ".join(f"{k}={v}" for k, v in spec.options.items()))
        head = (f"Embedded synthetic data `{spec.synthetic}` (n = {spec.n if spec.n else 'default'}, "
                f"seed = {spec.seed}{', ' + opts if opts else ''}). Ground truth it was drawn from:")
        return head + "\n\n" + "\n".join("> " + line for line in truth.splitlines())
    if spec.sql is not None:
        where = f" in the DuckDB database `{spec.database}`" if spec.database else ""
        return f"Data read by a SQL query{where}:\n\n```sql\n{spec.sql.strip()}\n```"
    files = ", ".join(text(f) for f in spec.files())
    how = (f" (sheet {text(spec.sheet)})" if spec.sheet is not None else "") + (
        " (a Qualtrics export; its question texts label the columns below)" if spec.format == "qualtrics" else "")
    return f"Data read from {files}{how}."


def escape(text: Any) -> str:
    """HTML-escape a data-derived string."""
    return html.escape(str(text), quote=True)
