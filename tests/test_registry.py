"""The registry is the one list of studies; every registered study has every part (issue 8)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from cxlab import synth
from cxlab.params import StudyBase, load_study_file
from cxlab.registry import STUDIES

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("spec", "load", "analysis", "narrative", "figures")


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_has_its_parts(name):
    study = STUDIES[name]
    assert issubclass(study.model(), StudyBase)
    for part in PARTS:
        assert (ROOT / "cxlab" / "studies" / name / f"{part}.py").is_file(), part
    assert callable(study.part("load").read)
    assert callable(study.part("analysis").analyze)
    assert callable(study.part("narrative").headline)
    notebook = json.loads(study.notebook_file().read_text())
    tags = [c.get("metadata", {}).get("tags", []) for c in notebook["cells"]]
    assert any("parameters" in t for t in tags), "the notebook needs a cell tagged 'parameters'"
    for generator in study.synthetic:
        assert generator in synth.GENERATORS


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_has_a_default_and_an_example_study_file(name):
    def notebooks(folder):
        return {yaml.safe_load(p.read_text())["notebook"] for p in folder.glob("*.yaml")}
    assert name in notebooks(ROOT / "params"), "a default study in params/"
    assert name in notebooks(ROOT / "params" / "examples"), "a commented example in params/examples/"


def test_study_files_name_only_registered_notebooks():
    for path in [*ROOT.glob("params/*.yaml"), *ROOT.glob("params/examples/*.yaml")]:
        assert load_study_file(path).notebook in STUDIES


def test_readme_lists_every_study():
    readme = (ROOT / "README.md").read_text()
    for name in STUDIES:
        assert f"`notebooks/{name}.ipynb`" in readme


def _imports(path: Path) -> set[str]:
    """Sibling modules of cxlab.batch that ``path`` imports (relative imports ``from .x``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out.add((node.module or "").split(".")[0])
    return out - {""}


def test_batch_modules_have_no_import_cycle():
    modules = {p.stem: _imports(p) for p in (ROOT / "cxlab" / "batch").glob("*.py") if p.stem != "__init__"}
    state: dict[str, int] = {}

    def visit(name, path):
        if state.get(name) == 1:
            raise AssertionError(f"import cycle: {' -> '.join(path + [name])}")
        if state.get(name) == 2:
            return
        state[name] = 1
        for dep in modules.get(name, ()):
            visit(dep, path + [name])
        state[name] = 2

    for name in modules:
        visit(name, [])


def test_no_module_is_overlong():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "cxlab").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 450}
    assert not long, f"split these modules (about 400 lines at most): {long}"
