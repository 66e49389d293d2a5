"""Cox proportional-hazards models of the studies: the rating model, the adjusted model's fit, a penalised
fallback and the time split.

On aggregated cells the fit is :func:`cxlab.stats.efron.newton`, Efron's partial likelihood on the
risk sets (lifelines' ``CoxPHFitter`` counts tied rows, not weights: see :mod:`cxlab.stats.efron`).

Where rows are needed anyway (a continuous covariate, :func:`cox_fit` with
``row_level``), the model is lifelines' ``CoxPHFitter`` (:func:`lifelines_fit`,
Efron, its ``penalizer`` for the ridge refit, a tightened ``fit_options``). The
PH test (:func:`ph_test`) is R survival >= 3.0's ``cox.zph`` score test (rank
transform, full information matrix), computed here on either fit: lifelines'
``proportional_hazard_test`` is the survival 2.x approximation (a scaled
Schoenfeld residual with the average variance), which R replaced because it
can be far off with several covariates. The adjusted model (rating and covariates, its one-hot design) is
:mod:`cxlab.stats.covariates`.
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from scipy import stats as sps

from ..errors import ModelWarning, warn
from . import Z95
from .counts import Cells, aggregate, weighted_median
from .efron import DIVERGENCE, Fit, RiskSets, newton, ph_test

log = logging.getLogger(__name__)

PENALIZER = 0.1
PH_ALPHA = 0.05
"""``cox.ph_violated`` when the PH score test's p is below this."""

LIFELINES_MAX_ROWS = 1_000_000
"""Above this many rows the row-level fit is :func:`newton` on the rows as cells (n = 1 each), the same Efron
likelihood: lifelines' ``CoxPHFitter`` copies the rows several times (4.3 GB at 10^7 rows with four terms)."""
FIT_OPTIONS = {"precision": 1e-18, "r_precision": 1e-18}
"""lifelines' Newton-Raphson stopping rule, tightened (defaults 1e-7 and 1e-9) so that its fit agrees with
:func:`newton` to 1e-9 where both apply. lifelines also stops when the Newton decrement g H^-1 g / 2 is below
``precision``, on the unnormalised Hessian, so 1e-14 still left 3e-9 on 400 rows; with 1e-18 the fits
agreed to 2e-12 or better on five data sets of up to 4,000 rows, without convergence warnings."""


def lifelines_fit(duration: np.ndarray, event: np.ndarray, X: pd.DataFrame, penalizer: float = 0.0) -> Fit | None:
    """lifelines' ``CoxPHFitter`` (Efron ties; ridge ``penalizer``, the form :func:`newton` uses) on rows.

    Returns None when lifelines stops with a ``ConvergenceError``; ``converged`` is false when it warns that
    Newton-Raphson did not converge or a coefficient diverges (|b sd| > 10). Its ``ConvergenceWarning`` is
    read here (the study reports separation in its own words); any other lifelines warning becomes a
    :class:`~cxlab.errors.ModelWarning` sentence for the report.
    """
    df = X.reset_index(drop=True).astype(float)
    df["__duration"], df["__event"] = np.asarray(duration, float), np.asarray(event, float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            cph = CoxPHFitter(penalizer=penalizer).fit(df, "__duration", "__event", fit_options=FIT_OPTIONS)
        except ConvergenceError as exc:
            log.info("lifelines' Cox fit stopped: %s", exc)
            cph = None
    failed = False
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            failed = True
        else:
            first = str(w.message).strip().splitlines()[0] if str(w.message).strip() else w.category.__name__
            warn(ModelWarning, f"lifelines cautioned about the Cox model fitted on the rows: {first}")
    if cph is None:
        return None
    beta = cph.params_.reindex(X.columns).to_numpy(float)
    variance = cph.variance_matrix_.reindex(index=X.columns, columns=X.columns).to_numpy(float)
    sd = X.std(ddof=1).to_numpy(float)
    finite = np.all(np.isfinite(beta)) and np.all(np.isfinite(variance)) and np.all(np.diag(variance) > 0)
    diverged = not finite or np.any(np.abs(beta * sd) > DIVERGENCE)
    return Fit(beta, variance, not failed and not diverged, {})


def monotone_likelihood(duration: np.ndarray, event: np.ndarray, x: np.ndarray) -> bool:
    """True when the partial likelihood in one covariate of rows has no finite maximum (:func:`monotone_cells`)."""
    frame = pd.DataFrame({"x": np.asarray(x, float)})
    cells = aggregate(duration, event, frame)
    return monotone_cells(cells, cells.patterns["x"].to_numpy(float))


def monotone_cells(cells: Cells, x: np.ndarray) -> bool:
    """True when every churner had the largest (or every one the smallest) ``x`` (per pattern) among those
    still at risk at that time: the coefficient then diverges to +inf (-inf)."""
    e = cells.d > 0
    if not e.any():
        return False
    xs = np.asarray(x, float)[cells.pattern]
    _, starts, inverse = np.unique(cells.time, return_index=True, return_inverse=True)
    rmax = np.maximum.accumulate(xs[::-1])[::-1][starts][inverse]
    rmin = np.minimum.accumulate(xs[::-1])[::-1][starts][inverse]
    return bool(np.all(xs[e] >= rmax[e]) or np.all(xs[e] <= rmin[e]))


@dataclass
class CoxFit:
    """A Cox model's figures: coefficients table, penalizer, separation, PH test."""

    table: pd.DataFrame            # term, coef, se, hazard_ratio, ci_low, ci_high, p, ph_p
    penalizer: float | None
    separation: bool
    ph_p: float | None             # global PH test (:func:`ph_test`), None when it fails


COLUMNS = ["term", "coef", "se", "hazard_ratio", "ci_low", "ci_high", "p", "ph_p", "ph_trend"]


def _summarise(names: Sequence[str], rs: RiskSets, fit: Fit) -> tuple[pd.DataFrame, float | None]:
    """The coefficients table and the global PH test's p (None when the test fails)."""
    coef = fit.beta
    se = np.sqrt(np.diag(fit.variance))
    ph, trend, ph_p = np.full(len(coef), np.nan), np.full(len(coef), np.nan), None
    try:
        test = ph_test(rs, fit)
        ph, trend = test.table["p"].to_numpy(), test.table["trend"].to_numpy()
        ph_p = test.p if math.isfinite(test.p) else None
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:  # a diagnostic must not sink the study
        log.warning("proportional-hazards test failed: %s", exc)
    table = pd.DataFrame({"term": list(names), "coef": coef, "se": se, "hazard_ratio": np.exp(coef),
                          "ci_low": np.exp(coef - Z95 * se), "ci_high": np.exp(coef + Z95 * se),
                          "p": 2 * sps.norm.sf(np.abs(coef / se)), "ph_p": ph, "ph_trend": trend})
    return table, ph_p


def cox_fit(cells: Cells, X: pd.DataFrame, check_monotone: str | None = None, row_level: bool = False
            ) -> CoxFit:
    """Cox model on ``X`` (one row per pattern of ``cells``), Efron ties, no penalty.

    On aggregated cells the fit is :func:`newton` (lifelines cannot fit them: see the module docstring); with
    ``row_level`` true (``cells`` from :func:`cxlab.stats.counts.rows_as_cells`, ``X`` one row per data row) it
    is lifelines' ``CoxPHFitter`` (:func:`lifelines_fit`) up to :data:`LIFELINES_MAX_ROWS` rows, and
    :func:`newton` on the rows above. When the fit does not converge or a coefficient
    diverges (or, with ``check_monotone`` naming a column, that column's partial likelihood is monotone),
    the model is refit with a ridge penalizer of 0.1 and ``separation`` is true. The PH test is
    :func:`ph_test` on the fit, either way.
    """
    empty = pd.DataFrame(columns=COLUMNS)
    if cells.d.sum() == 0 or X.shape[1] == 0:
        return CoxFit(empty, None, False, None)
    lifelines = row_level and len(cells) <= LIFELINES_MAX_ROWS
    if lifelines:
        Xr = X.iloc[cells.pattern].reset_index(drop=True)          # in the cells' (time) order
        fitter = lambda pen: lifelines_fit(cells.time, cells.d, Xr, pen)  # noqa: E731
    rs = RiskSets.build(cells, X)
    if not lifelines:
        fitter = lambda pen: newton(rs, pen)  # noqa: E731
    monotone = check_monotone is not None and monotone_cells(cells, X[check_monotone].to_numpy(float))
    fit = None if monotone else fitter(0.0)
    penalizer = 0.0
    if fit is None or not fit.converged:
        fit, penalizer = fitter(PENALIZER), PENALIZER
        if fit is None:
            return CoxFit(empty, None, True, None)
    table, ph_p = _summarise(list(X.columns), rs, fit)
    return CoxFit(table, penalizer, penalizer > 0, ph_p)


def rating_model(cells: Cells, rating: np.ndarray) -> dict[str, Any]:
    """DESIGN 5.2 ``cox`` from cells whose patterns carry ``rating`` (one value per pattern).

    Hazard ratio per rating point with its interval, penalizer, separation, ph_p, ph_violated (``ph_p`` <
    0.05), ph_trend (the sign of the coefficient's change over the tenure, :class:`PHTest`) and
    penalised_hazard_ratio. When the unpenalised fit separates, the penalised refit's hazard ratio
    is ``penalised_hazard_ratio`` (a description: a ridge-shrunk estimate has no valid confidence interval)
    and ``hazard_ratio``, ``ci_low``, ``ci_high`` (and ``coef``, ``se``, ``p``) are None. Figures are None
    when there are no events or the rating is constant.
    """
    none: dict[str, Any] = {"hazard_ratio": None, "ci_low": None, "ci_high": None, "penalizer": None,
                            "separation": False, "ph_p": None, "ph_violated": False, "penalised_hazard_ratio": None,
                            "coef": None, "se": None, "p": None, "log10_p": None, "ph_trend": None}
    rating = np.asarray(rating, float)
    if cells.d.sum() == 0 or len(np.unique(rating[np.unique(cells.pattern)])) < 2:
        return none
    fit = cox_fit(cells, pd.DataFrame({"experience": rating}), check_monotone="experience")
    if fit.table.empty:
        return dict(none, separation=fit.separation)
    row = fit.table.iloc[0]
    trend = float(row.ph_trend) if fit.ph_p is not None else None
    out = dict(none, penalizer=fit.penalizer, separation=fit.separation, ph_p=fit.ph_p, ph_trend=trend,
               ph_violated=fit.ph_p is not None and fit.ph_p < PH_ALPHA)
    if fit.separation:
        return dict(out, penalised_hazard_ratio=float(row.hazard_ratio))
    return dict(out, hazard_ratio=float(row.hazard_ratio), ci_low=float(row.ci_low), ci_high=float(row.ci_high),
                coef=float(row.coef), se=float(row.se), p=float(row.p),
                log10_p=float((sps.norm.logsf(abs(row.coef / row.se)) + math.log(2)) / math.log(10)))


def cox_rating(duration: np.ndarray, event: np.ndarray, rating: np.ndarray) -> dict[str, Any]:
    """:func:`rating_model` on rows (aggregated per time and rating first)."""
    cells = aggregate(duration, event, pd.DataFrame({"experience": np.asarray(rating, float)}))
    return rating_model(cells, cells.patterns["experience"].to_numpy(float))


def time_split(cells: Cells, rating: np.ndarray) -> dict[str, Any] | None:
    """The rating model fitted separately on the churns up to the median churn time and on those after it.

    Early: every customer, with churns after the split treated as censored; late: the partial likelihood of
    the churns after the split (those still at risk then), which is the fit left-truncated at the split.
    Returns ``{split, early, late}``, each part ``{events, hazard_ratio, ci_low, ci_high}`` (None figures
    when that fit does not converge), or None without events on both sides of the split. A description of
    how the hazard ratio changes over the tenure when proportional hazards do not hold.
    """
    rating = np.asarray(rating, float)
    split = weighted_median(cells.time, cells.d)
    if split is None:
        return None
    out: dict[str, Any] = {"split": float(split)}
    for part, keep in (("early", cells.time <= split), ("late", cells.time > split)):
        d = np.where(keep, cells.d, 0.0)
        events = float(d.sum())
        if events == 0:
            return None
        rs = RiskSets.build(Cells(cells.time, cells.pattern, cells.n, d, cells.patterns), rating[:, None])
        fit = newton(rs)
        fig: dict[str, Any] = {"events": int(round(events)), "hazard_ratio": None, "ci_low": None, "ci_high": None}
        if fit is not None and fit.converged:
            b, se = float(fit.beta[0]), math.sqrt(fit.variance[0, 0])
            fig.update(hazard_ratio=math.exp(b), ci_low=math.exp(b - Z95 * se), ci_high=math.exp(b + Z95 * se))
        out[part] = fig
    return out
