"""Plotting functions: tidy data in, matplotlib axes out (seaborn style).

One module per study; everything is re-exported here.
"""
from __future__ import annotations

from .leaders import cumulative_growth, score_vs_growth, yearly_difference
from .loyalty import rate_by_tier
from .retention import forest, km_curves, rmst_bars

__all__ = ["cumulative_growth", "yearly_difference", "score_vs_growth", "rate_by_tier", "km_curves", "forest", "rmst_bars"]
