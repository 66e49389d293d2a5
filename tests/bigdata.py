"""Synthetic 100,000-row data sets shared by the sufficient-statistics tests (loyalty and metrics).

Deterministic by seed (numpy's Generator): the same rows on every machine, so results stored from the
row-level implementation (``tests/data/*_reference.json``) stay comparable.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlab.synth.customers import customers
from cxlab.synth.survey import survey

N = 100_000
TOL = 1e-9
NAMED_TIERS = {"poor": [1, 2.5], "fair": [3, 3.5], "good": [4, 5]}


def loyalty_frame(n: int = N, seed: int = 15) -> pd.DataFrame:
    """Customers (``cxlab.synth.customers``) with half-point ratings, missing values, a rare outcome and weights.

    - ``experience``: the 1-5 rating, plus 0.5 on about 5% of the rows below 5 (9 distinct values); 0.5% missing;
    - outcomes ``repurchase``, ``recommend``, ``retain`` (1% missing), ``refer`` (3% missing) and ``rare``
      (about 20 yes in all: small expected counts, so the Monte Carlo p is computed);
    - ``freq``: frequency weights 1-4; ``samp``: sampling weights, gamma(2, 1.5), 0.2% missing.
    """
    rng = np.random.default_rng(seed + 1_000)   # not the generator's own stream (seed): independent draws
    frame = customers(n=min(n, 1_000_000), seed=seed).drop(columns="customer_id")
    x = frame["experience"].to_numpy(float)
    x = np.where((rng.random(n) < 0.05) & (x < 5), x + 0.5, x)
    x[rng.random(n) < 0.005] = np.nan
    frame["experience"] = x
    frame = frame.astype({c: float for c in ("repurchase", "recommend", "retain", "refer")})
    frame.loc[rng.random(n) < 0.01, "retain"] = np.nan
    frame.loc[rng.random(n) < 0.03, "refer"] = np.nan
    frame["rare"] = (rng.random(n) < 20 / n).astype(float)
    frame["freq"] = rng.integers(1, 5, n).astype(float)
    samp = rng.gamma(2.0, 1.5, n)
    samp[rng.random(n) < 0.002] = np.nan
    frame["samp"] = samp
    return frame


LOYALTY_OUTCOMES = ["repurchase", "recommend", "retain", "refer", "rare"]
LOYALTY_CASES = {f"{t}-{w}": (t, w) for t in ("ratings", "named") for w in ("none", "frequency", "sampling")}


def loyalty_raw(case: str) -> dict:
    """The study file of ``case`` (``tiers-weight``) reading ``data.parquet``."""
    tiers, weight = LOYALTY_CASES[case]
    raw = {"study": "big", "notebook": "loyalty", "data": {"path": "data.parquet"},
           "experience": {"scale": [1, 5], "tiers": NAMED_TIERS if tiers == "named" else None},
           "outcomes": LOYALTY_OUTCOMES}
    if weight != "none":
        raw["weight"] = {"column": "freq" if weight == "frequency" else "samp", "kind": weight}
    return raw


def metrics_frame(n: int = N, seed: int = 15) -> pd.DataFrame:
    """Survey responses (``cxlab.synth.survey``, 4 waves, scenario "mix") with missing values and weights.

    NPS missing on 2% of the rows, a segment value missing on 1%, CSAT in half points on 3% (a non-integer
    rating), ``freq`` frequency weights 1-4 and ``samp`` sampling weights gamma(2, 1.5) (0.2% missing).
    """
    rng = np.random.default_rng(seed + 1_000)   # not the generator's own stream (seed): independent draws
    frame = survey(n=n, seed=seed, waves=4, scenario="mix").drop(columns="response_id")
    frame["nps"] = frame["nps"].astype(float)
    frame.loc[rng.random(n) < 0.02, "nps"] = np.nan
    frame.loc[rng.random(n) < 0.01, "region"] = None
    half = (rng.random(n) < 0.03) & (frame["csat"] < 5)
    frame.loc[half, "csat"] += 0.5
    frame["freq"] = rng.integers(1, 5, n).astype(float)
    samp = rng.gamma(2.0, 1.5, n)
    samp[rng.random(n) < 0.002] = np.nan
    frame["samp"] = samp
    return frame


METRICS_CASES = ("none", "frequency", "sampling")


def metrics_raw(weight: str) -> dict:
    """The metrics study of ``weight`` (none, frequency, sampling) reading ``data.parquet``."""
    raw = {"study": "big", "notebook": "metrics", "data": {"path": "data.parquet"},
           "segments": ["plan", "region", "channel"], "mix_by": "plan"}
    if weight != "none":
        raw["weight"] = {"column": "freq" if weight == "frequency" else "samp", "kind": weight}
    return raw


def same(got, ref, where="results"):
    """Every key equal: numbers to a relative 1e-9, everything else exactly."""
    if isinstance(ref, dict):
        assert set(got) == set(ref), where
        for key in ref:
            same(got[key], ref[key], f"{where}.{key}")
    elif isinstance(ref, list):
        assert len(got) == len(ref), where
        for i, (a, b) in enumerate(zip(got, ref)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(ref, bool) or ref is None or isinstance(ref, str):
        assert got == ref, where
    else:
        assert isinstance(got, (int, float)) and not isinstance(got, bool), where
        assert got == pytest.approx(ref, rel=TOL, abs=1e-300), f"{where}: {got!r} != {ref!r}"
