"""Issue 24 item 2, continued: the retention, leaders and value studies name their tiers, covariates and levels,
sectors and experience groups by the study file's ``labels:`` key wherever a person reads (sentences, tables,
figure legends), and the raw name no longer shows there."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cxlab.params import parse_study  # noqa: E402

# --- retention: tiers, covariate names and levels ----------------------------------------------------------------

RETENTION_LABELS = {"1": "Very poor", "5": "Excellent", "channel": "Sales channel", "web": "Website",
                    "phone": "Telephone", "store": "Shop"}


@pytest.fixture(scope="module")
def retention():
    from cxlab.studies.retention import analysis, load
    study = parse_study({"study": "t", "notebook": "retention", "rmst_tau": 48, "covariates": ["channel"],
                         "value_per_period": "monthly_charge", "value_unit": "EUR", "labels": RETENTION_LABELS,
                         "data": {"synthetic": "lifecycles", "n": 3000, "seed": 1}})
    frame, _ = load.read(study)
    return study, analysis.analyze(frame, study)


def test_retention_sentences_name_tiers_by_their_labels(retention):
    from cxlab.studies.retention import narrative
    study, result = retention
    assert (result.results["worst_tier"], result.results["best_tier"]) == ("1", "5")
    head = narrative.headline(result, study)
    assert "in the Very poor tier" in head and "in the Excellent tier" in head and "rated 1" not in head
    tests = narrative.interpret_tests(result, study)
    assert "Very poor tier differs from the Excellent tier" in tests and "rated 1" not in tests
    value = narrative.interpret_value(result, study)
    assert "Very poor" in value and "Excellent" in value and "rated" not in value
    assert {"RMST worst tier (Very poor)", "RMST best tier (Excellent)"} <= set(
        narrative.headline_figures(result, study.labels))


def test_retention_caveats_name_tiers_by_their_labels():
    """The follow-up caveats (window capped, horizon past a tier's data) name the tier as the labels do."""
    from cxlab.studies.retention import analysis, load
    study = parse_study({"study": "t", "notebook": "retention", "rmst_tau": 10_000, "horizons": [12, 10_000],
                         "labels": RETENTION_LABELS, "data": {"synthetic": "lifecycles", "n": 600, "seed": 2}})
    frame, _ = load.read(study)
    caveats = analysis.analyze(frame, study).warnings
    capped = [c for c in caveats if "window was capped" in c]
    assert len(capped) == 1 and "follow-up of tier Very poor," in capped[0]
    assert any(c.startswith("Tier Very poor's follow-up ends") for c in caveats)
    assert any(c.startswith("Tier Excellent's follow-up ends") for c in caveats)
    assert not any(c.startswith(("Tier 1's", "Tier 5's")) or "tier 1," in c for c in caveats), caveats


def test_retention_tables_name_tiers_covariates_and_levels(retention):
    from cxlab.studies.retention import narrative
    study, result = retention
    assert narrative.labelled(result.tiers, study)["tier"].tolist()[::4] == ["Very poor", "Excellent"]
    pairs = narrative.labelled(result.pairwise, study)
    assert "Excellent" in set(pairs["versus"]) and "5" not in set(pairs["versus"])
    terms = narrative.labelled(result.hazard_ratios, study)["term"].tolist()
    assert "Sales channel: Telephone vs Website" in terms and "Sales channel: Shop vs Website" in terms
    assert not any(t.startswith("channel") or t.endswith(" web") for t in terms)
    value = narrative.labelled(pd.DataFrame(result.results["value"]["tiers"]), study)
    assert value["tier"].iloc[0] == "Very poor"


def test_retention_km_legend_and_at_risk_rows_read_as_labels(retention):
    from cxlab.studies.retention import figures
    study, result = retention
    fig = figures.km_curves(result.curves, result.at_risk, labels=study.labels)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    rows = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert legend[0] == "Very poor" and legend[-1] == "Excellent" and "1" not in legend
    assert rows[0] == "Excellent" and rows[-1] == "Very poor"
    ax = figures.rmst_bars(pd.DataFrame(result.results["rmst"]), 48, labels=study.labels)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "Very poor" and "1" not in ticks
    plt.close("all")


# --- leaders: sector names ----------------------------------------------------------------------------------------

def test_leaders_name_a_sector_by_its_label_where_a_caveat_shows_it():
    from cxlab.studies.leaders import analysis
    from cxlab.synth.panel import panel
    frame = panel(n=60, periods=3, sectors=["tech", "retail"], seed=1)
    retail = sorted(frame.loc[frame["sector"] == "retail", "company"].unique())
    frame = frame[(frame["sector"] != "retail") | frame["company"].isin(retail[:3])]  # 3 retail companies: too few
    study = parse_study({"study": "l", "notebook": "leaders", "layout": "long", "within": "sector",
                         "bootstrap": {"resamples": 100, "seed": 0}, "labels": {"retail": "Retail banking"},
                         "data": {"synthetic": "panel", "n": 60, "seed": 1}})
    warnings = " ".join(analysis.analyze(frame, study).warnings)
    assert "(e.g. Retail banking in " in warnings and "(e.g. retail in " not in warnings


# --- value: experience groups -------------------------------------------------------------------------------------

def test_value_names_experience_groups_by_their_labels():
    from cxlab.studies.value import analysis, figures, load, narrative
    labels = {"detractor": "Unhappy", "passive": "Neutral", "promoter": "Enthusiast"}
    study = parse_study({"study": "v", "notebook": "value", "labels": labels,
                         "data": {"synthetic": "transactions", "n": 600, "seed": 3, "columns": {"experience": "nps"}},
                         "experience": {"scale": [0, 10],
                                        "tiers": {"detractor": [0, 6], "passive": [7, 8], "promoter": [9, 10]}},
                         "observation_end": "2025-12-31", "horizon": 24, "margin": 0.5, "value_unit": "EUR",
                         "bootstrap": {"resamples": 20, "seed": 2}})
    data, _ = load.read(study)
    result = analysis.analyze(data, study)
    assert (result.results["best_group"], result.results["worst_group"]) == ("promoter", "detractor")
    sentences = " ".join([narrative.headline(result, study), narrative.interpret_groups(result, study.labels),
                          narrative.interpret_roi(result, study.labels)])
    assert "enthusiast customers" in sentences and "unhappy customers" in sentences
    assert not any(raw in sentences for raw in ("promoter", "detractor"))
    assert {"CLV, best group (Enthusiast)", "CLV, worst group (Unhappy)"} <= set(
        narrative.headline_figures(result, study.labels))
    assert narrative.labelled(result.groups, study.labels)["group"].tolist() == ["Unhappy", "Neutral", "Enthusiast"]
    ax = figures.clv_by_group(result.groups, "EUR", labels=study.labels)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Unhappy", "Neutral", "Enthusiast"]
    plt.close("all")
