"""What a report says about the data read is inert markdown (issue 22's review): file names, SPSS/Stata value
labels and period labels come from the user's files, so none of them may become a link, emphasis or a heading
when the notebook's markdown is rendered (by mistune, the renderer nbconvert uses)."""
from __future__ import annotations

import mistune

from cxlab.data import ReadSummary
from cxlab.studies.leaders.load import PanelSummary

HOSTILE = "[click](https://example.com) *loud* <b>x</b>"


def rendered(markdown: str) -> str:
    return mistune.html(markdown)


def test_value_labels_in_the_data_paragraph_stay_text():
    summary = ReadSummary(source="survey.sav", rows_read=10, columns={"experience": "Q1"},
                          value_labels={"experience": {1: HOSTILE, 5: "Excellent"}})
    html = rendered(summary.describe())
    assert "<a " not in html and "<em>" not in html and "<b>" not in html
    assert "[click](https://example.com)" in html.replace("&amp;", "&")


def test_leaders_data_paragraph_names_files_and_periods_as_text():
    summary = PanelSummary(source="panel_[x](https://example.com).csv", rows_read=6, columns={"company": "c"},
                           companies=2, periods=["*2020*", "2021"], company_periods=4, dropped={HOSTILE: 1},
                           benchmark="**bench**.csv")
    html = rendered(summary.describe())
    assert "<a " not in html and "<em>" not in html and "<strong>" not in html and "<b>" not in html
    assert "panel_[x](https://example.com).csv" in html
