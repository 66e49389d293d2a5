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
