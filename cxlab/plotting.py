"""What every figure module shares: literal text and error bars that are never negative.

Importing this module turns matplotlib's mathtext off (``text.parse_math``):
tier labels, outcome, covariate and sector names come from the user's files,
and a ``$`` in them must show as a dollar, not start a formula that fails to
parse and takes the report down with it.
"""
from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.rcParams["text.parse_math"] = False


def error_extent(estimate: object, low: object, high: object) -> np.ndarray:
    """``[[estimate - low], [high - estimate]]`` for ``errorbar``, clipped at 0.

    An interval bound computed separately from its estimate (Wilson at a 0% or
    100% rate, a bootstrap percentile) can land a rounding error inside it;
    matplotlib refuses a negative error bar, so it is drawn as zero.
    """
    est, lo, hi = (np.asarray(v, dtype=float) for v in (estimate, low, high))
    with np.errstate(invalid="ignore"):
        return np.clip(np.vstack([np.atleast_1d(est - lo), np.atleast_1d(hi - est)]), 0, None)
