"""CX leaders versus laggards on a company panel (DESIGN 5.3).

:func:`load` reads a long or wide panel (and an optional benchmark series) into
one tidy row per company-period; :func:`analyze` forms the yearly leader and
laggard portfolios and computes the figures of DESIGN 5.3, the sensitivity to
the quantile cut-offs and the counts of company-periods left out.

Definitions (DESIGN 5.3, made exact here):

- A company-period (company, t) is *observed* when it has a cx_score or a value.
  Observed company-periods before the panel's last period are the candidates.
- A candidate is *eligible* when it has a cx_score at t, a value at t and at t+1,
  both positive; its growth is value(t+1) / value(t) - 1. Otherwise it is left
  out for the first reason that applies, in this order: ``missing_cx_score``,
  ``missing_value`` (at t), ``non_positive_value`` (at t), ``gap_in_periods``
  (no value at t+1 but a later value exists, so the growth would span a gap),
  ``missing_next_value`` (no value at t+1 nor later: the series stops),
  ``non_positive_value`` (at t+1), ``missing_sector`` (``within: sector`` only),
  ``too_few_companies`` (its period, or sector-period, has fewer than 4 eligible
  companies and is not split).
- Cut-offs: numpy's linear percentile of the eligible cx_scores of the period
  (or sector-period); leaders have cx_score >= the ``leader_quantile`` cut-off,
  laggards <= the ``laggard_quantile`` cut-off, ties included.
"""
from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import data as d
from . import synth
from .errors import (BenchmarkWarning, DataError, FewCompaniesWarning, TiedCutoffWarning, UndefinedRatioWarning,
                     collecting_warnings, warn)
from .params import DataSpec, LeadersStudy

log = logging.getLogger(__name__)

MIN_COMPANIES = 4          # eligible companies needed to split a period (or sector-period)
FEW_COMPANIES = 10         # below this many eligible companies a period's portfolios are flagged as thin
SENSITIVITY_PAIRS = ((0.9, 0.1), (0.8, 0.2), (0.75, 0.25))
REASONS = ("missing_cx_score", "missing_value", "non_positive_value", "gap_in_periods", "missing_next_value",
           "missing_sector", "too_few_companies")
REASON_WORDS = {
    "missing_cx_score": "no cx_score at t",
    "missing_value": "no value at t",
    "non_positive_value": "a value at t or t+1 that is zero or negative",
    "gap_in_periods": "a gap in periods (no value at t+1, a later one exists)",
    "missing_next_value": "no value at t+1 (the series stops)",
    "missing_sector": "no sector (within-sector split)",
    "too_few_companies": f"fewer than {MIN_COMPANIES} eligible companies in the period (or sector-period)",
}
SUMMARY_KEYS = ("leader_mean", "laggard_mean", "leader_cumulative", "laggard_cumulative", "cumulative_ratio",
                "welch_t", "welch_p", "hedges_g", "diff_ci_low", "diff_ci_high", "benchmark_cumulative")
_PERIOD_RE = re.compile(r"^\s*[+-]?\d+\s*$")


# --------------------------------------------------------------------------------------------- loading

@dataclass
class PanelSummary:
    """What was read: sources, rows, the column mapping, duplicates merged, rows dropped, panel shape."""

    source: str
    rows_read: int
    columns: dict[str, str]
    merged: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    companies: int = 0
    periods: list[int] = field(default_factory=list)
    sectors: int = 0
    benchmark: str | None = None

    def describe(self) -> str:
        """One paragraph for the report."""
        span = f"{self.periods[0]}-{self.periods[-1]}" if self.periods else "no periods"
        text = (f"Read {self.rows_read:,} rows from {self.source}: {self.companies:,} companies, "
                f"{len(self.periods)} periods ({span})"
                + (f", {self.sectors} sectors." if self.sectors else ", no sector column."))
        if self.merged:
            text += f" {self.merged:,} duplicate company-period rows were merged into their company-period by the mean."
        if self.dropped:
            text += " Dropped: " + "; ".join(f"{n:,} rows with {why}" for why, n in self.dropped.items()) + "."
        if self.benchmark:
            text += f" Benchmark: {self.benchmark}."
        return text

    def to_frame(self) -> pd.DataFrame:
        """The column mapping as a tidy table (canonical name, column in the file)."""
        return pd.DataFrame({"canonical": list(self.columns),
                             "column in file": list(self.columns.values())}).set_index("canonical")


@dataclass
class Panel:
    """A tidy panel: one row per company-period (``company``, ``period``, ``sector``, ``cx_score``, ``value``)."""

    frame: pd.DataFrame
    summary: PanelSummary
    benchmark: pd.DataFrame | None = None


def _company_key(series: pd.Series) -> pd.Series:
    out = series.astype("string").str.strip()
    return out.mask(out == "")


def _check_duplicates(frame: pd.DataFrame, keys: list[str], source: str, column: str,
                      aggregate: str | None) -> tuple[pd.DataFrame, int]:
    """DataError naming the first duplicated keys, or (with ``aggregate: mean``) their mean."""
    dup = frame.duplicated(keys, keep=False)
    if not dup.any():
        return frame, 0
    if aggregate is None:
        first = frame[dup]
        pairs = first.drop_duplicates(keys).head(3)
        shown = []
        for _, row in pairs.iterrows():
            same = first
            for k in keys:
                same = same[same[k] == row[k]]
            label = ", ".join(f"{k} {row[k]!r}" if k == "company" else f"{k} {int(row[k])}" for k in keys)
            shown.append(f"{label} (data rows {', '.join(str(r) for r in same['_row'].head(4))})")
        n_keys = int(first.drop_duplicates(keys).shape[0])
        raise DataError(f"{n_keys:,} {'(' + ', '.join(keys) + ')' if len(keys) > 1 else keys[0]} keys appear more "
                        f"than once, e.g. {'; '.join(shown)}; set 'aggregate: mean' in the study to average them",
                        path=source, column=column, row=int(first["_row"].iloc[0]))
    agg: dict[str, Any] = {c: "mean" for c in frame.columns if c not in keys and c not in ("sector", "_row")}
    if "sector" in frame:
        agg["sector"] = "first"
    agg["_row"] = "first"
    out = frame.groupby(keys, sort=False, as_index=False, dropna=False).agg(agg)
    return out, len(frame) - len(out)


def read_long(raw: pd.DataFrame, mapping: dict[str, str], source: str,
              aggregate: str | None = None) -> tuple[pd.DataFrame, PanelSummary]:
    """A long table (one row per company-period) as the tidy panel.

    Raises
    ------
    DataError
        A mapped column is missing, a period is not an integer, a cx_score or
        value is not numeric, or a (company, period) pair repeats without
        ``aggregate="mean"``.
    """
    frame, used = d.map_columns(raw, mapping, ["company", "period", "cx_score", "value"], source,
                                optional=["sector"])
    summary = PanelSummary(source=source, rows_read=len(frame), columns=used)
    out = pd.DataFrame({"company": _company_key(frame["company"])}, index=frame.index)
    out["period"] = d.as_int(frame, "period", source, used["period"])
    out["cx_score"] = d.as_numeric(frame, "cx_score", source, used["cx_score"])
    out["value"] = d.as_numeric(frame, "value", source, used["value"])
    out["sector"] = _company_key(frame["sector"]) if "sector" in used else pd.NA
    out["_row"] = np.arange(1, len(out) + 1)
    out = d.drop_missing(out, ["company", "period"], summary)
    out, summary.merged = _check_duplicates(out, ["company", "period"], source, used["company"], aggregate)
    return _finish(out, summary), summary


def _wide_table(raw: pd.DataFrame, mapping: dict[str, str], source: str, name: str,
                aggregate: str | None) -> tuple[pd.DataFrame, dict[str, str], int, int]:
    has_sector = mapping.get("sector", "sector") in raw.columns  # the sector may sit in either table
    frame, used = d.map_columns(raw, mapping, ["company"], source, optional=["sector"] if has_sector else [])
    key_cols = {used["company"], used.get("sector")}
    period_cols = [c for c in raw.columns if c not in key_cols]
    if not period_cols:
        raise DataError("a wide table needs one column per period besides the company key", path=source)
    periods = []
    for col in period_cols:
        if not _PERIOD_RE.match(str(col)):
            raise DataError("column name is not an integer period (a wide table holds the company key, "
                            "optionally the sector, and one column per period, e.g. 2015)", path=source,
                            column=str(col))
        periods.append(int(str(col).strip()))
    if len(set(periods)) != len(periods):
        col = next(c for c, p in zip(period_cols, periods) if periods.count(p) > 1)
        raise DataError("the same period appears in two columns", path=source, column=str(col))
    body = pd.DataFrame({p: d.as_numeric(raw, c, source, str(c)) for c, p in zip(period_cols, periods)},
                        index=raw.index)
    body.insert(0, "company", _company_key(frame["company"]))
    body["_row"] = np.arange(1, len(body) + 1)
    if "sector" in used:
        body["sector"] = _company_key(frame["sector"])
    missing = body["company"].isna()
    body = body[~missing]
    body, merged = _check_duplicates(body, ["company"], source, used["company"], aggregate)
    long = body.melt(id_vars=[c for c in ("company", "sector", "_row") if c in body], value_vars=periods,
                     var_name="period", value_name=name)
    return long, used, merged, int(missing.sum())


def read_wide(scores: pd.DataFrame, values: pd.DataFrame, mapping: dict[str, str], sources: tuple[str, str],
              aggregate: str | None = None) -> tuple[pd.DataFrame, PanelSummary]:
    """Two wide tables (a row per company, a column per period: cx_scores and values) as the tidy panel.

    The sector, when present, is read from the scores table (else the values table).

    Raises
    ------
    DataError
        A column name that is not an integer period, a non-numeric cell, a missing
        company column, or a company listed twice without ``aggregate="mean"``.
    """
    s_long, s_used, s_merged, s_missing = _wide_table(scores, mapping, sources[0], "cx_score", aggregate)
    v_long, v_used, v_merged, v_missing = _wide_table(values, mapping, sources[1], "value", aggregate)
    if "sector" in mapping and "sector" not in s_used and "sector" not in v_used:
        raise DataError("column is missing (mapped in columns:) from both wide tables", path=sources[0],
                        column=mapping["sector"])
    sector = None
    for long in (s_long, v_long):
        if "sector" in long:
            sector = long.drop_duplicates("company").set_index("company")["sector"]
            break
    s_long = s_long.drop(columns=[c for c in ("sector", "_row") if c in s_long])
    v_long = v_long.drop(columns=[c for c in ("sector", "_row") if c in v_long])
    out = s_long.merge(v_long, on=["company", "period"], how="outer")
    out["sector"] = out["company"].map(sector) if sector is not None else pd.NA
    out["_row"] = 0
    columns = {"company": s_used["company"], "cx_score": f"{sources[0]} (period columns)",
               "value": f"{sources[1]} (period columns)"}
    if sector is not None:
        columns["sector"] = s_used.get("sector", v_used.get("sector", "sector"))
    summary = PanelSummary(source=f"{sources[0]} (cx_score) and {sources[1]} (value)",
                           rows_read=len(scores) + len(values), columns=columns, merged=s_merged + v_merged)
    if s_missing + v_missing:
        summary.dropped["missing company"] = s_missing + v_missing
    return _finish(out, summary), summary


def _finish(out: pd.DataFrame, summary: PanelSummary) -> pd.DataFrame:
    out = out[["company", "period", "sector", "cx_score", "value"]].copy()
    out["company"] = out["company"].astype(str)
    out["period"] = out["period"].astype("int64")
    out["sector"] = out["sector"].astype(object).where(out["sector"].notna(), None)
    out["cx_score"] = out["cx_score"].astype(float)
    out["value"] = out["value"].astype(float)
    observed = out["cx_score"].notna() | out["value"].notna()
    out = out[observed].sort_values(["company", "period"], kind="stable").reset_index(drop=True)
    summary.companies = int(out["company"].nunique())
    summary.periods = sorted(int(p) for p in out["period"].unique())
    summary.sectors = int(out["sector"].dropna().nunique())
    return out


def read_benchmark(raw: pd.DataFrame, mapping: dict[str, str], source: str) -> pd.DataFrame:
    """A benchmark series (``period``, ``value``), one row per period, sorted.

    Raises
    ------
    DataError
        A missing column, a non-integer period, a non-numeric value or a repeated period.
    """
    frame, used = d.map_columns(raw, mapping, ["period", "value"], source)
    out = pd.DataFrame({"period": d.as_int(frame, "period", source, used["period"]),
                        "value": d.as_numeric(frame, "value", source, used["value"])})
    out = out.dropna()
    dup = out["period"].duplicated()
    if dup.any():
        d.fail_at(dup, out["period"].astype("int64"), "a benchmark period appears more than once", source,
                  used["period"])
    return out.astype({"period": "int64"}).sort_values("period").reset_index(drop=True)


def load(study: LeadersStudy, base_dir: str | Path | None = None) -> Panel:
    """Read the study's panel (long or wide, or the embedded ``panel`` generator) and its benchmark."""
    spec = study.data
    mapping = dict(spec.columns)
    if spec.synthetic is not None:
        raw = synth.generate(spec.synthetic, spec.n, spec.seed, **spec.options)
        frame, summary = read_long(raw, mapping, f"synthetic {spec.synthetic} (seed {spec.seed})", study.aggregate)
    elif study.layout == "wide":
        paths = (d.source_of(spec, base_dir, "scores"), d.source_of(spec, base_dir, "values"))
        frame, summary = read_wide(d.read_table(paths[0]), d.read_table(paths[1]), mapping,
                                   (str(paths[0]), str(paths[1])), study.aggregate)
    else:
        path = d.source_of(spec, base_dir)
        frame, summary = read_long(d.read_table(path), mapping, str(path), study.aggregate)
    bench = None
    if study.benchmark is not None:
        bench, summary.benchmark = load_benchmark(study.benchmark, base_dir)
    log.info("leaders: read %d company-periods, %d companies", len(frame), summary.companies)
    return Panel(frame, summary, bench)


def load_benchmark(spec: DataSpec, base_dir: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """The benchmark series of a study and a description of its source.

    ``synthetic: panel`` gives the generator's market index (``options.part``
    defaults to ``benchmark``); give it the same ``seed`` and ``periods`` as the panel.
    """
    if spec.synthetic is not None:
        options = dict(spec.options)
        if spec.synthetic == "panel":
            options.setdefault("part", "benchmark")
        raw = synth.generate(spec.synthetic, None, spec.seed, **options)
        source = f"synthetic {spec.synthetic} benchmark (seed {spec.seed})"
    elif spec.path is not None:
        path = d.source_of(spec, base_dir)
        raw, source = d.read_table(path), str(path)
    else:
        raise DataError("a benchmark is one long table: give 'path' (period, value) or 'synthetic'")
    return read_benchmark(raw, dict(spec.columns), source), source


# --------------------------------------------------------------------------------------------- analysis

def company_periods(frame: pd.DataFrame, within: str | None = None) -> pd.DataFrame:
    """Candidate company-periods with their next value, growth and exclusion reason.

    Parameters
    ----------
    frame : DataFrame
        Tidy panel (``company``, ``period``, ``sector``, ``cx_score``, ``value``), one row per company-period.
    within : {None, "sector"}
        With ``"sector"``, a company-period without a sector is left out.

    Returns
    -------
    DataFrame
        One row per candidate (observed before the panel's last period): the
        panel columns, ``next_value``, ``growth`` (NaN unless eligible) and
        ``reason`` (None when eligible; see the module docstring).
    """
    observed = frame[frame["cx_score"].notna() | frame["value"].notna()]
    if observed.empty:
        raise DataError("the panel has no cx_score and no value at all")
    last = int(observed["period"].max())
    cand = observed[observed["period"] < last].reset_index(drop=True)
    valued = frame[frame["value"].notna()]
    nxt = pd.DataFrame({"company": valued["company"].to_numpy(), "period": valued["period"].to_numpy() - 1,
                        "next_value": valued["value"].to_numpy()})
    cand = cand.merge(nxt, on=["company", "period"], how="left")
    last_valued = valued.groupby("company")["period"].max()
    later = cand["company"].map(last_valued).to_numpy(float) > cand["period"].to_numpy() + 1
    score, value, next_value = (cand[c].to_numpy(float) for c in ("cx_score", "value", "next_value"))
    conditions = [np.isnan(score), np.isnan(value), value <= 0, np.isnan(next_value) & later,
                  np.isnan(next_value), next_value <= 0]
    reasons = ["missing_cx_score", "missing_value", "non_positive_value", "gap_in_periods", "missing_next_value",
               "non_positive_value"]
    if within == "sector":
        conditions.append(cand["sector"].isna().to_numpy())
        reasons.append("missing_sector")
    with np.errstate(invalid="ignore"):
        reason = np.select(conditions, reasons, default="")
    cand["reason"] = pd.Series(reason, index=cand.index).replace("", None)
    ok = cand["reason"].isna()
    with np.errstate(invalid="ignore", divide="ignore"):
        cand["growth"] = np.where(ok, next_value / value - 1, np.nan)
    return cand


def _group_keys(within: str | None) -> list[str]:
    return ["sector", "period"] if within == "sector" else ["period"]


def portfolios(cand: pd.DataFrame, leader_quantile: float = 0.75, laggard_quantile: float = 0.25,
               within: str | None = None) -> pd.DataFrame:
    """Eligible company-periods flagged ``leader`` and ``laggard`` (both False outside split groups).

    A group (the period, or the sector-period with ``within="sector"``) is split
    only when it holds at least 4 eligible companies; ``split`` says whether it
    was. Cut-offs are ``numpy.quantile`` (linear) of the group's cx_scores;
    ties at a cut-off join the portfolio.
    """
    elig = cand[cand["reason"].isna()].copy()
    keys = _group_keys(within)
    groups = elig.groupby(keys, sort=True).indices if not elig.empty else {}
    score = elig["cx_score"].to_numpy(float)
    hi = np.full(len(elig), np.nan)
    lo = np.full(len(elig), np.nan)
    for idx in groups.values():
        if len(idx) >= MIN_COMPANIES:
            hi[idx], lo[idx] = np.quantile(score[idx], [leader_quantile, laggard_quantile])
    elig["split"] = ~np.isnan(hi)
    elig["leader_cut"], elig["laggard_cut"] = hi, lo
    with np.errstate(invalid="ignore"):
        elig["leader"] = score >= hi
        elig["laggard"] = score <= lo
    return elig


def period_table(assigned: pd.DataFrame) -> pd.DataFrame:
    """Per split period: ``period, n_leaders, n_laggards, leader_mean, laggard_mean`` (and ``difference``)."""
    split = assigned[assigned["split"]]
    g = split["growth"]
    tmp = pd.DataFrame({"period": split["period"], "lead": split["leader"], "lag": split["laggard"],
                        "lead_g": g.where(split["leader"]), "lag_g": g.where(split["laggard"])})
    agg = tmp.groupby("period", sort=True).agg(n_leaders=("lead", "sum"), n_laggards=("lag", "sum"),
                                               leader_mean=("lead_g", "mean"), laggard_mean=("lag_g", "mean"))
    out = agg.reset_index().astype({"period": "int64", "n_leaders": "int64", "n_laggards": "int64"})
    out["difference"] = out["leader_mean"] - out["laggard_mean"]
    return out


def welch_test(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    """Welch's t-test of mean(x) - mean(y) (scipy); None when a group has fewer than 2 values or no spread."""
    from scipy import stats
    if len(x) < 2 or len(y) < 2 or (np.var(x) == 0 and np.var(y) == 0):
        return None, None
    res = stats.ttest_ind(x, y, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def hedges_g(x: np.ndarray, y: np.ndarray) -> float | None:
    """Hedges' g of x versus y (pingouin.compute_effsize); None with fewer than 2 values per group or no spread."""
    import pingouin as pg
    if len(x) < 2 or len(y) < 2 or (np.var(x) == 0 and np.var(y) == 0):
        return None
    return float(pg.compute_effsize(x, y, paired=False, eftype="hedges"))


def _boot_means(x: np.ndarray, rng: np.random.Generator, resamples: int, chunk_elems: int = 4_000_000) -> np.ndarray:
    n = len(x)
    out = np.empty(resamples)
    rows = max(1, chunk_elems // max(n, 1))
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n), dtype=np.int32)
        out[start:stop] = np.take(x, idx).mean(axis=1)
    return out


def bootstrap_diff(x: np.ndarray, y: np.ndarray, resamples: int = 10_000, seed: int = 0,
                   level: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of mean(x) - mean(y), resampling within each group.

    ``x`` and ``y`` are the pooled growths ordered by period, then company (as
    :func:`summarize` passes them). The two groups draw from independent streams, ``SeedSequence(seed).spawn(2)``:
    resample b of x is ``x[rng_x.integers(0, len(x), size=(resamples, len(x)), dtype=int32)[b]]``
    (drawn in chunks, which gives the same numbers), likewise y; the interval is
    ``numpy.percentile`` (linear) at 2.5% and 97.5% of the differences. The two
    groups run in two threads.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or len(y) < 2:
        return None, None
    sx, sy = np.random.SeedSequence(seed).spawn(2)
    with ThreadPoolExecutor(2) as pool:
        fx = pool.submit(_boot_means, x, np.random.default_rng(sx), resamples)
        fy = pool.submit(_boot_means, y, np.random.default_rng(sy), resamples)
        diff = fx.result() - fy.result()
    tail = round(50 * (1 - level), 10)  # 2.5 for a 95% interval, without float residue
    low, high = np.percentile(diff, [tail, 100 - tail])
    return float(low), float(high)


def benchmark_growth(benchmark: pd.DataFrame | None) -> pd.Series:
    """Benchmark growth value(t+1) / value(t) - 1 indexed by t (consecutive periods only)."""
    if benchmark is None or benchmark.empty:
        return pd.Series(dtype=float)
    s = benchmark.set_index("period")["value"].astype(float)
    nxt = s.reindex(s.index + 1).to_numpy()
    g = pd.Series(nxt / s.to_numpy() - 1, index=s.index)
    return g[np.isfinite(g) & (s.to_numpy() > 0)]


def summarize(assigned: pd.DataFrame, table: pd.DataFrame, bench_growth: pd.Series | None = None,
              resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """DESIGN 5.3 ``summary`` from flagged company-periods and their period table."""
    lead, lag = table["leader_mean"].to_numpy(float), table["laggard_mean"].to_numpy(float)
    leader_cum = float(np.prod(1 + lead) - 1)
    laggard_cum = float(np.prod(1 + lag) - 1)
    split = assigned[assigned["split"]].sort_values(["period", "company"], kind="stable")
    x = split.loc[split["leader"], "growth"].to_numpy(float)
    y = split.loc[split["laggard"], "growth"].to_numpy(float)
    t, p = welch_test(x, y)
    low, high = bootstrap_diff(x, y, resamples, seed)
    bench = None
    if bench_growth is not None and len(bench_growth):
        periods = table["period"].to_numpy()
        if np.isin(periods, bench_growth.index.to_numpy()).all():
            bench = float(np.prod(1 + bench_growth.loc[periods].to_numpy()) - 1)
    return {
        "leader_mean": float(np.mean(lead)), "laggard_mean": float(np.mean(lag)),
        "leader_cumulative": leader_cum, "laggard_cumulative": laggard_cum,
        "cumulative_ratio": leader_cum / laggard_cum if laggard_cum > 0 else None,
        "welch_t": t, "welch_p": p, "hedges_g": hedges_g(x, y),
        "diff_ci_low": low, "diff_ci_high": high, "benchmark_cumulative": bench,
    }


def excluded_counts(cand: pd.DataFrame, assigned: pd.DataFrame) -> dict[str, int]:
    """Company-periods left out, by reason (every reason key present, zeros included)."""
    counts = cand["reason"].value_counts()
    out = {r: int(counts.get(r, 0)) for r in REASONS}
    out["too_few_companies"] = int((~assigned["split"]).sum())
    return out


@dataclass
class LeadersResult:
    """Figures of one leaders analysis.

    Attributes
    ----------
    results : dict
        DESIGN 5.3 ``periods`` and ``summary``, plus ``sensitivity`` (a list of
        ``{leader_quantile, laggard_quantile, **summary}``), ``excluded``
        (company-periods left out, by reason) and ``panel`` (counts).
    periods : DataFrame
        The period table (with ``difference``).
    company_periods : DataFrame
        Eligible company-periods with ``growth``, ``leader``, ``laggard``, ``split``.
    cumulative : DataFrame
        Tidy ``period, series, index``: leaders, laggards and benchmark indexed to 1 at the first period.
    sensitivity : DataFrame
        One row per quantile pair.
    eligible : DataFrame
        Eligible and split company-periods per period (``period, candidates, eligible, split``).
    warnings : list of str
    """

    results: dict[str, Any]
    periods: pd.DataFrame
    company_periods: pd.DataFrame
    cumulative: pd.DataFrame
    sensitivity: pd.DataFrame
    eligible: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _periods_phrase(periods: Sequence[int]) -> str:
    periods = [int(p) for p in periods]
    shown = ", ".join(map(str, periods[:8])) + (f" and {len(periods) - 8} more" if len(periods) > 8 else "")
    return ("period " if len(periods) == 1 else "periods ") + shown


def _warn_small(cand: pd.DataFrame, assigned: pd.DataFrame, within: str | None) -> None:
    per = assigned.groupby("period").size()
    candidates = sorted(cand["period"].unique())
    none = [p for p in candidates if per.get(p, 0) == 0]
    if within == "sector":
        sizes = assigned.groupby(["sector", "period"]).size()
        small = sizes[sizes < MIN_COMPANIES]
        if len(small):
            (sec, per0), n0 = next(iter(small.items()))
            many = len(small) > 1
            warn(FewCompaniesWarning,
                 f"{len(small)} sector-period{'s have' if many else ' has'} fewer than {MIN_COMPANIES} eligible "
                 f"companies (e.g. {sec} in {per0} with {n0}); {'their' if many else 'its'} {int(small.sum())} "
                 "company-periods are left out of the within-sector split.")
        nsplit = assigned[assigned["split"]].groupby("period").size()
        unsplit = [p for p in candidates if nsplit.get(p, 0) == 0 and per.get(p, 0) > 0]
        if unsplit:
            warn(FewCompaniesWarning, f"In {_periods_phrase(unsplit)} no sector has {MIN_COMPANIES} eligible "
                 "companies, so the period has no portfolios.")
    else:
        small = [p for p in candidates if 0 < per.get(p, 0) < MIN_COMPANIES]
        if small:
            warn(FewCompaniesWarning, f"{_periods_phrase(small).capitalize()} {'has' if len(small) == 1 else 'have'} "
                 f"fewer than {MIN_COMPANIES} eligible companies and {'is' if len(small) == 1 else 'are'} left out.")
    if none:
        warn(FewCompaniesWarning, f"{_periods_phrase(none).capitalize()} {'has' if len(none) == 1 else 'have'} no "
             "eligible company (no company has a cx_score and values at t and t+1) and "
             f"{'is' if len(none) == 1 else 'are'} left out.")
    nsplit = assigned[assigned["split"]].groupby("period").size()
    thin = [p for p, n in nsplit.items() if n < FEW_COMPANIES]
    if thin:
        warn(FewCompaniesWarning, f"{_periods_phrase(thin).capitalize()} {'has' if len(thin) == 1 else 'have'} fewer "
             f"than {FEW_COMPANIES} eligible companies in the split, so the portfolio means of "
             f"{'that period rest' if len(thin) == 1 else 'those periods rest'} on a handful of companies.")


def cumulative_index(table: pd.DataFrame, bench_growth: pd.Series | None = None) -> pd.DataFrame:
    """Leaders, laggards (and benchmark) indexed to 1 at the first period, tidy ``period, series, index``.

    The index at period t+1 is the product of (1 + period mean) up to period t.
    """
    periods = table["period"].to_numpy()
    x = np.concatenate([[periods[0]], periods + 1]) if len(periods) else np.array([])
    series = {"leaders": table["leader_mean"].to_numpy(float), "laggards": table["laggard_mean"].to_numpy(float)}
    if bench_growth is not None and len(bench_growth) and np.isin(periods, bench_growth.index).all():
        series["benchmark"] = bench_growth.loc[periods].to_numpy(float)
    rows = [pd.DataFrame({"period": x, "series": name, "index": np.concatenate([[1.0], np.cumprod(1 + g)])})
            for name, g in series.items()]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["period", "series", "index"])


def _no_split_error(cand: pd.DataFrame, within: str | None) -> DataError:
    counts = cand["reason"].value_counts()
    n_elig = int(cand["reason"].isna().sum())
    where = "sector-period" if within == "sector" else "period"
    why = "; ".join(f"{int(counts[r]):,} with {REASON_WORDS[r]}" for r in REASONS if r in counts)
    return DataError(f"fewer than {MIN_COMPANIES} eligible companies in every {where}, so no leader and laggard "
                     f"portfolios can be formed ({n_elig:,} eligible company-periods in all"
                     + (f"; left out: {why}" if why else "") + ")")


def analyze(panel: Panel | pd.DataFrame, study: LeadersStudy, benchmark: pd.DataFrame | None = None,
            sensitivity_pairs: Iterable[tuple[float, float]] = SENSITIVITY_PAIRS) -> LeadersResult:
    """Compute DESIGN 5.3 (and the sensitivity and exclusion counts) for ``study`` on a panel from :func:`load`.

    Raises
    ------
    DataError
        When no period (or sector-period, with ``within: sector``) has at least
        4 eligible companies.
    """
    frame = panel.frame if isinstance(panel, Panel) else panel
    if benchmark is None and isinstance(panel, Panel):
        benchmark = panel.benchmark
    within = study.within
    boot = study.bootstrap
    bench = benchmark_growth(benchmark) if benchmark is not None else None
    with collecting_warnings() as sentences:
        cand = company_periods(frame, within)
        assigned = portfolios(cand, study.leader_quantile, study.laggard_quantile, within)
        if not assigned["split"].any():
            raise _no_split_error(cand, within)
        _warn_small(cand, assigned, within)
        table = period_table(assigned)
        summary = summarize(assigned, table, bench, boot.resamples, boot.seed)
        overlap = assigned["leader"] & assigned["laggard"]
        if overlap.any():
            warn(TiedCutoffWarning,
                 f"{int(overlap.sum())} company-periods are both leaders and laggards: in their period (or "
                 "sector-period) the two cut-offs coincide because many companies share the same cx_score.")
        if benchmark is not None and summary["benchmark_cumulative"] is None:
            missing = [int(p) for p in table["period"] if bench is None or p not in bench.index]
            warn(BenchmarkWarning, f"The benchmark has no growth for {_periods_phrase(missing)} (it needs a "
                 "value at t and t+1), so its cumulative growth is not reported.")
        if summary["cumulative_ratio"] is None:
            warn(UndefinedRatioWarning, "The laggards' cumulative growth is zero or negative, so the ratio of "
                 "cumulative growths is not defined and is not reported.")
        sens_rows = []
        for hi, lo in sensitivity_pairs:
            if (hi, lo) == (study.leader_quantile, study.laggard_quantile):
                s, t = summary, table
            else:
                a = portfolios(cand, hi, lo, within)
                t = period_table(a)
                s = summarize(a, t, bench, boot.resamples, boot.seed)
            sens_rows.append({"leader_quantile": hi, "laggard_quantile": lo, **s,
                              "n_leaders": int(t["n_leaders"].sum()), "n_laggards": int(t["n_laggards"].sum())})
    excluded = excluded_counts(cand, assigned)
    per = cand.groupby("period").size().rename("candidates").to_frame()
    per["eligible"] = assigned.groupby("period").size()
    per["split"] = assigned[assigned["split"]].groupby("period").size()
    per = per.fillna(0).astype("int64").reset_index()
    periods = [{"period": int(r.period), "n_leaders": int(r.n_leaders), "n_laggards": int(r.n_laggards),
                "leader_mean": float(r.leader_mean), "laggard_mean": float(r.laggard_mean)}
               for r in table.itertuples()]
    sens_keys = ("leader_quantile", "laggard_quantile", *SUMMARY_KEYS, "n_leaders", "n_laggards")
    results = {
        "periods": periods,
        "summary": summary,
        "sensitivity": [{k: row[k] for k in sens_keys} for row in sens_rows],
        "excluded": excluded,
        "panel": {"companies": int(frame["company"].nunique()), "periods": int(frame["period"].nunique()),
                  "sectors": int(frame["sector"].dropna().nunique()), "candidates": int(len(cand)),
                  "eligible": int(len(assigned)), "split": int(assigned["split"].sum())},
        "within": within, "leader_quantile": study.leader_quantile, "laggard_quantile": study.laggard_quantile,
    }
    log.info("leaders: %d periods, %d split company-periods", len(table), int(assigned["split"].sum()))
    return LeadersResult(results, table, assigned, cumulative_index(table, bench),
                         pd.DataFrame(sens_rows), per, sentences)


# --------------------------------------------------------------------------------------------- words

def headline(result: LeadersResult) -> str:
    """The headline in words, from the summary."""
    from .report import fmt_p
    s = result.results["summary"]
    periods = result.results["periods"]
    span = f"{periods[0]['period']}-{periods[-1]['period'] + 1}"
    if s["cumulative_ratio"] is not None:
        first = (f"CX leaders' cumulative growth over {span} was {s['cumulative_ratio']:.1f} times the laggards' "
                 f"({s['leader_cumulative']:+.0%} against {s['laggard_cumulative']:+.0%})")
    else:
        first = (f"CX leaders' cumulative growth over {span} was {s['leader_cumulative']:+.0%} against "
                 f"{s['laggard_cumulative']:+.0%} for the laggards")
    diff = s["leader_mean"] - s["laggard_mean"]
    if s["welch_p"] is None:
        second = "the difference cannot be tested"
    else:
        verdict = "significant" if s["welch_p"] < 0.05 else "not significant"
        second = (f"the yearly difference of {100 * diff:+.1f} points is {verdict} (Welch {fmt_p(s['welch_p'])})")
    return f"{first}; {second}."


def headline_figures(result: LeadersResult) -> dict[str, float | None]:
    """Headline numbers for the index."""
    s = result.results["summary"]
    return {"cumulative ratio": s["cumulative_ratio"], "leader cumulative": s["leader_cumulative"],
            "laggard cumulative": s["laggard_cumulative"], "Welch p": s["welch_p"], "Hedges g": s["hedges_g"]}


def interpret(result: LeadersResult) -> str:
    """Plain-language reading of the tests, the interval and the sensitivity."""
    from .report import fmt_p
    s = result.results["summary"]
    lines = []
    diff = s["leader_mean"] - s["laggard_mean"]
    lines.append(f"- Averaged over periods, leaders grew {s['leader_mean']:+.1%} per period and laggards "
                 f"{s['laggard_mean']:+.1%}, a difference of {100 * diff:+.1f} percentage points.")
    if s["welch_t"] is not None:
        lines.append(f"- Pooling every company-period, Welch's t-test gives t = {s['welch_t']:.2f} "
                     f"({fmt_p(s['welch_p'])}); Hedges' g = {s['hedges_g']:.2f}, "
                     f"{'a small' if abs(s['hedges_g']) < 0.5 else 'a medium' if abs(s['hedges_g']) < 0.8 else 'a large'}"
                     " effect relative to the spread of company growth.")
    if s["diff_ci_low"] is not None:
        lines.append(f"- The bootstrap 95% interval of the pooled mean difference runs from "
                     f"{100 * s['diff_ci_low']:+.1f} to {100 * s['diff_ci_high']:+.1f} points"
                     + (" and excludes zero." if s["diff_ci_low"] > 0 or s["diff_ci_high"] < 0 else
                        " and includes zero."))
    if s["benchmark_cumulative"] is not None:
        lines.append(f"- The benchmark grew {s['benchmark_cumulative']:+.0%} over the same periods.")
    sens = result.results["sensitivity"]
    signs = {np.sign((r["leader_mean"] or 0) - (r["laggard_mean"] or 0)) for r in sens}
    excl = [r for r in sens if r["diff_ci_low"] is not None and (r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0)]
    pairs = ", ".join(f"{r['leader_quantile']:g}/{r['laggard_quantile']:g}" for r in sens)
    lines.append(f"- Across the cut-offs {pairs}, "
                 f"the leaders' advantage {'keeps its sign' if len(signs) == 1 else 'changes sign'}; its bootstrap "
                 f"interval excludes zero for {len(excl)} of {len(sens)}.")
    lines.append("- This is an association between CX and later growth, not a causal effect: companies that "
                 "grow may invest in CX, and sector, size or management quality can drive both.")
    return "\n".join(lines)


def excluded_table(result: LeadersResult) -> pd.DataFrame:
    """The exclusion counts as a table (reason, meaning, company-periods)."""
    ex = result.results["excluded"]
    return pd.DataFrame({"reason": list(ex), "meaning": [REASON_WORDS[r] for r in ex],
                         "company-periods": list(ex.values())}).set_index("reason")
