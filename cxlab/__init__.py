"""cxlab: a Jupyter-based research workbench for customer experience.

The package is imported lazily: ``import cxlab`` is cheap, and each module
(``cxlab.loyalty``, ``cxlab.retention``, ``cxlab.leaders``, ...) loads on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_MODULES = {"data", "errors", "leaders", "loyalty", "params", "plots", "record", "report", "retention",
            "runner", "stats", "synth", "tiers"}
_FUNCTIONS = {
    "parse_study": "params", "load_study_file": "params",
    "CxlabError": "errors", "DataError": "errors", "StudyFileError": "errors",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module 'cxlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _MODULES | set(_FUNCTIONS))
