"""``cxlab new``: a study file written from a look at the data.

The file is read through :mod:`cxlab.sources` (so every format works); each
column is described (kind, range, label, value labels); the study's canonical
columns (``COLUMNS`` in its ``spec`` module, found through :mod:`cxlab.registry`)
are matched by name, label words and kind (:mod:`cxlab.columnmatch`); the study
file is written with the columns it could map, and comments on the rest. An
existing file is never overwritten.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from .columnmatch import (QUALTRICS_META, ColumnInfo, draft_key, draft_label, draft_title, inspect,
                          looks_like_qualtrics, match, match_score, point_labels, scale_of,
                          second_look)
from .errors import CxlabError, StudyFileError
from .params import Column
from .registry import STUDIES
from .sources import read_source

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _q(text: Any) -> str:
    """``text`` as a YAML double-quoted scalar that loads back to exactly ``text``.

    Every scalar taken from the data (column names, labels, file names, the study's
    name) is written this way: quoted, nothing in it is YAML syntax (``: ``, ``#``,
    ``{``, ``!!python/object``, ``&anchor``, ``*alias``, ``yes``, ``null``, ``1e3``). Line
    breaks (also NEL, U+2028, U+2029) and every character Python does not print
    are escaped (``\\n``, ``\\x85``, ``\\u2028``), as YAML would fold or refuse them raw.
    """
    return '"' + "".join(_ESCAPES.get(ch) or (ch if ch.isprintable() else _escape(ch)) for ch in str(text)) + '"'


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _comment(text: Any) -> str:
    """``text`` for a YAML comment: it cannot end the comment (line breaks escaped) or make the file unreadable
    (characters YAML refuses escaped)."""
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in str(text))


def _value(value: Any) -> str:
    """A ``data:`` value: a sheet index stays a number, anything else is quoted text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _q(value)


def _tiers(info: ColumnInfo, lo: float, hi: float) -> dict[str, float] | None:
    """Tiers named by value labels when every rating on the scale has its own label."""
    labels = {float(k): str(v).strip() for k, v in info.value_labels.items() if isinstance(k, (int, float))}
    codes = [float(v) for v in range(int(lo), int(hi) + 1)]
    if lo != int(lo) or any(c not in labels for c in codes) or len({labels[c] for c in codes}) != len(codes):
        return None
    return {labels[c]: c for c in codes}


def render(study: str, notebook: str, data: dict[str, Any], source: str, infos: list[ColumnInfo],
           found: dict[str, list[ColumnInfo]], columns: tuple[Column, ...], qualtrics: bool = False,
           observation_end: str | None = None, notes: dict[str, str] | None = None) -> str:
    """The study file's text: mapped columns as keys, a drafted title and labels, the rest as comments.

    ``notes``: canonical name -> why a column that matched it is left unmapped (written as a comment).
    """
    from .registry import STUDIES
    model = STUDIES[notebook].model() if notebook in STUDIES else None
    fields = getattr(model, "model_fields", {})
    by_name = {c.name: c for c in columns}
    dates = "start_date" in found and "duration" not in found
    taken = {c.name for c in columns}  # a listed column's key never repeats another key
    labels: dict[str, str] = {}
    listed: dict[str, list[str]] = {}
    column_lines: list[str] = []
    keys: list[str] = []
    blocks: list[str] = []
    for col in columns:
        if dates and col.name in ("duration", "event"):
            continue
        if not dates and col.name in ("start_date", "end_date"):
            found.pop(col.name, None)
            continue
        picks = found.get(col.name, [])
        if col.many and picks and (col.required or all(match_score(col, i) >= 10 for i in picks)):
            names, lines = [], []
            for info in picks:
                label = draft_label(info.label or info.name, part=col.name == "driver")
                name = draft_key(label, info, col, taken)
                taken.add(name)
                names.append(name)
                listed.setdefault(col.many, []).append(name)
                labels[name] = label
                lines.append(f"{'  ' if col.mapping else '    '}{_q(name)}: {_q(info.name)}  "
                             f"# {_comment(info.describe())}")
            if col.mapping:  # drivers: {name: column} under the study key itself
                blocks += [f"{col.many}:                     # name -> column in the file", *lines]
            else:
                column_lines += lines
                keys.append(f"{col.many}: [{', '.join(map(_q, names))}]")
        elif picks and not col.many:
            info = picks[0]
            if col.key:
                keys.append(f"{col.key}: {_q(info.name)}  # {_comment(info.describe())}")
            else:
                column_lines.append(f"    {col.name}: {_q(info.name)}  # {_comment(info.describe())}")
            if col.name in ("experience", "outcome"):
                labels[col.name] = draft_label(info.label or info.name)
            if col.name == "experience" and notebook == "loyalty" and not _tiers(info, *scale_of(info)):
                labels.update(point_labels(f"{info.name} {info.label}"))  # the loyalty report names these tiers
        elif notes and col.name in notes:
            column_lines.append(f"    # {col.name}: ?  # {_comment(notes[col.name])}")
        elif col.required or col.many:
            need = f"a {col.kind} column" + (f" ({', '.join(col.words[:4])}...)" if col.words else "")
            target = col.many or col.name
            column_lines.append(f"    # {target}: ?  # not found: {'needs' if col.required else 'optional,'} {need}")
    lines = [f"# Written by `cxlab new` from {_comment(source)}. Check every line, then: cxlab validate <this file>",
             f"study: {_q(study)}", f"notebook: {_q(notebook)}",
             f"title: {_q(draft_title(notebook, labels, found, source))}", "data:"]
    lines += [f"  {k}: {_value(v)}" for k, v in data.items()]
    if column_lines and any(not line.lstrip().startswith("#") for line in column_lines):
        lines.append("  columns:                     # canonical name -> column in the file")
    else:
        lines.append("  columns: {}                  # none mapped yet: canonical name -> column in the file")
    lines += column_lines
    experience = found.get("experience", [None])[0] if "experience" in by_name else None
    if experience is not None:
        lo, hi = scale_of(experience)
        lines += ["experience:", f"  scale: [{lo:g}, {hi:g}]     # a rating outside this range is a data error"]
        tiers = _tiers(experience, lo, hi)
        if tiers:
            lines.append("  tiers:                       # named by the file's value labels, worst to best")
            lines += [f"    {_q(k)}: [{v:g}, {v:g}]" for k, v in tiers.items()]
        else:
            lines.append("  tiers: null                  # one tier per rating; or name ranges worst to best")
    for col in columns:  # a rating with a scale of its own (nps, csat, ces)
        default = fields[col.name].get_default(call_default_factory=True) if col.name in fields else None
        if col.name != "experience" and found.get(col.name) and hasattr(default, "scale"):
            lo, hi = scale_of(found[col.name][0])
            lines += [f"{col.name}:", f"  scale: [{lo:g}, {hi:g}]     # the question's scale (a value outside it "
                                      "is a data error)"]
    driver_cols = found.get("driver", []) if "driver" in by_name else []
    if driver_cols and all(i.low is not None and math.isfinite(i.low) and math.isfinite(i.high)
                           for i in driver_cols):
        scales = {scale_of(i) for i in driver_cols}
        lo, hi = min(a for a, _ in scales), max(b for _, b in scales)
        lines.append(f"drivers_scale: [{lo:g}, {hi:g}]  # the questions' rating scale (seen here: "
                     f"{min(i.low for i in driver_cols):g} to {max(i.high for i in driver_cols):g})")
    if dates:
        lines.append(f"observation_end: {observation_end or 'null'}  # set: the date data collection ended "
                     "(here: the day after the latest date)")
    if "mix_by" in fields and "wave" in found and listed.get("segments"):
        lines.append(f"mix_by: {_q(listed['segments'][0])}  # the segment whose mix may move NPS between the "
                     "first and the last wave")
    lines += keys + blocks
    if labels:
        lines.append("labels:                        # what a reader sees for each name: edit the words freely")
        lines += [f"  {_q(name)}: {_q(text)}" for name, text in labels.items()]
    mapped = {i.name for found_cols in found.values() for i in found_cols}
    for col in columns:
        if col.many and not col.required and col.name not in found:
            cands = [i.name for i in infos if col.kind in i.kinds and i.name not in mapped]
            if cands:
                lines.append(f"# {col.many}: [...]  # {col.kind} columns found: "
                             f"{_comment(', '.join(map(str, cands[:8])))}")
    rest = [i for i in infos if i.name not in mapped]
    if rest:
        lines.append("# Columns not used" + (" (Qualtrics metadata included)" if qualtrics else "") + ":")
        lines += [f"#   {_comment(i.name)}: {_comment(i.describe())}" for i in rest]
    return "\n".join(lines) + "\n"


def _check_target(target: Path) -> None:
    """Refuse a target that is there in any form (a file, a folder, a symbolic link, even a broken one)."""
    if os.path.lexists(target):
        kind = ("a symbolic link" if target.is_symlink() else "a folder" if target.is_dir() else
                "a file" if target.is_file() else "something else")
        raise StudyFileError(f"{target}: already exists ({kind}); cxlab new never replaces or follows it: "
                             "pick another study name or move it away")


def write_new(target: Path, text: str) -> None:
    """Write ``text`` into ``target``, which must not exist: created, never truncated or followed.

    The file is opened with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (a file, folder or link that appears
    meanwhile is refused, not written through); a write that fails part way (a full disk) removes
    the file it created.

    Raises
    ------
    StudyFileError
        One line: the target exists, or the file cannot be written.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o666)
    except FileExistsError:
        _check_target(target)
        raise StudyFileError(f"{target}: already exists; pick another study name or move it away") from None
    except OSError as exc:
        raise StudyFileError(f"{target}: cannot be written: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        os.unlink(target)
        raise StudyFileError(f"{target}: cannot be written: {exc.strerror or exc}; nothing was kept") from None


def new_study(study: str, notebook: str, data: str | None, params_dir: str | Path = "params",
              sheet: str | int | None = None, sql: str | None = None, database: str | None = None
              ) -> tuple[Path, str, bool]:
    """Write ``params_dir/<study>.yaml`` for ``notebook`` from a look at ``data`` (or a ``sql`` query).

    Returns the path written, a one-paragraph summary, and whether the written
    file validates and its data read through the study's ``load.read``.

    Raises
    ------
    StudyFileError
        The file exists already, the notebook is unknown or the slug is invalid.
    DataError
        The data cannot be read.
    """
    from .params import SLUG_PATTERN, load_study_file
    if notebook not in STUDIES:
        raise StudyFileError(f"unknown notebook {notebook!r} (one of {', '.join(STUDIES)})")
    if not re.match(SLUG_PATTERN, study):
        raise StudyFileError(f"study name {study!r}: use letters, digits, '-' and '_'")
    folder = Path(params_dir)
    target = folder / f"{study}.yaml"
    _check_target(target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StudyFileError(f"{folder}: cannot make the folder for the study file: "
                             f"{exc.strerror or exc}") from None
    base = folder.resolve()
    spec: dict[str, Any]
    if sql is not None:
        spec = {"sql": sql, **({"database": os.path.relpath(Path(database).resolve(), base)} if database else {})}
    else:
        if data is None:
            raise StudyFileError("give --data FILE (or --sql QUERY)")
        path = Path(data)
        if not path.is_file():
            raise StudyFileError(f"{data}: data file not found")
        spec = {"path": os.path.relpath(path.resolve(), base)}
        if sheet is not None:
            spec["sheet"] = sheet
        if path.suffix.lower() == ".csv" and looks_like_qualtrics(path):
            spec["format"] = "qualtrics"
    view = SimpleNamespace(synthetic=None, **{k: spec.get(k) for k in ("path", "sheet", "format", "sql", "database")})
    frame, source = read_source(view, base)
    infos = inspect(frame)
    qualtrics = spec.get("format") == "qualtrics"
    if qualtrics:
        infos_match = [i for i in infos if i.name.lower() not in QUALTRICS_META]
    else:
        infos_match = infos
    columns = getattr(STUDIES[notebook].part("spec"), "COLUMNS", None)
    if columns is None:
        raise StudyFileError(f"cxlab new does not know the canonical columns of notebook {notebook!r} "
                             "(its spec has no COLUMNS); copy an example from params/examples/ instead")
    found = match(columns, infos_match)
    notes = second_look(frame, found)
    obs = None
    if "start_date" in found and "duration" not in found:
        dates = [pd.to_datetime(frame[i.name].astype(str), errors="coerce", format="ISO8601").max()
                 for key in ("start_date", "end_date") for i in found.get(key, [])]
        obs = max((d for d in dates if pd.notna(d)), default=None)
        obs = (obs + pd.Timedelta(days=1)).date().isoformat() if obs is not None else None
    text = render(study, notebook, spec, source, infos, found, columns, qualtrics, obs, notes)
    mapped = ", ".join(f"{k} <- {', '.join(i.name for i in v)}" for k, v in found.items())
    summary = f"{target}: written from {source} ({len(frame):,} rows); mapped {mapped or 'nothing'}"
    problem = _check_draft(text, target, base, notebook)
    if problem is not None:  # written as a draft: a run of every study file skips it until it is edited
        first, rest = text.split("\n", 1)
        text = (f"{first}\ndraft: true  # TODO: {_comment(problem)}\n"
                "# Edit this file until `cxlab validate` passes, then delete the line above: a run of every study "
                "file skips a draft.\n" + rest)
        write_new(target, text)
        return target, (f"{summary}. Written as a draft (draft: true; `cxlab run` skips it until edited): "
                        f"{problem}"), False
    write_new(target, text)
    return target, summary + "; it validates and its data read.", True


def _check_draft(text: str, target: Path, base: Path, notebook: str) -> str | None:
    """Why the drafted study file would not run (it does not validate, or its data do not read), or None."""
    import yaml

    from .params import parse_study
    try:
        model = parse_study(yaml.safe_load(text), source=str(target), base_dir=base)
        STUDIES[notebook].part("load").read(model, base)
    except CxlabError as exc:
        return str(exc)
    return None


