"""Reading retention data: durations and events (or dates), the rating, covariates and value."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ... import data as d
from ...sources import read_source
from ...errors import DataError
from ...stats.survival import duration_between
from ...tiers import assign_tiers, require_two_tiers
from .spec import RetentionStudy

RESERVED = ("experience", "tier", "duration", "event", "start_date", "end_date", "value")


def parse_dates(frame: pd.DataFrame, column: str, source: str, label: str) -> pd.Series:
    """The column as datetime64 (NaT for empty cells); text that is not an ISO 8601 date is a DataError."""
    raw = frame[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.to_datetime(raw).dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    parsed = pd.to_datetime(text.where(~empty), errors="coerce", format="ISO8601")
    bad = parsed.isna() & ~empty
    if bad.any():
        d.fail_at(bad, raw, "is not a date (write dates as YYYY-MM-DD)", source, label)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def derive_durations(start: pd.Series, end: pd.Series, observation_end: str | pd.Timestamp, time_unit: str,
                     source: str = "<data>", columns: tuple[str, str] = ("start_date", "end_date")
                     ) -> tuple[pd.Series, pd.Series]:
    """Duration (in ``time_unit``) and event (0/1) from start and end dates.

    A customer with an end date churned then (event 1, duration end - start); a
    customer without one is still active at ``observation_end`` (event 0,
    duration observation_end - start), in calendar months (anniversaries
    from the start, day clamped to the month's length: :func:`cxlab.stats.survival.calendar_months`),
    weeks (days / 7) or days.

    Raises
    ------
    DataError
        A missing start date, an end date before (or on) the start date or
        after ``observation_end``, or a start date on or after ``observation_end``.
    """
    obs = pd.Timestamp(observation_end)
    start_col, end_col = columns

    if start.isna().any():
        d.fail_at(start.isna(), start, "is missing (every customer needs a start date)", source, start_col)
    active = end.isna()
    late = ~active & (end > obs)
    if late.any():
        d.fail_at(late, end, f"is after observation_end {obs.date().isoformat()}", source, end_col)
    early = ~active & (end < start)
    if early.any():
        d.fail_at(early, end, "is before the start date", source, end_col)
    same = ~active & (end == start)
    if same.any():
        d.fail_at(same, end, "is the start date: the tenure is zero (durations must be > 0)", source, end_col)
    unborn = active & (start >= obs)
    if unborn.any():
        d.fail_at(unborn, start, f"is on or after observation_end {obs.date().isoformat()}: no follow-up", source,
                  start_col)
    stop = end.where(~active, obs)
    duration = duration_between(start, stop, time_unit)
    event = (~active).astype(float).rename("event")
    return duration, event


def _covariate(frame: pd.DataFrame, column: str, source: str, label: str) -> pd.Series:
    """Numeric when every non-empty value is a number, else categorical text (stripped); value labels name levels."""
    raw = d.labelled(frame, column)
    if isinstance(raw.dtype, pd.CategoricalDtype):
        return _categorical_covariate(raw)
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce")
    present = raw.notna() & (raw.astype("string").str.strip() != "")
    if (values.notna() == present).all():
        return values.astype(float)
    text = raw.astype("string").str.strip()
    return text.where(present.to_numpy(), None).astype(object)


def _categorical_covariate(raw: pd.Series) -> pd.Series:
    """:func:`_covariate` for a categorical column (a Parquet dictionary column), worked on its categories
    only: numeric when every category is a number, else categorical text (stripped; empty is missing)."""
    cats = pd.Series(raw.cat.categories)
    codes = raw.cat.codes.to_numpy()
    text = cats.astype("string").str.strip()
    values = pd.to_numeric(cats, errors="coerce")
    present = cats.notna() & (text != "")
    if (values.notna() == present).all():
        lookup = np.append(values.to_numpy(float), np.nan)                   # code -1 (missing) -> NaN
        return pd.Series(lookup[codes], index=raw.index, dtype=float)
    levels, remap = np.unique(text.where(present, "").to_numpy(str), return_inverse=True)
    remap = np.where(present.to_numpy(), remap, -1)
    new = np.where(codes >= 0, np.append(remap, -1)[codes], -1)
    keep = levels != ""
    renum = np.cumsum(keep) - 1
    new = np.where(new >= 0, np.where(keep[np.maximum(new, 0)], renum[np.maximum(new, 0)], -1), -1)
    return pd.Series(pd.Categorical.from_codes(new, categories=levels[keep]), index=raw.index)


def read(study: RetentionStudy, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's data as canonical columns.

    Columns of the result: ``experience``, ``tier``, ``duration``, ``event``
    (0/1), the covariates under their names, and ``value`` when the study
    names ``value_per_period``. Rows with a missing rating or covariate are
    dropped and counted in the summary.

    Raises
    ------
    DataError
        Missing, zero, negative or non-numeric durations; events other than
        0/1; unparsable dates, an end date before the start or after
        ``observation_end``; ratings outside the scale.
    """
    spec = study.data
    dates = study.observation_end is not None
    timing = ["start_date", "end_date"] if dates else ["duration", "event"]
    wanted = ["experience", *timing, *study.covariates]
    mapping = dict(spec.columns)
    if study.value_per_period:
        mapping.setdefault("value", study.value_per_period)
        wanted.append("value")
    raw, source = read_source(spec, base_dir, d.source_columns(mapping, wanted))
    if not dates and "duration" not in mapping and "duration" not in raw.columns and (
            mapping.get("start_date", "start_date") in raw.columns):
        raise DataError("the data have start dates but no duration column: set observation_end in the study file "
                        "to derive durations from start_date and end_date", path=source, column="duration")
    frame, used = d.map_columns(raw, mapping, wanted, source)
    del raw                     # the mapped copy is all that is needed from here (10^7 rows: hundreds of MB)
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used, **frame.attrs)
    out = pd.DataFrame(index=frame.index)
    out["experience"] = d.as_numeric(frame, "experience", source, used["experience"])
    if dates:
        start = parse_dates(frame, "start_date", source, used["start_date"])
        end = parse_dates(frame, "end_date", source, used["end_date"])
        out["duration"], out["event"] = derive_durations(start, end, study.observation_end, study.time_unit,
                                                         source, (used["start_date"], used["end_date"]))
        out["start_date"], out["end_date"] = start, end
    else:
        out["duration"] = d.as_numeric(frame, "duration", source, used["duration"])
        bad = out["duration"].isna() | ~np.isfinite(out["duration"]) | (out["duration"] <= 0)
        if bad.any():
            value = out["duration"][bad].iloc[0]
            what = "is missing" if pd.isna(value) else ("is not finite" if not np.isfinite(value) else
                                                         "is zero" if value == 0 else "is negative")
            d.fail_at(bad, frame["duration"], f"{what} (durations must be numbers > 0)", source, used["duration"])
        out["event"] = d.as_binary(frame, "event", source, used["event"])
        if out["event"].isna().any():
            d.fail_at(out["event"].isna(), frame["event"], "is missing (event must be 1 churned or 0 still a customer)",
                      source, used["event"])
    for name in study.covariates:
        out[name] = _covariate(frame, name, source, used[name])
    if study.value_per_period:
        out["value"] = d.as_numeric(frame, "value", source, used["value"])
        neg = out["value"] < 0
        if neg.any():
            d.fail_at(neg, frame["value"], "values per period must be >= 0", source, used["value"])
    lo, hi = study.experience.scale
    d.check_range(out["experience"], lo, hi, source, used["experience"], raw=frame["experience"])
    out = d.drop_missing(out, ["experience", *study.covariates], summary)
    if out.empty:
        raise DataError("no rows left after dropping rows with missing values", path=source)
    out["tier"] = assign_tiers(out["experience"], study.experience, source, used["experience"])
    require_two_tiers(out["tier"], out["experience"], source, used["experience"])
    return out, summary
