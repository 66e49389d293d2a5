"""Large synthetic data sets, generated in chunks (up to 100,000,000 rows).

A row-wise generator draws at most ``LIMITS[name]`` rows in one call. Larger
sets are a sequence of chunks of near-equal size, each drawn by the same
generator from the same truth: chunk 0 with the user's ``seed`` (so a set
that fits in one chunk is exactly what the generator gives), chunk ``i`` with
a seed derived from ``(seed, i)``. Identifier columns continue across chunks
(a customer of chunk 2 is never a customer of chunk 1), so per-customer
structure (a survey's repeat respondents) holds within a chunk. The chunk plan
depends on ``(name, n)`` only: :func:`chunks`, :func:`cxlab.synth.generate`
and :func:`write_parquet` give the same rows.

The panel generator draws companies, not rows, and is not chunked.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MAX_ROWS = 100_000_000
#: generator -> (rows one call may draw, identifier columns continued across chunks)
LIMITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "customers": (1_000_000, ("customer_id",)),
    "lifecycles": (2_000_000, ("customer_id",)),
    "survey": (2_000_000, ("response_id", "customer_id")),
    "drivers": (1_000_000, ("response_id",)),
    "transactions": (1_000_000, ("customer_id",)),   # n counts customers (about 4 transactions each)
}


def plan(name: str, n: int) -> list[int]:
    """Rows per chunk for ``n`` rows of generator ``name`` (one chunk when ``n`` fits in one call)."""
    if name not in LIMITS:
        return [n]
    if not 1 <= n <= MAX_ROWS:
        raise ValueError(f"n must be between 1 and {MAX_ROWS:,}, got {n:,}")
    k = math.ceil(n / LIMITS[name][0])
    return [n // k + (i < n % k) for i in range(k)]


def chunk_seed(seed: int, i: int) -> int:
    """The seed of chunk ``i``: ``seed`` itself for chunk 0, else one derived from ``(seed, i)``."""
    if i == 0:
        return seed
    return int(np.random.SeedSequence([seed, i]).generate_state(1, dtype=np.uint32)[0])


def chunks(func: Callable[..., pd.DataFrame], name: str, n: int, seed: int = 0,
           **options: Any) -> Iterator[pd.DataFrame]:
    """The chunks of ``n`` rows of generator ``func`` (registered as ``name``), identifiers continued."""
    ids = LIMITS.get(name, (0, ()))[1]
    offsets = dict.fromkeys(ids, 0)
    for i, rows in enumerate(plan(name, n)):
        frame = func(n=rows, seed=chunk_seed(seed, i), **options)
        for col in ids:
            if col in frame.columns:
                frame[col] += offsets[col]
                offsets[col] = int(frame[col].max())
        yield frame


def write_parquet(func: Callable[..., pd.DataFrame], name: str, n: int, path: str | Path, seed: int = 0,
                  progress: Callable[[int, int], None] | None = None, **options: Any) -> Path:
    """Write ``n`` rows of generator ``name`` to a Parquet file, one row group per chunk.

    The file appears complete or not at all: it is written beside ``path`` and
    renamed when done. ``progress(rows_written, n)`` is called after each chunk.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    writer = None
    done = 0
    try:
        for frame in chunks(func, name, n, seed, **options):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table, row_group_size=len(frame))
            done += len(frame)
            log.info("synthetic %s: %d of %d rows", name, done, n)
            if progress is not None:
                progress(done, n)
        writer.close()
        writer = None
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
