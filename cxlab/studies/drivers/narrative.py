"""Key drivers in words: the headline, the index figures, which drivers stand out and what weights mean."""
from __future__ import annotations

import math

import pandas as pd

from ... import fmt
from ...report import half_width
from .analysis import PRIORITIES, UNCLEAR, DriversResult
from .spec import DriversStudy

QUADRANT_MEANING = {
    "fix first": "important, below-average performance",
    "keep up": "important, above-average performance",
    "low priority": "less important, below-average performance",
    "possible overkill": "less important, above-average performance",
}


def _outcome(study: DriversStudy) -> str:
    """The outcome inside a sentence: its label ("overall satisfaction"), else its column's name."""
    shown = study.labels.get("outcome")
    return study.data.columns.get("outcome", "outcome") if shown is None else fmt.in_sentence(shown)


def _r2_name(result: DriversResult) -> str:
    return "R²" if result.results["outcome_type"] == "continuous" else "R² (Menard's, for a yes/no outcome)"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _r2(result: DriversResult) -> str:
    r = result.results
    return fmt.interval(r["r2"], r["r2_ci_low"], r["r2_ci_high"], lambda v: fmt.number(v, 2))


def leading_drivers(table: pd.DataFrame) -> list[str]:
    """The fewest top drivers (by share) whose share intervals all lie above every other driver's interval.

    Empty when no such group exists (the intervals of the top drivers overlap the rest).
    """
    ordered = table.sort_values("share", ascending=False, kind="stable")
    for k in range(1, len(ordered)):
        top, rest = ordered.iloc[:k], ordered.iloc[k:]
        if top["ci_low"].min() > rest["ci_high"].max():
            return list(top["driver"])
    return []


def rank_groups(table: pd.DataFrame) -> list[list[str]]:
    """Drivers whose ranks cannot be told apart: the largest sets whose 95% rank intervals all share a rank.

    Every two drivers of a group have overlapping (closed) intervals, so a
    group never joins two drivers whose intervals are disjoint through a third
    (A overlapping B and B overlapping C, A and C apart, gives the groups A, B
    and B, C); a driver may sit in more than one group. Groups of two or more,
    ordered by their best rank; drivers in rank order within a group; drivers
    without a rank interval are left out.
    """
    ordered = table.sort_values(["rank", "share"], ascending=[True, False], kind="stable")
    ordered = ordered[ordered["rank_ci_low"].notna() & ordered["rank_ci_high"].notna()]
    low, high = ordered["rank_ci_low"].to_numpy(float), ordered["rank_ci_high"].to_numpy(float)
    # intervals that overlap pairwise share a point, and then the largest of their lower ends
    sets = {frozenset(map(int, ((low <= x) & (x <= high)).nonzero()[0])) for x in low}
    maximal = [g for g in sets if len(g) > 1 and not any(g < other for other in sets)]
    names = list(ordered["driver"])
    return [[names[i] for i in sorted(g)] for g in sorted(maximal, key=lambda g: sorted(g))]


def _share(row: pd.Series) -> str:
    return f"{row['driver']} {fmt.interval(row['share'], row['ci_low'], row['ci_high'])}"


def _unreliable(result: DriversResult) -> str | None:
    """Why the bootstrap intervals are unreliable, in a clause (None when they are not)."""
    boot = result.results.get("bootstrap", {})
    if boot.get("reliable", True):
        return None
    return (f"{fmt.count(boot['failed'])} of {fmt.plural(boot['resamples'], 'bootstrap resample')} could not be "
            "computed, so the intervals are unreliable (see the caveats)")


def headline(result: DriversResult, study: DriversStudy) -> str:
    """The headline: the driver with the largest share of R^2, with its interval, and R^2 with its interval.

    It says the driver "goes with the largest share" only when its share
    interval lies above every other driver's and the bootstrap is reliable;
    otherwise it names the largest share and what the data cannot tell.
    """
    ordered = fmt.named(result.table, study.labels).sort_values("share", ascending=False, kind="stable")
    top = ordered.iloc[0]
    figures = f"{fmt.interval(top['share'], top['ci_low'], top['ci_high'])} of {_r2_name(result)} = {_r2(result)}"
    largest = f"{top['driver']} has the largest share of the variation in {_outcome(study)} the drivers account for"
    unreliable = _unreliable(result)
    if unreliable:
        return f"{largest}, {figures}; but {unreliable}."
    overlapping = ordered.iloc[1:][~(ordered.iloc[1:]["ci_high"] < top["ci_low"])]
    if len(overlapping):
        others = "; ".join(_share(row) for _, row in overlapping.head(2).iterrows())
        more = f" and {fmt.plural(len(overlapping) - 2, 'other driver')}" if len(overlapping) > 2 else ""
        return (f"{largest}, {figures}; but its interval overlaps those of {others}{more}, so the data cannot tell "
                "which of them goes with the most.")
    return (f"{top['driver']} goes with the largest share of the variation in {_outcome(study)} the drivers "
            f"account for: {figures}.")


def headline_figures(result: DriversResult, labels: dict[str, str] | None = None) -> dict[str, dict]:
    """Headline figures for the index: R^2 and the largest share, each with its interval half-width.

    Neither has a direction: a larger R^2 or share is a description of the
    data, not an improvement of the experience. ``labels``: the study's labels, naming the driver.
    """
    r = result.results
    top = fmt.named(result.table, labels).sort_values("share", ascending=False, kind="stable").iloc[0]
    return {_r2_name(result): {"value": r["r2"], "better": None, "format": "number",
                               "half_width": half_width(r["r2_ci_low"], r["r2_ci_high"])},
            f"share of {top['driver']}": {"value": float(top["share"]), "better": None, "format": "pct",
                                          "half_width": half_width(top["ci_low"], top["ci_high"])}}


def association(study: DriversStudy) -> str:
    """What relative weights mean, and what they do not."""
    return (f"Relative weights describe how strongly each driver goes with {_outcome(study)} in these data, "
            "sharing out the overlap between correlated drivers; they do not say what improving a driver would do "
            f"to {_outcome(study)}, which only an experiment or a causal design can show.")


def interpret(result: DriversResult, study: DriversStudy) -> str:
    """Plain-language reading: R^2, the drivers that stand out, rank ties, LMG, quadrants, and what weights mean."""
    r, table = result.results, fmt.named(result.table, study.labels)
    lines = [f"- The {len(table)} drivers together account for {_r2_name(result)} = {_r2(result)} of the "
             f"variation in {_outcome(study)} ({fmt.count(r['n_used'])} responses used, "
             f"{fmt.count(r['n_dropped'])} dropped for a missing value)."]
    unreliable = _unreliable(result)
    if unreliable:
        lines.append(f"- Which drivers lead, how they rank and which to fix first cannot be told from these data: "
                     f"{unreliable}.")
    else:
        lines.extend(_leaders_and_ranks(table))
    if r["outcome_type"] == "binary":
        lines.append("- The LMG decomposition is computed for a numeric outcome only.")
    elif table["lmg_share"].isna().all():
        lines.append(f"- The exact LMG decomposition is not computed above 12 drivers (this study has {len(table)}).")
    else:
        lines.append(f"- {lmg_comparison(table, _r2_name(result))}")
    lines.extend(priority_lines(table, reliable=unreliable is None))
    lines.append(f"- {association(study)}")
    return "\n".join(lines)


def _leaders_and_ranks(table: pd.DataFrame) -> list[str]:
    """The sentences on the drivers whose shares stand out and on the ranks the data cannot tell apart."""
    lines = []
    leaders = leading_drivers(table)
    if leaders:
        lines.append(f"- The share {'interval' if len(leaders) == 1 else 'intervals'} of {_join(leaders)} "
                     f"{'lies' if len(leaders) == 1 else 'lie'} above those of every other driver.")
    else:
        top = table.sort_values("share", ascending=False, kind="stable").head(2)
        lines.append("- No driver's share interval lies above those of all the others, so the data cannot tell which "
                     f"driver leads (largest shares: {'; '.join(_share(row) for _, row in top.iterrows())}).")
    groups = rank_groups(table)
    if not groups:
        lines.append("- Every rank is distinguishable: no two drivers' 95% rank intervals overlap.")
    elif len(groups) == 1 and len(groups[0]) == len(table):
        lines.append("- The data cannot tell the drivers' ranks apart: all 95% rank intervals share a rank.")
    else:
        shared = len({d for g in groups for d in g}) < sum(len(g) for g in groups)
        lines.append("- Ranks the data cannot tell apart (each group's 95% rank intervals share a rank"
                     + ("; a driver can sit in two groups" if shared else "") + "): "
                     + "; ".join(_join(g) for g in groups) + ".")
    return lines


def lmg_comparison(table: pd.DataFrame, r2_name: str = "R²") -> str:
    """How far the LMG shares are from the relative-weight shares: the largest gap itself, with its driver.

    The gap is shown with two significant digits (at least one decimal), not
    as a rounded bound ("within 0.3 points" for a gap of 0.35 would understate it).
    """
    gaps = (table["lmg_share"] - table["share"]).abs()
    row = table.loc[gaps.idxmax()]
    points = 100 * float(gaps.max())
    digits = 1 if points == 0 else min(4, max(1, 1 - math.floor(math.log10(points))))
    return (f"The LMG (Shapley) decomposition of {r2_name} gives shares close to the relative weights: the largest "
            f"difference is {fmt.number(points, digits)} percentage points ({row['driver']}: "
            f"{fmt.pct(row['lmg_share'], digits)} against {fmt.pct(row['share'], digits)}).")


def priority_lines(table: pd.DataFrame, reliable: bool = True) -> list[str]:
    """The drivers under each label of the importance-performance map (``priority``), "cannot tell yet" last.

    A driver is labelled only when its share interval lies wholly on one side
    of the equal share (1 / number of drivers); the others are listed as
    "cannot tell yet" with their intervals.
    """
    cut = fmt.pct(1 / len(table), 1)
    lines = [f"- The importance-performance map labels a driver only where its share interval lies wholly above or "
             f"wholly below the equal share, {cut}:"]
    for q in PRIORITIES[:-1]:
        members = list(table.loc[table["priority"] == q, "driver"])
        if members:
            lines.append(f"- **{q}** ({QUADRANT_MEANING[q]}): {_join(members)}.")
    unclear = table[table["priority"] == UNCLEAR]
    if len(unclear):
        why = ("the bootstrap intervals are unreliable" if not reliable else
               f"the share interval includes {cut}, so the data cannot tell whether the driver matters more or less "
               "than average")
        lines.append(f"- **{UNCLEAR}** ({why}): {'; '.join(_share(row) for _, row in unclear.iterrows())}.")
    return lines
