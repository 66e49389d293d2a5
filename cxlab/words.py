"""Rules that turn figures into words, shared by every study's ``narrative``.

Each rule is small and unit-tested (``tests/test_words.py``):

- a direction is stated only when its test is significant (:func:`direction`);
- observational comparisons use association words, never effect words
  (:data:`EFFECT_WORDS` lists what a report must not say);
- a headline figure always comes with its interval (:func:`~cxlab.fmt.interval`).
"""
from __future__ import annotations

from .fmt import p_value

ALPHA = 0.05
EFFECT_WORDS = ("multiplies", "causes", "caused by", "leads to", "drives", "increases the odds", "effect of",
                "lifetime value", "would bring", "boosts")
"""Words that claim a causal effect; narrative tests check that no sentence of a report contains them."""


def significant(p: float | None, alpha: float = ALPHA) -> bool:
    """True when ``p`` is defined and below ``alpha``."""
    return p is not None and p == p and p < alpha


def direction(estimate: float | None, p: float | None, up: str, down: str, none: str,
              alpha: float = ALPHA) -> str:
    """``up`` or ``down`` by the sign of ``estimate`` when ``p`` is significant, else ``none``.

    >>> direction(-0.49, 0.622, "rises", "falls", "shows no evidence of a trend")
    'shows no evidence of a trend'
    """
    if estimate is None or not significant(p, alpha) or estimate == 0:
        return none
    return up if estimate > 0 else down


def verdict(p: float | None, differs: str, same: str, undefined: str = "cannot be tested",
            alpha: float = ALPHA) -> str:
    """``differs`` when significant, ``same`` when not, ``undefined`` without a p-value; the p-value follows."""
    if p is None or p != p:
        return undefined
    return f"{differs if significant(p, alpha) else same} ({p_value(p)})"
