"""``cxlab new``: a study file written from a look at the data.

The file is read through :mod:`cxlab.sources` (so every format works); each
column is described (kind, range, label, value labels); the study's canonical
columns (``COLUMNS`` in its ``spec`` module, found through :mod:`cxlab.registry`)
are matched by name, label words and kind; the study file is written with the
columns it could map, and comments on the rest. An existing file is never
overwritten.
"""
from __future__ import annotations

import csv
import datetime
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from .data import FALSE_WORDS, TRUE_WORDS, describe_value_labels
from .errors import CxlabError, StudyFileError
from .fmt import in_sentence
from .params import Column
from .registry import STUDIES
from .sources import read_source

QUALTRICS_META = {"startdate", "enddate", "status", "ipaddress", "progress", "duration (in seconds)", "finished",
                  "recordeddate", "responseid", "recipientlastname", "recipientfirstname", "recipientemail",
                  "externalreference", "locationlatitude", "locationlongitude", "distributionchannel",
                  "userlanguage"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}


@dataclass
class ColumnInfo:
    """What one column of the file looks like."""

    name: str
    kinds: set[str]
    label: str = ""
    value_labels: dict[Any, str] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    levels: int = 0

    def describe(self) -> str:
        """A short description for a YAML comment."""
        kind = ("yes/no" if "binary" in self.kinds else "rating" if "rating" in self.kinds else
                "date" if "date" in self.kinds else "number" if "number" in self.kinds else
                f"text, {self.levels} values" if self.kinds else "empty")
        if self.low is not None and "binary" not in self.kinds:
            kind += f" {self.low:g} to {self.high:g}"
        parts = [kind]
        if self.label:
            parts.append(json.dumps(self.label[:70] + ("..." if len(self.label) > 70 else ""), ensure_ascii=False))
        if self.value_labels:
            text = describe_value_labels(self.value_labels)
            parts.append("labels " + (text[:70] + "..." if len(text) > 70 else text))
        return "; ".join(parts)


def inspect(frame: pd.DataFrame) -> list[ColumnInfo]:
    """Describe every column: the kinds of canonical column it could be, its range, labels and value labels."""
    labels = frame.attrs.get("labels", {})
    value_labels = frame.attrs.get("value_labels", {})
    out = []
    for name in frame.columns:
        raw = frame[name]
        info = ColumnInfo(str(name), set(), str(labels.get(name, "") or "").replace("\n", " ").strip(),
                          dict(value_labels.get(name, {})))
        values = raw.dropna()
        if values.dtype == object:
            values = values[values.astype(str).str.strip() != ""]
        if values.empty:
            out.append(info)
            continue
        info.levels = int(values.nunique())
        if pd.api.types.is_datetime64_any_dtype(values) or isinstance(values.iloc[0], (datetime.date,)):
            info.kinds = {"date"}
        elif pd.api.types.is_bool_dtype(values):
            info.kinds = {"binary"}
        else:
            _classify(info, values)
        if "date" in info.kinds and info.levels <= min(60, max(2, len(values) // 5)):
            info.kinds.add("category")  # a few dates or months repeated over many rows: survey waves
        out.append(info)
    return out


def _classify(info: ColumnInfo, values: pd.Series) -> None:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        lo, hi = float(numbers.min()), float(numbers.max())
        info.low, info.high, info.kinds = lo, hi, {"number"}
        distinct = set(numbers.unique())
        if distinct <= {0.0, 1.0}:
            info.kinds.add("binary")
        if (numbers == numbers.round()).all():
            info.kinds |= {"integer", "id"}          # an integer column may identify customers
            if len(numbers) > 20 and numbers.is_unique:
                return                               # one value per row: an identifier, not a score
            if lo >= 0 and hi <= 10 and hi - lo >= 2:
                info.kinds.add("rating")
        if "binary" not in info.kinds:
            info.kinds.add("score")                  # a measurement: a rating, an index, a mean of items
        if info.value_labels:
            words = {str(v).strip().lower() for v in info.value_labels.values()}
            info.kinds.add("binary" if words <= TRUE_WORDS | FALSE_WORDS else "category")
        return
    text = values.astype(str).str.strip().str.lower()
    if set(text.unique()) <= TRUE_WORDS | FALSE_WORDS:
        info.kinds = {"binary"}
    elif pd.to_datetime(values.astype(str), errors="coerce", format="ISO8601").notna().all():
        info.kinds = {"date"}
    else:
        info.kinds = {"id"} | ({"category"} if info.levels <= max(20, len(values) // 50) else set())


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def slug(text: str) -> str:
    """A canonical name made from a column name: lower case, words joined by '_'."""
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out if out and not out[0].isdigit() else f"c_{out}"


_SCALE_RANGE = re.compile(r"\(\s*(\d{1,3})\s*(?:-|\u2013|to)\s*(\d{1,3})\s*\)")
_SCALE_ENDS = re.compile(r"\b(\d{1,3})\s*=\s*[^,;()=]+[,;]\s*(?:\.\.\.\s*)?(\d{1,3})\s*=")
STANDARD_SCALES = ((1, 5), (1, 7), (1, 10), (0, 10))
"""Rating scales, tried in order: a rating gets the first that holds every value seen (1-5 answers: [1, 5])."""
_STEMS = (
    (r"how likely (?:are you|is it that you(?: would)?|would you be) to recommend\b.*", "Likelihood to recommend",
     "Likelihood to recommend"),
    (r"how (?:satisfied|happy|pleased) (?:are|were) you(?: overall)? with (?P<x>.+)", "{x}", "Satisfaction with {x}"),
    (r"how (?:would|do) you rate (?P<x>.+)", "{x}", "Rating of {x}"),
    (r"(?:please )?rate (?P<x>.+)", "{x}", "Rating of {x}"),
    (r"how easy (?:was|is) it to (?P<x>.+)", "Ease: {x}", "Ease: {x}"),
    (r"(?:have|has|did|do|does|are|were|is) you (?P<x>.+)", "{x}", "{x}"),
    (r"(?P<aux>would|will|could) you (?P<x>.+)", "{aux} {x}", "{aux} {x}"),
    (r"(?:what|which) (?:is |was )?(?:your )?(?P<x>[\w ]+?)(?: do you\b.*| are you\b.*| is\b.*)?", "{x}", "{x}"),
)
"""Question stems and the short label left of them: (pattern, label of a part of the experience, label otherwise)."""


def header_scale(text: str) -> tuple[int, int] | None:
    """A rating scale written in a question's text: "(0-10)", "(1 = very poor, 5 = excellent)"; else None."""
    for pattern in (_SCALE_RANGE, _SCALE_ENDS):
        m = pattern.search(text)
        if m and int(m.group(1)) < int(m.group(2)):
            return int(m.group(1)), int(m.group(2))
    return None


def scale_of(info: ColumnInfo) -> tuple[float, float]:
    """A rating's scale: the one its question names when every value seen is on it, else the first standard
    scale (:data:`STANDARD_SCALES`) that holds every value seen, else the values' whole-number range."""
    lo, hi = float(info.low if info.low is not None else 0), float(info.high if info.high is not None else 0)
    codes = [float(k) for k in info.value_labels if isinstance(k, (int, float))]
    lo, hi = min([lo, *codes]), max([hi, *codes])
    named = header_scale(f"{info.name} {info.label}")
    for a, b in ([named] if named else []) + list(STANDARD_SCALES):
        if a <= lo and hi <= b:
            return float(a), float(b)
    return float(math.floor(lo)), float(math.ceil(hi))


def draft_label(text: str, part: bool = False) -> str:
    """A short label a reader can take in, drafted from a column's name or question text.

    The scale in brackets, a question mark and the question's stem go ("Have you renewed your contract with
    us?" -> "Renewed contract", "How likely are you to recommend us ...? (0-10)" -> "Likelihood to recommend");
    ``part``: the column rates one part of the experience (a driver), named by what it rates ("How satisfied
    are you with the speed of delivery?" -> "Speed of delivery"). A name in snake_case reads as words.
    """
    raw = " ".join(str(text).split())
    t = _SCALE_RANGE.sub("", raw)
    t = re.sub(r"\([^()]*\)\s*[?.:!]?\s*$", "", t).strip(" ?:.!")
    if " " not in t:
        t = t.replace("_", " ").strip()
    overall = re.match(r"(?:overall|all in all|in general)\s*,?\s*", t, re.I)
    rest = t[overall.end():] if overall else t
    for pattern, as_part, as_whole in _STEMS:
        m = re.fullmatch(pattern, rest, re.I)
        if m:
            if overall and "satisf" in rest.lower():
                t = "Overall satisfaction"
                break
            t = (as_part if part else as_whole).format(**{k: v for k, v in m.groupdict().items() if v})
            break
    t = re.sub(r"\b(?:with|from|to|for|of) us\b|\b(?:your|our)\s+", "", t, flags=re.I)
    t = re.sub(r"^(?:the|a|an)\s+|(?<=\bwith )the\s+", "", " ".join(t.split()), flags=re.I).strip(" ,")
    words = t.split()
    if len(words) > 6:
        t = " ".join(words[:6]) + "\u2026"
    t = t or raw or "?"
    return t[0].upper() + t[1:]


def _key(label: str, info: ColumnInfo, col: Column, taken: set[str]) -> str:
    """A short name for the study file and results.json: the column's own name when it is short ("rebuy",
    "Q1"), else a known loyalty verb its question uses ("renew", "buy"), else the label's words joined by '_';
    never one already taken."""
    name = ""
    if len(info.name) <= 24 and len(info.name.split()) <= 2 and "?" not in info.name:
        name = slug(info.name)
    elif col.many == "outcomes":
        from .studies.loyalty.narrative import VERBS
        words = re.findall(r"[a-z]+", f"{info.name} {info.label}".lower())
        name = next((v for v in VERBS if v not in taken and any(w.startswith(v.rstrip("e")) for w in words)), "")
    base = name or slug(" ".join(label.rstrip("\u2026").split()[:4]))
    name, number = base, 1
    while name in taken:  # "a b" and "a-b" both slug to a_b: the second is a_b_2
        number += 1
        name = f"{base}_{number}"
    return name


def draft_title(notebook: str, labels: dict[str, str], found: dict[str, list[ColumnInfo]], source: str) -> str:
    """A title a reader can use: "Loyalty by overall satisfaction", "NPS and CSAT by region and survey month"."""
    def join(names: list[str]) -> str:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    rating = labels.get("experience")
    if notebook in ("loyalty", "retention") and rating:
        return f"{notebook.capitalize()} by {in_sentence(rating)}"
    if notebook == "drivers" and labels.get("outcome"):
        return f"What goes with {in_sentence(labels['outcome'])}: key drivers"
    if notebook == "metrics":
        metrics = [m.upper() for m in ("nps", "csat", "ces") if m in found]
        by = [in_sentence(labels.get(k, k)) for k in labels if k not in ("experience", "outcome", "wave")]
        by += [in_sentence(found["wave"][0].name)] if "wave" in found else []
        if metrics:
            return join(metrics) + (f" by {join(by)}" if by else "")
    stem = Path(source).stem.replace("_", " ").replace("-", " ").strip() or "the data"
    return f"{notebook.capitalize()} study of {stem}"


def _score(col: Column, info: ColumnInfo) -> int:
    if col.kind not in info.kinds:
        return 0
    if _norm(info.name) == _norm(col.name):
        return 100
    text = f"{info.name} {info.label}".lower()
    hits = sum(w in text for w in col.words)
    return 10 + hits if hits else 1


def match(columns: tuple[Column, ...], infos: list[ColumnInfo]) -> dict[str, list[ColumnInfo]]:
    """Canonical name -> matched file columns (one, or every match for a ``many`` column)."""
    used: set[str] = set()
    found: dict[str, list[ColumnInfo]] = {}
    for col in sorted(columns, key=lambda c: c.many is not None):  # single columns first
        scored = sorted(((_score(col, i), n, i) for n, i in enumerate(infos) if i.name not in used),
                        key=lambda t: (-t[0], t[1]))
        if col.many:
            pick = [i for s, _, i in scored if s >= (1 if col.required else 10)]
        else:
            strong = [i for s, _, i in scored if s >= 10]
            weak = [i for s, _, i in scored if s >= 1]
            pick = strong[:1] or (weak if col.required and len(weak) == 1 else [])
        if pick:
            found[col.name] = pick
            used.update(i.name for i in pick)
    return found


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
        if col.many and picks and (col.required or all(_score(col, i) >= 10 for i in picks)):
            names, lines = [], []
            for info in picks:
                label = draft_label(info.label or info.name, part=col.name == "driver")
                name = _key(label, info, col, taken)
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


def looks_like_qualtrics(path: Path) -> bool:
    """True for a CSV whose third row holds ImportId JSON (a Qualtrics export)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [row for _, row in zip(range(3), csv.reader(fh))]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return len(rows) == 3 and bool(rows[2]) and all(c.lstrip().startswith('{"ImportId"') for c in rows[2] if c)


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
    notes = _second_look(frame, found)
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


_NPS_WORDS = ("recommend", "likely", "nps", "promoter")


def _second_look(frame: pd.DataFrame, found: dict[str, list[ColumnInfo]]) -> dict[str, str]:
    """Matches a name alone cannot judge, checked against the values; returns why a match was dropped.

    A customer id is mapped only when ids repeat across waves (a respondent id, one per row, would claim a
    cohort that is not there). Drivers share one rating scale, and a likelihood-to-recommend question
    (an outcome, not a part of the experience) is not one of them.
    """
    notes: dict[str, str] = {}
    ids = found.get("customer_id")
    if ids:
        column = ids[0].name
        wave = found.get("wave")
        repeats = False
        if wave:
            pairs = frame[[column, wave[0].name]].dropna().drop_duplicates()
            repeats = bool(pairs[column].duplicated().any())
        if not repeats:
            found.pop("customer_id")
            notes["customer_id"] = (f"{column!r} is not mapped: no id answers in two waves (it identifies "
                                    "responses, not customers); map a customer id here to follow a fixed cohort")
    drivers = found.get("driver")
    if drivers:
        kept = [i for i in drivers if not any(w in f"{i.name} {i.label}".lower() for w in _NPS_WORDS)]
        by_scale: dict[tuple[float, float], list[ColumnInfo]] = {}
        for info in kept:
            by_scale.setdefault(scale_of(info), []).append(info)
        if by_scale:
            common = max(by_scale.values(), key=len)  # ties: the scale seen first
            found["driver"] = [i for i in drivers if i in common]
    return notes
