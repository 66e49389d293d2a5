"""Rendering both pages shares work (memoised nbconvert filters) without mixing up cells (issue 15)."""
from __future__ import annotations

import base64

import nbformat

from cxlab.batch.render import render_html

PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                     "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _notebook(attachment: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell("## Figure\n\n![chart](attachment:chart.png)")
    cell["attachments"] = {"chart.png": {"image/png": attachment}}
    table = nbformat.v4.new_code_cell("t")
    table.outputs = [nbformat.v4.new_output("display_data", {"text/html": "<table><tr><td>7 &lt; 8</td></tr></table>"
                                                              "<script>alert(1)</script>"})]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Intro\n\nText."), cell, table])


def test_same_text_with_other_attachments_renders_its_own_attachment():
    one, two = PNG, PNG[:-4] + "AAAA"
    first = render_html(_notebook(one), code=False, title="T")
    second = render_html(_notebook(two), code=False, title="T")
    assert one in first and two not in first
    assert two in second and one not in second


def test_memoised_pages_equal_a_first_rendering():
    from cxlab.batch import render
    nb = _notebook(PNG)
    pages = [render_html(nb, code=code, title="T") for code in (False, True)]
    render._clean_html.cache_clear()
    render._markdown.cache_clear()
    assert [render_html(nb, code=code, title="T") for code in (True, False)] == pages[::-1]
    for page in pages:
        assert "<script" not in page and "7 &lt; 8" in page
