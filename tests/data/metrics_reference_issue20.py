"""How ``metrics_100k_reference.json`` gained the figures of issue 20 (run once from the repository root:
``.venv/bin/python tests/data/metrics_reference_issue20.py``); nothing here uses ``cxlab.stats.mix``.

- ``diff_adjusted`` of every NPS pair and change (and ``first_to_last``, ``cohort.all_respondents``): the
  adjusted difference d, the centre of the reference's own interval, (ci_low + ci_high) / 2;
- ``mix``: Kitagawa's split computed from the reference's level shares and NPS; the standard errors of the mix and
  within parts by the delta method with central-difference derivatives over each wave's weighted shares of
  plan x category, counted by pandas on the rows (``tests/bigdata.py``): var = factor x sum_c Q_c u_c^2 / W^2
  per wave, u_c = g_c - sum_k g_k p_k (g the numerical gradient), Q the weights (sums of squared weights for
  sampling weights, whose factor is n / (n - 1)).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bigdata import metrics_frame  # noqa: E402

Z = sps.norm.ppf(0.975)
PLANS = ["basic", "plus", "premium"]


def kitagawa(s0, s1, v0, v1):
    s0, s1, v0, v1 = map(np.asarray, (s0, s1, v0, v1))
    return float(np.sum((s1 - s0) * (v0 + v1) / 2)), float(np.sum((s0 + s1) / 2 * (v1 - v0)))


def parts_of(p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """(mix, within) from two waves' shares of plan x (promoter, passive, detractor)."""
    s0, s1 = p0.sum(1), p1.sum(1)
    v0, v1 = (p0[:, 0] - p0[:, 2]) / s0, (p1[:, 0] - p1[:, 2]) / s1
    return np.array(kitagawa(s0 / s0.sum(), s1 / s1.sum(), v0, v1))


def cells(frame: pd.DataFrame, wave: str, weight: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    sub = frame[(frame["wave"] == wave) & frame["nps"].notna() & frame["plan"].notna()]
    if weight is not None:
        sub = sub[sub[weight].notna()]
    cat = np.where(sub["nps"] >= 9, 0, np.where(sub["nps"] <= 6, 2, 1))
    w = sub[weight].to_numpy(float) if weight else np.ones(len(sub))
    key = pd.DataFrame({"plan": pd.Categorical(sub["plan"], PLANS).codes, "cat": cat, "w": w, "w2": w * w})
    sums = key.groupby(["plan", "cat"])[["w", "w2"]].sum()
    full = pd.MultiIndex.from_product([range(3), range(3)], names=["plan", "cat"])
    sums = sums.reindex(full, fill_value=0.0)
    return sums["w"].to_numpy().reshape(3, 3), sums["w2"].to_numpy().reshape(3, 3), len(sub)


def standard_errors(frame: pd.DataFrame, kind: str) -> np.ndarray:
    weight = {"none": None, "frequency": "freq", "sampling": "samp"}[kind]
    (w0, q0, n0), (w1, q1, n1) = cells(frame, "2024-Q1", weight), cells(frame, "2024-Q4", weight)
    var = np.zeros(2)
    for wave, (w, q, n) in enumerate(((w0, q0, n0), (w1, q1, n1))):
        p = (w / w.sum()).ravel()

        def f(x):
            return parts_of(x.reshape(3, 3), w1 / w1.sum()) if wave == 0 else parts_of(w0 / w0.sum(), x.reshape(3, 3))

        h = 1e-6
        grad = np.column_stack([(f(p + h * e) - f(p - h * e)) / (2 * h) for e in np.eye(9)])   # 2 x 9
        u = grad - (grad @ p)[:, None]
        squares = (q if kind == "sampling" else w).ravel()
        factor = n / (n - 1) if kind == "sampling" else 1.0
        var += factor * (squares * u ** 2).sum(axis=1) / w.sum() ** 2
    return np.sqrt(var)


def add_adjusted(d: dict) -> dict:
    """The dict with ``diff_adjusted`` (the centre of its interval) just before ``diff``."""
    if d["ci_low"] is None:
        return d
    out = {}
    for key, value in d.items():
        if key == "diff":
            out["diff_adjusted"] = (d["ci_low"] + d["ci_high"]) / 2
        out[key] = value
    return out


def main() -> None:
    path = HERE / "metrics_100k_reference.json"
    ref = json.loads(path.read_text())
    frame = metrics_frame()
    for kind, case in ref.items():
        res = case["results"]
        for by_metric in res["segments"].values():
            by_metric["nps"]["pairs"] = [add_adjusted(p) for p in by_metric["nps"]["pairs"]]
        res["changes"] = [add_adjusted(c) if c["metric"] == "nps" else c for c in res["changes"]]
        res["first_to_last"] = add_adjusted(res["first_to_last"])
        res["cohort"]["all_respondents"] = add_adjusted(res["cohort"]["all_respondents"])
        mix = res["mix"]
        lv = mix["levels"]
        m, w = kitagawa(*([x[k] for x in lv] for k in ("share_from", "share_to", "nps_from", "nps_to")))
        se = standard_errors(frame, kind)
        new = {k: mix[k] for k in ("from", "to", "by", "change")}
        new.update(mix_effect=m, within_effect=w)
        for part, est, s in (("mix", m, se[0]), ("within", w, se[1])):
            new.update({f"{part}_ci_low": est - Z * s, f"{part}_ci_high": est + Z * s,
                        f"{part}_p": float(2 * sps.norm.sf(abs(est / s)))})
        new.update(levels=lv, excluded=mix["excluded"])
        res["mix"] = new
    path.write_text(json.dumps(ref, indent=1))


if __name__ == "__main__":
    main()
