"""Weights: Kish's effective sample size."""
from __future__ import annotations

import numpy as np


def kish_n(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 (0 for no weight).

    Unchanged when every weight is multiplied by the same constant; equals the
    number of rows when all weights are equal.
    """
    w = np.asarray(weights, dtype=float)
    s2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0
