"""Reading loyalty data: the rating, the binary outcomes and the weight as canonical columns."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ... import data as d
from ...sources import read_source
from ...tiers import assign_tiers, require_two_tiers
from .spec import LoyaltyStudy


def read(study: LoyaltyStudy, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, d.ReadSummary]:
    """Read the study's data as canonical columns: ``experience``, ``tier``, the outcomes (0/1), ``weight``.

    Every row read is returned, missing values as NaN: missing values are
    dropped per outcome by the analysis (DESIGN 5.1 revision), so a row missing
    one outcome still counts for the others. The summary counts the rows that
    no outcome can use (missing rating or weight). Non-numeric or out-of-scale
    ratings, non-binary outcomes and negative weights are a
    :class:`~cxlab.errors.DataError`, and so is an outcome without any usable row.
    """
    spec = study.data
    wanted = ["experience", *study.outcomes]
    optional = ["weight"] if study.weight else []
    mapping = dict(spec.columns)
    if study.weight:
        mapping.setdefault("weight", study.weight.column)
    raw, source = read_source(spec, base_dir, d.source_columns(mapping, [*wanted, *optional]))
    frame, used = d.map_columns(raw, mapping, wanted, source, optional=optional)
    summary = d.ReadSummary(source=source, rows_read=len(frame), columns=used, **frame.attrs)
    out = pd.DataFrame(index=frame.index)
    out["experience"] = d.as_numeric(frame, "experience", source, used["experience"])
    for name in study.outcomes:
        out[name] = d.as_binary(frame, name, source, used[name])
    if "weight" in used:
        out["weight"] = d.as_numeric(frame, "weight", source, used["weight"])
        neg = out["weight"] < 0
        if neg.any():
            d.fail_at(neg, frame["weight"], "weights must be >= 0", source, used["weight"])
    else:
        out["weight"] = 1.0
    lo, hi = study.experience.scale
    d.check_range(out["experience"], lo, hi, source, used["experience"], raw=frame["experience"])
    usable = d.drop_missing(out, ["experience", "weight"], summary)
    if usable.empty:
        raise d.DataError("no rows left after dropping rows with a missing rating or weight", path=source)
    for name in study.outcomes:
        if usable[name].isna().all():
            raise d.DataError("no row has both a rating and a value of this outcome", path=source, column=used[name])
    out["tier"] = assign_tiers(out["experience"], study.experience, source, used["experience"])
    require_two_tiers(out["tier"], out["experience"], source, used["experience"])
    return out, summary
