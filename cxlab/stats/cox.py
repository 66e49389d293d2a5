"""Cox proportional-hazards models (lifelines, Efron ties) with a penalised fallback and the PH test."""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import CovariateWarning, PenalizedFitWarning, warn
from . import Z95
from .survival import lifelines_caveats

log = logging.getLogger(__name__)


PENALIZER = 0.1
PH_ALPHA = 0.05
"""``cox.ph_violated`` when the Schoenfeld test's p is below this."""

# |coefficient x standard deviation of the covariate| above this is a diverging fit (hazard ratio per SD > e^10)
DIVERGENCE = 10.0


def monotone_likelihood(duration: np.ndarray, event: np.ndarray, x: np.ndarray) -> bool:
    """True when the partial likelihood in one covariate has no finite maximum.

    That happens when every customer who churned had the largest (or every
    one the smallest) value of ``x`` among those still at risk at that time:
    the coefficient then diverges to +inf (-inf).
    """
    t, e, x = np.asarray(duration, float), np.asarray(event, float) > 0, np.asarray(x, float)
    if not e.any():
        return False
    order = np.argsort(t, kind="stable")
    ts, xs, es = t[order], x[order], e[order]
    first = np.searchsorted(ts, ts, side="left")      # start of each row's tie group = its risk set
    rmax = np.maximum.accumulate(xs[::-1])[::-1][first]
    rmin = np.minimum.accumulate(xs[::-1])[::-1][first]
    return bool(np.all(xs[es] >= rmax[es]) or np.all(xs[es] <= rmin[es]))


def _fit_cox(df: pd.DataFrame, penalizer: float) -> tuple[Any, bool]:
    """Fit lifelines' CoxPHFitter (Efron ties); return (fitter or None, converged)."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter(penalizer=penalizer).fit(df, "duration", "event", batch_mode=True)
        except (ConvergenceError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            log.info("Cox fit failed (penalizer %s): %s", penalizer, exc)
            return None, False
    failed = any("converge" in str(w.message).lower() for w in caught)
    coefs = cph.params_.to_numpy()
    ses = cph.standard_errors_.to_numpy()
    sd = df.drop(columns=["duration", "event"]).std().to_numpy()
    diverged = (not np.all(np.isfinite(coefs)) or not np.all(np.isfinite(ses))
                or np.any(np.abs(coefs * sd) > DIVERGENCE))
    return cph, not (failed or diverged)


def schoenfeld_scaled(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    """Scaled Schoenfeld residuals exactly as lifelines defines them (Efron ties), vectorised.

    lifelines' own ``compute_residuals(kind="scaled_schoenfeld")`` loops in
    Python with a growing array (minutes at 10^6 rows); this gives the same
    numbers, in the fitted model's row order, for
    ``proportional_hazard_test(..., precomputed_residuals=...)``.
    """
    names = list(cph.params_.index)
    order = cph.durations.index
    sorted_df = df.loc[order]
    t = sorted_df["duration"].to_numpy(float)
    e = sorted_df["event"].to_numpy(float) > 0
    x = sorted_df[names].to_numpy(float)
    phi = np.exp(x @ cph.params_.to_numpy())
    times, start = np.unique(t, return_index=True)          # t is sorted: groups are contiguous
    group = np.searchsorted(times, t)
    # risk-set sums at each distinct time: everything from the group's start onward
    rphi = np.cumsum(phi[::-1])[::-1][start]
    rphix = np.cumsum((phi[:, None] * x)[::-1], axis=0)[::-1][start]
    m = np.bincount(group, weights=e, minlength=len(times))
    dphi = np.bincount(group, weights=phi * e, minlength=len(times))
    dphix = np.stack([np.bincount(group, weights=phi * x[:, j] * e, minlength=len(times))
                      for j in range(x.shape[1])], axis=1)
    has = m > 0
    gi = np.repeat(np.flatnonzero(has), m[has].astype(int))
    mm = m[gi]
    ell = np.arange(len(gi)) - np.repeat(np.concatenate([[0], np.cumsum(m[has])[:-1]]), m[has].astype(int))
    frac = (ell / mm)[:, None]
    terms = (rphix[gi] - frac * dphix[gi]) / ((rphi[gi] - frac[:, 0] * dphi[gi])[:, None] * mm[:, None])
    mean = np.zeros((len(times), x.shape[1]))
    np.add.at(mean, gi, terms)
    resid = x[e] - mean[group[e]]
    scaled = e.sum() * resid @ cph.variance_matrix_.to_numpy()
    return pd.DataFrame(scaled, columns=names, index=order[e])


def ph_test(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    """lifelines' Schoenfeld-residual test of proportional hazards (rank time transform), per covariate.

    Returns a frame indexed by covariate with ``test_statistic`` and ``p``.
    """
    from lifelines.statistics import proportional_hazard_test

    resid = schoenfeld_scaled(cph, df)
    with lifelines_caveats():
        res = proportional_hazard_test(cph, df, time_transform="rank", precomputed_residuals=resid)
    return res.summary[["test_statistic", "p"]]


@dataclass
class CoxFit:
    """A Cox model's figures: coefficients table, penalizer, separation, PH test."""

    table: pd.DataFrame            # term, coef, se, hazard_ratio, ci_low, ci_high, p, ph_p
    penalizer: float | None
    separation: bool
    ph_p: float | None             # global (single covariate) or None
    model: Any = None


def _summarise(cph: Any, df: pd.DataFrame) -> pd.DataFrame:
    coef = cph.params_.to_numpy()
    se = cph.standard_errors_.to_numpy()
    z = coef / se
    try:
        ph = ph_test(cph, df)["p"].reindex(cph.params_.index).to_numpy()
    except Exception as exc:  # the PH test is a diagnostic: its failure must not sink the study
        log.warning("proportional-hazards test failed: %s", exc)
        ph = np.full(len(coef), np.nan)
    return pd.DataFrame({"term": list(cph.params_.index), "coef": coef, "se": se, "hazard_ratio": np.exp(coef),
                         "ci_low": np.exp(coef - Z95 * se), "ci_high": np.exp(coef + Z95 * se),
                         "p": 2 * sps.norm.sf(np.abs(z)), "ph_p": ph})


def cox_fit(df: pd.DataFrame, check_monotone: str | None = None) -> CoxFit:
    """Cox model of ``duration``/``event`` on the other columns of ``df``, Efron ties, no penalty.

    When the fit does not converge or a coefficient diverges (or, with
    ``check_monotone`` naming a column, that column's partial likelihood is
    monotone), the model is refit with a ridge penalizer of 0.1 and
    ``separation`` is true.
    """
    df = df.reset_index(drop=True)
    cols = [c for c in df.columns if c not in ("duration", "event")]
    empty = pd.DataFrame(columns=["term", "coef", "se", "hazard_ratio", "ci_low", "ci_high", "p", "ph_p"])
    if df["event"].sum() == 0 or not cols:
        return CoxFit(empty, None, False, None)
    monotone = check_monotone is not None and monotone_likelihood(df["duration"], df["event"], df[check_monotone])
    cph, ok = (None, False) if monotone else _fit_cox(df, 0.0)
    penalizer = 0.0
    if not ok:
        cph, _ = _fit_cox(df, PENALIZER)
        penalizer = PENALIZER
        if cph is None:
            return CoxFit(empty, None, True, None)
    table = _summarise(cph, df)
    ph_p = float(table["ph_p"].iloc[0]) if len(table) == 1 and np.isfinite(table["ph_p"].iloc[0]) else None
    return CoxFit(table, penalizer, penalizer > 0, ph_p, cph)


def cox_rating(duration: np.ndarray, event: np.ndarray, rating: np.ndarray) -> dict[str, Any]:
    """DESIGN 5.2 ``cox``: hazard ratio per rating point with its interval, penalizer, separation, ph_p,
    ph_violated (``ph_p`` < 0.05) and penalised_hazard_ratio.

    When the unpenalised fit separates, the penalised refit's hazard ratio is
    ``penalised_hazard_ratio`` (a description: a ridge-shrunk estimate has no
    valid confidence interval) and ``hazard_ratio``, ``ci_low``, ``ci_high``
    (and ``coef``, ``se``, ``p``) are None. Figures are None when there are no
    events or the rating is constant.
    """
    df = pd.DataFrame({"duration": np.asarray(duration, float), "event": np.asarray(event, float),
                       "experience": np.asarray(rating, float)})
    none: dict[str, Any] = {"hazard_ratio": None, "ci_low": None, "ci_high": None, "penalizer": None,
                            "separation": False, "ph_p": None, "ph_violated": False, "penalised_hazard_ratio": None,
                            "coef": None, "se": None, "p": None, "log10_p": None}
    if df["event"].sum() == 0 or df["experience"].nunique() < 2:
        return none
    fit = cox_fit(df, check_monotone="experience")
    if fit.table.empty:
        return dict(none, separation=fit.separation)
    row = fit.table.iloc[0]
    out = dict(none, penalizer=fit.penalizer, separation=fit.separation, ph_p=fit.ph_p,
               ph_violated=fit.ph_p is not None and fit.ph_p < PH_ALPHA)
    if fit.separation:
        return dict(out, penalised_hazard_ratio=float(row.hazard_ratio))
    return dict(out, hazard_ratio=float(row.hazard_ratio), ci_low=float(row.ci_low), ci_high=float(row.ci_high),
                coef=float(row.coef), se=float(row.se), p=float(row.p),
                log10_p=float((sps.norm.logsf(abs(row.coef / row.se)) + math.log(2)) / math.log(10)))


def design_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Rating plus covariates as model columns; categorical ones one-hot against a reference level.

    The reference level is the most frequent one (ties: the first in sorted
    order). A covariate with a single value is left out. Returns the matrix,
    ``{covariate: reference level}`` and the list of covariates left out.
    """
    X = pd.DataFrame({"experience": frame["experience"].to_numpy(float)})
    refs: dict[str, str] = {}
    dropped: list[str] = []
    for name in covariates:
        col = frame[name].reset_index(drop=True)
        if col.nunique() < 2:
            dropped.append(name)
            continue
        if pd.api.types.is_numeric_dtype(col):
            X[name] = col.to_numpy(float)
            continue
        counts = col.astype(str).value_counts()
        top = counts.max()
        ref = sorted(counts.index[counts == top])[0]
        refs[name] = ref
        for level in sorted(counts.index):
            if level != ref:
                X[f"{name}={level}"] = (col.astype(str) == level).to_numpy(float)
    return X, refs, dropped


def cox_adjusted(frame: pd.DataFrame, covariates: Sequence[str]) -> dict[str, Any] | None:
    """Cox model on the rating and the covariates: a hazard-ratio table (None without covariates)."""
    if not covariates:
        return None
    X, refs, dropped = design_matrix(frame, covariates)
    for name in dropped:
        warn(CovariateWarning, f"Covariate {name!r} takes a single value in the data; it was left out of the "
                               "adjusted Cox model.")
    X["duration"] = frame["duration"].to_numpy(float)
    X["event"] = frame["event"].to_numpy(float)
    fit = cox_fit(X)
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
            "separation": fit.separation}
