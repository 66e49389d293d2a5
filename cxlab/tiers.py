"""Experience tiers, shared by the loyalty and retention studies (DESIGN section 3)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import check_range, fail_at
from .errors import DataError, EmptyTierWarning, warn
from .params import ExperienceSpec

TOL = 1e-9


def _label(value: float) -> str:
    return f"{value:g}"


def assign_tiers(experience: pd.Series, spec: ExperienceSpec, source: str,
                 column: str = "experience") -> pd.Series:
    """Ordered categorical of tiers (worst to best) for each rating.

    With ``spec.tiers`` null there is one tier per distinct rating, labelled by
    the rating ("1", "4.5"). A rating outside ``spec.scale`` or outside every
    tier is a :class:`DataError` naming an example row. A declared tier with no
    rows emits :class:`EmptyTierWarning`.
    """
    lo, hi = spec.scale
    check_range(experience, lo, hi, source, column)
    if spec.tiers is None:
        values = np.sort(experience.dropna().unique())
        labels = [_label(v) for v in values]
        codes = np.searchsorted(values, experience.to_numpy())
    else:
        labels = list(spec.tiers)
        codes = np.full(len(experience), -1)
        x = experience.to_numpy()
        for i, (a, b) in enumerate(spec.tiers.values()):
            codes[(x >= a - TOL) & (x <= b + TOL)] = i
        bad = (codes < 0) & ~np.isnan(x)
        if bad.any():
            ranges = ", ".join(f"{k} [{a:g}, {b:g}]" for k, (a, b) in spec.tiers.items())
            fail_at(bad, experience, f"falls in no tier ({ranges}); widen the tiers to cover it", source, column)
    codes = np.where(np.isnan(experience.to_numpy()), -1, codes)
    return pd.Series(pd.Categorical.from_codes(codes, categories=labels, ordered=True),
                     index=experience.index, name="tier")


def require_two_tiers(tiers: pd.Series, experience: pd.Series, source: str, column: str = "experience") -> None:
    """DataError unless at least two tiers have rows: a study compares tiers, one tier compares nothing.

    Catches a single row, a rating that never varies and tiers that put every
    rating in one tier, before an analysis could report a tier against itself.
    """
    used = tiers.dropna().unique()
    if len(used) >= 2:
        return
    if len(used) == 0:
        raise DataError("no rows with a rating are left to compare", path=source, column=column)
    n = int(tiers.notna().sum())
    what = "the only row falls" if n == 1 else f"all {n:,} rows fall"
    fail_at(tiers.notna(), experience, f"{what} in tier {str(used[0])!r}: the study compares experience tiers "
            "and needs ratings in at least two of them", source, column)


def warn_empty_tiers(tiers: pd.Series) -> list[str]:
    """Emit :class:`EmptyTierWarning` for each category of ``tiers`` without rows; return their labels."""
    counts = tiers.value_counts(sort=False)
    empty = [str(label) for label, count in counts.items() if count == 0]
    for label in empty:
        warn(EmptyTierWarning, f"Tier {label} has no customers in the data; it is listed "
                               "with n = 0 and left out of the tests.")
    return empty
