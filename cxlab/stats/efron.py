"""Efron's partial likelihood of a Cox model on aggregated risk sets, its Newton fit and the PH score test.

The partial likelihood depends on the rows only through, at each distinct
time t, the rows at risk and the events per covariate pattern
(:class:`cxlab.stats.counts.Cells`). With D_t events at t,
R_t = sum over cells at risk of n exp(x b) and E_t = sum over cells at t of d exp(x b),
Efron's log partial likelihood is

    sum over events of x b  -  sum_t sum_{k=0}^{D_t-1} log(R_t - (k / D_t) E_t),

maximised here by Newton-Raphson (step halving) to a step below 1e-11 on the
standardised scale; standard errors come from the inverse Hessian. The figures
equal lifelines' ``CoxPHFitter`` on the replicated rows (also its ridge
penalty, ``penalizer * n / 2 * sum (b sd)^2``) and statsmodels'
``PHReg(ties="efron")``.

Why this is cxlab's code and not lifelines': lifelines' ``CoxPHFitter``
accepts case weights, but its Efron step counts tied *rows*, not weights
(``_get_efron_values_single`` adds 1 to ``tied_death_counts`` per event row and
uses the weights only through ``weighted_average = weight_count /
tied_death_counts``; ``_get_efron_values_batch`` takes ``E[slice].sum()`` of the
0/1 events): on cells with count weights its sum runs over D cells, k / D
cells, instead of over the D_t events, so it is not the replicated rows' Efron
fit (3,000 rows in 645 cells: coefficient -0.233015 against the rows'
-0.233725; this module: -0.233725). Fitting lifelines on the rows instead
would give up the counts' speed at 10^7 rows.

The PH test (:func:`ph_test`) is R survival >= 3.0's ``cox.zph`` score test (rank
transform, full information matrix), from the same likelihood's information blocks.
The models the studies fit (:func:`cxlab.stats.cox.cox_fit`, the rating model) are
:mod:`cxlab.stats.cox`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from .counts import Cells

# |coefficient x standard deviation of the covariate| above this is a diverging fit (hazard ratio per SD > e^10)
DIVERGENCE = 10.0
CHUNK = 1 << 16            # Efron sums over at most about this many events at a time (memory, not the figures)
TOLERANCE = 1e-11          # Newton step (standardised scale) at which the fit has converged
MAX_STEPS = 100


@dataclass
class RiskSets:
    """Cells (sorted by time) with their model matrix, grouped by distinct time."""

    X: np.ndarray           # cells x terms, centred
    n: np.ndarray           # rows per cell
    d: np.ndarray           # events per cell
    starts: np.ndarray      # first cell of each distinct time
    events: np.ndarray      # events per distinct time
    sd: np.ndarray          # standard deviation of each term over rows (ddof 1)

    @classmethod
    def build(cls, cells: Cells, X: np.ndarray | pd.DataFrame) -> "RiskSets":
        if isinstance(X, pd.DataFrame):   # column by column into the cells' order: no whole copy of X first
            x = np.empty((len(cells), X.shape[1]), order="F")           # a term's column contiguous
            for j in range(X.shape[1]):
                x[:, j] = X.iloc[:, j].to_numpy()[cells.pattern]                # cast as it is stored
        else:
            x = np.asarray(X, float)
            x = x.reshape(len(x), -1)[cells.pattern]
        total = cells.n.sum()
        x -= (cells.n @ x) / total                   # centred in place (10^7 rows on the row-level path)
        # column by column: x ** 2 whole would be one more copy of the matrix (10^7 rows on the row-level path)
        sd = (np.sqrt(np.array([cells.n @ (x[:, j] * x[:, j]) for j in range(x.shape[1])]) / (total - 1))
              if total > 1 else np.zeros(x.shape[1]))
        t = cells.time                               # sorted (Cells): a distinct time starts where it changes
        starts = np.flatnonzero(np.concatenate([[True], t[1:] != t[:-1]])) if len(t) else np.zeros(0, np.int64)
        events = np.add.reduceat(cells.d, starts) if len(cells) else np.zeros(0)
        return cls(x, cells.n, cells.d, starts, events, sd)

    def __post_init__(self) -> None:
        # Efron's k = 0..D_t - 1 at each event time (f = k / D_t) run over as many entries as events: the event
        # times are taken in chunks of about CHUNK entries, so that memory is a chunk's, not the events'
        counts = np.round(self.events[self.events > 0]).astype(np.int64)
        ends = np.cumsum(counts)
        cuts = np.searchsorted(ends, np.arange(CHUNK, int(ends[-1]) if len(ends) else 0, CHUNK), side="left") + 1
        bounds = np.unique(np.concatenate([[0], cuts, [len(counts)]]))
        self.chunks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
        self.counts = counts
        self.unit = bool(np.all(self.n == 1))        # rows as cells: n x w is w


def _efron_sums(rs: RiskSets, R0: np.ndarray, E0: np.ndarray, second: bool) -> dict[str, np.ndarray]:
    """Per event time t (D_t events, f_k = k / D_t, k = 0..D_t - 1, den_k = R0_t - f_k E0_t): the sum of
    log den_k (``log``), of 1 / den_k (``A0``) and f_k / den_k (``A1``) and, with ``second``, of 1 / den_k^2,
    f_k / den_k^2 and f_k^2 / den_k^2 (``B0``, ``B1``, ``B2``), chunk by chunk of :attr:`RiskSets.chunks`."""
    names = ["log", "A0", "A1", *(["B0", "B1", "B2"] if second else [])]
    out = {name: np.empty(len(R0)) for name in names}
    D = rs.events[rs.events > 0]
    for lo, hi in rs.chunks:
        counts = rs.counts[lo:hi]
        gi = np.repeat(np.arange(hi - lo), counts)
        at = np.cumsum(counts) - counts
        f = (np.arange(len(gi)) - np.repeat(at, counts)) / D[lo:hi][gi]
        den = R0[lo:hi][gi] - f * E0[lo:hi][gi]
        out["log"][lo:hi] = np.add.reduceat(np.log(den), at)
        inv = np.reciprocal(den, out=den)
        fin = f * inv
        out["A0"][lo:hi] = np.add.reduceat(inv, at)
        out["A1"][lo:hi] = np.add.reduceat(fin, at)
        if second:
            out["B0"][lo:hi] = np.add.reduceat(inv * inv, at)
            out["B1"][lo:hi] = np.add.reduceat(fin * inv, at)
            out["B2"][lo:hi] = np.add.reduceat(fin * fin, at)
    return out


def _revcumsum(a: np.ndarray) -> np.ndarray:
    return np.cumsum(a[::-1], axis=0)[::-1]


def _efron(rs: RiskSets, beta: np.ndarray, second: bool = True,
           time_weights: Sequence[np.ndarray] = ()) -> dict[str, Any]:
    """Efron log partial likelihood, gradient and Hessian at ``beta``.

    With ``time_weights`` (arrays with one weight per distinct event time), ``information`` lists the
    information matrix summed over event times with each time's term multiplied by its weight (the blocks of
    the PH score test, :func:`ph_test`), and ``observed`` is the sum of the events' x per event time.
    """
    eta = rs.X @ beta
    top = float(eta.max())
    events_eta = float(rs.d @ eta)
    w = np.exp(np.subtract(eta, top, out=eta), out=eta)     # in eta's memory (10^7 rows as cells: 80 MB each)
    nw, dw = (w if rs.unit else rs.n * w), rs.d * w
    p = rs.X.shape[1]
    scratch = np.empty(len(w))

    def by_time(weight: np.ndarray, *terms: int) -> np.ndarray:
        """Sum per distinct time of ``weight`` times the ``terms``' columns (products in one scratch array)."""
        values = weight
        for j in terms:
            values = np.multiply(values, rs.X[:, j], out=scratch)
        return np.add.reduceat(values, rs.starts)

    R0 = _revcumsum(by_time(nw))
    R1 = _revcumsum(np.column_stack([by_time(nw, j) for j in range(p)]))
    E0 = by_time(dw)
    E1 = np.column_stack([by_time(dw, j) for j in range(p)])
    has = rs.events > 0
    D = rs.events[has]
    R0, R1, E0, E1 = R0[has], R1[has], E0[has], E1[has]
    sums = _efron_sums(rs, R0, E0, second or bool(time_weights))
    A0, A1 = sums["A0"], sums["A1"]
    ll = float(events_eta - sums["log"].sum() - top * D.sum())
    expected = R1 * A0[:, None] - E1 * A1[:, None]               # sum over k of the Efron risk-set means
    grad = rs.d @ rs.X - expected.sum(0)
    out = {"loglik": ll, "gradient": grad, "expected": expected, "has": has}
    if time_weights:
        out["observed"] = np.column_stack([by_time(rs.d, j) for j in range(p)])[has]
    if second or time_weights:
        B0, B1, B2 = sums["B0"], sums["B1"], sums["B2"]
        weights = [np.ones(len(D))] + [np.asarray(t, float) for t in time_weights]
        infos = [np.empty((p, p)) for _ in weights]
        for j in range(p):
            for k in range(j, p):
                r2 = _revcumsum(by_time(nw, j, k))[has]
                e2 = by_time(dw, j, k)[has]
                for info, tw in zip(infos, weights):
                    info[j, k] = info[k, j] = r2 @ (A0 * tw) - e2 @ (A1 * tw)
        for info, tw in zip(infos, weights):
            info -= (np.einsum("gj,gk,g->jk", R1, R1, B0 * tw) - np.einsum("gj,gk,g->jk", R1, E1, B1 * tw)
                     - np.einsum("gj,gk,g->jk", E1, R1, B1 * tw) + np.einsum("gj,gk,g->jk", E1, E1, B2 * tw))
        out["hessian"] = -infos[0]
        out["information"] = infos[1:]
    return out


def _penalised(rs: RiskSets, beta: np.ndarray, ridge: np.ndarray) -> dict[str, Any]:
    out = _efron(rs, beta)
    out["loglik"] -= 0.5 * float(ridge @ beta ** 2)
    out["gradient"] = out["gradient"] - ridge * beta
    out["hessian"] = out["hessian"] - np.diag(ridge)
    return out


@dataclass
class Fit:
    """A converged (or not) Newton-Raphson fit."""

    beta: np.ndarray
    variance: np.ndarray
    converged: bool
    state: dict[str, Any]


def newton(rs: RiskSets, penalizer: float = 0.0) -> Fit | None:
    """Maximise Efron's partial likelihood (ridge ``penalizer * rows / 2 * sum (b sd)^2``, lifelines' form).

    Returns None when the Hessian cannot be inverted at the start; ``converged`` is false when the fit
    stops without converging or a coefficient diverges (|b sd| > 10).
    """
    p = rs.X.shape[1]
    ridge = penalizer * rs.n.sum() * rs.sd ** 2
    beta = np.zeros(p)
    state = _penalised(rs, beta, ridge)
    scale = np.where(rs.sd > 0, rs.sd, 1.0)
    converged = False
    for _ in range(MAX_STEPS):
        try:
            delta = np.linalg.solve(-state["hessian"], state["gradient"])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(delta)):
            break
        if np.linalg.norm(delta * scale) < TOLERANCE:
            converged = True
            break
        step = 1.0
        while step > 1e-10:
            trial = beta + step * delta
            new = _penalised(rs, trial, ridge)
            if np.isfinite(new["loglik"]) and new["loglik"] >= state["loglik"] - 1e-12 * abs(state["loglik"]):
                break
            step /= 2
        else:
            break
        beta, state = trial, new
        if np.any(np.abs(beta * rs.sd) > 2 * DIVERGENCE):
            break
    try:
        variance = np.linalg.inv(-state["hessian"])
    except np.linalg.LinAlgError:
        return None
    finite = np.all(np.isfinite(beta)) and np.all(np.isfinite(variance)) and np.all(np.diag(variance) > 0)
    diverged = not finite or np.any(np.abs(beta * rs.sd) > DIVERGENCE)
    return Fit(beta, variance, converged and not diverged, state)


def rank_time(rs: RiskSets) -> np.ndarray:
    """R's ``cox.zph(transform = "rank")`` time at each distinct event time: the mid-rank of the time among
    every observed time (events and censored, ``rank(times)``, ties averaged), centred on the events' mean."""
    rows = np.add.reduceat(rs.n, rs.starts)
    ranks = np.cumsum(rows) - rows + (rows + 1) / 2
    has = rs.events > 0
    D = rs.events[has]
    return ranks[has] - ranks[has] @ D / D.sum()


@dataclass
class PHTest:
    """The score test of proportional hazards (:func:`ph_test`).

    ``table`` has one row per term: ``test_statistic``, ``p`` (chi-square on 1 df) and ``trend``, the one-step
    estimate of the change of the term's coefficient per unit of the centred rank time (its sign says whether
    the log hazard ratio rises or falls over the tenure). ``statistic``, ``dof`` and ``p`` are the global test.
    """

    table: pd.DataFrame
    statistic: float
    dof: int
    p: float


def ph_test(rs: RiskSets, fit: Fit) -> PHTest:
    """Score test of proportional hazards, per term and global, as R survival >= 3.0 ``cox.zph(fit,
    transform = "rank", terms = FALSE)``.

    The model b x is extended to (b + g) x with g = gamma g(t), g(t) the centred rank of the time
    (:func:`rank_time`); the test is the score test of gamma = 0 at the fitted b: U = sum over event times of
    g(t) (events' x - their Efron expected x), and the full information matrix of (b, gamma), whose blocks
    are the Efron information summed over event times with weights 1, g(t) and g(t)^2. The statistic is
    (0, U)' I^-1 (0, U), chi-square on as many df as terms (global), or the same on the b block and one
    gamma (per term). Rows that stand for counts give the replicated rows' figures.
    """
    g = rank_time(rs)
    state = _efron(rs, fit.beta, second=False, time_weights=(g, g * g))
    p = rs.X.shape[1]
    i0 = -state["hessian"]
    i1, i2 = state["information"]
    imat = np.block([[i0, i1], [i1, i2]])
    u = np.concatenate([np.zeros(p), g @ (state["observed"] - state["expected"])])
    stats, trends = np.empty(p), np.empty(p)
    for j in range(p):
        keep = np.append(np.arange(p), p + j)
        step = np.linalg.solve(imat[np.ix_(keep, keep)], u[keep])
        stats[j], trends[j] = step @ u[keep], step[-1]
    total = float(np.linalg.solve(imat, u) @ u)
    table = pd.DataFrame({"test_statistic": stats, "p": sps.chi2.sf(stats, 1), "trend": trends})
    return PHTest(table, total, p, float(sps.chi2.sf(total, p)))
