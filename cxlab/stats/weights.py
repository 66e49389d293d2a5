"""Weights: Kish's effective sample size."""
from __future__ import annotations

import numpy as np


def effective_n(sum_w: np.ndarray | float, sum_w2: np.ndarray | float) -> np.ndarray | float:
    """Kish's effective sample size from the sums of the weights and of their squares: (sum w)^2 / sum w^2
    (0 where there is no weight), elementwise, so per group from group sums."""
    sum_w, sum_w2 = np.asarray(sum_w, dtype=float), np.asarray(sum_w2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(sum_w2 > 0, sum_w * sum_w / np.where(sum_w2 > 0, sum_w2, 1.0), 0.0)
    return float(out) if out.ndim == 0 else out


def kish_n(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 of the weights of the rows (0 for no weight).

    Unchanged when every weight is multiplied by the same constant; equals the
    number of rows when all weights are equal.
    """
    w = np.asarray(weights, dtype=float)
    return float(effective_n(np.sum(w), np.sum(w * w)))
