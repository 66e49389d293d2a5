"""A look at a data file for ``cxlab new``: what each column is, which study column it may be, its words.

- :func:`inspect` describes every column (:class:`ColumnInfo`: kinds, range, label, value labels);
- :func:`scale_of` finds a rating's scale (the one its question names, else :data:`STANDARD_SCALES`);
- :func:`match` maps the study's canonical columns (``COLUMNS`` of its ``spec``) by name, label words and
  kind, and :func:`second_look` drops matches the values contradict;
- :func:`draft_label`, :func:`draft_key` and :func:`draft_title` draft the words a reader sees.

:mod:`cxlab.scaffold` writes the study file from them.
"""
from __future__ import annotations

import csv
import datetime
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .data import FALSE_WORDS, TRUE_WORDS, describe_value_labels
from .fmt import in_sentence
from .params import Column

QUALTRICS_META = {"startdate", "enddate", "status", "ipaddress", "progress", "duration (in seconds)", "finished",
                  "recordeddate", "responseid", "recipientlastname", "recipientfirstname", "recipientemail",
                  "externalreference", "locationlatitude", "locationlongitude", "distributionchannel",
                  "userlanguage"}


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


def point_labels(text: str) -> dict[str, str]:
    """The rating points a question's text names: "(1 = very dissatisfied, 5 = very satisfied)" ->
    {"1": "Very dissatisfied", "5": "Very satisfied"} (a label for the tiers of those ratings)."""
    out = {}
    for code, words in re.findall(r"\b(\d{1,3})\s*=\s*([^,;()=]+?)\s*(?=[,;)]|$)", text):
        words = " ".join(words.split())
        if words:
            out[str(int(code))] = words[0].upper() + words[1:]
    return out if len(out) >= 2 and len(set(out.values())) == len(out) else {}


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


def draft_key(label: str, info: ColumnInfo, col: Column, taken: set[str]) -> str:
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


def match_score(col: Column, info: ColumnInfo) -> int:
    """How well a file column fits canonical column ``col``: 0 (wrong kind), 1 (kind only), 10 plus the
    label words it shares, 100 (same name)."""
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
        scored = sorted(((match_score(col, i), n, i) for n, i in enumerate(infos) if i.name not in used),
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


def looks_like_qualtrics(path: Path) -> bool:
    """True for a CSV whose third row holds ImportId JSON (a Qualtrics export)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [row for _, row in zip(range(3), csv.reader(fh))]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return len(rows) == 3 and bool(rows[2]) and all(c.lstrip().startswith('{"ImportId"') for c in rows[2] if c)


_NPS_WORDS = ("recommend", "likely", "nps", "promoter")


def second_look(frame: pd.DataFrame, found: dict[str, list[ColumnInfo]]) -> dict[str, str]:
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
