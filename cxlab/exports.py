"""Exports of a study: its result tables as ``tables.xlsx`` and its figures as PNG and SVG files.

A notebook registers tables (:func:`add_table`, through :func:`cxlab.report.table`)
and figures (:func:`add_figure`, through :func:`cxlab.plots.show`) as it shows
them; :func:`cxlab.record.record` writes them beside ``results.json`` when the
notebook runs under ``cxlab run``, and the runner publishes them in the study folder.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_TABLES: dict[str, Any] = {}
_FIGURES: dict[str, tuple[bytes, bytes]] = {}

EXPORTS = "exports"
"""Folder, beside the recorded results, that :func:`write` fills."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read typed text as a formula (OWASP formula injection)."""
_XML_ESCAPE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r]|_(?=x[0-9A-Fa-f]{4}_)")


def cell_text(text: str) -> str:
    """Text as a workbook cell holds it: characters XML cannot carry written as Excel's ``_xHHHH_`` escape.

    The control characters U+0000-U+0008, U+000B, U+000C and U+000E-U+001F (openpyxl
    refuses them) and CR (XML would turn it into LF) become ``_x0001_``, ``_x000D_``...;
    a ``_`` that starts such a sequence in the text becomes ``_x005F_`` so it is not
    decoded. Excel decodes these escapes and shows the text exactly as it was.
    """
    return _XML_ESCAPE.sub(lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", text)


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()
    return slug or "item"


def add_table(name: str, frame: Any) -> None:
    """Keep a result table (raw numbers) for ``tables.xlsx``; a later table of the same name replaces it."""
    _TABLES[name] = frame.copy()


def add_figure(name: str, png: bytes, svg: bytes) -> None:
    """Keep a figure's PNG and SVG bytes for ``figures/<name>.png|svg``."""
    _FIGURES[_slug(name)] = (png, svg)


def clear() -> None:
    """Forget what was registered (a notebook rerun from the top starts afresh)."""
    _TABLES.clear()
    _FIGURES.clear()


def _sheet_names(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        base = re.sub(r"[\[\]:*?/\\'\x00-\x1f\x7f]", " ", name).strip()[:31] or "table"
        candidate, i = base, 2
        while candidate.lower() in (o.lower() for o in out):
            suffix = f" ({i})"
            candidate, i = base[:31 - len(suffix)] + suffix, i + 1
        out.append(candidate)
    return out


def _texts(values: Any) -> Any:
    """A column with :func:`cell_text` applied to its strings (numbers, dates and missing values as they are)."""
    return values.astype(object).map(lambda v: cell_text(v) if isinstance(v, str) else v)


def write_workbook(tables: dict[str, Any], path: str | Path, time_unit: str | None = None) -> Path:
    """Write every table to one sheet of an .xlsx workbook, with readable column labels and raw numbers.

    Data never become formulas: every string (a tier, segment, level or driver name, a
    column label) is a text cell, and one that starts with ``=``, ``+``, ``-``, ``@``, tab
    or CR also carries Excel's quote prefix (shown as written, still text when edited).
    Characters XML cannot carry are escaped (:func:`cell_text`). Numbers stay numbers.
    """
    import pandas as pd

    from .fmt import label

    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, (name, frame) in zip(_sheet_names(list(tables)), tables.items()):
            df = frame.copy()
            if not isinstance(df.index, pd.RangeIndex):
                df = df.reset_index()
            df.columns = [cell_text(c) if isinstance(c, str) else c for c in (label(c, time_unit) for c in df.columns)]
            for i, col in enumerate(df.columns):
                values = df.iloc[:, i]
                if isinstance(values.dtype, pd.DatetimeTZDtype):
                    df.isetitem(i, values.dt.tz_localize(None))
                elif not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
                    df.isetitem(i, _texts(values))
            df.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # openpyxl takes a string starting with '=' for a formula
                        if cell.value.startswith((*FORMULA_START, "_x000D_")):  # CR, escaped
                            cell.quotePrefix = True
            for i, col in enumerate(df.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)]) + 2
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 60)
    return path


def write(folder: str | Path) -> list[Path]:
    """Write what was registered into ``folder``: ``tables.xlsx`` and ``figures/<name>.png|svg``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if _TABLES:
        written.append(write_workbook(_TABLES, folder / "tables.xlsx"))
    if _FIGURES:
        figs = folder / "figures"
        figs.mkdir(exist_ok=True)
        for name, (png, svg) in _FIGURES.items():
            for ext, data in (("png", png), ("svg", svg)):
                (figs / f"{name}.{ext}").write_bytes(data)
                written.append(figs / f"{name}.{ext}")
    log.info("exported %d files to %s", len(written), folder)
    return written


def read_folder(folder: str | Path) -> dict[str, bytes]:
    """Every file under ``folder`` as ``{relative path: bytes}`` (what a worker hands back to the runner)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
