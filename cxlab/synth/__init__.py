"""Embedded data sets with documented ground truth, deterministic by seed.

Each generator's docstring states the truth it was drawn from; its ``TRUTH``
constant holds the same numbers for tests and reports. Each lives in the module
of its name, imported on first use (:data:`GENERATORS`): checking a study file's
options needs a signature, not scipy, lifelines and the drivers' truth.

- ``customers`` - loyalty outcomes by experience rating (loyalty study).
- ``lifecycles`` - customer tenures with a known hazard ratio (retention study).
- ``panel`` - a company panel with a known leader premium (leaders study).
- ``survey`` - survey waves with a known NPS per plan and wave (metrics study).
- ``drivers`` - survey ratings with known population relative weights (drivers study).
- ``transactions`` - a transaction log with known BG/NBD and Gamma-Gamma parameters per NPS group
  (value study; ``n`` counts customers).

Row-wise generators go up to 100,000,000 rows, drawn in chunks
(:mod:`cxlab.synth.chunks`); :func:`write_parquet` writes such a set straight
to a Parquet file (``cxlab synth NAME --n N --out FILE.parquet``).
"""
from __future__ import annotations

import importlib
import inspect
import re
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

from ..errors import StudyFileError

NAMES = ("customers", "lifecycles", "panel", "survey", "drivers", "transactions")
"""The embedded generators: each is the function of that name in the module of that name."""


class _Generators(Mapping[str, Callable[..., Any]]):
    """The generators by name, each module imported when its generator is first asked for."""

    def __getitem__(self, name: str) -> Callable[..., Any]:
        if name not in NAMES:
            raise KeyError(name)
        return getattr(importlib.import_module(f"{__name__}.{name}"), name)

    def __iter__(self) -> Iterator[str]:
        return iter(NAMES)

    def __len__(self) -> int:
        return len(NAMES)


GENERATORS: Mapping[str, Callable[..., Any]] = _Generators()


def _checked(name: str, options: dict[str, Any]) -> dict[str, Any]:
    if name not in GENERATORS:
        raise StudyFileError(f"key 'data.synthetic': unknown generator {name!r} (one of {', '.join(GENERATORS)})")
    try:
        return check_options(name, options)
    except ValueError as exc:
        raise StudyFileError(f"key 'data.options': {exc}") from None


def n_unit(name: str) -> str:
    """What generator ``name``'s ``n`` counts: its module's ``N_UNIT`` (e.g. "companies"), else "rows"."""
    if name not in NAMES:
        return "rows"
    return getattr(importlib.import_module(f"{__name__}.{name}"), "N_UNIT", "rows")


def generate(name: str, n: int | None = None, seed: int = 0, **options: Any) -> Any:
    """Call the generator ``name`` with ``n`` (when given), ``seed`` and ``options``.

    More rows than one call draws come in chunks (:mod:`cxlab.synth.chunks`), concatenated.

    Raises
    ------
    StudyFileError
        For an unknown generator or an option it does not take.
    """
    import pandas as pd

    options = _checked(name, options)
    func = GENERATORS[name]
    if n is None:
        return func(seed=seed, **options)
    from . import chunks

    parts = list(chunks.chunks(func, name, n, seed, **options))
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def write_parquet(name: str, n: int, path: str | Path, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None, **options: Any) -> Path:
    """Write ``n`` rows of generator ``name`` to the Parquet file ``path``, chunk by chunk.

    The rows are those :func:`generate` gives for the same arguments; memory
    stays at one chunk. Raises :class:`StudyFileError` for an unknown
    generator, a generator that is not row-wise (``panel``) or a bad option.
    """
    from . import chunks

    options = _checked(name, options)
    if name not in chunks.LIMITS:
        raise StudyFileError(f"synthetic {name!r} draws companies, not rows: it cannot be written in chunks "
                             f"(row-wise generators: {', '.join(chunks.LIMITS)})")
    return chunks.write_parquet(GENERATORS[name], name, n, path, seed, progress, **options)


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The ``options`` of generator ``name`` checked against its signature: known names, right types, finite.

    Raises
    ------
    ValueError
        One line naming the option (study-file validation turns it into a :class:`StudyFileError`).
    """
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    func = GENERATORS[name]
    accepted = {k: p for k, p in inspect.signature(func).parameters.items() if k not in ("n", "seed")}
    hints = typing.get_type_hints(func)
    out = {}
    for key, value in options.items():
        if key not in accepted:
            raise ValueError(f"{key!r} is not an option of synthetic {name!r} (options: {', '.join(accepted)})")
        try:
            adapter = TypeAdapter(hints.get(key, Any), config=ConfigDict(allow_inf_nan=False))
            out[key] = adapter.validate_python(value)
        except ValidationError as exc:
            raise ValueError(f"option {key!r}: {exc.errors()[0]['msg']} (got {str(value)[:40]!r})") from None
    bad = _OPTION_RANGES.get(name, {})
    for key, (lo, hi) in bad.items():
        value = out.get(key)
        if isinstance(value, (int, float)) and not lo <= value <= hi:
            raise ValueError(f"option {key!r} must lie in [{lo}, {hi}], got {value}")
    return out


#: The real domain of the generators' numeric options (the signature gives only the type).
_OPTION_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "panel": {"periods": (2, 200), "start": (1, 9999), "missing": (0.0, 0.9), "sectors": (1, 50)},
    "transactions": {"rate": (0.01, 100.0)},
}


def describe(name: str) -> str:
    """The first paragraphs of a generator's docstring, for the report's ground-truth box (Sphinx roles such as
    ``:func:`premium``` shown as plain code, ```premium```)."""
    doc = inspect.getdoc(GENERATORS[name]) or ""
    return _SPHINX_ROLE.sub(r"`\1`", doc.split("\nParameters")[0].strip())


_SPHINX_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):`[~.]?([^`]+)`")


__all__ = ["NAMES", "GENERATORS", "generate", "write_parquet", "describe", "check_options"]
