"""Property-based tests (Hypothesis): random small data shapes go through load, analysis, figures and
narrative, and end either in a cxlab error (one line) or a valid result, never in another exception.

The shapes include 0% and 100% tiers, a single tier, tiny n, ties, empty declared tiers, all censored,
constant outcomes and extreme values. Example counts stay modest so the suite stays fast.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cxlab.errors import CxlabError  # noqa: E402
from cxlab.params import parse_study  # noqa: E402
from cxlab.record import record  # noqa: E402
from cxlab.report import caveats, text  # noqa: E402

# no shrinking: a failure prints its example as drawn (shrinking these shapes can take minutes)
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NAMES = st.sampled_from(["buy", "[x](javascript:alert(1))", "$\\badcmd$", "![i](attachment:a.png)", "a_b*c"])


def _finish(draw_text: list[str]) -> None:
    for t in draw_text:
        assert isinstance(t, str)
        assert "\n" not in text(t)
    plt.close("all")


def _run(folder: Path, frame: pd.DataFrame, study: dict, steps) -> None:
    """Write ``frame`` as CSV, then the notebook's steps; only a CxlabError may stop them, with one line."""
    frame.to_csv(folder / "d.csv", index=False)
    try:
        spec = parse_study(study, base_dir=folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            steps(spec, folder)
    except CxlabError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
    finally:
        plt.close("all")


# loyalty -----------------------------------------------------------------------------------------------------------

@st.composite
def loyalty_data(draw):
    n = draw(st.integers(1, 40))
    levels = draw(st.lists(st.integers(1, 5), min_size=1, max_size=5, unique=True))
    rating = draw(st.lists(st.sampled_from(levels), min_size=n, max_size=n))
    shape = draw(st.sampled_from(["random", "all0", "all1", "by_rating", "separated"]))
    if shape == "random":
        y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    elif shape in ("all0", "all1"):
        y = [int(shape == "all1")] * n
    elif shape == "by_rating":  # 100% in the worst tiers, 0% in the best (the Telco shape)
        y = [int(r <= 2) for r in rating]
    else:
        y = [int(r >= 4) for r in rating]
    weight = draw(st.one_of(st.none(), st.lists(st.sampled_from([0.0, 1.0, 2.5, 1e6]), min_size=n, max_size=n)))
    tiers = draw(st.sampled_from([None, {"low": [1, 2], "mid": [3, 3], "high": [4, 5]}, {"a": [1, 4], "b": [5, 5]}]))
    return pd.DataFrame({"rating": rating, "y": y, **({"w": weight} if weight else {})}), tiers


def _loyalty_steps(spec, folder):
    from cxlab.studies.loyalty import analysis, figures, load, narrative
    frame, summary = load.read(spec, base_dir=folder)
    result = analysis.analyze(frame, spec)
    figures.rate_by_tier(result.rates).figure.savefig(folder / "f.png")
    words = [narrative.headline(result, spec), narrative.interpret(result, spec), caveats(result.warnings),
             summary.describe()]
    record(result.results, headline=words[0], figures=narrative.headline_figures(result), warnings=result.warnings)
    _finish(words)


@SETTINGS
@given(case=loyalty_data(), outcome=NAMES)
def test_loyalty_any_small_data_ends_in_a_result_or_a_cxlab_error(tmp_path, case, outcome):
    frame, tiers = case
    frame = frame.rename(columns={"y": outcome})
    study = {"study": "p", "notebook": "loyalty", "data": {"path": "d.csv", "columns": {"experience": "rating"}},
             "experience": {"scale": [1, 5], "tiers": tiers}, "outcomes": [outcome]}
    if "w" in frame:
        study["weight"] = "w"
    _run(tmp_path, frame, study, _loyalty_steps)


# retention ---------------------------------------------------------------------------------------------------------

@st.composite
def retention_data(draw):
    n = draw(st.integers(1, 40))
    rating = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    duration = draw(st.lists(st.sampled_from([0.5, 1.0, 1.0, 3.0, 12.0, 24.0, 1e5]), min_size=n, max_size=n))
    shape = draw(st.sampled_from(["random", "censored", "all_events"]))
    event = (draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)) if shape == "random"
             else [int(shape == "all_events")] * n)
    channel = draw(st.lists(st.sampled_from(["web", "shop"]), min_size=n, max_size=n))
    return pd.DataFrame({"rating": rating, "duration": duration, "event": event, "channel": channel})


def _retention_steps(spec, folder):
    from cxlab.studies.retention import analysis, figures, load, narrative
    frame, summary = load.read(spec, base_dir=folder)
    result = analysis.analyze(frame, spec)
    figures.km_curves(result.curves, result.at_risk, time_unit=spec.time_unit).savefig(folder / "k.png")
    figures.forest(result.hazard_ratios).figure.savefig(folder / "f.png")
    rmst = pd.DataFrame(result.results["rmst"])
    figures.rmst_bars(rmst, result.results["rmst_tau"], time_unit=spec.time_unit).figure.savefig(folder / "r.png")
    words = [narrative.headline(result, spec), narrative.describe_censoring(result),
             narrative.interpret_tests(result, spec), narrative.interpret_cox(result), caveats(result.warnings)]
    record(result.results, headline=words[0], figures=narrative.headline_figures(result), warnings=result.warnings)
    _finish(words)


@SETTINGS
@given(frame=retention_data(), covariates=st.sampled_from([[], ["channel"]]),
       tau=st.sampled_from([None, 6.0, 1e6]))
def test_retention_any_small_data_ends_in_a_result_or_a_cxlab_error(tmp_path, frame, covariates, tau):
    study = {"study": "p", "notebook": "retention", "data": {"path": "d.csv", "columns": {"experience": "rating"}},
             "horizons": [12], "rmst_tau": tau, "covariates": covariates}
    _run(tmp_path, frame, study, _retention_steps)


# leaders -----------------------------------------------------------------------------------------------------------

@st.composite
def panel_data(draw):
    companies = draw(st.integers(1, 12))
    periods = draw(st.integers(1, 4))
    rows = []
    score_pool = draw(st.sampled_from([[50.0], [10.0, 90.0], [1.0, 2.0, 3.0, 4.0, 5.0]]))
    for c in range(companies):
        sector = draw(st.sampled_from(["retail", "[bank](javascript:alert(1))"]))
        for p in range(periods):
            score = draw(st.one_of(st.sampled_from(score_pool), st.none()))
            value = draw(st.sampled_from([100.0, 150.0, 1e9, 0.0, -5.0, 1e-9]))
            rows.append({"company": f"c{c}", "period": 2000 + p, "sector": sector, "cx_score": score, "value": value})
    return pd.DataFrame(rows)


def _leaders_steps(spec, folder):
    from cxlab.studies.leaders import analysis, figures, load, narrative
    panel = load.read(spec, base_dir=folder)
    result = analysis.analyze(panel, spec)
    figures.cumulative_growth(result.cumulative).figure.savefig(folder / "c.png")
    figures.yearly_difference(result.periods).figure.savefig(folder / "y.png")
    figures.score_vs_growth(result.company_periods).figure.savefig(folder / "s.png")
    words = [narrative.headline(result), narrative.interpret(result), caveats(result.warnings),
             panel.summary.describe()]
    record(result.results, headline=words[0], figures=narrative.headline_figures(result), warnings=result.warnings)
    _finish(words)


@SETTINGS
@given(frame=panel_data(), within=st.sampled_from([None, "sector"]))
def test_leaders_any_small_panel_ends_in_a_result_or_a_cxlab_error(tmp_path, frame, within):
    study = {"study": "p", "notebook": "leaders", "layout": "long", "data": {"path": "d.csv"}, "within": within,
             "bootstrap": {"resamples": 200, "seed": 1}}
    _run(tmp_path, frame, study, _leaders_steps)
