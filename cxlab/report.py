"""Words for the reports: markdown output, caveat boxes and the ground-truth box.

These helpers keep notebooks thin: a notebook computes figures with cxlab,
then hands sentences to :func:`say`.
"""
from __future__ import annotations

import html
import re
from typing import Any, Iterable

from .fmt import p_value, plural
from .fmt import table as _styled
from .params import StudyBase

METHODS_DOC = "docs/methods.md"
"""Where every definition a report cites lives (in the cxlab repository)."""


def fmt_p(p: float | None) -> str:
    """A p-value as a reader wants it: "p < 0.001", "p = 0.037", "p not defined" (:func:`cxlab.fmt.p_value`)."""
    return p_value(p)


#: Markdown punctuation a data-derived string could use to make a link, an image, emphasis, code, maths,
#: a table or a heading (``<`` and ``&`` are left to :func:`say`, which turns them into entities).
_MARKDOWN = re.compile(r"([\\`*_\[\]{}()#+!|~>$^])")
_LINE_START = re.compile(r"^(\s*)(?:([-=+])|(\d+)([.)]))")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


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


def plain(markdown: str) -> str:
    """A report's markdown sentence as the report shows it, for a terminal or a log: every escape (a backslash
    before ASCII punctuation, CommonMark's rule; what :func:`text` writes) without its backslash."""
    return _ESCAPED.sub(r"\1", markdown)


def say(markdown: str) -> None:
    """Display markdown in the notebook.

    Raw HTML is neutralised (``<`` and ``&`` escaped); data-derived strings in
    ``markdown`` must come through :func:`text`. The rendered report is
    sanitised again (:func:`cxlab.batch.render.sanitize_html`).
    """
    from IPython.display import Markdown, display
    display(Markdown(markdown.replace("&", "&amp;").replace("<", "&lt;")))


def heading(study: StudyBase) -> str:
    """The report's title as its one h1 heading (the title escaped as text)."""
    return "# " + text(study.title or study.study)


def caveats(sentences: Iterable[str], none: str = "every model converged and every tier has data.") -> str:
    """Markdown block listing statistical caveats, or "**Caveats.** None: ``none``" when there are none.

    The sentences are plain text (they name tiers and columns): each is escaped with :func:`text`.
    """
    sentences = list(sentences)
    if not sentences:
        return f"**Caveats.** None: {text(none)}"
    return "**Caveats.**\n\n" + "\n".join(f"- {text(s)}" for s in sentences)


def data_source(study: StudyBase) -> str:
    """Where the data come from, with the generator's ground truth (its table as a table) for embedded data."""
    from . import synth
    spec = study.data
    if spec.synthetic is not None:
        return (data_source_line(study) + "\n\n**Ground truth the data were drawn from.** "
                + synth.describe(spec.synthetic))
    if spec.sql is not None:
        return data_source_line(study) + f"\n\n```sql\n{spec.sql.strip()}\n```"
    return data_source_line(study)


def data_source_line(study: StudyBase) -> str:
    """The data source in one line, for a report's opening summary (data-derived names escaped)."""
    spec = study.data
    if spec.synthetic is not None:
        opts = text(", ".join(f"{k} {v}" for k, v in spec.options.items()))
        from . import synth
        size = f"{spec.n:,} {synth.n_unit(spec.synthetic)}" if spec.n else "default size"
        return (f"Embedded synthetic data `{spec.synthetic}` ({size}, seed {spec.seed}"
                f"{', ' + opts if opts else ''}), drawn from a known truth.")
    if spec.url is not None:  # the URL never holds a password (refused when the study file is read)
        from .dbsource import shown
        return f"Data read by a SQL query on the database server {text(shown(spec.url))}."
    if spec.sql is not None:
        where = f" in the DuckDB database {text(spec.database)}" if spec.database else ""
        return f"Data read by a SQL query{where}."
    files = ", ".join(text(f) for f in spec.files())
    how = (f" (sheet {text(spec.sheet)})" if spec.sheet is not None else "") + (
        " (a Qualtrics export; its question texts label the columns below)" if spec.format == "qualtrics" else "")
    return f"Data read from {files}{how}."


def summary(headline: str, warnings: Iterable[str], study: StudyBase) -> str:
    """The opening summary: the headline (plain text, escaped here), how many caveats, and the data source in one line.

    The key chart follows it (shown by the notebook with :func:`cxlab.plots.show`).
    """
    warnings = list(warnings)
    count = ("no caveats" if not warnings else
             f"{plural(len(warnings), 'caveat')}, listed under Caveats")
    return (f"**In short.** {text(headline)}\n\n**Caveats:** {count}.  \n**Data:** {data_source_line(study)}")


def table(frame: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Show a result table formatted for readers (:func:`cxlab.fmt.table`) and keep it for ``tables.xlsx``.

    Parameters
    ----------
    frame : DataFrame
        The table with raw numbers (what ``tables.xlsx`` receives).
    name : str, optional
        The sheet name; without it the table is shown but not exported.
    **kwargs
        ``kinds``, ``units``, ``labels``, ``time_unit``, ``digits``, ``caption`` of :func:`cxlab.fmt.table`.
    """
    from . import exports
    if name:  # with the options it is shown with: tables.xlsx has the same labels and number formats
        exports.add_table(name, frame, **kwargs)
    return _styled(frame, **kwargs)


def half_width(low: Any, high: Any) -> float | None:
    """Half the width of an interval (a headline figure's ``half_width`` for the index), None when a bound is missing."""
    missing = [b is None or (isinstance(b, float) and b != b) for b in (low, high)]
    return None if any(missing) else (float(high) - float(low)) / 2


def column_mapping(summary: Any, labels: dict[str, str] | None = None) -> Any:
    """The column mapping as a formatted table (with the file's labels and value labels when it has them),
    or None when every name maps to itself and the file carries no labels (nothing to show).

    ``labels``: the study's labels; a name that has one is shown by it ("Speed of delivery", not its key).
    """
    import pandas as pd
    columns = dict(getattr(summary, "columns", {}) or {})
    labelled = bool(getattr(summary, "labels", None) or getattr(summary, "value_labels", None))
    if all(str(k) == str(v) for k, v in columns.items()) and not labelled:
        return None
    table = (summary.to_frame().reset_index() if hasattr(summary, "to_frame") else
             pd.DataFrame({"canonical": list(columns), "column in file": list(columns.values())}))
    if labels:
        from .fmt import label
        table["canonical"] = [label(k, labels=labels) if str(k) in labels else k for k in table["canonical"]]
    return _styled(table, kinds={"canonical": "text", "column in file": "text", "label": "text",
                                 "value labels": "text"})


def methods(study: str) -> str:
    """The closing Methods section of a study's report: each method named with its reference."""
    from .methods import methods_markdown
    return methods_markdown(study)


def escape(text: Any) -> str:
    """HTML-escape a data-derived string."""
    return html.escape(str(text), quote=True)
