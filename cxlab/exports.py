"""Exports of a study: its result tables as ``tables.xlsx`` and its figures as PNG and SVG files.

A notebook registers tables (:func:`add_table`, through :func:`cxlab.report.table`)
and figures (:func:`add_figure`, through :func:`cxlab.plots.show`) as it shows
them; :func:`cxlab.record.record` writes them beside ``results.json`` when the
notebook runs under ``cxlab run``, and the runner publishes them in the study folder.
"""
from __future__ import annotations

import hashlib
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


SLUG_MAX = 100
"""Longest file name stem of a figure: ``figures/<stem>.png`` stays far under the 255 bytes of a file name."""
_PLAIN = re.compile(r"[A-Za-z0-9_ -]*")


def _slug(name: str) -> str:
    """A figure's file name stem: ASCII letters, digits, ``_`` and ``-``, lower case, at most :data:`SLUG_MAX`.

    A name cut to that length, or holding characters the stem drops (another script, punctuation), ends
    with 8 hex digits of its SHA-256, so two such names (two long or Hebrew segment columns) never share a file.
    """
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "item"
    if len(slug) <= SLUG_MAX and _PLAIN.fullmatch(name):
        return slug
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{slug[:SLUG_MAX - 9].rstrip('-')}-{digest}"


def add_table(name: str, frame: Any, **options: Any) -> None:
    """Keep a result table (raw numbers) for ``tables.xlsx``, with the options the report formats it with
    (``kinds``, ``units``, ``labels``, ``time_unit``, ``digits`` of :func:`cxlab.fmt.table`); a later table of
    the same name replaces it."""
    _TABLES[name] = (frame.copy(), {k: v for k, v in options.items() if k in TABLE_OPTIONS})


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


TABLE_OPTIONS = ("kinds", "units", "labels", "time_unit", "digits")
"""The options of :func:`cxlab.fmt.table` that shape ``tables.xlsx`` too (labels, units and number formats)."""

P_BELOW = '[<0.001]"< 0.001";0.000'
"""A p-value below 0.001: "< 0.001", as the report writes it (:func:`p_format`)."""


def p_format(p: Any) -> str | None:
    """Excel number format of one p-value cell: the digits :func:`cxlab.fmt.p_value` shows for this value
    ("0.37", "0.037", "0.0040", "0.996", "1.00", "< 0.001" as :data:`P_BELOW`); None for an empty cell.

    One format per cell: the report's two significant digits take five ranges, and an Excel format holds
    at most two conditions.
    """
    from .fmt import p_decimals

    if not isinstance(p, (int, float)) or isinstance(p, bool) or p != p:
        return None
    decimals = p_decimals(p)
    return P_BELOW if decimals is None else "0." + "0" * decimals

#: Excel number format and the factor a value is stored times, per display kind (:func:`cxlab.fmt.cell_formatter`):
#: shares as percentages, NPS and differences in points (+14, +5.2 points) like the report; values stay numbers.
#: A p-value's format is its cell's own (:func:`p_format`).
NUMBER_FORMATS: dict[str, tuple[str, float]] = {
    "pct": ("0%", 1), "pct1": ("0.0%", 1), "signed_pct": ("+0.0%;-0.0%;0.0%", 1),
    "points": ('+0.0" points";-0.0" points";0.0" points"', 100), "nps": ("+0;-0;0", 100),
    "count": ("#,##0", 1), "ratio": ("0.00", 1),
}


def number_format(kind: Any, digits: int = 2) -> tuple[str, float]:
    """``(Excel number format, factor)`` of a column of display ``kind``: ``number`` has ``digits`` decimals
    and thousands separators; a custom formatter (a callable) the same. Not for ``p`` (:func:`p_format`)."""
    if isinstance(kind, str) and kind in NUMBER_FORMATS:
        return NUMBER_FORMATS[kind]
    return ("#,##0" + ("." + "0" * digits if digits > 0 else ""), 1)


def _texts(values: Any) -> Any:
    """A column with :func:`cell_text` applied to its strings (numbers, dates and missing values as they are)."""
    return values.astype(object).map(lambda v: cell_text(v) if isinstance(v, str) else v)


def write_workbook(tables: dict[str, Any], path: str | Path, time_unit: str | None = None) -> Path:
    """Write every table to one sheet of an .xlsx workbook, formatted as the report formats it.

    ``tables`` maps a sheet name to a DataFrame, or to ``(DataFrame, options)`` as :func:`add_table` keeps
    them. The headers are the report's column labels (:func:`cxlab.fmt.label`, with the table's ``labels``
    and ``units``); a named index is a column and an unnamed one is left out (or kept, unlabelled, when it
    holds names). Numbers stay numbers, with the report's format as Excel number format
    (:data:`NUMBER_FORMATS`, :func:`p_format`, :func:`cxlab.fmt.column_kinds`): 87%, p 0.37 or "< 0.001",
    NPS +14 (stored as 14.2, in points like the report), "+5.2 points" (stored as 5.2); yes/no columns are text.

    Data never become formulas: every string (a tier, segment, level or driver name, a
    column label) is a text cell, and one that starts with ``=``, ``+``, ``-``, ``@``, tab
    or CR also carries Excel's quote prefix (shown as written, still text when edited).
    Characters XML cannot carry are escaped (:func:`cell_text`).
    """
    import pandas as pd
    from openpyxl.styles import Font

    from .fmt import cell_formatter, column_kinds, index_as_columns, label

    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, (name, item) in zip(_sheet_names(list(tables)), tables.items()):
            frame, options = item if isinstance(item, tuple) else (item, {})
            df = index_as_columns(frame)
            if not isinstance(df.index, pd.RangeIndex):  # an unnamed index: row names are kept, numbers dropped
                df = df.reset_index(drop=pd.api.types.is_integer_dtype(df.index)).rename(columns={"index": ""})
            kinds = column_kinds(df, options.get("kinds"))
            digits = int(options.get("digits", 2))
            unit = options.get("time_unit", time_unit)
            labels = dict(options.get("labels") or {})
            headers = [labels.get(str(c)) or label(c, unit, options.get("units")) for c in df.columns]
            formats: dict[int, Any] = {}  # an Excel format, or a function of the cell's value (p-values)
            widths = [max([len(str(h))] + [len(_safe_text(cell_formatter(kinds[c], digits), v))
                                           for v in df[c].head(200)]) + 2 for h, c in zip(headers, df.columns)]
            for i, col in enumerate(df.columns):
                values, kind = df.iloc[:, i], kinds[col]
                if isinstance(values.dtype, pd.DatetimeTZDtype):
                    df.isetitem(i, values.dt.tz_localize(None))
                elif kind == "bool" or (pd.api.types.is_bool_dtype(values) and kind != "text"):
                    df.isetitem(i, values.map(lambda v: None if v is None or v != v else ("yes" if v else "no")))
                elif kind == "p" and pd.api.types.is_numeric_dtype(values):
                    formats[i] = p_format
                elif pd.api.types.is_numeric_dtype(values) and kind != "text":
                    code, factor = number_format(kind, digits)
                    formats[i] = code
                    if factor != 1:
                        df.isetitem(i, values * factor)
                elif not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
                    df.isetitem(i, _texts(values))
            df.columns = [cell_text(h) for h in headers]
            df.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # openpyxl takes a string starting with '=' for a formula
                        if cell.value.startswith((*FORMULA_START, "_x000D_")):  # CR, escaped
                            cell.quotePrefix = True
            for i, code in formats.items():
                for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                    cell_code = code if isinstance(code, str) else code(cell.value)
                    if cell_code is not None:
                        cell.number_format = cell_code
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            for i, width in enumerate(widths, start=1):
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 60)
    return path


def _safe_text(formatter: Any, value: Any) -> str:
    try:
        return formatter(value)
    except (TypeError, ValueError):
        return str(value)


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
