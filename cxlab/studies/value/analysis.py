"""Value figures: BG/NBD and Gamma-Gamma per experience group, CLV by group with bootstrap intervals,
the difference best minus worst, value at stake, the ROI scenario and the holdout check."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ... import fmt
from ...errors import (DataError, ModelWarning, ResampleWarning, UnreliableBootstrapWarning, collecting_warnings,
                       warn)
from ...stats import clv, clv_horizon
from .load import UNIT_DAYS, ValueData
from .spec import ValueStudy

log = logging.getLogger(__name__)

FAILED_LIMIT = 0.01
MAX_WORKERS = 4
"""At most this many bootstrap processes by default."""
PARALLEL_FROM = 2_000_000
"""Resamples x customers from which the bootstrap runs on several processes by default (below it a process start
costs more than it saves)."""
HOLDOUT_CAP = 7
"""Calibration frequencies of 7 or more share one row of the holdout table."""


@dataclass
class ValueResult:
    """Figures of one value study: ``results`` (what ``results.json`` records), per-customer figures
    (``customers``: p_alive, expected transactions, expected spend, clv), the bootstrap draws and the caveats."""

    results: dict[str, Any]
    customers: pd.DataFrame
    groups: pd.DataFrame
    holdout: pd.DataFrame | None
    boot: np.ndarray
    fits: dict[str, tuple[clv.Fit, clv.Fit]]
    warnings: list[str] = field(default_factory=list)


def _require_repeaters(name: str, x: np.ndarray) -> None:
    if not np.any(x > 0):
        raise DataError(f"every customer of group {name!r} made one purchase only: the BG/NBD model of repeat "
                        "purchasing cannot be fitted without repeat purchases")


def _fit_group(name: str, h: pd.DataFrame) -> tuple[clv.Fit, clv.Fit]:
    """Both models fitted on one group's histories (columns x, tx, T, m), with standard errors."""
    x, tx, T, m = (h[c].to_numpy(float) for c in ("x", "tx", "T", "m"))
    _require_repeaters(name, x)
    rep = x > 0
    return clv.fit_bgnbd(x, tx, T), clv.fit_gamma_gamma(x[rep], m[rep])


def _customer_values(bg: clv.Fit, gg: clv.Fit, h: pd.DataFrame, study: ValueStudy) -> pd.DataFrame:
    x, tx, T, m = (h[c].to_numpy(float) for c in ("x", "tx", "T", "m"))
    horizon_weeks = study.horizon * clv_horizon.MONTH_DAYS / UNIT_DAYS
    return pd.DataFrame({
        "p_alive": clv.p_alive(bg.params, x, tx, T),
        "expected_transactions": clv.expected_transactions(bg.params, horizon_weeks, x, tx, T),
        "expected_spend": clv.expected_spend(gg.params, x, m),
        "clv": clv_horizon.clv(bg.params, gg.params, x, tx, T, m, study.horizon, study.discount_rate, study.margin,
                       UNIT_DAYS),
    }, index=h.index)


@dataclass(frozen=True)
class _Group:
    """One experience group's histories as arrays, its distinct (x, T) pairs and its full-data fits: what a
    bootstrap resample refits."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    m: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]
    fit: tuple[clv.Fit, clv.Fit]

    @classmethod
    def of(cls, h: pd.DataFrame, fit: tuple[clv.Fit, clv.Fit]) -> "_Group":
        x, tx, T, m = (h[c].to_numpy(float) for c in ("x", "tx", "T", "m"))
        return cls(x, tx, T, m, clv_horizon.purchase_pairs(x, T, UNIT_DAYS), fit)


def _boot_mean(g: _Group, counts: np.ndarray, study: ValueStudy) -> float:
    """Mean CLV of one resample of a group (``counts``: times each customer was drawn), both models refitted
    from the full-data fits (NaN when a refit fails)."""
    drawn = counts > 0
    w = counts[drawn].astype(float)
    x, tx, T, m = g.x[drawn], g.tx[drawn], g.T[drawn], g.m[drawn]
    rep = x > 0
    if not rep.any():
        return np.nan
    bg = clv.fit_bgnbd(x, tx, T, w, start=g.fit[0], with_se=False)
    gg = clv.fit_gamma_gamma(x[rep], m[rep], w[rep], start=g.fit[1], with_se=False)
    if not (bg.converged and gg.converged) or gg["q"] <= 1:
        return np.nan
    return clv_horizon.mean_clv(bg.params, gg.params, g.x, g.tx, g.T, g.m, counts, g.pairs, study.horizon,
                        study.discount_rate, study.margin, UNIT_DAYS)


def _resample(groups: list[_Group], seed: np.random.SeedSequence, study: ValueStudy) -> np.ndarray:
    """One bootstrap resample: customers drawn with replacement within each group (its own seed, so a draw does
    not depend on which process computes it), the mean CLV of each group refitted."""
    rng = np.random.default_rng(seed)
    out = np.full(len(groups), np.nan)
    for j, g in enumerate(groups):
        n = len(g.x)
        counts = np.bincount(rng.integers(0, n, n), minlength=n)     # multinomial(n, 1/n each), drawn fast
        try:
            out[j] = _boot_mean(g, counts, study)
        except (DataError, FloatingPointError, ValueError, np.linalg.LinAlgError):
            out[j] = np.nan
    return out


_SHARED: dict[str, Any] = {}
"""What forked bootstrap workers inherit (the groups and the study), set just before the pool starts."""


def _worker_start(parent: int) -> None:
    from ...batch.kernels import die_with_parent
    from ...batch.lock import close_inherited
    close_inherited()
    die_with_parent(parent)


def _resample_chunk(seeds: list[np.random.SeedSequence]) -> np.ndarray:
    return np.array([_resample(_SHARED["groups"], s, _SHARED["study"]) for s in seeds])


def bootstrap_workers(study: ValueStudy, customers: int) -> int:
    """Processes the bootstrap runs on: ``bootstrap.workers``, or by default the cores this process may use (at
    most :data:`MAX_WORKERS`) once the work is worth a process start (resamples x customers of at least
    :data:`PARALLEL_FROM`), else 1."""
    if study.bootstrap.workers is not None:
        return study.bootstrap.workers
    if study.bootstrap.resamples * customers < PARALLEL_FROM:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def bootstrap(groups: list[_Group], study: ValueStudy, workers: int = 1) -> np.ndarray:
    """Mean CLV of each group in each of ``bootstrap.resamples`` customer resamples (resamples x groups).

    Resample ``b`` draws from its own seed (``SeedSequence(bootstrap.seed).spawn``), so the draws, and every
    figure, are the same on any number of ``workers`` (forked processes that die with this one).
    """
    B = study.bootstrap.resamples
    seeds = np.random.SeedSequence(study.bootstrap.seed).spawn(B)
    if B == 0:
        return np.full((0, len(groups)), np.nan)
    if workers <= 1 or B < 2:
        return np.array([_resample(groups, s, study) for s in seeds])
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    chunks = [list(c) for c in np.array_split(np.array(seeds, dtype=object), min(B, 4 * workers)) if len(c)]
    _SHARED.update(groups=groups, study=study)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                 initializer=_worker_start, initargs=(os.getpid(),)) as pool:
            return np.concatenate(list(pool.map(_resample_chunk, chunks)))
    finally:
        _SHARED.clear()


def _interval(draws: np.ndarray) -> tuple[float | None, float | None]:
    ok = draws[np.isfinite(draws)]
    if len(ok) < 2:
        return None, None
    lo, hi = np.percentile(ok, [2.5, 97.5])
    return float(lo), float(hi)


def _boot_p(draws: np.ndarray) -> float | None:
    """Two-sided bootstrap p-value of a difference: twice the smaller share of draws on either side of 0."""
    ok = draws[np.isfinite(draws)]
    if len(ok) < 2:
        return None
    below, above = np.sum(ok <= 0), np.sum(ok >= 0)
    return float(min(1.0, 2 * (min(below, above) + 1) / (len(ok) + 1)))


def holdout_table(data: ValueData, study: ValueStudy, fits: dict[str, tuple[clv.Fit, clv.Fit]] | None = None
                  ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Predicted vs actual repeat purchases in the holdout period by calibration frequency (the BG/NBD refitted
    on the calibration period, per group; from the group's full-data fit in ``fits`` when given)."""
    h = data.customers[data.customers["cal_x"].notna()]
    predicted = pd.Series(np.nan, index=h.index)
    for name in data.groups:
        g = h[h["group"] == name]
        if g.empty:
            continue
        x, tx, T = (g[f"cal_{c}"].to_numpy(float) for c in ("x", "tx", "T"))
        _require_repeaters(name, x)
        bg = clv.fit_bgnbd(x, tx, T, start=fits[name][0] if fits and name in fits else None, with_se=False)
        predicted[g.index] = clv.expected_transactions(bg.params, data.holdout_weeks, x, tx, T)
    freq = np.minimum(h["cal_x"].to_numpy(int), HOLDOUT_CAP)
    table = (pd.DataFrame({"frequency": freq, "actual": h["holdout_x"].to_numpy(float), "predicted": predicted})
             .groupby("frequency").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                       predicted=("predicted", "mean")).reset_index())
    table["frequency"] = [f"{f}+" if f == HOLDOUT_CAP else str(f) for f in table["frequency"]]
    summary = {"from": data.holdout_from.date().isoformat(), "weeks": data.holdout_weeks, "customers": len(h),
               "actual_total": float(h["holdout_x"].sum()), "predicted_total": float(predicted.sum()),
               "rows": table.to_dict("records")}
    return table, summary


def analyze(data: ValueData, study: ValueStudy) -> ValueResult:
    """CLV by experience group with customer-level bootstrap intervals, best minus worst, value at stake,
    the ROI scenario and (with ``holdout_from``) the holdout check."""
    with collecting_warnings() as sentences:
        hist = data.customers
        if not (hist["x"] > 0).any():
            raise DataError("every customer made one purchase only: the BG/NBD model of repeat purchasing cannot be "
                            "fitted without repeat purchases", path=data.sources.get("transactions"))
        present = [g for g in data.groups if (hist["group"] == g).any()]
        fits, rows, parts, sets = {}, [], [], {}
        for name in present:
            h = hist[hist["group"] == name]
            sets[name] = h
            bg, gg = _fit_group(name, h)
            fits[name] = (bg, gg)
            if not bg.converged or not gg.converged:
                warn(ModelWarning, f"The model fit of group {name} did not converge ({bg.message or gg.message}); "
                                   "its figures are uncertain beyond their intervals.")
            if gg["q"] <= 1:
                warn(ModelWarning, f"In group {name} the Gamma-Gamma spend model has q = {fmt.number(gg['q'])} "
                                   "(at most 1): its expected spend is infinite, so the group's value is not reported.")
            values = _customer_values(bg, gg, h, study)
            parts.append(values)
            r, p, n_rep = clv.spend_frequency_correlation(h["x"].to_numpy(float), h["m"].to_numpy(float))
            if p is not None and p < 0.05:
                warn(ModelWarning, f"In group {name} spend goes with purchase frequency among repeat customers "
                                   f"(correlation {fmt.number(r)}, {fmt.p_value(p)}, n = {n_rep:,}): the Gamma-Gamma "
                                   "model assumes they are independent, so its expected spend is biased here.")
            rows.append({"group": name, "customers": len(h), "repeaters": int((h["x"] > 0).sum()),
                         "purchases": int(h["x"].sum() + len(h)), "mean_clv": float(values["clv"].mean()),
                         "total_clv": float(values["clv"].sum()), "mean_p_alive": float(values["p_alive"].mean()),
                         "mean_expected_transactions": float(values["expected_transactions"].mean()),
                         "mean_expected_spend": float(values["expected_spend"].mean()),
                         "bgnbd": {**bg.params, **{f"{k}_se": v for k, v in bg.se.items()}, "loglik": bg.loglik,
                                   "converged": bg.converged},
                         "gamma_gamma": {**gg.params, **{f"{k}_se": v for k, v in gg.se.items()},
                                         "loglik": gg.loglik, "converged": gg.converged},
                         "independence": {"correlation": r, "p": p, "n": n_rep,
                                          "violated": bool(p is not None and p < 0.05)}})
        customers = pd.concat(parts).reindex(hist.index)
        customers.insert(0, "group", hist["group"])

        B = study.bootstrap.resamples
        boot = bootstrap([_Group.of(sets[name], fits[name]) for name in present], study,
                         bootstrap_workers(study, len(hist)))
        failed = int(np.sum(~np.all(np.isfinite(boot), axis=1)))
        if failed:
            reliable = failed <= FAILED_LIMIT * B
            warn(ResampleWarning if reliable else UnreliableBootstrapWarning,
                 f"{failed:,} of {B:,} bootstrap resamples could not be refitted (a resampled group without repeat "
                 "purchases, or a fit that did not converge) and were left out of the intervals.")
        for j, row in enumerate(rows):
            row["ci_low"], row["ci_high"] = _interval(boot[:, j])
        groups = pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, dict)} for r in rows])

        best, worst = present[-1], present[0]
        n = {r["group"]: r["customers"] for r in rows}
        means = np.array([r["mean_clv"] for r in rows])
        diff_draws = boot[:, -1] - boot[:, 0]
        diff = {"best": best, "worst": worst, "difference": float(means[-1] - means[0])}
        diff["ci_low"], diff["ci_high"] = _interval(diff_draws)
        diff["p"] = _boot_p(diff_draws)
        counts = np.array([n[g] for g in present], dtype=float)
        stake_draws = (boot[:, [-1]] - boot[:, :-1]) @ counts[:-1] if len(present) > 1 else np.zeros(B)
        stake = {"value": float(np.sum((means[-1] - means[:-1]) * counts[:-1])), "customers": int(counts[:-1].sum())}
        stake["ci_low"], stake["ci_high"] = _interval(stake_draws)
        moved = study.roi_share * n[worst]
        roi = {"share": study.roi_share, "customers": moved, "value": float(moved * (means[-1] - means[0])),
               "per_customer": diff["difference"], "experiment": study.experiment}
        roi["ci_low"], roi["ci_high"] = _interval(moved * diff_draws)

        holdout, hsum = (holdout_table(data, study, fits) if data.holdout_from is not None else (None, None))

    results = {
        "n_customers": len(hist), "n_transactions": data.transactions, "n_purchases": data.purchases,
        "n_repeaters": int((hist["x"] > 0).sum()), "dropped_nonpositive": data.dropped_nonpositive,
        "observation_end": data.observation_end.date().isoformat(), "time_unit": "weeks",
        "horizon": study.horizon, "discount_rate": study.discount_rate, "margin": study.margin,
        "value_unit": study.value_unit, "experiment": study.experiment,
        "groups": [{k: v for k, v in r.items()} for r in rows], "best_group": best, "worst_group": worst,
        "difference": diff, "value_at_stake": stake, "roi": roi, "holdout": hsum,
        "total_clv": float(customers["clv"].sum()),
        "independence_violated": any(r["independence"]["violated"] for r in rows),
        "bootstrap": {"resamples": B, "seed": study.bootstrap.seed, "failed": failed},
    }
    return ValueResult(results, customers, groups, holdout, boot, fits, sentences)
