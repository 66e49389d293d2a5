"""Loyalty figures: rates by tier with Wilson intervals, association and trend tests, odds ratio per point.

Every figure is computed from the sufficient statistics of :mod:`.cells` (per
outcome and (rating, outcome value) cell: rows, sum of weights, sum of squared
weights), so rows are first collapsed to cells and one implementation serves
rows and aggregated data alike: rates, Wilson intervals, Kish n, the
linearised variances (sums of squared weights times squared residuals) and
trend scores are sums over a tier's cells; chi-square, its Monte Carlo p and
Cochran-Armitage use the tier x outcome table; the logistic regression's
likelihood on cells weighted by their counts is that of the rows; Rao-Scott and
the sandwich errors need, per cell, the sums of weights and squared weights.

Unweighted and frequency-weighted data use Pearson's chi-square (with a Monte
Carlo permutation p under small expected counts), the Cochran-Armitage trend
test and the maximum-likelihood logistic regression; sampling weights use the
design-based counterparts of :mod:`cxlab.stats.survey` (DESIGN 5.1 revisions).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from ... import fmt
from ...errors import (ConstantOutcomeWarning, EmptyTierWarning, SeparationWarning, SmallExpectedWarning,
                       collecting_warnings, warn)
from ...stats.logistic import LogitFit, logistic_slope
from ...stats.proportions import wilson_interval
from ...stats.survey import domain_means, rao_scott_f, svy_logit
from ...stats.tables import chi2_independence, chi2_monte_carlo_p, cochran_armitage, small_expected
from ...tiers import warn_empty_tiers
from .cells import LoyaltyCells, aggregate
from .spec import LoyaltyStudy

log = logging.getLogger(__name__)


@dataclass
class LoyaltyResult:
    """Figures of one loyalty analysis.

    Attributes
    ----------
    results : dict
        ``{"n": rows with a rating (and weight), "weight": kind or None, "outcomes": {name: {n_used, n_dropped, tiers,
        top_vs_bottom, chi2, trend, logit}}}`` exactly as DESIGN 5.1 and its revisions.
    rates : DataFrame
        Tidy table: outcome, tier, n, count, rate, ci_low, ci_high, score (and n_eff, n_eff_design,
        design_effect with sampling weights).
    tests : DataFrame
        One row per outcome: rows used, association test, trend and odds ratio.
    warnings : list of str
        Statistical caveats as sentences.
    """

    results: dict[str, Any]
    rates: pd.DataFrame
    tests: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def tier_table(cells: pd.DataFrame, categories: pd.Index, outcome: str, kind: Optional[str] = None) -> pd.DataFrame:
    """Rate of ``outcome`` per tier (worst to best) with Wilson 95% intervals and the tier's trend score.

    ``cells`` are the outcome's used cells (``y`` 0 or 1; see :mod:`.cells`).
    ``kind`` is the weight kind: None (weights are 1) or ``frequency``: ``n``
    and ``count`` are weighted totals, as in the expanded data; ``sampling``:
    ``n`` and ``count`` are row counts, ``rate`` the weighted share, ``n_eff``
    the Kish effective n (sum of weights squared over the sum of squared
    weights, a description), ``n_eff_design`` the design-based effective n
    ``p (1 - p) / v`` with ``v`` the share's linearised variance (tiers are
    domains of the outcome's design: :func:`~cxlab.stats.survey.domain_means`;
    Kish's n where the share is 0 or 1), ``design_effect`` R's
    ``deff = "replace"``, and the interval Wilson's with ``n_eff_design``. ``score`` is the
    tier's weighted mean rating (NaN for an empty tier). All are sums over the
    tier's cells.
    """
    codes = cells["tier"].cat.codes.to_numpy()
    y, x = cells["y"].to_numpy(float), cells["experience"].to_numpy(float)
    rows, w, w2 = (cells[c].to_numpy(float) for c in ("rows", "w", "w2"))

    def total(v: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=v, minlength=len(categories))

    wsum, wy = total(w), total(w * y)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(wsum > 0, wy / np.where(wsum > 0, wsum, 1), np.nan)
        score = np.where(wsum > 0, total(w * x) / np.where(wsum > 0, wsum, 1), np.nan)
    labels = [str(t) for t in categories]
    table = pd.DataFrame({"outcome": outcome, "tier": pd.Categorical(labels, categories=labels, ordered=True)})
    if kind == "sampling":
        design = domain_means(y, w, w2, codes, len(categories), n=int(rows.sum()), rows=rows)
        n_eff = design.n_eff
        table["n"], table["count"] = total(rows), total(rows * y)
        low, high = wilson_interval(np.nan_to_num(rate) * n_eff, n_eff)
    else:
        table["n"], table["count"] = wsum, wy
        low, high = wilson_interval(wy, wsum)
    table["rate"], table["ci_low"], table["ci_high"], table["score"] = rate, low, high, score
    table["weight_sum"] = wsum
    if np.all(table["n"] == np.round(table["n"])) and np.all(table["count"] == np.round(table["count"])):
        table = table.astype({"n": "int64", "count": "int64"})
    if kind == "sampling":
        table["n_eff"], table["n_eff_design"], table["design_effect"] = design.kish_n, n_eff, design.design_effect
    return table


def rates_by_tier(frame: pd.DataFrame, outcome: str, kind: Optional[str] = None) -> pd.DataFrame:
    """:func:`tier_table` of the rows of ``frame`` (columns ``tier``, ``experience``, ``weight``, the outcome)."""
    cells = aggregate(frame, [outcome], weighted=kind is not None).outcome(outcome)
    return tier_table(cells[cells["y"].notna()], frame["tier"].cat.categories, outcome, kind)


def _integral(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _none(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else x


def association(table: pd.DataFrame, cells: pd.DataFrame, kind: Optional[str]) -> dict[str, Any]:
    """The tier x outcome test on the non-empty tiers: Pearson chi-square (Monte Carlo p under small
    expected counts) or, with sampling weights, the Rao-Scott second-order corrected F test.

    Chi-square and its Monte Carlo p need the tier x outcome table of counts
    (the permutation distribution of a table depends only on its cells: scipy
    expands the table itself); Rao-Scott needs per (tier, outcome) cell the sum
    of weights and of squared weights, and the row count.
    """
    full = table[table["weight_sum"] > 0]
    counts = np.column_stack([full["count"], full["n"] - full["count"]])
    small = small_expected(counts)
    if kind == "sampling":
        sel = cells[cells["tier"].astype(str).isin(full["tier"].astype(str))]
        test = rao_scott_f(sel["tier"].cat.codes.to_numpy(), sel["y"].to_numpy(), sel["w"].to_numpy(float),
                           sel["w2"].to_numpy(float), n=int(sel["rows"].sum()))
        return {**test, "small_expected": small, "mc_p": None}
    test = chi2_independence(counts)
    mc_p = chi2_monte_carlo_p(counts) if small else None
    return {**test, "small_expected": small, "mc_p": mc_p}


def _logit(x: np.ndarray, cells: pd.DataFrame, kind: Optional[str]) -> LogitFit:
    """Logistic regression of the cells' outcome on ``x`` (one value per cell); the cells' weight sums are
    frequency weights (the likelihood of the rows), with sampling weights the design-based (sandwich) errors
    from the cells' sums of squared weights."""
    y, w = cells["y"].to_numpy(float), cells["w"].to_numpy(float)
    if kind == "sampling":
        return svy_logit(x, y, w, cells["w2"].to_numpy(float), n=int(cells["rows"].sum()))
    return logistic_slope(x, y, w)


def trend_test(table: pd.DataFrame, cells: pd.DataFrame, kind: Optional[str]) -> dict[str, Any]:
    """Trend across the non-empty tiers scored by their mean ratings: Cochran-Armitage, or with sampling
    weights the Wald z of the design-based logistic regression on the scores (null under separation)."""
    full = table[table["weight_sum"] > 0]
    if kind == "sampling":
        scores = table["score"].to_numpy(float)
        return _logit(scores[cells["tier"].cat.codes.to_numpy()], cells, kind).wald()
    return cochran_armitage(full["count"].to_numpy(float), full["n"].to_numpy(float), full["score"].to_numpy(float))


def odds_ratio(cells: pd.DataFrame, kind: Optional[str]) -> LogitFit:
    """Logistic regression of the outcome on the rating (design-based standard errors with sampling weights)."""
    return _logit(cells["experience"].to_numpy(float), cells, kind)


def _tier_rows(table: pd.DataFrame, kind: Optional[str]) -> list[dict[str, Any]]:
    rows = []
    for _, r in table.iterrows():
        row = {"tier": str(r.tier), "n": _integral(r.n), "count": _integral(r["count"]), "rate": _none(r.rate),
               "ci_low": _none(r.ci_low), "ci_high": _none(r.ci_high), "score": _none(r.score)}
        if kind == "sampling":
            row.update(n_eff=float(r.n_eff), n_eff_design=float(r.n_eff_design),
                       design_effect=_none(float(r.design_effect)))
        rows.append(row)
    return rows


def analyze_outcome(data: LoyaltyCells, name: str, kind: Optional[str], shown: Optional[str] = None
                    ) -> tuple[dict[str, Any], pd.DataFrame]:
    """DESIGN 5.1 figures of one outcome on the cells where the rating, the outcome and the weight are present
    (``shown``: the outcome's label in the warnings, default its name)."""
    cells = data.outcome(name)
    said = shown or name
    used = cells[cells["y"].notna()]
    table = tier_table(used, data.categories, name, kind)
    present = cells.groupby("tier", observed=False)["rows"].sum().to_numpy()
    emptied = [str(t) for t, n, rows in zip(table["tier"], table["weight_sum"], present) if n == 0 and rows > 0]
    for label in emptied:
        warn(EmptyTierWarning, f"Tier {label} has no customers with a recorded {said!r}; it is listed with "
                               f"n = 0 and left out of the {said!r} tests.")
    full = table[table["weight_sum"] > 0]
    top, bottom = full.iloc[-1], full.iloc[0]
    seen = used.loc[used["w"] > 0, "y"].unique()
    chi2 = association(table, used, kind)
    if len(seen) < 2:
        warn(ConstantOutcomeWarning,
             f"Every customer with a recorded {said!r} had the same outcome ({'yes' if seen[0] == 1 else 'no'}), "
             "so there is no association, trend or odds ratio to estimate.")
        trend: dict[str, Any] = {"z": None, "p": None}
        fit = LogitFit(None, None, None, False)
    else:
        trend = trend_test(table, used, kind)
        fit = odds_ratio(used, kind)
        if fit.separation:
            warn(SeparationWarning,
                 f"The rating separates {said!r} (quasi-)perfectly: on one side of a rating every customer had the "
                 "same outcome, so the odds ratio per point has no finite estimate and is not reported.")
    if chi2["small_expected"]:
        tail = (f"the Monte Carlo permutation p-value ({fmt.p_value(chi2['mc_p'])}) is used instead of the "
                "chi-square approximation" if chi2["mc_p"] is not None else
                "the approximate p-value may be inaccurate" + (
                    " (no permutation p-value: the frequency weights are not whole numbers)" if kind == "frequency"
                    else " (the Rao-Scott F test is a large-sample approximation)"))
        warn(SmallExpectedWarning, f"Some expected counts of the tier by {said!r} table are below 5: {tail}.")
    n_used = int(used["rows"].sum())
    figures = {
        "n_used": n_used, "n_dropped": data.rows - n_used,
        "tiers": _tier_rows(table, kind),
        "top_vs_bottom": {"top": _none(top["rate"]), "bottom": _none(bottom["rate"]),
                          "ratio": top["rate"] / bottom["rate"] if bottom["rate"] > 0 else None,
                          "difference": top["rate"] - bottom["rate"]},
        "chi2": chi2, "trend": trend, "logit": fit.to_dict(),
    }
    return figures, table.drop(columns="weight_sum")


def analyze(data: pd.DataFrame | LoyaltyCells, study: LoyaltyStudy) -> LoyaltyResult:
    """Compute DESIGN 5.1 for every outcome of ``study``.

    ``data`` is a frame from :func:`~.load.read` (collapsed to cells first by
    :func:`~.cells.aggregate`) or the cells themselves (:func:`~.cells.from_counts`,
    :func:`~.load.read_cells`): the figures are the same.
    """
    kind = study.weight.kind if study.weight else None
    if isinstance(data, pd.DataFrame):
        data = aggregate(data, study.outcomes, weighted=kind is not None)
    outcomes: dict[str, Any] = {}
    rate_tables, test_rows = [], []
    with collecting_warnings() as sentences:
        warn_empty_tiers(data.tiers_present())
        for name in study.outcomes:
            figures, table = analyze_outcome(data, name, kind, study.labels.get(name))
            outcomes[name] = figures
            rate_tables.append(table)
            chi2, trend, logit = figures["chi2"], figures["trend"], figures["logit"]
            test_rows.append({"outcome": name, "n_used": figures["n_used"], "n_dropped": figures["n_dropped"],
                              "statistic": chi2["statistic"], "dof": chi2["dof"], "dof2": chi2.get("dof2"),
                              "p": chi2["p"], "small_expected": chi2["small_expected"], "mc_p": chi2["mc_p"],
                              "trend_z": trend["z"], "trend_p": trend["p"], "odds_ratio": logit["odds_ratio"],
                              "or_ci_low": logit["ci_low"], "or_ci_high": logit["ci_high"],
                              "separation": logit["separation"]})
    results = {"n": data.rated(), "weight": kind, "outcomes": outcomes}
    log.info("loyalty: analysed %d rows (%d cells), %d outcomes", data.rows, len(data.counts), len(study.outcomes))
    rates = pd.concat(rate_tables, ignore_index=True)
    rates["tier"] = pd.Categorical(rates["tier"].astype(str), categories=rate_tables[0]["tier"].cat.categories,
                                   ordered=True)
    tests = pd.DataFrame(test_rows)
    if kind != "sampling":
        tests = tests.drop(columns="dof2")
    return LoyaltyResult(results, rates, tests, sentences)
