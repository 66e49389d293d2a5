"""Validation: coverage of the mix and within intervals of "why NPS moved" (issue 20), and how often the report
says "mainly" about a part that is truly 0.

Two waves, three plans; each draw is a survey of ``n`` responses per wave from known plan shares and
(promoter, passive, detractor) probabilities, so the true parts (Kitagawa's split of the true figures) are
known. For each scenario the script reports, with Wilson 95% intervals over draws: the coverage of the 95%
intervals of the mix and the within parts (target 93-97%), and the share of draws whose verdict
(:func:`cxlab.studies.metrics.narrative.which_part`) is "mainly mix" or "mainly within".

Scenarios: the issue's case (400 per wave, true mix 0, within +12), a pure mix shift (within 0), a mixed case
with 100 per wave, and informative sampling weights (promoters answer half as often, detractors 0.8 times as
often as passives; weights 1 / response propensity times log-normal noise), whose intervals use the
with-replacement design variance.

    .venv/bin/python benchmarks/calibrate_mix.py [--draws 5000] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from cxlab import fmt
from cxlab.stats import Z95
from cxlab.stats.mix import mix_decomposition, mix_standard_errors
from cxlab.stats.proportions import wilson_interval
from cxlab.studies.metrics.narrative import MAINLY_MIX, MAINLY_WITHIN, which_part

CATS = np.array([[0.2, 0.3, 0.5], [0.45, 0.35, 0.2], [0.65, 0.25, 0.1]])
BASIC_UP = CATS.copy()
BASIC_UP[0] = [0.35, 0.3, 0.35]                 # basic plan +30 points
EVEN = np.array([0.4, 0.35, 0.25])
SHIFT = (np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.45, 0.35]))
PROPENSITY = np.array([0.5, 1.0, 0.8])          # promoters, passives, detractors answer at these relative rates

SCENARIOS = {
    "issue: 400/wave, mix 0, within +12": dict(n=400, shares=(EVEN, EVEN), cats=(CATS, BASIC_UP), weighted=False),
    "pure mix: 400/wave, within 0": dict(n=400, shares=SHIFT, cats=(CATS, CATS), weighted=False),
    "both parts: 100/wave": dict(n=100, shares=SHIFT, cats=(CATS, BASIC_UP), weighted=False),
    "sampling weights, informative: 400/wave, mix 0": dict(n=400, shares=(EVEN, EVEN), cats=(CATS, BASIC_UP),
                                                          weighted=True),
    "sampling weights, informative: 400/wave, both": dict(n=400, shares=SHIFT, cats=(CATS, BASIC_UP), weighted=True),
}


def truth(shares, cats) -> tuple[float, float]:
    v0, v1 = cats[0][:, 0] - cats[0][:, 2], cats[1][:, 0] - cats[1][:, 2]
    return mix_decomposition(shares[0], shares[1], v0, v1)[1:]


def draw_wave(rng: np.random.Generator, n: int, shares: np.ndarray, cats: np.ndarray, weighted: bool):
    """(weights, squares, factor) per plan x category of one wave's ``n`` responses."""
    cells = (shares[:, None] * cats).ravel()
    if not weighted:
        counts = rng.multinomial(n, cells).reshape(3, 3).astype(float)
        return counts, counts, 1.0
    answering = cells * np.tile(PROPENSITY, 3)
    cell = rng.choice(9, size=n, p=answering / answering.sum())
    w = 1 / np.tile(PROPENSITY, 3)[cell] * rng.lognormal(-0.045, 0.3, n)   # E[noise] = 1
    weights = np.bincount(cell, weights=w, minlength=9).reshape(3, 3)
    squares = np.bincount(cell, weights=w * w, minlength=9).reshape(3, 3)
    return weights, squares, n / (n - 1)


def run(spec: dict, draws: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    true_mix, true_within = truth(spec["shares"], spec["cats"])
    covered, verdicts, used = np.zeros(2), {MAINLY_MIX: 0, MAINLY_WITHIN: 0}, 0
    for _ in range(draws):
        (w0, q0, f0), (w1, q1, f1) = (draw_wave(rng, spec["n"], s, c, spec["weighted"])
                                      for s, c in zip(spec["shares"], spec["cats"]))
        if (w0.sum(1) == 0).any() or (w1.sum(1) == 0).any():
            continue
        used += 1
        s0, s1 = w0.sum(1) / w0.sum(), w1.sum(1) / w1.sum()
        v0, v1 = (w0[:, 0] - w0[:, 2]) / w0.sum(1), (w1[:, 0] - w1[:, 2]) / w1.sum(1)
        _, mix, within = mix_decomposition(s0, s1, v0, v1)
        se = mix_standard_errors(w0, q0, w1, q1, factor_from=f0, factor_to=f1)
        covered += [abs(mix - true_mix) <= Z95 * se[0], abs(within - true_within) <= Z95 * se[1]]
        p = [math.erfc(abs(e / s) / math.sqrt(2)) if s else None for e, s in zip((mix, within), se)]
        verdict = which_part({"mix_effect": mix, "within_effect": within, "mix_p": p[0], "within_p": p[1]})
        if verdict in verdicts:
            verdicts[verdict] += 1
    return {"truth": (true_mix, true_within), "draws": used, "covered": covered, "verdicts": verdicts}


def share(k: float, n: int) -> str:
    low, high = wilson_interval(k, n)
    return fmt.interval(k / n, low, high, lambda x, digits=1: fmt.pct(x, digits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for i, (name, spec) in enumerate(SCENARIOS.items()):
        start = time.perf_counter()
        out = run(spec, args.draws, args.seed + i)
        n = out["draws"]
        print(f"{name} (true mix {fmt.points(out['truth'][0])}, within {fmt.points(out['truth'][1])}; {n:,} draws, "
              f"{time.perf_counter() - start:.1f} s)")
        print(f"  coverage: mix {share(out['covered'][0], n)}, within {share(out['covered'][1], n)}")
        print(f"  verdict 'mainly mix' {share(out['verdicts'][MAINLY_MIX], n)}, "
              f"'mainly within' {share(out['verdicts'][MAINLY_WITHIN], n)}")


if __name__ == "__main__":
    main()
