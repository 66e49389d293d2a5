"""Embedded data sets with documented ground truth, deterministic by seed.

Each generator's docstring states the truth it was drawn from; its ``TRUTH``
constant holds the same numbers for tests and reports.

- :func:`customers` - loyalty outcomes by experience rating (loyalty study).
- :func:`lifecycles` - customer tenures with a known hazard ratio (retention study).
- :func:`panel` - a company panel with a known leader premium (leaders study).
- :func:`drivers` - survey ratings with known population relative weights (drivers study).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

from ..errors import StudyFileError
from .customers import customers
from .drivers import drivers
from .lifecycles import lifecycles
from .panel import panel

GENERATORS: dict[str, Callable[..., Any]] = {
    "customers": customers, "lifecycles": lifecycles, "panel": panel, "drivers": drivers}


def generate(name: str, n: int | None = None, seed: int = 0, **options: Any) -> Any:
    """Call the generator ``name`` with ``n`` (when given), ``seed`` and ``options``.

    Raises
    ------
    StudyFileError
        For an unknown generator or an option it does not take.
    """
    if name not in GENERATORS:
        raise StudyFileError(f"key 'data.synthetic': unknown generator {name!r} (one of {', '.join(GENERATORS)})")
    func = GENERATORS[name]
    accepted = inspect.signature(func).parameters
    for key in options:
        if key not in accepted or key in ("n", "seed"):
            raise StudyFileError(f"key 'data.options.{key}': not an option of synthetic {name!r} "
                                 f"(options: {', '.join(k for k in accepted if k not in ('n', 'seed'))})")
    kwargs = dict(options, seed=seed)
    if n is not None:
        kwargs["n"] = n
    return func(**kwargs)


def describe(name: str) -> str:
    """The first paragraphs of a generator's docstring, for the report's ground-truth box."""
    doc = inspect.getdoc(GENERATORS[name]) or ""
    return doc.split("\nParameters")[0].strip()


__all__ = ["customers", "lifecycles", "panel", "drivers", "generate", "describe", "GENERATORS"]
