"""The formatting layer and the wording rules (table-driven)."""
from __future__ import annotations

import functools
import math

import pytest

from cxlab import fmt, words


@pytest.mark.parametrize("p, text", [
    (None, "p not defined"), (math.nan, "p not defined"), (0.0, "p < 0.001"), (4.72e-13, "p < 0.001"),
    (0.000999, "p < 0.001"), (0.001, "p = 0.0010"), (0.0372, "p = 0.037"), (0.04999, "p = 0.050"),
    (0.6221, "p = 0.62"), (0.12, "p = 0.12"), (0.999, "p = 0.999"), (1.0, "p = 1.00"),
])
def test_p_value(p, text):
    assert fmt.p_value(p) == text


@pytest.mark.parametrize("x, kw, text", [
    (0.8715, {}, "87%"), (0.14, {}, "14%"), (1.091, {"signed": True}, "+109%"), (-0.004, {}, "0%"),
    (0.1234, {"digits": 1}, "12.3%"), (None, {}, "not defined"), (12.5, {}, "1,250%"),
])
def test_pct(x, kw, text):
    assert fmt.pct(x, **kw) == text


def test_interval_and_numbers():
    assert fmt.interval(0.87, 0.85, 0.89) == "87% (85% to 89%)"
    assert fmt.interval(2.5, 1.25, 4.0, lambda v: fmt.number(v, 2), "95% CI ") == "2.50 (95% CI 1.25 to 4.00)"
    assert fmt.interval(0.5, None, 0.7) == "50% (interval not defined)"
    assert fmt.number(1234567.891) == "1,234,567.89" and fmt.number(-0.001) == "0.00"
    assert fmt.number(3.9e-1, 2) == "0.39" and "e" not in fmt.number(1e-12, 3)
    assert fmt.count(20000) == "20,000" and fmt.quantity(12.34, "months") == "12.3 months"
    assert fmt.points(0.052) == "+5.2 points"


@pytest.mark.parametrize("n, word, text", [(1, "study", "1 study"), (2, "study", "2 studies"),
                                            (0, "customer", "0 customers"), (1000, "day", "1,000 days")])
def test_plural(n, word, text):
    assert fmt.plural(n, word) == text


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (22, "22nd"), (75, "75th")])
def test_ordinal(n, text):
    assert fmt.ordinal(n) == text


@pytest.mark.parametrize("estimate, p, text", [
    (-0.49, 0.622, "none"), (2.1, 0.03, "up"), (-2.1, 0.03, "down"), (2.1, None, "none"), (None, 0.01, "none"),
    (0.0, 0.01, "none"), (3.0, 0.05, "none"),
])
def test_direction_only_when_significant(estimate, p, text):
    assert words.direction(estimate, p, "up", "down", "none") == text


def test_verdict():
    assert words.verdict(0.01, "differs", "does not differ") == "differs (p = 0.010)"
    assert words.verdict(0.2, "differs", "does not differ") == "does not differ (p = 0.20)"
    assert words.verdict(None, "differs", "does not differ") == "cannot be tested"


# --- tables: labels, kinds, the styler -------------------------------------------------------------------

import re

import pandas as pd


@pytest.mark.parametrize("name, unit, text", [
    ("ci_low", None, "95% CI low"), ("rmst_se", None, "RMST standard error"), ("S(12)", "months",
     "survival at 12 months"), ("n_leaders", None, "leaders (n)"), ("welch_p", None, "Welch p"),
    ("hedges_g", None, "Hedges' g"), ("cx_score", None, "CX score"), ("some_new_key", None, "some new key"),
])
def test_labels(name, unit, text):
    assert fmt.label(name, time_unit=unit) == text


def test_label_with_unit():
    assert fmt.label("median", units={"median": "months"}) == "median (months)"


@pytest.mark.parametrize("name, kind", [("p", "p"), ("p_holm", "p"), ("welch_p", "p"), ("n", "count"),
                                        ("n_laggards", "count"), ("rate", "pct"), ("S(24)", "pct"),
                                        ("leader_cumulative", "pct"), ("period", "text"), ("hedges_g", "number")])
def test_kind_of(name, kind):
    assert fmt.kind_of(name) == kind


def _cells(styler) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", styler.to_html(), re.S)]


def test_table_formats_every_cell_for_readers():
    frame = pd.DataFrame({"tier": ["1", "5"], "n": [1912, 20000], "rate": [0.140167, 0.871479],
                          "p": [4.72e-13, 0.0372], "hedges_g": [3.9e-01, 1e-9], "ratio": [1234567.891, None]})
    cells = _cells(fmt.table(frame.set_index("tier")))
    assert cells == ["1", "1,912", "14%", "&lt; 0.001", "0.39", "1,234,567.89",
                     "5", "20,000", "87%", "0.037", "0.00", "not defined"]  # the named index is a column
    html = fmt.table(frame.set_index("tier")).to_html()
    assert not re.search(r"\d[eE][+-]?\d", html), "scientific notation in a table"
    assert ">Hedges' g<" in html and ">tier<" in html


def test_table_kinds_units_and_default_index():
    frame = pd.DataFrame({"tier": ["a"], "median": [12.345], "ci_low": [0.1234]})
    styler = fmt.table(frame, kinds={"ci_low": "pct1"}, units={"median": "months"})
    html = styler.to_html()
    assert "median (months)" in html and _cells(styler) == ["a", "12.35", "12.3%"]
    assert 'class="row_heading' not in html  # the 0, 1, 2 index is hidden
    with pytest.raises(ValueError, match="unknown column kind"):
        fmt.table(frame, kinds={"median": "percent"})


def test_table_escapes_data_text():
    frame = pd.DataFrame({"tier": ["<script>x</script>"], "n": [3]})
    html = fmt.table(frame).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_table_text_matches_the_styler():
    frame = pd.DataFrame({"outcome": ["refer"], "rate": [0.05], "p": [0.5]})
    assert fmt.table_text(frame).split() == ["outcome", "rate", "p", "refer", "5%", "0.50"]


@pytest.mark.parametrize("p, text", [(None, "not defined"), (1e-20, "< 0.001"), (0.0372, "0.037"), (1.0, "1.00")])
def test_bare_p_value(p, text):
    assert fmt.p_value(p, bare=True) == text


@pytest.mark.parametrize("x, digits, text", [(0.142, 0, "+14"), (-0.3, 0, "-30"), (0.0, 0, "0"), (0.0004, 0, "0"),
                                             (0.2456, 1, "+24.6"), (-1.0, 0, "-100"), (float("nan"), 0, "not defined"),
                                             (None, 0, "not defined")])
def test_nps_on_its_hundred_point_scale(x, digits, text):
    assert fmt.nps(x, digits) == text
    assert fmt.cell_formatter("nps")(x) == fmt.nps(x)


@pytest.mark.parametrize("args, kw, text", [
    # issue 20: a bound that reads as the estimate gets one more decimal
    ((0.766, 0.762, 0.7704), {}, "76.6% (76.2% to 77.0%)"),
    ((0.7704, 0.766, 0.7749), {}, "77.0% (76.6% to 77.5%)"),
    ((0.1404, 0.1252, 0.1424), {"formatter": fmt.nps, "level": "95% CI "}, "+14.0 (95% CI +12.5 to +14.2)"),
    # one more decimal is not enough: two more, and no further
    ((0.7660, 0.7659, 0.7700), {}, "76.60% (76.59% to 77.00%)"),
    ((0.76600, 0.765999, 0.767), {}, "76.60% (76.60% to 76.70%)"),
    # estimate and bounds through their own formatters
    ((0.003, 0.0001, 0.0031), {"formatter": fmt.points, "bounds": functools.partial(fmt.nps, digits=1)},
     "+0.30 points (+0.01 to +0.31)"),
    ((2.5, 2.499, 4.0), {"formatter": functools.partial(fmt.number, digits=2)}, "2.500 (2.499 to 4.000)"),
    # unchanged: bounds already read apart, a bound equal to the estimate (a clipped NPS), no digits parameter
    ((0.87, 0.85, 0.89), {}, "87% (85% to 89%)"),
    ((1.0, 0.8, 1.0), {"formatter": fmt.nps}, "+100 (+80 to +100)"),
    ((0.766, 0.762, 0.7704), {"formatter": lambda v: fmt.pct(v)}, "77% (76% to 77%)"),
])
def test_interval_bound_never_reads_as_its_estimate(args, kw, text):
    assert fmt.interval(*args, **kw) == text


@pytest.mark.parametrize("x, digits, text", [
    (0.35, 1, "0.4"), (0.31, 1, "0.4"), (0.3, 1, "0.3"), (100 * 0.003, 1, "0.3"), (100 * 0.0035, 1, "0.4"),
    (-0.35, 1, "-0.3"), (1234.01, 0, "1,235"), (2.0, 2, "2.00"), (None, 1, "not defined"),
])
def test_at_most_rounds_a_bound_up(x, digits, text):
    # issue 20: "within 0.3 points" for a gap of 0.35 states a bound below the value
    assert fmt.at_most(x, digits) == text
    if x is not None:
        assert float(text.replace(",", "")) >= x - 1e-12
