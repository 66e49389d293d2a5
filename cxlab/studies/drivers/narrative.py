"""Key drivers in words: the headline, the index figures, which drivers stand out and what weights mean."""
from __future__ import annotations

import pandas as pd

from ... import fmt
from ...report import half_width
from .analysis import QUADRANTS, DriversResult
from .spec import DriversStudy

QUADRANT_MEANING = {
    "fix first": "important, below-average performance",
    "keep up": "important, above-average performance",
    "low priority": "less important, below-average performance",
    "possible overkill": "less important, above-average performance",
}


def _outcome(study: DriversStudy) -> str:
    return study.data.columns.get("outcome", "outcome")


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
    """Drivers whose ranks cannot be told apart: chains of overlapping 95% rank intervals, best rank first."""
    ordered = table.sort_values(["rank", "share"], ascending=[True, False], kind="stable")
    groups: list[list[str]] = []
    reach = None
    for _, row in ordered.iterrows():
        if groups and reach is not None and row["rank_ci_low"] <= reach:
            groups[-1].append(row["driver"])
            reach = max(reach, row["rank_ci_high"])
        else:
            groups.append([row["driver"]])
            reach = row["rank_ci_high"]
    return [g for g in groups if len(g) > 1]


def headline(result: DriversResult, study: DriversStudy) -> str:
    """The headline: the driver with the largest share of R^2, with its interval, and R^2 with its interval."""
    top = result.table.sort_values("share", ascending=False, kind="stable").iloc[0]
    return (f"{top['driver']} goes with the largest share of the variation in {_outcome(study)} the drivers "
            f"account for: {fmt.interval(top['share'], top['ci_low'], top['ci_high'])} of "
            f"{_r2_name(result)} = {_r2(result)}.")


def headline_figures(result: DriversResult) -> dict[str, dict]:
    """Headline figures for the index: R^2 and the largest share, each with its interval half-width.

    Neither has a direction: a larger R^2 or share is a description of the
    data, not an improvement of the experience.
    """
    r = result.results
    top = result.table.sort_values("share", ascending=False, kind="stable").iloc[0]
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
    r, table = result.results, result.table
    lines = [f"- The {len(table)} drivers together account for {_r2_name(result)} = {_r2(result)} of the "
             f"variation in {_outcome(study)} ({fmt.count(r['n_used'])} responses used, "
             f"{fmt.count(r['n_dropped'])} dropped for a missing value)."]
    leaders = leading_drivers(table)
    if leaders:
        lines.append(f"- The share {'interval' if len(leaders) == 1 else 'intervals'} of {_join(leaders)} "
                     f"{'lies' if len(leaders) == 1 else 'lie'} above those of every other driver.")
    else:
        lines.append("- No driver's share interval lies above those of all the others: the top shares overlap.")
    groups = rank_groups(table)
    if not groups:
        lines.append("- Every rank is distinguishable: no two drivers' 95% rank intervals overlap.")
    elif len(groups) == 1 and len(groups[0]) == len(table):
        lines.append("- No rank is distinguishable from its neighbours': the 95% rank intervals overlap in a chain "
                     "from first to last.")
    else:
        lines.append("- Ranks not distinguishable (their 95% rank intervals overlap): "
                     + "; ".join(_join(g) for g in groups) + ".")
    if r["outcome_type"] == "binary":
        lines.append("- The LMG decomposition is computed for a numeric outcome only.")
    elif table["lmg_share"].isna().all():
        lines.append(f"- The exact LMG decomposition is not computed above 12 drivers (this study has {len(table)}).")
    else:
        gap = (table["lmg_share"] - table["share"]).abs().max()
        lines.append(f"- The LMG (Shapley) decomposition of {_r2_name(result)} gives shares within "
                     f"{fmt.number(100 * gap, 1)} percentage points of the relative weights.")
    for q in QUADRANTS:
        members = list(table.loc[table["quadrant"] == q, "driver"])
        if members:
            lines.append(f"- **{q}** ({QUADRANT_MEANING[q]}): {_join(members)}.")
    lines.append(f"- {association(study)}")
    return "\n".join(lines)
