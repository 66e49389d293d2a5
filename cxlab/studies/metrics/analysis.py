"""CX metrics figures (DESIGN 5.4): NPS, CSAT and CES overall, by segment, by wave, and why NPS moved.

Every figure except the fixed cohort comes from the counts of :mod:`.counts`
(per group and rating value: responses, sum of weights, sum of squared
weights), so the rows are collapsed once and a million responses cost a few
``bincount`` passes; aggregated data give the same figures. The fixed cohort
needs each customer's answers and stays row-level. Without weights ``n`` is the number of
responses; with frequency weights the sum of the weights (the figures of the
expanded data); with sampling weights ``n`` stays the row count, ``n_eff`` is
Kish's effective n (a description) and every interval and test of a share or an
NPS uses the design-based effective n (``n_eff_design``: the unit variance over
the Taylor-linearised variance of the group, a domain of the metric's design,
:func:`~cxlab.stats.survey.domain_means`); the mean rating's interval uses its
linearised variance.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ...errors import DecompositionWarning, FewResponsesWarning, collecting_warnings, warn
from ...stats import Z95
from ...stats.mix import mix_decomposition, mix_standard_errors, paired_change
from ...stats.means import mean_t_interval
from ...stats.multitest import holm, level_labels, significance_letters
from ...stats.nps import AdjustedNps, Difference, adjusted_wald, nps_difference, tested_difference
from ...stats.proportions import newcombe_difference, wilson_interval
from ...stats.survey import design_mean_interval, domain_means
from ...stats.weights import effective_n
from .cohort import CohortPairs
from .counts import MetricsCounts, aggregate
from .spec import MetricsStudy

log = logging.getLogger(__name__)

NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


@dataclass
class MetricsResult:
    """Figures of one metrics analysis.

    Attributes
    ----------
    results : dict
        What ``results.json`` records (DESIGN 5.4): ``n``, ``metrics``, ``overall``,
        ``segments``, ``waves``, ``changes``, ``first_to_last`` (the NPS change from the first to
        the last wave among all respondents), ``mix``, ``cohort``.
    levels : DataFrame
        Tidy, one row per segment, level and metric: value (NPS or top-box share),
        ci_low, ci_high, n, letter, label and, for NPS, the three shares.
    trend : DataFrame
        Tidy, one row per wave and metric: value, ci_low, ci_high, n.
    warnings : list of str
        Statistical caveats as sentences.
    """

    results: dict[str, Any]
    levels: pd.DataFrame
    trend: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


class Cell:
    """One group's responses to one metric, as weighted sums, and the figures DESIGN 5.4 derives from them."""

    def __init__(self, metric: str, sums: pd.Series, kind: str | None) -> None:
        self.metric, self.kind = metric, kind
        self.rows = int(sums["rows"])
        self.w, w2 = float(sums["w"]), float(sums["w2"])
        self.n_eff = effective_n(self.w, w2)
        # the n of every interval and test: rows, the sum of frequency weights, or (sampling weights) the
        # design-based effective n of the NPS or top-box share (Kish's n where the share does not vary)
        self.n = {None: float(self.rows), "frequency": self.w,
                  "sampling": float(sums.get("n_eff_design", np.nan))}[kind]
        self.sums = sums

    def share(self, key: str) -> float | None:
        return float(self.sums[key]) / self.w if self.w > 0 else None

    def nps(self) -> AdjustedNps:
        if not self.n > 0:
            return adjusted_wald(0, 0, 0)
        return adjusted_wald(self.share("pro") * self.n, self.share("det") * self.n, self.n)

    def figures(self) -> dict[str, Any]:
        n = self.w if self.kind == "frequency" else self.rows
        out: dict[str, Any] = {"n": int(n) if float(n).is_integer() else n}
        if self.kind == "sampling":
            deff = float(self.sums["design_effect"])
            out.update(n_eff=self.n_eff, n_eff_design=self.n, design_effect=deff if np.isfinite(deff) else None)
        if self.metric == "nps":
            a = self.nps()
            pro, det = self.share("pro"), self.share("det")
            out.update(promoters=pro, passives=self.share("pas"), detractors=det,
                       nps=a.nps, ci_low=a.ci_low, ci_high=a.ci_high)
            return out
        top = self.share("top")
        low, high = wilson_interval(top * self.n, self.n) if top is not None else (np.nan, np.nan)
        if self.kind == "sampling":
            mean, m_low, m_high = design_mean_interval(self.share("wx"), float(self.sums["mean_variance"]),
                                                       self.rows)
        else:
            mean, m_low, m_high = mean_t_interval(self.w, float(self.sums["wx"]), float(self.sums["wx2"]), self.n)
        out.update(top_box=top, ci_low=float(low), ci_high=float(high), mean=mean, mean_ci_low=m_low,
                   mean_ci_high=m_high)
        return out

    def value(self) -> float | None:
        return self.nps().nps if self.metric == "nps" else self.share("top")


def compare(a: Cell, b: Cell) -> Difference:
    """a - b: the NPS adjusted-Wald difference, or the top-box Newcombe interval with the pooled z test."""
    if a.metric == "nps":
        return nps_difference(a.nps(), b.nps())
    if not (a.n > 0 and b.n > 0):
        return newcombe_difference(0, 0, 0, 0)
    return newcombe_difference(a.share("top") * a.n, a.n, b.share("top") * b.n, b.n)


def cells(data: MetricsCounts, metric: str, study: MetricsStudy, by: tuple[str, ...]) -> dict[Any, Cell]:
    """The Cells of ``metric`` per group of ``by`` (every level, empty ones included), from the counts per value.

    Keys are the level (one column) or the tuple of levels (several); with
    ``by`` empty, one Cell under the key ``None``. Each Cell's sums add the
    counts of its values: promoters are the weight of the values >= the
    promoter threshold, the mean's sums are sum w x and sum w x^2 over values.
    """
    table = data.table(metric, by)
    v, w = table["value"].to_numpy(float), table["w"].to_numpy(float)
    cols: dict[str, np.ndarray] = {"rows": table["rows"].to_numpy(float), "w": w, "w2": table["w2"].to_numpy(float)}
    if metric == "nps":
        pro, det = v >= study.nps.promoter_from, v <= study.nps.detractor_to
        cols.update(pro=w * pro, det=w * det, pas=w * ~(pro | det))
    else:
        spec = getattr(study, metric)
        lo, hi = spec.scale
        box = v <= lo + spec.top - 1 if spec.reverse else v >= hi - spec.top + 1
        cols.update(top=w * box, wx=w * v, wx2=w * v * v)
    group = np.zeros(len(table), dtype=np.int64)
    sizes = [len(data.levels[col]) for col in by]
    for col, size in zip(by, sizes):
        group = group * size + table[col].cat.codes.to_numpy(np.int64)
    total = int(np.prod(sizes)) if sizes else 1
    sums = pd.DataFrame({k: np.bincount(group, weights=c, minlength=total) for k, c in cols.items()})
    kind = study.weight.kind if study.weight else None
    if kind == "sampling":
        # each group is a domain of the design of the metric's responses (all of them, grouped or not)
        n = int(data.table(metric, ())["rows"].sum())
        rows, w2 = cols["rows"], cols["w2"]
        if metric == "nps":
            design = domain_means(pro.astype(float) - det, w, w2, group, total, n, rows)
        else:
            design = domain_means(box.astype(float), w, w2, group, total, n, rows)
            sums["mean_variance"] = domain_means(v, w, w2, group, total, n, rows).variance
        sums["n_eff_design"], sums["design_effect"] = design.n_eff, design.design_effect
    if not by:
        return {None: Cell(metric, sums.iloc[0], kind)}
    keys = pd.MultiIndex.from_product([data.levels[col] for col in by]) if len(by) > 1 else data.levels[by[0]]
    return {key: Cell(metric, row, kind) for key, (_, row) in zip(keys, sums.iterrows())}


def _segment(data: MetricsCounts, column: str, metric: str, study: MetricsStudy) -> dict[str, Any]:
    by_level = cells(data, metric, study, (column,))
    levels = [str(k) for k in by_level]
    figures = [{"level": lv, **c.figures()} for lv, c in zip(levels, by_level.values())]
    shown = study.labels.get(column, column)  # the segment as the study's labels name it
    for lv, c in zip(levels, by_level.values()):
        if c.rows < 2:
            warn(FewResponsesWarning,
                 f"Segment {shown!r}, level {lv!r} has {c.rows} {NAMES[metric]} response"
                 f"{'' if c.rows == 1 else 's'}: its interval is wide or undefined and its comparisons say little.")
    if len(levels) < 2:
        warn(FewResponsesWarning, f"Segment {shown!r} has a single level with {NAMES[metric]} responses: "
                                  "there is nothing to compare.")
    pairs = []
    for (la, ca), (lb, cb) in combinations(zip(levels, by_level.values()), 2):
        pairs.append({"a": la, "b": lb, **compare(ca, cb).to_dict()})
    for pair, adj in zip(pairs, holm([p["p"] for p in pairs])):
        pair["p_holm"] = adj
    # the letters follow the difference the interval and test are about (NPS: the adjusted d), not the raw diff
    letters = significance_letters(levels, [(p["a"], p["b"], tested_difference(p), p["p_holm"]) for p in pairs])
    return {"levels": figures, "pairs": pairs, "letters": letters}


def _waves(data: MetricsCounts, metrics: list[str], study: MetricsStudy
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[Any, Cell]]]:
    by_wave = {m: cells(data, m, study, ("wave",)) for m in metrics}
    names = [str(w) for w in data.levels["wave"]]
    waves = [{"wave": name, **{m: by_wave[m][key].figures() for m in metrics}}
             for name, key in zip(names, data.levels["wave"])]
    for m in metrics:
        for name, c in zip(names, by_wave[m].values()):
            if c.rows == 0:
                warn(FewResponsesWarning, f"Wave {name!r} has no {NAMES[m]} responses: its {NAMES[m]} figures and "
                                          "the changes to and from it are not defined.")
    changes = []
    keys = list(data.levels["wave"])
    for (n0, k0), (n1, k1) in zip(zip(names, keys), zip(names[1:], keys[1:])):
        for m in metrics:
            changes.append({"from": n0, "to": n1, "metric": m, **compare(by_wave[m][k1], by_wave[m][k0]).to_dict()})
    return waves, changes, by_wave


def _mix(data: MetricsCounts, study: MetricsStudy, first: Any, last: Any) -> dict[str, Any] | None:
    column = study.mix_by
    grid = cells(data, "nps", study, ("wave", column))
    levels = list(data.levels[column])
    kept = [lv for lv in levels if grid[(first, lv)].n > 0 and grid[(last, lv)].n > 0]
    excluded = [str(lv) for lv in levels if lv not in kept]
    missing = int(data.table("nps", ())["rows"].sum() - data.table("nps", (column,))["rows"].sum())
    if excluded:
        warn(DecompositionWarning, f"Levels of {study.labels.get(column, column)!r} without NPS responses in both {first} and {last} are left "
                                   f"out of the mix decomposition: {', '.join(excluded)}.")
    if missing:
        warn(DecompositionWarning, f"{missing:,} NPS responses without a {study.labels.get(column, column)!r} value are left out of the mix "
                                   "decomposition.")
    if not kept:
        return None
    w0 = np.array([grid[(first, lv)].w for lv in kept])
    w1 = np.array([grid[(last, lv)].w for lv in kept])
    s0, s1 = w0 / w0.sum(), w1 / w1.sum()
    v0 = np.array([grid[(first, lv)].nps().nps for lv in kept])
    v1 = np.array([grid[(last, lv)].nps().nps for lv in kept])
    change, mix, within = mix_decomposition(s0, s1, v0, v1)
    (w_from, q_from, f_from), (w_to, q_to, f_to) = (_category_sums(data, study, wave, kept) for wave in (first, last))
    mix_se, within_se = mix_standard_errors(w_from, q_from, w_to, q_to, factor_from=f_from, factor_to=f_to)
    out = {"from": str(first), "to": str(last), "by": column, "change": change, "mix_effect": mix,
           "within_effect": within}
    for part, est, se in (("mix", mix, mix_se), ("within", within, within_se)):
        defined = se is not None and se > 0
        out.update({f"{part}_ci_low": est - Z95 * se if defined else None,
                    f"{part}_ci_high": est + Z95 * se if defined else None,
                    f"{part}_p": float(2 * sps.norm.sf(abs(est / se))) if defined else None})
    out["levels"] = [{"level": str(lv), "share_from": a, "share_to": b, "nps_from": c, "nps_to": e}
                     for lv, a, b, c, e in zip(kept, s0, s1, v0, v1)]
    out["excluded"] = excluded
    return out


def _category_sums(data: MetricsCounts, study: MetricsStudy, wave: Any, kept: list[Any]
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """One wave's (weights, squares, factor) per kept ``mix_by`` level and NPS category, for
    :func:`~cxlab.stats.mix.mix_standard_errors`: sums of weights of promoters, passives and detractors;
    the sums of squared weights (sampling weights) or the weights again (counts, frequency weights); and the
    finite-sample factor n / (n - 1) of sampling weights (n the wave's rows), else 1."""
    table = data.table("nps", ("wave", study.mix_by))
    table = table[(table["wave"] == wave) & table[study.mix_by].isin(kept)]
    value = table["value"].to_numpy(float)
    category = np.where(value >= study.nps.promoter_from, 0, np.where(value <= study.nps.detractor_to, 2, 1))
    row = pd.Categorical(table[study.mix_by], categories=kept).codes
    key = row * 3 + category
    sampling = study.weight is not None and study.weight.kind == "sampling"
    weights = np.bincount(key, weights=table["w"].to_numpy(float), minlength=3 * len(kept)).reshape(-1, 3)
    squares = (np.bincount(key, weights=table["w2"].to_numpy(float), minlength=3 * len(kept)).reshape(-1, 3)
               if sampling else weights)
    rows = float(table["rows"].sum())
    factor = (rows / (rows - 1) if rows > 1 else float("inf")) if sampling else 1.0
    return weights, squares, factor


def _cohort(pairs: CohortPairs, study: MetricsStudy, first: Any, last: Any,
            all_change: Difference) -> dict[str, Any] | None:
    """The fixed-cohort change from each customer's mean category score in the first and last wave."""
    if pairs.repeated:
        warn(DecompositionWarning, f"{pairs.repeated:,} customers answered more than once within "
                                   f"{first} or {last}; the cohort uses the mean of their category scores in each wave.")
    n = pairs.n
    if not n:
        warn(DecompositionWarning, f"No customer answered NPS in both {first} and {last}: there is no fixed cohort.")
        return None
    if n < 2:
        warn(DecompositionWarning, f"Only 1 customer answered NPS in both {first} and {last}: the cohort change has "
                                   "no interval.")
    if study.weight is not None:
        warn(DecompositionWarning, "The fixed-cohort change is unweighted: each customer who answered both waves "
                                   "counts once.")
    change, low, high, p = paired_change(pairs.first, pairs.last, counts=pairs.customers)
    return {"from": str(first), "to": str(last), "n": n, "nps_first": float(pairs.first @ pairs.customers / n),
            "nps_last": float(pairs.last @ pairs.customers / n), "change": change, "ci_low": low, "ci_high": high,
            "p": p, "all_respondents": all_change.to_dict()}


def overall_tables(overall: dict[str, Any]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``results["overall"]`` as two tables, so that each column has one scale.

    The NPS table (its row ``nps``: n, the three shares, the NPS and its
    interval, all on the -1 to +1 scale) and the ratings table (rows ``csat``,
    ``ces``: n, the top-box share and its interval, the mean and its
    interval); None for a table without rows.
    """
    nps = {m: f for m, f in overall.items() if m == "nps"}
    ratings = {m: f for m, f in overall.items() if m != "nps"}
    return (pd.DataFrame(nps).T if nps else None), (pd.DataFrame(ratings).T if ratings else None)


def _tidy_levels(segments: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for column, by_metric in segments.items():
        for metric, block in by_metric.items():
            labels = dict(zip([f["level"] for f in block["levels"]],
                              level_labels(len(block["levels"]))))
            for f in block["levels"]:
                rows.append({"segment": column, "metric": metric, "level": f["level"], "label": labels[f["level"]],
                             "value": f.get("nps", f.get("top_box")), "ci_low": f["ci_low"], "ci_high": f["ci_high"],
                             "n": f["n"], "letters": block["letters"][f["level"]],
                             "promoters": f.get("promoters"), "passives": f.get("passives"),
                             "detractors": f.get("detractors")})
    return pd.DataFrame(rows)


def analyze(data: pd.DataFrame | MetricsCounts, study: MetricsStudy) -> MetricsResult:
    """Compute DESIGN 5.4 on a frame from :func:`~cxlab.studies.metrics.load.read` (collapsed first by
    :func:`~.counts.aggregate`) or on its counts: the figures are the same."""
    if isinstance(data, pd.DataFrame):
        data = aggregate(data, study)
    metrics = data.metrics
    results: dict[str, Any] = {"n": int(data.n), "metrics": metrics,
                               "weight": study.weight.model_dump() if study.weight else None}
    trend_rows: list[dict[str, Any]] = []
    with collecting_warnings() as sentences:
        results["overall"] = {m: cells(data, m, study, ())[None].figures() for m in metrics}
        results["segments"] = {col: {m: _segment(data, col, m, study) for m in metrics} for col in study.segments}
        for key in ("waves", "changes", "first_to_last", "mix", "cohort"):
            results[key] = None
        if "wave" in data.levels:
            results["waves"], results["changes"], by_wave = _waves(data, metrics, study)
            for w in results["waves"]:
                for m in metrics:
                    f = w[m]
                    trend_rows.append({"wave": w["wave"], "metric": m, "value": f.get("nps", f.get("top_box")),
                                       "ci_low": f["ci_low"], "ci_high": f["ci_high"], "n": f["n"]})
            waves = list(data.levels["wave"])
            if "nps" in metrics and len(waves) >= 2:
                first, last = waves[0], waves[-1]
                ends = by_wave["nps"][first], by_wave["nps"][last]
                if ends[0].rows == 0 or ends[1].rows == 0:
                    warn(DecompositionWarning, f"The first or last wave ({first}, {last}) has no NPS responses: "
                                               "why the score moved cannot be decomposed.")
                else:
                    results["first_to_last"] = {"from": str(first), "to": str(last), "metric": "nps",
                                                **compare(ends[1], ends[0]).to_dict()}
                    if study.mix_by is not None:
                        results["mix"] = _mix(data, study, first, last)
                    if data.cohort is not None:
                        results["cohort"] = _cohort(data.cohort, study, first, last,
                                                    compare(ends[1], ends[0]))
        elif study.mix_by is not None:
            warn(DecompositionWarning, "mix_by needs a wave column: the mix decomposition is not computed.")
    log.info("metrics: analysed %d responses, metrics %s", data.n, ", ".join(metrics))
    return MetricsResult(results, _tidy_levels(results["segments"]), pd.DataFrame(trend_rows), sentences)
