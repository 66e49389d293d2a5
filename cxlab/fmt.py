"""One formatting layer for every visible number: notebooks, narrative sentences and the index use it.

Rules: rates as percentages; p-values as "p < 0.001" or two significant
digits; intervals as "87% (85% to 89%)"; thousands separators; units after
every time and value; never scientific notation. Undefined values (None, NaN)
read "not defined".
"""
from __future__ import annotations

import functools
import inspect
import math
from decimal import ROUND_CEILING, Decimal
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


def nps(x: float | None, digits: int = 0) -> str:
    """An NPS (a proportion in [-1, 1]) on the usual -100 to +100 scale, signed: 0.142 -> "+14"."""
    if _missing(x):
        return UNDEFINED
    text = number(100 * x, digits)
    return text if text.startswith("-") or float(text.replace(",", "")) == 0 else "+" + text


def points(x: float | None, digits: int = 1) -> str:
    """A difference of proportions in percentage points, signed: 0.052 -> "+5.2 points"."""
    return UNDEFINED if _missing(x) else f"{100 * x:+,.{digits}f} points"


def p_value(p: float | None, bare: bool = False) -> str:
    """A p-value as a reader wants it: "p < 0.001", else two significant digits ("p = 0.037", "p = 0.62").

    ``bare`` drops the "p" for a table cell: "< 0.001", "0.037", "not defined".
    """
    if _missing(p):
        return UNDEFINED if bare else "p not defined"
    decimals = p_decimals(p)
    text = "< 0.001" if decimals is None else f"= {p:.{decimals}f}"
    return text.removeprefix("= ") if bare else f"p {text}"


def p_decimals(p: float) -> int | None:
    """The decimals :func:`p_value` shows ``p`` with: None below 0.001 ("< 0.001"), else two significant
    digits (2 from 0.1, 3 from 0.01, 4 from 0.001), 3 from 0.995 ("0.996") and 2 from 0.9995 ("1.00")."""
    if p < 0.001:
        return None
    if p >= 0.995:
        return 2 if p >= 0.9995 else 3
    return max(2, 1 - math.floor(math.log10(p)))


def interval(estimate: float | None, low: float | None, high: float | None,
             formatter: Callable[[float | None], str] = pct, level: str = "",
             bounds: Callable[[float | None], str] | None = None) -> str:
    """"87% (85% to 89%)": an estimate with its interval, each through ``formatter``.

    ``level`` (e.g. "95% CI ") is put before the bounds inside the brackets;
    ``bounds`` formats the bounds when they read differently from the estimate
    (the estimate "+5.2 points", the bounds "+3.1"). When a bound differs from
    the estimate but reads the same ("77% (76% to 77%)"), estimate and bounds
    get one more decimal (at most two more) until they read apart
    ("76.8% (76.2% to 77.4%)"); this needs formatters with a ``digits``
    parameter (:func:`pct`, :func:`nps`, :func:`points`, or a
    ``functools.partial`` of :func:`number`), others are used as they are.
    """
    bounds = bounds or formatter
    if _missing(low) or _missing(high):
        return f"{formatter(estimate)} (interval {UNDEFINED})"
    shown, shown_bounds = interval_formatters(estimate, low, high, formatter, bounds)
    return f"{shown(estimate)} ({level}{shown_bounds(low)} to {shown_bounds(high)})"


def interval_formatters(estimate: float | None, low: float | None, high: float | None,
                        formatter: Callable[[float | None], str],
                        bounds: Callable[[float | None], str] | None = None) -> tuple[Callable, Callable]:
    """The formatters :func:`interval` writes the estimate and its bounds with: ``formatter`` (and ``bounds``),
    with one or two more decimals while a bound that differs reads as the estimate. The index writes a
    headline figure with the same digits as the headline (:func:`cxlab.batch.index.format_value`)."""
    bounds = bounds or formatter
    shown, shown_bounds = formatter, bounds
    if _missing(low) or _missing(high):
        return shown, shown_bounds
    for extra in range(1, 3):
        if not _reads_as_estimate(shown_bounds, estimate, low, high):
            break
        more, more_bounds = _more_digits(formatter, extra), _more_digits(bounds, extra)
        if more is None or more_bounds is None:
            break
        shown, shown_bounds = more, more_bounds
    return shown, shown_bounds


def _reads_as_estimate(formatter: Callable[[float | None], str], estimate: float | None, low: float,
                       high: float) -> bool:
    """Whether a bound that differs from the estimate reads the same as the estimate through ``formatter``."""
    if _missing(estimate):
        return False
    text = formatter(estimate)
    return any(formatter(b) == text and abs(b - estimate) > 1e-12 * max(1.0, abs(estimate)) for b in (low, high))


def _more_digits(formatter: Callable[..., str], extra: int) -> Callable[..., str] | None:
    """``formatter`` with ``extra`` more decimals, or None when it has no integer ``digits`` parameter."""
    try:
        param = inspect.signature(formatter).parameters.get("digits")
    except (TypeError, ValueError):
        return None
    if param is None or not isinstance(param.default, int):
        return None
    return functools.partial(formatter, digits=param.default + extra)


def at_most(x: float | None, digits: int = 1) -> str:
    """An upper bound in words ("within 0.4 points", "at most 3%"): ``x`` rounded up at ``digits`` decimals.

    Rounding to nearest would state a bound below the value (a gap of 0.35
    shown as "within 0.3"); the ceiling at the shown precision never does.
    The value is first read to 12 significant digits, so that a float such as
    100 x 0.003 = 0.30000000000000004 stays 0.3.
    """
    if _missing(x):
        return UNDEFINED
    if math.isinf(x):
        return number(x, digits)
    up = Decimal(f"{x:.12g}").quantize(Decimal(1).scaleb(-digits), rounding=ROUND_CEILING)
    return number(float(up), digits)


def quantity(x: float | None, unit: str, digits: int = 1) -> str:
    """A time or value with its unit: "12.3 months", "1,792 EUR"."""
    return UNDEFINED if _missing(x) else f"{number(x, digits)} {unit}".rstrip()


def ordinal(n: int) -> str:
    """1 -> "1st", 75 -> "75th", 22 -> "22nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ratio(x: float | None, digits: int = 2) -> str:
    """A ratio (odds ratio, hazard ratio, Hedges' g): "2.50"; never scientific."""
    return number(x, digits)


# --- tables -----------------------------------------------------------------------------------------------

LABELS: dict[str, str] = {
    "n": "n", "count": "count", "rate": "rate", "tier": "tier", "outcome": "outcome", "term": "term",
    "model": "model", "period": "period", "events": "events", "median": "median", "rmst": "RMST",
    "rmst_se": "RMST standard error", "ci_low": "95% CI low", "ci_high": "95% CI high",
    "median_ci_low": "median 95% CI low", "median_ci_high": "median 95% CI high", "p": "p", "p_holm": "p (Holm)",
    "mc_p": "p (Monte Carlo)", "ph_p": "proportional-hazards p", "statistic": "statistic", "dof": "df",
    "z": "z", "odds_ratio": "odds ratio", "hazard_ratio": "hazard ratio", "separation": "separation",
    "n_leaders": "leaders (n)", "n_laggards": "laggards (n)", "leader_mean": "leader mean growth",
    "laggard_mean": "laggard mean growth", "leader_cumulative": "leader cumulative growth",
    "laggard_cumulative": "laggard cumulative growth", "cumulative_ratio": "cumulative ratio",
    "welch_t": "Welch t", "welch_p": "Welch p", "hedges_g": "Hedges' g", "diff_ci_low": "difference 95% CI low",
    "diff_ci_high": "difference 95% CI high", "leader_quantile": "leader quantile",
    "laggard_quantile": "laggard quantile", "cluster_p": "clustered p", "cluster_diff": "clustered difference",
    "benchmark_cumulative": "benchmark cumulative growth", "n_eff": "effective n", "n_used": "rows used",
    "n_dropped": "rows dropped", "chi2": "chi-square", "trend_z": "trend z", "trend_p": "trend p",
    "chi2_p": "chi-square p", "chi2_statistic": "chi-square", "chi2_dof": "df", "difference": "difference",
    "versus": "versus", "expected_value": "expected value", "value": "value", "growth": "growth",
    "cx_score": "CX score", "top_box": "top-box share", "nps": "NPS", "csat": "CSAT", "ces": "CES",
    "share": "share", "raw": "raw weight", "vif": "VIF", "eligible": "eligible", "reason": "reason",
    "meaning": "meaning", "last_time": "last time", "survival": "survival",
    "or_ci_low": "odds ratio 95% CI low", "or_ci_high": "odds ratio 95% CI high", "rmst_ci_low": "RMST 95% CI low",
    "rmst_ci_high": "RMST 95% CI high", "candidates": "companies with a CX score", "split": "split",
    "se": "standard error", "value_per_period": "value per period", "censored": "censored",
    "company-periods": "company-periods", "figure": "figure", "canonical": "name in cxlab",
    "column in file": "column in the file", "mean": "mean", "mean_ci_low": "mean 95% CI low",
    "mean_ci_high": "mean 95% CI high", "share_from": "share, first wave", "share_to": "share, last wave",
    "nps_from": "NPS, first wave", "nps_to": "NPS, last wave", "diff": "difference",
    "r2": "R²", "r2_ci_low": "R² 95% CI low", "r2_ci_high": "R² 95% CI high", "rank_ci_low": "rank 95% CI low",
    "rank_ci_high": "rank 95% CI high", "condition_number": "condition number", "lmg": "LMG", "lmg_share": "LMG share",
}
"""Readable column labels for the names tables carry (DESIGN key names)."""

_P_NAMES = {"p", "p_holm", "mc_p", "ph_p", "welch_p", "cluster_p", "trend_p", "chi2_p", "p_value", "pval"}
_COUNT_NAMES = {"n", "count", "events", "censored", "n_used", "n_dropped", "n_eff", "rows", "eligible"}
_PCT_NAMES = {"rate", "share", "survival", "censored_share", "top_box", "promoters", "passives", "detractors", "censored_share",
              "leader_mean", "laggard_mean", "leader_cumulative", "laggard_cumulative", "benchmark_cumulative",
              "growth", "lmg_share"}
_TEXT_NAMES = {"period", "tier", "outcome", "term", "model", "leader_quantile", "laggard_quantile", "versus"}


NAME_COLUMNS = ("outcome", "driver", "segment", "tier", "covariate")
"""Columns whose cells are names a study uses: tables and charts show them through the study's labels."""


def label(name: object, time_unit: str | None = None, units: dict[str, str] | None = None,
          labels: dict[str, str] | None = None) -> str:
    """A readable label: ``ci_low`` -> "95% CI low", ``S(12)`` -> "survival at 12 months".

    ``labels``: the study's own labels (the ``labels:`` key of its study file, e.g. ``renew: Renewed contract``),
    looked up first: the one place a name a study uses (an outcome, driver, segment, tier) becomes the words
    a reader sees. ``units`` maps a column to its unit, put in brackets after the label ("median (months)").
    """
    text = str(name)
    if labels and text in labels:
        readable = labels[text]
        unit = (units or {}).get(text)
        return f"{readable} ({unit})" if unit else readable
    if text.startswith("S(") and text.endswith(")"):
        return f"survival at {text[2:-1]}{' ' + time_unit if time_unit else ''}"
    readable = LABELS.get(text, text.replace("_", " "))
    unit = (units or {}).get(text)
    return f"{readable} ({unit})" if unit else readable


def in_sentence(text: str) -> str:
    """A label inside a sentence: "Renewed contract" -> "renewed contract"; an acronym ("NPS", "CSAT") stays."""
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def named(frame: Any, labels: dict[str, str] | None) -> Any:
    """A copy of ``frame`` whose name cells (:data:`NAME_COLUMNS`) read as the study's ``labels`` (for a chart
    or a table a person reads; the figures stay as they are)."""
    if not labels:
        return frame
    out = frame.copy()
    for column in NAME_COLUMNS:
        if column in out.columns:
            out[column] = [label(v, labels=labels) if str(v) in labels else v for v in out[column]]
    return out


def _already_text(values: Any) -> bool:
    """A column of strings (already formatted, or labels) whatever its name: never formatted as a number."""
    if values is None or getattr(values, "dtype", None) is None:
        return False
    import pandas as pd
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    present = [v for v in values if v is not None and v == v]
    return bool(present) and all(isinstance(v, str) for v in present)


def kind_of(name: object, values: Any = None) -> str:
    """The display kind of a column from its name (and dtype): p, count, pct, text or number."""
    text = str(name).lower()
    if text in _TEXT_NAMES or _already_text(values):
        return "text"
    if text in _P_NAMES or text.endswith("_p") or text.startswith("p_"):
        return "p"
    if text in _COUNT_NAMES or text.startswith("n_"):
        return "count"
    if text in _PCT_NAMES or text.endswith(("_rate", "_share")) or (text.startswith("s(") and text.endswith(")")):
        return "pct"
    if values is not None:
        import pandas as pd
        if pd.api.types.is_bool_dtype(values):
            return "bool"
        if not pd.api.types.is_numeric_dtype(values):
            return "text"
        if pd.api.types.is_integer_dtype(values):
            return "count"
    return "number"


def cell_formatter(kind: str | Callable[[Any], str], digits: int = 2) -> Callable[[Any], str]:
    """The function that formats one cell of a column of ``kind``.

    Kinds: ``pct`` ("87%"), ``pct1`` ("87.2%"), ``signed_pct`` ("+109%"), ``points`` ("+5.2 points"),
    ``nps`` (an NPS on its -100 to +100 scale, "+14"),
    ``p`` ("< 0.001", "0.037"), ``count`` ("12,345"), ``number`` (``digits`` decimals), ``ratio``
    (two decimals), ``bool`` ("yes", "no"), ``text`` (as is); or any callable.
    """
    if callable(kind):
        return kind
    table: dict[str, Callable[[Any], str]] = {
        "pct": pct, "pct1": lambda x: pct(x, 1), "signed_pct": lambda x: pct(x, 1, signed=True),
        "points": points, "nps": nps, "p": lambda x: p_value(x, bare=True), "count": count,
        "number": lambda x: number(x, digits), "ratio": ratio,
        "text": lambda x: UNDEFINED if _missing(x) else str(x),
        "bool": lambda x: "yes" if bool(x) else "no",
    }
    if kind not in table:
        raise ValueError(f"unknown column kind {kind!r}; one of {', '.join(table)}")
    fn = table[kind]
    return lambda x: UNDEFINED if _missing(x) or _is_na(x) else fn(x)


NOT_REACHED = "not reached"
_NOT_REACHED_NAMES = {"median", "median_ci_low", "median_ci_high"}
"""Columns of a Kaplan-Meier median and its bounds: a missing value is a median (or bound) not reached."""


def index_as_columns(frame: Any) -> Any:
    """A copy of ``frame`` whose named index is a column (one header row, never a row of index names)."""
    import pandas as pd

    df = frame.copy()
    names = [n for n in df.index.names if n is not None]
    if (not isinstance(df.index, pd.RangeIndex) and len(names) == df.index.nlevels
            and not set(map(str, names)) & set(map(str, df.columns))):
        df = df.reset_index()
    return df


def column_kinds(frame: Any, kinds: dict[str, Any] | None = None) -> dict[Any, Any]:
    """Each column's display kind: ``kinds`` first, else :func:`kind_of`; an interval bound not in ``kinds``
    takes the kind of the figure it bounds: ``x_ci_low`` that of ``x``, a bare ``ci_low``/``ci_high`` that of
    the nearest column before it that is not a bound (a share's interval in percent, a ratio's as a ratio).
    The one rule the report's tables and ``tables.xlsx`` share."""
    kinds = dict(kinds or {})
    col_kinds = {c: kinds.get(str(c)) or kind_of(c, frame[c]) for c in frame.columns}
    names, estimate = {str(c): c for c in frame.columns}, None
    for c in frame.columns:
        bound = str(c).endswith(("ci_low", "ci_high"))
        if bound and str(c) not in kinds:
            base = names.get(str(c).rsplit("_ci_", 1)[0]) if "_ci_" in str(c) else estimate
            if base is not None:
                col_kinds[c] = col_kinds[base]
        elif not bound:
            estimate = c
    return col_kinds


def _is_na(x: Any) -> bool:
    try:
        import pandas as pd
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


_TABLE_IDS = iter(range(1, 1 << 30))


def _escaped(fn: Callable[[Any], str]) -> Callable[[Any], str]:
    import html
    return lambda x: html.escape(fn(x), quote=False)


def _prepare(frame: Any, kinds: dict[str, Any] | None, units: dict[str, str] | None,
             labels: dict[str, str] | None, time_unit: str | None, digits: int) -> tuple:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError("fmt.table takes a DataFrame")
    df = index_as_columns(frame)
    kinds, labels = dict(kinds or {}), dict(labels or {})
    col_kinds = column_kinds(df, kinds)
    names = {c: labels.get(str(c)) or label(c, time_unit, units) for c in df.columns}
    formatters = {names[c]: _reached(cell_formatter(col_kinds[c], digits)) if str(c) in _NOT_REACHED_NAMES
                  else cell_formatter(col_kinds[c], digits) for c in df.columns}
    numeric = [names[c] for c in df.columns if col_kinds[c] not in ("text", "bool")]
    df.columns = [names[c] for c in df.columns]
    if df.columns.duplicated().any():
        raise ValueError(f"two columns share a label: {list(df.columns)}")
    hide_index = isinstance(df.index, pd.RangeIndex)
    if not hide_index:
        df.index = df.index.set_names([None if n is None else labels.get(str(n)) or label(n, time_unit, units)
                                       for n in df.index.names])
    return df, formatters, numeric, hide_index


def _reached(fn: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda x: NOT_REACHED if _missing(x) or _is_na(x) else fn(x)


def table(frame: Any, kinds: dict[str, Any] | None = None, units: dict[str, str] | None = None,
          labels: dict[str, str] | None = None, time_unit: str | None = None, digits: int = 2,
          caption: str | None = None) -> Any:
    """A DataFrame formatted for a reader (a pandas ``Styler``): readable labels, units, formatted cells.

    Rates as percentages, p-values as "< 0.001" or two significant digits,
    counts with thousands separators, never scientific notation; a default
    integer index is hidden.

    Parameters
    ----------
    frame : DataFrame
    kinds : mapping, optional
        Column -> kind (see :func:`cell_formatter`); other columns get :func:`kind_of`.
    units : mapping, optional
        Column -> unit shown after its label ("median (months)").
    labels : mapping, optional
        Column -> label, over :data:`LABELS`.
    time_unit : str, optional
        Unit of ``S(h)`` survival columns.
    digits : int
        Decimals of ``number`` columns.
    caption : str, optional

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    from pandas.io.formats.style import Styler

    df, formatters, numeric, hide_index = _prepare(frame, kinds, units, labels, time_unit, digits)
    styler = Styler(df, uuid=f"cx{next(_TABLE_IDS)}", cell_ids=False, caption=caption)
    styler.format({col: _escaped(fn) for col, fn in formatters.items()})
    styler.format_index(_escaped(lambda v: UNDEFINED if _missing(v) else str(v)), axis="index")
    styler.format_index(_escaped(str), axis="columns")
    styler.set_table_attributes('class="cxlab-table"')
    right = [f"td.col{i}" for i, col in enumerate(df.columns) if col in numeric]
    if right:
        styler.set_table_styles([{"selector": ", ".join(right),
                                  "props": "text-align: right; font-variant-numeric: tabular-nums; "
                                           "white-space: nowrap;"}])
    if hide_index:
        styler.hide(axis="index")
    return styler


def table_text(frame: Any, kinds: dict[str, Any] | None = None, units: dict[str, str] | None = None,
               labels: dict[str, str] | None = None, time_unit: str | None = None, digits: int = 2) -> str:
    """The same table as :func:`table`, as plain text (for checked cells and logs)."""
    df, formatters, _, hide_index = _prepare(frame, kinds, units, labels, time_unit, digits)
    for col, fn in formatters.items():
        df[col] = df[col].map(fn).astype(str)
    return df.to_string(index=not hide_index)
