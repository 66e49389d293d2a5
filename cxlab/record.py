"""Results written by a notebook for the runner (DESIGN section 4).

A notebook ends with one call to :func:`record`. Under ``cxlab run`` the
figures go to the file the runner names in the ``results_path`` parameter; run
interactively (``results_path`` None) nothing is written.
"""
from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

log = logging.getLogger(__name__)


def to_json(value: Any) -> Any:
    """Plain JSON data: numpy scalars to Python, NaN and infinities to None, keys to str."""
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:  # pandas NA / NaT
        import pandas as pd
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Largest ``results.json`` read back (a leaders study of thousands of companies writes a few MB).
MAX_RESULTS_BYTES = 256 << 20


def load_results(path: str | Path) -> dict[str, Any]:
    """A published ``results.json`` as a dict; never follows a FIFO or device, never reads without bound.

    Raises
    ------
    OSError
        Missing or unreadable.
    ValueError
        Not a regular file, too large, not JSON, or not a JSON object (the message says which).
    """
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block the run
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_RESULTS_BYTES:
            raise ValueError(f"larger than {MAX_RESULTS_BYTES >> 20} MB")
        raw = fh.read(MAX_RESULTS_BYTES + 1)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deep)") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"not a JSON object (a {type(doc).__name__})")
    return doc


def read_results(path: str | Path) -> dict[str, Any] | None:
    """A published ``results.json`` as a dict, or None when it is missing or unreadable (:func:`load_results`)."""
    try:
        return load_results(path)
    except (OSError, ValueError):
        return None


def record(results: Mapping[str, Any], *, headline: str, figures: Mapping[str, Any] | None = None,
           warnings: list[str] | None = None, path: str | Path | None = None) -> dict[str, Any]:
    """Record a study's figures.

    Parameters
    ----------
    results : mapping
        The analysis figures of DESIGN section 5 (``results`` in ``results.json``).
    headline : str
        The headline in words, computed from the results.
    figures : mapping, optional
        A few headline numbers that the index shows and compares with the previous
        run: name -> number, or name -> ``{value, better, format, unit, half_width}``
        (:func:`cxlab.batch.index.figure_spec` reads both forms).
    warnings : list of str, optional
        Statistical caveats as sentences.
    path : path, optional
        Where to write; None (interactive use) writes nothing. The tables and
        figures the notebook showed (:mod:`cxlab.exports`) go to ``exports/`` beside it.

    Returns
    -------
    dict
        The recorded object, JSON-clean (NaN and infinities are None).
    """
    payload = to_json({"results": dict(results), "headline": {"text": headline, "figures": dict(figures or {})},
                       "warnings": list(warnings or [])})
    if path is not None:
        write_json_atomic(path, payload)
        log.info("recorded results to %s", path)
        from . import exports
        exports.write(Path(path).parent / exports.EXPORTS)
    return payload


SCHEMA = Path(__file__).parent / "schemas" / "results.schema.json"


def validate_results(doc: Mapping[str, Any]) -> list[str]:
    """Problems of a ``results.json`` object against the JSON Schema of DESIGN sections 4 and 5 (empty: valid).

    The schema ships with the package (``cxlab/schemas/results.schema.json``) for
    anyone consuming results.json files.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
