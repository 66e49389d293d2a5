"""cxlab: a Jupyter-based research workbench for customer experience.

The package is imported lazily: ``import cxlab`` is cheap, and each module
loads on first use. A study's parts live under ``cxlab.studies.<name>``
(``spec``, ``load``, ``analysis``, ``narrative``, ``figures``); the studies are
listed in :mod:`cxlab.registry`; shared estimators are in :mod:`cxlab.stats`
and the batch engine in :mod:`cxlab.batch`.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_MODULES = {"batch", "data", "errors", "params", "record", "registry", "report", "stats", "studies", "synth",
            "tiers"}
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
