"""Notebooks are stored without outputs, except cells nbval checks; each has a working parameters cell."""
from __future__ import annotations

import json

import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_checked_cells_store_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and cell.get("outputs"):
            assert "NBVAL_CHECK_OUTPUT" in src, f"{path.name} cell {i} stores outputs nbval does not check"
            assert not any("image/png" in o.get("data", {}) for o in cell["outputs"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell(path):
    nb = json.loads(path.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    for name in ("study =", "study_dir =", "results_path = None"):
        assert name in src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_report_anatomy(path):
    """Plumbing is tagged for the exporter to hide; the report has a summary, caveats and a Methods section."""
    nb = json.loads(path.read_text())
    src = {i: "".join(c["source"]) for i, c in enumerate(nb["cells"])}
    tags = {i: c.get("metadata", {}).get("tags", []) for i, c in enumerate(nb["cells"])}
    for i, text in src.items():
        plumbing = (text.lstrip().startswith("# NBVAL_CHECK_OUTPUT") or "parameters" in tags[i]
                    or "record(" in text)
        if plumbing:
            assert "remove_cell" in tags[i], f"{path.name} cell {i} must be tagged remove_cell"
        assert not text.lstrip().startswith("## Record"), f"{path.name}: no Record section in a report"
        assert "DESIGN section" not in text
    visible_md = [t for i, t in src.items() if nb["cells"][i]["cell_type"] == "markdown" and "remove_cell" not in tags[i]]
    assert not any(t.lstrip().startswith("# ") for t in visible_md), "the study's title is the one h1"
    code = "\n".join(src.values())
    for needed in ("report.summary(", "report.caveats(", "report.methods(", "plots.show("):
        assert needed in code, f"{path.name} lacks {needed}"
