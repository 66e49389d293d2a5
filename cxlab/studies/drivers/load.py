"""Reading key-driver data: the outcome, the driver ratings and the frequency weight, checked.

Besides the column checks every study makes (numeric ratings within
``drivers_scale``, a numeric or binary outcome, non-negative weights), the
relative weights need a design they can be computed on: at least drivers + 2
rows, every driver and the outcome varying, no driver an exact linear
combination of others. Each failure is one :class:`~cxlab.errors.DataError`
line naming the column(s).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ... import data as d
from ...sources import read_source
from ... import fmt
from ...errors import DataError
from .spec import DriversStudy

COLLINEAR_TOL = 1e-10
"""An eigenvalue of the drivers' correlation matrix below this means exact collinearity."""


@dataclass
class DriversData:
    """The rows a drivers analysis uses, as canonical columns.

    Attributes
    ----------
    outcome : Series
        The outcome (0/1 floats when ``binary``).
    drivers : DataFrame
        One column per driver, named by its label, in the given order.
    weight : Series
        Frequency weights (1 without a weight).
    binary : bool
        The outcome has exactly two values, 0/1, true/false or yes/no.
    columns : dict
        Driver label -> column in the file.
    n_dropped : int
        Rows dropped for a missing outcome, driver or weight.
    summary : ReadSummary
    """

    outcome: pd.Series
    drivers: pd.DataFrame
    weight: pd.Series
    binary: bool
    columns: dict[str, str]
    n_dropped: int
    summary: d.ReadSummary

    @property
    def frame(self) -> pd.DataFrame:
        """The used rows as one table: the outcome, the drivers (by label) and the weight."""
        return pd.concat([self.outcome.rename("outcome"), self.drivers, self.weight.rename("weight")], axis=1)


def _is_binary(raw: pd.Series) -> bool:
    if raw.dtype == bool:
        return True
    text = raw.dropna().astype(str).str.strip().str.lower()
    text = text[text != ""]
    return len(text) > 0 and bool(text.isin(d.TRUE_WORDS | d.FALSE_WORDS).all())


def _names(columns: list[str]) -> str:
    quoted = [repr(c) for c in columns]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def check_design(X: pd.DataFrame, y: pd.Series, w: pd.Series, columns: dict[str, str], outcome: str,
                 source: str) -> None:
    """DataError unless relative weights can be computed: enough rows, variation, no exact collinearity."""
    p = X.shape[1]
    pos = (w > 0).to_numpy()
    n = int(pos.sum())
    if n < p + 2:
        raise DataError(f"{fmt.plural(n, 'usable row')} for {p} drivers: key-driver weights need at least drivers + 2 = "
                        f"{p + 2} rows with the outcome and every driver present", path=source)
    Xp, yp = X[pos], y[pos]
    for label in X.columns:
        if Xp[label].nunique() < 2:
            raise DataError(f"the driver is constant (every used row is {Xp[label].iloc[0]:g}), so its weight "
                            "is not defined: leave it out", path=source, column=columns[label])
    if yp.nunique() < 2:
        raise DataError(f"the outcome is constant (every used row is {yp.iloc[0]:g}): nothing to explain",
                        path=source, column=outcome)
    R = np.corrcoef(Xp.to_numpy(float), rowvar=False)
    d_, P = np.linalg.eigh(R)
    small = d_ < COLLINEAR_TOL * p
    if small.any():
        load = np.abs(P[:, small]).max(axis=1)
        involved = [columns[label] for label, v in zip(X.columns, load) if v > 1e-4 * load.max()]
        raise DataError(f"columns {_names(involved)} are perfectly collinear (one is an exact linear combination "
                        "of the others), so their weights cannot be separated: leave one of them out", path=source)


def read(study: DriversStudy, base_dir: str | Path | None = None, *,
         reader: Callable[..., tuple[pd.DataFrame, str]] = read_source) -> DriversData:
    """Read the study's data: the outcome, the drivers (by label) and the weight, missing rows dropped.

    ``reader`` reads the study's ``data:`` (:func:`cxlab.sources.read_source`; ``cxlab validate`` passes one
    that gives only the first rows of a source read in batches).

    Raises
    ------
    DataError
        A missing or non-numeric column, a rating outside ``drivers_scale``, a
        negative weight, or a design the weights cannot be computed on (see
        :func:`check_design`).
    """
    spec = study.data
    columns = study.driver_columns()
    outcome_col = spec.columns.get("outcome", "outcome")
    wanted = {"outcome": outcome_col, **{f"driver:{label}": col for label, col in columns.items()}}
    if study.weight is not None:
        wanted["weight"] = study.weight.column
    raw, source = reader(spec, base_dir, wanted.values())
    frame, _ = d.map_columns(raw, wanted, list(wanted), source)
    summary = d.ReadSummary(source=source, rows_read=len(frame),
                            columns={"outcome": outcome_col, **columns,
                                     **({"weight": study.weight.column} if study.weight else {})})
    out = pd.DataFrame(index=frame.index)
    binary = _is_binary(frame["outcome"])
    out["outcome"] = (d.as_binary if binary else d.as_numeric)(frame, "outcome", source, outcome_col)
    lo, hi = study.drivers_scale
    for label, col in columns.items():
        key = f"driver:{label}"
        out[key] = d.as_numeric(frame, key, source, col)
        d.check_range(out[key], lo, hi, source, col, raw=frame[key])
    if study.weight is not None:
        out["weight"] = d.as_numeric(frame, "weight", source, study.weight.column)
        neg = out["weight"] < 0
        if neg.any():
            d.fail_at(neg, frame["weight"], "weights must be >= 0", source, study.weight.column)
    else:
        out["weight"] = 1.0
    keep = out.notna().all(axis=1)
    n_dropped = int((~keep).sum())
    if n_dropped:
        summary.dropped["a missing outcome, driver or weight"] = n_dropped
    out = out[keep]
    X = out[[f"driver:{label}" for label in columns]]
    X.columns = list(columns)
    check_design(X, out["outcome"], out["weight"], columns, outcome_col, source)
    return DriversData(out["outcome"], X, out["weight"], binary, columns, n_dropped, summary)
