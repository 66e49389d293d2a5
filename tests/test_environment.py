"""environment.yml (conda) lists the same dependencies as pyproject.toml, with the same bounds."""
from __future__ import annotations

import re

import tomllib
import yaml
from conftest import ROOT


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = dict(_split(d) for d in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    conda_deps.pop("python"), conda_deps.pop("pip")
    assert conda_deps == pip_deps


def test_design_card_packages_are_dependencies():
    deps = {_split(d)[0] for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert {"jupyterlab", "papermill", "pandas", "seaborn", "lifelines", "pingouin", "nbval"} <= deps


def test_lifelines_pandas_pin():
    deps = dict(_split(d) for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert deps["pandas"] == ">=2.3,<3"
