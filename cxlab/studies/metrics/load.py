"""Reading survey responses: the metrics, wave, customer id, segments and weight as canonical columns."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ... import data as d
from ...sources import read_source
from .spec import METRICS, MetricsStudy


def factor(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for missing) and labels of a column's values as stripped text; blank is missing.

    The text work is done once per distinct value, so a million rows cost one factorize.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [str(u).strip() for u in uniques]
    position: dict[str, int] = {}
    for t in text:
        if t:
            position.setdefault(t, len(position))
    remap = np.array([position[t] if t else -1 for t in text] + [-1], dtype=np.int64)
    return remap[codes], list(position)


def ordered_levels(values: pd.Series) -> pd.Series:
    """The values as an ordered categorical of strings, levels in sorted order (numerically when all are numbers).

    Missing and blank values are missing. Sorting numbers as numbers keeps wave 10 after wave 9.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    codes, labels = factor(values)
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    if len(labels) and numbers.notna().all():
        order = sorted(range(len(labels)), key=lambda i: (numbers[i], labels[i]))
    else:
        order = sorted(range(len(labels)), key=lambda i: labels[i])
    rank = np.empty(len(labels) + 1, dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(labels))
    rank[-1] = -1
    cats = pd.CategoricalDtype([labels[i] for i in order], ordered=True)
    return pd.Series(pd.Categorical.from_codes(rank[codes], dtype=cats), index=values.index)


def _numeric(frame: pd.DataFrame, name: str, source: str, column: str, whole: bool = False) -> pd.Series:
    """The column as floats (numeric columns pass through; text goes through :func:`cxlab.data.as_numeric`)."""
    values = (frame[name].astype(float) if pd.api.types.is_numeric_dtype(frame[name])
              and not pd.api.types.is_bool_dtype(frame[name]) else d.as_numeric(frame, name, source, column))
    if whole:
        bad = values.notna() & (values != np.round(values))
        if bad.any():
            d.fail_at(bad, frame[name], "is not an integer", source, column)
    return values


def metrics_present(raw: pd.DataFrame, study: MetricsStudy) -> list[str]:
    """The metrics the study analyses: those mapped under ``data.columns`` or present under their own name."""
    return [m for m in METRICS if m in study.data.columns or m in raw.columns]


def read(study: MetricsStudy, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's responses as canonical columns.

    Columns: each metric present (``nps``, ``csat``, ``ces``; NaN where a
    response skipped it), ``wave`` (ordered categorical) and ``customer_id``
    (an integer code per customer, -1 when missing) when present, one column
    per segment (its file name, an ordered categorical), and ``weight``.
    An NPS value that is not a whole number inside its 11-point scale, a
    rating outside its scale and a negative weight are a
    :class:`~cxlab.errors.DataError`. Rows without any metric, or missing the
    weight or the wave, are dropped and counted.
    """
    spec = study.data
    segments = list(study.segments)
    if study.mix_by is not None and study.mix_by not in segments:
        segments.append(study.mix_by)
    mapping = dict(spec.columns)
    if study.weight:
        mapping.setdefault("weight", study.weight.column)
    optional = ["wave", "customer_id"] + (["weight"] if study.weight else [])
    raw, source = read_source(spec, base_dir, d.source_columns(mapping, [*METRICS, *segments, *optional]))
    metrics = metrics_present(raw, study)
    if not metrics:
        shown = ", ".join(map(str, d.header(raw)[:12]))
        raise d.DataError(f"no metric column: map at least one of nps, csat, ces under data.columns "
                          f"(the file has: {shown})", path=source)
    clash = [s for s in segments if s in (*METRICS, "wave", "customer_id", "weight")]
    if clash:
        raise d.DataError(f"segment column {clash[0]!r} has the name of a canonical column; "
                          "map that column under data.columns instead", path=source)
    frame, used = d.map_columns(raw, mapping, [*metrics, *segments], source, optional=optional)
    if study.weight and "weight" not in used:
        raise d.DataError("weight column is missing", path=source, column=study.weight.column)
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used, **frame.attrs)
    out = pd.DataFrame(index=frame.index)
    if "nps" in metrics:
        out["nps"] = _numeric(frame, "nps", source, used["nps"], whole=True)
        lo, hi = study.nps.scale
        d.check_range(out["nps"], lo, hi, source, used["nps"], raw=frame["nps"])
    for name in ("csat", "ces"):
        if name in metrics:
            out[name] = _numeric(frame, name, source, used[name])
            lo, hi = getattr(study, name).scale
            d.check_range(out[name], lo, hi, source, used[name], raw=frame[name])
    if "weight" in used:
        out["weight"] = _numeric(frame, "weight", source, used["weight"])
        bad = (out["weight"] < 0) | np.isinf(out["weight"])
        if bad.any():
            d.fail_at(bad, frame["weight"], "weights must be finite and >= 0", source, used["weight"])
    else:
        out["weight"] = 1.0
    if "wave" in used:
        out["wave"] = ordered_levels(d.labelled(frame, "wave"))
    if "customer_id" in used:
        out["customer_id"] = factor(frame["customer_id"])[0]   # identity only: an integer code, -1 when missing
    for col in segments:  # SPSS/Stata value labels name the levels, as in the other studies
        out[col] = ordered_levels(d.labelled(frame, col))
    no_metric = out[metrics].isna().all(axis=1)
    if no_metric.any():
        summary.dropped["no metric answered"] = int(no_metric.sum())
        out = out[~no_metric]
    out = d.drop_missing(out, ["weight", *(["wave"] if "wave" in used else [])], summary)
    if out.empty:
        raise d.DataError("no responses left after dropping rows without a metric, weight or wave", path=source)
    for col in segments:  # a wave stays even when none of its rows is left: the analysis reports it as empty
        out[col] = out[col].cat.remove_unused_categories()
    return out, summary
