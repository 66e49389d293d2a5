"""Synthetic survey waves for the CX metrics study: NPS, CSAT and CES by plan, region and channel."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PLANS = ("basic", "plus", "premium")
# (promoter, passive, detractor) probabilities per plan
PLAN_CATEGORIES = {"basic": (0.20, 0.30, 0.50), "plus": (0.45, 0.35, 0.20), "premium": (0.65, 0.25, 0.10)}
BASIC_IMPROVED = (0.35, 0.30, 0.35)            # basic plan in the last wave of scenario "within"
MIX_SHARES = ((0.50, 0.30, 0.20), (0.20, 0.45, 0.35))   # plan shares in the first and last wave, scenario "mix"
STABLE_SHARES = (0.40, 0.35, 0.25)
REGIONS = ("east", "north", "south", "west")
CHANNELS = ("app", "phone", "web")
CHANNEL_SHARES = (0.5, 0.3, 0.2)
# rating distributions given the NPS category (promoter, passive, detractor)
NPS_POINTS = {0: ((9, 10), (0.45, 0.55)), 1: ((7, 8), (0.45, 0.55)),
              2: ((0, 1, 2, 3, 4, 5, 6), (0.05, 0.05, 0.07, 0.10, 0.13, 0.25, 0.35))}
CSAT = ((0.01, 0.02, 0.07, 0.30, 0.60), (0.03, 0.07, 0.30, 0.40, 0.20), (0.20, 0.25, 0.35, 0.15, 0.05))
CES = ((0.01, 0.02, 0.04, 0.08, 0.15, 0.35, 0.35), (0.03, 0.05, 0.10, 0.17, 0.20, 0.25, 0.20),
       (0.15, 0.15, 0.20, 0.20, 0.15, 0.10, 0.05))
CSAT_MISSING, CES_MISSING = 0.05, 0.10
SCENARIOS = ("mix", "within", "stable")


def wave_labels(waves: int) -> list[str]:
    """Quarter labels from 2024-Q1 ("2024-Q1", "2024-Q2", ...), which sort in time order."""
    return [f"{2024 + i // 4}-Q{i % 4 + 1}" for i in range(waves)]


def _plan_setup(scenario: str, waves: int) -> tuple[np.ndarray, np.ndarray]:
    """Plan shares (waves x plans) and category probabilities (waves x plans x 3) of a scenario."""
    t = np.linspace(0, 1, waves)[:, None] if waves > 1 else np.zeros((1, 1))
    probs = np.tile(np.array([PLAN_CATEGORIES[p] for p in PLANS]), (waves, 1, 1))
    if scenario == "mix":
        shares = (1 - t) * np.array(MIX_SHARES[0]) + t * np.array(MIX_SHARES[1])
    else:
        shares = np.tile(np.array(STABLE_SHARES), (waves, 1))
    if scenario == "within":
        probs[:, 0, :] = (1 - t) * np.array(PLAN_CATEGORIES["basic"]) + t * np.array(BASIC_IMPROVED)
    return shares, probs


def truth(waves: int = 4, scenario: str = "mix") -> dict[str, Any]:
    """The true figures of :func:`survey`: per wave, plan shares, NPS per plan and overall, CSAT/CES top-2 shares.

    Returns ``{"waves": [{"wave", "shares": {plan: s}, "nps": {plan: v}, "overall_nps", "csat_top2",
    "ces_top2"}], "mix_effect", "within_effect"}``; the mix and within effects are Kitagawa's symmetric
    split of the first and last wave (written out here, independently of :mod:`cxlab.stats.mix`).
    """
    shares, probs = _plan_setup(scenario, waves)
    csat_top = np.array([sum(c[-2:]) for c in CSAT])
    ces_top = np.array([sum(c[-2:]) for c in CES])
    out = []
    for i, label in enumerate(wave_labels(waves)):
        nps = probs[i, :, 0] - probs[i, :, 2]
        cat = shares[i] @ probs[i]          # overall (promoter, passive, detractor)
        out.append({"wave": label, "shares": dict(zip(PLANS, shares[i].tolist())),
                    "nps": dict(zip(PLANS, nps.tolist())), "overall_nps": float(shares[i] @ nps),
                    "csat_top2": float(cat @ csat_top), "ces_top2": float(cat @ ces_top)})
    n0, n1 = np.array(list(out[0]["nps"].values())), np.array(list(out[-1]["nps"].values()))
    s0, s1 = shares[0], shares[-1]
    return {"waves": out, "mix_effect": float((s1 - s0) @ ((n0 + n1) / 2)),
            "within_effect": float(((s0 + s1) / 2) @ (n1 - n0))}


def survey(n: int = 20_000, seed: int = 0, waves: int = 4, scenario: str = "mix") -> pd.DataFrame:
    """Survey responses in waves, with a known NPS per plan and wave.

    Ground truth. Each response belongs to a plan whose NPS category is drawn
    with these (promoter, passive, detractor) probabilities:

    | plan    | promoters | passives | detractors | true NPS |
    |---------|----------:|---------:|-----------:|---------:|
    | basic   | 20%       | 30%      | 50%        | -30      |
    | plus    | 45%       | 35%      | 20%        | +25      |
    | premium | 65%       | 25%      | 10%        | +55      |

    Scenarios (``scenario``), over ``waves`` quarterly waves from 2024-Q1:

    - ``mix`` (default; the seed's warning that NPS rises when unhappy customers
      leave): every plan's NPS stays the same, but the detractor-heavy basic plan
      shrinks from 50% to 20% of responses (plus 30% to 45%, premium 20% to 35%,
      linearly over the waves). Overall NPS rises from +3.5 to +24.5 (4 waves:
      +3.5, +10.5, +17.5, +24.5) entirely by mix: mix effect +21 points, within
      effect 0, and customers who answer in the first and last wave show no change.
    - ``within``: plan shares fixed at 40% / 35% / 25%; the basic plan improves
      linearly to 35% / 30% / 35% (NPS -30 to 0) in the last wave: overall NPS
      rises from +10.5 to +22.5, all of it within segments (mix effect 0).
    - ``stable``: shares fixed at 40% / 35% / 25%, nothing changes (NPS +10.5).

    Region (east, north, south, west, equally likely) and channel (app 50%,
    phone 30%, web 20%) are drawn independently of everything: their levels
    share the overall NPS. Ratings given the category: NPS 9-10 for promoters,
    7-8 for passives, 0-6 for detractors; CSAT (1-5) top-2 box 90% / 60% / 20%
    and CES (1-7, 7 = very easy) top-2 box 70% / 45% / 15% for promoters /
    passives / detractors; 5% of CSAT and 10% of CES answers are skipped (empty).
    Each plan has a pool of customers, about 1.7 times the plan's largest wave;
    a wave's respondents are drawn from the pool without replacement, so many
    customers answer in several waves, each time drawing afresh from their
    plan's probabilities of that wave. ``cxlab.synth.survey.truth(waves,
    scenario)`` gives every figure exactly.

    Parameters
    ----------
    n : int
        Responses in all, 100 to 2,000,000, split evenly over the waves.
    seed : int
        Seed of the random generator; the same seed gives the same rows.
    waves : int
        Number of waves, 1 to 40.
    scenario : {"mix", "within", "stable"}

    Returns
    -------
    DataFrame
        Columns ``response_id``, ``customer_id``, ``wave``, ``plan``, ``region``,
        ``channel``, ``nps`` (0-10), ``csat`` (1-5, may be empty), ``ces`` (1-7, may be empty).
    """
    if not 100 <= n <= 2_000_000:
        raise ValueError(f"n must be between 100 and 2,000,000, got {n}")
    if not 1 <= waves <= 40:
        raise ValueError(f"waves must be between 1 and 40, got {waves}")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    rng = np.random.default_rng(seed)
    shares, probs = _plan_setup(scenario, waves)
    per_wave = np.full(waves, n // waves) + (np.arange(waves) < n % waves)
    counts = np.stack([rng.multinomial(k, shares[i]) for i, k in enumerate(per_wave)])   # waves x plans
    pools = np.ceil(counts.max(axis=0) / 0.6).astype(int)
    offsets = np.concatenate([[0], np.cumsum(pools)[:-1]])
    wave_idx, plan_idx, cust, cat = [], [], [], []
    for i in range(waves):
        for j in range(len(PLANS)):
            k = int(counts[i, j])
            wave_idx.append(np.full(k, i, np.int8))
            plan_idx.append(np.full(k, j, np.int8))
            cust.append(offsets[j] + rng.permutation(pools[j])[:k] + 1)
            cat.append(rng.choice(3, size=k, p=probs[i, j]))
    w, p, c, cat = map(np.concatenate, (wave_idx, plan_idx, cust, cat))
    nps = np.empty(n, np.int64)
    csat = np.empty(n, float)
    ces = np.empty(n, float)
    for k in range(3):
        sel = cat == k
        points, pr = NPS_POINTS[k]
        nps[sel] = rng.choice(points, size=sel.sum(), p=pr)
        csat[sel] = rng.choice(np.arange(1, 6), size=sel.sum(), p=CSAT[k])
        ces[sel] = rng.choice(np.arange(1, 8), size=sel.sum(), p=CES[k])
    csat[rng.random(n) < CSAT_MISSING] = np.nan
    ces[rng.random(n) < CES_MISSING] = np.nan
    labels = np.array(wave_labels(waves))
    return pd.DataFrame({
        "response_id": np.arange(1, n + 1), "customer_id": c, "wave": labels[w],
        "plan": np.array(PLANS)[p], "region": np.array(REGIONS)[rng.integers(0, len(REGIONS), n)],
        "channel": np.array(CHANNELS)[rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARES)],
        "nps": nps, "csat": csat, "ces": ces})
