"""The report of a study whose notebook failed, and tracebacks without the machine's paths.

A failed study's page has the report's anatomy (:func:`failure_notebook`): its
title, what failed, the one-line reason, what to do, and the traceback folded
in a ``<details>``, instead of the notebook as far as it ran (a raw papermill
traceback). :func:`cxlab.batch.render.render_html` renders it like any report.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping

from ..report import escape

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: What failed and what to do, by the error's class name (others: an unexpected error).
FAILURES: dict[str, tuple[str, str]] = {
    "DataError": ("Reading the data: the data do not match what the study file declares.",
                  "Fix the data file, or the study file's `data:` section (the file's path and the column mapping "
                  "under `columns:`), so that they agree; `cxlab validate {study_file}` checks them in a few "
                  "seconds. Then run `cxlab run {study_file}` again."),
    "StudyError": ("Checking the study file: a key has a value the study cannot use.",
                   "Correct the key named in the reason in {study_file}, check it with `cxlab validate "
                   "{study_file}`, then run `cxlab run {study_file}` again."),
    "ValidationError": ("Checking the study file: a key has a value the study cannot use.",
                        "Correct the key named in the reason in {study_file}, check it with `cxlab validate "
                        "{study_file}`, then run `cxlab run {study_file}` again."),
}
UNEXPECTED = ("The analysis stopped with an unexpected error (in cxlab or in the notebook, not in your data as "
              "far as cxlab could check).",
              "Read the traceback below; the notebook with code ({code_page}) shows every cell as it ran. If "
              "the error is in cxlab, report it with this page; after a fix, run `cxlab run {study_file}` again.")


def first_error(notebook: Any) -> dict[str, Any] | None:
    """The first error output of an executed notebook: ``ename``, ``evalue``, ``traceback`` (plain text)
    and the execution count of its cell; None when no cell failed."""
    for cell in notebook.cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                trace = "\n".join(_ANSI.sub("", line) for line in out.get("traceback", []))
                return {"ename": str(out.get("ename", "Error")), "evalue": _ANSI.sub("", str(out.get("evalue", ""))),
                        "traceback": trace, "cell": cell.get("execution_count")}
    return None


def failure_notebook(notebook: Any, title: str | None, provenance: Mapping[str, Any] | None = None) -> Any:
    """The report of a study whose notebook failed: its title, then what failed, the one-line reason, what to
    do, and the traceback folded (paths relative to the study's folder and the project); None when no cell
    failed. Every data-derived string is escaped (markdown by :func:`cxlab.report.text`, HTML by ``escape``)."""
    from nbformat.v4 import new_markdown_cell

    from ..paths import relative_paths
    from ..report import text as md

    error = first_error(notebook)
    if error is None:
        return None
    project = Path(__file__).resolve().parents[2]
    study_file = str((provenance or {}).get("study_file") or "the study file")
    folder = Path(study_file).resolve().parent if provenance and provenance.get("study_file") else None
    name = Path(study_file).stem
    what, todo = FAILURES.get(error["ename"], UNEXPECTED)
    reason = relative_paths(" ".join(f"{error['ename']}: {error['evalue']}".split()), folder, project)
    trace = relative_paths(error["traceback"], project, folder)
    cell = f" The notebook stopped in its cell {error['cell']}." if error["cell"] else ""
    todo = todo.format(study_file=md(study_file), code_page=md(f"{name}-code.html"))
    nb = copy.deepcopy(notebook)
    nb.cells = [
        new_markdown_cell(f"# {md(title or name)}"),
        new_markdown_cell("## This study failed\n\n"
                          f"**What failed.** {what}{cell}\n\n"
                          f"**Reason.** {md(reason)}\n\n"
                          f"**What to do.** {todo} The last good report of this study, if there is one, stays "
                          "published; the index shows this study as failed until a run succeeds."),
        new_markdown_cell('<details class="cxlab-traceback"><summary>Traceback (for whoever fixes it)</summary>'
                          f"<pre>{escape(trace)}</pre></details>"),
    ]
    return nb


def relative_tracebacks(notebook: Any, provenance: Mapping[str, Any] | None = None) -> None:
    """Write the paths in a notebook's error outputs relative to the project and the study's folder, in place
    (a traceback names the package's files and the data file by their absolute paths)."""
    from ..paths import relative_paths

    project = Path(__file__).resolve().parents[2]
    study_file = (provenance or {}).get("study_file")
    folder = Path(study_file).resolve().parent if study_file else None
    for cell in notebook.cells:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error":
                out["traceback"] = ["".join(part if _ANSI.fullmatch(part) else relative_paths(part, project, folder)
                                            for part in re.split(f"({_ANSI.pattern})", line))
                                    for line in out.get("traceback", [])]  # colour codes kept, paths between
                out["evalue"] = relative_paths(str(out.get("evalue", "")), folder, project)
