"""Key-driver figures (DESIGN 5.5): relative weights, LMG, bootstrap intervals, VIF, quadrants."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ... import fmt
from ...errors import (CollinearityWarning, DataError, ResampleWarning, UnreliableBootstrapWarning,
                       collecting_warnings, warn)
from ...stats import relimp, relimp_bootstrap
from .load import DriversData
from .spec import DriversStudy

log = logging.getLogger(__name__)

VIF_LIMIT = 10.0
QUADRANTS = ("fix first", "keep up", "low priority", "possible overkill")
UNCLEAR = "cannot tell yet"
PRIORITIES = QUADRANTS + (UNCLEAR,)
FAILED_LIMIT = 0.01
"""Above this fraction of failed bootstrap resamples the intervals are called unreliable."""
EVENTS_PER_DRIVER = 10
"""The usual minimum of responses with the less frequent yes/no outcome per driver of a logistic model."""
FAILURE_WORDS = {
    "outcome_constant": "the outcome did not vary in the resample (for a yes/no outcome: only one of its values "
                        "was drawn)",
    "driver_constant": "a driver did not vary in the resample",
    "drivers_collinear": "the drivers were perfectly collinear in the resample",
    "separation": "the drivers separate the yes/no outcome in the resample, so a logistic fit has no finite "
                  "estimate",
    "not_converged": "the logistic fit did not converge",
}


@dataclass
class DriversResult:
    """Figures of one key-driver analysis.

    Attributes
    ----------
    results : dict
        What ``results.json`` records (DESIGN 5.5): ``n_used``, ``n_dropped``,
        ``r2``, ``condition_number``, ``weights`` (plus ``outcome_type``,
        ``r2_ci_low``, ``r2_ci_high``, ``resamples``, ``resamples_failed``,
        ``bootstrap: {resamples, failed, reasons, reliable}`` and, per driver,
        ``weights[].priority``).
    table : DataFrame
        One row per driver in the given order: the ``weights`` entries.
    boot_shares, boot_ranks : (resamples, p) arrays
        The bootstrap shares and ranks (NaN rows: resamples that failed).
    warnings : list of str
        Statistical caveats as sentences.
    """

    results: dict[str, Any]
    table: pd.DataFrame
    boot_shares: np.ndarray
    boot_ranks: np.ndarray
    warnings: list[str] = field(default_factory=list)


def quadrant(share: float, performance: float, mean_share: float, mean_performance: float) -> str:
    """The importance-performance quadrant: important when share >= the mean share, high when performance >= mean."""
    important, high = share >= mean_share, performance >= mean_performance
    if important:
        return "keep up" if high else "fix first"
    return "possible overkill" if high else "low priority"


def priority(label: str, ci_low: float | None, ci_high: float | None, cut: float, reliable: bool = True) -> str:
    """The label the report shows: the quadrant when the share interval clears the cut-off, else "cannot tell yet".

    An important driver (fix first, keep up) keeps its label when its share
    interval lies wholly above the cut-off (the mean share), a less important
    one (low priority, possible overkill) when it lies wholly below; an
    interval that includes the cut-off, an undefined interval, or an
    unreliable bootstrap gives "cannot tell yet".
    """
    if not reliable or ci_low is None or ci_high is None or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return UNCLEAR
    clears = ci_low > cut if label in ("fix first", "keep up") else ci_high < cut
    return label if clears else UNCLEAR


def failure_sentence(failures: dict[str, int], resamples: int, y: np.ndarray, w: np.ndarray, binary: bool,
                     p: int) -> str | None:
    """The caveat on failed bootstrap resamples (None when none failed); above :data:`FAILED_LIMIT`, why unreliable."""
    failed = sum(failures.values())
    if not failed:
        return None
    why = "; ".join(f"{fmt.count(k)} because {FAILURE_WORDS[name]}" for name, k in failures.items() if k)
    head = (f"{fmt.plural(failed, 'bootstrap resample')} of {fmt.count(resamples)} could not be computed ({why}); "
            f"the intervals use the other {fmt.count(resamples - failed)}")
    if failed <= FAILED_LIMIT * resamples:
        return head + "."
    text = (head + ", so they are unreliable: the resamples left out are not a random part of them, and the rest "
            "do not give a 95% interval.")
    n = float(w.sum())
    if binary:
        events = float(min(w @ y, w @ (1 - y)))
        if events / p < EVENTS_PER_DRIVER:
            text += (f" Too few events: the less frequent of the two outcome values has {fmt.count(events)} "
                     f"responses for {fmt.plural(p, 'driver')} ({fmt.number(events / p, 1)} per driver; about "
                     f"{EVENTS_PER_DRIVER} per driver is the usual minimum for a logistic model).")
        elif failures["separation"]:
            text += " The drivers predict the outcome almost perfectly in these data, so resamples separate it."
        text += " More responses, or fewer drivers, would give reliable intervals."
    else:
        text += f" With {fmt.count(n)} responses, resamples often lack variation; more responses would help."
    return text


def point_weights(X: np.ndarray, y: np.ndarray, w: np.ndarray, binary: bool) -> tuple[np.ndarray, float]:
    """Raw relative weights and R^2 on the used rows (Johnson's, or logistic for a binary outcome)."""
    if binary:
        raw, r2 = relimp.logistic_weights(X, y, w[None, :])
        return raw[0], float(r2[0])
    V = np.column_stack([X, y])
    C = relimp.correlations(V - np.average(V, axis=0, weights=w), w[None, :])[0]
    raw = relimp.johnson(C[:-1, :-1], C[:-1, -1])
    return raw, float(raw.sum())


def analyze(data: DriversData, study: DriversStudy) -> DriversResult:
    """Compute DESIGN 5.5 on the rows of :func:`~cxlab.studies.drivers.load.read`."""
    labels = list(data.drivers.columns)
    p = len(labels)
    X = data.drivers.to_numpy(float)
    y = data.outcome.to_numpy(float)
    w = data.weight.to_numpy(float)
    with collecting_warnings() as sentences:
        raw, r2 = point_weights(X, y, w, data.binary)
        if not np.isfinite(raw).all():
            raise DataError(f"the drivers separate the outcome {study.data.columns.get('outcome', 'outcome')!r} "
                            "perfectly (the logistic regression does not converge), so logistic relative weights "
                            "are not defined")
        V = np.column_stack([X, y])
        C = relimp.correlations(V - np.average(V, axis=0, weights=w), w[None, :])[0]
        R = C[:p, :p]
        vifs = relimp.vif(R)
        condition = float(np.linalg.cond(R))
        lmg = None if data.binary else relimp.lmg(R, C[:p, p])
        draws = relimp_bootstrap.bootstrap(X, y, w, data.binary, study.bootstrap.resamples, study.bootstrap.seed)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot_shares = draws.raw / draws.r2[:, None]
        ok = np.isfinite(boot_shares).all(axis=1)
        boot_ranks = np.where(ok[:, None], relimp.ranks(np.nan_to_num(draws.raw)), np.nan)
        ci_low, ci_high = relimp_bootstrap.percentile_interval(boot_shares)
        rank_low, rank_high = relimp_bootstrap.percentile_interval(boot_ranks)
        (r2_low,), (r2_high,) = relimp_bootstrap.percentile_interval(np.where(ok, draws.r2, np.nan)[:, None])
        failed = int((~ok).sum())
        failures = draws.failures()
        failures["not_converged"] += failed - sum(failures.values())   # a share undefined for another reason
        reliable = failed <= FAILED_LIMIT * len(ok)
        sentence = failure_sentence(failures, len(ok), y, w, data.binary, p)
        if sentence:
            warn(ResampleWarning if reliable else UnreliableBootstrapWarning, sentence)
        high_vif = [(study.labels.get(lab, lab), v) for lab, v in zip(labels, vifs) if v > VIF_LIMIT]
        if high_vif:
            warn(CollinearityWarning,
                 f"{_join([lab for lab, _ in high_vif])} {'has a variance inflation factor' if len(high_vif) == 1 else 'have variance inflation factors'} "
                 f"above {VIF_LIMIT:g} ({', '.join(fmt.number(v, 1) for _, v in high_vif)}; condition number "
                 f"{fmt.number(condition, 1)}): they overlap so much with other drivers that their separate weights "
                 "are uncertain; read their shares together.")
    lo, hi = study.drivers_scale
    mean = np.average(X, axis=0, weights=w)
    performance = 100 * (mean - lo) / (hi - lo)
    share = raw / r2
    rank = relimp.ranks(raw)
    quadrants = [quadrant(s, perf, 1 / p, float(performance.mean())) for s, perf in zip(share, performance)]
    table = pd.DataFrame({
        "driver": labels, "column": [data.columns[lab] for lab in labels], "raw": raw, "share": share,
        "ci_low": ci_low, "ci_high": ci_high, "rank": rank, "rank_ci_low": rank_low, "rank_ci_high": rank_high,
        "lmg": lmg if lmg is not None else np.nan, "lmg_share": lmg / r2 if lmg is not None else np.nan,
        "performance": performance, "vif": vifs,
        "quadrant": quadrants,
        "priority": [priority(q, lo_, hi_, 1 / p, reliable) for q, lo_, hi_ in zip(quadrants, ci_low, ci_high)],
    })
    results = {
        "n_used": int(len(y)), "n_dropped": data.n_dropped, "r2": r2,
        "r2_ci_low": float(r2_low), "r2_ci_high": float(r2_high),
        "condition_number": condition, "outcome_type": "binary" if data.binary else "continuous",
        "resamples": study.bootstrap.resamples, "resamples_failed": failed,
        "bootstrap": {"resamples": study.bootstrap.resamples, "failed": failed, "reasons": failures,
                      "reliable": reliable},
        "weights": [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
                    for row in table.to_dict("records")],
    }
    log.info("drivers: %d rows, %d drivers, R^2 %.3f", len(y), p, r2)
    return DriversResult(results, table, boot_shares, boot_ranks, sentences)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
