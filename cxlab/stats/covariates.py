"""The adjusted Cox model: the rating and the study's covariates (categorical ones one-hot against their most
frequent level), fitted on aggregated risk sets or, with a continuous covariate, by lifelines on the rows
(:func:`cxlab.stats.cox.cox_fit`)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import CovariateWarning, PenalizedFitWarning, warn
from .counts import Cells
from .cox import PENALIZER, cox_fit


def design_matrix(table: pd.DataFrame, covariates: Sequence[str], rows: np.ndarray | None = None
                  ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Rating plus covariates as model columns; categorical ones one-hot against a reference level.

    ``table`` has one row per pattern (or per data row), ``rows`` the number of data rows each stands for
    (default 1). The reference level is the most frequent one among the rows (ties: the first in sorted
    order). A covariate with a single value is left out. Returns the matrix (a level's indicator as 0/1
    ``uint8``: 10^7 rows, 10 MB a level), ``{covariate: reference level}`` and the list of covariates left out.
    """
    rows = None if rows is None else np.asarray(rows, float)
    present = None if rows is None or (rows > 0).all() else rows > 0
    # columns kept apart (a frame built column by column would consolidate them: one more copy at 10^7 rows)
    columns = {"experience": table["experience"].to_numpy(float)}
    refs: dict[str, str] = {}
    dropped: list[str] = []
    for name in covariates:
        col = table[name]           # positional from here (no reset_index: a copy of 10^7 values)
        if (col if present is None else col[present]).nunique() < 2:
            dropped.append(name)
            continue
        if pd.api.types.is_numeric_dtype(col):
            columns[name] = col.to_numpy(float)
            continue
        # levels as text, worked on integer codes (cheap for a categorical column of 10^7 rows)
        cat = pd.Categorical(col.astype(str)) if not isinstance(col.dtype, pd.CategoricalDtype) else col.array
        codes = np.asarray(cat.codes)
        names = [str(c) for c in cat.categories]
        ok = codes >= 0
        counts = pd.Series(np.bincount(codes[ok], weights=None if rows is None else rows[ok], minlength=len(names)),
                           index=names)
        counts = counts.groupby(level=0).sum()
        counts = counts[counts > 0]
        top = counts.max()
        ref = sorted(counts.index[counts == top])[0]
        refs[name] = ref
        for level in sorted(counts.index):
            if level != ref:
                columns[f"{name}={level}"] = np.isin(codes, [i for i, c in enumerate(names) if c == level]
                                                     ).astype(np.uint8)
    return pd.DataFrame(columns, copy=False), refs, dropped


def cox_adjusted(cells: Cells, table: pd.DataFrame, covariates: Sequence[str], row_level: bool = False
                 ) -> dict[str, Any] | None:
    """Cox model on the rating and the covariates: a hazard-ratio table (None without covariates).

    ``table`` holds ``experience`` and the covariates per pattern of ``cells``. With ``row_level`` true (a
    continuous covariate: :func:`cxlab.stats.counts.rows_as_cells` with the rows as the table) the model is
    lifelines' ``CoxPHFitter`` on the rows; otherwise :func:`newton` on the aggregated risk sets.
    """
    if not covariates:
        return None
    rows = None if row_level else np.bincount(cells.pattern, weights=cells.n, minlength=len(table))
    X, refs, dropped = design_matrix(table, covariates, rows)
    for name in dropped:
        warn(CovariateWarning, f"Covariate {name!r} takes a single value in the data; it was left out of the "
                               "adjusted Cox model.")
    fit = cox_fit(cells, X, row_level=row_level)
    terms = []
    for _, r in fit.table.iterrows():
        cov, _, level = str(r.term).partition("=")
        pen = fit.separation   # a ridge-shrunk estimate is a description: no interval, no p
        terms.append({"term": str(r.term), "covariate": cov, "level": level or None,
                      "reference": refs.get(cov), "hazard_ratio": None if pen else r.hazard_ratio,
                      "penalised_hazard_ratio": r.hazard_ratio if pen else None,
                      "ci_low": None if pen else r.ci_low, "ci_high": None if pen else r.ci_high,
                      "p": None if pen else r.p, "ph_p": r.ph_p})
    if fit.separation:
        warn(PenalizedFitWarning, "The adjusted Cox model (rating and covariates) did not converge to finite "
                                  f"estimates; its hazard ratios come from a refit with a ridge penalty of {PENALIZER}, "
                                  "are shrunk toward 1 and are shown as descriptions, without intervals or p-values.")
    return {"terms": terms, "reference_levels": refs, "left_out": dropped, "penalizer": fit.penalizer,
            "separation": fit.separation, "ph_p": fit.ph_p}
