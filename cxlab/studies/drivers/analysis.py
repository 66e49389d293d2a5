"""Key-driver figures (DESIGN 5.5): relative weights, LMG, bootstrap intervals, VIF, quadrants."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ... import fmt
from ...errors import CollinearityWarning, DataError, ResampleWarning, collecting_warnings, warn
from ...stats import relimp
from .load import DriversData
from .spec import DriversStudy

log = logging.getLogger(__name__)

VIF_LIMIT = 10.0
QUADRANTS = ("fix first", "keep up", "low priority", "possible overkill")


@dataclass
class DriversResult:
    """Figures of one key-driver analysis.

    Attributes
    ----------
    results : dict
        What ``results.json`` records (DESIGN 5.5): ``n_used``, ``n_dropped``,
        ``r2``, ``condition_number``, ``weights`` (plus ``outcome_type``,
        ``r2_ci_low``, ``r2_ci_high``, ``resamples``, ``resamples_failed``).
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
        boot_raw, boot_r2 = relimp.bootstrap(X, y, w, data.binary, study.bootstrap.resamples, study.bootstrap.seed)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot_shares = boot_raw / boot_r2[:, None]
        ok = np.isfinite(boot_shares).all(axis=1)
        boot_ranks = np.where(ok[:, None], relimp.ranks(np.nan_to_num(boot_raw)), np.nan)
        ci_low, ci_high = relimp.percentile_interval(boot_shares)
        rank_low, rank_high = relimp.percentile_interval(boot_ranks)
        (r2_low,), (r2_high,) = relimp.percentile_interval(np.where(ok, boot_r2, np.nan)[:, None])
        failed = int((~ok).sum())
        if failed:
            warn(ResampleWarning, f"{fmt.plural(failed, 'bootstrap resample')} of {fmt.count(len(ok))} could not be "
                 "computed (a driver or the outcome did not vary in it, or the logistic fit did not converge); the "
                 f"intervals use the other {fmt.count(int(ok.sum()))}.")
        high_vif = [(lab, v) for lab, v in zip(labels, vifs) if v > VIF_LIMIT]
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
    table = pd.DataFrame({
        "driver": labels, "column": [data.columns[lab] for lab in labels], "raw": raw, "share": share,
        "ci_low": ci_low, "ci_high": ci_high, "rank": rank, "rank_ci_low": rank_low, "rank_ci_high": rank_high,
        "lmg": lmg if lmg is not None else np.nan, "lmg_share": lmg / r2 if lmg is not None else np.nan,
        "performance": performance, "vif": vifs,
        "quadrant": [quadrant(s, perf, 1 / p, float(performance.mean())) for s, perf in zip(share, performance)],
    })
    results = {
        "n_used": int(len(y)), "n_dropped": data.n_dropped, "r2": r2,
        "r2_ci_low": float(r2_low), "r2_ci_high": float(r2_high),
        "condition_number": condition, "outcome_type": "binary" if data.binary else "continuous",
        "resamples": study.bootstrap.resamples, "resamples_failed": failed,
        "weights": [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
                    for row in table.to_dict("records")],
    }
    log.info("drivers: %d rows, %d drivers, R^2 %.3f", len(y), p, r2)
    return DriversResult(results, table, boot_shares, boot_ranks, sentences)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
