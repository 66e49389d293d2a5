"""One formatting layer for every visible number: notebooks, narrative sentences and the index use it.

Rules: rates as percentages; p-values as "p < 0.001" or two significant
digits; intervals as "87% (85% to 89%)"; thousands separators; units after
every time and value; never scientific notation. Undefined values (None, NaN)
read "not defined".
"""
from __future__ import annotations

import math
from typing import Any, Callable

UNDEFINED = "not defined"


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x: float | None, digits: int = 2) -> str:
    """A number with thousands separators and ``digits`` decimals ("1,234.57"); never scientific."""
    if _missing(x):
        return UNDEFINED
    if math.isinf(x):
        return "infinite" if x > 0 else "minus infinite"
    text = f"{x:,.{digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text.replace(",", "")) == 0 else text


def count(n: float | None) -> str:
    """A count with thousands separators ("12,345")."""
    return UNDEFINED if _missing(n) else f"{round(n):,}"


def plural(n: float, word: str, many: str | None = None) -> str:
    """"1 study", "2 studies", "1,000 customers"."""
    many = many or (word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s")
    return f"{count(n)} {word if n == 1 else many}"


def pct(x: float | None, digits: int = 0, signed: bool = False) -> str:
    """A proportion as a percentage: 0.8715 -> "87%" (``digits`` decimals; ``signed`` adds "+")."""
    if _missing(x):
        return UNDEFINED
    text = f"{100 * x:{'+' if signed else ''},.{digits}f}%"
    return text.replace("-0%", "0%").replace("+-", "-") if float(f"{100 * x:.{digits}f}") == 0 and not signed else text


def points(x: float | None, digits: int = 1) -> str:
    """A difference of proportions in percentage points, signed: 0.052 -> "+5.2 points"."""
    return UNDEFINED if _missing(x) else f"{100 * x:+,.{digits}f} points"


def p_value(p: float | None) -> str:
    """A p-value as a reader wants it: "p < 0.001", else two significant digits ("p = 0.037", "p = 0.62")."""
    if _missing(p):
        return "p not defined"
    if p < 0.001:
        return "p < 0.001"
    if p >= 0.995:
        return "p = 1.00" if p >= 0.9995 else f"p = {p:.3f}"
    digits = max(2, 1 - math.floor(math.log10(p)))
    return f"p = {p:.{digits}f}"


def interval(estimate: float | None, low: float | None, high: float | None,
             formatter: Callable[[float | None], str] = pct, level: str = "") -> str:
    """"87% (85% to 89%)": an estimate with its interval, each through ``formatter``.

    ``level`` (e.g. "95% CI ") is put before the bounds inside the brackets.
    """
    if _missing(low) or _missing(high):
        return f"{formatter(estimate)} (interval {UNDEFINED})"
    return f"{formatter(estimate)} ({level}{formatter(low)} to {formatter(high)})"


def quantity(x: float | None, unit: str, digits: int = 1) -> str:
    """A time or value with its unit: "12.3 months", "1,792 EUR"."""
    return UNDEFINED if _missing(x) else f"{number(x, digits)} {unit}".rstrip()


def ordinal(n: int) -> str:
    """1 -> "1st", 75 -> "75th", 22 -> "22nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
