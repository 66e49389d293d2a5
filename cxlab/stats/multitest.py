"""Adjustment of p-values for multiple comparisons."""
from __future__ import annotations

import math
from typing import Sequence


def holm(p: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values (None stays None and is not counted)."""
    vals = [(i, float(x)) for i, x in enumerate(p) if x is not None and not math.isnan(x)]
    m = len(vals)
    out: list[float | None] = [None] * len(p)
    running = 0.0
    for rank, (i, x) in enumerate(sorted(vals, key=lambda t: t[1])):
        running = max(running, min(1.0, (m - rank) * x))
        out[i] = running
    return out


def level_labels(k: int) -> list[str]:
    """Labels A, B, ..., Z, AA, AB, ... for ``k`` levels in order (as survey banner tables label columns)."""
    out = []
    for i in range(k):
        label, j = "", i
        while True:
            label = chr(ord("A") + j % 26) + label
            j = j // 26 - 1
            if j < 0:
                break
        out.append(label)
    return out


def significance_letters(levels: Sequence[str], pairs: Sequence[tuple[str, str, float | None, float | None]],
                         alpha: float = 0.05) -> dict[str, str]:
    """Compact significance letters: for each level, the labels of the levels it exceeds.

    Parameters
    ----------
    levels : sequence of str
        The levels in order; they are labelled A, B, C... in this order.
    pairs : sequence of (a, b, diff, p_adjusted)
        ``diff`` = a - b. Level a exceeds b when diff > 0 and p_adjusted < alpha
        (and b exceeds a when diff < 0).

    Returns
    -------
    dict
        ``{level: "BC"}``, "" for a level that exceeds none.
    """
    label = dict(zip(levels, level_labels(len(levels))))
    beats: dict[str, set[str]] = {lv: set() for lv in levels}
    for a, b, diff, p in pairs:
        if diff is None or p is None or not p < alpha or diff == 0:
            continue
        winner, loser = (a, b) if diff > 0 else (b, a)
        beats[winner].add(loser)
    return {lv: "".join(label[x] for x in levels if x in beats[lv]) for lv in levels}
